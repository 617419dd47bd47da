"""`blocsim run`, `predict` and `network`: one run of a scenario, votes from a tally, the ties."""

import argparse
import json
from pathlib import Path

import pandas as pd

from sim.cli.common import (
    FORMATS,
    add_command,
    data_options,
    emit,
    format_option,
    load,
    new_file,
    parse_date,
    seed_number,
)
from sim.data.resolutions import Tally
from sim.errors import BlocsimError


def add_commands(commands: argparse._SubParsersAction) -> None:
    _add_run_command(commands)
    _add_predict_command(commands)
    _add_network_commands(commands)


def _add_run_command(commands: argparse._SubParsersAction) -> None:
    run = add_command(
        commands,
        "run",
        _run,
        "run a scenario once: print each vote's tally and outcome, write a run directory",
    )
    run.add_argument(
        "scenario", metavar="SCENARIO", help="a scenario file, e.g. scenarios/us_realignment.toml"
    )
    run.add_argument("--seed", type=seed_number, help="root seed (default: the scenario's)")
    run.add_argument(
        "--seeds",
        type=seed_count,
        default=1,
        metavar="N",
        help="run the story with N seeds: the root seed's run is written in full, and every "
        "seed's tallies (the others spawned from the root) go to seeds.csv, so the report "
        "can show the spread of the draws (default 1)",
    )
    run.add_argument(
        "--out",
        metavar="DIR",
        help="run directory (default: results/<name>-run-<time>-seed<N>; never overwritten)",
    )
    data_options(run)


def seed_count(text: str) -> int:
    """argparse type of --seeds: how many seeded runs, a whole number >= 1."""
    count = seed_number(text)
    if count < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return count


def _run(args: argparse.Namespace) -> None:
    from sim.model.run import recorded_vote, run_scenario
    from sim.model.scenario import fitted_on, load_scenario

    data = load(args)
    scenario = load_scenario(args.scenario, data.members)
    if not scenario.votes:
        raise BlocsimError(
            "a run holds the scenario's votes: give at least one", file=scenario.path, field="votes"
        )
    result = run_scenario(scenario, data, args.seed, args.out, seeds=args.seeds)
    in_sample = fitted_on(scenario.calibration)
    print("Tallies drawn by this seeded run (each member's vote is a random draw):")
    for row in result.tallies.itertuples():
        verdict = "adopted" if row.adopted else "NOT adopted"
        label = row.vote if row.on == "text" else f"  amendment: {row.name}"
        print(
            f"{row.date} {row.body} {label}: drawn {row.yes}-{row.no}-{row.abstain} "
            f"({row.not_voting} not voting) {verdict} ({row.reason})"
        )
        record = recorded_vote(row.vote, row.date)
        if record is not None and row.on == "text":
            print(
                f"    on record: {record.symbol} {record.tally} ({record.tally.not_voting} "
                f"not voting), {record.subject}"
            )
            if record.symbol in in_sample:
                print(f"    in sample: {scenario.calibration.name} is fitted on these votes")
    if args.seeds > 1:
        print(f"every seed's tallies ({args.seeds} seeds): {result.directory / 'seeds.csv'}")
    print(f"run directory: {result.directory}")


def _add_predict_command(commands: argparse._SubParsersAction) -> None:
    predict = add_command(
        commands,
        "predict",
        _predict,
        "predict each member's vote on a text from its date and tally, or on every text of a "
        "session (--texts); without a tally, forecast it from its like (the earlier version). "
        "Columns: vote = each member's most likely vote (the largest of p_Y, p_A, p_N, p_X: "
        "absent only where not voting is more likely than each vote), the forecast to read and "
        "score member by member; vote_in_tally = the most likely joint assignment that adds up "
        "to the tally exactly (a forecast's: its expected counts), for a consistent count. "
        "Positions come from the roll calls strictly before the text's date; a GA text's p_ "
        "columns (with or without a tally) are the forecast combination's "
        "(calibration/forecast.toml: the "
        "earlier version's votes, the placement, the 1-D ordering, co-voting and alignment "
        "with the US, Russia, China and the EU; docs/calibration.md)",
    )
    predict.add_argument("--date", metavar="DATE", help="the day of the vote")
    predict.add_argument(
        "--tally",
        metavar="Y-N-A",
        help="the recorded tally, e.g. 93-18-65; without it the text is forecast: cut-points "
        "from the like's tally (default: the latest Ukraine text before DATE), the forecast "
        "tally printed with its 90%% interval",
    )
    predict.add_argument(
        "--body", choices=("GA", "SC"), default="GA", help="GA (193 members) or SC (the 15 of 2025)"
    )
    predict.add_argument(
        "--polarity",
        choices=("same", "reverse"),
        default="same",
        help="'same': the text's Yes side is the like-text's Yes side (default); 'reverse': the "
        "sides are swapped (e.g. a text Moscow supports, like the US text of 24 Feb 2025)",
    )
    predict.add_argument(
        "--like",
        metavar="SYMBOL",
        help="a roll call in the data the text is a new version of, or like (e.g. A/RES/79/308): "
        "its direction, and each member's own vote on it as evidence; default: the "
        "Ukraine text before DATE whose Yes/No/Abstain split is closest to the tally, a year of "
        "age counting 0.05 (a text without --like is a Ukraine text)",
    )
    predict.add_argument(
        "--name",
        metavar="NAME",
        help="what to call the new text in the output (default: 'text like SYMBOL' with --like, "
        "else 'text'), so it is never mistaken for the roll call it is like",
    )
    predict.add_argument(
        "--texts",
        metavar="FILE.csv",
        help="a session at once: a CSV with columns name,date,tally,body,polarity,like (body, "
        "polarity, like and tally may be empty: an empty tally is forecast); writes one long "
        "table name,iso3,vote,vote_in_tally,p_Y,p_A,p_N,p_X",
    )
    predict.add_argument(
        "--data-until",
        metavar="DATE",
        help="use only roll calls up to and including DATE (default: all before each text's date)",
    )
    predict.add_argument(
        "--out", required=True, metavar="FILE.csv", help="the CSV to write (never overwritten)"
    )
    format_option(predict)
    data_options(predict)


def _predict(args: argparse.Namespace) -> None:
    from tqdm import tqdm

    from sim.fit.session import (
        Text,
        known_roll_calls,
        long_table,
        predict_texts,
        read_texts,
        resolve_like,
        summary_table,
    )
    from sim.results import write_table

    out = new_file(Path(args.out))
    until = parse_date(args.data_until, "--data-until") if args.data_until else None
    if args.texts:
        if args.date or args.tally or args.like or args.name:
            raise BlocsimError(
                "give either --texts FILE or --date/--tally/--like/--name", field="--texts"
            )
        data = load(args)
        texts = read_texts(Path(args.texts), data)
    else:
        if not args.date:
            raise BlocsimError("required (or give --texts FILE)", field="--date")
        day = parse_date(args.date, "--date")
        tally = None
        if args.tally is not None:
            try:
                tally = Tally.parse(args.tally, 193 if args.body == "GA" else 15)
            except ValueError as error:
                raise BlocsimError(str(error), field="--tally") from None
        data = load(args)
        like = None
        if args.like:
            try:
                like = resolve_like(known_roll_calls(data), args.like)
            except KeyError as error:
                raise BlocsimError(error.args[0], field="--like") from None
        texts = [Text(text_name(args.name, args.like), day, tally, args.body, args.polarity, like)]
    # the bar shows on a terminal only, so scripts and errors keep stderr to one line
    with tqdm(
        total=len(texts), desc="placing texts", unit="text", leave=False, disable=None
    ) as bar:
        results = predict_texts(data, texts, until, progress=bar.update)
    table = long_table(results)
    write_table(table if args.texts else table.drop(columns="name"), out)
    emit(summary_table(results), args.format)
    if args.format == "table":
        print(f"wrote {out}")


def text_name(name: str | None, like: str | None) -> str:
    """What `predict` calls a new text: its `--name`, else "text like X", never X itself (the
    roll call it is like is another vote)."""
    return name or (f"text like {like}" if like else "text")


def _add_network_commands(commands: argparse._SubParsersAction) -> None:
    network = commands.add_parser(
        "network",
        help="the influence network: summary and export",
        description="The influence network built from shared blocs, voting affinity and patron ties.",
    )
    network.set_defaults(handler=lambda _: network.print_help())
    sub = network.add_subparsers(title="network commands", metavar="COMMAND")
    info = add_command(
        sub,
        "info",
        _network_info,
        "size, density, communities by modularity (examples: each one's most listened-to "
        "members), and the states most listened to: attention received = the sum of the "
        "shares of attention the other members give it (column sums of the row-normalised "
        "influence matrix; 1.0 = an average member's); PageRank beside it weighs attention "
        "from much-heeded states more, which lifts small closed blocs",
    )
    export = add_command(
        sub, "export", _network_export, "write the network as GraphML or a CSV edge list"
    )
    export.add_argument(
        "--format",
        choices=("graphml", "csv"),
        default="graphml",
        help="GraphML with every attribute (default) or a CSV edge list",
    )
    export.add_argument(
        "--out", metavar="FILE", required=True, help="the file to write (never overwritten)"
    )
    info.add_argument("--format", choices=FORMATS, default="table", help="output format")
    for parser in (info, export):
        parser.add_argument(
            "--data-until",
            metavar="DATE",
            default="2025-02-23",
            help="ties from roll calls up to and including DATE (default: 2025-02-23, the eve "
            "of ES-11/7)",
        )
        parser.add_argument(
            "--calibration",
            metavar="FILE",
            help="tie weights from this calibration file (default: calibration/default.toml)",
        )
        data_options(parser)


def _network(args: argparse.Namespace):
    from sim.model.network import build_network
    from sim.model.parameters import load_parameters
    from sim.model.scenario import DEFAULT_CALIBRATION
    from sim.model.world import day_after

    data = load(args)
    parameters = load_parameters(
        Path(args.calibration) if args.calibration else DEFAULT_CALIBRATION
    )
    until = day_after(parse_date(args.data_until, "--data-until"))
    return build_network(data.members, data.roll_calls(), str(until), parameters.ties)


def _network_info(args: argparse.Namespace) -> None:
    from sim.model.network import network_summary

    summary = network_summary(_network(args))
    scalars = {k: v for k, v in summary.items() if not isinstance(v, pd.DataFrame | dict)}
    communities = (
        summary["communities"]
        .sort_values(["community", "attention"], ascending=[True, False], kind="stable")
        .groupby("community")["iso3"]
        .agg(members="count", most_listened_to=lambda codes: " ".join(list(codes)[:8]))
        .reset_index()
    )
    if args.format == "json":
        print(
            json.dumps(
                {
                    **scalars,
                    "ties_by_type": summary["ties_by_type"],
                    "communities": summary["communities"].to_dict(orient="records"),
                    "central": summary["central"].to_dict(orient="records"),
                },
                indent=2,
            )
        )
        return
    if args.format == "csv":
        emit(summary["communities"], "csv")
        return
    print(
        f"{scalars['nodes']} members, {scalars['edges']} ties, density {scalars['density']:.3f}, "
        f"modularity {scalars['modularity']:.3f}"
    )
    kinds = ", ".join(f"{k} {v}" for k, v in summary["ties_by_type"].items())
    print(f"ties by type (a tie can be of several types): {kinds}")
    print("\ncommunities (greedy modularity; each one's most listened-to members):")
    emit(communities, "table")
    print(
        "\nmost listened to (attention: the sum of the shares of attention the others give it, "
        "1.0 = an average member's; pagerank: weighted PageRank on the same ties):"
    )
    emit(summary["central"].round({"attention": 3, "pagerank": 4}), "table")


def _network_export(args: argparse.Namespace) -> None:
    from sim.files import partial_path
    from sim.model.network import export_network

    out = new_file(Path(args.out))
    graph = _network(args)
    partial = partial_path(out)
    export_network(graph, partial, args.format)
    partial.replace(out)
    print(f"wrote {graph.number_of_nodes()} members and {graph.number_of_edges()} ties to {out}")

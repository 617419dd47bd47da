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
    load,
    new_file,
    parse_date,
    seed_number,
)
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
        "--out",
        metavar="DIR",
        help="run directory (default: results/<name>-run-<time>-seed<N>; never overwritten)",
    )
    data_options(run)


def _run(args: argparse.Namespace) -> None:
    from sim.model.run import run_scenario
    from sim.model.scenario import load_scenario

    data = load(args)
    scenario = load_scenario(args.scenario, data.members)
    result = run_scenario(scenario, data, args.seed, args.out)
    for row in result.tallies.itertuples():
        verdict = "adopted" if row.adopted else "NOT adopted"
        label = row.vote if row.on == "text" else f"  amendment: {row.name}"
        print(
            f"{row.date} {row.body} {label}: {row.yes}-{row.no}-{row.abstain} "
            f"({row.not_voting} not voting) {verdict} ({row.reason})"
        )
    print(f"run directory: {result.directory}")


def _add_predict_command(commands: argparse._SubParsersAction) -> None:
    predict = add_command(
        commands,
        "predict",
        _predict,
        "predict each member's vote on a text from its date and tally (one row per member); "
        "the votes are the most likely joint assignment that adds up to the tally exactly, so a "
        "member's vote can differ from its single most probable one (the p_ columns)",
    )
    predict.add_argument("--date", required=True, metavar="DATE", help="the day of the vote")
    predict.add_argument(
        "--tally", required=True, metavar="Y-N-A", help="the recorded tally, e.g. 93-18-65"
    )
    predict.add_argument(
        "--body", choices=("GA", "SC"), default="GA", help="GA (193 members) or SC (the 15 of 2025)"
    )
    predict.add_argument(
        "--polarity",
        choices=("same", "reverse"),
        default="same",
        help="'same': the text's Yes side voted Yes on ES-11/7; 'reverse': a text Moscow can support",
    )
    predict.add_argument(
        "--data-until",
        metavar="DATE",
        help="positions from roll calls up to and including DATE (default: --date)",
    )
    predict.add_argument(
        "--scenario",
        metavar="FILE",
        help="the dynamics to run up to DATE (default: scenarios/us_realignment.toml)",
    )
    predict.add_argument(
        "--out", required=True, metavar="FILE.csv", help="the CSV to write (never overwritten)"
    )
    data_options(predict)


def _predict(args: argparse.Namespace) -> None:
    from sim.data.resolutions import Tally
    from sim.fit.predict import predict_votes
    from sim.model.scenario import DEFAULT_SCENARIO, load_scenario
    from sim.results import write_table

    out = new_file(Path(args.out))
    day = parse_date(args.date, "--date")
    until = parse_date(args.data_until, "--data-until") if args.data_until else None
    seats = 193 if args.body == "GA" else 15
    try:
        tally = Tally.parse(args.tally, seats)
    except ValueError as error:
        raise BlocsimError(str(error), field="--tally") from None
    data = load(args)
    scenario = load_scenario(args.scenario or DEFAULT_SCENARIO, data.members)
    prediction = predict_votes(data, day, tally, scenario, args.body, args.polarity, until)
    write_table(prediction.table, out)
    counts = prediction.table["vote"].value_counts()
    print(
        f"{args.body} {day} {tally} ({tally.not_voting} not voting), positions from roll calls to "
        f"{prediction.world.start}: predicted {counts.get('Y', 0)}-{counts.get('N', 0)}-"
        f"{counts.get('A', 0)} with {counts.get('X', 0)} not voting; wrote {out}"
    )


def _add_network_commands(commands: argparse._SubParsersAction) -> None:
    network = commands.add_parser(
        "network",
        help="the influence network: summary and export",
        description="The influence network built from shared blocs, voting affinity and patron ties.",
    )
    network.set_defaults(handler=lambda _: network.print_help())
    sub = network.add_subparsers(title="network commands", metavar="COMMAND")
    info = add_command(
        sub, "info", _network_info, "size, density, communities by modularity, most central states"
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
        .groupby("community")["iso3"]
        .agg(members="count", examples=lambda codes: " ".join(list(codes)[:12]))
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
        emit(
            summary["communities"].merge(summary["central"][["iso3", "pagerank"]], how="left"),
            "csv",
        )
        return
    print(
        f"{scalars['nodes']} members, {scalars['edges']} ties, density {scalars['density']:.3f}, "
        f"modularity {scalars['modularity']:.3f}"
    )
    kinds = ", ".join(f"{k} {v}" for k, v in summary["ties_by_type"].items())
    print(f"ties by type (a tie can be of several types): {kinds}")
    print("\ncommunities (greedy modularity):")
    emit(communities, "table")
    print("\nmost central (weighted PageRank: most listened to):")
    emit(summary["central"].round({"pagerank": 4}), "table")


def _network_export(args: argparse.Namespace) -> None:
    from sim.files import partial_path
    from sim.model.network import export_network

    out = new_file(Path(args.out))
    graph = _network(args)
    partial = partial_path(out)
    export_network(graph, partial, args.format)
    partial.replace(out)
    print(f"wrote {graph.number_of_nodes()} members and {graph.number_of_edges()} ties to {out}")

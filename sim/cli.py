"""The `blocsim` command: parse arguments, call the library, print.

Every user error surfaces as a `BlocsimError` and is printed here, once, as one line on
stderr with exit status 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import NoReturn

import pandas as pd

from sim import __version__
from sim.data.loader import UNData, load_data
from sim.data.metrics import affinity, bloc_splits
from sim.data.resolutions import Resolution
from sim.errors import BlocsimError
from sim.model.voting import ga_outcome, sc_outcome, sc_outcome_from_tally

FORMATS = ("table", "csv", "json")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args) or 0
    except BlocsimError as error:
        print(f"blocsim: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("blocsim: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `blocsim ... | head`: the reader left; say nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage mistake in one line, like every other error (exit 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="blocsim",
        description="Agent-based simulation of UN voting blocs, calibrated on the General "
        "Assembly vote of 24 Feb 2025 on A/RES/ES-11/7 (93-18-65).",
    )
    parser.add_argument("--version", action="version", version=f"blocsim {__version__}")
    parser.set_defaults(handler=lambda _: parser.print_help())
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    _add_data_commands(commands)
    _add_run_command(commands)
    _add_sweep_command(commands)
    _add_report_command(commands)
    _add_app_command(commands)
    _add_network_commands(commands)
    _add_predict_command(commands)
    _add_calibrate_command(commands)
    _add_validate_command(commands)
    return parser


def _data_dir_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        help="the UN data directory (default: $BLOCSIM_DATA, else data_dir in blocsim.toml)",
    )


def _data_options(parser: argparse.ArgumentParser) -> None:
    _data_dir_option(parser)
    parser.add_argument(
        "--votes",
        metavar="FILE",
        help="your own roll calls, in the long format of votes_ukraine.csv (see docs/data.md)",
    )


def _seed(text: str) -> int:
    """argparse type of --seed: a whole number >= 0 (numpy's SeedSequence takes no other)."""
    try:
        seed = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if seed < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {seed}")
    return seed


def _new_file(out: Path) -> Path:
    """Check a file to be written before any work: new, in a directory that exists."""
    if out.exists():
        raise BlocsimError(
            "already exists; blocsim never overwrites a file (choose another --out)", file=out
        )
    if not out.parent.is_dir():
        raise BlocsimError(f"directory {out.parent} does not exist", field="--out")
    return out


def _format_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=FORMATS, default="table", help="output format")


def _command(
    commands: argparse._SubParsersAction, name: str, handler: Callable, help_text: str
) -> argparse.ArgumentParser:
    parser = commands.add_parser(name, help=help_text, description=help_text)
    parser.set_defaults(handler=handler)
    return parser


def _add_data_commands(commands: argparse._SubParsersAction) -> None:
    data = commands.add_parser(
        "data", help="look at the UN roll-call data", description="Look at the UN roll-call data."
    )
    data.set_defaults(handler=lambda _: data.print_help())
    sub = data.add_subparsers(title="data commands", metavar="COMMAND")

    tally = _command(sub, "tally", _data_tally, "a vote's tally and whether it was adopted")
    tally.add_argument("resolution", help="e.g. A/RES/ES-11/7 or ES-11/7")
    blocs = _command(
        sub, "blocs", _data_blocs, "each bloc's and regional group's split and cohesion"
    )
    blocs.add_argument("resolution", help="e.g. A/RES/ES-11/7")
    pair = _command(sub, "affinity", _data_affinity, "agreement rate and S-score of two states")
    pair.add_argument("first", metavar="ISO3")
    pair.add_argument("second", metavar="ISO3")
    pair.add_argument("--since", metavar="DATE", help="only roll calls from DATE (YYYY-MM-DD)")
    check = _command(sub, "check", _data_check, "validate a data directory and say what it holds")
    check.add_argument("directory", nargs="?", metavar="DIR", help="default: the configured one")
    for parser in (tally, blocs, pair):
        _data_options(parser)
        _format_option(parser)
    check.add_argument("--votes", metavar="FILE", help="also validate your own roll calls")
    _format_option(check)


def _add_run_command(commands: argparse._SubParsersAction) -> None:
    run = _command(
        commands,
        "run",
        _run,
        "run a scenario once: print each vote's tally and outcome, write a run directory",
    )
    run.add_argument(
        "scenario", metavar="SCENARIO", help="a scenario file, e.g. scenarios/us_realignment.toml"
    )
    run.add_argument("--seed", type=_seed, help="root seed (default: the scenario's)")
    run.add_argument(
        "--out",
        metavar="DIR",
        help="run directory (default: results/<name>-run-<time>-seed<N>; never overwritten)",
    )
    _data_options(run)


def _add_sweep_command(commands: argparse._SubParsersAction) -> None:
    sweep = _command(
        commands,
        "sweep",
        _sweep,
        "run a scenario's [sweep] in blocks of runs, write a sweep directory, answer its question",
    )
    sweep.add_argument(
        "scenario", nargs="?", metavar="SCENARIO", help="a scenario file with a [sweep] section"
    )
    sweep.add_argument(
        "--runs",
        type=int,
        metavar="N",
        help="total runs: each design point gets ceil(N / points) replicates "
        "(default: the file's replicates per point)",
    )
    sweep.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="worker processes for the local executor (default 1: in this process; "
        "ignored with --executor dask, where the cluster's workers run the blocks)",
    )
    sweep.add_argument(
        "--seed", type=_seed, help="root seed (default: the [sweep] or scenario seed)"
    )
    sweep.add_argument(
        "--out",
        metavar="DIR",
        help="sweep directory (default: results/<name>-sweep-<time>-seed<N>)",
    )
    sweep.add_argument(
        "--resume", metavar="DIR", help="finish an interrupted sweep: run only its missing blocks"
    )
    sweep.add_argument(
        "--executor",
        choices=("local", "dask"),
        default="local",
        help="local processes (default) or an existing dask.distributed cluster",
    )
    sweep.add_argument(
        "--address",
        metavar="tcp://HOST:PORT",
        help="dask scheduler (default: $DASK_SCHEDULER_ADDRESS)",
    )
    sweep.add_argument("--quiet", action="store_true", help="no progress bar")
    _data_options(sweep)


def _sweep(args: argparse.Namespace) -> None:
    from sim.model.scenario import load_scenario
    from sim.sweep.runner import resume_sweep, run_sweep

    data = _load(args)
    where = {"workers": args.workers, "executor": args.executor, "address": args.address}
    if args.resume:
        if args.scenario or args.runs or args.seed is not None or args.out:
            raise BlocsimError(
                "--resume takes the sweep's own scenario, runs and seed: give only the directory",
                field="--resume",
            )
        result = resume_sweep(args.resume, data, **where, progress=not args.quiet)
    elif not args.scenario:
        raise BlocsimError("give a SCENARIO, or --resume DIR", field="SCENARIO")
    else:
        scenario = load_scenario(args.scenario, data.members)
        result = run_sweep(
            scenario, data, args.out, args.runs, seed=args.seed, progress=not args.quiet, **where
        )
    print("\n".join(result.answer))
    print(
        f"sweep directory: {result.directory} ({result.plan.runs:,} runs, "
        f"{len(result.plan.points)} points, {result.blocks_run} blocks run now)"
    )


def _run(args: argparse.Namespace) -> None:
    from sim.model.run import run_scenario
    from sim.model.scenario import load_scenario

    data = _load(args)
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
    predict = _command(
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
    _data_options(predict)


def _predict(args: argparse.Namespace) -> None:
    from sim.data.resolutions import Tally
    from sim.fit.predict import predict_votes
    from sim.model.scenario import DEFAULT_SCENARIO, load_scenario
    from sim.results import write_table

    out = _new_file(Path(args.out))
    day = _date(args.date, "--date")
    until = _date(args.data_until, "--data-until") if args.data_until else None
    seats = 193 if args.body == "GA" else 15
    try:
        tally = Tally.parse(args.tally, seats)
    except ValueError as error:
        raise BlocsimError(str(error), field="--tally") from None
    data = _load(args)
    scenario = load_scenario(args.scenario or DEFAULT_SCENARIO, data.members)
    prediction = predict_votes(data, day, tally, scenario, args.body, args.polarity, until)
    write_table(prediction.table, out)
    counts = prediction.table["vote"].value_counts()
    print(
        f"{args.body} {day} {tally} ({tally.not_voting} not voting), positions from roll calls to "
        f"{prediction.world.start}: predicted {counts.get('Y', 0)}-{counts.get('N', 0)}-"
        f"{counts.get('A', 0)} with {counts.get('X', 0)} not voting; wrote {out}"
    )


def _add_calibrate_command(commands: argparse._SubParsersAction) -> None:
    calibrate = _command(
        commands,
        "calibrate",
        _calibrate,
        "fit the free parameters on A/RES/ES-11/7 (93-18-65) and write a calibration file",
    )
    calibrate.add_argument(
        "--data-until",
        metavar="DATE",
        help="use per-country votes up to and including DATE; before 2025-02-24 the fit sees "
        "ES-11/7's tally only (a hindcast calibration)",
    )
    calibrate.add_argument(
        "--out",
        metavar="FILE.toml",
        help="the file to write (default: calibration/calibration.toml)",
    )
    calibrate.add_argument("--force", action="store_true", help="replace an existing --out")
    _data_options(calibrate)


def _calibrate(args: argparse.Namespace) -> None:
    from tqdm import tqdm

    from sim.files import write_atomic
    from sim.fit.calibrate import calibration_problem, calibration_toml, fit, in_sample

    out = Path(args.out or "calibration/calibration.toml")
    if out.exists() and not args.force:
        raise BlocsimError("already exists; use --force to replace it", file=out)
    until = _date(args.data_until, "--data-until") if args.data_until else None
    data = _load(args)
    problem = calibration_problem(data, until)
    with tqdm(desc=f"calibrating ({problem.objective_kind})", unit="iteration", leave=False) as bar:
        result = fit(problem, progress=lambda _: bar.update())
    report = in_sample(result, data)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(out, calibration_toml(result, report, until))
    print(
        f"objective ({problem.objective_kind}): {result.objective:.3f}, log-likelihood "
        f"{result.log_likelihood:.3f}, {result.iterations} iterations, converged {result.converged}"
    )
    for name in result.names:
        low, high = result.interval[name]
        print(
            f"  {name:28s} {result.estimate[name]:8.3f} +/- {result.standard_error[name]:.3f}"
            f"  (95%: {low:.3f} .. {high:.3f})"
        )
    label = "in sample" if problem.objective_kind == "votes" else "hindcast"
    print(
        f"ES-11/7 {label}: accuracy {report.accuracy:.3f} of {report.voters} voters, "
        f"4-class {report.accuracy_4:.3f}, log-loss {report.log_loss:.3f}, tally {report.predicted} "
        f"({report.predicted.not_voting} not voting); wrote {out}"
    )


def _add_validate_command(commands: argparse._SubParsersAction) -> None:
    validate = _command(
        commands,
        "validate",
        _validate,
        "how well blocsim predicts real votes it was not fitted on, beside the baselines",
    )
    _format_option(validate)
    validate.add_argument(
        "--errors", action="store_true", help="list the members blocsim gets wrong"
    )
    validate.add_argument("--calibration", metavar="FILE", help="default: calibration/default.toml")
    _data_options(validate)


def _validate(args: argparse.Namespace) -> None:
    from sim.fit.validate import validate
    from sim.model.scenario import DEFAULT_CALIBRATION

    data = _load(args)
    result = validate(data, Path(args.calibration) if args.calibration else DEFAULT_CALIBRATION)
    emit(result.errors if args.errors else result.table, args.format)


def _add_network_commands(commands: argparse._SubParsersAction) -> None:
    network = commands.add_parser(
        "network",
        help="the influence network: summary and export",
        description="The influence network built from shared blocs, voting affinity and patron ties.",
    )
    network.set_defaults(handler=lambda _: network.print_help())
    sub = network.add_subparsers(title="network commands", metavar="COMMAND")
    info = _command(
        sub, "info", _network_info, "size, density, communities by modularity, most central states"
    )
    export = _command(
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
        _data_options(parser)


def _network(args: argparse.Namespace):
    from sim.model.network import build_network
    from sim.model.parameters import load_parameters
    from sim.model.scenario import DEFAULT_CALIBRATION
    from sim.model.world import day_after

    data = _load(args)
    parameters = load_parameters(
        Path(args.calibration) if args.calibration else DEFAULT_CALIBRATION
    )
    until = day_after(_date(args.data_until, "--data-until"))
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

    out = _new_file(Path(args.out))
    graph = _network(args)
    partial = partial_path(out)
    export_network(graph, partial, args.format)
    partial.replace(out)
    print(f"wrote {graph.number_of_nodes()} members and {graph.number_of_edges()} ties to {out}")


def _date(text: str, option: str):
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise BlocsimError(f"'{text}' is not a date (YYYY-MM-DD)", field=option) from None


def _add_report_command(commands: argparse._SubParsersAction) -> None:
    report = _command(
        commands,
        "report",
        _report,
        "write figures (PNG, SVG) and tables (CSV, LaTeX) for a run or sweep into DIR/report",
    )
    report.add_argument("directory", metavar="DIR", help="a run or sweep directory")
    report.add_argument("--force", action="store_true", help="replace an existing report")


def _report(args: argparse.Namespace) -> None:
    from sim.outputs.report import write_report

    print(f"report: {write_report(args.directory, force=args.force)}")


def _add_app_command(commands: argparse._SubParsersAction) -> None:
    from sim.outputs.assets import DEFAULT_PORT

    app = _command(
        commands,
        "app",
        _app,
        "the classroom app in the browser (http://127.0.0.1:PORT); needs the 'app' extra",
    )
    app.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})"
    )
    app.add_argument(
        "--prepare-assets",
        action="store_true",
        help="only fill the offline asset cache (~/.cache/blocsim/solara-assets) and exit",
    )
    _data_dir_option(app)


def _app(args: argparse.Namespace) -> int:
    from sim.outputs.assets import prepare_assets, serve

    if args.prepare_assets:
        print(f"assets: {prepare_assets()}")
        return 0
    return serve(args.port, data_dir=args.data_dir)


def _load(args: argparse.Namespace) -> UNData:
    return load_data(getattr(args, "data_dir", None), getattr(args, "votes", None))


def _find_resolution(data: UNData, symbol: str) -> Resolution:
    try:
        return data.resolution(symbol)
    except KeyError as error:
        raise BlocsimError(error.args[0], field="RESOLUTION") from None


def _data_tally(args: argparse.Namespace) -> None:
    data = _load(args)
    found = _find_resolution(data, args.resolution)
    tally = found.tally
    if found.body == "GA":
        outcome = ga_outcome(tally)
    elif found.in_data:
        permanent = data.members.loc[data.members["unsc_p5"] == 1, "iso3"]
        outcome = sc_outcome(data.votes_on(found.symbol).to_dict(), permanent)
    else:
        outcome = sc_outcome_from_tally(tally)
    source = "per-country votes" if found.in_data else "official tally"
    if args.format == "table":
        verdict = "adopted" if outcome.adopted else "not adopted"
        print(
            f"{found.symbol} ({found.date}, {found.body}): {tally} with {tally.not_voting} "
            f"not voting: {verdict} ({outcome.rule}: {outcome.reason})"
        )
        print(f"  {found.subject or 'your roll call'}; counted from the {source}")
        return
    row = {
        "resolution": found.symbol,
        "date": found.date.isoformat(),
        "body": found.body,
        **asdict(tally),
        **asdict(outcome),
        "source": source,
        "subject": found.subject,
    }
    emit(pd.DataFrame([row]), args.format)


def _data_blocs(args: argparse.Namespace) -> None:
    data = _load(args)
    found = _find_resolution(data, args.resolution)
    if not found.in_data:
        raise BlocsimError(
            f"no per-country votes for {found.symbol} in the data; bring them with --votes",
            field="RESOLUTION",
        )
    emit(bloc_splits(data, found.symbol), args.format)


def _data_affinity(args: argparse.Namespace) -> None:
    since = _date(args.since, "--since") if args.since else None
    data = _load(args)
    try:
        result = affinity(data, args.first.upper(), args.second.upper(), since=since)
    except (KeyError, ValueError) as error:
        raise BlocsimError(error.args[0], field="ISO3") from None
    emit(pd.DataFrame([result]), args.format)


def _data_check(args: argparse.Namespace) -> None:
    data = load_data(args.directory, args.votes)
    roll_calls = data.history["vote_id"].nunique()
    summary = pd.DataFrame(
        [
            {
                "table": "members",
                "rows": len(data.members),
                "holds": f"193 member states, {data.members['un_group'].nunique()} regional groups",
            },
            {
                "table": "ukraine",
                "rows": len(data.ukraine),
                "holds": ", ".join(sorted(data.ukraine["resolution"].unique())),
            },
            {
                "table": "history",
                "rows": len(data.history),
                "holds": f"{roll_calls} roll calls, "
                f"{data.history['date'].min():%Y-%m-%d} to {data.history['date'].max():%Y-%m-%d}",
            },
        ]
    )
    if args.format == "table":
        print(f"data directory {data.data_dir}: valid")
    emit(summary, args.format)


def emit(table: pd.DataFrame, fmt: str) -> None:
    """Print a table readably, or as CSV or JSON records for scripts."""
    if fmt == "csv":
        table.to_csv(sys.stdout, index=False)
    elif fmt == "json":
        print(json.dumps(table.to_dict(orient="records"), indent=2, default=str))
    else:
        print(table.to_string(index=False))

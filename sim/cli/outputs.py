"""`blocsim report`, `explain` and `app`: figures and tables for papers, why a state moved,
the classroom in a browser."""

import argparse

from sim.cli.common import (
    add_command,
    data_dir_option,
    emit,
    format_option,
)


def add_commands(commands: argparse._SubParsersAction) -> None:
    _add_report_command(commands)
    _add_explain_command(commands)
    _add_app_command(commands)


def _add_report_command(commands: argparse._SubParsersAction) -> None:
    report = add_command(
        commands,
        "report",
        _report,
        "write figures (PNG, SVG) and tables (CSV, LaTeX) for a run or sweep into DIR/report; "
        "for a run: tallies beside the record (and their spread over seeds, from run --seeds), "
        "votes over time with the turn marked, the network with the key states named, why the "
        "members that moved most moved (explain.csv: their parts stacked by tie and shock), and a "
        "world map of each General Assembly vote (map_<vote>.png, country shapes shipped with "
        "blocsim's dependencies, nothing downloaded)",
    )
    report.add_argument("directory", metavar="DIR", help="a run or sweep directory")
    report.add_argument("--force", action="store_true", help="replace an existing report")


def _report(args: argparse.Namespace) -> None:
    from sim.outputs.report import write_report

    print(f"report: {write_report(args.directory, force=args.force)}")


def _add_explain_command(commands: argparse._SubParsersAction) -> None:
    explain = add_command(
        commands,
        "explain",
        _explain,
        "why a member moved in a run: its change of position from step 0 to the run's last "
        "step split exactly into parts, by shock (Shapley values) and by tie: through each "
        "neighbour it listens to, its own anchor, and the shocks' moves of it; each part "
        "projected toward the state a shock moved furthest. A part via a neighbour is what "
        "that neighbour's own move passed on to the member; the parts add up to the move. "
        "Reads explain.csv of a run directory",
    )
    explain.add_argument("directory", metavar="RUN_DIR", help="a run directory (blocsim run)")
    explain.add_argument("iso3", metavar="ISO3", help="the member, e.g. ARG")
    format_option(explain)
    explain.add_argument(
        "--top",
        type=top_count,
        default=3,
        metavar="N",
        help="neighbours named per shock, the rest summed (default 3; 0: all)",
    )


def top_count(text: str) -> int:
    """argparse type of --top: a whole number >= 0."""
    try:
        count = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if count < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {count}")
    return count


def _explain(args: argparse.Namespace) -> None:
    from sim.outputs.explanation import explanation_lines, member_parts, read_explanation

    table, about = read_explanation(args.directory)
    iso3 = args.iso3.upper()
    parts = member_parts(table, iso3, args.top, about.get("alignment"))
    if args.format == "table":
        print("\n".join(explanation_lines(parts, iso3, about)))
    else:
        emit(parts, args.format)


def _add_app_command(commands: argparse._SubParsersAction) -> None:
    from sim.outputs.assets import DEFAULT_PORT

    app = add_command(
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
    data_dir_option(app)


def _app(args: argparse.Namespace) -> int:
    from sim.outputs.assets import prepare_assets, serve

    if args.prepare_assets:
        print(f"assets: {prepare_assets()}")
        return 0
    return serve(args.port, data_dir=args.data_dir)

"""`blocsim report` and `app`: figures and tables for papers, the classroom in a browser."""

import argparse

from sim.cli.common import (
    add_command,
    data_dir_option,
)


def add_commands(commands: argparse._SubParsersAction) -> None:
    _add_report_command(commands)
    _add_app_command(commands)


def _add_report_command(commands: argparse._SubParsersAction) -> None:
    report = add_command(
        commands,
        "report",
        _report,
        "write figures (PNG, SVG) and tables (CSV, LaTeX) for a run or sweep into DIR/report; "
        "for a run: tallies beside the record (and their spread over seeds, from run --seeds), "
        "votes over time with the turn marked, the network with the key states named, and a "
        "world map of each General Assembly vote (map_<vote>.png, country shapes shipped with "
        "blocsim's dependencies, nothing downloaded)",
    )
    report.add_argument("directory", metavar="DIR", help="a run or sweep directory")
    report.add_argument("--force", action="store_true", help="replace an existing report")


def _report(args: argparse.Namespace) -> None:
    from sim.outputs.report import write_report

    print(f"report: {write_report(args.directory, force=args.force)}")


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

"""`blocsim data`: look at the UN roll-call data (tallies, bloc splits, affinity, checks)."""

import argparse
from dataclasses import asdict

import pandas as pd

from sim.cli.common import (
    add_command,
    data_options,
    emit,
    format_option,
    load,
    parse_date,
)
from sim.data.loader import UNData, load_data
from sim.data.metrics import affinity, bloc_splits
from sim.data.resolutions import Resolution
from sim.errors import BlocsimError
from sim.model.voting import ga_outcome, sc_outcome, sc_outcome_from_tally


def add_commands(commands: argparse._SubParsersAction) -> None:
    data = commands.add_parser(
        "data", help="look at the UN roll-call data", description="Look at the UN roll-call data."
    )
    data.set_defaults(handler=lambda _: data.print_help())
    sub = data.add_subparsers(title="data commands", metavar="COMMAND")

    tally = add_command(sub, "tally", _data_tally, "a vote's tally and whether it was adopted")
    tally.add_argument("resolution", help="e.g. A/RES/ES-11/7 or ES-11/7")
    blocs = add_command(
        sub, "blocs", _data_blocs, "each bloc's and regional group's split and cohesion"
    )
    blocs.add_argument("resolution", help="e.g. A/RES/ES-11/7")
    pair = add_command(sub, "affinity", _data_affinity, "agreement rate and S-score of two states")
    pair.add_argument("first", metavar="ISO3")
    pair.add_argument("second", metavar="ISO3")
    pair.add_argument("--since", metavar="DATE", help="only roll calls from DATE (YYYY-MM-DD)")
    check = add_command(
        sub, "check", _data_check, "validate a data directory and say what it holds"
    )
    check.add_argument("directory", nargs="?", metavar="DIR", help="default: the configured one")
    for parser in (tally, blocs, pair):
        data_options(parser)
        format_option(parser)
    check.add_argument("--votes", metavar="FILE", help="also validate your own roll calls")
    format_option(check)


def _find_resolution(data: UNData, symbol: str) -> Resolution:
    try:
        return data.resolution(symbol)
    except KeyError as error:
        raise BlocsimError(error.args[0], field="RESOLUTION") from None


def _data_tally(args: argparse.Namespace) -> None:
    data = load(args)
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
    data = load(args)
    found = _find_resolution(data, args.resolution)
    if not found.in_data:
        raise BlocsimError(
            f"no per-country votes for {found.symbol} in the data; bring them with --votes",
            field="RESOLUTION",
        )
    emit(bloc_splits(data, found.symbol), args.format)


def _data_affinity(args: argparse.Namespace) -> None:
    since = parse_date(args.since, "--since") if args.since else None
    data = load(args)
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

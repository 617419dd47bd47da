"""`blocsim data`: look at the UN roll-call data (tallies, bloc splits, affinity, title search,
who followed the US, checks)."""

import argparse
import textwrap
from dataclasses import asdict
from fractions import Fraction

import pandas as pd

from sim.cli.common import (
    add_command,
    data_options,
    emit,
    format_option,
    load,
    parse_date,
)
from sim.data.follow_weights import follow_table
from sim.data.followers import (
    DEFAULT_MAJORITY,
    DEFAULT_SINCE,
    US_TURN,
    against_the_majority,
    check_majority,
    followers,
    movers,
)
from sim.data.loader import MEMBER_COUNT, UNData, load_data
from sim.data.metrics import (
    TITLE_SEARCH,
    affinity,
    bloc_splits,
    roll_call_tallies,
    select_roll_calls,
)
from sim.data.resolutions import Resolution
from sim.data.titles import search_titles
from sim.errors import BlocsimError
from sim.model.voting import ga_outcome, sc_outcome, sc_outcome_from_tally


def add_commands(commands: argparse._SubParsersAction) -> None:
    data = commands.add_parser(
        "data", help="look at the UN roll-call data", description="Look at the UN roll-call data."
    )
    data.set_defaults(handler=lambda _: data.print_help())
    sub = data.add_subparsers(title="data commands", metavar="COMMAND")

    tally = add_command(sub, "tally", _data_tally, "a roll call's tally and whether it was adopted")
    tally.add_argument("resolution", metavar="ROLL_CALL", help=ROLL_CALL_HELP)
    blocs = add_command(
        sub, "blocs", _data_blocs, "each bloc's and regional group's split and cohesion"
    )
    blocs.add_argument("resolution", metavar="ROLL_CALL", help=ROLL_CALL_HELP)
    pair = add_command(sub, "affinity", _data_affinity, "agreement rate and S-score of two states")
    pair.add_argument("first", metavar="ISO3")
    pair.add_argument("second", metavar="ISO3")
    pair.add_argument("--since", metavar="DATE", help="only roll calls from DATE (YYYY-MM-DD)")
    pair.add_argument(
        "--on",
        metavar="TEXTS",
        help="only these roll calls: a comma-separated list of symbols or vote_ids and title "
        f"searches '{TITLE_SEARCH}WORDS', e.g. 'ES-11/1,ES-11/7,{TITLE_SEARCH}crimea human rights'",
    )
    search = add_command(
        sub, "search", _data_search, "find roll calls by title (Nov 2019 on and the ES-11 votes)"
    )
    search.add_argument(
        "words", nargs="+", metavar="WORD", help="every word must be in the title (any case)"
    )
    follow = add_command(
        sub,
        "followers",
        _data_followers,
        "who voted with the US when it stood against a large majority, before and after the "
        f"US turn of {US_TURN}",
    )
    follow.description += (
        ". A roll call counts when at least MAJORITY of the members voting (Y, N or A) cast "
        "one vote and the US another (in 2025 the US voted No nearly alone on most texts; two "
        "thirds, the GA's threshold for important questions, drops close votes where it had "
        "company, like ES-11/7, 93-18-65). "
        "For each member: the share of those roll calls it voted on (X is missing) where it "
        "voted as the US did, before and after the turn, and the change. Beside it the "
        "follow weight with the US that the forecast combination uses "
        "(sim.data.follow_weights.follow_with): on every roll call of the record up to --until "
        "where the US stood against two thirds of the voters, those the member voted on "
        "(us_lonely_votes) and where it voted as the US did (us_sided), and its rate "
        "weighted by recency (half-life 6 months) and shrunk toward everyone's (beta-binomial, "
        "empirical Bayes), minus everyone's (us_follow: 0 = no evidence of following)."
    )
    follow.add_argument(
        "--since",
        metavar="DATE",
        default=DEFAULT_SINCE.isoformat(),
        help=f"first roll call counted (default {DEFAULT_SINCE}: the UN extract years, "
        "the source of the post-turn record; 2000-01-01 for the whole history)",
    )
    follow.add_argument("--until", metavar="DATE", help="last roll call counted (default: all)")
    follow.add_argument(
        "--majority",
        type=_majority,
        default=DEFAULT_MAJORITY,
        metavar="FRACTION",
        help="the share of the members voting that must stand against the US (above 1/2, "
        "at most 1; default 2/3)",
    )
    follow.add_argument(
        "--top",
        type=int,
        default=15,
        metavar="N",
        help="in the table format, the N that moved most each way (default 15); csv and json "
        "list every member",
    )
    check = add_command(
        sub, "check", _data_check, "validate a data directory and say what it holds"
    )
    check.add_argument("directory", nargs="?", metavar="DIR", help="default: the configured one")
    for parser in (tally, blocs, pair, search, follow):
        data_options(parser)
        format_option(parser)
    check.add_argument("--votes", metavar="FILE", help="also validate your own roll calls")
    format_option(check)


ROLL_CALL_HELP = (
    "a roll call: a symbol (A/RES/77/272, or short: 77/272, ES-11/7, S/RES/2774 (2025); "
    "the Voeten years' R/55/33A or A/RES/55/33 A; any case) or a vote_id of the history "
    "(voeten_rcid_4243); a text voted on in parts means the vote on the whole text. "
    "Find one with `blocsim data search`"
)
TITLE_WIDTH = 90  # the table format shortens titles to this many characters


def _majority(text: str) -> float:
    """argparse type of --majority: a fraction such as 2/3 or 0.75."""
    try:
        return check_majority(Fraction(text))
    except (ValueError, ZeroDivisionError) as error:
        reason = str(error) if "majority" in str(error) else f"'{text}' is not a fraction"
        raise argparse.ArgumentTypeError(reason) from None


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
        absent = (
            f"{tally.not_voting} not voting"
            if tally.members == MEMBER_COUNT
            else "non-voting not recorded"
        )
        print(
            f"{found.symbol} ({found.date}, {found.body}): {tally} with {absent}: "
            f"{verdict} ({outcome.rule}: {outcome.reason})"
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
        on = select_roll_calls(data, args.on) if args.on is not None else None
    except KeyError as error:
        raise BlocsimError(error.args[0], field="--on") from None
    try:
        result = affinity(data, args.first.upper(), args.second.upper(), since=since, on=on)
    except (KeyError, ValueError) as error:
        raise BlocsimError(error.args[0], field="ISO3") from None
    emit(pd.DataFrame([result]), args.format)


def _data_search(args: argparse.Namespace) -> None:
    data = load(args)
    found = search_titles(data.titles, " ".join(args.words))
    if found.empty:
        raise BlocsimError(f"no roll call's title holds '{' '.join(args.words)}'", field="WORD")
    tallies = roll_call_tallies(data, found["vote_id"].tolist())
    table = found[["date", "vote_id", "title"]].merge(tallies, on="vote_id", how="left")
    table = table.assign(date=table["date"].dt.date.astype(str))
    table = table[["date", "vote_id", "yes", "no", "abstain", "not_voting", "title"]]
    if args.format == "table":
        table = table.assign(
            title=[textwrap.shorten(t, TITLE_WIDTH, placeholder="…") for t in table["title"]]
        )
    emit(table, args.format)


def _data_followers(args: argparse.Namespace) -> None:
    since = parse_date(args.since, "--since")
    until = parse_date(args.until, "--until") if args.until else None
    if args.top < 1:
        raise BlocsimError(f"must be 1 or more, not {args.top}", field="--top")
    data = load(args)
    try:
        calls = against_the_majority(data, args.majority, since, until)
    except ValueError as error:
        field = "--since" if since >= US_TURN else "--until"
        raise BlocsimError(error.args[0], field=field) from None
    table = followers(data, calls)
    cutoff = pd.Timestamp(until) + pd.Timedelta(days=1) if until else None
    table = table.merge(follow_table(data, cutoff), on="iso3", how="left")
    if args.format != "table":
        emit(table, args.format)
        return
    periods = calls["period"].value_counts()
    print(
        f"The US voted against at least {Fraction(args.majority).limit_denominator(100)} of the "
        f"members voting on {periods.get('before', 0)} roll calls from {since} to the turn "
        f"({US_TURN}) and on {periods.get('after', 0)} after it"
        + (f" (to {until})" if until else "")
        + ". Share of those each member voted on where it voted as the US did:"
    )
    toward, away = movers(table, args.top)
    for heading, rows in (("Moved toward the US", toward), ("Moved away from the US", away)):
        print(f"\n{heading}:")
        if rows.empty:
            print("  (none)")
        else:
            emit(rows, "table")
    unmeasured = table[table["change"].isna()]["iso3"].tolist()
    if unmeasured:
        print(f"\nNo share in one of the periods (no vote cast): {', '.join(unmeasured)}")


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

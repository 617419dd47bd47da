"""What every command shares: options, argument types, loading the data, printing tables."""

import argparse
import json
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pandas as pd

from sim.data.loader import UNData, load_data
from sim.errors import BlocsimError

FORMATS = ("table", "csv", "json")


def data_dir_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        help="the UN data directory (default: $BLOCSIM_DATA, else data_dir in blocsim.toml)",
    )


def data_options(parser: argparse.ArgumentParser) -> None:
    data_dir_option(parser)
    parser.add_argument(
        "--votes",
        metavar="FILE",
        help="your own roll calls, in the long format of votes_ukraine.csv (see docs/data.md)",
    )


def seed_number(text: str) -> int:
    """argparse type of --seed: a whole number >= 0 (numpy's SeedSequence takes no other)."""
    try:
        seed = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if seed < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {seed}")
    return seed


def new_file(out: Path) -> Path:
    """Check a file to be written before any work: new, in a directory that exists."""
    if out.exists():
        raise BlocsimError(
            "already exists; blocsim never overwrites a file (choose another --out)", file=out
        )
    if not out.parent.is_dir():
        raise BlocsimError(f"directory {out.parent} does not exist", field="--out")
    return out


def format_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=FORMATS, default="table", help="output format")


def add_command(
    commands: argparse._SubParsersAction, name: str, handler: Callable, help_text: str
) -> argparse.ArgumentParser:
    parser = commands.add_parser(name, help=help_text, description=help_text)
    parser.set_defaults(handler=handler)
    return parser


def parse_date(text: str, option: str) -> date:
    """A YYYY-MM-DD option value, or a one-line error naming the option."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise BlocsimError(f"'{text}' is not a date (YYYY-MM-DD)", field=option) from None


def load(args: argparse.Namespace) -> UNData:
    return load_data(getattr(args, "data_dir", None), getattr(args, "votes", None))


def emit(table: pd.DataFrame, fmt: str) -> None:
    """Print a table readably, or as CSV or JSON records for scripts."""
    if fmt == "csv":
        table.to_csv(sys.stdout, index=False)
    elif fmt == "json":
        print(json.dumps(table.to_dict(orient="records"), indent=2, default=str))
    else:
        print(table.to_string(index=False))


def emit_sections(sections: dict[str, pd.DataFrame], fmt: str) -> None:
    """Print several tables under their titles: as JSON one object of record lists keyed by
    title; as text or CSV each table after a line '# title', a blank line between them."""
    if fmt == "json":
        records = {title: table.to_dict(orient="records") for title, table in sections.items()}
        print(json.dumps(records, indent=2, default=str))
        return
    for number, (title, table) in enumerate(sections.items()):
        print(("\n" if number else "") + f"# {title}")
        if table.empty:
            print("(none)")
        else:
            emit(table, fmt)

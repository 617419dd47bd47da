"""The `blocsim` command: parse arguments, call the library, print.

Every user error surfaces as a `BlocsimError` and is printed here, once, as one line on
stderr with exit status 2. Each family of commands lives in its own module.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from sim import __version__
from sim.cli import data, fit, model, outputs, sweep
from sim.errors import BlocsimError


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
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


_USAGE_MISTAKES = {  # argparse's messages that name no argument: the first one named is the field
    "unrecognized arguments: ": "not an argument this command takes",
    "the following arguments are required: ": "missing: this command requires it",
}


class _Parser(argparse.ArgumentParser):
    """argparse whose usage mistakes are `BlocsimError`s naming the option as the field, so
    they read like every other error: `blocsim: field '--tally': reason` (exit 2)."""

    def error(self, message: str) -> NoReturn:
        hint = f" (see '{self.prog} --help')"
        mistake = sys.exception()
        if isinstance(mistake, argparse.ArgumentError) and mistake.argument_name:
            raise BlocsimError(f"{mistake.message}{hint}", field=mistake.argument_name)
        for prefix, reason in _USAGE_MISTAKES.items():
            if message.startswith(prefix):
                named = message.removeprefix(prefix).split(" ")[0].rstrip(",")
                raise BlocsimError(f"{reason}{hint}", field=named)
        raise BlocsimError(f"{message}{hint}")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="blocsim",
        description="Agent-based simulation of UN voting blocs, calibrated on the General "
        "Assembly vote of 24 Feb 2025 on A/RES/ES-11/7 (93-18-65).",
    )
    parser.add_argument("--version", action="version", version=f"blocsim {__version__}")
    parser.set_defaults(handler=lambda _: parser.print_help())
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    for family in (data, model, sweep, outputs, fit):
        family.add_commands(commands)
    return parser

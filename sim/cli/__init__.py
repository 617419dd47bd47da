"""The `blocsim` command line: `main` parses and dispatches; a module per family of commands.

`main` and `build_parser` import the commands when called, not when this package is imported:
a sweep's worker processes import it again (the `blocsim` script is their main module) and need
none of them.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `blocsim` command (`sim.cli.commands.main`)."""
    from sim.cli.commands import main as run

    return run(argv)


def build_parser() -> argparse.ArgumentParser:
    """The `blocsim` argument parser (`sim.cli.commands.build_parser`)."""
    from sim.cli.commands import build_parser as build

    return build()


__all__ = ["build_parser", "main"]

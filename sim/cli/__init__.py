"""The `blocsim` command line: `main` parses and dispatches; a module per family of commands."""

from sim.cli.main import build_parser, main

__all__ = ["build_parser", "main"]

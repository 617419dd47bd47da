"""`blocsim sweep`: many runs of a scenario's design, answered; `blocsim sweep analyze DIR`:
which parameter matters (sensitivity indices)."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from sim.cli.common import (
    add_command,
    data_options,
    emit,
    format_option,
    load,
    seed_number,
)
from sim.errors import BlocsimError

if TYPE_CHECKING:
    from sim.sweep.executors import Executor
    from sim.sweep.runner import SweepResult

ANALYZE = "analyze"


def add_commands(commands: argparse._SubParsersAction) -> None:
    sweep = add_command(
        commands,
        "sweep",
        _sweep,
        "run a scenario's [sweep] in blocks of runs, write a sweep directory, answer its "
        "question; 'blocsim sweep analyze DIR': each parameter's sensitivity indices",
    )
    sweep.add_argument(
        "scenario",
        nargs="?",
        metavar="SCENARIO",
        help="a scenario file with a [sweep] section, or 'analyze' followed by a sweep directory",
    )
    sweep.add_argument(
        "directory",
        nargs="?",
        metavar="DIR",
        help="with analyze: a finished sweep directory. Prints first-order and total Sobol "
        "indices (S1, ST) of each text's Yes count, adoption and the [sweep] section's "
        "sensitivity_members' P(Yes) for a saltelli design, a first-order S1 from the given "
        "points for other designs, each with its 95%% confidence interval (SALib)",
    )
    sweep.add_argument(
        "--member",
        action="append",
        default=[],
        metavar="ISO3",
        help="with analyze: also the indices of this state's probability of voting Yes "
        "(repeatable)",
    )
    format_option(sweep)
    sweep.add_argument(
        "--runs",
        type=int,
        metavar="N",
        help="total runs: each design point gets ceil(N / points) replicates "
        "(default: the file's replicates per point; at most 10,000,000 runs)",
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
        "--seed", type=seed_number, help="root seed (default: the [sweep] or scenario seed)"
    )
    sweep.add_argument(
        "--out",
        metavar="DIR",
        help="sweep directory (default: results/<name>-sweep-<time>-seed<N>)",
    )
    sweep.add_argument(
        "--resume",
        metavar="DIR",
        help="finish an interrupted sweep: run only its missing blocks (Ctrl-C or SIGTERM "
        "stop a sweep with exit status 130 or 143 and print this command)",
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
    data_options(sweep)


def _sweep(args: argparse.Namespace) -> None:
    from sim.sweep.interrupts import Interrupted

    try:
        _run(args)
    except Interrupted as stop:  # the workers are stopped; say how to finish
        print(f"blocsim: {stop.message()}", file=sys.stderr)
        raise SystemExit(stop.exit_status) from None


def _run(args: argparse.Namespace) -> None:
    from sim.sweep.executors import open_executor
    from sim.sweep.interrupts import stop_on_interrupt

    if args.scenario == ANALYZE:
        return _analyze(args)
    if args.directory or args.member:
        raise BlocsimError("DIR and --member go with 'blocsim sweep analyze DIR'", field="DIR")
    if args.resume and (args.scenario or args.runs or args.seed is not None or args.out):
        raise BlocsimError(
            "--resume takes the sweep's own scenario, runs and seed: give only the directory",
            field="--resume",
        )
    if not args.resume and not args.scenario:
        raise BlocsimError("give a SCENARIO, or --resume DIR", field="SCENARIO")
    # the workers start (an interpreter each, importing the block kernel) while the data load;
    # a signal meanwhile stops them, before the sweep's own directory exists
    with (
        open_executor(args.executor, args.workers, args.address) as pool,
        stop_on_interrupt(None, pool),
    ):
        result = _sweep_on(pool, args)
    print("\n".join(result.answer))
    print(
        f"sweep directory: {result.directory} ({result.plan.runs:,} runs, "
        f"{len(result.plan.points)} points, {result.blocks_run} blocks run now)"
    )


def _sweep_on(pool: Executor, args: argparse.Namespace) -> SweepResult:
    from sim.model.scenario import load_scenario
    from sim.sweep.runner import resume_sweep, run_sweep

    data = load(args)
    if args.resume:
        return resume_sweep(args.resume, data, progress=not args.quiet, pool=pool)
    scenario = load_scenario(args.scenario, data.members)
    return run_sweep(
        scenario, data, args.out, args.runs, seed=args.seed, progress=not args.quiet, pool=pool
    )


def _analyze(args: argparse.Namespace) -> None:
    from sim.sweep.sensitivity import analyze_sweep

    if not args.directory:
        raise BlocsimError("give the sweep directory: blocsim sweep analyze DIR", field="DIR")
    found = analyze_sweep(args.directory, tuple(args.member))
    for outcome in found.constant:
        print(f"{outcome}: the same at every design point, no index", file=sys.stderr)
    table = found.table.round(4) if args.format == "table" else found.table
    emit(table, args.format)

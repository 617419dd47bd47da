"""Scenario sweeps: run a scenario's `[sweep]` into a sweep directory, or resume one.

A sweep varies some of a scenario's parameters over a design (`sim.sweep.design`), runs every point
`replicates` times in blocks of runs on the batched kernel (`sim.sweep.batch`), in this process, a
local process pool or on dask (`sim.sweep.executors`), writes each block's file as it finishes
(`sim.sweep.blocks`), and assembles the tables and the answer to its question at the end
(`sim.sweep.tables`). See `docs/sweeps.md`.

Reproducible by construction: which runs form a block is fixed by the design and the block size
(never by the worker count), block b draws from `SeedSequence(root, spawn_key=(1, b))`, BLAS runs
on one thread, and the final tables are assembled from the block files in block order, so one
worker or two, locally or on dask, in any order of completion, give byte-identical tables.

    >>> result = run_sweep(load_scenario("scenarios/us_realignment_sweep.toml", data.members), data)
    >>> result.directory, result.answer
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from sim.data.followers import followers
from sim.data.loader import UNData
from sim.errors import BlocsimError
from sim.files import partial_path
from sim.model.scenario import Scenario, load_scenario
from sim.results import default_run_dir, read_manifest, write_manifest
from sim.sweep.batch import SweepSetup
from sim.sweep.blocks import (
    BLOCK_KEY,
    BLOCKS,
    Block,
    completed_blocks,
    discard_partial_files,
    write_block,
)
from sim.sweep.design import DESIGN_KEY, SweepPlan, plain, plan_sweep, read_sweep
from sim.sweep.executors import Executor, open_executor
from sim.sweep.inputs import BlockTasks, sweep_setup
from sim.sweep.interrupts import stop_on_interrupt
from sim.sweep.tables import assemble


@dataclass(frozen=True)
class SweepResult:
    """Where the sweep was written, its plan, and the summary lines that answer its question."""

    directory: Path
    plan: SweepPlan
    blocks_run: int
    answer: list[str]


def run_sweep(
    scenario: Scenario,
    data: UNData,
    out: Path | None = None,
    runs: int | None = None,
    workers: int = 1,
    executor: str = "local",
    address: str | None = None,
    seed: int | None = None,
    progress: bool = True,
    pool: Executor | None = None,
) -> SweepResult:
    """Run a scenario's `[sweep]` into a new sweep directory (see `resume_sweep`).

    The blocks run on `pool` if given (an executor the caller opened, and closes, e.g. before
    loading the data so that its workers start meanwhile; `workers`, `executor` and `address`
    are then not read), else on one opened here from those three.

    Everything that can fail on the user's input (the section, the plan, the world, the
    executor) is built first: a sweep that cannot start leaves no directory behind. The
    directory appears with its manifest (staged, then renamed); from then on SIGINT or SIGTERM
    stop the workers and raise `sim.sweep.interrupts.Interrupted`, leaving it resumable.
    """
    plan = plan_sweep(read_sweep(scenario, data.members), runs, seed)
    directory = Path(out) if out else default_run_dir(scenario.name, plan.seed, "sweep")
    if directory.exists():
        raise BlocsimError(
            "already exists; blocsim never overwrites a sweep (choose another --out, or --resume)",
            file=directory,
        )
    prepared = _prepare(scenario, data, plan, runs)
    with (
        _running_on(pool, executor, workers, address, prepared.setup) as pool,
        stop_on_interrupt(directory, pool),
    ):
        _start_directory(directory, scenario, prepared)
        return _complete(directory, prepared, data, pool, progress)


@contextmanager
def _running_on(
    pool: Executor | None, kind: str, workers: int, address: str | None, setup: SweepSetup
) -> Iterator[Executor]:
    """The caller's executor (left open) or a new one (closed on leaving), given the setup."""
    with nullcontext(pool) if pool is not None else open_executor(kind, workers, address) as pool:
        pool.install(setup)
        yield pool


def _start_directory(directory: Path, scenario: Scenario, prepared: _Prepared) -> None:
    """The new sweep directory: blocks/, the scenario copy and the manifest, staged under a
    temporary name and renamed, so a sweep directory always has its manifest."""
    staged = partial_path(directory)
    try:
        (staged / BLOCKS).mkdir(parents=True)
        shutil.copyfile(scenario.path, staged / "scenario.toml")
        write_manifest(staged, **prepared.fields, status="running")
        staged.rename(directory)
    except BaseException:  # an interrupt too: leave nothing half-made
        shutil.rmtree(staged, ignore_errors=True)
        raise


def resume_sweep(
    directory: Path,
    data: UNData,
    workers: int = 1,
    executor: str = "local",
    address: str | None = None,
    progress: bool = True,
    pool: Executor | None = None,
) -> SweepResult:
    """Finish an interrupted sweep: run only the blocks without a block file, then assemble
    (on `pool` if given, as in `run_sweep`)."""
    directory = Path(directory)
    manifest = read_manifest(directory)
    if manifest.get("kind") != "sweep":
        raise BlocsimError("not a sweep directory (manifest kind is not 'sweep')", file=directory)

    def entry(*keys: str) -> object:
        return _manifest_entry(manifest, directory, keys)

    source = Path(entry("scenario", "file"))
    copy = directory / "scenario.toml"
    if not copy.is_file():
        raise BlocsimError("missing: the sweep's copy of its scenario file", file=copy)
    if hashlib.sha256(copy.read_bytes()).hexdigest() != entry("scenario", "sha256"):
        raise BlocsimError("scenario.toml differs from the manifest's hash", file=copy)
    if not source.is_file() or source.read_bytes() != copy.read_bytes():
        raise BlocsimError(
            "the scenario file has moved or changed since the sweep started; restore it",
            file=source,
        )
    if entry("data", "fingerprint") != data.fingerprint:
        raise BlocsimError("the data differ from those the sweep started on", file=directory)
    scenario = load_scenario(source, data.members)
    runs = entry("options", "runs")
    plan = plan_sweep(read_sweep(scenario, data.members), runs, entry("seed", "root"))
    if plan.fingerprint() != entry("plan_sha256"):
        raise BlocsimError("the sweep's plan no longer matches its manifest", file=directory)
    prepared = _prepare(scenario, data, plan, runs)
    needed = bool(_missing(directory, plan))  # else no executor: nothing to run
    with (
        (
            _running_on(pool, executor, workers, address, prepared.setup)
            if needed
            else nullcontext()
        ) as pool,
        stop_on_interrupt(directory, pool),
    ):
        return _complete(directory, prepared, data, pool, progress)


def _manifest_entry(manifest: dict, directory: Path, keys: tuple[str, ...]) -> object:
    """A manifest field (`keys` a path into it), or a one-line error naming the field missing
    from a manifest cut short."""
    value = manifest
    for depth, key in enumerate(keys):
        if not isinstance(value, dict) or key not in value:
            field = ".".join(keys[: depth + 1])
            raise BlocsimError(
                "incomplete manifest: missing", file=directory / "manifest.json", field=field
            )
        value = value[key]
    return value


@dataclass(frozen=True)
class _Prepared:
    """What a sweep builds before it runs a block: the plan, the kernel's inputs, the manifest."""

    plan: SweepPlan
    setup: SweepSetup
    tasks: BlockTasks
    fields: dict  # the manifest's fields
    seconds: float  # time taken to build the setup


def _prepare(scenario: Scenario, data: UNData, plan: SweepPlan, runs: int | None) -> _Prepared:
    started = time.perf_counter()
    setup, tasks = sweep_setup(scenario, data, plan)
    fields = _manifest_fields(scenario, data, plan, runs)
    return _Prepared(plan, setup, tasks, fields, time.perf_counter() - started)


def _missing(directory: Path, plan: SweepPlan) -> list[Block]:
    """The plan's blocks without a complete block file."""
    done = completed_blocks(directory)
    return [block for block in plan.blocks if block.index not in done]


def _manifest_fields(scenario: Scenario, data: UNData, plan: SweepPlan, runs: int | None) -> dict:
    spec = plan.spec
    blocks_of: dict[int, list[int]] = {}
    for block in plan.blocks:
        for point in block.points:
            blocks_of.setdefault(int(point), []).append(block.index)
    names = [p.name for p in spec.parameters]
    points = [
        {
            "point": int(row.point),
            "values": {name: plain(getattr(row, f"_{j + 2}")) for j, name in enumerate(names)},
            "replicates": plan.replicates,
            "blocks": blocks_of[int(row.point)],
            "spawn_keys": [[BLOCK_KEY, b] for b in blocks_of[int(row.point)]],
        }
        for row in plan.points.itertuples()
    ]
    return {
        "kind": "sweep",
        "scenario": {
            "name": scenario.name,
            "file": str(scenario.path.resolve()),
            "sha256": scenario.sha256,
        },
        "seed": {
            "root": plan.seed,
            "design_spawn_key": [DESIGN_KEY],
            "block_spawn_key": [BLOCK_KEY, "<block>"],
        },
        "data": {"directory": str(data.data_dir), "fingerprint": data.fingerprint},
        "data_until": scenario.data_until,
        "calibration": str(scenario.calibration),
        "options": {"runs": runs},
        "design": {
            "kind": spec.design,
            "points": len(plan.points),
            "replicates": plan.replicates,
            "block_size": spec.block_size,
            "position_noise": spec.position_noise,
            "trajectory": spec.trajectory,
        },
        "parameters_varied": [
            {
                "name": p.name,
                "values": None if p.values is None else [plain(v) for v in p.values],
                "range": None if p.values is not None else [plain(p.low), plain(p.high)],
                "steps": p.steps,
                "per_run": p.per_run,
            }
            for p in spec.parameters
        ],
        "baseline": None
        if spec.baseline_drop is None
        else {"drop_shocks": list(spec.baseline_drop), "historical_shocks": spec.baseline_history},
        "question": {"vote": spec.question, "reference": spec.reference},
        "runs": plan.runs,
        "blocks": len(plan.blocks),
        "plan_sha256": plan.fingerprint(),
        "points": points,
    }


def _complete(
    directory: Path,
    prepared: _Prepared,
    data: UNData,
    pool: Executor | None,
    progress: bool,
) -> SweepResult:
    """Run the missing blocks on `pool` (None: nothing is missing), assemble, write the manifest."""
    plan = prepared.plan
    started = time.perf_counter()
    missing = _missing(directory, plan)
    discard_partial_files(directory)
    # the record set beside the states that flip from the baseline (the flips table only)
    record = None if plan.spec.baseline_drop is None else _meanwhile(followers, data)
    run_seconds = 0.0
    if missing:
        run_seconds = _run_blocks(directory, plan, prepared.tasks, pool, missing, progress)
    assembled = time.perf_counter()
    answer = assemble(
        directory, plan, prepared.setup, data.members, None if record is None else record.result()
    )
    finished = time.perf_counter()
    write_manifest(
        directory,
        **prepared.fields,
        status="complete",
        executor=pool.description if missing else "nothing to run",
        blocks_run=len(missing),
        blocks_found=len(plan.blocks) - len(missing),
        timings_seconds={
            "setup": round(prepared.seconds, 3),
            "blocks": round(run_seconds, 3),
            "assemble": round(finished - assembled, 3),
            "total": round(prepared.seconds + finished - started, 3),
            "runs_per_second": round(sum(b.size for b in missing) / run_seconds, 1)
            if run_seconds
            else None,
        },
    )
    return SweepResult(directory, plan, len(missing), answer)


def _meanwhile[T](function: Callable[..., T], *args: object) -> concurrent.futures.Future[T]:
    """`function(*args)` in a thread of its own, while this one runs the blocks: the followers'
    table is 0.2-0.4 s of pandas over the roll-call history that the command would otherwise
    wait for after the last block. A daemon thread: an interrupt does not wait for it."""
    future: concurrent.futures.Future[T] = concurrent.futures.Future()

    def run() -> None:
        try:
            future.set_result(function(*args))
        except BaseException as error:  # raised again by `result()`, in the caller's thread
            future.set_exception(error)

    threading.Thread(target=run, daemon=True).start()
    return future


def _run_blocks(
    directory: Path,
    plan: SweepPlan,
    tasks: BlockTasks,
    pool: Executor,
    blocks: list[Block],
    progress: bool,
) -> float:
    """Keep `pool.slots` blocks in flight; write each as it completes, in any order."""
    started = time.perf_counter()
    done_runs = plan.runs - sum(b.size for b in blocks)
    todo = iter(tasks.dearest_first(blocks))
    pending: set[concurrent.futures.Future] = set()
    with tqdm(
        total=plan.runs, initial=done_runs, unit="run", unit_scale=True, disable=not progress
    ) as bar:
        while True:
            while len(pending) < pool.slots and (block := next(todo, None)) is not None:
                pending.add(pool.submit(tasks.task(block)))
            if not pending:
                break
            finished, pending = concurrent.futures.wait(
                pending, return_when=concurrent.futures.FIRST_COMPLETED
            )
            for future in finished:
                index, arrays = future.result()
                write_block(directory, index, arrays)
                bar.update(plan.blocks[index].size)
    return time.perf_counter() - started

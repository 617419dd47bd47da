"""One block of sweep runs on the batched kernel (Friedkin-Johnsen, or the parting rule): R runs
as (R, N, K) arrays.

A block is stepped by the one kernel of `sim.model.dynamics` in the Mesa model's step order, its
votes cast by `sim.model.voting`, and reduced to the arrays of its block file: tallies per run,
member vote counts and expected-count quantiles per point. This module is what a worker (a
local process or a dask worker) needs; it never builds a world or reads the UN data.

    >>> index, arrays = simulate_block(setup, tasks.task(plan.blocks[0]))
"""

from __future__ import annotations

import copy
import ctypes
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
from threadpoolctl import threadpool_limits

from sim.model.dynamics import FJState, OnRuns, rest_anchors
from sim.model.voting import VOTE_CODES, YES, Chamber, CutPoints, Draft, vote_resolution
from sim.sweep.blocks import Block

# ---------------------------------------------------------------------------------------------
# What a worker needs: the constant setup (sent once) and one task per block


@dataclass(frozen=True)
class VoteSlot:
    """One scenario vote in the kernel's terms: when, which draft, which seats."""

    step: int
    vote: str
    body: str
    draft: Draft
    chamber: Chamber
    columns: np.ndarray  # (M,) seats' columns in the world's order
    absence: np.ndarray  # (M,) absence propensities
    present: np.ndarray  # (M,) probability of voting on this text (its absence shift applied)

    @property
    def ballots(self) -> tuple[str, ...]:
        """Names of its ballots in order: the amendments, then the text."""
        return (*(a.name for a in self.draft.amendments), self.draft.name)


@dataclass(frozen=True)
class SweepSetup:
    """Everything a block needs that is the same for every block: sent to a worker once."""

    root: int
    iso3: tuple[str, ...]
    positions: np.ndarray  # (N, K) at the world's start
    position_noise: float
    last_step: int
    slots: tuple[VoteSlot, ...]
    trajectory: bool
    start: date  # step 0: the world's start (`World.start`, the last roll call used)
    step_days: int
    dtype: str = "float32"

    def date_of(self, step: int) -> date:
        return self.start + timedelta(days=step * self.step_days)


@dataclass(frozen=True)
class BlockTask:
    """One block's own inputs: per-point stubbornness, the network, the timed shocks, and the
    rules that let members part ways (`sim.model.dynamics`; 0 and 0: Friedkin-Johnsen)."""

    block: Block
    stubbornness: np.ndarray  # (k, N) one row per point
    influence: np.ndarray  # (N, N)
    shocks: dict[int, list]  # by step; per-run fields hold (R,) arrays
    baseline_shocks: dict[int, list] | None
    parting: float | np.ndarray = 0.0  # the same for every run of the block, or (R,)
    turn_cost: float | np.ndarray = 0.0


# ---------------------------------------------------------------------------------------------
# The block kernel (runs in the workers)


def expected_counts(
    positions: np.ndarray, present: np.ndarray, cut_points: CutPoints
) -> np.ndarray:
    """Expected Yes, No, Abstain counts of a text for each run: positions (R, M) on the text
    (`CutPoints.on_text`) -> (R, 3).

    The ordered logit of `sim.model.voting.vote_probabilities` summed over members, in the positions'
    dtype, as logistic(x) = (1 + tanh(x / 2)) / 2: a sweep evaluates it at every step of every
    run, and tanh is an order of magnitude faster than `expit` on float32.
    """
    dtype = positions.dtype
    half = dtype.type(
        0.5 * cut_points.discrimination * (1 if cut_points.polarity == "same" else -1)
    )
    present = present.astype(dtype)
    total = present.sum()

    def on_yes_side(edge: float) -> np.ndarray:  # (R,) expected members on the Yes side of edge
        logit = np.subtract(dtype.type(edge), positions)
        logit *= half
        return 0.5 * (total + np.tanh(logit, out=logit) @ present)

    yes = on_yes_side(cut_points.yes_abstain)
    yes_or_abstain = on_yes_side(cut_points.abstain_no)
    return np.stack([yes, total - yes_or_abstain, yes_or_abstain - yes], axis=-1)


def simulate_block(setup: SweepSetup, task: BlockTask) -> tuple[int, dict[str, np.ndarray]]:
    """Run one block (and its paired status-quo baseline): arrays for its block file.

    On one BLAS thread, wherever it runs (a worker, or the caller's process, whose own limits
    are restored afterwards): the processes are the parallelism, and a block's float32 numbers
    must not depend on how many threads summed them.
    """
    _keep_freed_memory()
    with threadpool_limits(1):
        return _simulate_block(setup, task)


@functools.cache
def _keep_freed_memory() -> None:
    """Once per process, where the C library is glibc: serve a block's temporaries (megabytes
    each, made and freed at every step) from memory the process keeps, not from fresh pages.
    glibc maps allocations above a threshold that adapts to what was freed before, and gives
    the heap's top back beyond another: in a Saltelli sweep's blocks (per-run rules) that was
    about 150,000 page faults a block, a sixth of their CPU in the kernel. Both thresholds
    fixed: 32 MiB (glibc's largest mmap threshold) and 64 MiB kept free at most."""
    try:
        libc = ctypes.CDLL(None)
        libc.mallopt(_M_MMAP_THRESHOLD, 32 << 20)
        libc.mallopt(_M_TRIM_THRESHOLD, 64 << 20)
    except (OSError, AttributeError):  # not glibc (macOS, Windows): its allocator as it is
        pass


_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt's parameters (glibc's malloc.h)


def _simulate_block(setup: SweepSetup, task: BlockTask) -> tuple[int, dict[str, np.ndarray]]:
    rest = _at_rest(setup, task)
    arrays, codes = _simulate(setup, task, task.shocks, rest)
    if task.baseline_shocks is not None:
        baseline, baseline_codes = _simulate(setup, task, task.baseline_shocks, rest)
        arrays.update({f"baseline_{name}": value for name, value in baseline.items()})
        for t, (shocked, base) in enumerate(zip(codes, baseline_codes, strict=True)):
            changes = [
                shocked != base,
                (base == YES) & (shocked != YES),
                (shocked == YES) & (base != YES),
            ]  # (R, M) each: changed, Yes lost, Yes gained
            arrays[f"flips_{t}"] = _counts_per_point(changes, task.block)
    return task.block.index, arrays


@dataclass(frozen=True)
class _Rest:
    """Where both passes of a block (shocked and status quo) start, drawn and built once."""

    rng: np.random.Generator  # the block's draws, after the position noise
    start: np.ndarray  # (R, N, K)
    anchors: np.ndarray  # (R, N, K): every run starts at rest
    stubbornness: np.ndarray  # (R, N)
    influence: np.ndarray  # (N, N)


def _at_rest(setup: SweepSetup, task: BlockTask) -> _Rest:
    block = task.block
    dtype = np.dtype(setup.dtype)
    rng = np.random.default_rng(np.random.SeedSequence(setup.root, spawn_key=block.spawn_key))
    start = np.tile(setup.positions.astype(dtype), (block.size, 1, 1))  # (R, N, K)
    if setup.position_noise > 0:
        start += (setup.position_noise * rng.standard_normal(start.shape)).astype(dtype)
    stubbornness = np.repeat(task.stubbornness.astype(dtype), block.runs, axis=0)  # (R, N)
    influence = task.influence.astype(dtype)
    anchors = rest_anchors(start, stubbornness, influence)
    return _Rest(rng, start, anchors, stubbornness, influence)


def _simulate(
    setup: SweepSetup, task: BlockTask, shocks: Mapping[int, list], rest: _Rest
) -> tuple[dict[str, np.ndarray], list[np.ndarray]]:
    """The Mesa model's step order on (R, N, K) arrays: shocks due at k act, everyone updates,
    then the votes due at k + 1 are held (`sim.model.agenda.Timeline`). Each pass draws its
    votes from a copy of `rest.rng`: the same draws, as if it had drawn the noise itself."""
    block = task.block
    dtype = np.dtype(setup.dtype)
    runs, size = block.size, len(setup.iso3)
    rng = copy.deepcopy(rest.rng)
    start = rest.start
    state = FJState.start(
        start,
        rest.anchors,
        rest.stubbornness,
        rest.influence,
        setup.iso3,
        task.parting,
        task.turn_cost,
    )
    slots = setup.slots
    record = setup.trajectory and block.trajectory
    trajectory = np.empty((runs, len(slots), setup.last_step + 1, 3), dtype) if record else None

    everyone = [np.array_equal(slot.columns, np.arange(size)) for slot in slots]

    def observe(step: int) -> None:
        seen: dict[tuple, int] = {}  # texts alike (same chamber and cut-points) computed once
        for t, slot in enumerate(slots):
            key = (slot.body, slot.draft.cut_points)
            if key in seen:
                trajectory[:, t, step] = trajectory[:, seen[key], step]
                continue
            seen[key] = t
            cut_points = slot.draft.cut_points
            positions = state.positions if everyone[t] else state.positions[:, slot.columns]
            on_text = cut_points.on_text(positions)  # (R, M)
            trajectory[:, t, step] = expected_counts(on_text, slot.present, cut_points)

    counts, adopted, codes = [], [], []
    if record:
        observe(0)
    resting = _first_shocks(shocks, runs)  # every run is at rest until its first shock
    last_shock = max(shocks, default=-1)
    moving = False  # from the first shock until a step leaves every position where it was
    for step in range(setup.last_step):
        for shock in shocks.get(step, ()):
            shock.apply(state)
            moving = True
        if moving:
            before = state.positions
            state.step()
            still = resting > step
            if still.any():  # runs whose turn is still to come: held exactly where they rest
                state.positions[still] = start[still]
            # a step that changes no bit, with no shock to come, is every later step: the rule
            # reads only the positions and what shocks set (credibility, ties, anchors)
            moving = step < last_shock or not _same_bits(before, state.positions)
            if record:
                observe(step + 1)
        elif record:  # at rest: the same positions, the same expected counts
            trajectory[:, :, step + 1] = trajectory[:, :, step]
        for t, slot in enumerate(slots):
            if slot.step == step + 1:
                positions = state.positions if everyone[t] else state.positions[:, slot.columns]
                on_text = slot.draft.cut_points.on_text(positions)
                held = vote_resolution(rng, on_text, slot.absence, slot.draft, slot.chamber)
                counts.append(held.counts)
                adopted.append(held.adopted)
                codes.append(held.codes[:, -1, :])
    voted = [[c == code for code in range(len(VOTE_CODES))] for c in codes]  # (R, M) each
    arrays = {
        "counts": np.concatenate(counts, axis=1).astype(np.int16),  # (R, ballots, 4)
        "adopted": np.concatenate(adopted, axis=1),  # (R, ballots)
        **{f"members_{t}": _counts_per_point(v, block) for t, v in enumerate(voted)},
    }
    if record:
        arrays["trajectory"] = _quantiles(trajectory, block)
    return arrays, codes


def _same_bits(before: np.ndarray, after: np.ndarray) -> bool:
    """Whether two arrays of positions are bitwise equal (-0.0 is not 0.0 here)."""
    unsigned = f"u{before.itemsize}"
    return np.array_equal(before.view(unsigned), after.view(unsigned))


def _first_shocks(shocks: Mapping[int, list], runs: int) -> np.ndarray:
    """(R,) the step of each run's first shock (`OnRuns` shocks reach some runs only)."""
    first = np.full(runs, np.iinfo(np.int64).max)
    for step in sorted(shocks, reverse=True):
        for shock in shocks[step]:
            first[shock.runs if isinstance(shock, OnRuns) else slice(None)] = step
    return first


def _counts_per_point(conditions: list[np.ndarray], block: Block) -> np.ndarray:
    """How many of each point's runs meet each condition: (R, M) bool each -> (k, M, count)
    int32."""
    shape = (len(block.points), block.runs, -1)
    return np.stack(
        [held.reshape(shape).sum(axis=1, dtype=np.int32) for held in conditions], axis=-1
    )


def _quantiles(trajectory: np.ndarray, block: Block) -> np.ndarray:
    """(R, texts, steps, 3) expected counts -> (k, texts, steps, 5): Yes q10 q50 q90, No and
    Abstain medians over each point's runs."""
    by_point = trajectory.reshape(len(block.points), block.runs, *trajectory.shape[1:])
    yes = np.quantile(by_point[..., 0], [0.1, 0.5, 0.9], axis=1)  # (3, k, texts, steps)
    rest = np.median(by_point[..., 1:], axis=1)  # (k, texts, steps, 2)
    return np.concatenate([np.moveaxis(yes, 0, -1), rest], axis=-1).astype(np.float32)

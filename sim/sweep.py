"""Scenario sweeps: designs, seeds, blocks of runs, executors (process pool, dask) and resume.

A sweep varies some of a scenario's parameters over a design (a full grid, a Latin hypercube or
a Sobol sequence, `scipy.stats.qmc`, seeded), runs every point `replicates` times and writes a
sweep directory (`docs/sweeps.md`). Runs are computed in blocks: R runs as one (R, N) float32
array stepped by the one Friedkin-Johnsen kernel (`sim.dynamics`), never one Mesa model per run.

Reproducible by construction: which runs form a block is fixed by the design and the block size
(never by the worker count), block b draws from `SeedSequence(root, spawn_key=(1, b))`, BLAS runs
on one thread, and the final tables are assembled from the block files in block order, so one
worker or two, locally or on dask, in any order of completion, give byte-identical tables.

    >>> result = run_sweep(load_scenario("scenarios/us_realignment_sweep.toml", data.members), data)
    >>> result.directory, result.answer
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import hashlib
import itertools
import json
import math
import multiprocessing
import os
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from scipy.special import expit, logit
from scipy.stats import qmc
from tqdm import tqdm

from sim.agenda import (
    Timeline,
    chamber,
    chamber_absence,
    scenario_timeline,
    seats,
    shocks_by_step,
)
from sim.data import UN_GROUPS, UNData
from sim.dynamics import AddTie, CutTie, FJState, MoveToward, SetStubbornness, WeakenCohesion
from sim.errors import BlocsimError
from sim.resolutions import RESOLUTIONS, resolution
from sim.results import default_run_dir, read_manifest, write_manifest, write_table
from sim.scenario import Scenario, TimedShock, field_reader, load_historical_shocks
from sim.voting import VOTE_CODES, YES, Chamber, CutPoints, Draft, vote_resolution
from sim.world import World

DESIGNS = ("grid", "latin_hypercube", "sobol")
BLOCK_SIZE = 1000
DESIGN_KEY, BLOCK_KEY = 0, 1  # spawn keys: (0,) seeds the design, (1, b) block b
RANGE_BINS = 5  # a sampled range is summarised in this many equal-width bins
FAIL_SHARE = 0.5  # a point "fails" when at least this share of its runs fails
DEFAULT_REFERENCE = "A/RES/ES-11/6"  # the 2022-23 level: 141 yes, as ES-11/1
BLOCKS = "blocks"
SWEEP_KEYS = {
    "design",
    "points",
    "replicates",
    "seed",
    "block_size",
    "position_noise",
    "question",
    "reference",
    "trajectory",
    "parameters",
    "baseline",
}
# Shock fields a block may carry one value per run for; other fields (and dates) must be the
# same for every run of a block, so points that differ in them go to different blocks.
PER_RUN_FIELDS = {MoveToward: {"fraction", "hold"}, SetStubbornness: {"value"}}
SHOCK_FIELDS = {
    MoveToward: {"fraction", "hold"},
    SetStubbornness: {"value"},
    AddTie: {"share"},
    WeakenCohesion: {"factor"},
    CutTie: set(),
}
MAX_YES = 194  # histogram width for Yes counts 0..193


# ---------------------------------------------------------------------------------------------
# The [sweep] section


@dataclass(frozen=True)
class SweptParameter:
    """One varied parameter: `parameters.<dotted name>` or `shocks[i].<field>` (or `.date`).

    Either `values` (a list: every value on a grid, or drawn among them by LHS/Sobol) or a
    `low`..`high` range (`steps` evenly spaced values on a grid, sampled otherwise).
    """

    name: str
    values: tuple | None
    low: float | date | None
    high: float | date | None
    steps: int | None
    shock: int | None  # index into the scenario's [[shocks]], None for [parameters]
    attribute: str  # the shock's field, or the dotted parameter name
    per_run: bool  # may differ between the runs of one block

    @property
    def is_date(self) -> bool:
        return self.attribute == "date"

    def grid(self) -> list:
        """The values a full grid takes."""
        if self.values is not None:
            return list(self.values)
        if self.is_date:
            days = np.linspace(0, (self.high - self.low).days, self.steps)
            return [self.low + timedelta(days=int(round(d))) for d in days]
        return [float(v) for v in np.linspace(self.low, self.high, self.steps)]

    def sample(self, unit: np.ndarray) -> list:
        """Values for uniform draws in [0, 1): among `values`, or within the range."""
        if self.values is not None:
            picks = np.minimum((unit * len(self.values)).astype(int), len(self.values) - 1)
            return [self.values[i] for i in picks]
        if self.is_date:
            span = (self.high - self.low).days
            return [self.low + timedelta(days=int(np.floor(u * (span + 1)))) for u in unit]
        return [float(self.low + u * (self.high - self.low)) for u in unit]


@dataclass(frozen=True)
class SweepSpec:
    """A validated `[sweep]` section."""

    design: str
    parameters: tuple[SweptParameter, ...]
    points: int | None  # LHS / Sobol only
    replicates: int
    seed: int
    block_size: int
    position_noise: float
    question: str
    reference: str
    trajectory: bool
    baseline_drop: tuple[int, ...] | None  # None: no status-quo baseline
    baseline_history: bool


def read_sweep(scenario: Scenario, members: pd.DataFrame) -> SweepSpec:
    """The scenario's `[sweep]` section, checked like the rest of the file (file, field, reason)."""
    reader = field_reader(scenario.path, members)
    if "sweep" not in scenario.raw:
        raise reader.fail("sweep", "missing: a sweep needs a [sweep] section")
    table = reader.table(scenario.raw, "sweep", "sweep")
    reader.known_keys(table, SWEEP_KEYS, "sweep")
    design = reader.typed(table, "design", "sweep.design", str, "grid")
    if design not in DESIGNS:
        raise reader.fail("sweep.design", f"must be one of {', '.join(DESIGNS)}")
    entries = reader.typed(table, "parameters", "sweep.parameters", list, [])
    if not entries:
        raise reader.fail("sweep.parameters", "missing: give at least one [[sweep.parameters]]")
    parameters = tuple(
        _swept_parameter(reader, entry, f"sweep.parameters[{i}]", scenario, design)
        for i, entry in enumerate(entries)
    )
    names = [p.name for p in parameters]
    for i, name in enumerate(names):
        if name in names[:i]:
            raise reader.fail(f"sweep.parameters[{i}].name", f"'{name}' is varied twice")
    points = reader.typed(table, "points", "sweep.points", int)
    if design == "grid":
        if points is not None:
            raise reader.fail("sweep.points", "a grid's points are its values: leave points out")
    elif points is None or points < 1:
        raise reader.fail("sweep.points", f"a {design} design needs points = a whole number >= 1")
    elif design == "sobol" and points & (points - 1):
        raise reader.fail("sweep.points", f"a Sobol design needs a power of two, not {points}")
    replicates = reader.typed(table, "replicates", "sweep.replicates", int, 100)
    if replicates < 1:
        raise reader.fail("sweep.replicates", "must be at least 1")
    block_size = reader.typed(table, "block_size", "sweep.block_size", int, BLOCK_SIZE)
    if not 1 <= block_size <= 100_000:
        raise reader.fail("sweep.block_size", "must be between 1 and 100000")
    noise = reader.number(table, "position_noise", "sweep.position_noise", 0.0, 10.0, 0.0)
    texts = [vote.name for vote in scenario.votes]
    if not texts:
        raise reader.fail("votes", "a sweep needs at least one [[votes]]")
    first_ga = next((v.name for v in scenario.votes if v.body == "GA"), texts[0])
    question = reader.typed(table, "question", "sweep.question", str, first_ga)
    if question not in texts:
        raise reader.fail("sweep.question", f"no vote named '{question}' in [[votes]]")
    reference = reader.typed(table, "reference", "sweep.reference", str, DEFAULT_REFERENCE)
    try:
        reference = resolution(reference).symbol
    except KeyError:
        known = ", ".join(RESOLUTIONS)
        raise reader.fail("sweep.reference", f"unknown resolution (known: {known})") from None
    baseline = reader.typed(table, "baseline", "sweep.baseline", dict)
    drop, history = None, scenario.historical_shocks
    if baseline is not None:
        reader.known_keys(baseline, {"drop_shocks", "historical_shocks"}, "sweep.baseline")
        drop = reader.typed(baseline, "drop_shocks", "sweep.baseline.drop_shocks", list, [])
        for i, index in enumerate(drop):
            if not isinstance(index, int) or not 0 <= index < len(scenario.shocks):
                raise reader.fail(
                    f"sweep.baseline.drop_shocks[{i}]",
                    f"must index the scenario's [[shocks]] (0..{len(scenario.shocks) - 1})",
                )
        history = reader.typed(
            baseline, "historical_shocks", "sweep.baseline.historical_shocks", bool, history
        )
        drop = tuple(sorted(set(drop)))
        if not drop and history == scenario.historical_shocks:
            raise reader.fail("sweep.baseline", "the baseline must drop a shock or the history")
    return SweepSpec(
        design=design,
        parameters=parameters,
        points=points,
        replicates=replicates,
        seed=reader.typed(table, "seed", "sweep.seed", int, scenario.seed),
        block_size=block_size,
        position_noise=noise,
        question=question,
        reference=reference,
        trajectory=reader.typed(table, "trajectory", "sweep.trajectory", bool, True),
        baseline_drop=drop,
        baseline_history=history,
    )


def _swept_parameter(
    reader, entry: Mapping, field: str, scenario: Scenario, design: str
) -> SweptParameter:
    if not isinstance(entry, dict):
        raise reader.fail(field, "must be a table ([[sweep.parameters]])")
    reader.known_keys(entry, {"name", "values", "range", "steps"}, field)
    name = reader.required(entry, "name", f"{field}.name", str)
    shock, attribute, per_run, is_date = _target(reader, name, f"{field}.name", scenario)
    kind = date if is_date else float
    if ("values" in entry) == ("range" in entry):
        raise reader.fail(field, "give exactly one of 'values' or 'range'")
    values = low = high = steps = None
    if "values" in entry:
        values = tuple(
            _value(reader, v, f"{field}.values[{i}]", kind)
            for i, v in enumerate(reader.typed(entry, "values", f"{field}.values", list))
        )
        if not values:
            raise reader.fail(f"{field}.values", "must not be empty")
        if "steps" in entry:
            raise reader.fail(f"{field}.steps", "steps go with a range, not with values")
        checked = values
    else:
        pair = reader.typed(entry, "range", f"{field}.range", list)
        if len(pair) != 2:
            raise reader.fail(f"{field}.range", "must be [low, high]")
        low, high = (_value(reader, v, f"{field}.range", kind) for v in pair)
        if low > high:
            raise reader.fail(f"{field}.range", "must be [low, high] with low <= high")
        steps = reader.typed(entry, "steps", f"{field}.steps", int)
        if design == "grid" and (steps is None or steps < 1):
            raise reader.fail(f"{field}.steps", "a range on a grid needs steps = a whole number")
        if design != "grid" and steps is not None:
            raise reader.fail(f"{field}.steps", f"a {design} design samples the range: no steps")
        checked = (low, high)
    where = f"{field}.values" if values is not None else f"{field}.range"
    for value in checked:
        _check_value(reader, where, scenario, shock, attribute, value)
    return SweptParameter(name, values, low, high, steps, shock, attribute, per_run)


def _target(reader, name: str, field: str, scenario: Scenario) -> tuple:
    """(shock index, attribute, per run?, is a date?) of a swept name."""
    if name.startswith("parameters."):
        attribute = name.removeprefix("parameters.")
        if attribute == "step_days":
            raise reader.fail(field, "step_days cannot be swept (it moves every vote's step)")
        try:
            scenario.parameters.with_values({attribute: 0.5})
        except KeyError:
            raise reader.fail(field, f"unknown parameter '{attribute}'") from None
        return None, attribute, attribute.startswith("stubbornness"), False
    head, dot, attribute = name.partition("].")
    if not (head.startswith("shocks[") and dot and head[7:].isdigit()):
        raise reader.fail(field, f"'{name}' is neither parameters.<name> nor shocks[<i>].<field>")
    index = int(head[7:])
    if index >= len(scenario.shocks):
        raise reader.fail(field, f"the scenario has {len(scenario.shocks)} [[shocks]]")
    kind = type(scenario.shocks[index].shock)
    if attribute == "date":
        return index, attribute, False, True
    if attribute not in SHOCK_FIELDS[kind]:
        allowed = ", ".join(sorted({"date", *SHOCK_FIELDS[kind]}))
        raise reader.fail(field, f"a {kind.__name__} shock can vary: {allowed}")
    return index, attribute, attribute in PER_RUN_FIELDS.get(kind, set()), False


def _value(reader, value: object, field: str, kind: type):
    if kind is date:
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            raise reader.fail(field, f"'{value}' is not a date (YYYY-MM-DD)") from None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise reader.fail(field, f"must be a number, not {value!r}")
    return float(value)


def _check_value(reader, field: str, scenario: Scenario, shock, attribute: str, value) -> None:
    if shock is None:
        if attribute.startswith("stubbornness") and not 0 <= value <= 1:
            raise reader.fail(field, "stubbornness must be between 0 and 1")
        if attribute.startswith("ties.") and value < 0:
            raise reader.fail(field, "tie weights cannot be negative")
        return
    if attribute == "date":
        if value < scenario.data_until:
            raise reader.fail(
                field, f"{value} is before the scenario starts ({scenario.data_until})"
            )
        return
    low, high = {"fraction": (-1, 2), "factor": (0, 10)}.get(attribute, (0, 1))
    if not low <= value <= high:
        raise reader.fail(field, f"{attribute} must be between {low} and {high}")


# ---------------------------------------------------------------------------------------------
# The plan: points and blocks, fixed by the design


@dataclass(frozen=True)
class Block:
    """Runs computed together: whole points (or one chunk of a point with many replicates)."""

    index: int
    points: np.ndarray  # (k,) point ids, consecutive
    first_replicate: np.ndarray  # (k,) replicate number of each point's first run here
    runs: int  # runs of each of its points in this block
    trajectory: bool  # record the expected-count trajectory (a point's first chunk)

    @property
    def size(self) -> int:
        return self.runs * len(self.points)

    @property
    def spawn_key(self) -> tuple[int, int]:
        return (BLOCK_KEY, self.index)


@dataclass(frozen=True)
class SweepPlan:
    """The points of a design and the blocks that run them."""

    spec: SweepSpec
    seed: int
    points: pd.DataFrame  # point, one column per varied parameter
    replicates: int
    blocks: tuple[Block, ...]

    @property
    def runs(self) -> int:
        return len(self.points) * self.replicates

    def fingerprint(self) -> str:
        """A hash of everything that fixes the results: points, replicates, blocks, seed."""
        digest = hashlib.sha256()
        digest.update(self.points.to_csv(index=False).encode())
        layout = [(b.index, int(b.points[0]), len(b.points), b.runs) for b in self.blocks]
        digest.update(json.dumps([self.seed, self.replicates, layout]).encode())
        return digest.hexdigest()


def plan_sweep(spec: SweepSpec, runs: int | None = None, seed: int | None = None) -> SweepPlan:
    """Points of the design, then blocks of at most `block_size` runs.

    Points that differ in a field every run of a block shares (a shock's date, tie weights)
    are grouped, group by group in order of first appearance; point ids follow that order,
    so each point's runs are consecutive and the tables come out sorted by point.
    """
    seed = spec.seed if seed is None else seed
    rows = _design(spec, seed)
    shared = [i for i, p in enumerate(spec.parameters) if not p.per_run]
    groups: dict[tuple, int] = {}
    keys = [groups.setdefault(tuple(row[i] for i in shared), len(groups)) for row in rows]
    order = sorted(range(len(rows)), key=lambda i: keys[i])  # stable: design order within
    columns = {p.name: [rows[i][j] for i in order] for j, p in enumerate(spec.parameters)}
    points = pd.DataFrame({"point": np.arange(len(rows)), **columns})
    replicates = spec.replicates if runs is None else max(1, math.ceil(runs / len(rows)))
    group_of = [keys[i] for i in order]
    blocks: list[Block] = []
    for _, members in itertools.groupby(range(len(rows)), key=group_of.__getitem__):
        ids = list(members)
        if replicates <= spec.block_size:
            per_block = spec.block_size // replicates
            for start in range(0, len(ids), per_block):
                chunk = np.array(ids[start : start + per_block])
                blocks.append(
                    Block(len(blocks), chunk, np.zeros(len(chunk), int), replicates, True)
                )
            continue
        chunks = math.ceil(replicates / spec.block_size)
        if replicates % chunks:  # equal chunks keep a block's points rectangular
            chunks = next(c for c in range(chunks, replicates + 1) if replicates % c == 0)
        size = replicates // chunks
        for point in ids:
            for c in range(chunks):
                blocks.append(
                    Block(len(blocks), np.array([point]), np.array([c * size]), size, c == 0)
                )
    return SweepPlan(spec, seed, points, replicates, tuple(blocks))


def _design(spec: SweepSpec, seed: int) -> list[tuple]:
    """Rows of parameter values in design order."""
    parameters = spec.parameters
    if spec.design == "grid":
        return list(itertools.product(*(p.grid() for p in parameters)))
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(DESIGN_KEY,)))
    if spec.design == "latin_hypercube":
        unit = qmc.LatinHypercube(len(parameters), rng=rng).random(spec.points)
    else:
        unit = qmc.Sobol(len(parameters), rng=rng).random_base2(int(math.log2(spec.points)))
    columns = [p.sample(unit[:, j]) for j, p in enumerate(parameters)]
    return list(zip(*columns, strict=True))


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
    positions: np.ndarray  # (N,) at the cut-off
    position_noise: float
    last_step: int
    slots: tuple[VoteSlot, ...]
    trajectory: bool
    start: date  # the cut-off: step 0
    step_days: int
    dtype: str = "float32"

    def date_of(self, step: int) -> date:
        return self.start + timedelta(days=step * self.step_days)


@dataclass(frozen=True)
class BlockTask:
    """One block's own inputs: per-point stubbornness, the network, and the timed shocks."""

    block: Block
    stubbornness: np.ndarray  # (k, N) one row per point
    influence: np.ndarray  # (N, N)
    shocks: dict[int, list]  # by step; per-run fields hold (R,) arrays
    baseline_shocks: dict[int, list] | None


class _Tasks:
    """Builds each block's task in the parent from the world and the plan."""

    def __init__(
        self, scenario: Scenario, data: UNData, world: World, timeline: Timeline, plan: SweepPlan
    ) -> None:
        self.scenario = scenario
        self.world = world
        self.timeline = timeline
        self.plan = plan
        self.spec = plan.spec
        self.history = load_historical_shocks(scenario.calibration, data.members)
        self._influence: dict[tuple, np.ndarray] = {}
        base = scenario.parameters
        swept = {p.attribute: 0.5 for p in self.spec.parameters if p.shock is None}
        self.group_order = list(base.with_values(swept).stubbornness_by_group)
        members = world.members
        self.masks = {
            group: (
                (members["un_group"] == group) if group in UN_GROUPS else (members[group] == 1)
            ).to_numpy()
            for group in self.group_order
        }

    def task(self, block: Block) -> BlockTask:
        rows = self.plan.points.iloc[block.points]
        values = {p.name: rows[p.name].tolist() for p in self.spec.parameters}
        shocks = self._shocks(block, values, drop=(), history=self.scenario.historical_shocks)
        baseline = None
        if self.spec.baseline_drop is not None:
            baseline = self._shocks(
                block, values, self.spec.baseline_drop, self.spec.baseline_history
            )
        return BlockTask(
            block, self._stubbornness(values, len(rows)), self._network(values), shocks, baseline
        )

    def _parameter_values(self, values: dict, name: str, count: int) -> np.ndarray:
        for p in self.spec.parameters:
            if p.shock is None and p.attribute == name:
                return np.asarray(values[p.name], dtype=float)
        base = self.scenario.parameters
        value = base.stubbornness if name == "stubbornness" else None
        if name.startswith("stubbornness_by_group."):
            value = base.stubbornness_by_group[name.partition(".")[2]]
        return np.full(count, value)

    def _stubbornness(self, values: dict, count: int) -> np.ndarray:
        """(k, N): `Parameters.member_stubbornness` for each point, vectorised over points."""
        table = np.empty((count, len(self.world.iso3)))
        table[:] = self._parameter_values(values, "stubbornness", count)[:, None]
        for group in self.group_order:
            group_values = self._parameter_values(values, f"stubbornness_by_group.{group}", count)
            table[:, self.masks[group]] = group_values[:, None]
        return table

    def _network(self, values: dict) -> np.ndarray:
        ties = {
            p.attribute.removeprefix("ties."): float(values[p.name][0])
            for p in self.spec.parameters
            if p.shock is None and p.attribute.startswith("ties.")
        }
        key = tuple(sorted(ties.items()))
        if key not in self._influence:
            weights = dataclasses.replace(self.scenario.parameters.ties, **ties)
            self._influence = {key: self.world.influence(weights)}  # blocks come grouped
        return self._influence[key]

    def _shocks(self, block: Block, values: dict, drop: Sequence[int], history: bool) -> dict:
        own = list(self.scenario.shocks)
        for p in self.spec.parameters:
            if p.shock is None:
                continue
            timed = own[p.shock]
            if p.is_date:
                own[p.shock] = TimedShock(values[p.name][0], timed.shock)
            elif p.per_run:
                per_run = np.repeat(np.asarray(values[p.name], dtype=float), block.runs)
                own[p.shock] = TimedShock(
                    timed.date, dataclasses.replace(timed.shock, **{p.attribute: per_run})
                )
            else:
                value = float(values[p.name][0])
                own[p.shock] = TimedShock(
                    timed.date, dataclasses.replace(timed.shock, **{p.attribute: value})
                )
        kept = [shock for i, shock in enumerate(own) if i not in drop]
        timed_shocks = [*self.history, *kept] if history else kept
        return shocks_by_step(timed_shocks, self.timeline.start, self.timeline.step_days)


def sweep_setup(
    scenario: Scenario, data: UNData, plan: SweepPlan, dtype: str = "float32"
) -> tuple[SweepSetup, _Tasks]:
    """The worker setup and the parent's task builder: the world and timeline are built exactly
    as `BlocModel.from_scenario` builds them (`sim.agenda.scenario_timeline`)."""
    world, timeline = scenario_timeline(scenario, data)
    slots = []
    for step, spec, draft in timeline.votes:
        chamber_ = chamber(spec.body, world)
        columns = seats(chamber_, world)
        absence = chamber_absence(chamber_, world)
        cut = draft.cut_points
        present = 1.0 - expit(logit(absence) + cut.absence_shift)
        slots.append(
            VoteSlot(step, spec.name, spec.body, draft, chamber_, columns, absence, present)
        )
    setup = SweepSetup(
        root=plan.seed,
        iso3=world.iso3,
        positions=np.asarray(world.positions, dtype=float),
        position_noise=plan.spec.position_noise,
        last_step=timeline.last_step,
        slots=tuple(slots),
        trajectory=plan.spec.trajectory,
        start=timeline.start,
        step_days=timeline.step_days,
        dtype=dtype,
    )
    return setup, _Tasks(scenario, data, world, timeline, plan)


# ---------------------------------------------------------------------------------------------
# The block kernel (runs in the workers)

_blas_limited = False


def _limit_blas() -> None:
    """One BLAS thread per worker process: the processes are the parallelism, and a block's
    numbers must not depend on how many threads summed them."""
    global _blas_limited
    if not _blas_limited:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
        _blas_limited = True


def expected_counts(
    positions: np.ndarray, present: np.ndarray, cut_points: CutPoints
) -> np.ndarray:
    """Expected Yes, No, Abstain counts of a text for each run: positions (R, M) -> (R, 3).

    The ordered logit of `sim.voting.vote_probabilities` summed over members, in the positions'
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
        return 0.5 * (total + np.tanh(half * (dtype.type(edge) - positions)) @ present)

    yes = on_yes_side(cut_points.yes_abstain)
    yes_or_abstain = on_yes_side(cut_points.abstain_no)
    return np.stack([yes, total - yes_or_abstain, yes_or_abstain - yes], axis=-1)


def simulate_block(setup: SweepSetup, task: BlockTask) -> tuple[int, dict[str, np.ndarray]]:
    """Run one block (and its paired status-quo baseline): arrays for its block file."""
    _limit_blas()
    arrays, codes = _simulate(setup, task, task.shocks)
    if task.baseline_shocks is not None:
        baseline, baseline_codes = _simulate(setup, task, task.baseline_shocks)
        arrays.update({f"baseline_{name}": value for name, value in baseline.items()})
        for t, (shocked, base) in enumerate(zip(codes, baseline_codes, strict=True)):
            changes = np.stack(
                [
                    shocked != base,
                    (base == YES) & (shocked != YES),
                    (shocked == YES) & (base != YES),
                ],
                axis=-1,
            )  # (R, M, 3): changed, Yes lost, Yes gained
            arrays[f"flips_{t}"] = _per_point(changes, task.block).astype(np.int32)
    return task.block.index, arrays


def _simulate(
    setup: SweepSetup, task: BlockTask, shocks: Mapping[int, list]
) -> tuple[dict[str, np.ndarray], list[np.ndarray]]:
    """The Mesa model's step order on (R, N) arrays: shocks due at k act, everyone updates,
    then the votes due at k + 1 are held (`sim.agenda.Timeline`)."""
    block = task.block
    dtype = np.dtype(setup.dtype)
    runs, size = block.size, len(setup.iso3)
    rng = np.random.default_rng(np.random.SeedSequence(setup.root, spawn_key=block.spawn_key))
    start = np.tile(setup.positions.astype(dtype), (runs, 1))  # (R, N)
    if setup.position_noise > 0:
        start += (setup.position_noise * rng.standard_normal((runs, size))).astype(dtype)
    stubbornness = np.repeat(task.stubbornness.astype(dtype), block.runs, axis=0)  # (R, N)
    influence = task.influence.astype(dtype)
    # Every run starts at rest, as in `World.anchors`: its anchors make its start an equilibrium.
    anchors = (start - (1 - stubbornness) * (start @ influence.T)) / stubbornness
    state = FJState.start(start, anchors, stubbornness, influence, setup.iso3)
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
            positions = state.positions if everyone[t] else state.positions[:, slot.columns]
            trajectory[:, t, step] = expected_counts(positions, slot.present, slot.draft.cut_points)

    counts, adopted, codes = [], [], []
    if record:
        observe(0)
    for step in range(setup.last_step):
        for shock in shocks.get(step, ()):
            shock.apply(state)
        state.step()
        if record:
            observe(step + 1)
        for slot in slots:
            if slot.step == step + 1:
                held = vote_resolution(
                    rng, state.positions[:, slot.columns], slot.absence, slot.draft, slot.chamber
                )
                counts.append(held.counts)
                adopted.append(held.adopted)
                codes.append(held.codes[:, -1, :])
    one_hot = [np.eye(len(VOTE_CODES), dtype=bool)[c] for c in codes]  # (R, M, 4) each
    arrays = {
        "counts": np.concatenate(counts, axis=1).astype(np.int16),  # (R, ballots, 4)
        "adopted": np.concatenate(adopted, axis=1),  # (R, ballots)
        **{f"members_{t}": _per_point(h, block).astype(np.int32) for t, h in enumerate(one_hot)},
    }
    if record:
        arrays["trajectory"] = _quantiles(trajectory, block)
    return arrays, codes


def _per_point(per_run: np.ndarray, block: Block) -> np.ndarray:
    """Sums over each point's runs: (R, ...) -> (k, ...)."""
    return per_run.reshape(len(block.points), block.runs, *per_run.shape[1:]).sum(axis=1)


def _quantiles(trajectory: np.ndarray, block: Block) -> np.ndarray:
    """(R, texts, steps, 3) expected counts -> (k, texts, steps, 5): Yes q10 q50 q90, No and
    Abstain medians over each point's runs."""
    by_point = trajectory.reshape(len(block.points), block.runs, *trajectory.shape[1:])
    yes = np.quantile(by_point[..., 0], [0.1, 0.5, 0.9], axis=1)  # (3, k, texts, steps)
    rest = np.median(by_point[..., 1:], axis=1)  # (k, texts, steps, 2)
    return np.concatenate([np.moveaxis(yes, 0, -1), rest], axis=-1).astype(np.float32)


# ---------------------------------------------------------------------------------------------
# Executors: one loop for in-process, a local process pool and a dask cluster

_installed: SweepSetup | None = None


def _install(setup: SweepSetup) -> None:
    """Process-pool initializer: keep the setup, limit BLAS, before any block runs."""
    global _installed
    _installed = setup
    _limit_blas()


def _run_installed(task: BlockTask) -> tuple[int, dict[str, np.ndarray]]:
    return simulate_block(_installed, task)


@dataclass
class _Executor:
    submit: Callable[[BlockTask], concurrent.futures.Future]
    slots: int  # blocks in flight
    close: Callable[[], None]
    description: str


def _run_here(setup: SweepSetup, task: BlockTask) -> concurrent.futures.Future:
    """One worker: run the block now, in this process, as a finished future."""
    from threadpoolctl import threadpool_limits

    future: concurrent.futures.Future = concurrent.futures.Future()
    with threadpool_limits(1):
        future.set_result(simulate_block(setup, task))
    return future


def _executor(kind: str, workers: int, address: str | None, setup: SweepSetup) -> _Executor:
    if kind == "dask":
        return _dask_executor(address or os.environ.get("DASK_SCHEDULER_ADDRESS"), setup)
    if kind != "local":
        raise BlocsimError(f"unknown executor '{kind}' (local or dask)", field="--executor")
    if workers < 1:
        raise BlocsimError("must be at least 1", field="--workers")
    if workers == 1:
        return _Executor(lambda task: _run_here(setup, task), 1, lambda: None, "in process")
    pool = concurrent.futures.ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context("spawn"),  # no fork of a threaded parent
        initializer=_install,
        initargs=(setup,),
    )
    return _Executor(
        lambda task: pool.submit(_run_installed, task),
        2 * workers,
        lambda: pool.shutdown(cancel_futures=True),
        f"{workers} local processes",
    )


def _dask_executor(address: str | None, setup: SweepSetup) -> _Executor:
    try:
        from distributed import Client
    except ImportError:
        raise BlocsimError(
            "the dask executor needs dask.distributed: pip install 'blocsim[dask]'",
            field="--executor",
        ) from None
    if not address:
        raise BlocsimError(
            "no scheduler: give --address tcp://HOST:PORT or set DASK_SCHEDULER_ADDRESS",
            field="--address",
        )
    try:
        client = Client(address, timeout="10s")
    except (OSError, TimeoutError) as error:
        raise BlocsimError(
            f"cannot reach the dask scheduler ({error})", field="--address"
        ) from None
    shared = client.scatter(setup, broadcast=True, hash=False)  # sent once to every worker
    executor = client.get_executor()
    threads = max(1, sum(client.nthreads().values()))

    def close() -> None:
        executor.shutdown(wait=False)
        client.close()

    return _Executor(
        lambda task: executor.submit(simulate_block, shared, task),
        2 * threads,
        close,
        f"dask at {address} ({threads} worker threads)",
    )


# ---------------------------------------------------------------------------------------------
# The sweep directory


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
) -> SweepResult:
    """Run a scenario's `[sweep]` into a new sweep directory (see `resume_sweep`)."""
    spec = read_sweep(scenario, data.members)
    plan = plan_sweep(spec, runs, seed)
    directory = Path(out) if out else default_run_dir(scenario.name, plan.seed, "sweep")
    if directory.exists():
        raise BlocsimError(
            "already exists; blocsim never overwrites a sweep (choose another --out, or --resume)",
            file=directory,
        )
    (directory / BLOCKS).mkdir(parents=True)
    shutil.copyfile(scenario.path, directory / "scenario.toml")
    fields = _manifest_fields(scenario, data, plan, runs)
    write_manifest(directory, **fields, status="running")
    return _complete(directory, scenario, data, plan, fields, workers, executor, address, progress)


def resume_sweep(
    directory: Path,
    data: UNData,
    workers: int = 1,
    executor: str = "local",
    address: str | None = None,
    progress: bool = True,
) -> SweepResult:
    """Finish an interrupted sweep: run only the blocks without a block file, then assemble."""
    from sim.scenario import load_scenario

    directory = Path(directory)
    manifest = read_manifest(directory)
    if manifest.get("kind") != "sweep":
        raise BlocsimError("not a sweep directory (manifest kind is not 'sweep')", file=directory)
    source = Path(manifest["scenario"]["file"])
    copy = directory / "scenario.toml"
    if hashlib.sha256(copy.read_bytes()).hexdigest() != manifest["scenario"]["sha256"]:
        raise BlocsimError("scenario.toml differs from the manifest's hash", file=copy)
    if not source.is_file() or source.read_bytes() != copy.read_bytes():
        raise BlocsimError(
            "the scenario file has moved or changed since the sweep started; restore it",
            file=source,
        )
    if manifest["data"]["fingerprint"] != data.fingerprint:
        raise BlocsimError("the data differ from those the sweep started on", file=directory)
    scenario = load_scenario(source, data.members)
    spec = read_sweep(scenario, data.members)
    plan = plan_sweep(spec, manifest["options"]["runs"], manifest["seed"]["root"])
    if plan.fingerprint() != manifest["plan_sha256"]:
        raise BlocsimError("the sweep's plan no longer matches its manifest", file=directory)
    fields = _manifest_fields(scenario, data, plan, manifest["options"]["runs"])
    return _complete(directory, scenario, data, plan, fields, workers, executor, address, progress)


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
            "values": {name: _plain(getattr(row, f"_{j + 2}")) for j, name in enumerate(names)},
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
                "values": None if p.values is None else [_plain(v) for v in p.values],
                "range": None if p.values is not None else [_plain(p.low), _plain(p.high)],
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


def _plain(value):
    return value.isoformat() if isinstance(value, date) else value


def _complete(
    directory: Path,
    scenario: Scenario,
    data: UNData,
    plan: SweepPlan,
    fields: dict,
    workers: int,
    executor: str,
    address: str | None,
    progress: bool,
) -> SweepResult:
    started = time.perf_counter()
    setup, tasks = sweep_setup(scenario, data, plan)
    built = time.perf_counter()
    done = completed_blocks(directory)
    missing = [block for block in plan.blocks if block.index not in done]
    for partial in (directory / BLOCKS).glob(".*.partial-*"):
        partial.unlink()  # a block a killed sweep was writing: never read, run again
    run_seconds = 0.0
    described = "nothing to run"
    if missing:
        pool = _executor(executor, workers, address, setup)
        described = pool.description
        try:
            run_seconds = _run_blocks(directory, plan, tasks, pool, missing, progress)
        finally:
            pool.close()
    assembled = time.perf_counter()
    answer = assemble(directory, plan, setup, data.members)
    finished = time.perf_counter()
    write_manifest(
        directory,
        **fields,
        status="complete",
        executor=described,
        blocks_run=len(missing),
        blocks_found=len(plan.blocks) - len(missing),
        timings_seconds={
            "setup": round(built - started, 3),
            "blocks": round(run_seconds, 3),
            "assemble": round(finished - assembled, 3),
            "total": round(finished - started, 3),
            "runs_per_second": round(sum(b.size for b in missing) / run_seconds, 1)
            if run_seconds
            else None,
        },
    )
    return SweepResult(directory, plan, len(missing), answer)


def completed_blocks(directory: Path) -> set[int]:
    """Indices of the blocks whose file is complete (only complete files carry the final name)."""
    return {
        int(path.stem.removeprefix("block-")) for path in (directory / BLOCKS).glob("block-*.npz")
    }


def _run_blocks(
    directory: Path,
    plan: SweepPlan,
    tasks: _Tasks,
    pool: _Executor,
    blocks: list[Block],
    progress: bool,
) -> float:
    """Keep `pool.slots` blocks in flight; write each as it completes, in any order."""
    started = time.perf_counter()
    done_runs = plan.runs - sum(b.size for b in blocks)
    todo = iter(blocks)
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


def write_block(directory: Path, index: int, arrays: Mapping[str, np.ndarray]) -> Path:
    """A block file, written under a temporary name, fsynced, then renamed: a file with the final
    name is always complete, so a sweep killed mid-write loses only that block."""
    folder = directory / BLOCKS
    path = folder / f"block-{index:06d}.npz"
    partial = folder / f".{path.name}.partial-{os.getpid()}"
    with partial.open("wb") as handle:
        np.savez(handle, **arrays)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(partial, path)
    handle = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)
    return path


def _read_block(directory: Path, index: int) -> dict[str, np.ndarray]:
    with np.load(directory / BLOCKS / f"block-{index:06d}.npz") as stored:
        return {name: stored[name] for name in stored.files}


# ---------------------------------------------------------------------------------------------
# Assembly: one streaming pass over the block files, in block order


class _ParquetStream:
    """A Parquet table written block by block under a temporary name, renamed when closed."""

    def __init__(self, path: Path, schema: pa.Schema) -> None:
        self.path = path
        self.partial = path.with_name(f".{path.name}.partial-{os.getpid()}")
        self.writer = pq.ParquetWriter(self.partial, schema)
        self.schema = schema

    def write(self, columns: Mapping[str, object]) -> None:
        self.writer.write_table(pa.table(dict(columns), schema=self.schema))

    def close(self) -> None:
        self.writer.close()
        os.replace(self.partial, self.path)


RUNS_SCHEMA = pa.schema(
    [
        ("point", pa.int32()),
        ("replicate", pa.int32()),
        ("vote", pa.string()),
        ("name", pa.string()),
        ("on", pa.string()),
        ("yes", pa.int16()),
        ("no", pa.int16()),
        ("abstain", pa.int16()),
        ("not_voting", pa.int16()),
        ("adopted", pa.bool_()),
    ]
)
MEMBERS_SCHEMA = pa.schema(
    [("point", pa.int32()), ("vote", pa.string()), ("iso3", pa.string())]
    + [(f"p_{code}", pa.float64()) for code in VOTE_CODES]
)
TRAJECTORY_SCHEMA = pa.schema(
    [("point", pa.int32()), ("vote", pa.string()), ("step", pa.int32()), ("date", pa.date32())]
    + [(name, pa.float32()) for name in ("yes_q10", "yes_q50", "yes_q90", "no_q50", "abstain_q50")]
)


class _Series:
    """Writes one series' tables (the sweep's, or the baseline's) and keeps its tallies for the
    summary: per point and text, how often the text failed or fell below the thresholds."""

    def __init__(self, directory: Path, prefix: str, plan: SweepPlan, setup: SweepSetup) -> None:
        self.prefix, self.plan, self.setup = prefix, plan, setup
        self.runs = _ParquetStream(directory / f"{prefix}runs.parquet", RUNS_SCHEMA)
        self.members = _ParquetStream(directory / f"{prefix}members.parquet", MEMBERS_SCHEMA)
        self.trajectory = (
            _ParquetStream(directory / f"{prefix}trajectory.parquet", TRAJECTORY_SCHEMA)
            if setup.trajectory
            else None
        )
        slots = setup.slots
        self.ballots = [(s.vote, name) for s in slots for name in s.ballots]
        self.on = [
            "text" if i == len(s.ballots) - 1 else "amendment"
            for s in slots
            for i in range(len(s.ballots))
        ]
        ends = np.cumsum([len(s.ballots) for s in slots])
        self.text_ballot = ends - 1  # ballot index of each text
        points, texts = len(plan.points), len(slots)
        self.outcomes = np.zeros((texts, points, 4), np.int64)  # runs, fail, < half, < reference
        self.yes_sum = np.zeros((texts, points), np.int64)
        self.histogram = np.zeros((texts, points, MAX_YES), np.int64) if points <= 20_000 else None
        self.member_totals = [np.zeros((len(s.columns), 4), np.int64) for s in slots]
        self.pending: dict[int, list[np.ndarray]] = {}
        self.reference_yes = RESOLUTIONS[plan.spec.reference].tally.yes
        self.dates = [setup.date_of(step) for step in range(setup.last_step + 1)]

    def add(
        self, block: Block, arrays: Mapping[str, np.ndarray], last_block_of: np.ndarray
    ) -> None:
        p = self.prefix
        counts, adopted = arrays[f"{p}counts"], arrays[f"{p}adopted"]  # (R, B, 4), (R, B)
        runs, ballots = adopted.shape
        point = np.repeat(block.points, block.runs)
        replicate = (block.first_replicate[:, None] + np.arange(block.runs)[None, :]).reshape(-1)
        self.runs.write(
            {
                "point": np.repeat(point, ballots).astype(np.int32),
                "replicate": np.repeat(replicate, ballots).astype(np.int32),
                "vote": [v for v, _ in self.ballots] * runs,
                "name": [n for _, n in self.ballots] * runs,
                "on": self.on * runs,
                "yes": counts[..., 0].reshape(-1),
                "no": counts[..., 2].reshape(-1),
                "abstain": counts[..., 1].reshape(-1),
                "not_voting": counts[..., 3].reshape(-1),
                "adopted": adopted.reshape(-1),
            }
        )
        for t, slot in enumerate(self.setup.slots):
            ballot = self.text_ballot[t]
            yes, no, abstain = (counts[:, ballot, c].astype(np.int64) for c in (0, 2, 1))
            failed = ~adopted[:, ballot]
            below_half = (
                2 * yes < yes + no + abstain if slot.body == "GA" else np.zeros_like(failed)
            )
            below_reference = yes < self.reference_yes if slot.body == "GA" else below_half
            flags = np.stack([np.ones_like(failed), failed, below_half, below_reference], axis=-1)
            np.add.at(self.outcomes[t], point, flags.astype(np.int64))
            np.add.at(self.yes_sum[t], point, yes)
            if self.histogram is not None:
                np.add.at(self.histogram[t], (point, yes), 1)
            member_counts = arrays[f"{p}members_{t}"]  # (k, M, 4)
            self.member_totals[t] += member_counts.sum(axis=0)
            for j, point_id in enumerate(block.points):
                self.pending.setdefault(int(point_id), self._zeros())
                self.pending[int(point_id)][t] += member_counts[j]
        for point_id in [q for q in self.pending if last_block_of[q] <= block.index]:
            self._write_members(point_id, self.pending.pop(point_id))
        if self.trajectory is not None and f"{p}trajectory" in arrays:
            self._write_trajectory(block, arrays[f"{p}trajectory"])

    def _zeros(self) -> list[np.ndarray]:
        return [np.zeros((len(s.columns), 4), np.int64) for s in self.setup.slots]

    def _write_members(self, point: int, counts: list[np.ndarray]) -> None:
        votes, iso3, shares = [], [], []
        for slot, count in zip(self.setup.slots, counts, strict=True):
            votes += [slot.vote] * len(slot.columns)
            iso3 += list(slot.chamber.members)
            shares.append(count / self.plan.replicates)
        shares = np.concatenate(shares)
        self.members.write(
            {
                "point": np.full(len(iso3), point, np.int32),
                "vote": votes,
                "iso3": iso3,
                **{f"p_{code}": shares[:, c] for c, code in enumerate(VOTE_CODES)},
            }
        )

    def _write_trajectory(self, block: Block, quantiles: np.ndarray) -> None:
        k, texts, steps, _ = quantiles.shape  # (k, texts, steps, 5)
        names = [slot.vote for slot in self.setup.slots]
        self.trajectory.write(
            {
                "point": np.repeat(block.points, texts * steps).astype(np.int32),
                "vote": [names[t] for _ in range(k) for t in range(texts) for _ in range(steps)],
                "step": np.tile(np.arange(steps), k * texts).astype(np.int32),
                "date": self.dates * (k * texts),
                **{
                    name: quantiles[..., i].reshape(-1)
                    for i, name in enumerate(
                        ("yes_q10", "yes_q50", "yes_q90", "no_q50", "abstain_q50")
                    )
                },
            }
        )

    def close(self) -> None:
        for stream in (self.runs, self.members, self.trajectory):
            if stream is not None:
                stream.close()


def assemble(
    directory: Path, plan: SweepPlan, setup: SweepSetup, members: pd.DataFrame
) -> list[str]:
    """The final tables from the block files, streamed in block order (memory: one block), then
    `points.csv`, `summary.csv` and `flips.csv`. Returns the lines that answer the question."""
    missing = [b.index for b in plan.blocks if b.index not in completed_blocks(directory)]
    if missing:
        raise BlocsimError(f"{len(missing)} blocks are missing; resume the sweep", file=directory)
    last_block_of = np.zeros(len(plan.points), int)
    for block in plan.blocks:
        last_block_of[block.points] = block.index
    baseline = plan.spec.baseline_drop is not None
    series = [_Series(directory, "", plan, setup)]
    if baseline:
        series.append(_Series(directory, "baseline_", plan, setup))
    flips = [np.zeros((len(s.columns), 3), np.int64) for s in setup.slots]
    for block in plan.blocks:
        arrays = _read_block(directory, block.index)
        for one in series:
            one.add(block, arrays, last_block_of)
        if baseline:
            for t in range(len(setup.slots)):
                flips[t] += arrays[f"flips_{t}"].sum(axis=0)
    for one in series:
        one.close()
    write_table(_points_table(plan), directory / "points.csv")
    summary = _summary(plan, setup, series)
    write_table(summary, directory / "summary.csv")
    flip_table = None
    if baseline:
        flip_table = _flips(plan, setup, series, flips, members)
        write_table(flip_table, directory / "flips.csv")
    return answer_lines(plan, summary, flip_table)


def _points_table(plan: SweepPlan) -> pd.DataFrame:
    table = plan.points.copy()
    for p in plan.spec.parameters:
        if p.is_date:
            table[p.name] = [v.isoformat() for v in table[p.name]]
    return table


def _bins(plan: SweepPlan, parameter: SweptParameter) -> tuple[np.ndarray, list[tuple]]:
    """Each point's bin for the marginal summary, and each bin's (low, high)."""
    column = plan.points[parameter.name].tolist()
    numeric = np.array([v.toordinal() if isinstance(v, date) else v for v in column], float)
    back = (lambda x: date.fromordinal(int(round(x)))) if parameter.is_date else float
    if plan.spec.design == "grid" or parameter.values is not None:
        levels = sorted(set(numeric))
        index = np.searchsorted(levels, numeric)
        return index, [(back(v), back(v)) for v in levels]
    low, high = (
        v.toordinal() if isinstance(v, date) else v for v in (parameter.low, parameter.high)
    )
    edges = np.linspace(low, high, RANGE_BINS + 1)
    index = np.clip(np.searchsorted(edges, numeric, side="right") - 1, 0, RANGE_BINS - 1)
    return index, [(back(edges[i]), back(edges[i + 1])) for i in range(RANGE_BINS)]


def _stats(outcomes: np.ndarray, yes_sum: np.ndarray, histogram: np.ndarray | None) -> dict:
    """Shares and Yes quantiles over a set of points' runs: outcomes (P, 4), histogram (P, 194)."""
    runs, failed, below_half, below_reference = outcomes.sum(axis=0)
    row = {
        "runs": int(runs),
        "p_fail": failed / runs if runs else np.nan,
        "p_yes_below_half_present": below_half / runs if runs else np.nan,
        "p_yes_below_reference": below_reference / runs if runs else np.nan,
        "yes_mean": yes_sum.sum() / runs if runs else np.nan,
    }
    if histogram is not None and runs:
        cumulative = np.cumsum(histogram.sum(axis=0))
        for q in (10, 50, 90):
            row[f"yes_q{q}"] = int(np.searchsorted(cumulative, q / 100 * runs))
    return row


def _summary(plan: SweepPlan, setup: SweepSetup, series: list[_Series]) -> pd.DataFrame:
    rows = []
    bins = {p.name: _bins(plan, p) for p in plan.spec.parameters}
    for t, slot in enumerate(setup.slots):
        for one in series:
            name = "baseline" if one.prefix else "sweep"
            common = {"vote": slot.vote, "body": slot.body, "series": name}
            histogram = one.histogram[t] if one.histogram is not None else None

            def stats(selected: np.ndarray, one=one, t=t, histogram=histogram) -> dict:
                return _stats(
                    one.outcomes[t][selected],
                    one.yes_sum[t][selected],
                    None if histogram is None else histogram[selected],
                )

            everything = np.ones(len(plan.points), bool)
            rows.append(
                {
                    **common,
                    "scope": "all",
                    "parameter": "",
                    "low": "",
                    "high": "",
                    "points": len(plan.points),
                    **stats(everything),
                }
            )
            for p in plan.spec.parameters:
                index, edges = bins[p.name]
                for b, (low, high) in enumerate(edges):
                    selected = index == b
                    rows.append(
                        {
                            **common,
                            "scope": "marginal",
                            "parameter": p.name,
                            "low": _plain(low),
                            "high": _plain(high),
                            "points": int(selected.sum()),
                            **stats(selected),
                        }
                    )
            if one.prefix:
                continue
            runs = one.outcomes[t][:, 0]
            share = one.outcomes[t][:, 1] / np.maximum(runs, 1)
            failing = share >= FAIL_SHARE
            inside = everything.copy()
            box = []
            for p in plan.spec.parameters:
                column = plan.points[p.name]
                if failing.any():
                    low, high = column[failing].min(), column[failing].max()
                    inside &= ((column >= low) & (column <= high)).to_numpy()
                    box.append((p.name, low, high))
            for name_, low, high in box:
                rows.append(
                    {
                        **common,
                        "scope": "region",
                        "parameter": name_,
                        "low": _plain(low),
                        "high": _plain(high),
                        "points": int(inside.sum()),
                        "failing_points": int(failing.sum()),
                        "failing_points_in_box": int((failing & inside).sum()),
                        **stats(inside),
                    }
                )
    columns = [
        "vote",
        "body",
        "series",
        "scope",
        "parameter",
        "low",
        "high",
        "points",
        "runs",
        "p_fail",
        "p_yes_below_half_present",
        "p_yes_below_reference",
        "yes_mean",
        "yes_q10",
        "yes_q50",
        "yes_q90",
        "failing_points",
        "failing_points_in_box",
    ]
    table = pd.DataFrame(rows)
    for column in columns:
        if column not in table:
            table[column] = np.nan
    table = table[columns]
    for column in ("p_fail", "p_yes_below_half_present", "p_yes_below_reference", "yes_mean"):
        table[column] = table[column].astype(float).round(6)
    return table


def _flips(
    plan: SweepPlan,
    setup: SweepSetup,
    series: list[_Series],
    flips: list[np.ndarray],
    members: pd.DataFrame,
) -> pd.DataFrame:
    """Each state's chance that its vote differs from the status quo in the same draw, for every
    text, most likely first: the states that flip first as the shock grows."""
    names = dict(zip(members["iso3"], members["name"], strict=True))
    tables = []
    for t, slot in enumerate(setup.slots):
        runs = plan.runs
        shocked = series[0].member_totals[t] / runs
        base = series[1].member_totals[t] / runs
        table = pd.DataFrame(
            {
                "vote": slot.vote,
                "iso3": list(slot.chamber.members),
                "name": [names[i] for i in slot.chamber.members],
                "p_flip": flips[t][:, 0] / runs,
                "p_yes_lost": flips[t][:, 1] / runs,
                "p_yes_gained": flips[t][:, 2] / runs,
                **{f"p_{code}": shocked[:, c] for c, code in enumerate(VOTE_CODES)},
                **{f"baseline_p_{code}": base[:, c] for c, code in enumerate(VOTE_CODES)},
            }
        )
        table = table.sort_values(["p_flip", "iso3"], ascending=[False, True], kind="stable")
        table.insert(1, "rank", np.arange(1, len(table) + 1))
        tables.append(table)
    question = plan.spec.question
    ordered = sorted(tables, key=lambda table: table["vote"].iloc[0] != question)
    return pd.concat(ordered, ignore_index=True).round(6)


def answer_lines(
    plan: SweepPlan, summary: pd.DataFrame, flips: pd.DataFrame | None, top: int = 10
) -> list[str]:
    """A few lines that answer the sweep's question, for the terminal."""
    spec = plan.spec
    rows = summary[summary["vote"] == spec.question]
    overall = rows[(rows["series"] == "sweep") & (rows["scope"] == "all")].iloc[0]
    reference = RESOLUTIONS[spec.reference].tally.yes
    lines = [
        f"{spec.question}: Yes <= No (no simple majority of those present and voting) in "
        f"{overall.p_fail:.1%} of {overall.runs:,} runs; Yes below the 2022-23 level "
        f"({spec.reference}: {reference}) in {overall.p_yes_below_reference:.1%}; Yes below half "
        f"of those present in {overall.p_yes_below_half_present:.1%}; median Yes {overall.yes_q50}."
    ]
    base = rows[(rows["series"] == "baseline") & (rows["scope"] == "all")]
    if len(base):
        b = base.iloc[0]
        lines.append(
            f"  status quo (baseline without shocks {list(spec.baseline_drop)}): Yes <= No in "
            f"{b.p_fail:.1%}, below {reference} in {b.p_yes_below_reference:.1%}, "
            f"below half present in {b.p_yes_below_half_present:.1%}, median Yes {b.yes_q50}."
        )
    region = rows[rows["scope"] == "region"]
    if len(region):
        first = region.iloc[0]
        box = ", ".join(f"{r.parameter} {r.low}..{r.high}" for r in region.itertuples())
        lines.append(
            f"  it fails in most runs at {int(first.failing_points)} of {len(plan.points)} points, "
            f"all within {box} ({int(first.failing_points_in_box)} of the {int(first.points)} "
            f"points in that box fail; p_fail there {first.p_fail:.1%})."
        )
    else:
        marginal = rows[(rows["series"] == "sweep") & (rows["scope"] == "marginal")]
        worst = marginal.sort_values(["p_fail", "yes_mean"], ascending=[False, True]).iloc[0]
        lines.append(
            f"  no point of this sweep fails in most runs; lowest Yes where {worst.parameter} is "
            f"{worst.low}..{worst.high} (mean Yes {worst.yes_mean:.1f}, p_fail {worst.p_fail:.1%})."
        )
    if flips is not None:
        first = flips[flips["vote"] == spec.question].head(top)
        listed = ", ".join(f"{r.iso3} {r.p_flip:.2f}" for r in first.itertuples())
        lines.append(f"  states that flip first (P(vote differs from the status quo)): {listed}")
    return lines

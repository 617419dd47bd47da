"""The `[sweep]` section and its design: what a sweep varies, its points, and their blocks.

`read_sweep` checks the section like the rest of the scenario file (file, field, reason);
`plan_sweep` turns it into points (a full grid, a Latin hypercube or a Sobol sequence,
`scipy.stats.qmc`, or SALib's Saltelli sample for Sobol indices, all seeded) and blocks of
runs. Which runs form a block is fixed here, by the design and the block size, never by the
worker count; block b draws from `SeedSequence(root, spawn_key=(1, b))`.

    >>> plan = plan_sweep(read_sweep(scenario, data.members))
    >>> plan.runs, len(plan.blocks)
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from sim.data.resolutions import RESOLUTIONS, resolution
from sim.errors import BlocsimError
from sim.model.dynamics import (
    AddTie,
    CutTie,
    MoveToward,
    SetStubbornness,
    Shift,
    WeakenCohesion,
)
from sim.model.scenario import Scenario, field_reader
from sim.sweep.blocks import Block

DESIGNS = ("grid", "latin_hypercube", "sobol", "saltelli")
BLOCK_SIZE = 1000
# The largest sweep planned (docs/sweeps.md): its points and runs are checked before anything is
# allocated. 10^7 runs is hours on a laptop and gigabytes of runs.parquet.
MAX_POINTS = 1_000_000
MAX_RUNS = 10_000_000
DESIGN_KEY = 0  # spawn key (0,) seeds the design; (1, b) block b (`sim.sweep.blocks.BLOCK_KEY`)
DEFAULT_REFERENCE = "A/RES/ES-11/6"  # the 2022-23 level: 141 yes, as ES-11/1
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
    "sensitivity_members",
}
# Shock fields a block may carry one value per run for; other fields (and dates) must be the
# same for every run of a block, so points that differ in them go to different blocks.
# The dates of these kinds may differ too (`sim.model.dynamics.OnRuns`), and so may the rules
# that let members part ways: a sampled design's points then share blocks.
PER_RUN_FIELDS = {
    MoveToward: {"fraction", "hold", "date"},
    Shift: {"hold", "date", "by"},
    SetStubbornness: {"value", "date"},
}
PER_RUN_PARAMETERS = ("stubbornness", "parting", "turn_cost")
SHOCK_FIELDS = {
    MoveToward: {"fraction", "hold"},
    Shift: {"hold", "by"},  # by as shocks[i].by[k]: one axis of the shift
    SetStubbornness: {"value"},
    AddTie: {"share"},
    WeakenCohesion: {"factor"},
    CutTie: set(),
}


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
    axis: int | None = None  # shocks[i].by[k]: the axis k of a shift

    @property
    def is_date(self) -> bool:
        return self.attribute == "date"

    @property
    def grid_size(self) -> int:
        """How many values a full grid takes, counted without building them."""
        return len(self.values) if self.values is not None else self.steps

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
    sensitivity_members: tuple[str, ...] = ()  # whose P(Yes) `sweep analyze` apportions

    @property
    def reference_yes(self) -> int:
        """The reference vote's Yes count: the "2022-23 level" the summary compares with."""
        return RESOLUTIONS[self.reference].tally.yes


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
    elif design in ("sobol", "saltelli") and points & (points - 1):
        raise reader.fail("sweep.points", f"a {design} design needs a power of two, not {points}")
    replicates = reader.typed(table, "replicates", "sweep.replicates", int, 100)
    if replicates < 1:
        raise reader.fail("sweep.replicates", "must be at least 1")
    _check_size(reader, design, parameters, points, replicates)
    block_size = reader.typed(table, "block_size", "sweep.block_size", int, BLOCK_SIZE)
    if not 1 <= block_size <= 100_000:
        raise reader.fail("sweep.block_size", "must be between 1 and 100000")
    noise = reader.number(table, "position_noise", "sweep.position_noise", 0.0, 10.0, 0.0)
    question, reference = _question(reader, table, scenario)
    seed = reader.typed(table, "seed", "sweep.seed", int, scenario.seed)
    if seed < 0:  # numpy's SeedSequence takes no negative seeds
        where = "sweep.seed" if "seed" in table else "seed"
        raise reader.fail(where, f"must be a whole number >= 0, not {seed}")
    drop, history = _baseline(reader, table, scenario)
    return SweepSpec(
        design=design,
        parameters=parameters,
        points=points,
        replicates=replicates,
        seed=seed,
        block_size=block_size,
        position_noise=noise,
        question=question,
        reference=reference,
        trajectory=reader.typed(table, "trajectory", "sweep.trajectory", bool, True),
        baseline_drop=drop,
        baseline_history=history,
        sensitivity_members=_sensitivity_members(reader, table),
    )


def _sensitivity_members(reader, table: Mapping) -> tuple[str, ...]:
    """`sensitivity_members = [ISO3, ...]`: states whose probability of voting Yes
    `blocsim sweep analyze` apportions among the parameters, beside each text's tally."""
    codes = reader.typed(table, "sensitivity_members", "sweep.sensitivity_members", list, [])
    for i, code in enumerate(codes):
        if not isinstance(code, str) or code.upper() not in reader.known_iso3:
            raise reader.fail(f"sweep.sensitivity_members[{i}]", f"unknown ISO3 code '{code}'")
    return tuple(code.upper() for code in codes)


def _check_size(
    reader, design: str, parameters: tuple[SweptParameter, ...], points: int | None, replicates: int
) -> None:
    """Refuse a design too large to hold, counted before any of it is built."""
    if design == "grid":
        points = math.prod(p.grid_size for p in parameters)
    elif design == "saltelli":  # `points` base samples make points x (parameters + 2) rows
        points = points * (len(parameters) + 2)
    field = "sweep.parameters" if design == "grid" else "sweep.points"
    runs = points * replicates
    if points > MAX_POINTS:
        raise reader.fail(
            field,
            f"a {design} of {points:,} points ({runs:,} runs) is more than the limit of "
            f"{MAX_POINTS:,} points",
        )
    if runs > MAX_RUNS:
        raise reader.fail(
            "sweep.replicates",
            f"{points:,} points x {replicates:,} replicates = {runs:,} runs is more than the "
            f"limit of {MAX_RUNS:,} runs",
        )


def _question(reader, table: Mapping, scenario: Scenario) -> tuple[str, str]:
    """The vote the summary answers about and the recorded vote whose Yes count it compares."""
    texts = [vote.name for vote in scenario.votes]
    if not texts:
        raise reader.fail("votes", "a sweep needs at least one [[votes]]")
    first_ga = next((v.name for v in scenario.votes if v.body == "GA"), texts[0])
    question = reader.typed(table, "question", "sweep.question", str, first_ga)
    if question not in texts:
        raise reader.fail("sweep.question", f"no vote named '{question}' in [[votes]]")
    reference = reader.typed(table, "reference", "sweep.reference", str, DEFAULT_REFERENCE)
    try:
        return question, resolution(reference).symbol
    except KeyError:
        known = ", ".join(RESOLUTIONS)
        raise reader.fail("sweep.reference", f"unknown resolution (known: {known})") from None


def _baseline(reader, table: Mapping, scenario: Scenario) -> tuple[tuple[int, ...] | None, bool]:
    """`[sweep.baseline]` as (shocks dropped, historical shocks kept); (None, _) without one."""
    baseline = reader.typed(table, "baseline", "sweep.baseline", dict)
    history = scenario.historical_shocks
    if baseline is None:
        return None, history
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
    return drop, history


def _swept_parameter(
    reader, entry: Mapping, field: str, scenario: Scenario, design: str
) -> SweptParameter:
    if not isinstance(entry, dict):
        raise reader.fail(field, "must be a table ([[sweep.parameters]])")
    reader.known_keys(entry, {"name", "values", "range", "steps"}, field)
    name = reader.required(entry, "name", f"{field}.name", str)
    shock, attribute, per_run, is_date, axis = _target(reader, name, f"{field}.name", scenario)
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
    return SweptParameter(name, values, low, high, steps, shock, attribute, per_run, axis)


def _target(reader, name: str, field: str, scenario: Scenario) -> tuple:
    """(shock index, attribute, per run?, is a date?, shift axis) of a swept name."""
    if name.startswith("parameters."):
        attribute = name.removeprefix("parameters.")
        if attribute == "step_days":
            raise reader.fail(field, "step_days cannot be swept (it moves every vote's step)")
        if attribute == "discrimination":
            raise reader.fail(field, "discrimination cannot be swept (texts are fitted once)")
        if attribute == "dimensions":
            raise reader.fail(field, "dimensions cannot be swept (the world is built once)")
        try:
            scenario.parameters.with_values({attribute: 0.5})
        except KeyError:
            raise reader.fail(field, f"unknown parameter '{attribute}'") from None
        per_run = attribute.startswith(PER_RUN_PARAMETERS)
        return None, attribute, per_run, False, None
    head, dot, attribute = name.partition("].")
    if not (head.startswith("shocks[") and dot and head[7:].isdigit()):
        raise reader.fail(field, f"'{name}' is neither parameters.<name> nor shocks[<i>].<field>")
    index = int(head[7:])
    if index >= len(scenario.shocks):
        raise reader.fail(field, f"the scenario has {len(scenario.shocks)} [[shocks]]")
    shock = scenario.shocks[index].shock
    kind = type(shock)
    per_run = PER_RUN_FIELDS.get(kind, set())
    if attribute == "date":
        return index, attribute, "date" in per_run, True, None
    axis = re.fullmatch(r"by\[(\d+)\]", attribute)
    if kind is Shift and axis:
        if int(axis.group(1)) >= len(shock.by):
            raise reader.fail(field, f"the shift moves along {len(shock.by)} axes (by[0] ...)")
        return index, "by", True, False, int(axis.group(1))
    if attribute not in SHOCK_FIELDS[kind] or attribute == "by":
        allowed = ", ".join(sorted({"date", *SHOCK_FIELDS[kind]} - {"by"}))
        allowed += ", by[<axis>]" if kind is Shift else ""
        raise reader.fail(field, f"a {kind.__name__} shock can vary: {allowed}")
    return index, attribute, attribute in per_run, False, None


def _value(reader, value: object, field: str, kind: type) -> date | float:
    if kind is date:
        return reader.date_value(value, field)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise reader.fail(field, f"must be a number, not {value!r}")
    return float(value)


def _check_value(
    reader, field: str, scenario: Scenario, shock: int | None, attribute: str, value: float | date
) -> None:
    if shock is None:  # the parameters' own checks, so a sweep and a scenario agree
        try:
            scenario.parameters.with_values({attribute: value})
        except BlocsimError as error:
            raise reader.fail(field, error.reason) from None
        return
    if attribute == "date":
        if value < scenario.data_until:
            raise reader.fail(
                field, f"{value} is before the scenario starts ({scenario.data_until})"
            )
        return
    low, high = {"fraction": (-1, 2), "factor": (0, 10), "by": (-100, 100)}.get(attribute, (0, 1))
    if not low <= value <= high:
        raise reader.fail(field, f"{attribute} must be between {low} and {high}")


# ---------------------------------------------------------------------------------------------
# The plan: points and blocks, fixed by the design


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
    if runs is not None and runs < 1:
        raise BlocsimError(f"must be at least 1, not {runs}", field="--runs")
    if seed is not None and seed < 0:
        raise BlocsimError(f"must be a whole number >= 0, not {seed}", field="--seed")
    seed = spec.seed if seed is None else seed
    rows = _design(spec, seed)
    shared = [i for i, p in enumerate(spec.parameters) if not p.per_run]
    groups: dict[tuple, int] = {}
    keys = [groups.setdefault(tuple(row[i] for i in shared), len(groups)) for row in rows]
    order = sorted(range(len(rows)), key=lambda i: keys[i])  # stable: design order within
    if spec.design == "saltelli":  # SALib reads the outcomes in its sample's order
        order = list(range(len(rows)))
    columns = {p.name: [rows[i][j] for i in order] for j, p in enumerate(spec.parameters)}
    points = pd.DataFrame({"point": np.arange(len(rows)), **columns})
    replicates = spec.replicates if runs is None else max(1, math.ceil(runs / len(rows)))
    if len(rows) * replicates > MAX_RUNS:
        raise BlocsimError(
            f"{len(rows) * replicates:,} runs ({len(rows):,} points x {replicates:,} replicates) "
            f"are more than the limit of {MAX_RUNS:,} runs",
            field="--runs",
        )
    group_of = [keys[i] for i in order]
    blocks: list[Block] = []
    for _, members in itertools.groupby(range(len(rows)), key=group_of.__getitem__):
        _add_blocks(blocks, list(members), replicates, spec.block_size)
    return SweepPlan(spec, seed, points, replicates, tuple(blocks))


def _add_blocks(blocks: list[Block], ids: list[int], replicates: int, block_size: int) -> None:
    """Blocks of one group's points, sized by runs: whole points packed up to `block_size` runs,
    or a point with more replicates cut into the fewest chunks of at most `block_size` runs,
    their sizes differing by at most one. Every block but a group's last holds at least half
    of `block_size` runs, whatever the replicate count (a prime one too)."""
    if replicates <= block_size:
        per_block = block_size // replicates
        for start in range(0, len(ids), per_block):
            chunk = np.array(ids[start : start + per_block])
            blocks.append(Block(len(blocks), chunk, np.zeros(len(chunk), int), replicates, True))
        return
    chunks = math.ceil(replicates / block_size)
    small, larger = divmod(replicates, chunks)  # the first `larger` chunks hold one run more
    sizes = [small + 1] * larger + [small] * (chunks - larger)
    firsts = np.cumsum([0, *sizes[:-1]])
    for point in ids:
        for c, (first, size) in enumerate(zip(firsts, sizes, strict=True)):
            blocks.append(Block(len(blocks), np.array([point]), np.array([first]), size, c == 0))


def _design(spec: SweepSpec, seed: int) -> list[tuple]:
    """Rows of parameter values in design order."""
    parameters = spec.parameters
    if spec.design == "grid":
        return list(itertools.product(*(p.grid() for p in parameters)))
    from scipy.stats import qmc  # 0.3 s to import: not in every sweep worker, which never samples

    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(DESIGN_KEY,)))
    if spec.design == "latin_hypercube":
        unit = qmc.LatinHypercube(len(parameters), rng=rng).random(spec.points)
    elif spec.design == "saltelli":
        unit = saltelli_unit_sample(len(parameters), spec.points, rng)
    else:
        unit = qmc.Sobol(len(parameters), rng=rng).random_base2(int(math.log2(spec.points)))
    columns = [p.sample(unit[:, j]) for j, p in enumerate(parameters)]
    return list(zip(*columns, strict=True))


def saltelli_unit_sample(
    dimensions: int, base_samples: int, rng: np.random.Generator
) -> np.ndarray:
    """SALib's Saltelli sample on the unit cube for first-order and total Sobol indices:
    `base_samples` x (dimensions + 2) rows, in the order `SALib.analyze.sobol` reads them."""
    from SALib.sample import sobol  # only a saltelli design pays for importing SALib

    problem = {"num_vars": dimensions, "bounds": [[0.0, 1.0]] * dimensions}
    return sobol.sample(problem, base_samples, calc_second_order=False, seed=rng)


def plain(value: object) -> object:
    """A design value as JSON and CSV write it: dates as YYYY-MM-DD, numbers as they are."""
    return value.isoformat() if isinstance(value, date) else value

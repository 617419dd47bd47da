"""A sweep's inputs to the batched kernel (`sim.sweep.batch`), built from the scenario and its plan.

The world and the timeline are built once, exactly as `BlocModel.from_scenario` builds them;
from them come the setup every block shares (sent to each worker once) and, block by block in
the parent, each block's own task: per-point stubbornness, the network, the parting rules
(`parting`, `turn_cost`) and the timed shocks.

    >>> setup, tasks = sweep_setup(scenario, data, plan)
    >>> task = tasks.task(plan.blocks[0])
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from sim.data.loader import UNData
from sim.model.agenda import (
    Timeline,
    chamber,
    chamber_absence,
    scenario_timeline,
    seats,
    shocks_by_step,
)
from sim.model.dynamics import OnRuns
from sim.model.parameters import group_mask
from sim.model.scenario import Scenario, TimedShock, load_historical_shocks
from sim.model.voting import absence_probability
from sim.model.world import World
from sim.sweep.batch import BlockTask, SweepSetup, VoteSlot
from sim.sweep.blocks import Block
from sim.sweep.design import SweepPlan

PARTING_PARAMETERS = ("parting", "turn_cost")  # the rules that let members part ways


class BlockTasks:
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
        self.masks = {group: group_mask(world.members, group) for group in self.group_order}

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
            block,
            self._stubbornness(values, len(rows)),
            self._network(values),
            shocks,
            baseline,
            *self._parting(values, block.runs),
        )

    def dearest_first(self, blocks: Sequence[Block]) -> list[Block]:
        """The blocks in the order to run them: those where members part ways first, then those
        where they move, then the still ones (stubbornness 1: a tenth of a moving block's time),
        each in plan order. The last blocks to finish are then the short ones, so that no worker
        waits long for another at the end. The tables do not depend on the order."""

        def dearness(block: Block) -> int:
            rows = self.plan.points.iloc[block.points]
            values = {p.name: rows[p.name].tolist() for p in self.spec.parameters}
            if np.all(self._stubbornness(values, len(rows)) == 1):
                return 0
            parting = self._parting(values, block.runs)[0]
            return 2 if np.any(parting) else 1

        return sorted(blocks, key=dearness, reverse=True)

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

    def _parting(self, values: dict, runs: int) -> tuple[float | np.ndarray, ...]:
        """The block's parting and turn_cost: one value for all its runs, or (R,) per run when
        the sweep varies it (the points of a sampled design share blocks)."""
        base = self.scenario.parameters
        rule = []
        for name in PARTING_PARAMETERS:
            swept = [p for p in self.spec.parameters if p.shock is None and p.attribute == name]
            if swept:
                rule.append(np.repeat(np.asarray(values[swept[0].name], dtype=float), runs))
            else:
                rule.append(getattr(base, name))
        return tuple(rule)

    def _shocks(self, block: Block, values: dict, drop: Sequence[int], history: bool) -> dict:
        own = list(self.scenario.shocks)
        dates: dict[int, np.ndarray] = {}  # a shock whose date differs between the runs
        for p in self.spec.parameters:
            if p.shock is None:
                continue
            timed = own[p.shock]
            per_run = np.repeat(np.asarray(values[p.name], dtype=object), block.runs)
            if p.is_date:
                if len(set(values[p.name])) == 1:
                    own[p.shock] = TimedShock(values[p.name][0], timed.shock)
                else:
                    dates[p.shock] = per_run
                continue
            value = per_run.astype(float) if p.per_run else float(values[p.name][0])
            if p.axis is not None:  # shocks[i].by[k]: one axis of a shift
                by = list(timed.shock.by)
                by[p.axis] = value
                changed = {"by": tuple(by)}
            else:
                changed = {p.attribute: value}
            own[p.shock] = TimedShock(timed.date, dataclasses.replace(timed.shock, **changed))
        kept = []
        for i, timed in enumerate(own):
            if i in drop:
                continue
            if i not in dates:
                kept.append(timed)
                continue
            for day in sorted(set(dates[i])):  # the runs that turn on each date
                kept.append(TimedShock(day, OnRuns(timed.shock, dates[i] == day)))
        timed_shocks = [*self.history, *kept] if history else kept
        return shocks_by_step(timed_shocks, self.timeline.start, self.timeline.step_days)


def sweep_setup(
    scenario: Scenario, data: UNData, plan: SweepPlan, dtype: str = "float32"
) -> tuple[SweepSetup, BlockTasks]:
    """The worker setup and the parent's task builder: the world and timeline are built exactly
    as `BlocModel.from_scenario` builds them (`sim.model.agenda.scenario_timeline`)."""
    world, timeline = scenario_timeline(scenario, data)
    slots = []
    for step, spec, draft in timeline.votes:
        chamber_ = chamber(spec.body, world)
        columns = seats(chamber_, world)
        absence = chamber_absence(chamber_, world)
        cut = draft.cut_points
        present = 1.0 - absence_probability(absence, cut.absence_shift)
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
    return setup, BlockTasks(scenario, data, world, timeline, plan)

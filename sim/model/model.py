"""The Mesa model: 193 member-state agents on an influence network, voting as they move.

The public object model for one run, for inspection and for the classroom. The model holds
the state as numpy arrays (one run of the (R, N, K) Friedkin-Johnsen kernel, R = 1); each agent
is a view into them, so reading an agent costs nothing and stepping costs one matrix product.
Sweeps call the same kernel on blocks of runs directly (`sim.sweep.batch`).

    >>> model = BlocModel.from_scenario(load_scenario("scenarios/us_realignment.toml", data.members), data)
    >>> model.run_model()              # steps until the last vote is held
    >>> model.agent("USA").position, model.agent("USA").vote
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import mesa
import numpy as np
import pandas as pd

from sim.data.loader import BLOCS, UNData
from sim.data.resolutions import Tally
from sim.model.agenda import Timeline, chamber, chamber_absence, scenario_timeline, seats
from sim.model.explain import StateRecorder
from sim.model.scenario import Scenario, VoteSpec
from sim.model.voting import (
    VOTE_CODES,
    CutPoints,
    Draft,
    Outcome,
    VoteRecord,
    as_tally,
    vote_probabilities,
    vote_resolution,
)
from sim.model.world import World


class MemberState(mesa.Agent):
    """A UN member state. Identity is its own; position, anchor, stubbornness and credibility
    are read from the model's arrays, so the agents and the kernel can never disagree."""

    def __init__(self, model: BlocModel, column: int, row: pd.Series) -> None:
        super().__init__(model)
        self.column = column
        self.iso3: str = row["iso3"]
        self.name: str = row["name"]
        self.un_group: str = row["un_group"]
        self.blocs: tuple[str, ...] = tuple(bloc for bloc in BLOCS if row[bloc] == 1)
        self.vote: str | None = None  # the state's vote on the last text held, Y/A/N/X

    @property
    def positions(self) -> np.ndarray:
        """(K,) where the state stands now on every axis (`World.axis_names`): a view."""
        return self.model.state.positions[0, self.column]

    @property
    def position(self) -> float:
        """Where the state stands now on the Ukraine axis (`World.ukraine_axis`): low =
        pro-Ukraine / Western, high = close to Moscow."""
        return float(self.positions[self.model.world.ukraine_axis])

    @property
    def anchors(self) -> np.ndarray:
        """(K,) where the state would stand if no one influenced it (its own conviction)."""
        return self.model.state.anchors[0, self.column]

    @property
    def anchor(self) -> float:
        """Its anchor on the Ukraine axis."""
        return float(self.anchors[self.model.world.ukraine_axis])

    @property
    def start_positions(self) -> np.ndarray:
        """(K,) where the state stood at step 0: the parting rule weighs moves from there."""
        return self.model.trajectory[0][self.column]

    @property
    def credibility(self) -> float:
        """How much the others follow its moves: 1, or 1 - turn_cost once a shock moved it."""
        credibility = self.model.state.credibility
        return 1.0 if credibility is None else float(credibility[self.column])

    @property
    def stubbornness(self) -> float:
        """Weight on its own anchor each step (1 = never moves, 0 = follows its ties only)."""
        stubbornness = self.model.state.stubbornness
        return float(stubbornness[..., self.column].reshape(-1)[0])

    @property
    def absence(self) -> float:
        """Base probability of not voting in the General Assembly."""
        return float(self.model.world.absence[self.column])

    def strongest_ties(self, count: int = 5) -> list[tuple[str, float]]:
        """The states it listens to most, with the share of its attention each gets."""
        row = self.model.state.influence[self.column]
        order = np.argsort(-row, kind="stable")[:count]
        iso3 = self.model.world.iso3
        return [(iso3[j], float(row[j])) for j in order if row[j] > 0 and j != self.column]


@dataclass(frozen=True)
class HeldVote:
    """A vote the model held: its spec, date, and every vote on it (amendments, then the text)."""

    spec: VoteSpec
    date: date
    record: VoteRecord

    @property
    def tallies(self) -> list[Tally]:
        return [as_tally(counts) for counts in self.record.counts]

    @property
    def outcomes(self) -> list[Outcome]:
        return self.record.outcomes()


class BlocModel(mesa.Model):
    """Member states moving by Friedkin-Johnsen dynamics, shocked on dates, voting on texts.

    One step is `parameters.step_days` days. At each step the shocks due act, every state
    updates at once (synchronous), then the votes due are held.
    """

    def __init__(
        self,
        world: World,
        timeline: Timeline,
        seed: int | np.random.SeedSequence = 0,
    ) -> None:
        sequence = (
            seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        )
        super().__init__(rng=np.random.default_rng(sequence))
        self.seed_sequence = sequence
        self.world = world
        self.timeline = timeline
        self.state = world.initial_state()
        self.trajectory: list[np.ndarray] = [self.state.positions[0].copy()]  # (N, K) per step
        self.recorder = StateRecorder(self.state)  # what each update read: `sim.model.explain`
        self.held: list[HeldVote] = []
        self.members = [
            MemberState(self, column, row)
            for column, (_, row) in enumerate(world.members.iterrows())
        ]  # in the world's (ISO3) order: members[i] reads column i of the arrays
        self._by_iso3 = {agent.iso3: agent for agent in self.members}

    @classmethod
    def from_scenario(
        cls, scenario: Scenario, data: UNData, seed: int | np.random.SeedSequence | None = None
    ) -> BlocModel:
        """Build the world from the roll calls before the scenario's `data_until` and place its
        shocks and votes."""
        world, timeline = scenario_timeline(scenario, data)
        return cls(world, timeline, scenario.seed if seed is None else seed)

    @property
    def date(self) -> date:
        """The model's calendar date: `World.start` (step 0, the date of the last roll call used,
        not the scenario's `data_until`) plus the steps taken."""
        return self.timeline.date_of(self.steps)

    @property
    def finished(self) -> bool:
        return self.steps >= self.timeline.last_step

    def agent(self, iso3: str) -> MemberState:
        return self._by_iso3[iso3]

    def step(self) -> None:
        """Shocks due now act, everyone updates, then the votes now due are held."""
        for shock in self.timeline.shocks.get(self.steps - 1, ()):
            shock.apply(self.state)
        self.recorder(self.state, before=self.trajectory[-1])
        self.state.step()
        self.trajectory.append(self.state.positions[0].copy())
        for spec, draft in self.timeline.votes_at(self.steps):
            self.hold(spec, draft)
        self.running = not self.finished

    def hold(self, spec: VoteSpec, draft: Draft) -> HeldVote:
        """Put a draft to its chamber now; members' `vote` becomes their vote on the text."""
        where = chamber(spec.body, self.world)
        columns = seats(where, self.world)
        record = vote_resolution(
            self.rng,
            draft.cut_points.on_text(self.state.positions[0, columns]),
            chamber_absence(where, self.world),
            draft,
            where,
        )
        for agent in self.agents:
            agent.vote = None
        for column, code in zip(columns, record.codes[-1], strict=True):
            self.members[column].vote = VOTE_CODES[code]
        held = HeldVote(spec, spec.date, record)
        self.held.append(held)
        return held

    def probabilities(
        self, body: str, cut_points: CutPoints, positions: np.ndarray | None = None
    ) -> np.ndarray:
        """Probabilities (..., M, 4) of Y, A, N, X of the chamber's members if a text were put
        to `body` now (M, 4), or with members at `positions` (..., N, K), e.g. every step."""
        where = chamber(body, self.world)
        positions = self.state.positions[0] if positions is None else positions
        on_text = cut_points.on_text(positions[..., seats(where, self.world), :])  # (..., M)
        return vote_probabilities(on_text, chamber_absence(where, self.world), cut_points)

    def expected_counts(
        self, body: str, cut_points: CutPoints, positions: np.ndarray | None = None
    ) -> np.ndarray:
        """Expected Y, A, N, X counts (4,) if a text were put to `body` now (or with members at
        `positions` (..., N, K), e.g. every step at once: (..., 4)): the sum of members' vote
        probabilities, as the classroom shows it."""
        return self.probabilities(body, cut_points, positions).sum(axis=-2)

    def run_model(self) -> None:
        """Step until the last vote of the timeline is held."""
        while not self.finished:
            self.step()

    def positions_table(self) -> pd.DataFrame:
        """Each state's position at every step so far: one row per step, one column per state
        and axis. One axis (the Ukraine axis alone) keeps the bare ISO3 name (`USA`); with more,
        every column names its axis, ISO3.axis (`USA.general`, `USA.ukraine`, `USA.third`)."""
        trajectory = np.array(self.trajectory)  # (T + 1, N, K)
        named = len(self.world.axis_names) > 1
        columns = {}
        for k, axis in enumerate(self.world.axis_names):
            names = [f"{iso3}.{axis}" if named else iso3 for iso3 in self.world.iso3]
            columns.update(zip(names, trajectory[..., k].T, strict=True))
        frame = pd.DataFrame(columns)
        frame.insert(0, "date", [self.timeline.date_of(s) for s in range(len(self.trajectory))])
        frame.insert(0, "step", range(len(self.trajectory)))
        return frame

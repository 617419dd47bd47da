"""The votes a scenario holds, turned into drafts the chambers can vote on.

A text's cut-points are a property of the text, not of the scenario: "like A/RES/ES-11/7"
means the cut-points that reproduce ES-11/7's official tally on the *historical path* (the
world from `World.start`, the last roll call used, moved by the calibrated history, e.g. the US
turn of 2025) on its date. A counterfactual scenario then votes the same text and gets a
different tally. A `tally` is fitted the same way, on the historical path on the vote's own
date. A resolution dated before `World.start` is fitted on the positions at `World.start` (the
earliest the model knows). Step 0 is `World.start`, not the scenario's `data_until`.

`like` may name any roll call of the data (`UNData.resolution`: a vote_id, a symbol, a short
form) or of the official ES-11 record; its tally is used when the text gives none. In a world of
ideal points the vote's text also takes the like's direction and evidence (`text_axis`); its
amendments share that axis, their own `like` giving only the tally they are fitted to.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from sim.data.loader import UNData
from sim.data.resolutions import Resolution
from sim.errors import BlocsimError
from sim.model.dynamics import Shift, Shock, run_dynamics
from sim.model.parameters import load_parameters
from sim.model.scenario import (
    Scenario,
    TextSpec,
    TimedShock,
    VoteSpec,
    field_reader,
    load_historical_shocks,
    scenario_shocks,
)
from sim.model.text_axis import TextAxis, text_axis
from sim.model.voting import Amendment, Chamber, CutPoints, Draft, fit_cut_points
from sim.model.world import World, build_world

# Council members are never absent: a tiny absence keeps the ordered logit well defined.
COUNCIL_ABSENCE = 1e-12


def chamber(body: str, world: World) -> Chamber:
    """The General Assembly (all members) or the Security Council of 2025 (15, with the P5)."""
    members = world.members
    if body == "GA":
        return Chamber("GA", world.iso3)
    seated = members[members["unsc_2025"] == 1]
    permanent = seated.loc[seated["unsc_p5"] == 1, "iso3"]
    return Chamber("SC", tuple(seated["iso3"]), tuple(permanent))


def seats(chamber_: Chamber, world: World) -> np.ndarray:
    """Columns (in the world's order) of the chamber's members."""
    index = {iso3: i for i, iso3 in enumerate(world.iso3)}
    return np.array([index[iso3] for iso3 in chamber_.members], dtype=np.intp)


def chamber_absence(chamber_: Chamber, world: World) -> np.ndarray:
    """(M,) absence propensities of the chamber's members."""
    if chamber_.body == "SC":
        return np.full(len(chamber_.members), COUNCIL_ABSENCE)
    return world.absence[seats(chamber_, world)]


def vote_step(day: date, start: date, step_days: int) -> int:
    """The step at which a vote on `day` is held: after that many updates from `start`
    (`World.start`), at least one."""
    return max(1, (day - start).days // step_days)


def shocks_by_step(shocks: Sequence[TimedShock], start: date, step_days: int) -> dict[int, list]:
    """Shocks keyed by the step before whose update they act; those dated before the start (the
    last roll call the positions were estimated from) are already in the record: left out."""
    timed: dict[int, list] = {}
    for timed_shock in shocks:
        if timed_shock.date >= start:
            step = (timed_shock.date - start).days // step_days
            timed.setdefault(step, []).append(timed_shock.shock)
    return timed


def path_positions(
    world: World, shocks: Sequence[TimedShock], days: Sequence[date]
) -> dict[date, np.ndarray]:
    """Positions (N, K) on each of `days` when the world moves under `shocks` (one run): the
    kernel run to the last of them, read at each day's `vote_step`."""
    step_days = world.parameters.step_days
    wanted = {day: vote_step(day, world.start, step_days) for day in days}
    steps = max(wanted.values(), default=0)
    timed = shocks_by_step(shocks, world.start, step_days)
    at_step: dict[int, np.ndarray] = {}

    def record(step: int, positions: np.ndarray) -> None:  # positions (1, N, K)
        if step in wanted.values():
            at_step[step] = positions[0].copy()

    run_dynamics(
        world.positions,
        world.anchors(),
        world.stubbornness(),
        world.influence(),
        steps,
        {step: acting for step, acting in timed.items() if step < steps},
        world.iso3,
        recorder=record,
        parting=world.parameters.parting,
        turn_cost=world.parameters.turn_cost,
    )
    return {day: at_step[step] for day, step in wanted.items()}


@dataclass(frozen=True)
class Sources:
    """What a scenario's texts are fitted to: the roll call each `like` names (looked up once)
    and each vote's axis (`text_axis`), in the order of the votes."""

    likes: Mapping[str, Resolution]
    axes: tuple[TextAxis, ...]


def text_sources(scenario: Scenario, world: World, data: UNData) -> Sources:
    """Look every `like` of the scenario up in the data (a name it does not hold is an error
    naming the file and the field, e.g. `votes[0].like`) and place each vote's text."""
    likes: dict[str, Resolution] = {}
    for field, text in _texts(scenario.votes):
        if text.like is not None and text.like not in likes:
            try:
                likes[text.like] = data.resolution(text.like)
            except KeyError as error:
                reader = field_reader(scenario.path, data.members)
                raise reader.fail(f"{field}.like", error.args[0]) from None
    axes = tuple(
        text_axis(world.points, likes[v.text.like].symbol, data)
        if v.text.like
        else world.default_axis
        for v in scenario.votes
    )
    return Sources(likes, axes)


def fit_text(
    text: TextSpec,
    body: str,
    day: date,
    world: World,
    reference: Callable[[date], np.ndarray],
    axis: TextAxis,
    likes: Mapping[str, Resolution],
) -> CutPoints:
    """Cut-points of a text put to `body`: given, or fitted to a tally (the text's own, else its
    like's, on the like's date and in its chamber) on the reference path's positions on `axis`."""
    discrimination = text.discrimination or world.parameters.discrimination
    voting = seats(chamber(body, world), world)
    if text.cut_points is not None:
        lower, upper = text.cut_points
        return axis.on(CutPoints(lower, upper, discrimination, text.polarity), voting)
    if text.tally is None:
        known = likes[text.like]
        body, day, tally = known.body, known.date, known.tally
    else:
        tally = text.tally
    where = chamber(body, world)
    fitted = fit_cut_points(
        axis.project(reference(max(day, world.start)), seats(where, world)),
        chamber_absence(where, world),
        tally,
        polarity=text.polarity,
        discrimination=discrimination,
    )
    return axis.on(fitted, voting)


def draft_for(
    vote: VoteSpec,
    world: World,
    reference: Callable[[date], np.ndarray],
    axis: TextAxis,
    likes: Mapping[str, Resolution],
) -> Draft:
    """The draft a scenario's vote puts to its chamber, amendments included (on its axis)."""
    amendments = tuple(
        Amendment(
            amendment.name,
            fit_text(amendment.text, vote.body, vote.date, world, reference, axis, likes),
            amendment.shift,
            amendment.polarity,
        )
        for amendment in vote.amendments
    )
    text = fit_text(vote.text, vote.body, vote.date, world, reference, axis, likes)
    return Draft(vote.name, text, amendments, vote.important)


@dataclass(frozen=True)
class Timeline:
    """When each shock acts and each vote is held, in steps from `start` (`World.start`, the
    date of the last roll call used, which is step 0).

    Shocks at step k act before the update from k to k + 1; votes at step k are held on the
    positions after k updates. The Mesa model and the sweep kernel both follow it.
    """

    start: date
    step_days: int
    shocks: dict[int, list]
    votes: tuple[tuple[int, VoteSpec, Draft], ...]
    dated: tuple[TimedShock, ...] = ()  # the shocks with the dates the scenario gives them

    @property
    def last_step(self) -> int:
        return max((step for step, _, _ in self.votes), default=0)

    def date_of(self, step: int) -> date:
        return self.start + timedelta(days=step * self.step_days)

    def shock_date(self, step: int, shock: Shock) -> date:
        """The date the scenario gives a shock that acts at `step`: it acts in the step that
        contains that date, whose grid date (`date_of`) can be up to `step_days - 1` earlier."""
        return next((t.date for t in self.dated if t.shock is shock), self.date_of(step))

    def votes_at(self, step: int) -> list[tuple[VoteSpec, Draft]]:
        return [(spec, draft) for at, spec, draft in self.votes if at == step]


def build_timeline(
    world: World,
    shocks: Sequence[TimedShock],
    votes: Sequence[VoteSpec],
    reference_world: World,
    history: Sequence[TimedShock],
    sources: Sources,
) -> Timeline:
    """Place shocks and votes in steps; fit each vote's text on the historical path, which is
    `reference_world` (the calibrated parameters) moved by the calibrated `history`."""
    days = sorted({max(day, world.start) for day in _reference_days(votes, sources.likes)})
    reference = path_positions(reference_world, history, days)
    step_days = world.parameters.step_days
    placed = tuple(
        sorted(
            (
                (
                    vote_step(vote.date, world.start, step_days),
                    vote,
                    draft_for(vote, world, reference.__getitem__, axis, sources.likes),
                )
                for vote, axis in zip(votes, sources.axes, strict=True)
            ),
            key=lambda item: (item[0], item[1].date),
        )
    )
    timed = shocks_by_step(shocks, world.start, step_days)
    return Timeline(world.start, step_days, timed, placed, tuple(shocks))


def scenario_timeline(scenario: Scenario, data: UNData) -> tuple[World, Timeline]:
    """The world at a scenario's cut-off and its timeline: the one setup that the Mesa model
    (one run) and a sweep (blocks of runs) both start from."""
    world = build_world(data, scenario.data_until, scenario.parameters)
    history = load_historical_shocks(scenario.calibration, data.members)
    check_dimensions(scenario.shocks, world, scenario.path)
    check_dimensions(history, world, scenario.calibration)
    reference = world.with_parameters(load_parameters(scenario.calibration))
    shocks = scenario_shocks(scenario, data.members)
    sources = text_sources(scenario, world, data)
    return world, build_timeline(world, shocks, scenario.votes, reference, history, sources)


def check_dimensions(shocks: Sequence[TimedShock], world: World, path: Path) -> None:
    """A `shift` whose entries are not one per axis of the world is an error naming the file
    and the shock (the scenario reader cannot know: the dimensions come with the world), so a
    move meant for one axis never lands silently on another."""
    dimensions = len(world.axis_names)
    for i, timed in enumerate(shocks):
        if isinstance(timed.shock, Shift) and len(timed.shock.by) != dimensions:
            raise BlocsimError(
                f"has {len(timed.shock.by)} entries, but positions have {dimensions} "
                f"dimension(s) ({', '.join(world.axis_names)})",
                file=path,
                field=f"shocks[{i}].by",
            )
        for iso3, weights in getattr(timed.shock, "followers", ()):
            if len(weights) not in (1, dimensions):
                raise BlocsimError(
                    f"{iso3}'s alignment weights have {len(weights)} entries, but positions have "
                    f"{dimensions} dimension(s) ({', '.join(world.axis_names)})",
                    file=path,
                    field=f"shocks[{i}].aligned",
                )


def _reference_days(votes: Sequence[VoteSpec], likes: Mapping[str, Resolution]) -> set[date]:
    """Every date on which a text's cut-points must be fitted."""
    days = set()
    for vote in votes:
        for text in (vote.text, *(a.text for a in vote.amendments)):
            if text.tally is not None:
                days.add(vote.date)
            elif text.like is not None:
                days.add(likes[text.like].date)
    return days


def _texts(votes: Sequence[VoteSpec]) -> list[tuple[str, TextSpec]]:
    """Every text of the votes with its field: `votes[i]`, `votes[i].amendments[j]`."""
    return [
        (field, text)
        for i, vote in enumerate(votes)
        for field, text in (
            (f"votes[{i}]", vote.text),
            *((f"votes[{i}].amendments[{j}]", a.text) for j, a in enumerate(vote.amendments)),
        )
    ]

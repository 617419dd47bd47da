"""The 2025 record as one fitting problem: the world at rest before the US turn, and the roll
calls after it, each placed as a text like its earlier version (`sim.fit.texts`).

Everything here is fixed before any parameter is tried: positions at rest (K = 3 ideal points
from the roll calls before 20 January 2025), the network (tie weights) of a calibration file,
and for each target its direction, each member's evidence (its own vote on the earlier version),
each member's absence propensity, its tally, its observed votes and the step of the dynamics on
its date. A parameter point then costs one dynamics run and one cut-point fit per target
(`sim.fit.spread`).

Targets: A/RES/ES-11/7 (24 February 2025; like the latest earlier ES-11 vote, ES-11/6) and the 30 roll
calls of 4 March - 5 September 2025 (like their latest earlier version by title; else, for a
text the pre-turn fit has no version of, the direction of the last year's texts). A target's
own votes never choose its direction: the like is an earlier roll call of the pre-turn record.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from sim.data.followers import US, US_TURN
from sim.data.loader import UNData
from sim.data.resolutions import Tally
from sim.fit.rolling import EVALUATION, cases
from sim.fit.texts import Record, latest_es11
from sim.model.agenda import vote_step
from sim.model.estimates import cached_ideal_points
from sim.model.ideal_points import IdealPointSettings
from sim.model.parameters import Parameters, load_parameters
from sim.model.scenario import DEFAULT_CALIBRATION
from sim.model.text_axis import TextSettings, evidence, placed_by_like, text_direction
from sim.model.voting import as_tally, tally_of, vote_indices
from sim.model.world import build_world

FIRST_TARGET = date(2025, 2, 24)  # A/RES/ES-11/7
LAST_TARGET = EVALUATION[1]  # exclusive: the end of the 79th session's record


@dataclass(frozen=True)
class Target:
    """One roll call to fit, with all that does not depend on the parameters."""

    vote_id: str
    day: date
    step: int  # the dynamics step of its date (`vote_step` from the world's start)
    like: str | None  # the earlier roll call it is placed like (None: the last year's texts)
    direction: np.ndarray  # (K,) its axis in position space
    offset: np.ndarray  # (N,) evidence of each member's own vote on the like
    absence: np.ndarray  # (N,) propensity not to vote, before the tally's shift
    tally: Tally
    observed: np.ndarray  # (N,) the recorded votes, indices into VOTE_CODES

    def scores(self, positions: np.ndarray) -> np.ndarray:
        """(N,) members' places on the text from positions (N, K) on its date."""
        return positions @ self.direction + self.offset


@dataclass(frozen=True)
class SpreadProblem:
    """The world at rest before the turn (positions (N, K), network, stubbornness by
    parameters) and the targets, oldest first."""

    iso3: tuple[str, ...]
    axis_names: tuple[str, ...]
    positions: np.ndarray  # (N, K) at rest on `start`
    members: pd.DataFrame
    influence: np.ndarray  # (N, N) row-stochastic W of the calibration file's ties
    parameters: Parameters  # the calibration file's network; one stubbornness for everyone
    start: date  # step 0: the last roll call of the pre-turn record
    sharpness: float  # discrimination of every target (`TextSettings.sharpness`)
    targets: tuple[Target, ...]

    @property
    def us(self) -> int:
        return self.iso3.index(US)

    def stubbornness(self, baseline: float) -> np.ndarray:
        """(N,) stubbornness with this baseline (no group is set apart)."""
        return self.parameters.with_values({"stubbornness": baseline}).member_stubbornness(
            self.members
        )

    def only(self, vote_ids: list[str] | tuple[str, ...]) -> SpreadProblem:
        """The same problem with only these targets (in the problem's order)."""
        chosen = tuple(t for t in self.targets if t.vote_id in set(vote_ids))
        return replace(self, targets=chosen)

    def without(self, vote_id: str) -> SpreadProblem:
        """The same problem without one target (a held-out fold)."""
        return replace(self, targets=tuple(t for t in self.targets if t.vote_id != vote_id))


def spread_problem(
    data: UNData,
    calibration: Path = DEFAULT_CALIBRATION,
    settings: TextSettings = TextSettings(),  # noqa: B008 - frozen
    points_settings: IdealPointSettings = IdealPointSettings(),  # noqa: B008 - frozen
) -> SpreadProblem:
    """The problem on the data: the record before the US turn, the targets after it."""
    read = load_parameters(calibration)  # only the network: the stubbornness is the models'
    parameters = Parameters(ties=read.ties, step_days=read.step_days, dimensions=3)
    world = build_world(data, US_TURN, parameters)
    points = cached_ideal_points(data, US_TURN, points_settings)
    if points.iso3 != world.iso3:
        raise ValueError("ideal points and world list the members in different orders")
    record = Record(data, pd.Timestamp(US_TURN), settings)
    targets = []
    for case in cases(data, FIRST_TARGET, LAST_TARGET):
        like = case.like or (
            latest_es11(record, case.day, series_only=True) if case.ukraine else None
        )
        like_votes = record.votes_on(like) if like is not None else None
        offset = np.zeros(len(points.iso3))
        if placed_by_like(points, like):
            offset = settings.evidence * evidence(points, like, like_votes)
        absent = None if like_votes is None else (like_votes == "X").to_numpy(float)
        observed = vote_indices(data.votes_on(case.vote_id).reindex(list(world.iso3)))
        targets.append(
            Target(
                vote_id=case.vote_id,
                day=case.day,
                step=vote_step(case.day, world.start, parameters.step_days),
                like=like,
                direction=text_direction(points, like),
                offset=offset,
                absence=record.absence(record.kind_of(like), absent),
                tally=as_tally(tally_of(observed)),
                observed=observed,
            )
        )
    return SpreadProblem(
        iso3=world.iso3,
        axis_names=points.axis_names,
        positions=points.position.copy(),
        members=world.members,
        influence=world.influence(),
        parameters=parameters,
        start=world.start,
        sharpness=settings.sharpness,
        targets=tuple(targets),
    )

"""Who voted how, given only a vote's date and tally: `blocsim predict` as a library function.

Positions come from the roll calls up to the data cut-off, the scenario's dynamics carry them
to the vote's date, and two cut-points are fitted so that the expected counts equal the tally.
The prediction is each member's most likely vote (`vote`); the most likely joint assignment
whose counts are exactly the tally is kept beside it (`vote_in_tally`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from sim.data.loader import UNData
from sim.data.resolutions import Tally
from sim.model.agenda import chamber, chamber_absence, path_positions, seats
from sim.model.scenario import Scenario, TimedShock, scenario_shocks
from sim.model.voting import (
    VOTE_CODES,
    CutPoints,
    assign_to_tally,
    fit_cut_points,
    most_likely,
    vote_probabilities,
)
from sim.model.world import World, build_world, day_after


@dataclass(frozen=True)
class Prediction:
    """One row per member of the chamber: predicted vote and the model's probabilities."""

    table: pd.DataFrame  # iso3, vote, vote_in_tally, p_Y, p_A, p_N, p_X
    cut_points: CutPoints
    world: World


def predict_votes(
    data: UNData,
    day: date,
    tally: Tally,
    scenario: Scenario,
    body: str = "GA",
    polarity: str = "same",
    data_until: date | None = None,
) -> Prediction:
    """Predict each member's vote on a text voted on `day` that came out as `tally`.

    Positions use the roll calls up to and including `data_until` (default: `day`, so the
    vote's own record, if in the data, is among them); give a `data_until` before `day` to
    predict the vote without its own record.
    """
    world = build_world(data, day_after(data_until or day), scenario.parameters)
    return predict_on(world, scenario_shocks(scenario, data.members), day, tally, body, polarity)


def predict_on(
    world: World,
    shocks: Sequence[TimedShock],
    day: date,
    tally: Tally,
    body: str = "GA",
    polarity: str = "same",
) -> Prediction:
    """`predict_votes` on a built world moved by `shocks`: the path calibration shares."""
    where = chamber(body, world)
    probabilities, cut_points = vote_model(world, shocks, day, tally, body, polarity)
    codes = assign_to_tally(probabilities, tally)
    table = pd.DataFrame(
        {
            "iso3": where.members,
            "vote": np.array(VOTE_CODES)[most_likely(probabilities)],
            "vote_in_tally": np.array(VOTE_CODES)[codes],
            **{f"p_{code}": probabilities[:, k].round(6) for k, code in enumerate(VOTE_CODES)},
        }
    )
    return Prediction(table, cut_points, world)


def vote_model(
    world: World,
    shocks: Sequence[TimedShock],
    day: date,
    tally: Tally,
    body: str = "GA",
    polarity: str = "same",
) -> tuple[np.ndarray, CutPoints]:
    """Probabilities (M, 4) of Y, A, N, X for the chamber's members on `day`, and the
    cut-points (at the world's `discrimination`) whose expected counts equal `tally`."""
    where = chamber(body, world)
    columns = seats(where, world)
    absence = chamber_absence(where, world)
    axis = world.default_axis  # a Ukraine text: the Ukraine axis, or the latest Ukraine text
    positions = axis.project(world_positions_on(world, shocks, day), columns)  # (M,)
    fitted = fit_cut_points(
        positions,
        absence,
        tally,
        polarity=polarity,
        discrimination=world.parameters.discrimination,
    )
    return vote_probabilities(positions, absence, fitted), axis.on(fitted, columns)


def world_positions_on(world: World, shocks: Sequence[TimedShock], day: date) -> np.ndarray:
    """(N, K) positions on `day`: the estimate itself if the record reaches it, else the
    dynamics under `shocks` from the last roll call to that day."""
    if day <= world.start:
        return world.positions
    return path_positions(world, shocks, [day])[day]

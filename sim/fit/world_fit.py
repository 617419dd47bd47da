"""The one world, fitted to the 2025 record: the US turn, who followed it and whether it spread.

The models of `sim.fit.spread` (no turn, static, Friedkin-Johnsen, parting ways) and the
alignment weights of `sim.fit.alignment` (the static turn, each member following it by its own
weight), all held out the same way (leave one roll call out); the one with the lowest held-out
log-loss per vote is the world `blocsim calibrate` writes (`sim.fit.world_file`).

The turn's date is fixed at the inauguration (20 January 2025): the earlier profile over five
weekly dates found it unidentified (all within 0.7 log-units) and cost five fits per model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from sim.fit import alignment as weights
from sim.fit.alignment import MODEL as ALIGNMENT
from sim.fit.alignment import AlignmentCalibration
from sim.fit.spread import HeldOut, SpreadCalibration, calibrate_spread
from sim.fit.spread_problem import SpreadProblem


@dataclass(frozen=True)
class WorldCalibration:
    """Every model fitted and held out, the alignment weights with their prior chosen."""

    spread: SpreadCalibration
    alignment: AlignmentCalibration

    @property
    def problem(self) -> SpreadProblem:
        return self.spread.problem

    @property
    def held(self) -> dict[str, HeldOut]:
        """Held-out scores by model, the alignment weights at their chosen form and sd."""
        return {**self.spread.held, ALIGNMENT: self.alignment.held[self.alignment.choice]}

    @property
    def winner(self) -> str:
        """The model with the lowest held-out log-loss per vote."""
        return min(self.held, key=lambda model: self.held[model].log_loss)


def calibrate_world(
    problem: SpreadProblem, progress: Callable[[str], None] | None = None
) -> WorldCalibration:
    """Fit and hold out every model, then the alignment weights on the static turn."""
    spread = calibrate_spread(problem, progress)
    turns = {vote: np.array(fold.turn) for vote, fold in spread.folds["static"].items()}
    alignment = weights.select_prior_sd(
        problem, spread.fits["static"], turns, weights.FORMS, weights.PRIOR_SDS, progress
    )
    return WorldCalibration(spread, alignment)

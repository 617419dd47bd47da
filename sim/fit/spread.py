"""What the 2025 US turn was and how far it spread, fitted to the record of 2025.

The world rests before 20 January 2025 (`sim.fit.spread_problem`); the United States then moves
by a vector (a `Shift` on the axes general, ukraine, third) and holds its new place with
stubbornness `hold`; the network carries the move to the others by the dynamics
(`sim.model.dynamics`, weekly steps from the world's start). The likelihood is the sum, over
the targets (ES-11/7 and the 30 roll calls of March - September 2025) and the members, of
log P(observed vote) (Y/A/N/X), each target's cut-points fitted to its tally at every
evaluation as in `sim.fit.calibrate`.

Models, from the least to the most that moves:
- **no turn**: nothing moves (a reference, no free parameter);
- **static**: the US turn only; everyone else is fully stubborn, the US stays where it moved;
- **Friedkin-Johnsen**: the turn, the US hold and the stubbornness baseline free;
- **parting ways**: the same plus `parting` and `turn_cost`.
The turn is dated at the inauguration, 20 January 2025 (`sim.fit.world_fit` says why): every
target is dated on or after 24 February, so the timing only sets how many weeks the network had
to carry the turn. MAP with the weak prior and observed-information intervals of
`sim.fit.calibrate.maximise`.

Held out (`held_out`): leave one roll call out, refit on the rest (warm-started from the
full fit), score the one left out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import numpy as np

from sim.data.followers import US, US_TURN
from sim.fit.calibrate import FREE, Estimate, Free, Score, maximise, score
from sim.fit.spread_problem import SpreadProblem, Target
from sim.model.agenda import shocks_by_step
from sim.model.dynamics import Shift, rest_anchors, run_dynamics
from sim.model.scenario import TimedShock
from sim.model.voting import assign_to_tally, fit_cut_points, vote_probabilities

AXES = ("general", "ukraine", "third")
TURN_FREE = tuple(
    Free(f"turn.{axis}", "none", 0.0, f"the US move on the {axis} axis") for axis in AXES
)
_CALIBRATE_FREE = {p.name: p for p in FREE}
HOLD = _CALIBRATE_FREE["turn.hold"]
STUBBORNNESS = _CALIBRATE_FREE["stubbornness"]
PARTING = Free("parting", "log", 1.0, "how fast a tie weakens as two members part")
TURN_COST = Free("turn_cost", "logit", 0.5, "share of its following the US loses by turning")

MODELS: dict[str, tuple[Free, ...]] = {
    "no turn": (),
    "static": TURN_FREE,
    "Friedkin-Johnsen": (*TURN_FREE, HOLD, STUBBORNNESS),
    "parting ways": (*TURN_FREE, HOLD, STUBBORNNESS, PARTING, TURN_COST),
}
MOVING = ("Friedkin-Johnsen", "parting ways")  # the models in which the others move too


@dataclass(frozen=True)
class Spread:
    """A point of the model space. `stubbornness` None: everyone fully stubborn (static)."""

    turn: tuple[float, ...] = (0.0, 0.0, 0.0)
    hold: float = 1.0
    turn_date: date = US_TURN
    stubbornness: float | None = None
    parting: float = 0.0
    turn_cost: float = 0.0

    @classmethod
    def of(cls, model: str, values: dict[str, float]) -> Spread:
        """The point of `model` at natural parameter values by name (the others fixed)."""
        if model == "no turn":
            return cls()
        turn = tuple(values[f"turn.{axis}"] for axis in AXES)
        if model == "static":
            return cls(turn)
        return cls(
            turn,
            values["turn.hold"],
            stubbornness=values["stubbornness"],
            parting=values.get("parting", 0.0),
            turn_cost=values.get("turn_cost", 0.0),
        )


def positions_by_step(problem: SpreadProblem, spread: Spread) -> dict[int, np.ndarray]:
    """(N, K) positions at each target's step: one dynamics run from rest."""
    n = len(problem.iso3)
    stubbornness = (
        np.ones(n) if spread.stubbornness is None else problem.stubbornness(spread.stubbornness)
    )
    anchors = rest_anchors(problem.positions, stubbornness, problem.influence)
    wanted = {target.step for target in problem.targets}
    steps = max(wanted)
    turn = TimedShock(spread.turn_date, Shift(US, tuple(spread.turn), spread.hold))
    timed = shocks_by_step([turn], problem.start, problem.parameters.step_days)
    shocks = {step: acting for step, acting in timed.items() if step < steps}
    found: dict[int, np.ndarray] = {}

    def keep(step: int, positions: np.ndarray) -> None:
        if step in wanted:
            found[step] = positions[0].copy()

    run_dynamics(
        problem.positions,
        anchors,
        stubbornness,
        problem.influence,
        steps,
        shocks,
        problem.iso3,
        recorder=keep,
        parting=spread.parting,
        turn_cost=spread.turn_cost,
    )
    return found


def target_probabilities(problem: SpreadProblem, spread: Spread) -> list[np.ndarray]:
    """(N, 4) probabilities of Y, A, N, X on each target, cut-points fitted to its tally."""
    at = positions_by_step(problem, spread)
    return [
        _probabilities(target, at[target.step], problem.sharpness) for target in problem.targets
    ]


def _probabilities(target: Target, positions: np.ndarray, sharpness: float) -> np.ndarray:
    scores = target.scores(positions)
    cut = fit_cut_points(scores, target.absence, target.tally, discrimination=sharpness)
    return vote_probabilities(scores, target.absence, cut)


def log_likelihoods(problem: SpreadProblem, spread: Spread) -> np.ndarray:
    """log P(observed votes) of each target (sum over members)."""
    probs = target_probabilities(problem, spread)
    return np.array([observed_log_p(p, t) for p, t in zip(probs, problem.targets, strict=True)])


def observed_log_p(probs: np.ndarray, target: Target) -> float:
    """log P(the target's observed votes) under probabilities (N, 4)."""
    return float(np.log(np.clip(probs[np.arange(len(probs)), target.observed], 1e-300, None)).sum())


def log_likelihood(problem: SpreadProblem, spread: Spread) -> float:
    return float(log_likelihoods(problem, spread).sum())


@dataclass(frozen=True)
class ModelFit:
    """One model's fit: its estimate and the log-likelihood there."""

    model: str
    estimate: Estimate
    log_likelihood: float

    @property
    def spread(self) -> Spread:
        return Spread.of(self.model, self.estimate.estimate)

    @property
    def parameters(self) -> int:
        return len(self.estimate.names)


def fit_model(problem: SpreadProblem, model: str) -> ModelFit:
    """MAP fit of `model`."""
    found = maximise(
        lambda values: log_likelihood(problem, Spread.of(model, values)), MODELS[model]
    )
    return ModelFit(model, found, log_likelihood(problem, Spread.of(model, found.estimate)))


@dataclass(frozen=True)
class HeldOut:
    """One model's held-out scores: a row per roll call left out."""

    model: str
    vote_ids: tuple[str, ...]
    scores: tuple[Score, ...]
    log_likelihoods: tuple[float, ...]  # log P(the roll call's votes) when left out

    @property
    def log_loss(self) -> float:
        """Mean -log p per member vote over the roll calls left out (each counts all N
        members, so this is also the mean of the roll calls' own means)."""
        return float(np.mean([s.log_loss for s in self.scores]))

    @property
    def per_roll_call(self) -> float:
        """Mean -log P(a roll call's votes) per roll call left out."""
        return float(-np.mean(self.log_likelihoods))

    @property
    def accuracy(self) -> float:
        """Mean accuracy (Y/A/N right among voters) per roll call left out."""
        return float(np.mean([s.accuracy for s in self.scores]))


def fold_spreads(
    problem: SpreadProblem,
    fitted: ModelFit,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Spread]:
    """The model refitted without each roll call (warm-started at the full fit), by the roll
    call left out: what a held-out fold may know (the full fit for a model with nothing free)."""
    free = MODELS[fitted.model]
    folds = {}
    for target in problem.targets:
        if progress is not None:
            progress(target.vote_id)
        folds[target.vote_id] = fitted.spread
        if free:
            rest = problem.without(target.vote_id)
            refit = maximise(
                lambda values, rest=rest: log_likelihood(rest, Spread.of(fitted.model, values)),
                free,
                start=fitted.estimate.estimate,
                intervals=False,
            )
            folds[target.vote_id] = Spread.of(fitted.model, refit.estimate)
    return folds


def held_out(problem: SpreadProblem, model: str, folds: dict[str, Spread]) -> HeldOut:
    """Score each roll call on the model refitted without it (`fold_spreads`)."""
    scores, sums = [], []
    for target in problem.targets:
        alone = problem.only([target.vote_id])
        (probs,) = target_probabilities(alone, folds[target.vote_id])
        codes = assign_to_tally(probs, target.tally)
        scores.append(score(codes, target.observed, probs))
        sums.append(observed_log_p(probs, target))
    return HeldOut(model, tuple(t.vote_id for t in problem.targets), tuple(scores), tuple(sums))


@dataclass(frozen=True)
class SpreadCalibration:
    """Every model fitted, refitted without each roll call, and held out."""

    problem: SpreadProblem
    fits: dict[str, ModelFit]
    folds: dict[str, dict[str, Spread]]  # by model, by the roll call left out
    held: dict[str, HeldOut]


def calibrate_spread(
    problem: SpreadProblem, progress: Callable[[str], None] | None = None
) -> SpreadCalibration:
    """Fit every model of `MODELS`, then hold each roll call out of each."""
    say = progress or (lambda _: None)
    fits, folds, held = {}, {}, {}
    for model in MODELS:
        say(f"fitting {model}")
        fits[model] = fit_model(problem, model)
    for model in MODELS:
        folds[model] = fold_spreads(problem, fits[model], lambda vote, m=model: say(f"{m}: {vote}"))
        held[model] = held_out(problem, model, folds[model])
    return SpreadCalibration(problem, fits, folds, held)

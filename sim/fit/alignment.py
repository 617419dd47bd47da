"""Who followed the 2025 US turn, member by member: the alignment weights.

The static model (`sim.fit.spread`) moves the United States alone. Here every member i moves,
at the turn, by a_i times the US move (a member-specific follow, not through the network; the
US's own weight is 1), so that on a target t placed like its earlier version its score is

    base_ti + a_i (turn . d_t),   base_ti = rest_i . d_t + offset_ti

where d_t is the target's direction and offset_ti the evidence of member i's own vote on the
earlier version (`sim.fit.spread_problem`: never the target's own votes). "By axis", member i
has one weight per axis instead, a_ik times the turn's entry k: base_ti + sum_k a_ik turn_k d_tk. Each a_i has a normal
prior centred on 0 (sd `prior_sd`): a member follows only as far as the 2025 record shows it,
and the sd is chosen by held-out log-loss (leave one roll call out, `select_prior_sd`).

A move of every member alike is seen by no vote (each target's cut-points, fitted to its
tally, absorb it), so the weights are relative to the Assembly: their mean over the members
other than the US is held at 0. (Without it, the cut-points fitted to the tallies rather than
by likelihood let the common level drift with the prior's sd: on synthetic votes every weight
rose by ~1 at sd 1.) The mean is held by projection: each iteration's Newton steps, taken
member by member (clipped and halved where the log-posterior falls), are shifted by their mean.
This is not the MAP with the plain mean held at 0 (that step is -H_i^-1 (g_i - lambda) with a
common lambda): the projection weighs each member by its curvature, so the members the record
barely places stay near 0. The exact constrained MAP was tried (commit 794a03c): it pushed
those members to -lambda sd^2, chose sd 0.1 and predicted left-out roll calls worse (0.5202
against 0.5165), so the projection is kept.

The turn is the static model's (the US alone, `sim.fit.spread`): the weights say how far each
member followed the move the US's own votes measure. (Fitted jointly, turn and weights trade
off: a turn of four times the size, followed by a third of the Assembly, fits a general 2025
drift rather than anyone following the US.) The weights are fitted by alternating the
targets' cut-points (fitted to their tallies) and Newton steps on each member's own
log-posterior (the members are independent given the cut-points): a MAP estimate with the
cut-points held to the tallies, as in the spread fit. A weight's standard error comes from its
own curvature, the cut-points held fixed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from sim.fit.calibrate import score
from sim.fit.spread import HeldOut, ModelFit, observed_log_p
from sim.fit.spread_problem import SpreadProblem, Target
from sim.model.voting import CutPoints, assign_to_tally, fit_cut_points, vote_probabilities

PRIOR_SDS = (0.1, 0.25, 0.5, 1.0)  # candidate sds of the weights' prior (selection)
MODEL = "alignment"
_STEP = 1e-4  # finite-difference step of the Newton updates
_MAX_MOVE = 0.5  # largest change of a weight in one Newton step


ONE, BY_AXIS = "one", "by axis"  # one weight per member, or one per member and axis
FORMS = (ONE, BY_AXIS)


@dataclass(frozen=True)
class Alignment:
    """The weights (N, P) (the US's are 1) fitted for a turn (K,) at one prior sd: P = 1, the
    member moves by a_i times the turn; P = K, by a_ik times the turn's entry on axis k. Standard
    errors from each member's own curvature (the cut-points held fixed)."""

    prior_sd: float
    turn: np.ndarray
    weights: np.ndarray
    weights_se: np.ndarray
    log_likelihood: float
    iterations: int
    converged: bool

    @property
    def form(self) -> str:
        return ONE if self.weights.shape[1] == 1 else BY_AXIS

    def moves(self) -> np.ndarray:
        """(N, K) each member's move at the turn."""
        return self.weights * self.turn


def features(target: Target, turn: np.ndarray, form: str) -> np.ndarray:
    """(P,) how a member's score on the target changes per unit of each of its weights."""
    by_axis = turn * target.direction
    return np.array([by_axis.sum()]) if form == ONE else by_axis


def scores_on(
    target: Target, problem: SpreadProblem, turn: np.ndarray, weights: np.ndarray
) -> np.ndarray:
    """(..., N) members' places on a target when each moved by its weights (..., N, P) times
    the turn."""
    form = ONE if weights.shape[-1] == 1 else BY_AXIS
    return target.scores(problem.positions) + weights @ features(target, turn, form)


def _cut(target: Target, scores: np.ndarray, sharpness: float) -> CutPoints:
    return fit_cut_points(scores, target.absence, target.tally, discrimination=sharpness)


def _log_p_by_member(target: Target, scores: np.ndarray, cut: CutPoints) -> np.ndarray:
    """(..., N) log P(each member's observed vote) at scores (..., N)."""
    probs = vote_probabilities(scores, target.absence, cut)
    chosen = probs[..., np.arange(len(target.observed)), target.observed]
    return np.log(np.clip(chosen, 1e-300, None))


def fit_alignment(
    problem: SpreadProblem,
    turn: np.ndarray,
    prior_sd: float,
    form: str = ONE,
    start: Alignment | None = None,
    tolerance: float = 1e-5,
    max_iterations: int = 1000,
) -> Alignment:
    """MAP weights at `prior_sd` for the US turn `turn` (K,), as the static model measures it
    (from `start`'s weights, a warm start, else zeros)."""
    us = problem.us
    n, size = len(problem.iso3), 1 if form == ONE else len(turn)
    weights = np.zeros((n, size)) if start is None else start.weights.copy()
    weights[us] = 1.0
    others = np.arange(n) != us
    converged, iterations = False, 0
    while not converged and iterations < max_iterations:
        iterations += 1
        cuts = _cuts(problem, turn, weights)
        step, _ = _newton(problem, cuts, turn, weights, prior_sd)
        step[~others] = 0.0
        step = _backtracked(problem, cuts, turn, weights, step, prior_sd)
        step[others] -= (weights[others] + step[others]).mean(axis=0)  # keep the mean at 0
        weights += step
        converged = bool(np.abs(step).max() < tolerance)
    cuts = _cuts(problem, turn, weights)
    _, curvature = _newton(problem, cuts, turn, weights, prior_sd)
    covariance = np.linalg.inv(-curvature)
    weights_se = np.sqrt(np.clip(np.diagonal(covariance, axis1=1, axis2=2), 0.0, None)).copy()
    weights_se[us] = 0.0
    return Alignment(
        prior_sd,
        np.asarray(turn, dtype=float),
        weights,
        weights_se,
        log_likelihood(problem, turn, weights),
        iterations,
        converged,
    )


def _cuts(problem: SpreadProblem, turn: np.ndarray, weights: np.ndarray) -> list[CutPoints]:
    return [
        _cut(t, scores_on(t, problem, turn, weights), problem.sharpness) for t in problem.targets
    ]


def _log_posterior(
    problem: SpreadProblem,
    cuts: list[CutPoints],
    turn: np.ndarray,
    weights: np.ndarray,
    prior_sd: float,
) -> np.ndarray:
    """(N,) each member's log P(its observed votes) + the log prior of its weights."""
    total = -0.5 * np.sum(weights**2, axis=1) / prior_sd**2
    for target, cut in zip(problem.targets, cuts, strict=True):
        total += _log_p_by_member(target, scores_on(target, problem, turn, weights), cut)
    return total


def _backtracked(
    problem: SpreadProblem,
    cuts: list[CutPoints],
    turn: np.ndarray,
    weights: np.ndarray,
    step: np.ndarray,
    prior_sd: float,
) -> np.ndarray:
    """The Newton steps (N, P), each halved until its member's log-posterior does not fall
    (the log-likelihood saturates far out, where a full step can overshoot)."""
    now = _log_posterior(problem, cuts, turn, weights, prior_sd)
    for _ in range(10):
        worse = _log_posterior(problem, cuts, turn, weights + step, prior_sd) < now - 1e-12
        if not worse.any():
            break
        step[worse] /= 2
    return step


def _newton(
    problem: SpreadProblem,
    cuts: list[CutPoints],
    turn: np.ndarray,
    weights: np.ndarray,
    prior_sd: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Each member's Newton step (N, P) on its log-posterior, and its Hessian (N, P, P): the
    score's first and second derivatives by central differences, the weights entering linearly."""
    n, size = weights.shape
    form = ONE if size == 1 else BY_AXIS
    h = _STEP
    gradient = -weights / prior_sd**2
    hessian = np.broadcast_to(-np.eye(size) / prior_sd**2, (n, size, size)).copy()
    for target, cut in zip(problem.targets, cuts, strict=True):
        x = features(target, turn, form)
        scores = scores_on(target, problem, turn, weights)
        low, mid, high = _log_p_by_member(target, np.stack([scores - h, scores, scores + h]), cut)
        first = (high - low) / (2 * h)
        second = np.minimum((high - 2 * mid + low) / h**2, 0.0)  # concave in the score
        gradient += first[:, None] * x
        hessian += second[:, None, None] * np.outer(x, x)
    step = -np.linalg.solve(hessian, gradient[..., None])[..., 0]
    return np.clip(step, -_MAX_MOVE, _MAX_MOVE), hessian


def log_likelihood(problem: SpreadProblem, turn: np.ndarray, weights: np.ndarray) -> float:
    """log P(every target's observed votes), cut-points fitted to the tallies, when each
    member moved by its weights (N, P) times `turn` (K,)."""
    cuts = _cuts(problem, turn, weights)
    return sum(
        float(_log_p_by_member(t, scores_on(t, problem, turn, weights), c).sum())
        for t, c in zip(problem.targets, cuts, strict=True)
    )


def probabilities(target: Target, problem: SpreadProblem, fitted: Alignment) -> np.ndarray:
    """(N, 4) probabilities of Y, A, N, X on a target, its cut-points fitted to its tally."""
    scores = scores_on(target, problem, fitted.turn, fitted.weights)
    return vote_probabilities(scores, target.absence, _cut(target, scores, problem.sharpness))


def held_out(
    problem: SpreadProblem,
    fitted: Alignment,
    turns: dict[str, np.ndarray],
    progress: Callable[[str], None] | None = None,
) -> HeldOut:
    """Leave each roll call out: the static turn and the weights refitted on the rest (the
    weights warm-started at `fitted`, the same prior sd), score the one left out."""
    scores, sums = [], []
    for target in problem.targets:
        if progress is not None:
            progress(target.vote_id)
        refit = fit_alignment(
            problem.without(target.vote_id),
            turns[target.vote_id],
            fitted.prior_sd,
            fitted.form,
            fitted,
        )
        probs = probabilities(target, problem, refit)
        scores.append(score(assign_to_tally(probs, target.tally), target.observed, probs))
        sums.append(observed_log_p(probs, target))
    return HeldOut(MODEL, tuple(t.vote_id for t in problem.targets), tuple(scores), tuple(sums))


@dataclass(frozen=True)
class AlignmentCalibration:
    """The fit of each form at each candidate prior sd, its held-out scores, and the one
    chosen (keys: (form, prior sd))."""

    fits: dict[tuple[str, float], Alignment]
    held: dict[tuple[str, float], HeldOut]

    @property
    def choice(self) -> tuple[str, float]:
        """The form and sd with the lowest held-out log-loss per vote."""
        return min(self.held, key=lambda key: self.held[key].log_loss)

    @property
    def chosen(self) -> Alignment:
        return self.fits[self.choice]


def select_prior_sd(
    problem: SpreadProblem,
    static: ModelFit,
    turns: dict[str, np.ndarray],
    forms: tuple[str, ...] = FORMS,
    prior_sds: tuple[float, ...] = PRIOR_SDS,
    progress: Callable[[str], None] | None = None,
) -> AlignmentCalibration:
    """Fit each form at each prior sd (the tightest first, each warm-starting the next) on the
    static fit's turn, and hold each roll call out of each on the static turn refitted without
    it (`turns`, by the roll call left out: `sim.fit.spread.fold_spreads`)."""
    say = progress or (lambda _: None)
    turn = np.array(static.spread.turn)
    fits: dict[tuple[str, float], Alignment] = {}
    held: dict[tuple[str, float], HeldOut] = {}
    for form in forms:
        start = None
        for sd in prior_sds:
            say(f"alignment ({form}), prior sd {sd}")
            fits[form, sd] = start = fit_alignment(problem, turn, sd, form, start)
            held[form, sd] = held_out(
                problem, start, turns, lambda vote, key=(form, sd): say(f"{key}: {vote}")
            )
    return AlignmentCalibration(fits, held)

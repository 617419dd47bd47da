"""Calibration on 93-18-65: a few parameters fitted to A/RES/ES-11/7, with their uncertainty.

This is the one-axis ablation (`blocsim calibrate --ties`, `dimensions = 1`): the world every
shipped scenario runs is fitted by `sim.fit.world_fit` (`blocsim calibrate`), which carries the
tie weights fitted here.

The free parameters (`FREE`) are the weights of three tie types (alignment, patron, affinity),
how stubborn members are (a baseline and the EU's own), the US turn of 20 January 2025 (how far
Washington moves toward Moscow's position and how firmly it then holds) and the discrimination
of the vote. Everything else keeps its default. Positions always come from roll calls strictly
before the target vote; the turn and the network carry them to the vote's day.

Two objectives, chosen by what the data may show (`data_until`):
- **votes** (the target's per-country votes are in the data): the log-likelihood of every
  member's observed vote (Y, A, N, X), the text's cut-points fitted to the official tally at
  every evaluation, so the tally is reproduced exactly whatever the parameters.
- **tally** (they are not: a hindcast): the text is held to be the same as the previous
  ES-11 text (`PINNED_TEXT`, its band fitted to that text's tally before the turn), and the
  likelihood is that of the target's tally alone: the turn must turn a 141-7-32 world into
  93-18-65. Who moves then comes from the network built from the record before the vote.
Both add a weak normal prior on each transformed parameter (`PRIOR_SD`), so a parameter the
data do not identify stays near its default instead of running to a bound: a MAP estimate.
Standard errors come from the observed information (the numerical Hessian of the objective
at the optimum, transformed scale) by the delta method.

L-BFGS from the prior's centre with finite-difference gradients: deterministic, no seed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit, logit

from sim.data.followers import US, US_TURN
from sim.data.loader import UNData
from sim.data.resolutions import CALIBRATION_TARGET, RESOLUTIONS, Resolution, Tally
from sim.fit.predict import vote_model, world_positions_on
from sim.model.dynamics import MoveToward
from sim.model.parameters import Parameters
from sim.model.scenario import TimedShock
from sim.model.voting import (
    NOT_VOTING,
    VOTE_CODES,
    CutPoints,
    as_tally,
    assign_to_tally,
    fit_cut_points,
    tally_counts,
    vote_indices,
    vote_probabilities,
)
from sim.model.world import World, build_world, day_after
from sim.results import provenance

PINNED_TEXT = "A/RES/ES-11/6"
TURN = {"date": US_TURN, "member": US, "target": "RUS"}
PRIOR_SD = 1.5
ONE_AXIS = Parameters(dimensions=1)  # this fit's world: the Ukraine-axis estimate (an ablation)
TURN_NAMES = ("turn.fraction", "turn.hold")
TALLY_FREE = ("turn.fraction", "ties.alignment")


@dataclass(frozen=True)
class Free:
    """One free parameter: its dotted name, how it is made unbounded, its prior centre."""

    name: str
    transform: str  # "log" (positive), "logit" (in (0, 1)) or "none" (any real number)
    centre: float
    meaning: str

    def to_natural(self, z: float) -> float:
        if self.transform == "none":
            return float(z)
        return float(np.exp(z) if self.transform == "log" else expit(z))

    def to_free(self, value: float) -> float:
        if self.transform == "none":
            return float(value)
        return float(np.log(value) if self.transform == "log" else logit(value))

    def slope(self, z: float) -> float:
        """d natural / d z, for the delta method."""
        if self.transform == "none":
            return 1.0
        value = self.to_natural(z)
        return value if self.transform == "log" else value * (1.0 - value)


FREE: tuple[Free, ...] = (
    Free("ties.alignment", "log", 1.0, "weight of ties to the permanent member a state follows"),
    Free("ties.patron", "log", 1.0, "weight of client -> patron ties"),
    Free("ties.affinity", "log", 1.0, "weight of ties to the closest voting partners"),
    Free("stubbornness", "logit", 0.5, "how much members hold to their own anchor"),
    Free("stubbornness_by_group.eu", "logit", 0.5, "the same for EU members"),
    Free("turn.fraction", "logit", 0.6, "share of the way from the US position to Russia's"),
    Free("turn.hold", "logit", 0.9, "US stubbornness after the turn"),
    Free("discrimination", "log", 4.0, "how sharply positions decide votes"),
)


@dataclass(frozen=True)
class Model:
    """A point of the parameter space: the parameters and the calibrated history."""

    parameters: Parameters
    fraction: float
    hold: float

    @property
    def shocks(self) -> tuple[TimedShock, ...]:
        turn = MoveToward(TURN["member"], TURN["target"], self.fraction, self.hold)
        return (TimedShock(TURN["date"], turn),)


def model_at(values: dict[str, float], base: Parameters | None = None) -> Model:
    """The model for natural parameter values by dotted name (turn.* for the US turn)."""
    base = base or ONE_AXIS
    network = {k: v for k, v in values.items() if k not in TURN_NAMES}
    return Model(base.with_values(network), values["turn.fraction"], values["turn.hold"])


@dataclass(frozen=True)
class Problem:
    """What a calibration sees: the world before the target, its tally, and (if allowed)
    the per-country votes (N,) as indices into VOTE_CODES."""

    world: World
    target: Resolution
    observed: np.ndarray | None
    pinned: Resolution

    @property
    def objective_kind(self) -> str:
        return "votes" if self.observed is not None else "tally"


def calibration_problem(data: UNData, data_until: date | None = None) -> Problem:
    """The target's world (roll calls strictly before its date and after no `data_until`) and
    its per-country votes if dated on or before `data_until` (default: all the data)."""
    target = RESOLUTIONS[CALIBRATION_TARGET]
    cutoff = min(target.date, day_after(data_until)) if data_until else target.date
    world = build_world(data, cutoff, ONE_AXIS)
    observed = None
    if data_until is None or data_until >= target.date:
        observed = vote_indices(data.votes_on(CALIBRATION_TARGET).reindex(list(world.iso3)))
    return Problem(world, target, observed, RESOLUTIONS[PINNED_TEXT])


def probabilities(problem: Problem, model: Model) -> tuple[np.ndarray, CutPoints]:
    """(N, 4) vote probabilities on the target under `model`, cut-points fitted to its tally."""
    world = problem.world.with_parameters(model.parameters)
    return vote_model(world, model.shocks, problem.target.date, problem.target.tally)


def pinned_probabilities(problem: Problem, model: Model) -> np.ndarray:
    """(N, 4) probabilities if the target's text had the pinned text's abstain band (fitted to
    its tally on the positions before the turn); attendance still fitted to the target."""
    world = problem.world.with_parameters(model.parameters)
    discrimination = model.parameters.discrimination
    everyone, axis = np.arange(len(world.iso3)), world.default_axis
    band = fit_cut_points(
        axis.project(world.positions, everyone),
        world.absence,
        problem.pinned.tally,
        discrimination=discrimination,
    )
    positions = axis.project(world_positions_on(world, model.shocks, problem.target.date), everyone)
    attendance = fit_cut_points(
        positions, world.absence, problem.target.tally, discrimination=discrimination
    )
    text = CutPoints(band.lower, band.upper, discrimination, "same", attendance.absence_shift)
    return vote_probabilities(positions, world.absence, text)


def log_likelihood(problem: Problem, model: Model) -> float:
    """Log-likelihood of what the calibration may see: the votes, else the tally."""
    if problem.observed is not None:
        probs, _ = probabilities(problem, model)
        return float(np.log(probs[np.arange(len(probs)), problem.observed]).sum())
    expected = pinned_probabilities(problem, model).sum(axis=0)  # (4,) in VOTE_CODES order
    counts = tally_counts(problem.target.tally)
    return float(np.sum(counts * np.log(expected / expected.sum())))


@dataclass(frozen=True)
class Fit:
    """A calibration's result: estimates with standard errors and how it was reached."""

    problem: Problem
    names: tuple[str, ...]
    estimate: dict[str, float]  # natural scale
    standard_error: dict[str, float]  # natural scale, delta method
    interval: dict[str, tuple[float, float]]  # 95 %, transformed back
    objective: float  # negative log-posterior at the optimum
    log_likelihood: float
    iterations: int
    converged: bool
    message: str
    held: dict[str, float]  # parameters not fitted, kept at their prior centre

    @property
    def model(self) -> Model:
        return model_at({p.name: p.centre for p in FREE} | self.estimate)


def free_for(problem: Problem) -> tuple[Free, ...]:
    """The parameters an objective can identify: all of them from per-country votes; from a
    tally alone (two free counts) only the size of the turn and how far it spreads."""
    if problem.objective_kind == "votes":
        return FREE
    return tuple(p for p in FREE if p.name in TALLY_FREE)


def fit(
    problem: Problem,
    free: tuple[Free, ...] | None = None,
    progress: Callable[[int], None] | None = None,
    max_iterations: int = 200,
) -> Fit:
    """Maximise log-likelihood + log-prior over `free` (default `free_for(problem)`; the
    others stay at their prior centres) by L-BFGS on the transformed scale."""
    free = free or free_for(problem)
    held = {p.name: p.centre for p in FREE}
    found = maximise(
        lambda values: log_likelihood(problem, model_at(held | values)),
        free,
        progress,
        max_iterations,
    )
    return Fit(
        problem=problem,
        names=found.names,
        estimate=found.estimate,
        standard_error=found.standard_error,
        interval=found.interval,
        objective=found.objective,
        log_likelihood=log_likelihood(problem, model_at(held | found.estimate)),
        held={p.name: p.centre for p in FREE if p not in free},
        iterations=found.iterations,
        converged=found.converged,
        message=found.message,
    )


@dataclass(frozen=True)
class Estimate:
    """A MAP estimate over free parameters: natural values, standard errors (delta method),
    95 % intervals transformed back, the negative log-posterior and how it was reached."""

    names: tuple[str, ...]
    estimate: dict[str, float]
    standard_error: dict[str, float]
    interval: dict[str, tuple[float, float]]
    objective: float
    iterations: int
    converged: bool
    message: str


def maximise(
    log_likelihood_at: Callable[[dict[str, float]], float],
    free: tuple[Free, ...],
    progress: Callable[[int], None] | None = None,
    max_iterations: int = 200,
    start: dict[str, float] | None = None,
    intervals: bool = True,
) -> Estimate:
    """Maximise `log_likelihood_at(natural values by name)` + a normal prior (sd `PRIOR_SD`)
    on each transformed parameter around its centre, by L-BFGS from the prior's centre (or
    `start`, natural values: a warm start); intervals from the numerical Hessian there
    (without `intervals`, standard errors and intervals are NaN: the Hessian is not computed)."""
    centre = np.array([p.to_free(p.centre) for p in free])
    first = centre if start is None else np.array([p.to_free(start[p.name]) for p in free])

    def natural(z: np.ndarray) -> dict[str, float]:
        return {p.name: p.to_natural(v) for p, v in zip(free, z, strict=True)}

    def objective(z: np.ndarray) -> float:
        prior = 0.5 * np.sum(((z - centre) / PRIOR_SD) ** 2)
        return -log_likelihood_at(natural(z)) + prior

    iterations = 0

    def step(_: np.ndarray) -> None:
        nonlocal iterations
        iterations += 1
        if progress is not None:
            progress(iterations)

    result = minimize(
        objective,
        first,
        method="L-BFGS-B",
        callback=step,
        options={"maxiter": max_iterations, "ftol": 1e-10, "gtol": 1e-6},
    )
    z = result.x
    se_z = np.full(len(z), np.nan)
    if intervals:
        se_z = np.sqrt(np.clip(np.diag(_covariance(objective, z)), 0.0, None))
    return Estimate(
        names=tuple(p.name for p in free),
        estimate=natural(z),
        standard_error={p.name: p.slope(v) * s for p, v, s in zip(free, z, se_z, strict=True)},
        interval={
            p.name: (p.to_natural(v - 1.96 * s), p.to_natural(v + 1.96 * s))
            for p, v, s in zip(free, z, se_z, strict=True)
        },
        objective=float(result.fun),
        iterations=iterations,
        converged=bool(result.success),
        message=str(result.message),
    )


def _covariance(objective: Callable[[np.ndarray], float], z: np.ndarray) -> np.ndarray:
    """Inverse of the numerical Hessian (central differences) of `objective` at `z`."""
    size = len(z)
    h = 1e-3
    hessian = np.empty((size, size))
    for i in range(size):
        for j in range(i, size):
            shifted = []
            for si, sj in ((1, 1), (1, -1), (-1, 1), (-1, -1)):
                point = z.copy()
                point[i] += si * h
                point[j] += sj * h
                shifted.append(objective(point))
            value = (shifted[0] - shifted[1] - shifted[2] + shifted[3]) / (4 * h * h)
            hessian[i, j] = hessian[j, i] = value
    return np.linalg.pinv(hessian)


@dataclass(frozen=True)
class Score:
    """How well a set of predicted votes and probabilities match the record of one vote."""

    accuracy: float  # Y/A/N right among members that voted
    accuracy_4: float  # Y/A/N/X right among all members
    log_loss: float  # mean -log p(observed vote) over all members, 4 classes (NaN: none)
    predicted: Tally
    voters: int


def score(codes: np.ndarray, observed: np.ndarray, probs: np.ndarray | None = None) -> Score:
    """Score predicted codes (N,) (and probabilities (N, 4)) against observed codes (N,)."""
    voted = observed != NOT_VOTING
    right = codes == observed
    log_loss = float("nan")
    if probs is not None:
        chosen = np.clip(probs[np.arange(len(observed)), observed], 1e-15, None)
        log_loss = float(-np.log(chosen).mean())
    return Score(
        accuracy=float(right[voted].mean()),
        accuracy_4=float(right.mean()),
        log_loss=log_loss,
        predicted=as_tally(np.bincount(codes, minlength=len(VOTE_CODES))),
        voters=int(voted.sum()),
    )


def in_sample(fit_: Fit, data: UNData) -> Score:
    """The fitted model's votes on the target against its record (in sample for a `votes`
    fit, a hindcast for a `tally` fit)."""
    problem = fit_.problem
    probs, _ = probabilities(problem, fit_.model)
    codes = assign_to_tally(probs, problem.target.tally)
    observed = vote_indices(data.votes_on(CALIBRATION_TARGET).reindex(list(problem.world.iso3)))
    return score(codes, observed, probs)


# What holds across installs: the same command on the same data gives estimates, standard errors
# and log-likelihood equal to these relative tolerances (library versions and BLAS change the
# optimiser's path and iteration count, so the last digits differ; tests/test_calibrate.py).
REPRODUCIBLE_RTOL = {"estimate": 1e-3, "standard_error": 5e-2, "log_likelihood": 1e-5}


def calibration_toml(
    fit_: Fit, report: Score, data_until: date | None, fingerprint: str = ""
) -> str:
    """The calibration file: `[parameters]`, the turn as `[[shocks]]`, `[fit]`, `[report]`."""
    model = fit_.model
    p = model.parameters
    kind = fit_.problem.objective_kind
    lines = [
        "# blocsim's calibrated parameters and history, written by `blocsim calibrate`.",
        "# Deterministic: re-running the command of [provenance] on data of the same fingerprint",
        "# reproduces it within [provenance.reproducible_rtol] (relative), whatever the install.",
        "[parameters]",
        "dimensions = 1",
        f"stubbornness = {toml_number(p.stubbornness)}",
        f"step_days = {p.step_days}",
        f"discrimination = {toml_number(p.discrimination)}",
        "",
        "[parameters.ties]",
        *(f"{name} = {toml_number(value)}" for name, value in p.to_dict()["ties"].items()),
        "",
        "[parameters.stubbornness_by_group]",
        *(f"{name} = {toml_number(value)}" for name, value in p.stubbornness_by_group.items()),
        "",
        "# The history the record does not yet hold at a 2025 cut-off: the US turn toward Moscow.",
        "[[shocks]]",
        f'date = "{TURN["date"]}"',
        'kind = "move_toward"',
        f'member = "{TURN["member"]}"',
        f'target = "{TURN["target"]}"',
        f"fraction = {toml_number(model.fraction)}",
        f"hold = {toml_number(model.hold)}",
        "",
        "[fit]",
        f'target = "{CALIBRATION_TARGET}"',
        f'objective = "{kind}"',
        f'description = "{_OBJECTIVES[kind]}"',
        f'data_until = "{data_until or "all"}"',
        f'positions_until = "{fit_.problem.world.data_until - timedelta(days=1)}"',
        f"prior_sd = {PRIOR_SD}",
        f"objective_value = {toml_number(fit_.objective)}",
        f"log_likelihood = {toml_number(fit_.log_likelihood)}",
        f"iterations = {fit_.iterations}",
        f"converged = {str(fit_.converged).lower()}",
        "",
    ]
    lines += parameter_lines(fit_)
    lines += [
        *provenance_lines(fingerprint),
        "[report]",
        f'vote = "{CALIBRATION_TARGET}"',
        f"accuracy = {toml_number(report.accuracy)}",
        f"accuracy_4 = {toml_number(report.accuracy_4)}",
        f"log_loss = {toml_number(report.log_loss)}",
        f'tally_predicted = "{report.predicted}"',
        f'tally_official = "{fit_.problem.target.tally}"',
        f"not_voting_predicted = {report.predicted.not_voting}",
        f"voters = {report.voters}",
        "",
    ]
    return "\n".join(lines)


def provenance_lines(fingerprint: str) -> list[str]:
    """A calibration file's `[provenance]`: the command, versions, data and tolerances."""
    made = provenance()
    return [
        "[provenance]",
        f'command = "{made["command"]}"',
        f'blocsim_version = "{made["packages"].get("blocsim", "")}"',
        f'git_commit = "{made["git_commit"] or ""}"',
        f'python = "{made["python"]}"',
        f'data_fingerprint = "{fingerprint}"',
        f'created_utc = "{made["created_utc"]}"',
        "",
        "[provenance.packages]",
        *(f'{name} = "{version}"' for name, version in made["packages"].items()),
        "",
        "[provenance.reproducible_rtol]",
        *(f"{name} = {tolerance}" for name, tolerance in REPRODUCIBLE_RTOL.items()),
        "",
    ]


_OBJECTIVES = {
    "votes": "log-likelihood of the target's per-country votes, cut-points fitted to its "
    "tally at every evaluation, plus a normal prior (sd prior_sd) on each transformed parameter",
    "tally": "log-likelihood of the target's tally with the abstain band of "
    f"{PINNED_TEXT} (per-country votes not used), plus a normal prior (sd prior_sd)",
}


def parameter_lines(fitted: Fit | Estimate, model: str | None = None) -> list[str]:
    """`[[fit.parameters]]` tables of a fit's estimates, SEs and 95 % intervals (`model`: the
    model they belong to, where a file holds several)."""
    lines = []
    for name in fitted.names:
        low, high = fitted.interval[name]
        lines += [
            "[[fit.parameters]]",
            *([f'model = "{model}"'] if model is not None else []),
            f'name = "{name}"',
            f"value = {toml_number(fitted.estimate[name])}",
            f"standard_error = {toml_number(fitted.standard_error[name])}",
            f"interval_95 = [{toml_number(low)}, {toml_number(high)}]",
            "",
        ]
    return lines


def toml_number(value: float) -> str:
    """A number for a calibration file: six decimals, as TOML reads it back."""
    return repr(round(float(value), 6))


def read_fit(document: dict) -> dict[str, float]:
    """The natural parameter values stored in a calibration file's `[[fit.parameters]]`."""
    return {entry["name"]: float(entry["value"]) for entry in document["fit"]["parameters"]}

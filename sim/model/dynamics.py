"""The one Friedkin-Johnsen kernel over (R, N, K) arrays, and shocks as edits of those arrays.

theta(t+1) = S theta(0) + (I - S) W theta(t), for R runs of N members in K dimensions at once
(a single run is R = 1; every dimension moves by the same W and S). Every state reads the
previous step's positions (synchronous update). Shocks are frozen dataclasses with an
``apply(state)`` that edits an ``FJState`` in place, so the same shock serves the Mesa model
(R = 1) and a sweep block (R = thousands).

Averaging over fixed ties can only pull neighbours along. Two rules let members part ways.
Both act on how far a member follows a partner's *move* since step 0 (y_j = theta_j - theta0_j);
what each partner stood for at step 0 keeps its full weight, so a state at rest stays at rest
and a weakened tie never sets anyone moving by itself:

    theta_i' = s_i a_i + (1 - s_i) (theta_i + sum_j W_ij (theta0_j - theta0_i)
                                             + sum_j W_ij c_j g_ij (y_j - y_i))

- **parting** (bounded confidence, relative to step 0): g_ij = exp(-(parting * max(0, d_ij -
  d0_ij))^2), d_ij the distance between the two positions now and d0_ij at step 0: a member
  follows a partner less as the two move apart (`parting_step`).
- **turn_cost**: a member moved by a shock (`MoveToward`, `Shift`) is followed less from then
  on: its credibility c_j falls from 1 to 1 - turn_cost.

With parting = 0 and every c_j = 1 this is Friedkin-Johnsen, which `fj_step` computes exactly.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from sim.errors import BlocsimError
from sim.model.ties import TiePairs, listened_by_dimension


def fj_step(
    positions: np.ndarray,
    anchors: np.ndarray,
    stubbornness: np.ndarray,
    influence: np.ndarray,
) -> np.ndarray:
    """One synchronous step: S * anchors + (1 - S) * (W @ positions) for each run and dimension.

    positions, anchors: (R, N, K); stubbornness: (R, N) or (N,), the same on every dimension;
    influence W: (N, N), row i = how much member i listens to each member. The dtype follows
    ``positions`` (float64 for single runs, float32 for batches): pass the others in the same
    dtype. Fastest with arrays laid out as `FJState` keeps them (`dimension_major`).
    """
    kept = stubbornness[..., None, :]  # (R, 1, N) or (1, N): the same on every dimension
    listened = listened_by_dimension(positions, influence)  # (..., K, N)
    listened *= 1 - kept  # this form keeps a fully stubborn member exactly still
    listened += kept * np.swapaxes(anchors, -1, -2)
    return np.swapaxes(listened, -1, -2)


def parting_step(
    positions: np.ndarray,
    anchors: np.ndarray,
    stubbornness: np.ndarray,
    influence: np.ndarray,
    start: np.ndarray,
    parting: float | np.ndarray,
    credibility: np.ndarray | None = None,
    pairs: TiePairs | None = None,
) -> np.ndarray:
    """One synchronous step of the rule of the module docstring: the shapes of `fj_step` plus
    `start` (R, N, K), the positions at step 0, `parting` (a scalar, or (R,): one per run) and
    `credibility` c_j, (N,) or (R, N) per run (None: all 1).

    `pairs`: the ties prepared for this influence and start (`TiePairs.of`), which `FJState`
    keeps from step to step; built here when not given.
    """
    if pairs is None:
        pairs = TiePairs.of(influence, start)
    runs, size, _ = positions.shape
    dtype = positions.dtype
    parting = np.broadcast_to(np.asarray(parting, dtype=dtype), (runs,))
    if credibility is None:
        credibility = np.ones(size, dtype)
    credibility = np.asarray(credibility, dtype=dtype)
    kept = stubbornness[..., None, :]
    here = np.swapaxes(positions, -1, -2)  # (R, K, N)
    if credibility.ndim == 1:  # shared by the runs: one product, as Friedkin-Johnsen
        matrix, offset = pairs.followed(credibility)
        listened = listened_by_dimension(positions, matrix)
        listened += offset
    else:
        listened = here + pairs.stood_for
        listened += _followed_linearly(positions - start, influence, credibility)
    if np.any(parting):
        credibility = np.broadcast_to(credibility, (runs, size))
        pairs.parted(here, parting, credibility, listened)
    listened *= 1 - kept
    listened += kept * np.swapaxes(anchors, -1, -2)
    return np.swapaxes(listened, -1, -2)


def _followed_linearly(
    moved: np.ndarray, influence: np.ndarray, credibility: np.ndarray
) -> np.ndarray:
    """sum_j W_ij c_j (y_j - y_i) for the moves y (R, N, K) -> (R, K, N), c (R, N) per run:
    the ties' term where g = 1, as two matrix products."""
    heard = listened_by_dimension(moved * credibility[..., None], influence)
    heard -= np.swapaxes(moved, -1, -2) * (credibility @ influence.T)[..., None, :]
    return heard


def tie_factors(
    apart: np.ndarray, apart_then: np.ndarray, parting: float, axis: int = -2
) -> np.ndarray:
    """g = exp(-(parting * max(0, d - d0))^2) per tie, from the differences theta_j - theta_i
    (..., K, E) now and at step 0 -> (..., E): a tie keeps its weight until the two part.
    `axis`: where the K dimensions lie (-2 as above)."""
    parted = _distance(apart, axis)
    parted -= _distance(apart_then, axis)
    np.maximum(parted, 0, out=parted)
    parted *= parted
    parted *= np.asarray(-parting * parting, dtype=parted.dtype)
    return np.exp(parted, out=parted)


def _distance(apart: np.ndarray, axis: int) -> np.ndarray:
    """Euclidean length along `axis`, a new array; one dimension is an absolute value."""
    if apart.shape[axis] == 1:
        return np.abs(np.squeeze(apart, axis))
    return np.sqrt(np.sum(apart * apart, axis=axis))


def dimension_major(array: np.ndarray, dtype: np.dtype | type | None = None) -> np.ndarray:
    """A copy of (..., N, K) `array` whose N values of each dimension lie side by side in
    memory, as `fj_step` returns them: the kernel's product and its elementwise steps then
    read every array in memory order, with no copy (for K = 1 it is the plain layout)."""
    by_dimension = np.array(np.swapaxes(array, -1, -2), dtype=dtype, order="C")
    return np.swapaxes(by_dimension, -1, -2)


def rest_anchors(
    positions: np.ndarray, stubbornness: np.ndarray, influence: np.ndarray
) -> np.ndarray:
    """Anchors that make `positions` a fixed point of `fj_step`: a = (theta - (1 - S) W theta) / S.

    positions (..., N, K), stubbornness (N,) or (..., N) (all above 0), influence W (N, N).
    Estimated positions come from votes already shaped by the network, so they are a state of
    rest.
    """
    kept = stubbornness[..., None, :]
    listened = listened_by_dimension(positions, influence)  # (..., K, N)
    return np.swapaxes((np.swapaxes(positions, -1, -2) - (1 - kept) * listened) / kept, -1, -2)


@dataclass
class FJState:
    """The arrays one block of runs evolves; shocks edit them in place.

    positions, anchors: (R, N, K); stubbornness: (R, N) or (N,) (a scalar in ``start``), the
    same on every dimension; influence: (N, N) row-stochastic, shared by all runs and
    dimensions; index: ISO3 -> column. parting and turn_cost: the rules of the module
    docstring (0 and 0: Friedkin-Johnsen), floats or (R,) one per run; at_start: the
    positions at step 0 and credibility each member's c_j ((N,), or (R, N) when turn_cost is
    per run), kept only when one of the rules is on; pairs: the ties prepared for the parting
    rule (`TiePairs`), rebuilt when a shock edits W; moving: the rule has left
    Friedkin-Johnsen's rounding once, and is computed exactly from then on.
    """

    positions: np.ndarray
    anchors: np.ndarray
    stubbornness: np.ndarray
    influence: np.ndarray
    index: Mapping[str, int] = field(default_factory=dict)
    parting: float | np.ndarray = 0.0
    turn_cost: float | np.ndarray = 0.0
    at_start: np.ndarray | None = None
    credibility: np.ndarray | None = None
    pairs: TiePairs | None = field(default=None, repr=False, compare=False)
    moving: bool = field(default=False, repr=False, compare=False)

    @classmethod
    def start(
        cls,
        positions: np.ndarray,
        anchors: np.ndarray,
        stubbornness: np.ndarray,
        influence: np.ndarray,
        members: Sequence[str] = (),
        parting: float | np.ndarray = 0.0,
        turn_cost: float | np.ndarray = 0.0,
    ) -> FJState:
        """Own copies of the inputs in the dtype of ``positions``, so shocks never edit them.

        positions (R, N, K), or (N, K) for a single run; anchors broadcast to them; parting
        and turn_cost a scalar, or (R,) one per run (the credibility is then (R, N)).
        """
        positions = np.array(positions, ndmin=3)
        dtype = positions.dtype if positions.dtype.kind == "f" else np.dtype(np.float64)
        runs, size, _ = positions.shape
        stubbornness = np.array(stubbornness, dtype=dtype)
        if stubbornness.ndim == 0:
            stubbornness = np.full(size, stubbornness)
        state = cls(
            positions=dimension_major(positions, dtype),
            anchors=dimension_major(np.broadcast_to(anchors, positions.shape), dtype),
            stubbornness=stubbornness,
            influence=np.array(influence, dtype=dtype),
            index={iso3: i for i, iso3 in enumerate(members)},
            parting=_per_run(parting, runs, dtype),
            turn_cost=_per_run(turn_cost, runs, dtype),
        )
        if np.any(state.parting) or np.any(state.turn_cost):
            state.at_start = state.positions.copy()
            shape = (runs, size) if np.ndim(state.turn_cost) else (size,)
            state.credibility = np.ones(shape, dtype=dtype)
        if state.stubbornness.shape not in {(size,), (runs, size)}:
            raise ValueError(f"stubbornness {state.stubbornness.shape} is not (N,) or (R, N)")
        if state.influence.shape != (size, size):
            raise ValueError(f"influence {state.influence.shape} is not ({size}, {size})")
        return state

    def columns(self, members: str | Sequence[str], shock: object) -> np.ndarray:
        """Column indices of ISO3 codes; an unknown code is a user error naming the shock."""
        codes = [members] if isinstance(members, str) else list(members)
        unknown = [code for code in codes if code not in self.index]
        if unknown:
            name = type(shock).__name__
            raise BlocsimError(f"unknown member {', '.join(unknown)} in {name}", field="member")
        return np.array([self.index[code] for code in codes], dtype=np.intp)

    def step(self) -> None:
        """Advance every run by one synchronous step (Friedkin-Johnsen, or the parting rule).

        Where every member of every run is fully stubborn, either rule gives the anchors
        exactly ((1 - 1) x + 1 a = a): they are taken without the arithmetic.
        """
        if np.all(self.stubbornness == 1):
            self.positions = self.anchors.copy(order="K")
            return
        if self.at_start is None or (not self.moving and self._follows_friedkin_johnsen()):
            self.positions = fj_step(
                self.positions, self.anchors, self.stubbornness, self.influence
            )
            return
        self.moving = True  # the exact rule from now on, without the check above
        if self.pairs is None or not self.pairs.fits(self.influence):
            self.pairs = TiePairs.of(self.influence, self.at_start, self.pairs)
        self.positions = parting_step(
            self.positions,
            self.anchors,
            self.stubbornness,
            self.influence,
            self.at_start,
            self.parting,
            self.credibility,
            self.pairs,
        )

    def _follows_friedkin_johnsen(self) -> bool:
        """Whether the parting rule is Friedkin-Johnsen now, to rounding, so the cheap step
        serves: no member discredited (every c_j = 1) and every g_ij within eps / 8 of 1 (eps
        of the dtype: below its rounding). With g = c = 1 the rule's terms sum, by W's row
        sums of 1, to W theta: the same rule, evaluated in another order. g = 1 exactly with
        parting = 0; with parting > 0, d - d0 <= |y_j - y_i| <= 2 sqrt(K) max |y|, so every
        member within sqrt(eps / 8) / (2 sqrt(K) parting) of its start suffices: a state at
        rest before the first shock, whose only moves are rounding.
        """
        if np.any(self.credibility != 1):
            return False
        parting = float(np.max(self.parting))
        if not parting:
            return True
        dimensions = self.positions.shape[-1]
        reach = math.sqrt(np.finfo(self.positions.dtype).eps / 8) / (
            2 * math.sqrt(dimensions) * parting
        )
        return bool(np.max(np.abs(self.positions - self.at_start)) <= reach)

    def discredit(self, column: int) -> None:
        """The member at `column` was moved by a shock: from now on it is followed
        1 - turn_cost as much (the turn costs it influence)."""
        if np.any(self.turn_cost):
            self.credibility[..., column] = 1.0 - self.turn_cost


def _per_run(value: float | np.ndarray, runs: int, dtype: np.dtype) -> float | np.ndarray:
    """A rule's value: a float, or an (R,) array in the state's dtype (one per run); one value
    for every run is kept as a float (the cheaper shapes of the step)."""
    if np.ndim(value) == 0:
        return float(value)
    value = np.asarray(value, dtype=dtype)
    if value.shape != (runs,):
        raise ValueError(f"a per-run rule value {value.shape} is not ({runs},)")
    if np.all(value == value[0]):
        return float(value[0])
    return value


class Shock(Protocol):
    """An edit of the state at a step (before that step's update)."""

    def apply(self, state: FJState) -> None: ...


@dataclass(frozen=True)
class MoveToward:
    """``member`` moves toward ``target``'s current position by ``fraction`` and stays there.

    It moves on every dimension by the same fraction of the way. Its position and anchor both
    move (the anchor is where it now wants to be). ``fraction``: a scalar or an (R,) array,
    one per run. ``hold``: if given, the member's new stubbornness (e.g. 0.9 to keep it near
    its new anchor against its neighbours).
    """

    member: str
    target: str
    fraction: float | np.ndarray
    hold: float | None = None

    def apply(self, state: FJState) -> None:
        i, target = state.columns([self.member, self.target], self)
        fraction = np.asarray(self.fraction, dtype=state.positions.dtype)
        per_run = fraction[..., None]  # (R, 1) or (1,): the same on every dimension
        here = state.positions[:, i]  # (R, K)
        _move_to(state, i, here + per_run * (state.positions[:, target] - here), self.hold)


@dataclass(frozen=True)
class Shift:
    """``member`` moves by the vector ``by`` (one entry per dimension, in the order of
    `World.axis_names`; missing trailing entries are 0) and stays there.

    Its position and anchor both move, as in `MoveToward`; ``hold``: if given, its new
    stubbornness. "The US turn" as any direction in position space, not only toward a member.
    Each entry of ``by`` is a scalar or an (R,) array, one per run.

    ``followers``: members that follow the move by their own alignment weights (one weight,
    or one per axis), not through the network: each moves, position and anchor, by its
    weights times ``by``, and keeps its stubbornness and its following.
    """

    member: str
    by: tuple[float | np.ndarray, ...]
    hold: float | None = None
    followers: tuple[tuple[str, tuple[float, ...]], ...] = ()

    def apply(self, state: FJState) -> None:
        (i,) = state.columns([self.member], self)
        runs, _, dimensions = state.positions.shape
        if len(self.by) > dimensions:
            raise BlocsimError(
                f"shift of {self.member} by {len(self.by)} values, but positions have "
                f"{dimensions} dimension(s)",
                field="by",
            )
        by = np.zeros((runs, dimensions), dtype=state.positions.dtype)
        for k, value in enumerate(self.by):
            by[:, k] = value
        _move_to(state, i, state.positions[:, i] + by, self.hold)
        if self.followers:
            columns = state.columns([member for member, _ in self.followers], self)
            weights = np.zeros((dimensions, state.positions.shape[1]))  # (K, N): 0 for the others
            weights[:, columns] = self.follower_weights(dimensions).T
            moves = np.swapaxes(by[:, :, None] * weights, -1, -2)  # (R, N, K) dimension-major
            state.positions += moves  # as the state's arrays: no gather and scatter of columns
            state.anchors += moves

    def follower_weights(self, dimensions: int) -> np.ndarray:
        """(F, K) each follower's weights on each axis (one weight: the same on every axis)."""
        return np.array(
            [np.broadcast_to(weights, (dimensions,)) for _, weights in self.followers], dtype=float
        )


@dataclass(frozen=True)
class OnRuns:
    """``shock`` for the runs where ``runs`` (R,) is True only, as when a sweep's runs turn on
    different dates: the other runs keep their positions, anchors, stubbornness and
    credibility exactly (a shock that edits W, shared by all runs, cannot be restricted)."""

    shock: Shock
    runs: np.ndarray

    def apply(self, state: FJState) -> None:
        if isinstance(self.shock, CutTie | AddTie | WeakenCohesion):
            raise BlocsimError("a shock that edits the ties acts on every run", field="date")
        others = ~self.runs
        runs, size, _ = state.positions.shape
        state.stubbornness = np.array(np.broadcast_to(state.stubbornness, (runs, size)))
        if state.credibility is not None:  # one c_j per run from now on
            state.credibility = np.array(np.broadcast_to(state.credibility, (runs, size)))
        kept = [
            (array, array[others].copy())
            for array in (state.positions, state.anchors, state.stubbornness, state.credibility)
            if array is not None
        ]
        self.shock.apply(state)
        for array, values in kept:
            array[others] = values


def _move_to(state: FJState, column: int, moved: np.ndarray, hold: float | None) -> None:
    """A member's position and anchor both become `moved` (R, K); `hold` its stubbornness;
    it pays the state's turn cost."""
    state.positions[:, column] = moved
    state.anchors[:, column] = moved
    if hold is not None:
        state.stubbornness[..., column] = hold
    state.discredit(column)


@dataclass(frozen=True)
class SetStubbornness:
    """``members`` get stubbornness ``value`` (a scalar, or an (R,) array: one per run)."""

    members: tuple[str, ...]
    value: float | np.ndarray

    def apply(self, state: FJState) -> None:
        columns = state.columns(self.members, self)
        value = np.asarray(self.value, dtype=state.stubbornness.dtype)
        if value.ndim == 1 and state.stubbornness.ndim == 1:
            runs = state.positions.shape[0]
            state.stubbornness = np.tile(state.stubbornness, (runs, 1))
        state.stubbornness[..., columns] = value[..., None] if value.ndim else value


@dataclass(frozen=True)
class CutTie:
    """``member`` stops listening to ``neighbour`` (and back, if ``mutual``).

    The rest of its attention is rescaled to sum to 1; a member left with no ties listens
    to itself. This is the same as deleting the edge from the graph and rebuilding W.
    """

    member: str
    neighbour: str
    mutual: bool = True

    def apply(self, state: FJState) -> None:
        i, j = state.columns([self.member, self.neighbour], self)
        pairs = [(i, j), (j, i)] if self.mutual else [(i, j)]
        for listener, source in pairs:
            state.influence[listener, source] = 0.0
        _renormalise_rows(state.influence, np.array([listener for listener, _ in pairs]))


@dataclass(frozen=True)
class AddTie:
    """``member`` gives ``share`` of its attention to ``neighbour`` (and back, if ``mutual``).

    Its other ties keep their proportions and share the remaining 1 - share.
    """

    member: str
    neighbour: str
    share: float
    mutual: bool = True

    def apply(self, state: FJState) -> None:
        i, j = state.columns([self.member, self.neighbour], self)
        pairs = [(i, j), (j, i)] if self.mutual else [(i, j)]
        for listener, source in pairs:
            state.influence[listener] *= 1.0 - self.share
            state.influence[listener, source] += self.share


@dataclass(frozen=True)
class WeakenCohesion:
    """Ties among ``members`` (a bloc) are scaled by ``factor`` (< 1 weakens, > 1 tightens).

    Each member's row is then rescaled to sum to 1, so the attention taken from its bloc
    mates goes to its ties outside the bloc (a member tied only inside sees no change).
    """

    members: tuple[str, ...]
    factor: float

    def apply(self, state: FJState) -> None:
        columns = state.columns(self.members, self)
        inside = np.ix_(columns, columns)
        diagonal = state.influence[columns, columns]
        state.influence[inside] *= self.factor
        state.influence[columns, columns] = diagonal
        _renormalise_rows(state.influence, columns)


def _renormalise_rows(influence: np.ndarray, rows: np.ndarray) -> None:
    """Rows of W rescaled in place to sum to 1; an emptied row listens to itself."""
    totals = influence[rows].sum(axis=1)
    empty = totals <= 0
    influence[rows[~empty]] /= totals[~empty, None]
    influence[rows[empty], rows[empty]] = 1.0


class TrajectoryRecorder:
    """Keeps a copy of the positions at every step: for single runs and figures, not sweeps."""

    def __init__(self) -> None:
        self.steps: list[np.ndarray] = []

    def __call__(self, step: int, positions: np.ndarray) -> None:
        self.steps.append(positions.copy())

    @property
    def trajectory(self) -> np.ndarray:
        """(T + 1, R, N, K): the positions at step 0 (before any shock) and after each step."""
        return np.stack(self.steps)


def run_dynamics(
    positions: np.ndarray,
    anchors: np.ndarray,
    stubbornness: np.ndarray,
    influence: np.ndarray,
    steps: int,
    shocks_by_step: Mapping[int, Sequence[Shock]] | None = None,
    members: Sequence[str] = (),
    recorder: Callable[[int, np.ndarray], None] | None = None,
    parting: float = 0.0,
    turn_cost: float = 0.0,
) -> np.ndarray:
    """Final positions (R, N, K) after ``steps`` synchronous steps; the inputs are not modified.

    ``shocks_by_step[t]`` are applied, in order, before the update from step t to t + 1
    (0 <= t < steps); shocks name members by ISO3, resolved through ``members`` (the
    column order). ``recorder(step, positions)`` is called at step 0 and after each update.
    """
    shocks_by_step = shocks_by_step or {}
    outside = [t for t in shocks_by_step if not 0 <= t < steps]
    if outside:
        raise BlocsimError(f"shock at step {outside[0]} is outside 0..{steps - 1}", field="step")
    state = FJState.start(positions, anchors, stubbornness, influence, members, parting, turn_cost)
    if recorder is not None:
        recorder(0, state.positions)
    for t in range(steps):
        for shock in shocks_by_step.get(t, ()):
            shock.apply(state)
        state.step()
        if recorder is not None:
            recorder(t + 1, state.positions)
    return state.positions

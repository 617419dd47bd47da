"""The one Friedkin-Johnsen kernel over (R, N, K) arrays, and shocks as edits of those arrays.

theta(t+1) = S theta(0) + (I - S) W theta(t), for R runs of N members in K dimensions at once
(a single run is R = 1; every dimension moves by the same W and S). Every state reads the
previous step's positions (synchronous update). Shocks are frozen dataclasses with an
``apply(state)`` that edits an ``FJState`` in place, so the same shock serves the Mesa model
(R = 1) and a sweep block (R = thousands).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from sim.errors import BlocsimError


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
    listened = _listened_by_dimension(positions, influence)  # (..., K, N)
    listened *= 1 - kept  # this form keeps a fully stubborn member exactly still
    listened += kept * np.swapaxes(anchors, -1, -2)
    return np.swapaxes(listened, -1, -2)


def _listened_by_dimension(positions: np.ndarray, influence: np.ndarray) -> np.ndarray:
    """sum_j W_ij theta_jk for every run and dimension: positions (..., N, K) -> (..., K, N).

    One matrix product for all runs and dimensions, as an (R K, N) matrix: a view, without a
    copy, of positions laid out dimension-major.
    """
    return np.tensordot(positions, influence, axes=([-2], [1]))


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
    listened = _listened_by_dimension(positions, influence)  # (..., K, N)
    return np.swapaxes((np.swapaxes(positions, -1, -2) - (1 - kept) * listened) / kept, -1, -2)


@dataclass
class FJState:
    """The arrays one block of runs evolves; shocks edit them in place.

    positions, anchors: (R, N, K); stubbornness: (R, N) or (N,) (a scalar in ``start``), the
    same on every dimension; influence: (N, N) row-stochastic, shared by all runs and
    dimensions; index: ISO3 -> column.
    """

    positions: np.ndarray
    anchors: np.ndarray
    stubbornness: np.ndarray
    influence: np.ndarray
    index: Mapping[str, int] = field(default_factory=dict)

    @classmethod
    def start(
        cls,
        positions: np.ndarray,
        anchors: np.ndarray,
        stubbornness: np.ndarray,
        influence: np.ndarray,
        members: Sequence[str] = (),
    ) -> FJState:
        """Own copies of the inputs in the dtype of ``positions``, so shocks never edit them.

        positions (R, N, K), or (N, K) for a single run; anchors broadcast to them.
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
        )
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
        """Advance every run by one synchronous Friedkin-Johnsen step."""
        self.positions = fj_step(self.positions, self.anchors, self.stubbornness, self.influence)


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
    """

    member: str
    by: tuple[float, ...]
    hold: float | None = None

    def apply(self, state: FJState) -> None:
        (i,) = state.columns([self.member], self)
        dimensions = state.positions.shape[-1]
        if len(self.by) > dimensions:
            raise BlocsimError(
                f"shift of {self.member} by {len(self.by)} values, but positions have "
                f"{dimensions} dimension(s)",
                field="by",
            )
        by = np.zeros(dimensions, dtype=state.positions.dtype)
        by[: len(self.by)] = self.by
        _move_to(state, i, state.positions[:, i] + by, self.hold)


def _move_to(state: FJState, column: int, moved: np.ndarray, hold: float | None) -> None:
    """A member's position and anchor both become `moved` (R, K); `hold` its stubbornness."""
    state.positions[:, column] = moved
    state.anchors[:, column] = moved
    if hold is not None:
        state.stubbornness[..., column] = hold


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
    state = FJState.start(positions, anchors, stubbornness, influence, members)
    if recorder is not None:
        recorder(0, state.positions)
    for t in range(steps):
        for shock in shocks_by_step.get(t, ()):
            shock.apply(state)
        state.step()
        if recorder is not None:
            recorder(t + 1, state.positions)
    return state.positions

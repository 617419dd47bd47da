"""Why a state moved: each member's change of position split exactly into parts.

For one run (R = 1), with y = theta - theta0 a member's move since step 0, one update of the
rule of `sim.model.dynamics` (Friedkin-Johnsen when parting = turn_cost = 0) reads, after
subtracting the state of rest at step 0 term by term:

    y_i(t+1) = [s_i (a_i - theta0_i) - s_i(0) (a_i(0) - theta0_i)]                 (own)
             + sum_j [(1 - s_i) W_ij - (1 - s_i(0)) W_ij(0)] (theta0_j - theta0_i)  (via j)
             + sum_j (1 - s_i) W_ij c_j g_ij y_j(t)                                   (via j)
             + k_i y_i(t),    k_i = (1 - s_i) (1 - sum_{j != i} W_ij c_j g_ij)

(everything read at step t after that step's shocks). So a member's move at every step is
what each partner's move passed on to it (weight times that partner's move), plus what its
own anchor and stubbornness did, plus the share k_i of its own last move it keeps (attention
its ties lost stays with it; k_i = 0 under Friedkin-Johnsen on a W without self-ties). The
parts are carried from step to step: the kept share k_i keeps each part's share, and a shock's
jump of the member's own position is added to **direct**. Hence, exactly and for every rule:

- **via j**: what listening to j moved it — mostly j's own move, weighted by how much i
  listens to j (the first tie on the way; j's move may itself come from elsewhere);
- **own**: its anchor and stubbornness (a new anchor, or a changed stubbornness);
- **direct**: the jumps shocks made to its own position, as far as it kept them;

and direct + own + sum_j via_j = y_i(T), to rounding, by induction over the steps (not a
linearisation). A member none of whose partners ever moves gets exactly zero. The per-step
state is recorded (`StateRecorder`), never stepped again here: `FJState.step` moves the
members and this module only splits what it did.

**Per shock: Shapley values.** With several shocks the parts are split among them by their
Shapley values: the run is repeated for every subset S of the shocks (the dynamics are
deterministic; at most `MAX_SHOCKS`, 2^n runs), v(S) = parts(run with S) - parts(run with
none), and each shock gets its average marginal contribution over the orders in which the
shocks could be added. So the parts per (shock, via) add up exactly to the change the shocks
made, theta(T) - theta_without_shocks(T), which for a world at rest is the change itself; a
member no shock reaches gets exactly zero. For Friedkin-Johnsen with shifts at one step that
leave stubbornness alone the dynamics are linear and each shock's Shapley value is its own
response (the run with that shock alone). A later shock interacts with an earlier one even
then: a shift or move sets the member's anchor where it stands, keeping what the earlier
shock had moved it.

**Headline.** Each vector part is projected on one unit direction per member, so the
projections still add up: "toward the shocked state", from the member's start to the final
position of the state a shock moved furthest (the largest jump any shock made in the run
with every shock); on a one-axis world simply the sign of the way to it. With no shock that moves a
member, the direction is the Ukraine axis (toward Moscow).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from sim.errors import BlocsimError
from sim.model.dynamics import FJState, Shock, tie_factors

MAX_SHOCKS = 10  # Shapley values run every subset of the shocks: 2^10 runs at most
DIRECT, OWN = "direct", "own"  # the `via` of the parts that are not through a neighbour
TOWARD_AXIS = "Moscow on the ukraine axis"  # the headline's direction when no shock moved one


@dataclass(frozen=True)
class StepInputs:
    """What one update of a single run read: the state after that step's shocks, and where
    the members stood before the shocks (their jumps are the `direct` part)."""

    before: np.ndarray  # (N, K)
    positions: np.ndarray  # (N, K), after the step's shocks
    anchors: np.ndarray  # (N, K)
    stubbornness: np.ndarray  # (N,)
    influence: np.ndarray  # (N, N), shared with the previous step's while no shock edits it
    credibility: np.ndarray | None  # (N,), None: every c_j = 1


class StateRecorder:
    """Records a single run's `FJState` (R = 1): at the start, and at every step after the
    shocks, just before `FJState.step`. Call it as `recorder(state, before)` with the
    positions (N, K) the members had before the step's shocks."""

    def __init__(self, state: FJState) -> None:
        self.parting = state.parting
        self.rest = self._inputs(state, state.positions[0], None)  # step 0, before any shock
        self.steps: list[StepInputs] = []

    def __call__(self, state: FJState, before: np.ndarray) -> None:
        self.steps.append(self._inputs(state, before, self.steps[-1] if self.steps else self.rest))

    @staticmethod
    def _inputs(state: FJState, before: np.ndarray, last: StepInputs | None) -> StepInputs:
        influence = state.influence
        if last is not None and np.array_equal(last.influence, influence):
            influence = last.influence
        else:
            influence = influence.copy()
        size = influence.shape[0]
        credibility = state.credibility
        return StepInputs(
            before=np.array(before, dtype=np.float64),
            positions=np.array(state.positions[0], dtype=np.float64),
            anchors=np.array(state.anchors[0], dtype=np.float64),
            stubbornness=np.array(np.broadcast_to(state.stubbornness, (1, size))[0]),
            influence=influence,
            credibility=None if credibility is None else credibility.copy(),
        )


@dataclass(frozen=True)
class Parts:
    """Each member's change split into parts: direct (N, K), own (N, K), via (N, N, K) with
    via[i, j] what member i's ties to j moved it (via[i, i] = 0)."""

    direct: np.ndarray
    own: np.ndarray
    via: np.ndarray

    def total(self) -> np.ndarray:
        """(N, K) the sum of the parts: the change they explain."""
        return self.direct + self.own + self.via.sum(axis=1)

    def __add__(self, other: Parts) -> Parts:
        return Parts(self.direct + other.direct, self.own + other.own, self.via + other.via)

    def __sub__(self, other: Parts) -> Parts:
        return Parts(self.direct - other.direct, self.own - other.own, self.via - other.via)

    def __mul__(self, factor: float) -> Parts:
        return Parts(self.direct * factor, self.own * factor, self.via * factor)


def decompose(recorder: StateRecorder, steps: int | None = None) -> Parts:
    """The parts of each member's move over the first `steps` recorded updates (default: all),
    carried step by step by the module docstring's recursion. They add up to the move when
    step 0 is at rest (every `World` starts so); from elsewhere each step's rest residual is
    left out, which the Shapley parts of `explain` cancel (they subtract the run without
    shocks)."""
    rest = recorder.rest
    start = rest.positions
    size, dimensions = start.shape
    stood_for = start[None, :, :] - start[:, None, :]  # theta0_j - theta0_i (N, N, K)
    listened_at_rest = _listened(rest)
    own_at_rest = rest.stubbornness[:, None] * (rest.anchors - start)
    direct = np.zeros((size, dimensions))
    own = np.zeros((size, dimensions))
    via = np.zeros((size, size, dimensions))
    for inputs in recorder.steps[:steps]:
        direct += inputs.positions - inputs.before  # the step's shocks, before its update
        listened = _listened(inputs)
        follow = listened * _following(inputs, stood_for, recorder.parting)  # (N, N)
        kept = (1 - inputs.stubbornness) - follow.sum(axis=1)  # k_i
        direct *= kept[:, None]
        own *= kept[:, None]
        via *= kept[:, None, None]
        own += inputs.stubbornness[:, None] * (inputs.anchors - start) - own_at_rest
        via += (listened - listened_at_rest)[..., None] * stood_for
        via += follow[..., None] * (inputs.positions - start)[None, :, :]
    return Parts(direct, own, via)


def _listened(inputs: StepInputs) -> np.ndarray:
    """(1 - s_i) W_ij (N, N) without self-ties (a self-tie passes on no one's move)."""
    listened = (1 - inputs.stubbornness)[:, None] * inputs.influence
    np.fill_diagonal(listened, 0.0)
    return listened


def _following(inputs: StepInputs, stood_for: np.ndarray, parting: float) -> np.ndarray:
    """c_j g_ij (N, N): how much of a partner's move each tie passes on at this step
    (`stood_for`: theta0_j - theta0_i, (N, N, K))."""
    size, _, dimensions = stood_for.shape
    factor = np.ones((size, size))
    if parting:
        apart = inputs.positions[None, :, :] - inputs.positions[:, None, :]
        flat = (size * size, dimensions)
        factor = tie_factors(apart.reshape(flat).T, stood_for.reshape(flat).T, parting)
        factor = factor.reshape(size, size)
    if inputs.credibility is not None:
        factor = factor * inputs.credibility[None, :]
    return factor


def record_run(
    start: FJState, shocks_by_step: Mapping[int, Sequence[Shock]], steps: int
) -> tuple[StateRecorder, np.ndarray]:
    """Run a copy of `start` (R = 1) for `steps` steps with the shocks, recording every step:
    the recorder and the final positions (N, K)."""
    state = copy.deepcopy(start)
    recorder = StateRecorder(state)
    for t in range(steps):
        before = state.positions[0].copy()
        for shock in shocks_by_step.get(t, ()):
            shock.apply(state)
        recorder(state, before)
        state.step()
    return recorder, state.positions[0].copy()


@dataclass(frozen=True)
class Explanation:
    """Each shock's parts (Shapley values) and the headline direction of every member."""

    shocks: tuple[str, ...]  # labels, in the order given
    parts: tuple[Parts, ...]  # one per shock
    start: np.ndarray  # (N, K) positions at step 0
    end: np.ndarray  # (N, K) positions at the last step, with every shock
    toward: np.ndarray  # (N, K) unit directions of the headline (0: no direction)
    toward_state: int | None  # column of the state a shock moved furthest (None: the axis)

    def total(self) -> np.ndarray:
        """(N, K) what the parts add up to: the change the shocks made."""
        return sum((parts.total() for parts in self.parts), np.zeros_like(self.start))


def explain(
    start: FJState,
    shocks: Sequence[tuple[int, Shock]],
    steps: int,
    labels: Sequence[str] | None = None,
    ukraine_axis: int = 0,
) -> Explanation:
    """Shapley parts of each shock for a single run from `start` (R = 1): `shocks` are
    (step, shock) pairs, applied in the order given before the update of their step."""
    count = len(shocks)
    if count > MAX_SHOCKS:
        raise BlocsimError(
            f"{count} shocks: explaining a run splits it among at most {MAX_SHOCKS} shocks "
            f"(every subset is run, 2^n runs)",
            field="shocks",
        )
    labels = _distinct(labels if labels is not None else [f"shock {k}" for k in range(count)])
    none, end = record_run(start, {}, steps)
    baseline = decompose(none)
    values = [Parts(*(np.zeros_like(a) for a in (baseline.direct, baseline.own, baseline.via)))]
    values *= count
    for subset in range(1, 2**count):
        members = [k for k in range(count) if subset >> k & 1]
        recorder, end = record_run(start, _by_step([shocks[k] for k in members]), steps)
        worth = decompose(recorder) - baseline
        size = len(members)
        for k in range(count):
            if k in members:
                values[k] = values[k] + worth * _shapley_weight(size - 1, count)
            else:
                values[k] = values[k] - worth * _shapley_weight(size, count)
    full = recorder if count else none  # the last subset run is the one with every shock
    shocked = {start.index.get(getattr(shock, "member", None)) for _, shock in shocks} - {None}
    among = sorted(shocked) if shocked else None
    toward_state, direction = toward(full, none.rest.positions, end, ukraine_axis, among)
    return Explanation(labels, tuple(values), none.rest.positions, end, direction, toward_state)


def _distinct(labels: Sequence[str]) -> tuple[str, ...]:
    """The labels, a repeated one numbered (" #2", " #3"), so every shock has its own rows."""
    seen: dict[str, int] = {}
    distinct = []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        distinct.append(label if seen[label] == 1 else f"{label} #{seen[label]}")
    return tuple(distinct)


def _by_step(shocks: Sequence[tuple[int, Shock]]) -> dict[int, list[Shock]]:
    by_step: dict[int, list[Shock]] = {}
    for step, shock in shocks:
        by_step.setdefault(step, []).append(shock)
    return by_step


def _shapley_weight(others: int, count: int) -> float:
    """|S|! (n - |S| - 1)! / n!: the share of orders in which a shock joins `others` shocks."""
    return math.factorial(others) * math.factorial(count - others - 1) / math.factorial(count)


def toward(
    recorder: StateRecorder,
    start: np.ndarray,
    end: np.ndarray,
    ukraine_axis: int = 0,
    among: Sequence[int] | None = None,
) -> tuple[int | None, np.ndarray]:
    """The headline: the column of the state a shock moved furthest in the recorded run (None:
    no shock moved one; `among`: only these columns, the shocks' own members, so that a
    follower that moved further than the US is not what the others move toward) and each
    member's unit direction (N, K) toward where that state ended (`end`)."""
    state = _largest_mover(recorder, among)
    return state, _directions(start, end, state, ukraine_axis)


def _largest_mover(recorder: StateRecorder, among: Sequence[int] | None = None) -> int | None:
    """The member with the largest jump a shock made (None if no shock moved one)."""
    jumps = np.array([np.linalg.norm(s.positions - s.before, axis=-1) for s in recorder.steps])
    if among is not None and jumps.size:
        jumps[:, np.setdiff1d(np.arange(jumps.shape[1]), among)] = 0.0
    if not jumps.size or not np.any(jumps):
        return None
    return int(np.unravel_index(np.argmax(jumps), jumps.shape)[1])


def _directions(
    start: np.ndarray, end: np.ndarray, toward_state: int | None, ukraine_axis: int
) -> np.ndarray:
    """Unit vectors (N, K) from each member's start to the final position of `toward_state`
    (zero where the two coincide); with no such state, the Ukraine axis."""
    if toward_state is None:
        direction = np.zeros_like(start)
        direction[:, ukraine_axis] = 1.0
        return direction
    way = end[toward_state][None, :] - start
    length = np.linalg.norm(way, axis=-1, keepdims=True)
    return np.divide(way, length, out=np.zeros_like(way), where=length > 0)


def explain_table(
    explanation: Explanation,
    members: Sequence[str],
    axis_names: Sequence[str],
    only: Sequence[int] | None = None,
) -> pd.DataFrame:
    """The long table of `explain.csv`: one row per member, shock and part (`via`: a member's
    ISO3, "own" or "direct"), one column per axis, and `toward` (the part on the member's
    headline direction). Every member has its own and direct rows; a via row only where the
    part is not exactly zero. Rows: members in order (`only`: these columns), shocks in order,
    then direct, own and the neighbours by how much they moved it either way."""
    iso3 = np.asarray(members)
    rows = np.arange(len(iso3)) if only is None else np.asarray(only, dtype=np.intp)
    frames = []
    for number, (label, parts) in enumerate(
        zip(explanation.shocks, explanation.parts, strict=True)
    ):
        via = parts.via[rows]  # (M, N, K)
        listener, source = np.nonzero(via.any(axis=-1))
        vectors = np.concatenate([parts.direct[rows], parts.own[rows], via[listener, source]])
        member = np.concatenate([rows, rows, rows[listener]])
        frame = pd.DataFrame(vectors, columns=list(axis_names))
        kind = [DIRECT] * len(rows) + [OWN] * len(rows)
        frame.insert(0, "via", np.concatenate([kind, iso3[source]]))
        frame.insert(0, "shock", label)
        frame.insert(0, "iso3", iso3[member])
        frame["toward"] = np.einsum("rk,rk->r", vectors, explanation.toward[member])
        order = pd.DataFrame(
            {
                "member": member,
                "shock": number,
                "kind": np.concatenate(
                    [np.zeros(len(rows)), np.ones(len(rows)), np.full(len(listener), 2)]
                ),
                "size": -np.abs(frame["toward"].to_numpy()),
            }
        )
        frames.append((frame, order))
    if not frames:  # no shocks: nothing moved
        return pd.DataFrame(columns=["iso3", "shock", "via", *axis_names, "toward"])
    table = pd.concat([frame for frame, _ in frames], ignore_index=True)
    order = pd.concat([order for _, order in frames], ignore_index=True)
    by = order.sort_values(["member", "shock", "kind", "size"], kind="stable").index
    return table.loc[by].reset_index(drop=True)


def shock_label(shock: Shock, day: date, acts: date | None = None) -> str:
    """A shock in a few words and the date the scenario gives it, e.g. "USA turns toward RUS
    (2025-01-20)"; with `acts`, the grid date of the step it acts in, said when it is another
    day: "USA turns toward RUS (2025-01-20; acts at the step of 2025-01-14)"."""
    kind = type(shock).__name__
    member = getattr(shock, "member", "")
    other = getattr(shock, "target", "") or getattr(shock, "neighbour", "")
    words = {
        "MoveToward": f"{member} turns toward {other}",
        "Shift": f"{member} shifts",
        "CutTie": f"{member} cuts its tie to {other}",
        "AddTie": f"{member} ties to {other}",
    }.get(kind)
    if words is None:
        named = getattr(shock, "members", ())
        words = f"{kind} of {', '.join(named)}" if len(named) <= 3 else f"{kind} of {len(named)}"
    when = f"{day}; acts at the step of {acts}" if acts not in (None, day) else f"{day}"
    return f"{words} ({when})"

"""The Friedkin-Johnsen kernel and its shocks in K dimensions, on the real influence network."""

from __future__ import annotations

import numpy as np
import pytest

from sim.data.loader import UNData
from sim.errors import BlocsimError
from sim.model.dynamics import (
    AddTie,
    CutTie,
    FJState,
    MoveToward,
    SetStubbornness,
    Shift,
    TrajectoryRecorder,
    WeakenCohesion,
    fj_step,
    parting_step,
    rest_anchors,
    run_dynamics,
)
from sim.model.network import build_network, influence_matrix
from sim.model.tie_kernels import ROUNDING

N = 193


@pytest.fixture(scope="module")
def influence(data: UNData) -> np.ndarray:
    graph = build_network(data.members, data.history, until="2025-02-24")
    return influence_matrix(graph, data.iso3)


@pytest.fixture(scope="module")
def members(data: UNData) -> tuple[str, ...]:
    return data.iso3


def starting_point(runs: int, seed: int = 0, dimensions: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Positions (R, N, K) in [-2, 2] and stubbornness (R, N) in [0.05, 0.6]."""
    rng = np.random.default_rng(seed)
    return rng.uniform(-2, 2, (runs, N, dimensions)), rng.uniform(0.05, 0.6, (runs, N))


def synthetic_influence(seed: int) -> np.ndarray:
    """A random row-stochastic W (N, N): the kernel must not rely on the real network's form."""
    weights = np.random.default_rng(seed).exponential(1.0, (N, N))
    return weights / weights.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("dimensions", [1, 3])
def test_kernel_is_the_agent_by_agent_rule(dimensions: int) -> None:
    influence = synthetic_influence(dimensions)
    positions, stubbornness = starting_point(3, seed=dimensions, dimensions=dimensions)
    anchors = np.random.default_rng(9).uniform(-2, 2, positions.shape)
    kernel, by_agent = positions, positions
    for _ in range(20):
        kernel = fj_step(kernel, anchors, stubbornness, influence)
        previous = by_agent
        by_agent = np.empty_like(previous)
        for run in range(3):
            for i in range(N):
                for k in range(dimensions):
                    heard = sum(influence[i, j] * previous[run, j, k] for j in range(N))
                    s = stubbornness[run, i]
                    by_agent[run, i, k] = s * anchors[run, i, k] + (1 - s) * heard
    assert kernel.shape == (3, N, dimensions)
    np.testing.assert_allclose(kernel, by_agent, rtol=0, atol=1e-12)


def test_one_dimension_gives_the_one_dimensional_kernel_s_very_numbers(influence) -> None:
    """K = 1 is the (R, N) kernel of before, bit for bit, in float32 and float64."""
    for dtype in (np.float32, np.float64):
        positions, stubbornness = (a.astype(dtype) for a in starting_point(50, seed=4))
        flat, weights = positions[..., 0], influence.astype(dtype)
        anchors = (flat - (1 - stubbornness) * (flat @ weights.T)) / stubbornness
        np.testing.assert_array_equal(
            rest_anchors(positions, stubbornness, weights)[..., 0], anchors
        )
        kernel = positions
        for _ in range(10):
            step = flat @ weights.T
            step *= 1 - stubbornness
            step += stubbornness * anchors
            flat = step
            kernel = fj_step(kernel, anchors[..., None], stubbornness, weights)
        assert kernel.dtype == dtype
        np.testing.assert_array_equal(kernel[..., 0], flat)


def test_rest_anchors_hold_every_dimension_still(influence) -> None:
    positions, stubbornness = starting_point(4, seed=5, dimensions=3)
    anchors = rest_anchors(positions, stubbornness, influence)
    np.testing.assert_allclose(
        fj_step(positions, anchors, stubbornness, influence), positions, atol=1e-12
    )
    single = rest_anchors(positions[0], stubbornness[0], influence)  # (N, K), one run
    np.testing.assert_allclose(single, anchors[0], atol=1e-12)


def test_a_batch_gives_the_numbers_of_single_runs(influence: np.ndarray, members) -> None:
    positions, stubbornness = starting_point(8)
    shocks = {5: [MoveToward("USA", "RUS", np.linspace(0, 1, 8), hold=0.9)]}
    batch = run_dynamics(positions, positions, stubbornness, influence, 30, shocks, members)
    for run in range(8):
        single_shocks = {5: [MoveToward("USA", "RUS", np.linspace(0, 1, 8)[run], hold=0.9)]}
        single = run_dynamics(
            positions[run : run + 1],
            positions[run : run + 1],
            stubbornness[run],
            influence,
            30,
            single_shocks,
            members,
        )
        np.testing.assert_allclose(batch[run : run + 1], single, rtol=0, atol=1e-12)


@pytest.mark.parametrize("dimensions", [1, 3])
def test_float32_batches_stay_float32(influence: np.ndarray, dimensions: int) -> None:
    positions, stubbornness = starting_point(1000, dimensions=dimensions)
    positions = positions.astype(np.float32)
    final = run_dynamics(positions, positions, stubbornness[0], influence, 50)
    exact = run_dynamics(positions.astype(np.float64), positions, stubbornness[0], influence, 50)
    assert final.dtype == np.float32 and final.shape == (1000, N, dimensions)
    np.testing.assert_allclose(final, exact, atol=1e-4)


def test_converges_to_the_closed_form(influence: np.ndarray) -> None:
    positions, stubbornness = starting_point(1, dimensions=2)
    s = np.diag(stubbornness[0])
    closed = np.linalg.solve(np.eye(N) - (np.eye(N) - s) @ influence, s @ positions[0])  # (N, K)
    final = run_dynamics(positions, positions, stubbornness[0], influence, 400)
    np.testing.assert_allclose(final[0], closed, atol=1e-10)


def test_fully_stubborn_members_never_move(influence: np.ndarray) -> None:
    positions, stubbornness = starting_point(2)
    stubbornness[:, :10] = 1.0
    recorder = TrajectoryRecorder()
    run_dynamics(positions, positions, stubbornness, influence, 25, recorder=recorder)
    trajectory = recorder.trajectory
    assert trajectory.shape == (26, 2, N, 1)
    assert (trajectory[:, :, :10] == positions[:, :10]).all()
    assert not np.allclose(trajectory[-1, :, 10:], positions[:, 10:])


def test_move_toward_puts_a_member_on_its_target(influence: np.ndarray, members) -> None:
    usa, rus = members.index("USA"), members.index("RUS")
    positions = np.zeros((1, N, 1))
    positions[0, rus] = 3.0
    stubbornness = np.full(N, 0.3)
    stubbornness[rus] = 1.0
    state = FJState.start(positions, positions, stubbornness, influence, members)
    MoveToward("USA", "RUS", 1.0, hold=1.0).apply(state)
    assert state.positions[0, usa] == state.anchors[0, usa] == 3.0
    clients = [members.index(c) for c in ("ISR", "PLW", "MHL", "FSM")]
    before = state.positions[0, clients].copy()
    for _ in range(10):
        state.step()
    assert state.positions[0, usa] == 3.0
    assert (state.positions[0, clients] > before + 0.3).all()
    assert positions[0, usa] == 0.0  # the caller's arrays are not edited


def test_move_toward_by_a_fraction_per_run(influence: np.ndarray, members) -> None:
    positions = np.zeros((3, N, 1))
    positions[:, members.index("RUS")] = 2.0
    state = FJState.start(positions, positions, np.full(N, 0.5), influence, members)
    MoveToward("USA", "RUS", np.array([0.0, 0.5, 1.0])).apply(state)
    np.testing.assert_array_equal(state.positions[:, members.index("USA"), 0], [0.0, 1.0, 2.0])


def test_move_toward_moves_on_every_dimension(influence: np.ndarray, members) -> None:
    usa, rus = members.index("USA"), members.index("RUS")
    positions = np.zeros((2, N, 3))
    positions[:, usa] = [-1.0, 0.0, 4.0]
    positions[:, rus] = [3.0, 2.0, -4.0]
    state = FJState.start(positions, positions, np.full(N, 0.5), influence, members)
    MoveToward("USA", "RUS", np.array([0.25, 0.5]), hold=0.8).apply(state)
    np.testing.assert_array_equal(state.positions[:, usa], [[0.0, 0.5, 2.0], [1.0, 1.0, 0.0]])
    np.testing.assert_array_equal(state.anchors[:, usa], state.positions[:, usa])
    assert state.stubbornness[usa] == 0.8
    np.testing.assert_array_equal(state.positions[:, rus], positions[:, rus])


def test_a_shift_moves_a_member_exactly_by_its_vector(influence: np.ndarray, members) -> None:
    usa = members.index("USA")
    positions, stubbornness = starting_point(2, seed=6, dimensions=3)
    state = FJState.start(positions, positions, stubbornness, influence, members)
    Shift("USA", (0.75, -0.5), hold=0.9).apply(state)  # the third entry is 0
    np.testing.assert_array_equal(
        state.positions[:, usa], positions[:, usa] + np.array([0.75, -0.5, 0.0])
    )
    np.testing.assert_array_equal(state.anchors[:, usa], state.positions[:, usa])
    assert (state.stubbornness[:, usa] == 0.9).all()
    others = np.arange(N) != usa
    np.testing.assert_array_equal(state.positions[:, others], positions[:, others])


def test_followers_of_a_shift_move_by_their_weights_times_it(influence, members) -> None:
    """One weight scales the whole move, one per axis scales each entry; the followers keep
    their stubbornness and credibility, the others do not move."""
    positions, stubbornness = starting_point(2, seed=7, dimensions=3)
    state = FJState.start(positions, positions, stubbornness, influence, members, turn_cost=0.5)
    followers = (("ISR", (0.5,)), ("HUN", (0.2, 1.0, -1.0)))
    Shift("USA", (0.8, 1.0, -2.0), hold=1.0, followers=followers).apply(state)
    isr, hun, usa = (members.index(m) for m in ("ISR", "HUN", "USA"))
    by = np.array([0.8, 1.0, -2.0])
    np.testing.assert_allclose(state.positions[:, isr], positions[:, isr] + 0.5 * by)
    np.testing.assert_allclose(state.positions[:, hun], positions[:, hun] + [0.16, 1.0, 2.0])
    np.testing.assert_array_equal(state.anchors[:, [isr, hun]], state.positions[:, [isr, hun]])
    np.testing.assert_array_equal(state.stubbornness[:, [isr, hun]], stubbornness[:, [isr, hun]])
    assert state.credibility[usa] == 0.5 and state.credibility[[isr, hun]].tolist() == [1.0, 1.0]
    others = ~np.isin(np.arange(N), [isr, hun, usa])
    np.testing.assert_array_equal(state.positions[:, others], positions[:, others])


def test_a_shift_longer_than_the_dimensions_is_refused(influence: np.ndarray, members) -> None:
    state = FJState.start(np.zeros((1, N, 2)), np.zeros((1, N, 2)), 0.5, influence, members)
    with pytest.raises(BlocsimError, match="by 3 values, but positions have 2 dimension"):
        Shift("USA", (1.0, 0.0, 1.0)).apply(state)


def test_set_stubbornness_per_run(influence: np.ndarray, members) -> None:
    state = FJState.start(
        np.zeros((2, N, 1)), np.zeros((2, N, 1)), np.full(N, 0.5), influence, members
    )
    SetStubbornness(("HUN", "SVK"), np.array([0.1, 0.9])).apply(state)
    assert state.stubbornness.shape == (2, N)
    assert state.stubbornness[1, members.index("SVK")] == pytest.approx(0.9)
    assert state.stubbornness[0, members.index("FRA")] == 0.5


def test_cut_tie_silences_a_neighbour(influence: np.ndarray, members) -> None:
    state = FJState.start(
        np.zeros((1, N, 1)), np.zeros((1, N, 1)), np.full(N, 0.5), influence, members
    )
    isr, usa = members.index("ISR"), members.index("USA")
    assert state.influence[isr, usa] > 0
    CutTie("ISR", "USA").apply(state)
    assert state.influence[isr, usa] == state.influence[usa, isr] == 0.0
    np.testing.assert_allclose(state.influence.sum(axis=1), 1.0)
    assert influence[isr, usa] > 0  # the network's own W is untouched


def test_add_tie_gives_a_share_of_attention(influence: np.ndarray, members) -> None:
    state = FJState.start(
        np.zeros((1, N, 1)), np.zeros((1, N, 1)), np.full(N, 0.5), influence, members
    )
    bra, chn = members.index("BRA"), members.index("CHN")
    AddTie("BRA", "CHN", 0.4, mutual=False).apply(state)
    assert state.influence[bra, chn] == pytest.approx(0.4 + 0.6 * influence[bra, chn])
    np.testing.assert_allclose(state.influence.sum(axis=1), 1.0)
    np.testing.assert_array_equal(state.influence[chn], influence[chn])


def test_weaker_cohesion_moves_attention_outside_the_bloc(
    influence: np.ndarray, members, data: UNData
) -> None:
    eu = tuple(data.members.loc[data.members["eu"] == 1, "iso3"])
    columns = [members.index(m) for m in eu]
    state = FJState.start(
        np.zeros((1, N, 1)), np.zeros((1, N, 1)), np.full(N, 0.5), influence, members
    )
    WeakenCohesion(eu, 0.5).apply(state)
    inside_before = influence[np.ix_(columns, columns)].sum(axis=1)
    inside_after = state.influence[np.ix_(columns, columns)].sum(axis=1)
    assert (inside_after < inside_before).all()
    np.testing.assert_allclose(state.influence.sum(axis=1), 1.0)


def test_shocks_name_real_members_and_steps(influence: np.ndarray, members) -> None:
    positions = np.zeros((1, N, 1))
    with pytest.raises(BlocsimError, match="XYZ"):
        run_dynamics(positions, positions, 0.5, influence, 5, {1: [CutTie("XYZ", "USA")]}, members)
    with pytest.raises(BlocsimError, match="step"):
        run_dynamics(positions, positions, 0.5, influence, 5, {5: [CutTie("FRA", "USA")]}, members)


@pytest.mark.parametrize("dimensions", [1, 3])
def test_parting_kernel_is_the_agent_by_agent_rule(dimensions: int) -> None:
    """Each member: s a_i + (1 - s) (x_i + sum_j W_ij (x0_j - x0_i) + sum_j W_ij c_j g_ij
    (y_j - y_i)), y = x - x0, g_ij = exp(-(parting max(0, |x_j - x_i| - |x0_j - x0_i|))^2),
    read tie by tie."""
    influence = synthetic_influence(10 + dimensions)
    influence[influence < np.quantile(influence, 0.7)] = 0  # a sparse W, like the real one
    influence /= influence.sum(axis=1, keepdims=True)
    start, stubbornness = starting_point(2, seed=dimensions, dimensions=dimensions)
    anchors = np.random.default_rng(3).uniform(-2, 2, start.shape)  # not at rest: it moves
    credibility = np.random.default_rng(4).uniform(0.5, 1.0, N)
    parting = 0.7
    kernel = by_agent = start
    for _ in range(5):
        kernel = parting_step(kernel, anchors, stubbornness, influence, start, parting, credibility)
        previous = by_agent
        by_agent = np.empty_like(previous)
        for run in range(2):
            x, x0 = previous[run], start[run]
            for i in range(N):
                heard = x[i].copy()
                for j in np.flatnonzero(influence[i]):
                    if j == i:
                        continue
                    now = np.linalg.norm(x[j] - x[i])
                    then = np.linalg.norm(x0[j] - x0[i])
                    kept = np.exp(-((parting * max(0.0, now - then)) ** 2))
                    moved = (x[j] - x0[j]) - (x[i] - x0[i])
                    heard += influence[i, j] * (x0[j] - x0[i])
                    heard += influence[i, j] * credibility[j] * kept * moved
                s = stubbornness[run, i]
                by_agent[run, i] = s * anchors[run, i] + (1 - s) * heard
    assert not np.allclose(kernel, start)
    np.testing.assert_allclose(kernel, by_agent, rtol=0, atol=1e-12)


def test_parting_zero_is_friedkin_johnsen_and_rest_stays_at_rest(influence) -> None:
    start, stubbornness = starting_point(3, seed=5, dimensions=3)
    positions = start + np.random.default_rng(2).normal(0, 0.3, start.shape)
    anchors = np.random.default_rng(1).uniform(-2, 2, start.shape)
    np.testing.assert_allclose(
        parting_step(positions, anchors, stubbornness, influence, start, 0.0),
        fj_step(positions, anchors, stubbornness, influence),
        rtol=0,
        atol=1e-12,
    )
    at_rest = rest_anchors(start, stubbornness, influence)
    credibility = np.full(N, 0.5)
    np.testing.assert_allclose(
        parting_step(start, at_rest, stubbornness, influence, start, 5.0, credibility),
        start,
        rtol=0,
        atol=1e-12,
    )


def test_a_partner_that_turns_away_is_followed_less(members) -> None:
    """ARG listens to the US and to BRA; the US moves away from ARG. Friedkin-Johnsen pulls ARG
    along; with parting the tie weakens as the two part, with a turn cost at once. A member
    the US moves toward (CHL: the distance shrinks) keeps following it, and parts from BRA,
    which holds it back, so it goes further than under Friedkin-Johnsen."""
    codes = ("USA", "ARG", "BRA", "CHL")
    influence = np.array(
        [
            [1.0, 0.0, 0.0, 0.0],
            [0.5, 0.0, 0.5, 0.0],
            [0.0, 0.0, 1.0, 0.0],
            [0.5, 0.0, 0.5, 0.0],
        ]
    )
    positions = np.array([[[0.0], [-1.0], [-1.0], [3.0]]])
    stubbornness = np.full(4, 0.3)
    anchors = rest_anchors(positions, stubbornness, influence)

    def moved(parting: float, turn_cost: float) -> np.ndarray:
        final = run_dynamics(
            positions,
            anchors,
            stubbornness,
            influence,
            40,
            {0: [Shift("USA", (1.0,), hold=1.0)]},
            codes,
            parting=parting,
            turn_cost=turn_cost,
        )
        return (final - positions)[0, :, 0]

    fj, parting, costly = moved(0.0, 0.0), moved(1.5, 0.0), moved(0.0, 0.5)
    arg, chl = codes.index("ARG"), codes.index("CHL")
    assert fj[arg] > 0 and 0 < parting[arg] < fj[arg] and 0 < costly[arg] < fj[arg]
    assert parting[chl] > fj[chl] > 0
    # ARG at rest again: y = 0.7 (y + c/2 (1 - y) - y/2), so y = 0.35 c / (1 - 0.35 (1 - c))
    for cost, result in ((0.0, fj), (0.5, costly)):
        c = 1 - cost
        assert result[arg] == pytest.approx(0.35 * c / (1 - 0.35 * (1 - c)), abs=1e-9)
    assert fj[codes.index("BRA")] == 0  # no path to the US: not moved


def test_turn_cost_discredits_the_moved_member_only(members) -> None:
    influence = synthetic_influence(4)
    positions, stubbornness = starting_point(1, seed=3)
    state = FJState.start(positions, positions, stubbornness, influence, members, turn_cost=0.25)
    Shift("USA", (1.0,)).apply(state)
    expected = np.ones(N)
    expected[members.index("USA")] = 0.75
    np.testing.assert_array_equal(state.credibility, expected)
    np.testing.assert_array_equal(state.influence, influence)  # what it stood for is kept


@pytest.mark.parametrize("dimensions", [1, 2])
def test_the_state_s_prepared_ties_follow_every_shock(influence, members, dimensions) -> None:
    """`FJState.step` keeps the ties prepared between steps and takes the Friedkin-Johnsen step
    while nothing has moved; shocks that edit W (cut, add, weaken) or credibility (a shift)
    must reach it: step by step it equals `parting_step` with ties built afresh."""
    start, stubbornness = starting_point(3, seed=8, dimensions=dimensions)
    anchors = rest_anchors(start, stubbornness, influence)  # at rest until the first shock
    shocks = {
        2: [Shift("USA", (0.8,) * dimensions, hold=0.9)],
        4: [CutTie("USA", "GBR"), AddTie("FRA", "RUS", 0.3)],
        6: [WeakenCohesion(("FRA", "DEU", "ITA"), 0.2)],
        7: [MoveToward("BRA", "CHN", 0.5)],
    }
    state = FJState.start(start, anchors, stubbornness, influence, members, 2.0, 0.4)
    for step in range(10):
        for shock in shocks.get(step, ()):
            shock.apply(state)
        before = state.positions.copy()
        afresh = parting_step(
            before,
            state.anchors,
            state.stubbornness,
            state.influence,
            state.at_start,
            state.parting,
            state.credibility,
        )
        state.step()
        assert (state.pairs is None) == (step < 2)  # at rest: the cheap step, no ties prepared
        np.testing.assert_allclose(state.positions, afresh, rtol=0, atol=1e-12)
    assert not np.allclose(state.positions, start)


def test_a_state_at_rest_steps_as_friedkin_johnsen_to_rounding(influence, members) -> None:
    """float32 runs at rest under a strong parting rule: the cheap step keeps them where the
    rule keeps them, to float32 rounding, until a shock moves someone."""
    start, stubbornness = starting_point(4, seed=9)
    start, stubbornness = start.astype(np.float32), stubbornness.astype(np.float32)
    influence = influence.astype(np.float32)
    anchors = rest_anchors(start, stubbornness, influence)
    state = FJState.start(start, anchors, stubbornness, influence, members, parting=50.0)
    ruled = state.positions
    for _ in range(20):
        state.step()
        ruled = parting_step(ruled, anchors, stubbornness, influence, start, 50.0)
    assert state.pairs is None and state.positions.dtype == np.float32
    np.testing.assert_allclose(state.positions, ruled, rtol=0, atol=1e-5)
    np.testing.assert_allclose(state.positions, start, rtol=0, atol=1e-5)
    Shift("USA", (0.5,)).apply(state)
    state.step()
    assert state.pairs is not None


def test_a_pair_that_cannot_have_parted_is_skipped_and_computed_again_when_it_can() -> None:
    """Float32 runs of five members: M follows X toward Q (the pair M-Q comes closer, and the
    pair kernel skips it while neither can have moved far enough to part), then X turns away
    and M parts from Q. Bit for bit, every step equals the rule computed afresh (ties prepared
    anew: nothing skipped)."""
    names = ("X", "M", "Q", "A", "B")
    influence = np.array(
        [
            [0.0, 0.2, 0.2, 0.3, 0.3],
            [0.85, 0.0, 0.05, 0.1, 0.0],  # M follows X, and Q a little
            [0.0, 0.0, 0.0, 0.5, 0.5],
            [0.2, 0.0, 0.3, 0.0, 0.5],
            [0.0, 0.1, 0.4, 0.5, 0.0],
        ]
    )
    runs = 3
    start = np.zeros((runs, 5, 2))
    start[:, :, 0] = [0.0, -1.0, 2.0, 1.0, 1.5]
    start = (start + np.random.default_rng(1).normal(0, 0.05, start.shape)).astype(np.float32)
    stubbornness = np.full((runs, 5), 0.4)
    stubbornness[:, [0, 2]] = 1.0  # X and Q hold
    anchors = rest_anchors(start, stubbornness, influence)
    state = FJState.start(start, anchors, stubbornness, influence, names, parting=1.0)
    shocks = {0: [Shift("X", (2.5, 0.0))], 12: [Shift("X", (-6.0, 0.0))]}
    on_budget, parted = [], []
    for step in range(24):
        for shock in shocks.get(step, ()):
            shock.apply(state)
        arguments = (state.anchors, state.stubbornness, state.influence, state.at_start)
        afresh = parting_step(state.positions, *arguments, state.parting, state.credibility)
        state.step()
        assert np.array_equal(state.positions.view(np.uint32), afresh.view(np.uint32)), step
        pairs = state.pairs
        (pair,) = np.flatnonzero((pairs.first == 1) & (pairs.second == 2))
        chunk = pairs.chunks[0]
        reach = chunk.travelled[1] + chunk.travelled[2]
        if reach * (1 + ROUNDING) < chunk.budget[pair]:
            on_budget.append(step)
        apart = np.linalg.norm(state.positions[:, 2] - state.positions[:, 1], axis=-1)
        if np.all(apart > np.linalg.norm(start[:, 2] - start[:, 1], axis=-1)):
            parted.append(step)
    assert on_budget and parted and on_budget[0] < parted[0] and max(on_budget) <= parted[0]


def test_per_run_rules_are_each_run_s_own_rule(influence, members) -> None:
    """parting and turn_cost one per run (as a sampled sweep packs its points) give each run
    the numbers of a state of that run alone, with its own scalar rules."""
    start, stubbornness = starting_point(3, seed=11, dimensions=3)
    anchors = rest_anchors(start, stubbornness, influence)
    parting, turn_cost = np.array([0.0, 0.7, 3.0]), np.array([0.4, 0.0, 0.25])
    shocks = {1: [Shift("USA", (0.8, -0.5, 1.0), hold=0.9)], 4: [CutTie("USA", "GBR")]}
    together = run_dynamics(
        start, anchors, stubbornness, influence, 8, shocks, members, None, parting, turn_cost
    )
    for run in range(3):
        alone = run_dynamics(
            start[run : run + 1],
            anchors[run : run + 1],
            stubbornness[run],
            influence,
            8,
            shocks,
            members,
            None,
            parting[run],
            turn_cost[run],
        )
        np.testing.assert_allclose(together[run], alone[0], rtol=0, atol=1e-12)


def test_without_parting_the_ties_term_is_one_product(influence) -> None:
    """parting = 0 with c_j shared by the runs takes the linear form (one matrix product);
    the same c_j given per run takes the pair kernel: the same numbers."""
    start, stubbornness = starting_point(4, seed=12, dimensions=3)
    positions = start + np.random.default_rng(5).normal(0, 0.3, start.shape)
    anchors = np.random.default_rng(6).uniform(-2, 2, start.shape)
    credibility = np.random.default_rng(7).uniform(0.5, 1.0, N)
    arguments = (positions, anchors, stubbornness, influence, start, 0.0)
    np.testing.assert_allclose(
        parting_step(*arguments, credibility),
        parting_step(*arguments, np.tile(credibility, (4, 1))),
        rtol=0,
        atol=1e-12,
    )

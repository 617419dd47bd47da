"""Why a state moved (`sim.model.explain`, `blocsim explain`): the parts add up to the move
exactly, for Friedkin-Johnsen and the parting rule; Shapley parts split it among shocks."""

from __future__ import annotations

import io
import json
import shutil
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.cli import main
from sim.errors import BlocsimError
from sim.model.dynamics import CutTie, FJState, MoveToward, Shift, rest_anchors, run_dynamics
from sim.model.explain import MAX_SHOCKS, Parts, decompose, explain, explain_table, record_run
from sim.model.model import BlocModel
from sim.model.parameters import load_parameters
from sim.model.scenario import DEFAULT_CALIBRATION, load_alignment, load_scenario
from sim.model.world import build_world

STEPS = 20
SHOCKS = [  # (step, shock): a shift, a move toward another member, a cut tie
    (2, Shift("USA", (0.8,), hold=0.9)),
    (5, MoveToward("HUN", "RUS", 0.5)),
    (8, CutTie("ARG", "USA")),
]
RULES = {  # (parting, turn_cost)
    "friedkin-johnsen": (0.0, 0.0),
    "parting": (3.0, 0.0),
    "turn cost": (0.0, 0.4),
    "both": (3.0, 0.4),
}


ONE_AXIS = Path(__file__).resolve().parent / "one_axis.toml"  # the dimensions = 1 ablation


@pytest.fixture(scope="module")
def world(data):
    """The one-axis ablation's world, where shocks spread through the ties: every kind of part
    (direct, own, via a neighbour) is there to split."""
    return build_world(data, date(2025, 1, 1), load_parameters(ONE_AXIS))


def _start(world, parting: float = 0.0, turn_cost: float = 0.0) -> FJState:
    return FJState.start(
        world.positions,
        world.anchors(),
        world.stubbornness(),
        world.influence(),
        world.iso3,
        parting,
        turn_cost,
    )


def _by_step(shocks) -> dict:
    by_step: dict = {}
    for step, shock in shocks:
        by_step.setdefault(step, []).append(shock)
    return by_step


def _close(first: Parts, second: Parts, tolerance: float = 1e-10) -> bool:
    return all(
        np.abs(a - b).max() < tolerance
        for a, b in zip(
            (first.direct, first.own, first.via),
            (second.direct, second.own, second.via),
            strict=True,
        )
    )


@pytest.mark.parametrize(("parting", "turn_cost"), RULES.values(), ids=RULES.keys())
def test_the_parts_add_up_to_the_move(world, parting, turn_cost):
    """One run: direct + own + sum of via = the change, for every member; the recorded run is
    the kernel's own run; the Shapley parts add up to the same change (a world at rest)."""
    start = _start(world, parting, turn_cost)
    recorder, end = record_run(start, _by_step(SHOCKS), STEPS)
    kernel = run_dynamics(
        world.positions,
        world.anchors(),
        world.stubbornness(),
        world.influence(),
        STEPS,
        _by_step(SHOCKS),
        world.iso3,
        parting=parting,
        turn_cost=turn_cost,
    )
    assert np.array_equal(end, kernel[0])
    moved = end - world.positions
    parts = decompose(recorder)
    assert np.abs(parts.total() - moved).max() < 1e-10
    assert np.abs(parts.via).max() > 0.01 and np.abs(parts.own).max() > 0.01
    explanation = explain(start, SHOCKS, STEPS)
    assert np.abs(explanation.total() - moved).max() < 1e-10
    assert np.array_equal(explanation.end, end)


def test_the_rules_differ_so_the_sums_test_each(world):
    ends = [record_run(_start(world, *rule), _by_step(SHOCKS), STEPS)[1] for rule in RULES.values()]
    for later in ends[1:]:
        assert np.abs(later - ends[0]).max() > 1e-3


def test_a_member_no_shock_reaches_gets_exactly_zero():
    """Two groups that do not listen to each other: a shock in the first moves no part of
    the second, under Friedkin-Johnsen and the parting rule."""
    influence = np.array(
        [
            [0.5, 0.3, 0.2, 0.0, 0.0],
            [0.4, 0.4, 0.2, 0.0, 0.0],
            [0.1, 0.6, 0.3, 0.0, 0.0],
            [0.0, 0.0, 0.0, 0.6, 0.4],
            [0.0, 0.0, 0.0, 0.5, 0.5],
        ]
    )
    positions = np.random.default_rng(5).normal(size=(5, 2))
    stubbornness = np.full(5, 0.3)
    anchors = rest_anchors(positions, stubbornness, influence)
    shocks = [(1, Shift("A", (1.0, -0.5))), (3, MoveToward("C", "A", 0.5, hold=0.8))]
    for parting, turn_cost in ((0.0, 0.0), (2.0, 0.3)):
        start = FJState.start(
            positions, anchors, stubbornness, influence, "ABCDE", parting, turn_cost
        )
        explanation = explain(start, shocks, 12, ["shift", "move"])
        for parts in explanation.parts:
            assert not parts.direct[3:].any() and not parts.own[3:].any()
            assert not parts.via[3:].any()
            assert np.abs(parts.via[:3]).max() > 0.01
        table = explain_table(explanation, list("ABCDE"), ("x", "y"))
        quiet = table[table["iso3"].isin(["D", "E"])]
        assert set(quiet["via"]) == {"direct", "own"}  # no tie moved them: no via row
        assert (quiet[["x", "y", "toward"]] == 0).all().all()


def test_shapley_parts_of_two_shocks_add_up_to_the_joint_run(world):
    """Parting rule, turn cost and a hold: not linear, yet the two shocks' parts add up,
    part by part, to the joint run's minus the run without shocks."""
    start = _start(world, 3.0, 0.3)
    shocks = [(1, MoveToward("USA", "RUS", 0.8, hold=0.9)), (4, Shift("BRA", (0.6,)))]
    explanation = explain(start, shocks, STEPS)
    joint = decompose(record_run(start, _by_step(shocks), STEPS)[0])
    none = decompose(record_run(start, {}, STEPS)[0])
    assert _close(explanation.parts[0] + explanation.parts[1], joint - none)
    alone = decompose(record_run(start, _by_step(shocks[:1]), STEPS)[0]) - none
    assert not _close(explanation.parts[0], alone, 1e-6)  # the shocks interact here


def test_friedkin_johnsen_splits_two_shifts_into_their_own_responses(world):
    """Linear dynamics: each shift's Shapley parts are that shift's run alone. The shifts
    act at one step: a shift sets the member's anchor where it then stands, so a later
    shift would keep what the earlier one had moved it (and the two would interact)."""
    start = _start(world)
    shocks = [(1, Shift("USA", (0.8,))), (1, Shift("BRA", (0.6,)))]
    explanation = explain(start, shocks, STEPS)
    for k, shock in enumerate(shocks):
        alone = explain(start, [shock], STEPS)
        assert _close(explanation.parts[k], alone.parts[0])
        assert np.abs(alone.parts[0].via).max() > 0.01
    later = [shocks[0], (4, shocks[1][1])]
    assert not _close(explain(start, later, STEPS).parts[0], explanation.parts[0], 1e-6)


def test_the_headline_points_toward_the_state_the_largest_shock_moved(world):
    """K = 1: toward = the part times the sign of the way from the member to where HUN ended
    (its half-way move toward RUS is a larger jump than the USA's shift of 0.8)."""
    iso3 = list(world.iso3)
    hun, rus = iso3.index("HUN"), iso3.index("RUS")
    assert 0.5 * abs(world.positions[rus, 0] - world.positions[hun, 0]) > 0.8
    explanation = explain(_start(world), SHOCKS, STEPS, ["usa", "hun", "cut"])
    assert explanation.toward_state == hun
    table = explain_table(explanation, world.iso3, ("ukraine",))
    sign = np.sign(explanation.end[hun, 0] - world.positions[:, 0])
    rows = table["iso3"].map(dict(zip(world.iso3, sign, strict=True)))
    assert np.allclose(table["toward"], table["ukraine"] * rows, rtol=0, atol=1e-15)
    assert set(table["shock"]) == {"usa", "hun", "cut"}


def test_too_many_shocks_are_refused(world):
    shocks = [(1, Shift("USA", (0.01 * k,))) for k in range(MAX_SHOCKS + 1)]
    with pytest.raises(BlocsimError, match=f"11 shocks: .* at most {MAX_SHOCKS} shocks"):
        explain(_start(world), shocks, 3)


def test_the_mesa_model_records_what_it_needs(data):
    """The model's own recorder: its parts add up to its trajectory's change."""
    model = BlocModel.from_scenario(load_scenario("scenarios/classroom.toml", data.members), data)
    for _ in range(10):
        model.step()
    parts = decompose(model.recorder)
    moved = model.trajectory[-1] - model.trajectory[0]
    assert np.abs(parts.total() - moved).max() < 1e-10 and np.abs(moved).max() > 0.1


# --- the run directory and `blocsim explain` -------------------------------------------------


def _explain(capsys, *argv: str) -> tuple[int, str, str]:
    status = main(["explain", *argv])
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture(scope="module")
def spread_run(tmp_path_factory) -> Path:
    """A run of scenarios/network_spread.toml (the counterfactual where the ties carry the US
    turn): every kind of part is in its explain.csv. Treat it as read-only."""
    out = tmp_path_factory.mktemp("spread") / "run"
    assert main(["run", "scenarios/network_spread.toml", "--out", str(out)]) == 0
    return out


AXES = ("general", "ukraine", "third")


def test_explain_csv_adds_up_to_the_positions_of_the_run(spread_run):
    table = pd.read_csv(spread_run / "explain.csv", keep_default_na=False)
    positions = pd.read_csv(spread_run / "positions.csv")
    moved = positions.drop(columns=["step", "date"]).iloc[-1] - positions.iloc[0]
    for axis in AXES:
        summed = table.groupby("iso3")[axis].sum()
        assert len(summed) == 193
        assert (
            np.abs(summed - moved[[f"{iso3}.{axis}" for iso3 in summed.index]].values).max() < 1e-10
        )
    usa = set(table.loc[table["iso3"] == "USA", "via"])
    assert usa >= {"direct", "own"} and len(usa) > 2  # the US listens to its ties too


def test_explain_table_names_the_largest_parts(spread_run, capsys):
    table = pd.read_csv(spread_run / "explain.csv", keep_default_na=False)
    arg = table[table["iso3"] == "ARG"]
    status, out, _ = _explain(capsys, str(spread_run), "arg")
    assert status == 0
    lines = out.splitlines()
    assert lines[0].startswith(f"ARG moved {arg['toward'].sum():+.2f} toward USA by ")
    assert "USA shifts" in lines[1]
    ties = arg[~arg["via"].isin(["own", "direct"])]
    largest = ties.loc[ties["toward"].abs().idxmax()]
    assert lines[2].split() == [f"{largest['toward']:+.3f}", "via", largest["via"]]
    assert any("its own anchor" in line for line in lines)
    assert lines[-1].endswith(f"via {len(ties) - 3} others")


def test_explain_csv_and_json_give_the_same_parts(spread_run, capsys):
    table = pd.read_csv(spread_run / "explain.csv", keep_default_na=False)
    arg = table[table["iso3"] == "ARG"]
    status, out, _ = _explain(capsys, str(spread_run), "ARG", "--format", "csv", "--top", "1")
    assert status == 0
    parts = pd.read_csv(io.StringIO(out), keep_default_na=False)
    assert list(parts["part"]) == ["via", "own", "others"]
    assert parts["toward"].sum() == pytest.approx(arg["toward"].sum(), abs=1e-12)
    status, out, _ = _explain(capsys, str(spread_run), "ARG", "--format", "json", "--top", "1")
    assert status == 0
    assert [row["via"] for row in json.loads(out)] == list(parts["via"])
    status, out, _ = _explain(capsys, str(spread_run), "ARG", "--format", "csv", "--top", "0")
    every = pd.read_csv(io.StringIO(out), keep_default_na=False)
    assert "others" not in set(every["part"])
    assert (every["part"] == "via").sum() == (~arg["via"].isin(["own", "direct"])).sum()


def test_explain_errors_are_one_line(spread_run, tmp_path, capsys):
    status, out, err = _explain(capsys, str(spread_run), "ZZZ")
    assert status == 2 and out == "" and err.count("\n") == 1
    assert "field 'ISO3': no member ZZZ in this run" in err
    older = tmp_path / "older"
    older.mkdir()
    shutil.copy(spread_run / "manifest.json", older)
    status, _, err = _explain(capsys, str(older), "ARG")
    assert status == 2 and err.count("\n") == 1 and "no explain.csv" in err
    status, _, err = _explain(capsys, str(tmp_path / "nowhere"), "ARG")
    assert status == 2 and "nowhere: no such directory" in err
    status, _, err = _explain(capsys, str(spread_run), "ARG", "--top", "-1")
    assert status == 2 and "field '--top': must be 0 or more" in err


def test_a_run_of_too_many_shocks_is_run_but_not_explained(tmp_path, capsys):
    shifts = "".join(
        f'[[shocks]]\ndate = "2025-01-{10 + k}"\nkind = "shift"\nmember = "{iso3}"\nby = [0, 0.1, 0]\n\n'
        for k, iso3 in enumerate(
            ("BRA", "IND", "ZAF", "TUR", "IDN", "MEX", "SAU", "EGY", "NGA", "ARG", "CHL")
        )
    )
    scenario = tmp_path / "many.toml"
    scenario.write_text(
        'name = "many"\ndata_until = "2025-01-01"\nhistorical_shocks = false\n\n'
        f'{shifts}[[votes]]\nname = "A/RES/ES-11/7"\nbody = "GA"\ndate = "2025-02-24"\n'
        'like = "A/RES/ES-11/7"\n'
    )
    out = tmp_path / "run"
    assert main(["run", str(scenario), "--out", str(out)]) == 0
    capsys.readouterr()
    assert not (out / "explain.csv").exists() and (out / "positions.csv").is_file()
    status, _, err = _explain(capsys, str(out), "ARG")
    assert status == 2 and err.count("\n") == 1
    assert "this run was not explained: 11 shocks: a run is explained for at most 10" in err


def test_a_run_without_shocks_has_nothing_to_explain(tmp_path, capsys):
    out = tmp_path / "status_quo"
    assert main(["run", "scenarios/status_quo.toml", "--out", str(out)]) == 0
    capsys.readouterr()
    assert pd.read_csv(out / "explain.csv").empty
    status, printed, _ = _explain(capsys, str(out), "ARG")
    assert status == 0 and printed == "ARG did not move: the run has no shocks.\n"


def test_explain_names_the_alignment_weights_of_a_follower(data, tmp_path, capsys):
    """In the one world a member moves because it follows the US turn by its own weights:
    explain says so and names them (and the run says its ES-11/7 is in sample)."""
    out = tmp_path / "story"
    assert main(["run", "scenarios/us_realignment.toml", "--out", str(out)]) == 0
    run_output = capsys.readouterr().out  # ES-11/7 is in sample, and says so
    assert "    in sample: default.toml is fitted on these votes" in run_output
    status, printed, _ = _explain(capsys, str(out), "ISR")
    weights = load_alignment(DEFAULT_CALIBRATION, data.members)["ISR"]
    named = ", ".join(
        f"{w:+.2f} {axis}"
        for w, axis in zip(weights, ("general", "ukraine", "third"), strict=False)
    )
    assert status == 0 and f"followed the USA turn, alignment weights {named}" in printed
    assert "via " not in printed  # no tie carried any of it

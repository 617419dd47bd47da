"""Scenario files: the shipped ones load, and every kind of mistake is one line naming the field."""

from __future__ import annotations

import tomllib
from datetime import date
from pathlib import Path

import pytest

from sim.data.resolutions import Tally
from sim.errors import BlocsimError
from sim.model.dynamics import Shift, WeakenCohesion
from sim.model.parameters import load_parameters
from sim.model.scenario import (
    DEFAULT_CALIBRATION,
    load_alignment,
    load_historical_shocks,
    load_scenario,
    scenario_shocks,
)

# From the repository, not the working directory: an empty list would skip the test silently.
SCENARIOS = sorted((Path(__file__).parent.parent / "scenarios").glob("*.toml"))

MINIMAL = """
data_until = "2025-01-01"
[[votes]]
name = "a vote"
date = "2025-03-01"
like = "A/RES/ES-11/7"
"""


def test_the_shipped_scenarios_are_found():
    assert {"us_realignment", "status_quo", "network_spread", "us_realignment_sweep"} <= {
        p.stem for p in SCENARIOS
    }


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_shipped_scenarios_load(data, path):
    scenario = load_scenario(path, data.members)
    assert scenario.votes and scenario.sha256


def test_us_realignment_is_the_historical_path_and_status_quo_is_not(data):
    turn = load_scenario("scenarios/us_realignment.toml", data.members)
    quo = load_scenario("scenarios/status_quo.toml", data.members)
    (shock,) = [s.shock for s in scenario_shocks(turn, data.members)]
    assert isinstance(shock, Shift) and shock.member == "USA" and len(shock.by) == 3
    assert shock.followers  # the members follow it by their alignment weights
    assert turn.parameters.dimensions == 3 and turn.parameters.stubbornness == 1.0
    assert scenario_shocks(quo, data.members) == ()
    assert [v.name for v in turn.votes] == [v.name for v in quo.votes]
    # ES-11/7 is placed from the record before the turn, its cut-points fitted to its tally
    text = turn.votes[0].text
    assert (turn.votes[0].name, text.like, str(text.tally)) == (
        "A/RES/ES-11/7",
        "A/RES/ES-11/6",
        "93-18-65",
    )


def test_no_shipped_scenario_runs_the_one_axis_ablation(data):
    for path in SCENARIOS:
        assert "dimensions = 1" not in path.read_text(), path.name
        assert load_scenario(path, data.members).parameters.dimensions == 3, path.name


ALIGNED = """
[[shocks]]
date = "2025-01-20"
kind = "shift"
member = "USA"
by = [1.0, 2.0, -1.0]
aligned = true
"""


def test_an_aligned_shift_carries_the_calibration_s_weights(data, tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(MINIMAL + ALIGNED)
    (shock,) = load_scenario(path, data.members).shocks
    weights = load_alignment(DEFAULT_CALIBRATION, data.members)
    assert dict(shock.shock.followers) == {
        iso3: w for iso3, w in weights.items() if iso3 != "USA" and any(w)
    }
    path.write_text(MINIMAL + ALIGNED.replace("aligned = true", "aligned = false"))
    assert load_scenario(path, data.members).shocks[0].shock.followers == ()


def test_an_aligned_shift_needs_weights_and_weights_must_be_numbers(data, tmp_path):
    bare = tmp_path / "bare.toml"
    bare.write_text("[parameters]\nstubbornness = 1.0\n")
    path = tmp_path / "s.toml"
    path.write_text(f'calibration = "{bare}"\n' + MINIMAL + ALIGNED)
    with pytest.raises(BlocsimError, match="field 'shocks.0..aligned': the calibration file"):
        load_scenario(path, data.members)
    bare.write_text('[parameters]\nstubbornness = 1.0\n[alignment.weights]\nISR = ["a"]\n')
    with pytest.raises(BlocsimError, match=r"line 4: field 'alignment.weights.ISR\[0\]'"):
        load_scenario(path, data.members)
    bare.write_text("[parameters]\nstubbornness = 1.0\n[alignment.weights]\nXYZ = [1.0]\n")
    with pytest.raises(BlocsimError, match="unknown ISO3 code 'XYZ'"):
        load_scenario(path, data.members)


def test_an_aligned_shift_is_of_the_member_the_weights_follow(data, tmp_path):
    """The calibration's weights follow the US turn: another member's aligned shift is refused."""
    path = tmp_path / "s.toml"
    path.write_text(MINIMAL + ALIGNED.replace('member = "USA"', 'member = "RUS"'))
    with pytest.raises(BlocsimError, match="field 'shocks.0..aligned': .* follow USA, not RUS"):
        load_scenario(path, data.members)


def test_a_calibration_is_parsed_once_until_it_changes(data, tmp_path, monkeypatch):
    """A scenario's load reads its calibration for the parameters, the shocks, the weights and
    whom they follow: one parse of each file; an edited calibration is parsed again."""
    calibration = tmp_path / "calibration.toml"
    calibration.write_bytes(DEFAULT_CALIBRATION.read_bytes())
    path = tmp_path / "s.toml"
    path.write_text(f'calibration = "{calibration}"\nhistorical_shocks = true\n' + MINIMAL)
    parsed, loads = [], tomllib.loads
    monkeypatch.setattr(tomllib, "loads", lambda text: parsed.append(text) or loads(text))
    scenario = load_scenario(path, data.members)
    (turn,) = scenario_shocks(scenario, data.members)
    assert turn.shock.followers and len(parsed) == 2  # the scenario and its calibration
    calibration.write_text(calibration.read_text().replace("step_days = 7", "step_days = 14", 1))
    assert load_scenario(path, data.members).parameters.step_days == 14
    assert len(parsed) == 3


def test_aligned_weights_must_fit_the_world_s_axes(data, tmp_path):
    """One-axis positions cannot take the three-axis weights: a one-line error, not a crash."""
    from sim.model.agenda import scenario_timeline

    path = tmp_path / "s.toml"
    path.write_text(
        MINIMAL.replace("[[votes]]", "[parameters]\ndimensions = 1\n\n[[votes]]", 1)
        + ALIGNED.replace("by = [1.0, 2.0, -1.0]", "by = [1.0]")
    )
    with pytest.raises(
        BlocsimError, match=r"shocks\[0\]\.aligned.*3 entries, but positions have 1"
    ):
        scenario_timeline(load_scenario(path, data.members), data)


def test_blocs_expand_to_members_and_tallies_complete_to_the_chamber(data, tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(
        MINIMAL.replace('like = "A/RES/ES-11/7"', 'tally = "9-1-5"\nbody = "SC"')
        + '[[shocks]]\ndate = "2025-02-01"\nkind = "weaken_bloc"\nbloc = "eu"\nfactor = 0.5\n'
    )
    scenario = load_scenario(path, data.members)
    assert scenario.votes[0].text.tally == Tally(9, 1, 5, 0)
    shock = scenario.shocks[0]
    assert shock.date == date(2025, 2, 1) and isinstance(shock.shock, WeakenCohesion)
    assert len(shock.shock.members) == 27


@pytest.mark.parametrize(
    ("extra", "replace", "expected"),
    [
        ("colour = 1\n", None, "field 'colour': unknown key"),
        (
            None,
            ('data_until = "2025-01-01"', 'data_until = "soon"'),
            "field 'data_until': 'soon' is not a date",
        ),
        (None, ('data_until = "2025-01-01"', ""), "field 'data_until': missing"),
        (
            None,
            ('like = "A/RES/ES-11/7"', 'like = " "'),
            "field 'votes[0].like': must name a roll call",
        ),
        (
            None,
            ('like = "A/RES/ES-11/7"', 'like = "A/RES/ES-11/7"\ncut_points = [0, 1]'),
            "field 'votes[0]': give one of 'cut_points', 'like' or 'tally' (or 'like' with",
        ),
        (
            "[parameters]\ndimensions = 2\n",
            None,
            "field 'parameters.dimensions': must be 1 (the Ukraine-axis estimate) or 3 (the "
            "ideal points), not 2",
        ),
        (
            '[parameters]\ndimensions = "three"\n',
            None,
            "field 'parameters.dimensions': must be a number",
        ),
        (
            None,
            ('like = "A/RES/ES-11/7"', 'tally = "93-18"'),
            "field 'votes[0].tally': tally '93-18' is not of the form",
        ),
        (
            None,
            ('like = "A/RES/ES-11/7"', "cut_points = [1, 0]"),
            "field 'votes[0].cut_points': must be [lower, upper]",
        ),
        (
            None,
            ('date = "2025-03-01"', 'date = "2024-03-01"'),
            "field 'votes[0].date': 2024-03-01 is before the scenario starts",
        ),
        (
            None,
            ('name = "a vote"', 'name = "a vote"\nbody = "ECOSOC"'),
            "field 'votes[0].body': must be GA or SC",
        ),
        (
            '[[shocks]]\ndate = "2025-02-01"\nkind = "move_toward"\nmember = "USA"\ntarget = "XXX"\nfraction = 0.5\n',
            None,
            "field 'shocks[0].target': unknown ISO3 code 'XXX'",
        ),
        (
            '[[shocks]]\ndate = "2025-02-01"\nkind = "move_toward"\nmember = "USA"\ntarget = "RUS"\nfraction = "big"\n',
            None,
            "field 'shocks[0].fraction': must be a number, not 'big'",
        ),
        (
            '[[shocks]]\ndate = "2025-02-01"\nkind = "teleport"\n',
            None,
            "field 'shocks[0].kind': unknown shock 'teleport'",
        ),
        (
            '[[shocks]]\ndate = "2025-02-01"\nkind = "weaken_bloc"\nbloc = "warsaw_pact"\nfactor = 0.5\n',
            None,
            "field 'shocks[0].bloc': unknown bloc 'warsaw_pact'",
        ),
        (
            "[parameters]\nstubbornness = 1.5\n",
            None,
            "field 'parameters.stubbornness': must be above 0 and at most 1",
        ),
        (
            "[parameters]\nstep_days = 0\n",
            None,
            "field 'parameters.step_days': must be between 1 and 366",
        ),
        (
            "[parameters.ties]\npatron = -0.5\n",
            None,
            "field 'parameters.ties.patron': must be a finite number >= 0",
        ),
        (
            "[parameters.stubbornness_by_group]\neu = 0.0\n",
            None,
            "field 'parameters.stubbornness_by_group.eu': must be above 0",
        ),
        ("seed = -1\n", None, "field 'seed': must be 0 or more, not -1"),
        (
            '[[shocks]]\ndate = "2024-12-01"\nkind = "weaken_bloc"\nbloc = "eu"\nfactor = 0.5\n',
            None,
            "field 'shocks[0].date': 2024-12-01 is before the scenario starts (2025-01-01",
        ),
        (
            "[parameters.ties]\nfriendship = 1.0\n",
            None,
            "field 'parameters.ties.friendship': unknown key (expected one of: affinity, "
            "alignment, alliance, caucus, coalition, patron, regional, un_group)",
        ),
        (
            "[parameters]\ncharisma = 1.0\n",
            None,
            "field 'parameters.charisma': unknown key (expected one of: dimensions, "
            "discrimination, parting, step_days, stubbornness, stubbornness_by_group, ties, "
            "turn_cost)",
        ),
        ("this is not toml\n", None, "not valid TOML"),
    ],
)
def test_bad_scenario_is_one_line_naming_file_and_field(data, tmp_path, extra, replace, expected):
    text = MINIMAL
    if replace:
        text = text.replace(*replace)
    extra = extra or ""
    is_table = extra.startswith("[")  # tables go last; top-level keys before [[votes]]
    path = tmp_path / "bad.toml"
    path.write_text(text + extra if is_table else extra + text)
    with pytest.raises(BlocsimError) as raised:
        load_scenario(path, data.members)
    message = str(raised.value)
    assert message.startswith(str(path)) and expected in message and "\n" not in message


def test_missing_scenario_file(data, tmp_path):
    with pytest.raises(BlocsimError, match="scenario file not found"):
        load_scenario(tmp_path / "nowhere.toml", data.members)


def test_sweep_scenario_centres_on_the_calibrated_turn(data):
    """The mission's sweep takes the one world (calibration/default.toml: the US turn the 2025
    record measures, the members following it by their weights) and sweeps its spread around
    the fits: the two files must not drift."""
    sweep = load_scenario("scenarios/us_realignment_sweep.toml", data.members)
    assert sweep.calibration == DEFAULT_CALIBRATION
    calibrated = load_historical_shocks(sweep.calibration, data.members)
    assert [s.shock for s in sweep.shocks] == [s.shock for s in calibrated]
    assert sweep.parameters == load_parameters(sweep.calibration)
    assert sweep.parameters.dimensions == 3
    swept = {entry["name"]: entry["values"] for entry in sweep.raw["sweep"]["parameters"]}
    fit = tomllib.loads(sweep.calibration.read_text())["fit"]
    assert sweep.parameters.stubbornness in swept["parameters.stubbornness"]  # the winner
    for model, name in (("Friedkin-Johnsen", "stubbornness"), ("parting ways", "parting")):
        assert round(fitted(fit, model, name), 2) in [
            round(v, 2) for v in swept[f"parameters.{name}"]
        ]


def fitted(fit: dict, model: str, name: str) -> float:
    return next(p["value"] for p in fit["parameters"] if p["model"] == model and p["name"] == name)


def test_network_spread_is_the_parting_fit_as_a_counterfactual(data):
    """What if the network had carried the turn: the parting-ways model at its fitted values
    (turn, hold, stubbornness, parting, turn cost), nobody following by weights."""
    spread = load_scenario("scenarios/network_spread.toml", data.members)
    fit = tomllib.loads(DEFAULT_CALIBRATION.read_text())["fit"]
    model = "parting ways"
    for name in ("stubbornness", "parting", "turn_cost"):
        assert getattr(spread.parameters, name) == pytest.approx(fitted(fit, model, name)), name
    assert not spread.historical_shocks
    (turn,) = spread.shocks
    assert turn.shock.by == pytest.approx(
        [fitted(fit, model, f"turn.{axis}") for axis in ("general", "ukraine", "third")]
    )
    assert turn.shock.hold == pytest.approx(fitted(fit, model, "turn.hold"))
    assert turn.shock.followers == ()
    assert "does not support" in spread.description

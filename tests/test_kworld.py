"""Worlds in K = 3 dimensions (`Parameters.dimensions = 3`: the ideal points at the cut-off) and
scenario texts like any roll call of the data: positions, axes, directions, evidence, tallies,
errors, and the commands (run, sweep, report) on such a world. The one-axis world keeps its
numbers."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.cli import main
from sim.errors import BlocsimError
from sim.model.agenda import chamber, scenario_timeline, seats
from sim.model.model import BlocModel
from sim.model.parameters import Parameters
from sim.model.scenario import load_scenario
from sim.model.text_axis import TextSettings, member_scores
from sim.model.world import build_world
from sim.outputs.report import MOVERS_NAMED, key_states, write_report
from sim.sweep.runner import run_sweep

CUTOFF = date(2025, 1, 1)  # the `kworld` fixture's (conftest.py)
ONE_AXIS = Path(__file__).resolve().parent / "one_axis.toml"  # the dimensions = 1 ablation
PALESTINE = "A/RES/ES-10/24"  # a 2024 roll call of the data (18 Sep 2024), not on Ukraine
NEW_TALLY = (100, 20, 50)

KWORLD = f"""
name = "kworld"
data_until = "{CUTOFF}"
seed = 3
historical_shocks = true

[parameters]
dimensions = 3

[[votes]]
name = "like ES-11/7"
date = "2025-02-24"
like = "ES-11/7"

[[votes]]
name = "like {PALESTINE}"
date = "2025-03-03"
like = "{PALESTINE}"

[[votes]]
name = "{PALESTINE} again, another tally"
date = "2025-03-03"
like = "{PALESTINE}"
tally = "{"-".join(map(str, NEW_TALLY))}"

[[votes]]
name = "a Ukraine text"
date = "2025-03-03"
tally = "93-18-65"
"""


@pytest.fixture(scope="module")
def kscenario(tmp_path_factory, data, kworld):
    path = tmp_path_factory.mktemp("kworld") / "kworld.toml"
    path.write_text(KWORLD)
    return load_scenario(path, data.members)


@pytest.fixture(scope="module")
def kmodel(kscenario, data):
    return BlocModel.from_scenario(kscenario, data, seed=3)


def test_a_three_dimensional_world_has_its_named_axes_and_knows_the_ukraine_one(kworld, data):
    assert kworld.positions.shape == (193, 3)
    assert kworld.axis_names == ("general", "ukraine", "third")
    assert kworld.ukraine_axis == 1
    np.testing.assert_array_equal(kworld.positions, kworld.points.position)
    assert kworld.absence.shape == (193,) and ((kworld.absence > 0) & (kworld.absence < 1)).all()
    flat = build_world(data, CUTOFF, Parameters(dimensions=1))
    assert flat.ukraine_axis == 0 and flat.positions.shape == (193, 1)
    assert kworld.with_parameters(Parameters()).parameters.dimensions == 3  # positions stay


def test_on_an_es11_7_like_text_the_usa_is_on_the_western_side_and_russia_on_the_other(
    kmodel, kworld
):
    """ES-11/7 is after the cut-off, so the text takes the latest Ukraine text of the fit."""
    _, spec, draft = kmodel.timeline.votes[0]
    assert spec.name == "like ES-11/7"
    assert kworld.default_axis.like is not None
    direction = kworld.points.direction(kworld.default_axis.like)
    assert draft.cut_points.direction == tuple(direction.tolist())
    probabilities = kmodel.probabilities("GA", draft.cut_points)  # at the start, (193, 4)
    usa, rus = kworld.iso3.index("USA"), kworld.iso3.index("RUS")
    assert probabilities[usa, 0] > 0.5 > probabilities[usa, 2]  # Yes, with Ukraine
    assert probabilities[rus, 2] > 0.5 > probabilities[rus, 0]  # No
    on_text = draft.cut_points.on_text(kworld.positions)
    assert on_text[usa] < draft.cut_points.lower <= draft.cut_points.upper < on_text[rus]


def test_a_text_like_a_roll_call_takes_its_direction_and_each_member_s_own_vote(
    kmodel, kworld, data
):
    """The world places members on a like-text exactly as `blocsim predict` does: the fit's
    direction of the roll call plus the evidence of each member's own vote on it."""
    _, spec, draft = kmodel.timeline.votes[1]
    points = kworld.points
    assert PALESTINE in points.items.index  # in the fit: dated before the cut-off
    assert draft.cut_points.direction == tuple(points.direction(PALESTINE).tolist())
    votes = data.votes_on(PALESTINE)
    expected = member_scores(points, PALESTINE, votes, TextSettings())
    np.testing.assert_allclose(draft.cut_points.on_text(kworld.positions), expected, atol=1e-12)
    offset = np.array(draft.cut_points.offset)
    assert np.count_nonzero(offset) > 100  # every member that voted carries its vote
    assert (offset[(votes == "X").to_numpy()] == 0).all()  # no vote, no evidence


def test_a_three_dimensional_scenario_runs_and_its_texts_expect_their_tallies(
    kscenario, data, tmp_path
):
    """Every text's expected counts on the path it was fitted on are its tally: the data's
    counts of the like's roll call (fitted at the start, the like being older), or the tally
    the text gives (fitted on its own date). The report names the members that moved most
    over all three axes (the full report is drawn in the sweep test)."""
    assert main(["run", str(kscenario.path), "--out", str(tmp_path / "run")]) == 0
    expected = pd.read_csv(tmp_path / "run" / "expected.csv")
    tallies = pd.read_csv(tmp_path / "run" / "tallies.csv")
    assert len(tallies) == 4
    assert (tallies[["yes", "no", "abstain", "not_voting"]].sum(axis=1) == 193).all()
    recorded = data.resolution(PALESTINE).tally
    like = expected[expected["vote"] == f"like {PALESTINE}"].iloc[0]  # step 0
    assert like["step"] == 0
    counts = [like["yes"], like["no"], like["abstain"], like["not_voting"]]
    assert counts == pytest.approx(
        [recorded.yes, recorded.no, recorded.abstain, recorded.not_voting], abs=1e-3
    )
    given = expected[expected["vote"] == f"{PALESTINE} again, another tally"]
    on_the_day = given.iloc[-1]  # the last step: the one its vote is held at
    assert [on_the_day["yes"], on_the_day["no"], on_the_day["abstain"]] == pytest.approx(
        NEW_TALLY, abs=1e-3
    )
    positions = pd.read_csv(tmp_path / "run" / "positions.csv")
    assert {"USA.general", "USA.ukraine", "USA.third"} <= set(positions.columns)
    members = pd.read_csv(tmp_path / "run" / "members.csv")
    named = key_states(members, pd.Series(dtype=str), positions)  # the report's network names
    assert sum("moved most" in why for why in named) == MOVERS_NAMED
    assert named[list(members["iso3"]).index("USA")] == "P5, moved most"  # the US turn


def test_a_text_without_like_is_like_the_latest_ukraine_text_before_the_cut_off(kmodel, kworld):
    _, spec, draft = kmodel.timeline.votes[-1]
    assert spec.name == "a Ukraine text"
    like = kworld.default_axis.like
    assert kworld.points.items.loc[like, "ukraine"]
    assert kworld.points.items.loc[like, "date"] < pd.Timestamp(CUTOFF)
    later = kworld.points.items[kworld.points.items["ukraine"]]["date"]
    assert (later <= kworld.points.items.loc[like, "date"]).all()
    assert draft.cut_points.direction == tuple(kworld.points.direction(like).tolist())


def test_the_agents_read_the_world_s_ukraine_axis(kmodel):
    usa = kmodel.agent("USA")
    assert usa.positions.shape == (3,)
    assert usa.position == usa.positions[1] and usa.anchor == usa.anchors[1]


@pytest.mark.parametrize(
    ("like", "field"),
    [
        ('like = "A/RES/99/999"', "votes[0].like"),
        (
            'like = "ES-11/7"\n  [[votes.amendments]]\n  like = "nowhere"',
            "votes[0].amendments[0].like",
        ),
    ],
)
@pytest.mark.parametrize("dimensions", [1, 3])
def test_an_unknown_like_is_one_line_naming_file_and_field(
    data, tmp_path, kworld, like, field, dimensions
):
    path = tmp_path / "unknown.toml"
    calibration = f'calibration = "{ONE_AXIS}"\n' if dimensions == 1 else ""
    path.write_text(
        f'data_until = "{CUTOFF}"\n{calibration}[parameters]\ndimensions = {dimensions}\n'
        f'[[votes]]\nname = "a vote"\ndate = "2025-03-01"\n{like}\n'
    )
    with pytest.raises(BlocsimError) as error:
        scenario_timeline(load_scenario(path, data.members), data)
    message = str(error.value)
    assert str(path) in message and f"field '{field}'" in message
    assert "unknown resolution" in message and "\n" not in message


def test_a_shift_gives_one_number_per_axis_of_the_world(data, tmp_path, kworld):
    """One number in a three-axis world would move the general axis, not the Ukraine one."""
    path = tmp_path / "shift.toml"
    path.write_text(
        f'data_until = "{CUTOFF}"\n[parameters]\ndimensions = 3\n'
        '[[shocks]]\ndate = "2025-01-20"\nkind = "shift"\nmember = "USA"\nby = [0.5]\n'
        '[[votes]]\nname = "a vote"\ndate = "2025-03-01"\nlike = "ES-11/7"\n'
    )
    with pytest.raises(BlocsimError, match="has 1 entries, but positions have 3 dimension"):
        scenario_timeline(load_scenario(path, data.members), data)


def test_the_one_axis_world_keeps_its_numbers(data, tmp_path):
    """The one-axis ablation (its calibration, tests/one_axis.toml, says `dimensions = 1`; the
    scenario may say it too) gives the cut-points of before K = 3 worlds existed."""
    base = f'data_until = "{CUTOFF}"\ncalibration = "{ONE_AXIS}"\nhistorical_shocks = false\n'
    vote = '[[votes]]\nname = "A/RES/ES-11/7"\ndate = "2025-02-24"\nlike = "A/RES/ES-11/7"\n'
    for extra in ("", "[parameters]\ndimensions = 1\n"):
        path = tmp_path / "flat.toml"
        path.write_text(base + extra + vote)
        world, timeline = scenario_timeline(load_scenario(path, data.members), data)
        text = timeline.votes[0][2].cut_points
        assert world.axis_names == ("ukraine",) and text.direction is None and text.offset is None
        assert (text.lower, text.upper, text.absence_shift) == pytest.approx(
            (0.29471366767308876, 1.1712891326304968, 0.18631807206864565), rel=1e-7
        )


def test_a_sweep_runs_on_a_three_dimensional_world_and_cannot_vary_its_dimensions(
    sweep_template, tmp_path, data, kworld
):
    text = sweep_template.format(sc_date="2025-02-24").replace(
        "historical_shocks = false\n", "historical_shocks = false\n[parameters]\ndimensions = 3\n"
    )
    path = tmp_path / "ksweep.toml"
    path.write_text(text.replace("replicates = 40", "replicates = 5"))
    scenario = load_scenario(path, data.members)
    result = run_sweep(scenario, data, tmp_path / "sweep", progress=False)
    runs = pd.read_parquet(result.directory / "runs.parquet")
    assert len(runs) > 0 and runs["yes"].between(0, 193).all()
    _, timeline = scenario_timeline(scenario, data)
    sc = next(draft for _, spec, draft in timeline.votes if spec.body == "SC")
    council = seats(chamber("SC", kworld), kworld)
    assert len(sc.cut_points.offset) == len(council) == 15  # the offset is the Council's
    assert write_report(result.directory).is_dir()
    swept = text.replace('name = "shocks[0].fraction"', 'name = "parameters.dimensions"')
    path.write_text(swept.replace("values = [0.3, 0.9]", "values = [1, 3]"))
    with pytest.raises(BlocsimError, match="dimensions cannot be swept"):
        run_sweep(load_scenario(path, data.members), data, tmp_path / "no", progress=False)

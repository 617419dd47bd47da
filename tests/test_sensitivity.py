"""Sensitivity of a sweep's outcomes to its parameters: the Saltelli design and `sweep analyze`
on small real sweeps (SALib computes the indices; these tests check what reaches it and what a
user reads)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.cli import main
from sim.errors import BlocsimError
from sim.model.scenario import load_scenario
from sim.results import read_manifest, write_manifest
from sim.sweep.design import plan_sweep, read_sweep
from sim.sweep.runner import run_sweep
from sim.sweep.sensitivity import analyze_sweep

BIN = Path(sys.executable).parent

ROOT = Path(__file__).resolve().parent.parent
# The one world, the US turn and the two votes of the shipped Sobol scenario, where members
# also follow through the ties (stubbornness 0.05); here the US turn's size on the ukraine axis
# and its date vary with France's turn on 1 June 2025, after ES-11/7's vote (so it cannot
# change that vote): Sobol must tell them apart.
WORLD = (ROOT / "scenarios" / "us_realignment_sobol.toml").read_text().split("[sweep]")[0]
SWEEP = """
[parameters]
stubbornness = 0.05

[[shocks]]
date = "2025-06-01"
kind = "move_toward"
member = "FRA"
target = "RUS"
fraction = 0.5

[sweep]
design = "{design}"
points = {points}
replicates = 64
trajectory = false
sensitivity_members = ["USA"]
parameters = [
    {{ name = "shocks[0].by[1]", range = [0.0, 3.92] }},
    {{ name = "shocks[1].fraction", range = [0.0, 1.0] }},
    {{ name = "shocks[0].date", range = [2025-01-20, 2025-02-17] }},
]
"""
SCENARIO = WORLD + SWEEP
LATER = "ES-11/7 text, a year on"


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("sensitivity")


def scenario_file(folder: Path, design: str = "saltelli", points: int = 16) -> Path:
    path = folder / f"{design}-{points}.toml"
    path.write_text(SCENARIO.format(design=design, points=points))
    return path


@pytest.fixture(scope="module")
def saltelli_sweep(folder, data) -> Path:
    """16 base samples x (3 + 2) = 80 points x 64 replicates."""
    scenario = load_scenario(scenario_file(folder), data.members)
    return run_sweep(scenario, data, folder / "saltelli", progress=False).directory


def test_saltelli_points_keep_salib_order(folder, data):
    """Row k of base sample j: A, then A with parameter i taken from B (i = 0..D-1), then B.
    Points that share a date are not regrouped (SALib reads the outcomes in this order)."""
    scenario = load_scenario(scenario_file(folder), data.members)
    plan = plan_sweep(read_sweep(scenario, data.members))
    names = [p.name for p in plan.spec.parameters]
    values = plan.points[names].to_numpy()
    assert len(values) == 16 * (len(names) + 2)
    for sample in values.reshape(16, len(names) + 2, len(names)):
        first, last = sample[0], sample[-1]
        for i, row in enumerate(sample[1:-1]):
            expected = first.copy()
            expected[i] = last[i]
            assert list(row) == list(expected)
    again = plan_sweep(read_sweep(scenario, data.members))
    assert again.points.equals(plan.points)  # the seed fixes the sample
    assert (
        plan_sweep(read_sweep(scenario, data.members), seed=12).points[names[0]].iloc[0]
        != (values[0, 0])
    )


def test_saltelli_section_errors_name_the_field(folder, data):
    for text, field in (
        (SCENARIO.format(design="saltelli", points=12), "sweep.points"),
        (
            SCENARIO.format(design="saltelli", points=16).replace('["USA"]', '["XYZ"]'),
            "sweep.sensitivity_members[0]",
        ),
    ):
        path = folder / "bad.toml"
        path.write_text(text)
        with pytest.raises(BlocsimError) as caught:
            read_sweep(load_scenario(path, data.members), data.members)
        assert caught.value.field == field and "\n" not in str(caught.value)


def test_sobol_indices_rank_the_turn_above_a_shock_after_the_vote(saltelli_sweep):
    found = analyze_sweep(saltelli_sweep)
    table = found.table
    assert set(table["method"]) == {"sobol"} and set(table["index_name"]) == {"S1", "ST"}
    yes = table[(table.vote == "A/RES/ES-11/7") & (table.outcome == "yes")].set_index(
        ["parameter", "index_name"]
    )
    assert len(yes) == 6
    assert (yes["ci_low"] <= yes["value"]).all() and (yes["value"] <= yes["ci_high"]).all()
    # France turns on 1 June, after the vote: it moves no vote, the US turn's size does.
    assert yes.loc[("shocks[0].by[1]", "ST"), "value"] > 0.5
    assert yes.loc[("shocks[1].fraction", "ST"), "value"] < 0.2
    assert (
        yes.loc[("shocks[1].fraction", "ST"), "value"] < yes.loc[("shocks[0].by[1]", "S1"), "value"]
    )
    later = table[(table.vote == LATER) & (table.outcome == "yes")].set_index(
        ["parameter", "index_name"]
    )  # ...but it moves the vote a year on (beside the US turn's size, which its aligned
    # followers scale: 0.17 [0.05, 0.30] against 0.002 on ES-11/7 in the one world)
    france_later = later.loc[("shocks[1].fraction", "ST"), "value"]
    assert france_later > 0.1 and france_later > 10 * yes.loc[("shocks[1].fraction", "ST"), "value"]
    assert {"yes", "p_yes[USA]"} <= set(table.outcome)
    assert table["noise_share"].between(0, 1).all()
    again = analyze_sweep(saltelli_sweep)  # the bootstrap is seeded from the sweep's root
    pd.testing.assert_frame_equal(again.table, table)


def test_outcomes_are_means_over_each_points_replicates(saltelli_sweep):
    """What SALib receives: each point's mean Yes count, in point order (checked against a
    one-line recomputation of the Sobol total index of the turn's size, Jansen's estimator)."""
    runs = pd.read_parquet(saltelli_sweep / "runs.parquet")
    yes = runs[runs.vote == "A/RES/ES-11/7"].groupby("point")["yes"].mean().to_numpy()
    blocks = yes.reshape(16, 5)
    a, ab_turn = blocks[:, 0], blocks[:, 1]
    jansen = 0.5 * np.mean((a - ab_turn) ** 2) / np.var(np.r_[blocks[:, 0], blocks[:, -1]])
    table = analyze_sweep(saltelli_sweep).table
    found = table.query(
        "vote == 'A/RES/ES-11/7' and outcome == 'yes' and parameter == 'shocks[0].by[1]' "
        "and index_name == 'ST'"
    )["value"].item()
    assert found == pytest.approx(jansen, rel=1e-6)


def test_given_data_indices_for_a_latin_hypercube(folder, data):
    scenario = load_scenario(scenario_file(folder, "latin_hypercube", 48), data.members)
    directory = run_sweep(scenario, data, folder / "lhs", progress=False).directory
    table = analyze_sweep(directory, members=("isr",)).table
    assert set(table["method"]) == {"given_data"} and set(table["index_name"]) == {"S1"}
    assert "p_yes[ISR]" in set(table.outcome)
    yes = table[(table.vote == "A/RES/ES-11/7") & (table.outcome == "yes")]
    first_order = yes.set_index("parameter")["value"]
    assert first_order["shocks[0].by[1]"] > 0.5 > first_order["shocks[1].fraction"]


def test_cli_analyze_prints_json_and_errors_in_one_line(saltelli_sweep, folder, capsys):
    done = subprocess.run(
        [BIN / "blocsim", "sweep", "analyze", str(saltelli_sweep), "--format", "json"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    records = json.loads(done.stdout)
    keys = {(r["parameter"], r["index_name"]) for r in records if r["outcome"] == "yes"}
    assert ("shocks[0].date", "ST") in keys and ("shocks[1].fraction", "S1") in keys
    assert all({"ci_low", "ci_high"} <= set(r) for r in records)
    unfinished = folder / "unfinished"
    unfinished.mkdir()
    write_manifest(unfinished, **{**read_manifest(saltelli_sweep), "status": "running"})
    cases = (
        (["analyze", str(unfinished)], "not complete"),
        (["analyze"], "DIR"),
        (["analyze", str(saltelli_sweep), "--member", "XYZ"], "XYZ"),
    )
    for arguments, words in cases:  # in process: the same `main` the command runs
        assert main(["sweep", *arguments]) == 2
        stderr = capsys.readouterr().err
        assert words in stderr and stderr.strip().count("\n") == 0


def test_report_of_a_saltelli_sweep_shows_the_indices(saltelli_sweep):
    from sim.outputs.report import write_report

    report = write_report(saltelli_sweep, force=True)
    drawn = pd.read_csv(report / "sensitivity.csv")
    assert set(drawn["vote"]) == {"A/RES/ES-11/7"}  # the question's text
    assert set(drawn["index_name"]) == {"S1", "ST"}
    latex = (report / "sensitivity_indices.tex").read_text()
    assert r"S1 [95\% CI]" in latex and "the move along axis 2 of USA's shift" in latex
    svg = (report / "sensitivity.svg").read_text()
    assert 'id="sensitivity-S1' in svg and 'id="sensitivity-ST' in svg
    assert "## Which parameter matters" in (report / "report.md").read_text()

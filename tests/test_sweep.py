"""Sweeps: the [sweep] section, designs and blocks, the batched kernel against the Mesa model,
byte-identical tables whatever the workers or executor, and resuming a killed sweep."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.data.followers import followers
from sim.errors import BlocsimError
from sim.model.model import BlocModel
from sim.model.scenario import load_scenario
from sim.model.voting import VOTE_CODES, vote_probabilities
from sim.sweep.batch import expected_counts, simulate_block
from sim.sweep.blocks import completed_blocks, write_block
from sim.sweep.design import plan_sweep, read_sweep
from sim.sweep.inputs import sweep_setup
from sim.sweep.runner import resume_sweep, run_sweep
from sim.sweep.summary import answer_lines

BIN = Path(sys.executable).parent
TABLES = (
    "points.csv",
    "runs.parquet",
    "members.parquet",
    "trajectory.parquet",
    "baseline_runs.parquet",
    "baseline_members.parquet",
    "baseline_trajectory.parquet",
    "summary.csv",
    "flips.csv",
)


def write(folder: Path, text: str, name: str = "sweep.toml") -> Path:
    path = folder / name
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("sweeps")


def same_tables(first: Path, second: Path) -> None:
    for name in TABLES:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


def test_sweep_section_errors_name_the_field(folder, data, sweep_template):
    cases = {
        'design = "grid"\nfoo = 1': "sweep.foo",
        'design = "sobol"\npoints = 12': "sweep.points",
        'design = "magic"': "sweep.design",
    }
    base = sweep_template.split("[sweep]")[0].format(sc_date="2025-02-24")
    for body, field in cases.items():
        text = f'{base}[sweep]\n{body}\n[[sweep.parameters]]\nname = "shocks[0].fraction"\nvalues = [0.1]\n'
        scenario = load_scenario(write(folder, text, "bad.toml"), data.members)
        with pytest.raises(BlocsimError) as caught:
            read_sweep(scenario, data.members)
        assert caught.value.field == field and "\n" not in str(caught.value)
    varied = {  # a stubbornness of 0 would divide by zero; texts are fitted once
        'name = "parameters.stubbornness"\nvalues = [0.0, 0.5]': "sweep.parameters[0].values",
        'name = "parameters.stubbornness"\nrange = [0.0, 0.5]\nsteps = 3': "sweep.parameters[0].range",
        'name = "parameters.discrimination"\nvalues = [1.0, 2.0]': "sweep.parameters[0].name",
        'name = "parameters.turn_cost"\nrange = [0.0, 1.0]\nsteps = 3': "sweep.parameters[0].range",
        'name = "parameters.parting"\nvalues = [-1.0, 1.0]': "sweep.parameters[0].values",
    }
    for entry, field in varied.items():
        text = f"{base}[sweep]\n[[sweep.parameters]]\n{entry}\n"
        scenario = load_scenario(write(folder, text, "bad.toml"), data.members)
        with pytest.raises(BlocsimError) as caught:
            read_sweep(scenario, data.members)
        assert caught.value.field == field and "\n" not in str(caught.value)
    bad_name = sweep_template.replace("shocks[0].fraction", "shocks[3].fraction")
    scenario = load_scenario(
        write(folder, bad_name.format(sc_date="2025-02-24"), "bad.toml"), data.members
    )
    with pytest.raises(BlocsimError, match="1 \\[\\[shocks\\]\\]") as caught:
        read_sweep(scenario, data.members)
    assert caught.value.field == "sweep.parameters[0].name"


def test_cli_without_a_sweep_section_is_a_one_line_error(folder, sweep_template):
    path = write(
        folder, sweep_template.split("[sweep]")[0].format(sc_date="2025-02-24"), "plain.toml"
    )
    done = subprocess.run(
        [BIN / "blocsim", "sweep", str(path), "--out", str(folder / "never")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "sweep" in done.stderr


def test_negative_seeds_and_no_runs_are_field_errors(
    folder, data, sweep_template, small_sweep_scenario
):
    text = sweep_template.format(sc_date="2025-02-24").replace(
        "position_noise = 0.05", "position_noise = 0.05\nseed = -3"
    )
    scenario = load_scenario(write(folder, text, "bad.toml"), data.members)
    with pytest.raises(BlocsimError) as caught:
        read_sweep(scenario, data.members)
    assert caught.value.field == "sweep.seed"
    spec = read_sweep(small_sweep_scenario, data.members)
    for runs in (0, -5):
        with pytest.raises(BlocsimError) as caught:
            plan_sweep(spec, runs=runs)
        assert caught.value.field == "--runs"
    with pytest.raises(BlocsimError) as caught:
        plan_sweep(spec, seed=-1)
    assert caught.value.field == "--seed"


@pytest.mark.parametrize("runs", ["0", "1000000000000"])
def test_cli_rejects_zero_or_too_many_runs_and_leaves_no_directory(folder, sweep_template, runs):
    path = write(folder, sweep_template.format(sc_date="2025-02-24"), "zero.toml")
    out = folder / "zero-runs"
    done = subprocess.run(
        [BIN / "blocsim", "sweep", str(path), "--runs", runs, "--out", str(out), "--quiet"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().count("\n") == 0 and "--runs" in done.stderr
    assert not out.exists()


def test_a_sweep_that_cannot_start_leaves_no_directory(folder, small_sweep_scenario, data):
    out = folder / "never-started"
    with pytest.raises(BlocsimError) as caught:
        run_sweep(small_sweep_scenario, data, out, workers=0, progress=False)
    assert caught.value.field == "--workers"
    with pytest.raises(BlocsimError) as caught:
        run_sweep(small_sweep_scenario, data, out, executor="dask", address="", progress=False)
    assert caught.value.field in ("--address", "--executor")
    assert not out.exists()


def test_blocks_are_whole_points_fixed_by_the_design(small_sweep_scenario, data):
    spec = read_sweep(small_sweep_scenario, data.members)
    plan = plan_sweep(spec)
    assert len(plan.points) == 8 and plan.runs == 320
    # points sharing a shock date (a block-wide field) are grouped; two points per block
    assert [b.points.tolist() for b in plan.blocks] == [[0, 1], [2, 3], [4, 5], [6, 7]]
    for block in plan.blocks:
        dates = plan.points.loc[block.points, "shocks[0].date"]
        assert dates.nunique() == 1
    many = plan_sweep(spec, runs=8 * 250)  # 250 replicates: each point in chunks of <= 100
    sizes = {b.runs for b in many.blocks}
    assert sum(b.size for b in many.blocks) == many.runs and max(sizes) <= 100
    assert [b.trajectory for b in many.blocks if b.points[0] == 0][0]
    assert plan_sweep(spec).fingerprint() == plan.fingerprint()


def test_blocks_are_sized_by_runs_even_for_a_prime_replicate_count(small_sweep_scenario, data):
    """A prime replicate count (101, 1009) once meant one-run blocks: now the fewest chunks."""
    spec = read_sweep(small_sweep_scenario, data.members)  # block_size = 100
    for replicates in (101, 1009, 61, 97):
        plan = plan_sweep(spec, runs=8 * replicates)
        assert plan.replicates == replicates
        assert all(50 <= b.size <= 100 for b in plan.blocks), replicates
        assert len(plan.blocks) == 8 * math.ceil(replicates / 100)
        for point in range(8):  # each point's replicates covered once, in order
            chunks = [b for b in plan.blocks if point in b.points]
            firsts = [int(b.first_replicate[list(b.points).index(point)]) for b in chunks]
            assert firsts == sorted(firsts) and firsts[0] == 0
            assert sum(b.runs for b in chunks) == replicates
    chunked = plan_sweep(spec, runs=8 * 101)
    assert [(b.runs, int(b.first_replicate[0])) for b in chunked.blocks[:2]] == [(51, 0), (50, 51)]


def test_the_missions_sweep_at_400000_runs_has_large_blocks(data):
    """72 points x 5,556 replicates (400,000 runs rounded up to whole points): 432 blocks of
    926 runs (each point's runs split in six), not 400,032 one-run blocks."""
    scenario = load_scenario("scenarios/us_realignment_sweep.toml", data.members)
    plan = plan_sweep(read_sweep(scenario, data.members), runs=400_000)
    assert (len(plan.points), plan.replicates) == (72, 5556)
    assert len(plan.blocks) == 432 and {b.size for b in plan.blocks} == {926}


def test_a_design_too_large_is_refused_before_it_is_built(
    folder, data, sweep_template, small_sweep_scenario
):
    base = sweep_template.split("[sweep]")[0].format(sc_date="2025-02-24")
    ranges = "".join(
        f'[[sweep.parameters]]\nname = "{name}"\nrange = [0.1, 0.9]\nsteps = 1000\n'
        for name in ("shocks[0].fraction", "shocks[0].hold", "parameters.stubbornness")
    )
    stubbornness = '[[sweep.parameters]]\nname = "parameters.stubbornness"\nrange = [0.1, 0.9]\n'
    cases = {  # section -> (field, the number the message names)
        f"[sweep]\n{ranges}": ("sweep.parameters", "1,000,000,000 points"),
        f'[sweep]\ndesign = "latin_hypercube"\npoints = 1000000000\n{stubbornness}': (
            "sweep.points",
            "1,000,000,000 points",
        ),
        f'[sweep]\ndesign = "sobol"\npoints = {2**40}\n{stubbornness}': (
            "sweep.points",
            f"{2**40:,} points",
        ),
        # a Saltelli sample of N base samples is N x (parameters + 2) points: 2^19 x 3
        f'[sweep]\ndesign = "saltelli"\npoints = {2**19}\n{stubbornness}': (
            "sweep.points",
            f"{2**19 * 3:,} points",
        ),
        f'[sweep]\ndesign = "latin_hypercube"\npoints = 1000\nreplicates = 100000\n{stubbornness}': (
            "sweep.replicates",
            "100,000,000 runs",
        ),
    }
    for section, (field, number) in cases.items():
        scenario = load_scenario(write(folder, base + section, "huge.toml"), data.members)
        with pytest.raises(BlocsimError) as caught:
            read_sweep(scenario, data.members)
        message = str(caught.value)
        assert caught.value.field == field and "\n" not in message
        assert number in message and "huge.toml" in message and "limit of" in message
    spec = read_sweep(small_sweep_scenario, data.members)
    with pytest.raises(
        BlocsimError, match="1,000,000,000,000 runs .* limit of 10,000,000"
    ) as caught:
        plan_sweep(spec, runs=10**12)
    assert caught.value.field == "--runs"


def test_per_run_stubbornness_is_the_parameters_rule(small_sweep_scenario, data):
    plan = plan_sweep(read_sweep(small_sweep_scenario, data.members))
    _, tasks = sweep_setup(small_sweep_scenario, data, plan)
    task = tasks.task(plan.blocks[1])
    for row, point in enumerate(task.block.points):
        values = {
            "stubbornness_by_group.eu": plan.points.loc[
                point, "parameters.stubbornness_by_group.eu"
            ]
        }
        expected = small_sweep_scenario.parameters.with_values(values).member_stubbornness(
            data.members
        )
        np.testing.assert_array_equal(task.stubbornness[row], expected)


def test_expected_counts_are_the_voting_probabilities(small_sweep_scenario, data):
    plan = plan_sweep(read_sweep(small_sweep_scenario, data.members))
    setup, _ = sweep_setup(small_sweep_scenario, data, plan)
    positions = setup.positions[None] + np.linspace(-0.3, 0.3, 5)[:, None, None]  # (5, N, K)
    for slot in setup.slots:
        seated = slot.draft.cut_points.on_text(positions[:, slot.columns])  # (5, M)
        probs = vote_probabilities(seated, slot.absence, slot.draft.cut_points).sum(axis=-2)
        want = probs[:, [0, 2, 1]]  # Y, N, A
        got = expected_counts(seated.astype(np.float32), slot.present, slot.draft.cut_points)
        np.testing.assert_allclose(got, want, atol=2e-3)


PARTING = "parting = 3.0\nturn_cost = 0.4\n"


@pytest.mark.parametrize(
    "rules",
    [
        "",
        f"[parameters]\n{PARTING}",
        "[parameters]\nstubbornness = 0.3\n",
        f"[parameters]\nstubbornness = 0.3\n{PARTING}",
    ],
    ids=["static", "static-parting", "moving", "moving-parting"],
)
def test_a_block_of_one_run_is_the_mesa_model(folder, data, sweep_template, rules):
    """R = 1 in float64: the same positions (expected counts) and the very same votes, under
    Friedkin-Johnsen and under the parting rules. With the calibration's stubbornness 1 only
    the US moves, once: the block stops stepping when a step changes nothing, the model steps
    to the end."""
    text = sweep_template.format(sc_date="2025-03-10").replace("position_noise = 0.05", "")
    text = text.replace("[[shocks]]", f"{rules}[[shocks]]", 1)
    text = text.replace("values = [0.3, 0.9]", "values = [0.6]")
    text = text.replace("values = [2025-01-06, 2025-02-03]", "values = [2025-01-20]")
    text = text.replace("parameters.stubbornness_by_group.eu", "shocks[0].hold")
    text = text.replace("values = [0.3, 0.7]", "values = [0.9]").replace(
        "replicates = 40", "replicates = 1"
    )
    text = text.replace("[sweep.baseline]\ndrop_shocks = [0]\n", "")
    scenario = load_scenario(write(folder, text, "one.toml"), data.members)
    assert scenario.parameters.parting == (3.0 if PARTING in rules else 0.0)
    plan = plan_sweep(read_sweep(scenario, data.members))
    setup, tasks = sweep_setup(scenario, data, plan, dtype="float64")
    block = plan.blocks[0]
    _, arrays = simulate_block(setup, tasks.task(block))
    sequence = np.random.SeedSequence(plan.seed, spawn_key=block.spawn_key)
    model = BlocModel.from_scenario(scenario, data, sequence)
    model.rng = np.random.default_rng(sequence)  # Mesa drew a seed for `random` from it
    model.run_model()
    ballots = [counts for held in model.held for counts in held.record.counts]
    np.testing.assert_array_equal(arrays["counts"][0], np.array(ballots))
    for t, (slot, held) in enumerate(zip(setup.slots, model.held, strict=True)):
        one_hot = np.eye(len(VOTE_CODES), dtype=int)[held.record.codes[-1]]
        np.testing.assert_array_equal(arrays[f"members_{t}"][0], one_hot)
        positions = slot.draft.cut_points.on_text(model.trajectory[slot.step][slot.columns])
        expected = vote_probabilities(positions, slot.absence, slot.draft.cut_points).sum(axis=0)
        np.testing.assert_allclose(arrays["trajectory"][0, t, slot.step, 1], expected[0], rtol=1e-5)


def test_sweep_directory_holds_the_contract(small_sweep, data):
    directory = small_sweep.directory
    manifest = json.loads((directory / "manifest.json").read_text())
    assert manifest["kind"] == "sweep" and manifest["status"] == "complete"
    assert manifest["runs"] == 320 and len(manifest["points"]) == 8
    assert manifest["points"][0]["spawn_keys"] == [[1, 0]]
    assert (
        manifest["scenario"]["sha256"]
        == hashlib.sha256((directory / "scenario.toml").read_bytes()).hexdigest()
    )
    runs = pd.read_parquet(directory / "runs.parquet")
    assert list(runs.columns) == [
        "point",
        "replicate",
        "vote",
        "name",
        "on",
        "body",
        "important",
        "yes",
        "no",
        "abstain",
        "not_voting",
        "adopted",
    ]
    assert len(runs) == 320 * 4  # two GA texts, the SC amendment, the SC text
    seats = {"A/RES/ES-11/7": 193, "A/RES/ES-11/7 (important)": 193, "SC text": 15}
    assert (
        runs[["yes", "no", "abstain", "not_voting"]].sum(axis=1) == runs["vote"].map(seats)
    ).all()
    rules = runs.drop_duplicates("name").set_index("name")[["body", "important"]]
    assert rules.to_dict("index") == {
        "A/RES/ES-11/7": {"body": "GA", "important": False},
        "A/RES/ES-11/7 (important)": {"body": "GA", "important": True},
        "European amendment": {"body": "SC", "important": False},
        "SC text": {"body": "SC", "important": False},
    }
    important = runs[runs["vote"] == "A/RES/ES-11/7 (important)"]
    assert (
        important["adopted"] == (3 * important["yes"] >= 2 * (important["yes"] + important["no"]))
    ).all()
    members = pd.read_parquet(directory / "members.parquet")
    assert len(members) == 8 * (193 + 193 + 15)
    np.testing.assert_allclose(members[["p_Y", "p_A", "p_N", "p_X"]].sum(axis=1), 1.0)
    trajectory = pd.read_parquet(directory / "trajectory.parquet")
    assert {"point", "vote", "step", "date", "yes_q10", "yes_q50", "yes_q90"} <= set(trajectory)
    assert (trajectory["yes_q10"] <= trajectory["yes_q90"]).all()
    summary = pd.read_csv(directory / "summary.csv")
    assert {"all", "marginal"} <= set(summary["scope"])
    flips = pd.read_csv(directory / "flips.csv")
    question = flips[flips["vote"] == "A/RES/ES-11/7"]
    assert question["rank"].iloc[0] == 1 and question["iso3"].iloc[0] == "USA"
    assert question["p_flip"].is_monotonic_decreasing
    assert any("flip first" in line for line in small_sweep.answer)
    # beside each state, the record of `blocsim data followers`, as that command computes it
    record = followers(data).set_index("iso3")
    argentina = question.set_index("iso3").loc["ARG"]
    assert argentina["record_after_share"] == record.loc["ARG", "after_share"]
    assert argentina["record_change"] == record.loc["ARG", "change"]
    (line,) = [line for line in small_sweep.answer if line.lstrip().startswith("on the record")]
    first = question.head(10).dropna(subset=["record_change"])  # the ten the answer lists
    toward = first[first["record_change"] > 0]
    assert f"{len(toward)} of these {len(first)} voted with it more often" in line
    for row in toward.itertuples():  # each one named, with its record before and after
        assert f"{row.iso3} {row.record_before_share:.2f}->{row.record_after_share:.2f}" in line


def test_the_answer_states_the_rule_of_the_question(small_sweep, small_sweep_scenario, data):
    """The printed answer names what "not adopted" means for the text asked about."""
    plan = small_sweep.plan
    setup, _ = sweep_setup(small_sweep_scenario, data, plan)
    summary = pd.read_csv(small_sweep.directory / "summary.csv", keep_default_na=False)
    words = {
        "A/RES/ES-11/7": "Yes <= No",
        "A/RES/ES-11/7 (important)": "two thirds",
        "SC text": "fewer than 9 Yes",
    }
    for question, rule in words.items():
        asked = dataclasses.replace(plan, spec=dataclasses.replace(plan.spec, question=question))
        line = answer_lines(asked, setup, summary, None)[0]
        assert line.startswith(question) and rule in line
        assert ("2022-23 level" in line) == (question != "SC text")


def test_the_answer_is_worded_for_a_reader(small_sweep, small_sweep_scenario, data):
    """Parameters and the status quo are named by what they mean in the scenario; a single
    value is printed as a value, not as a range."""
    plan = small_sweep.plan
    setup, _ = sweep_setup(small_sweep_scenario, data, plan)
    summary = pd.read_csv(small_sweep.directory / "summary.csv", keep_default_na=False)
    shocks = small_sweep_scenario.raw["shocks"]
    text = "\n".join(answer_lines(plan, setup, summary, None, shocks=shocks))
    assert "the status quo (the same runs without USA's turn toward RUS)" in text
    assert "baseline without shocks" not in text and ".." not in text
    marginal = summary[(summary["scope"] == "marginal") & (summary["vote"] == "A/RES/ES-11/7")]
    worst = marginal.sort_values(["p_fail", "yes_mean"], ascending=[False, True]).iloc[0]
    assert f"({worst.parameter}) is {worst.low} (mean Yes" in text
    words = {
        "shocks[0].fraction": "the size of USA's turn toward RUS (shocks[0].fraction)",
        "shocks[0].date": "the date of USA's turn toward RUS (shocks[0].date)",
        "parameters.stubbornness_by_group.eu": "the stubbornness of EU members",
    }
    assert words[worst.parameter] in text


def test_the_failing_region_is_worded_with_values(small_sweep, small_sweep_scenario, data):
    """Where the question fails at some points, the box around them reads as values: "its date
    (shocks[0].date) is 2025-01-06", "... is from 0.3 to 0.9"."""
    plan = small_sweep.plan
    setup, _ = sweep_setup(small_sweep_scenario, data, plan)
    summary = pd.read_csv(small_sweep.directory / "summary.csv", keep_default_na=False)
    first = summary[(summary["vote"] == "A/RES/ES-11/7") & (summary["series"] == "sweep")].iloc[0]
    box = [
        ("shocks[0].fraction", 0.3, 0.9),
        ("shocks[0].date", "2025-01-06", "2025-01-06"),
        ("parameters.stubbornness_by_group.eu", 0.7, 0.7),
    ]
    region = pd.DataFrame(
        [
            {
                **first.to_dict(),
                "scope": "region",
                "parameter": name,
                "low": low,
                "high": high,
                "points": 4,
                "p_fail": 0.6,
                "failing_points": 2,
                "failing_points_in_box": 2,
            }
            for name, low, high in box
        ]
    )
    lines = answer_lines(
        plan,
        setup,
        pd.concat([summary, region]),
        None,
        shocks=small_sweep_scenario.raw["shocks"],
    )
    line = lines[2]
    assert line.strip().startswith("it is not adopted in most runs at 2 of 8 design points")
    assert "the size of USA's turn toward RUS (shocks[0].fraction) is from 0.3 to 0.9" in line
    assert "its date (shocks[0].date) is 2025-01-06;" in line
    assert "the stubbornness of EU members (parameters.stubbornness_by_group.eu) is 0.7" in line


def test_resume_errors_name_the_file_or_field(folder, small_sweep, data):
    directory = folder / "cut-short"
    directory.mkdir()
    (directory / "scenario.toml").write_bytes(
        (small_sweep.directory / "scenario.toml").read_bytes()
    )
    manifest = json.loads((small_sweep.directory / "manifest.json").read_text())
    del manifest["data"]
    (directory / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BlocsimError) as caught:
        resume_sweep(directory, data, progress=False)
    assert caught.value.field == "data" and caught.value.file == directory / "manifest.json"
    del manifest["scenario"]["sha256"]
    (directory / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BlocsimError) as caught:
        resume_sweep(directory, data, progress=False)
    assert caught.value.field == "scenario.sha256"
    (directory / "scenario.toml").unlink()
    with pytest.raises(BlocsimError) as caught:
        resume_sweep(directory, data, progress=False)
    assert caught.value.file == directory / "scenario.toml"
    done = subprocess.run(
        [BIN / "blocsim", "sweep", "--resume", str(directory), "--quiet"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2 and done.stderr.strip().count("\n") == 0, done.stderr


def test_two_workers_give_byte_identical_tables(folder, small_sweep_scenario, data, small_sweep):
    pooled = run_sweep(small_sweep_scenario, data, folder / "pooled", workers=2, progress=False)
    same_tables(small_sweep.directory, pooled.directory)


def test_blocks_in_reverse_order_then_resume_give_the_same_tables(
    folder, small_sweep_scenario, data, small_sweep
):
    """Any order of completion: write half the blocks backwards by hand, resume the rest."""
    directory = folder / "backwards"
    (directory / "blocks").mkdir(parents=True)
    for name in ("manifest.json", "scenario.toml"):
        (directory / name).write_bytes((small_sweep.directory / name).read_bytes())
    plan = small_sweep.plan
    setup, tasks = sweep_setup(small_sweep_scenario, data, plan)
    for block in reversed(plan.blocks[2:]):
        write_block(directory, *simulate_block(setup, tasks.task(block)))
    resumed = resume_sweep(directory, data, progress=False)
    assert resumed.blocks_run == 2
    same_tables(small_sweep.directory, directory)


PARTING_SWEEP = """
[[sweep.parameters]]
name = "parameters.parting"
values = [0.0, 3.0]

[[sweep.parameters]]
name = "parameters.turn_cost"
values = [0.0, 0.5]
"""


@pytest.fixture(scope="module")
def parting_sweep_scenario(folder, data, sweep_template):
    """The small sweep with the parting rules swept too (16 points x 10 replicates)."""
    text = sweep_template.format(sc_date="2025-02-24").replace("replicates = 40", "replicates = 10")
    text = text.replace("[sweep.baseline]", f"{PARTING_SWEEP}\n[sweep.baseline]")
    return load_scenario(write(folder, text, "parting.toml"), data.members)


def test_parting_and_turn_cost_reach_every_run(parting_sweep_scenario, data):
    """Per-run values, like stubbornness: points that differ in them share blocks, and each
    block's task carries every run's own values, point by point."""
    plan = plan_sweep(read_sweep(parting_sweep_scenario, data.members))
    _, tasks = sweep_setup(parting_sweep_scenario, data, plan)
    seen = set()
    for block in plan.blocks:
        rows = plan.points.loc[block.points, ["parameters.parting", "parameters.turn_cost"]]
        task = tasks.task(block)
        expected = np.repeat(rows.to_numpy(), block.runs, axis=0)
        np.testing.assert_array_equal(np.column_stack([task.parting, task.turn_cost]), expected)
        seen |= set(rows.itertuples(index=False, name=None))
    assert seen == {(0.0, 0.0), (0.0, 0.5), (3.0, 0.0), (3.0, 0.5)}
    assert any(len(block.points) > 1 for block in plan.blocks)


def test_blocks_run_dearest_first_each_class_in_plan_order(data):
    """In the mission's sweep, blocks where members part ways run first, then those where they
    move, the still ones (stubbornness 1) last: the order the runner submits them in (the
    tables do not depend on it)."""
    scenario = load_scenario("scenarios/us_realignment_sweep.toml", data.members)
    plan = plan_sweep(read_sweep(scenario, data.members), runs=50_000)  # a block a point
    _, tasks = sweep_setup(scenario, data, plan)
    order = tasks.dearest_first(plan.blocks)

    def dearness(block):
        task = tasks.task(block)
        if np.all(task.stubbornness == 1):
            return 0
        return 2 if np.any(task.parting) else 1

    classes = [dearness(block) for block in order]
    assert sorted(block.index for block in order) == [block.index for block in plan.blocks]
    assert classes == sorted(classes, reverse=True)
    assert [classes.count(dear) for dear in (2, 1, 0)] == [36, 18, 18]
    for dear in set(classes):
        indices = [b.index for b, c in zip(order, classes, strict=True) if c == dear]
        assert indices == sorted(indices)


@pytest.mark.parametrize("design", ["latin_hypercube", "saltelli"])
def test_sampled_designs_share_blocks_whatever_the_turn(folder, data, sweep_template, design):
    """The turn's date and size, parting and turn_cost differ from point to point in a sampled
    design: they are per run, so its points fill whole blocks (SALib's order kept)."""
    base = sweep_template.split("[sweep]")[0].format(sc_date="2025-02-24")
    text = (
        f'{base}[sweep]\ndesign = "{design}"\npoints = 8\nreplicates = 2\n'
        '[[sweep.parameters]]\nname = "parameters.parting"\nrange = [0.0, 4.0]\n'
        '[[sweep.parameters]]\nname = "parameters.turn_cost"\nrange = [0.1, 0.9]\n'
        '[[sweep.parameters]]\nname = "shocks[0].date"\nrange = [2025-01-01, 2025-04-01]\n'
    )
    scenario = load_scenario(write(folder, text, f"{design}.toml"), data.members)
    plan = plan_sweep(read_sweep(scenario, data.members))
    assert len(plan.points) == (8 if design == "latin_hypercube" else 8 * 5)
    parting, cost = plan.points["parameters.parting"], plan.points["parameters.turn_cost"]
    assert parting.between(0, 4).all() and cost.between(0.1, 0.9).all()
    assert parting.nunique() > 1 and cost.nunique() > 1
    assert len(plan.blocks) == 1
    _, tasks = sweep_setup(scenario, data, plan)
    task = tasks.task(plan.blocks[0])
    np.testing.assert_array_equal(task.parting, np.repeat(parting.to_numpy(), 2))
    turned = np.zeros(plan.blocks[0].size, int)  # each run turns once, on its point's date
    for shocks in task.shocks.values():
        for shock in shocks:
            turned += shock.runs
    assert (turned == 1).all() and len(task.shocks) > 1


def test_a_parting_sweep_gives_the_same_tables_on_two_workers(folder, parting_sweep_scenario, data):
    serial = run_sweep(parting_sweep_scenario, data, folder / "parting-1", progress=False)
    pooled = run_sweep(
        parting_sweep_scenario, data, folder / "parting-2", workers=2, progress=False
    )
    same_tables(serial.directory, pooled.directory)
    points = pd.read_csv(serial.directory / "points.csv")
    trajectory = pd.read_parquet(serial.directory / "trajectory.parquet").merge(points)
    by_rule = trajectory.groupby(["parameters.parting", "parameters.turn_cost"])["yes_q50"].mean()
    assert by_rule.nunique() == 4  # each rule moves the members its own way


LONG_RUNS = 8 * 401  # 401 replicates per point, a prime: 40 blocks of 80 or 81 runs
LONG_BLOCKS = 40


@pytest.fixture(scope="module")
def long_sweep(folder, data, sweep_template) -> tuple[Path, Path]:
    """A sweep long enough to interrupt (its scenario file) and its uninterrupted tables."""
    path = write(folder, sweep_template.format(sc_date="2026-02-24"), "long.toml")
    whole = run_sweep(
        load_scenario(path, data.members), data, folder / "whole", runs=LONG_RUNS, progress=False
    )
    assert len(whole.plan.blocks) == LONG_BLOCKS
    return path, whole.directory


def start_long_sweep(path: Path, out: Path, *options: str) -> subprocess.Popen:
    """`blocsim sweep` of the long sweep, returned once it has written a few block files."""
    command = [BIN / "blocsim", "sweep", str(path), "--runs", str(LONG_RUNS), "--quiet"]
    process = subprocess.Popen(
        [*command, "--out", str(out), *options],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(completed_blocks_safe(out)) < 3:
        time.sleep(0.05)
    return process


def resume_to_the_same_tables(directory: Path, whole: Path, found: int) -> None:
    """Resume in one process the blocks two workers left: the uninterrupted sweep's tables."""
    assert not (directory / "runs.parquet").exists()
    status = subprocess.run(
        [BIN / "blocsim", "sweep", "--resume", str(directory), "--quiet"],
        capture_output=True,
        text=True,
    )
    assert status.returncode == 0, status.stderr
    manifest = json.loads((directory / "manifest.json").read_text())
    assert manifest["blocks_found"] == found and manifest["blocks_run"] == LONG_BLOCKS - found
    same_tables(whole, directory)


def test_a_killed_sweep_leaves_no_worker_and_resumes_to_the_same_tables(folder, long_sweep):
    path, whole = long_sweep
    killed = folder / "killed"
    process = start_long_sweep(path, killed, "--workers", "2")
    children = descendants(process.pid)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)  # not communicate(): a surviving worker would hold stderr open
    done = completed_blocks_safe(killed)
    assert 3 <= len(done) < LONG_BLOCKS, "the sweep must be interrupted half-way"
    assert_all_exit(children)
    resume_to_the_same_tables(killed, whole, len(done))


def descendants(pid: int) -> set[int]:
    """The processes below `pid` (its children, theirs...), read from /proc."""
    parent_of = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:  # fields after the command's name: state, ppid, ...
            parent_of[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parent_of.items() if parent in frontier}
        found |= frontier
    return found


def running(pid: int) -> bool:
    """Alive and not a zombie (an orphan's zombie waits for a reaper, it runs nothing)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def assert_all_exit(children: set[int]) -> None:
    """The sweep's workers and resource tracker exit (a moment after the command, at most)."""
    assert len(children) >= 2, "two workers (and multiprocessing's resource tracker)"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(running(pid) for pid in children):
        time.sleep(0.05)
    survivors = [pid for pid in children if running(pid)]
    for pid in survivors:  # the test's own processes: never leave them behind
        os.kill(pid, signal.SIGKILL)
    assert not survivors, "a child process outlived the sweep"


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_an_interrupted_sweep_stops_its_workers_and_says_how_to_resume(folder, long_sweep, stop):
    path, whole = long_sweep
    directory = folder / f"interrupted-{stop.name}"
    process = start_long_sweep(path, directory, "--workers", "2")
    children = descendants(process.pid)
    process.send_signal(stop)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 128 + stop  # 130 for SIGINT, 143 for SIGTERM
    assert stderr.strip() == (
        f"blocsim: interrupted by {stop.name}: the finished blocks are kept in {directory}; "
        f"finish the sweep with: blocsim sweep --resume {directory}"
    )
    assert_all_exit(children)
    assert json.loads((directory / "manifest.json").read_text())["status"] == "running"
    resume_to_the_same_tables(directory, whole, len(completed_blocks_safe(directory)))


@pytest.fixture
def command_on(data, monkeypatch):
    """`blocsim sweep ...` run in this process, loading the session's data through `loading`."""
    from sim.cli import main
    from sim.cli import sweep as sweep_commands

    def run(argv: list[str], loading=lambda: None) -> int:
        def load(_args):
            loading()
            return data

        monkeypatch.setattr(sweep_commands, "load", load)
        return main(["sweep", *argv])

    return run


def test_a_sweep_refused_after_its_workers_started_leaves_no_process(
    folder, sweep_template, command_on, capsys
):
    """The two workers start before the data load; a bad file then ends them (exit 2)."""
    path = write(folder, sweep_template.format(sc_date="not a date"), "bad-date.toml")
    started = []
    status = command_on(
        [str(path), "--workers", "2", "--out", str(folder / "never-made")],
        loading=lambda: started.append(len(multiprocessing.active_children())),
    )
    err = capsys.readouterr().err
    assert status == 2 and err.startswith(f"blocsim: {path}: line ") and err.count("\n") == 1
    assert started == [2], "the workers run while the data load"
    assert not multiprocessing.active_children()
    assert not (folder / "never-made").exists()


def test_a_signal_while_the_data_load_stops_the_started_workers(
    folder, small_sweep_scenario, command_on, capsys
):
    out = folder / "signalled"
    with pytest.raises(SystemExit) as stopped:
        command_on(
            [str(small_sweep_scenario.path), "--workers", "2", "--out", str(out)],
            loading=lambda: os.kill(os.getpid(), signal.SIGTERM),
        )
    assert stopped.value.code == 128 + signal.SIGTERM
    assert capsys.readouterr().err == (
        "blocsim: interrupted by SIGTERM before the sweep started; nothing was written\n"
    )
    assert not multiprocessing.active_children()
    assert not out.exists()


def completed_blocks_safe(directory: Path) -> set[int]:
    return completed_blocks(directory) if (directory / "blocks").is_dir() else set()


def test_dask_cluster_gives_the_same_tables(folder, small_sweep_scenario, data, small_sweep):
    """A real scheduler and two workers on 127.0.0.1, as a user's cluster would be."""
    cluster = folder / "cluster"
    cluster.mkdir()
    env = {**os.environ, "DASK_TEMPORARY_DIRECTORY": str(cluster)}
    scheduler_file = cluster / "scheduler.json"
    scheduler = subprocess.Popen(
        [BIN / "dask", "scheduler", "--host", "127.0.0.1", "--port", "0",
         "--dashboard-address", "127.0.0.1:0", "--scheduler-file", str(scheduler_file)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    workers = []
    try:
        deadline = time.monotonic() + 30
        while not scheduler_file.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.2)
        address = json.loads(scheduler_file.read_text())["address"]
        for n in range(2):
            workers.append(
                subprocess.Popen(
                    [
                        BIN / "dask",
                        "worker",
                        "--scheduler-file",
                        str(scheduler_file),
                        "--host",
                        "127.0.0.1",
                        "--nworkers",
                        "1",
                        "--nthreads",
                        "1",
                        "--no-dashboard",
                        "--local-directory",
                        str(cluster / f"worker{n}"),
                    ],
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )  # fmt: skip
            )
        from distributed import Client

        with Client(address, timeout="20s") as client:
            client.wait_for_workers(2, timeout=30)
        distributed = run_sweep(
            small_sweep_scenario,
            data,
            folder / "dask",
            executor="dask",
            address=address,
            progress=False,
        )
        assert (
            "dask" in json.loads((distributed.directory / "manifest.json").read_text())["executor"]
        )
        same_tables(small_sweep.directory, distributed.directory)
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=30)
        scheduler.terminate()
        scheduler.wait(timeout=30)


def test_runs_that_turn_on_different_dates_move_as_in_blocks_of_their_own(
    folder, data, sweep_template
):
    """A block whose runs turn on different dates (and part ways by different rules) holds
    each run at rest until its own turn: every point's expected counts are those of the point
    run alone (no position noise: every run of a point is the same run)."""
    base = sweep_template.split("[sweep]")[0].format(sc_date="2025-02-24")
    sweep = (
        '[sweep]\ndesign = "grid"\nreplicates = 2\nposition_noise = 0.0\nblock_size = {size}\n'
        '[[sweep.parameters]]\nname = "shocks[0].date"\n'
        "values = [2025-01-06, 2025-02-03, 2025-03-31]\n"
        '[[sweep.parameters]]\nname = "parameters.parting"\nvalues = [0.0, 2.0]\n'
        '[[sweep.parameters]]\nname = "parameters.stubbornness"\nvalues = [0.3]\n'
    )
    trajectories = []
    for size in (1000, 2):
        path = write(folder, base + sweep.format(size=size), f"dated-{size}.toml")
        scenario = load_scenario(path, data.members)
        plan = plan_sweep(read_sweep(scenario, data.members))
        assert len(plan.blocks) == (1 if size == 1000 else 6)
        setup, tasks = sweep_setup(scenario, data, plan)
        blocks = [simulate_block(setup, tasks.task(block))[1] for block in plan.blocks]
        trajectories.append(np.concatenate([arrays["trajectory"] for arrays in blocks]))
    packed, alone = trajectories
    np.testing.assert_allclose(packed, alone, rtol=0, atol=1e-3)
    assert not np.allclose(packed[0], packed[2], atol=0.1)  # the dates do differ

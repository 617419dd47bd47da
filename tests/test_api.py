"""`sim.api.run_model`: blocsim as a function, and as an EMA Workbench model with PRIM on top."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from sim.api import calibrated_values, outcome_names, run_model
from sim.errors import BlocsimError

TEXT = "a_res_es_11_7"
LATER = "es_11_7_text_a_year_on"


def test_outcomes_at_the_calibrated_defaults():
    outcomes = run_model()
    assert list(outcomes) == outcome_names()
    for text in (TEXT, LATER):
        counts = [outcomes[f"{text}_{kind}"] for kind in ("yes", "no", "abstain", "not_voting")]
        assert sum(counts) == 193  # every member, one replicate: whole counts
        assert outcomes[f"{text}_adopted"] == float(
            outcomes[f"{text}_yes"] > outcomes[f"{text}_no"]
        )
    assert run_model(**calibrated_values()) == outcomes
    assert run_model(seed=1) == run_model(seed=1) != outcomes


def test_the_turn_costs_yes_votes_only_where_members_follow():
    """Same seed, same draws (means of 200 runs): at the default (nobody follows) the measured
    turn moves the US and its aligned followers and barely changes the Yes count; where members
    also follow through the ties (stubbornness 0.05) it costs the text a year on Yes votes, less
    when ties weaken as members part, and acts only after its date."""
    still = {"turn_general": 0.0, "turn_ukraine": 0.0, "turn_third": 0.0}
    alone = run_model(replicates=200, seed=5)
    unturned = run_model(replicates=200, seed=5, **still)
    assert abs(alone[f"{LATER}_yes"] - unturned[f"{LATER}_yes"]) < 2
    followed = run_model(stubbornness=0.05, replicates=200, seed=5)
    assert followed[f"{LATER}_yes"] < unturned[f"{LATER}_yes"] - 5
    parted = run_model(stubbornness=0.05, parting=1.0, replicates=200, seed=5)
    assert parted[f"{LATER}_yes"] > followed[f"{LATER}_yes"] + 5
    late = run_model(stubbornness=0.05, turn_date_offset_days=60, replicates=200, seed=5)
    assert abs(late[f"{TEXT}_yes"] - unturned[f"{TEXT}_yes"]) < 1  # after 24 Feb 2025
    assert abs(late[f"{TEXT}_yes"] - followed[f"{TEXT}_yes"]) > 3  # the turn acts by then


def test_bad_values_name_the_keyword():
    cases = {
        "stubbornness": {"stubbornness": 0.0},
        "turn_cost": {"turn_cost": 1.5},
        "turn_ukraine": {"turn_ukraine": 500.0},
        "turn_date_offset_days": {"turn_date_offset_days": -60},  # before the world's start
        "replicates": {"replicates": 0},
        "seed": {"seed": -1},
    }
    for keyword, values in cases.items():
        with pytest.raises(BlocsimError) as caught:
            run_model(**values)
        assert caught.value.field == keyword, (keyword, str(caught.value))


def test_python_c_prints_the_outcomes():
    done = subprocess.run(
        [sys.executable, "-c", "from sim.api import run_model; print(run_model())"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert f"'{TEXT}_yes':" in done.stdout


def test_ema_workbench_experiments_and_prim():
    """A small EMA experiment through run_model, then PRIM: in the one world the runs where the
    text a year on gets its most Yes votes (the highest quarter) are those where members also
    follow through the ties (low stubbornness) and the US turns hard on the ukraine axis."""
    from ema_workbench import (
        Constant,
        IntegerParameter,
        Model,
        RealParameter,
        ScalarOutcome,
        SequentialEvaluator,
    )
    from ema_workbench.analysis import prim

    model = Model("blocsim", function=run_model)
    model.uncertainties = [
        RealParameter("turn_ukraine", 0.0, 3.92),
        IntegerParameter("turn_date_offset_days", 0, 130),
        RealParameter("stubbornness", 0.037, 1.0),
        RealParameter("parting", 0.0, 1.0),
    ]
    model.constants = [Constant("replicates", 20), Constant("seed", 7)]
    model.outcomes = [ScalarOutcome(name) for name in outcome_names()]
    with SequentialEvaluator(model) as evaluator:
        experiments, outcomes = evaluator.perform_experiments(
            scenarios=40, uncertainty_sampling_kwargs={"rng": 11}
        )
    assert len(experiments) == 40 and set(outcomes) == set(outcome_names())
    yes = outcomes[f"{LATER}_yes"]
    assert np.all((yes > 0) & (yes < 193))
    # ema-workbench 3.0's PRIM fails on pandas 3 integer columns: cast to float.
    inputs = experiments[[u.name for u in model.uncertainties]].astype(float)
    box = prim.Prim(inputs, yes > np.quantile(yes, 0.75)).find_box()
    limits = box.box_lim  # the chosen box: row 0 its lower, row 1 its upper limits
    assert limits.loc[1, "stubbornness"] < 0.6  # the box keeps the runs where members follow
    assert limits.loc[0, "turn_ukraine"] > 1.0  # ...and the US turns hard on the ukraine axis
    assert box.coverage > 0.5 and box.density > 0.7

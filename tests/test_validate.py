"""`blocsim validate`: out-of-sample scores beside the baselines, on the real votes."""

from __future__ import annotations

import json

import pytest

from sim.cli import main
from sim.fit.validate import PREDICTORS, validate


@pytest.fixture(scope="module")
def validation(data):
    return validate(data)


def score(validation, case, predictor, column="accuracy"):
    table = validation.table
    row = table[(table["case"] == case) & (table["predictor"] == predictor)]
    return float(row[column].iloc[0])


def test_every_case_has_blocsim_and_the_baselines(validation):
    table = validation.table
    assert set(table["predictor"]) == set(PREDICTORS)
    assert {"ES-11/7 in sample", "ES-11/7 hindcast (selection)"} <= set(table["case"])
    assert (
        table.loc[table["predictor"] == "blocsim", "predicted_tally"]
        .eq(table.loc[table["predictor"] == "blocsim", "official_tally"])
        .all()
    )


def test_in_sample_es11_7_reaches_the_mark(validation):
    assert score(validation, "ES-11/7 in sample", "blocsim") >= 0.93


def test_hindcast_beats_always_yes_and_the_crude_ordering(validation):
    """Measured: the most likely vote 0.750 (the exact-tally assignment 0.705, short of
    'previous ES-11 vote', 0.716; see docs)."""
    case = "ES-11/7 hindcast (selection)"
    hindcast = score(validation, case, "blocsim")
    assert hindcast > score(validation, case, "always Yes")
    assert hindcast > score(validation, case, "1-D ordering cut to tally")
    assert hindcast >= score(validation, case, "static positions (no turn)")


@pytest.mark.parametrize("vote", ["ES-11/2", "ES-11/4", "ES-11/6"])
def test_the_es11_selection_cases_beat_the_baselines_where_they_do(validation, vote):
    case = f"{vote} (selection)"
    blocsim = score(validation, case, "blocsim")
    for baseline in ("always Yes", "previous ES-11 vote", "1-D ordering cut to tally"):
        assert blocsim > score(validation, case, baseline)


def test_validate_command_json_and_errors(capsys):
    assert main(["validate", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {"case", "predictor", "accuracy", "accuracy_4", "accuracy_in_tally", "log_loss"} <= set(
        rows[0]
    )
    assert "brier" in rows[0]
    assert main(["validate", "--errors", "--format", "csv"]) == 0
    header = capsys.readouterr().out.splitlines()[0]
    assert header == "case,iso3,name,vote,predicted,p_Y,p_A,p_N,p_X"

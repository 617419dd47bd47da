"""The one-axis calibration (`blocsim calibrate --ties`, the `dimensions = 1` ablation): its
file (tests/one_axis.toml, the former default) reproduces its report, and the fit recovers
known values. The world fit that writes calibration/default.toml is tested in test_spread."""

from __future__ import annotations

import tomllib
from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from sim.cli import main
from sim.fit.calibrate import (
    FREE,
    PRIOR_SD,
    REPRODUCIBLE_RTOL,
    calibration_problem,
    fit,
    in_sample,
    log_likelihood,
    model_at,
    probabilities,
    read_fit,
)
from sim.model.parameters import load_parameters
from sim.model.scenario import load_historical_shocks
from sim.model.voting import draw_votes

ONE_AXIS = Path(__file__).resolve().parent / "one_axis.toml"


@pytest.fixture(scope="module")
def stored():
    with ONE_AXIS.open("rb") as handle:
        return tomllib.load(handle)


@pytest.fixture(scope="module")
def problem(data):
    return calibration_problem(data)


def test_default_calibration_loads_and_reproduces_its_report(data, stored, problem):
    """Re-evaluate the stored parameters (no refit): objective, accuracy and tally agree."""
    values = read_fit(stored)
    model = model_at(values)
    assert load_parameters(ONE_AXIS) == model.parameters
    (turn,) = load_historical_shocks(ONE_AXIS, data.members)
    assert (turn.shock.member, turn.shock.target) == ("USA", "RUS")
    assert turn.shock.fraction == pytest.approx(values["turn.fraction"])
    assert stored["fit"]["objective"] == "votes"
    assert log_likelihood(problem, model) == pytest.approx(
        stored["fit"]["log_likelihood"], abs=1e-3
    )
    report = in_sample(replace_fit(problem, values), data)
    assert report.accuracy == pytest.approx(stored["report"]["accuracy"], abs=1e-6)
    assert report.log_loss == pytest.approx(stored["report"]["log_loss"], abs=1e-4)
    assert str(report.predicted) == stored["report"]["tally_predicted"] == "93-18-65"
    assert report.predicted.not_voting == 17


def replace_fit(problem, values):
    """A minimal Fit-like object for `in_sample` at given values."""

    class At:
        pass

    at = At()
    at.problem, at.model = problem, model_at(values)
    return at


# What one vote of 193 members can identify: the turn's size, the discrimination and the
# stubbornness (baseline and EU) come back within these natural-scale margins; the tie-type weights
# cannot be told apart by one vote (their standard errors are as large as the values), so for them
# only "within the prior's reach" is asserted: estimate and truth within 3 prior sds on the log scale.
IDENTIFIED = {
    "turn.fraction": 0.15,
    "turn.hold": 0.15,
    "discrimination": 1.5,
    "stubbornness": 0.2,
    "stubbornness_by_group.eu": 0.3,
}


def test_parameter_recovery(problem):
    """Votes drawn from the model at known values, then refitted: the identified estimates
    come back within their margins and within 2 standard errors."""
    truth = {p.name: p.centre for p in FREE} | {
        "ties.alignment": 2.0,
        "stubbornness": 0.25,
        "turn.fraction": 0.85,
        "discrimination": 6.0,
    }
    probs, _ = probabilities(problem, model_at(truth))
    observed = draw_votes(np.random.default_rng(20250224), probs).astype(np.intp)
    refit = fit(replace(problem, observed=observed))
    assert refit.converged
    for free in FREE:
        estimate = refit.estimate[free.name]
        if free.name in IDENTIFIED:
            assert abs(estimate - truth[free.name]) <= IDENTIFIED[free.name], free.name
            z_true, z_hat = free.to_free(truth[free.name]), free.to_free(estimate)
            z_se = refit.standard_error[free.name] / free.slope(z_hat)
            assert abs(z_hat - z_true) <= 2 * z_se, free.name
        else:
            assert abs(np.log(estimate / truth[free.name])) <= 3 * PRIOR_SD, free.name


def test_a_refit_reproduces_the_committed_file_within_its_stated_tolerance(data, stored, problem):
    """The committed calibration, refitted here with this install's libraries."""
    assert stored["provenance"]["data_fingerprint"] == data.fingerprint
    tolerance = stored["provenance"]["reproducible_rtol"]
    assert tolerance == REPRODUCIBLE_RTOL
    refit = fit(problem)
    for row in stored["fit"]["parameters"]:
        name = row["name"]
        assert refit.estimate[name] == pytest.approx(row["value"], rel=tolerance["estimate"]), name
        assert refit.standard_error[name] == pytest.approx(
            row["standard_error"], rel=tolerance["standard_error"]
        ), name
    assert refit.log_likelihood == pytest.approx(
        stored["fit"]["log_likelihood"], rel=tolerance["log_likelihood"]
    )


def test_tally_calibration_never_sees_the_target_votes(data):
    hindcast = calibration_problem(data, date(2025, 2, 23))
    assert hindcast.objective_kind == "tally" and hindcast.observed is None
    assert hindcast.world.start < hindcast.target.date
    result = fit(hindcast)
    assert set(result.names) == {"turn.fraction", "ties.alignment"}
    assert 0 < result.estimate["turn.fraction"] < 1


def test_calibrate_command_refuses_to_overwrite_and_writes_a_loadable_file(tmp_path, capsys):
    out = tmp_path / "fit.toml"
    assert main(["calibrate", "--ties", "--data-until", "2025-02-23", "--out", str(out)]) == 0
    assert "hindcast" in capsys.readouterr().out
    parameters = load_parameters(out)
    assert parameters.ties.alignment > 0
    assert main(["calibrate", "--ties", "--data-until", "2025-02-23", "--out", str(out)]) == 2
    assert "already exists" in capsys.readouterr().err

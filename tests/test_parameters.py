"""Parameters: every way of making them rejects values the dynamics cannot use, naming the field."""

from __future__ import annotations

from dataclasses import replace

import pytest

from sim.errors import BlocsimError
from sim.model.network import TieWeights
from sim.model.parameters import Parameters, load_parameters
from sim.model.scenario import DEFAULT_CALIBRATION


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"stubbornness": 0.0}, "stubbornness"),
        ({"stubbornness": 1.5}, "stubbornness"),
        ({"stubbornness_by_group.eu": 0.0}, "stubbornness_by_group.eu"),
        ({"ties.patron": -1.0}, "ties.patron"),
        ({"step_days": 0}, "step_days"),
        ({"step_days": 2.5}, "step_days"),
        ({"discrimination": 0.0}, "discrimination"),
    ],
)
def test_values_the_dynamics_cannot_use_are_refused(change, field):
    with pytest.raises(BlocsimError) as raised:
        Parameters().with_values(change)
    assert raised.value.field == field


def test_the_constructor_checks_too():
    with pytest.raises(BlocsimError, match="must be between 1 and 366"):
        Parameters(step_days=0)
    with pytest.raises(BlocsimError, match="must be a finite number >= 0"):
        replace(Parameters(), ties=TieWeights(alliance=-0.1))


def test_whole_step_days_from_a_sweep_are_days():
    assert Parameters().with_values({"step_days": 14.0}).step_days == 14
    assert Parameters().with_values({"stubbornness": 1}).stubbornness == 1.0


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("step_days = 0", "field 'parameters.step_days': must be between 1 and 366, not 0"),
        ("discrimination = -1.0", "field 'parameters.discrimination': must be a finite number"),
        ("discrimination = inf", "field 'parameters.discrimination': must be a finite number"),
        ("stubbornness = 0.0", "field 'parameters.stubbornness': must be above 0 and at most 1"),
    ],
)
def test_a_bad_calibration_file_is_one_line_naming_file_and_field(tmp_path, line, expected):
    path = tmp_path / "calibration.toml"
    path.write_text(f"[parameters]\n{line}\n")
    with pytest.raises(BlocsimError) as raised:
        load_parameters(path)
    assert str(raised.value).startswith(f"{path}: line 2: {expected}")


def test_the_shipped_calibration_is_valid():
    assert load_parameters(DEFAULT_CALIBRATION).step_days == 7

"""Positions from the real roll calls: sign, absentees, no look-ahead, no empty record."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.errors import BlocsimError
from sim.model.positions import estimate_positions

CUTOFF = "2025-02-24"  # the day of ES-11/7: the hindcast's cut-off


@pytest.fixture(scope="module")
def estimate(data):
    return estimate_positions(data.members, data.history, data.ukraine, CUTOFF)


def test_moscow_high_west_low(estimate):
    moscow = min(estimate.of(c) for c in ("RUS", "BLR", "PRK"))
    west = max(estimate.of(c) for c in ("POL", "LTU", "UKR", "USA"))
    assert moscow > west + 1.0  # a full vote category apart (Yes = 0, No = 2)
    general = dict(zip(estimate.iso3, estimate.general, strict=True))
    assert min(general[c] for c in ("RUS", "BLR", "PRK")) > max(
        general[c] for c in ("POL", "LTU", "UKR", "USA")
    )


def test_arrays_in_members_order(data, estimate):
    assert estimate.iso3 == tuple(data.members["iso3"])
    for values in (estimate.position, estimate.absence, estimate.general, estimate.us_agreement):
        assert values.shape == (193,) and np.isfinite(values).all()
    assert ((estimate.absence > 0) & (estimate.absence < 1)).all()


def test_habitual_absentees_rank_high(estimate):
    absence = dict(zip(estimate.iso3, estimate.absence, strict=True))
    # not voting on ES-11/1, /2, /4 and /6 (Venezuela in arrears, Turkmenistan, Azerbaijan)
    for absentee in ("VEN", "TKM", "AZE"):
        assert absence[absentee] > np.quantile(estimate.absence, 0.9)
    assert absence["POL"] < np.median(estimate.absence)


def test_rows_on_or_after_cutoff_are_ignored(data, estimate):
    # ES-11/7 itself is dated on the cut-off day, and a fake later roll call flips every vote
    later = data.history[data.history["date"] >= "2024-12-01"].copy()
    later["vote_id"] = later["vote_id"] + "-later"
    later["resolution"] = later["resolution"] + "-later"
    later["date"] = pd.Timestamp("2025-06-01")
    later["vote"] = later["vote"].map({"Y": "N", "N": "Y", "A": "A", "X": "X"})
    history = pd.concat([data.history, later], ignore_index=True)
    # ES-11/7 is dated on the cut-off day: flipping its votes must change nothing either
    on_the_day = data.ukraine["date"] == pd.Timestamp(CUTOFF)
    assert on_the_day.any()
    ukraine = data.ukraine.copy()
    ukraine.loc[on_the_day, "vote"] = ukraine.loc[on_the_day, "vote"].map(
        {"Y": "N", "N": "Y", "A": "Y", "X": "Y"}
    )
    same = estimate_positions(data.members, history, ukraine, CUTOFF)
    np.testing.assert_array_equal(same.position, estimate.position)
    np.testing.assert_array_equal(same.absence, estimate.absence)


def test_a_cut_off_before_the_record_is_a_user_error(data):
    with pytest.raises(BlocsimError, match="no roll calls before 1990-01-02"):
        estimate_positions(data.members, data.history, data.ukraine, "1990-01-02")

"""Positions in K dimensions from the real roll calls: axes, directions, drift, no look-ahead."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.model.estimates import cached_ideal_points, record_end
from sim.model.ideal_points import IdealPointSettings, roll_call_rows

CUTOFF = "2025-02-25"  # the day after ES-11/7: its votes are in, nothing later


@pytest.fixture(scope="module")
def points(data):
    return cached_ideal_points(data, CUTOFF)


def test_three_named_axes_moscow_high_west_low(points):
    assert points.axis_names == ("general", "ukraine", "third")
    position = dict(zip(points.iso3, points.position, strict=True))
    for axis in (0, 1):
        moscow = min(position[c][axis] for c in ("RUS", "BLR", "PRK"))
        west = max(position[c][axis] for c in ("POL", "LTU", "UKR"))
        assert moscow > west, points.axis_names[axis]


def test_only_ukraine_texts_load_on_the_ukraine_axis(points):
    items = points.items
    assert (items.loc[~items["ukraine"], "a1"] == 0).all()
    es11 = items.index[items.index.str.startswith("A/RES/ES-11/")]
    assert set(es11) == {f"A/RES/ES-11/{k}" for k in (1, 2, 4, 6, 7)}
    assert (items.loc[es11, "a1"] > 0).all()  # a higher Ukraine position is closer to No
    assert (items["t2"] > items["t1"]).all()


def test_positions_drift_by_year_and_the_last_year_is_the_cut_offs(points):
    assert points.years[0] == 2014 and points.years[-1] == 2025  # R/68/262 (2014) opens it
    assert points.by_year.shape == (len(points.years), 193, 3)
    np.testing.assert_array_equal(points.position, points.by_year[-1])
    us = points.by_year[:, points.iso3.index("USA")]
    assert np.abs(np.diff(us, axis=0)).max() > 0  # the US's place moves from year to year


def test_the_cut_off_day_itself_is_out(data):
    since = pd.Timestamp(IdealPointSettings().since)
    before = roll_call_rows(data.history, data.ukraine, pd.Timestamp("2025-02-24"), since)
    after = roll_call_rows(data.history, data.ukraine, pd.Timestamp("2025-02-25"), since)
    assert "A/RES/ES-11/7" not in set(before["vote_id"])
    assert (after["vote_id"] == "A/RES/ES-11/7").sum() == 193
    assert record_end(data, "2025-02-24") < pd.Timestamp("2025-02-24")
    assert record_end(data, "2025-02-25") == pd.Timestamp("2025-02-24")


def test_every_cut_off_after_the_record_shares_one_fit(data, points):
    assert cached_ideal_points(data, "2025-02-26") is points

"""A forecast before the vote: a text's votes from its earlier version, without its tally."""

from __future__ import annotations

import io
from datetime import date

import numpy as np
import pandas as pd
import pytest

from sim.cli import main
from sim.data.resolutions import Tally
from sim.fit import rolling
from sim.fit.combination import shipped_combination
from sim.fit.forecast import (
    expected_tally,
    forecast_text,
    like_tally,
    tally_interval,
    version_drifts,
)
from sim.fit.texts import Record
from sim.model.estimates import cached_ideal_points
from sim.model.text_axis import TextSettings

TEXT = "A/RES/79/292"  # Abkhazia and South Ossetia IDPs, 3 June 2025 (as in test_texts)
EARLIER = "A/RES/78/283"  # its version of a year before
DAY = date(2025, 6, 3)


@pytest.fixture(scope="module")
def before(data):
    """The record and positions strictly before 3 June 2025 (the fit test_texts uses too)."""
    cutoff = pd.Timestamp(DAY)
    return Record(data, cutoff, TextSettings()), cached_ideal_points(data, cutoff)


def counts(prediction) -> Tally:
    return expected_tally(prediction.probabilities)


def test_like_tally_carries_the_earlier_versions_tally(before):
    record, points = before
    earlier = like_tally(record, EARLIER, record.iso3, "same")
    forecast = forecast_text(record, points, DAY, EARLIER, rule="like-tally")
    assert forecast.forecast and forecast.like == EARLIER
    assert forecast.tally == earlier == counts(forecast)
    in_tally = np.bincount(forecast.in_tally, minlength=4)
    assert in_tally.tolist() == [earlier.yes, earlier.abstain, earlier.no, earlier.not_voting]
    # the reversed text's Yes side is the earlier version's No side
    reverse = forecast_text(record, points, DAY, EARLIER, polarity="reverse", rule="like-tally")
    assert reverse.tally == Tally(earlier.no, earlier.yes, earlier.abstain, earlier.not_voting)


def test_like_cut_points_move_the_tally_only_with_the_positions(before):
    record, points = before
    earlier = like_tally(record, EARLIER, record.iso3, "same")
    static = forecast_text(record, points, DAY, EARLIER, rule="like-cut-points", as_of_like=True)
    assert static.tally == earlier  # members where they stood: the like's own counts
    moved = forecast_text(record, points, DAY, EARLIER, rule="like-cut-points")
    assert moved.tally.members == 193 and moved.cut_points == static.cut_points


def test_the_interval_holds_the_expected_count():
    sure = np.tile([1.0, 0.0, 0.0, 0.0], (1, 10, 1))
    interval = tally_interval(sure, np.ones(1))
    assert interval == {"Y": (10, 10), "N": (0, 0), "A": (0, 0), "X": (0, 0)}
    coin = np.tile([0.5, 0.0, 0.5, 0.0], (1, 100, 1))
    low, high = tally_interval(coin, np.ones(1))["Y"]
    assert 40 <= low < 50 < high <= 60  # Binomial(100, 0.5): 42 and 58
    assert tally_interval(coin, np.ones(1)) == tally_interval(coin, np.ones(1))  # one seed


def test_tally_drift_averages_over_how_versions_moved(data, before):
    record, points = before
    drifts = version_drifts(data, pd.Timestamp(DAY))
    assert len(drifts) > 100 and (drifts.sum(axis=1) == 0).all()  # 193 members on both
    still = forecast_text(record, points, DAY, EARLIER, rule="tally-drift", drifts=0 * drifts)
    carried = forecast_text(record, points, DAY, EARLIER, rule="like-tally")
    np.testing.assert_allclose(still.probabilities, carried.probabilities)
    moving = forecast_text(record, points, DAY, EARLIER, rule="tally-drift", drifts=drifts)
    width = {code: high - low for code, (low, high) in moving.interval.items()}
    assert all(width[c] >= high - low for c, (low, high) in carried.interval.items())
    assert sum(width.values()) > sum(high - low for low, high in carried.interval.values())


def test_predict_without_a_tally_forecasts_the_text(tmp_path, capsys):
    out = tmp_path / "forecast.csv"
    argv = ["predict", "--date", "2025-06-03", "--like", EARLIER, "--format", "csv"]
    assert main([*argv, "--out", str(out)]) == 0
    summary = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert summary.loc[0, "tally"].startswith("forecast ")
    assert summary.loc[0, "interval"].endswith("(90%)")
    table = pd.read_csv(out)
    assert list(table.columns) == ["iso3", "vote", "vote_in_tally", "p_Y", "p_A", "p_N", "p_X"]
    forecast = summary.loc[0, "tally"].removeprefix("forecast ").split(" ")[0]
    in_tally = table["vote_in_tally"].value_counts()
    assert forecast == f"{in_tally.get('Y', 0)}-{in_tally.get('N', 0)}-{in_tally.get('A', 0)}"


def test_a_session_row_with_an_empty_tally_is_forecast(tmp_path, capsys):
    session = tmp_path / "session.csv"
    session.write_text(
        "name,date,tally,body,polarity,like\n"
        "IDPs,2025-06-03,,,,A/RES/78/283\n"
        "IDPs voted,2025-06-03,107-9-49,,,A/RES/78/283\n"
    )
    out = tmp_path / "out.csv"
    assert main(["predict", "--texts", str(session), "--out", str(out), "--format", "csv"]) == 0
    summary = pd.read_csv(io.StringIO(capsys.readouterr().out), keep_default_na=False)
    assert summary["tally"].str.startswith("forecast ").tolist() == [True, False]
    assert summary["interval"].eq("").tolist() == [False, True]


def test_a_forecast_needs_a_like(tmp_path, capsys):
    out = tmp_path / "p.csv"
    assert main(["predict", "--date", "2010-06-01", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "field 'like': no Ukraine text in the record before 2010-06-01" in err
    assert err.count("\n") == 1 and not out.exists()


def test_rolling_origin_without_the_tally(data):
    case = next(c for c in rolling.cases(data, DAY, date(2025, 6, 4)) if c.vote_id == TEXT)
    assert case.like == EARLIER
    table = rolling.rolling_origin(data, [case], no_tally="tally-drift").set_index("predictor")
    assert list(table.index) == list(rolling.PREDICTORS)
    assert isinstance(table.loc["K = 3 placement", "in_interval"], bool)
    assert table["forecast"].notna().sum() == 1  # the forecast's tally, on the placement's row
    assert table.loc["always Yes", ["log_loss", "brier"]].isna().all()
    assert table.loc[["K = 3 placement", "persistence"], ["log_loss", "brier"]].notna().all().all()
    # filling last time's absentees can only help among voters
    filled, plain = table.loc["persistence, absentees filled"], table.loc["persistence"]
    assert filled["accuracy"] >= plain["accuracy"]
    assert (table["persistence_from"] == EARLIER).all()


@pytest.mark.parametrize(
    ("pair", "expected"),
    [
        ("strength=1", "field '--set': 'strength' is not one of absence_half_life"),
        ("evidence=much", "field '--set': 'evidence=much': evidence must be a number"),
    ],
)
def test_a_variant_setting_is_checked(capsys, pair, expected):
    assert main(["validate", "--rolling", "selection", "--set", pair]) == 2
    err = capsys.readouterr().err
    assert expected in err and err.count("\n") == 1


def test_a_forecast_applies_the_combination_to_each_tally(data, before):
    """Without a tally, the shipped combination re-shares each drift tally's votes as it does
    the text's own tally: the placement's chance of not voting kept, the rest the
    combination's, and the forecast tally the expected counts of what it gives."""
    record, points = before
    drifts = version_drifts(data, pd.Timestamp(DAY))
    alone = forecast_text(record, points, DAY, EARLIER, drifts=drifts)
    combined = forecast_text(
        record, points, DAY, EARLIER, drifts=drifts, combination=shipped_combination()
    )
    np.testing.assert_allclose(combined.probabilities.sum(axis=1), 1.0)
    np.testing.assert_allclose(combined.probabilities[:, 3], alone.probabilities[:, 3])
    assert not np.allclose(combined.probabilities, alone.probabilities)
    assert combined.tally == counts(combined)

"""Any text placed where it belongs: `predict --like`, a session at once, rolling origin."""

from __future__ import annotations

import io
from datetime import date
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from sim.cli import main
from sim.data.loader import count_votes
from sim.data.resolutions import Tally
from sim.fit import rolling
from sim.fit.texts import Record, closest_ukraine_text, predict_text
from sim.fit.ukraine_likes import ukraine_texts
from sim.model.estimates import cached_ideal_points
from sim.model.text_axis import TextSettings, _mean_above, _mean_below, _mean_between

TEXT = "A/RES/79/292"  # Abkhazia and South Ossetia IDPs, 3 June 2025
EARLIER = "A/RES/78/283"  # its version of a year before


def test_the_evidence_of_a_vote_averages_to_nothing():
    low, high = np.array([-1.0, 0.5]), np.array([0.3, 2.0])
    mass = expit(low), expit(high) - expit(low), 1 - expit(high)
    means = _mean_below(low), _mean_between(low, high), _mean_above(high)
    np.testing.assert_allclose(sum(m * e for m, e in zip(mass, means, strict=True)), 0, atol=1e-12)
    assert (means[0] < low).all() and (means[2] > high).all()


@pytest.fixture(scope="module")
def placed(data):
    cutoff = pd.Timestamp("2025-06-03")
    record = Record(data, cutoff, TextSettings())
    points = cached_ideal_points(data, cutoff)
    observed = data.history.loc[data.history["vote_id"] == TEXT].set_index("iso3")["vote"]
    tally = count_votes(observed.reindex(data.iso3, fill_value="X"))
    return predict_text(record, points, tally, date(2025, 6, 3), like=EARLIER), tally


def test_a_new_version_adds_up_to_its_tally(placed):
    prediction, tally = placed
    table = prediction.table()
    counts = table["vote_in_tally"].value_counts().to_dict()
    assert counts == {"Y": tally.yes, "A": tally.abstain, "N": tally.no, "X": tally.not_voting}
    np.testing.assert_allclose(prediction.probabilities.sum(axis=1), 1.0)
    assert prediction.like == EARLIER and len(table) == 193


def test_a_session_at_once(tmp_path, capsys):
    session = tmp_path / "session.csv"
    session.write_text(
        "name,date,tally,body,polarity,like\n"
        "IDPs,2025-06-03,107-9-49,,,A/RES/78/283\n"
        "UNIFIL,2025-06-30,147-3-1,GA,same,78/305\n"
    )
    out = tmp_path / "out.csv"
    assert main(["predict", "--texts", str(session), "--out", str(out), "--format", "csv"]) == 0
    table = pd.read_csv(out)
    assert list(table.columns) == [
        "name",
        "iso3",
        "vote",
        "vote_in_tally",
        "p_Y",
        "p_A",
        "p_N",
        "p_X",
    ]
    idps = table[table["name"] == "IDPs"]["vote_in_tally"].value_counts().to_dict()
    assert idps == {"Y": 107, "A": 49, "X": 28, "N": 9}
    assert (table["name"] == "UNIFIL").sum() == 193
    summary = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert list(summary["like"]) == ["A/RES/78/283", "A/RES/78/305"]


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ("x,2025-06-03,107-9,,,", "line 3: field 'tally': tally '107-9' is not of the form Y-N-A"),
        ("x,03/06/2025,107-9-49,,,", "line 3: field 'date': '03/06/2025' is not a date"),
        ("x,2025-06-03,107-9-49,UN,,", "line 3: field 'body': 'UN' must be GA or SC"),
        ("x,2025-06-03,107-9-49,,up,", "line 3: field 'polarity': 'up' must be one of"),
        ("x,2025-06-03,107-9-49,,,A/RES/99/1", "line 3: field 'like': 'A/RES/99/1' is not a roll"),
        ("x,2025-06-03,0-0-0,,,", "line 3: field 'tally': tally '0-0-0' has no votes cast"),
        ("first,2025-06-03,107-9-49,,,", "line 3: field 'name': 'first' named twice"),
    ],
)
def test_a_malformed_row_is_one_line(tmp_path, capsys, row, expected):
    session = tmp_path / "texts.csv"
    session.write_text(f"name,date,tally,body,polarity,like\nfirst,2025-06-03,107-9-49,,,\n{row}\n")
    out = tmp_path / "out.csv"
    assert main(["predict", "--texts", str(session), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"texts.csv: {expected}" in err and err.count("\n") == 1
    assert not out.exists()


def test_a_text_cannot_be_like_a_later_one(tmp_path, capsys):
    argv = ["predict", "--date", "2024-06-03", "--tally", "107-9-49", "--like", TEXT]
    assert main([*argv, "--out", str(tmp_path / "p.csv")]) == 2
    assert "A/RES/79/292 is not in the record before 2024-06-03" in capsys.readouterr().err


def test_rolling_origin_scores_every_predictor_from_the_record_before(data):
    first_day = [c for c in rolling.cases(data, *rolling.EVALUATION) if c.day == date(2025, 3, 4)]
    assert [c.vote_id for c in first_day] == [
        "A/RES/79/266",
        "A/RES/79/267",
        "A/RES/79/269",
        "A/RES/79/270",
    ]
    assert all(c.like is None and c.cutoff == date(2025, 3, 4) for c in first_day)
    assert all(c.positions_cutoff == date(2025, 3, 1) for c in first_day)
    table = rolling.rolling_origin(data, first_day)
    assert len(table) == 4 * len(rolling.PREDICTORS)
    assert set(table["persistence_from"]) == {"always Yes"}  # new texts: no earlier version
    assert table["accuracy"].between(0, 1).all() and table["macro_f1"].between(0, 1).all()
    summary = rolling.summary(table)
    assert set(summary["predictor"]) == set(rolling.PREDICTORS)


def _splits(rows: dict[str, tuple[str, int, int, int]]) -> SimpleNamespace:
    """A stand-in record holding only what the like rule reads: the Ukraine texts' counts."""
    table = pd.DataFrame.from_dict(rows, orient="index", columns=["date", "Y", "N", "A"])
    return SimpleNamespace(ukraine_splits=table.assign(date=pd.to_datetime(table["date"])))


def test_the_like_rule_weighs_the_split_against_age():
    record = _splits(
        {
            "broad": ("2024-01-10", 140, 5, 38),
            "demanding": ("2023-01-10", 70, 25, 77),
            "demanding again": ("2024-01-10", 70, 25, 77),
            "older and closer": ("2020-01-10", 90, 20, 62),
        }
    )
    day = date(2025, 1, 10)
    assert closest_ukraine_text(record, day, Tally(141, 7, 32, 13)) == "broad"
    assert closest_ukraine_text(record, day, Tally(70, 25, 77, 21)) == "demanding again"
    # as close in shares (0.116) as "demanding again", but 4 years older: 0.366 against 0.166
    assert closest_ukraine_text(record, day, Tally(80, 20, 72, 21)) == "demanding again"
    # its own split (0 + 0.25) beats "demanding again" (0.233 + 0.05)
    assert closest_ukraine_text(record, day, Tally(90, 20, 62, 21)) == "older and closer"
    assert closest_ukraine_text(record, date(2020, 1, 10), Tally(80, 20, 72)) is None


def test_the_like_rule_on_real_tallies(data):
    """Before 19 Dec 2023 the latest Ukraine text is ES-11/6 (141-7-32): a broad tally takes
    it, the Crimea text's own demanding tally takes the Crimea text of a year before."""
    record = Record(data, pd.Timestamp("2023-12-19"), TextSettings())
    day = date(2023, 12, 19)
    assert closest_ukraine_text(record, day, Tally(141, 7, 32, 13)) == "A/RES/ES-11/6"
    assert closest_ukraine_text(record, day, Tally(78, 15, 79, 21)) == "A/RES/77/229"
    old = Record(data, pd.Timestamp("2017-12-19"), TextSettings())
    assert closest_ukraine_text(old, date(2017, 12, 19), Tally(70, 26, 76, 21)) == (
        "voeten_rcid_5489"  # A/RES/71/205, a Voeten-years id
    )


def test_predict_without_like_places_a_crimea_text_by_its_tally(tmp_path, capsys):
    """A/RES/78/221 (human rights in Crimea, 78-15-79 with 21 X) from its date and tally alone."""
    out = tmp_path / "p.csv"
    argv = ["predict", "--date", "2023-12-19", "--tally", "78-15-79", "--format", "csv"]
    assert main([*argv, "--out", str(out)]) == 0
    summary = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert summary.loc[0, "like"] == "A/RES/77/229"
    assert summary.loc[0, "tally"] == "78-15-79 (21 X)"
    counts = pd.read_csv(out)["vote_in_tally"].value_counts().to_dict()
    assert counts == {"Y": 78, "A": 79, "X": 21, "N": 15}


def test_the_selection_set_is_the_ukraine_texts_of_2016_to_es11_7(data):
    texts = ukraine_texts(data)
    assert len(texts) == 19 and texts.index[-1] == "A/RES/ES-11/7"
    assert {"A/RES/ES-11/1", "A/RES/77/229", "A/RES/78/316", "A/RES/79/184"} <= set(texts.index)
    assert texts.is_monotonic_increasing and texts.iloc[0] == pd.Timestamp("2016-12-19")

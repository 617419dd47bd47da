"""The backtest on one real case (ES-11/7 from the record before its date; its K = 3 fit is the
`kworld` fixture's, cached), the forecast combination's file, and the report on the run."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from sim.cli import main
from sim.data.resolutions import Tally
from sim.errors import BlocsimError
from sim.fit import backtest
from sim.fit.combination import (
    FEATURES,
    combination_toml,
    fit_combination,
    fitted_sessions,
    read_combination,
    shipped_combination,
    turn_from_eu,
)
from sim.fit.session import Text, predict_texts
from sim.fit.texts import Record, latest_es11, predict_text, ukraine_vote_ids
from sim.model.estimates import cached_ideal_points, record_end
from sim.model.text_axis import TextSettings
from sim.model.voting import tally_of
from sim.outputs.report import write_report

ES11_7 = "A/RES/ES-11/7"


@pytest.fixture(scope="module")
def es11_7(data, kworld):
    """ES-11/7 backtested (kworld first: its fit is the one this case's positions use)."""
    chosen = [case for case in backtest.backtest_cases(data, ("2025",)) if case.vote_id == ES11_7]
    return backtest.run_backtest(data, chosen)


def test_sessions_begin_in_september_and_2025_is_its_own():
    assert backtest.session_of(date(2017, 3, 1)) == "2016"
    assert backtest.session_of(date(2024, 10, 29)) == "2024"
    assert backtest.session_of(date(2025, 2, 24)) == "2025"
    assert backtest.set_of("2023") == "selection" and backtest.set_of("2024") == "evaluation"


def test_a_2025_text_is_predicted_from_the_record_before_its_date(data):
    case = next(c for c in backtest.backtest_cases(data, ("2025",)) if c.vote_id == ES11_7)
    assert case.cutoff == pd.Timestamp("2025-02-24") and case.session == "2025"
    assert case.positions_cutoff == pd.Timestamp("2025-02-01")


def test_the_case_rows_hold_the_record_and_each_predictor(data, es11_7):
    rows = es11_7.rows
    assert len(rows) == 193 and es11_7.features.shape == (193, len(FEATURES))
    counts = rows["observed"].value_counts()
    assert (counts["Y"], counts["N"], counts["A"], counts["X"]) == (93, 18, 65, 17)
    # no title-like before it: the Ukraine text closest to its tally, whose votes persist
    like = rows["like"].iloc[0]
    assert like in ukraine_vote_ids(data) and like != ES11_7
    assert (
        rows["persistence"].to_numpy()
        == data.votes_on(like).reindex(rows["iso3"]).fillna("X").to_numpy()
    ).all()
    for column in ("ordering", "k3"):
        sums = rows[[f"{column}_{c}" for c in "YAN"]].sum(axis=1)
        assert np.allclose(sums, 1.0)
    assert set(rows["persistence_filled"]) <= {"Y", "A", "N"}


def test_the_combination_sees_the_placements_probabilities_and_their_logs(es11_7):
    """The placement's Y/A/N among votes enter as probabilities and as their logs (floored)."""
    rows, x = es11_7.rows, es11_7.features
    placed = rows[[f"k3_{c}" for c in "YAN"]].to_numpy()
    columns = [FEATURES.index(f"k3_p_{c}") for c in "YAN"]
    assert np.allclose(x[:, columns], placed)
    logs = [FEATURES.index(f"k3_log_{c}") for c in "YAN"]
    assert np.allclose(x[:, logs], np.log(np.clip(placed, 1e-4, 1.0)))


def test_the_backtest_is_deterministic(data, es11_7):
    chosen = [case for case in backtest.backtest_cases(data, ("2025",)) if case.vote_id == ES11_7]
    again = backtest.run_backtest(data, chosen)
    pd.testing.assert_frame_equal(again.rows, es11_7.rows)


def test_the_combination_file_round_trips_and_applies(es11_7, tmp_path):
    x, observed = backtest.voters(es11_7)
    assert len(observed) == 93 + 18 + 65 and np.bincount(observed).tolist() == [93, 65, 18]
    combination = fit_combination(x, observed)
    path = tmp_path / "forecast.toml"
    path.write_text(combination_toml(combination, {"rows": 176, "sessions": ["2025"]}, []))
    assert fitted_sessions(path) == ["2025"]  # validate --backtest labels it "fitted on"
    read = read_combination(path)
    assert np.allclose(read.coefficients, combination.coefficients)
    assert np.allclose(read.intercept, combination.intercept)
    placement = np.full((193, 4), 0.25)
    p = read.probabilities(es11_7.features, placement)
    assert np.allclose(p.sum(axis=1), 1.0) and np.allclose(p[:, 3], 0.25)
    path.write_text("[intercept]\nY = 1\n")
    with pytest.raises(BlocsimError, match="not a forecast combination file"):
        read_combination(path)


def test_the_run_directory_is_scored_and_reported(data, es11_7, tmp_path):
    combination = fit_combination(*backtest.voters(es11_7))
    chosen = [case for case in backtest.backtest_cases(data, ("2025",)) if case.vote_id == ES11_7]
    found = backtest.run_backtest(data, chosen, combination)
    out = tmp_path / "backtest"
    scores, movers = backtest.write_run(out, found, tmp_path / "forecast.toml", data.fingerprint)
    assert set(scores["predictor"]) == set(backtest.PREDICTORS)
    persistence = scores[(scores["session"] == "2025") & (scores["predictor"] == "always Yes")]
    assert persistence["accuracy"].iloc[0] == round(93 / 176, 4)
    assert persistence["accuracy_all"].iloc[0] == round(93 / 193, 4)  # X a fourth outcome
    # the US left its like's Yes for No: 22 of the 159 members counted moved its way
    text = movers[movers["vote_id"] == ES11_7]
    assert set(text["predictor"]) == set(backtest.PREDICTORS)
    assert set(text["members"]) == {159} and set(text["movers"]) == {22}
    assert (out / "movers.csv").is_file()
    with pytest.raises(BlocsimError, match="never overwrites"):
        backtest.write_run(out, found, tmp_path / "forecast.toml", data.fingerprint)
    report = write_report(out)
    assert (report / "reliability.png").is_file() and (report / "backtest_scores.png").is_file()


def test_the_commands_refuse_a_missing_combination_and_an_existing_file(capsys, tmp_path):
    missing = tmp_path / "none.toml"
    assert main(["validate", "--backtest", "--forecast", str(missing)]) == 2
    assert capsys.readouterr().err.strip() == (
        f"blocsim: {missing}: no forecast combination: run `blocsim calibrate --forecast` first"
    )
    assert main(["calibrate", "--compare"]) == 2
    assert capsys.readouterr().err.strip() == "blocsim: field '--compare': is for --forecast"
    existing = tmp_path / "forecast.toml"
    existing.write_text("# mine\n")
    assert main(["calibrate", "--forecast", "--out", str(existing)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert existing.read_text() == "# mine\n"


def test_predict_applies_the_shipped_combination(data, kworld):
    """ES-11/7 from its date and tally: the combination re-shares each member's vote, keeps the
    placement's chance of not voting, and the votes still add up to the tally."""
    day, tally = date(2025, 2, 24), Tally(93, 18, 65, 17)
    cutoff = record_end(data, pd.Timestamp(day)) + pd.Timedelta(days=1)  # as predict_texts
    record = Record(data, cutoff, TextSettings())
    points = cached_ideal_points(data, cutoff)
    alone = predict_text(record, points, tally, day)
    combined = predict_text(record, points, tally, day, combination=shipped_combination())
    assert np.allclose(alone.probabilities[:, 3], combined.probabilities[:, 3])
    assert not np.allclose(alone.probabilities[:, :3], combined.probabilities[:, :3])
    assert tally_of(combined.in_tally).tolist() == [93, 65, 18, 17]
    # fitted on texts of their like's polarity only: a reversed text keeps the placement's
    reversed_alone = predict_text(record, points, tally, day, polarity="reverse")
    reversed_combined = predict_text(
        record, points, tally, day, polarity="reverse", combination=shipped_combination()
    )
    assert np.array_equal(reversed_alone.probabilities, reversed_combined.probabilities)
    [(_, predicted)] = predict_texts(data, [Text("ES-11/7 again", day, tally)])
    assert np.allclose(predicted.probabilities, combined.probabilities)


def test_a_power_that_stops_voting_with_the_eu_is_expected_to_turn():
    """The US agreed with the EU on half its roll calls, then voted N against its Y on the last
    six: the turn is large and toward N; a power that goes on as usual has none."""
    eu = np.zeros(40)
    usual = np.where(np.arange(40) % 2 == 0, 0.0, 2.0)
    turned = usual.copy()
    turned[-6:] = 2.0
    turn, to = turn_from_eu(turned, eu)
    assert turn > 0.3 and to.argmax() == 2
    assert turn_from_eu(usual, eu)[0] < 0.1
    assert turn_from_eu(np.array([]), np.array([]))[0] == 0.0


def test_the_backtest_forecasts_without_the_tally(data, es11_7):
    """Without its tally ES-11/7 is forecast like the latest Ukraine text, the combination
    applied on each tally of the forecast; a new text without a like is left out."""
    chosen = [
        case
        for case in backtest.backtest_cases(data, ("2025",))
        if case.vote_id in (ES11_7, "A/RES/79/266")
    ]
    combination = fit_combination(*backtest.voters(es11_7))
    found = backtest.run_backtest(data, chosen, combination, no_tally=True)
    rows = found.rows
    assert set(rows["vote_id"]) == {ES11_7} and len(rows) == 193
    assert rows["like"].iloc[0] == latest_es11(
        Record(data, chosen[0].cutoff, TextSettings()), date(2025, 2, 24)
    )
    sums = rows[[f"combination_{c}" for c in "YAN"]].sum(axis=1)
    assert np.allclose(sums, 1.0)
    assert found.features.shape == (193, len(FEATURES))


def synthetic_rows() -> pd.DataFrame:
    """One text, four members (the US last): what each predictor said and what was cast."""
    return pd.DataFrame(
        {
            "session": "2020",
            "set": "selection",
            "vote_id": "T",
            "like": "E",
            "us_changed": True,
            "iso3": ["AAA", "BBB", "CCC", "USA"],
            "observed": ["Y", "A", "X", "N"],
            "always_yes": "Y",
            "persistence": ["Y", "Y", "X", "Y"],
            "persistence_filled": ["Y", "Y", "Y", "Y"],
            **{f"{p}_{c}": 1 / 3 for p in ("ordering", "k3") for c in "YAN"},
            "combination_Y": [0.8, 0.2, 0.6, 0.1],
            "combination_A": [0.1, 0.7, 0.2, 0.1],
            "combination_N": [0.1, 0.1, 0.2, 0.8],
            "p_X": [0.1, 0.1, 0.7, 0.1],
            "combination_tally": ["Y", "A", "Y", "N"],
        }
    )


def test_the_full_forecast_is_scored_over_all_members_with_absence_a_fourth_outcome():
    """The combination's vote is the most likely of p_Y, p_A, p_N, p_X (CCC: X, 0.7 against
    0.3 x 0.6); persistence stays X where the member was absent on the earlier version."""
    rows = synthetic_rows()
    table = backtest.session_table(rows, backtest.selection_errors(rows))
    found = table[table["session"] == "2020"].set_index("predictor")
    assert backtest.predicted_votes(rows, "combination").tolist() == [0, 1, 3, 2]
    assert found.loc["combination", ["accuracy_all", "macro_f1_all"]].tolist() == [1.0, 1.0]
    # persistence: Y Y X Y against Y A X N; F1 of Y 2/4, A 0, N 0, X 1
    assert found.loc["persistence", "accuracy_all"] == 0.5
    assert found.loc["persistence", "macro_f1_all"] == round((0.5 + 0 + 0 + 1) / 4, 4)
    # filled: CCC's X becomes Y, right among voters (not counted), wrong over all members
    assert found.loc["persistence, absentees filled", "accuracy_all"] == 0.25
    assert found.loc["combination, exact tally", "accuracy_all"] == 0.75


def test_movers_with_the_us_are_named_and_ranked_per_text():
    """The US moved Y -> N; BBB moved Y -> A (its way), AAA stayed, CCC was absent: two
    members could move, one did; the combination names BBB and ranks it first."""
    rows = synthetic_rows()
    table = backtest.movers_by_text(rows).set_index(["vote_id", "predictor"])
    text = table.loc[("T", "combination")]
    assert text[["members", "movers", "predicted_movers", "both"]].tolist() == [2, 1, 1, 1]
    assert text["auc"] == 1.0
    assert np.isnan(table.loc[("T", "persistence"), "auc"])
    pooled = table.loc[("pooled (1 texts)", "combination")]
    assert pooled["session"] == "all selection" and pooled["recall"] == 1.0


def test_persistence_fills_an_absentee_from_the_latest_older_version_it_voted_on():
    """AAA was absent on E, voted N on D and A on C (older): N; BBB absent on every version:
    E's most common vote, A; the rest as on E."""
    from types import SimpleNamespace

    votes = {
        "E": pd.Series(["X", "X", "A", "A", "Y"]),
        "D": pd.Series(["N", "X", "Y", "Y", "Y"]),
        "C": pd.Series(["A", "X", "Y", "Y", "Y"]),
    }
    titles = pd.DataFrame(
        {
            "vote_id": ["C", "D", "E"],
            "title": "Same",
            "date": pd.to_datetime(["2020-12-01", "2021-12-01", "2022-12-01"]),
        }
    )
    record = SimpleNamespace(titles=titles, votes_on=votes.get)
    earlier = np.array([3, 3, 1, 1, 0])
    filled = backtest.persistence_filled(record, "E", earlier)
    assert filled.tolist() == [2, 1, 1, 1, 0]


def test_the_forms_are_compared_on_a_hold_out_by_session():
    """Votes that follow an interaction (Y where two features agree in sign, else N): boosting
    finds it, the regressions cannot; each form is fitted on 2017-2021 and scored on
    2022-2023 (selection) and each evaluation session, the same on every run."""
    rng = np.random.default_rng(17)
    sessions = np.repeat([str(year) for year in range(2017, 2026)], 200)
    x = rng.normal(size=(len(sessions), len(FEATURES)))
    observed = np.where(x[:, 0] * x[:, 1] > 0, "Y", "N")
    observed[::10] = "A"
    rows = pd.DataFrame({"session": sessions, "observed": observed})
    found = backtest.Backtest(rows, x)
    table = backtest.compare_forms(found)
    assert table["held_out"].unique().tolist() == ["2022-2023", "2024", "2025"]
    assert table["set"].tolist() == ["selection"] * 3 + ["evaluation"] * 6
    scores = table.set_index(["held_out", "form"])["log_loss"]
    assert scores["2022-2023", "gradient boosting"] < scores["2022-2023", "combination"] - 0.1
    pd.testing.assert_frame_equal(backtest.compare_forms(found), table)

"""`blocsim predict`: exact tallies, one row per member of the body, the right states on each side."""

from __future__ import annotations

import pandas as pd
import pytest

from sim.cli import main
from sim.cli.model import text_name
from sim.data.resolutions import RESOLUTIONS
from sim.fit.predict import predict_votes
from sim.model.scenario import load_scenario


@pytest.fixture(scope="module")
def scenario(data):
    return load_scenario("scenarios/us_realignment.toml", data.members)


def test_in_sample_es11_7_is_exact_in_tally_and_mostly_right(data, scenario):
    target = RESOLUTIONS["A/RES/ES-11/7"]
    table = predict_votes(data, target.date, target.tally, scenario).table
    assert len(table) == 193
    assert table["vote_in_tally"].value_counts().to_dict() == {"Y": 93, "A": 65, "N": 18, "X": 17}
    probabilities = table[["p_Y", "p_A", "p_N", "p_X"]]
    assert probabilities.sum(axis=1).round(5).eq(1).all()
    # `vote` is each member's single most likely vote, absent only where that is likelier
    assert (table["vote"] == probabilities.idxmax(axis=1).str.removeprefix("p_")).all()
    truth = data.votes_on("A/RES/ES-11/7").reindex(table["iso3"]).to_numpy()
    voted = truth != "X"
    accuracy = (table["vote_in_tally"].to_numpy()[voted] == truth[voted]).mean()
    assert accuracy >= 0.93


def test_council_prediction_seats_the_fifteen_and_adds_up_to_the_tally(
    data, scenario, council_record
):
    # The Council text's official tally (10-0-5); its per-country votes are not in the data, so
    # only the seats and the counts are checked, never who abstained.
    tally = council_record.tally
    table = predict_votes(
        data, council_record.date, tally, scenario, body="SC", polarity="reverse"
    ).table
    assert sorted(table["iso3"]) == sorted(data.members.loc[data.members["unsc_2025"] == 1, "iso3"])
    assert table["vote_in_tally"].value_counts().to_dict() == {"Y": tally.yes, "A": tally.abstain}


def test_predict_command_writes_the_csv_and_refuses_to_overwrite(tmp_path, capsys):
    out = tmp_path / "es11_1.csv"
    argv = ["predict", "--date", "2022-03-02", "--tally", "141-5-35", "--out", str(out)]
    assert main(argv) == 0
    table = pd.read_csv(out)
    assert list(table.columns) == ["iso3", "vote", "vote_in_tally", "p_Y", "p_A", "p_N", "p_X"]
    # from the record strictly before the vote: the counts are the tally's, who is the model's
    in_tally = table["vote_in_tally"].value_counts().to_dict()
    assert in_tally == {"Y": 141, "A": 35, "X": 12, "N": 5}
    assert main(argv) == 2
    assert "already exists" in capsys.readouterr().err


def test_a_new_text_is_named_apart_from_the_roll_call_it_is_like():
    assert text_name(None, "A/RES/76/70") == "text like A/RES/76/70"
    assert text_name("a new Crimea text", "A/RES/76/70") == "a new Crimea text"
    assert text_name(None, None) == "text"


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--tally", "93-18"], "field '--tally': tally '93-18' is not of the form Y-N-A"),
        (
            ["--tally", "100-100-100"],
            "field '--tally': tally '100-100-100' counts 300 votes for 193",
        ),
        (
            ["--tally", "93-18-65", "--date", "24.02.2025"],
            "field '--date': '24.02.2025' is not a date",
        ),
        (["--date", "1990-01-01"], "field 'date': no roll calls in the data before 1990-01-01"),
        (["--data-until", "1990-01-01"], "no roll calls in the data on or before 1990-01-01"),
    ],
)
def test_predict_errors(tmp_path, capsys, argv, expected):
    base = {"--date": "2025-02-24", "--tally": "93-18-65"}
    pairs = dict(zip(argv[::2], argv[1::2], strict=True))
    args = [item for key, value in {**base, **pairs}.items() for item in (key, value)]
    assert main(["predict", *args, "--out", str(tmp_path / "p.csv")]) == 2
    assert expected in capsys.readouterr().err
    assert not (tmp_path / "p.csv").exists()


def test_predict_into_a_missing_directory_fails_before_any_work(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(
        "sim.cli.common.load_data", lambda *_: pytest.fail("data loaded before --out")
    )
    out = tmp_path / "missing" / "p.csv"
    argv = ["predict", "--date", "2025-02-24", "--tally", "93-18-65", "--out", str(out)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"field '--out': directory {out.parent} does not exist" in err
    assert err.count("\n") == 1

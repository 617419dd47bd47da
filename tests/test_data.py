"""The loader on the real data, and every way a user's roll-call file can be wrong."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from sim.data import loader
from sim.data.loader import (
    BLOCS,
    HISTORY_FILE,
    UKRAINE_FILE,
    count_votes,
    load_data,
    read_votes,
)
from sim.data.metrics import affinity, roll_call_tallies, select_roll_calls
from sim.data.resolutions import RESOLUTIONS, Tally, symbol_forms
from sim.data.titles import earlier_versions, latest_earlier_version, search_titles
from sim.errors import BlocsimError


def test_members_are_the_193_with_their_blocs(data):
    members = data.members
    assert len(members) == 193 and members["iso3"].is_unique
    assert list(members["iso3"]) == sorted(members["iso3"])
    counts = {bloc: int(members[bloc].sum()) for bloc in BLOCS}
    assert counts["eu"] == 27 and counts["nato"] == 32 and counts["au"] == 54
    assert counts["asean"] == 10 and counts["brics"] == 10 and counts["sco"] == 10
    assert counts["csto"] == 6 and counts["oic"] == 56 and counts["arab_league"] == 21
    assert counts["nam"] == 120 and counts["g77"] == 133
    groups = members["un_group"].value_counts().to_dict()
    assert groups == {
        "African": 54,
        "Asia-Pacific": 54,
        "Eastern European": 23,
        "GRULAC": 33,
        "WEOG": 29,
    }
    assert set(members.loc[members["unsc_p5"] == 1, "iso3"]) == {"CHN", "FRA", "GBR", "RUS", "USA"}
    assert members["unsc_2025"].sum() == 15


@pytest.mark.parametrize("symbol", [s for s, r in RESOLUTIONS.items() if r.in_data])
def test_every_es11_vote_in_the_data_matches_its_official_tally(data, symbol):
    counted = count_votes(data.votes_on(symbol))
    assert counted == RESOLUTIONS[symbol].tally


def test_calibration_target_is_93_18_65(data):
    assert count_votes(data.votes_on("A/RES/ES-11/7")) == Tally(93, 18, 65, 17)


def test_history_is_validated_and_typed(data):
    history = data.history
    assert set(history["vote"].unique()) <= {"Y", "N", "A", "X"}
    assert history["date"].min() == pd.Timestamp("2000-06-06")
    assert history["date"].max() == pd.Timestamp("2025-09-05")  # the end of the 79th session
    assert not history.duplicated(["vote_id", "iso3"]).any()


def test_titles_name_every_roll_call_of_the_un_extract_years(data):
    titles = data.titles
    assert titles["vote_id"].is_unique and len(titles) == 564
    extract_years = data.history.loc[data.history["date"] >= "2019-11-01", "vote_id"].unique()
    assert set(extract_years) <= set(titles["vote_id"])
    es11_7 = titles.set_index("vote_id").loc["A/RES/ES-11/7"]
    assert es11_7["title"] == "Advancing a comprehensive, just and lasting peace in Ukraine"
    assert es11_7["date"] == pd.Timestamp("2025-02-24")


def test_roll_calls_hold_each_es11_vote_once(data):
    roll_calls = data.roll_calls()
    assert not roll_calls.duplicated(["vote_id", "iso3"]).any()
    assert (roll_calls["vote_id"] == "A/RES/ES-11/7").sum() == 193


def test_second_load_comes_from_the_cache(data, tmp_path, monkeypatch):
    monkeypatch.setenv("BLOCSIM_CACHE", str(tmp_path))
    first = load_data(data.data_dir)
    assert list(tmp_path.glob("history-*.parquet"))
    read_csv = loader.read_csv_table

    def refuse_the_history_csv(path, required):
        assert path.name != HISTORY_FILE, "the history CSV was read again, not the cache"
        return read_csv(path, required)

    monkeypatch.setattr(loader, "read_csv_table", refuse_the_history_csv)
    second = load_data(data.data_dir)
    pd.testing.assert_frame_equal(first.history, second.history)


def test_data_dir_from_environment(data, monkeypatch, tmp_path):
    monkeypatch.setenv("BLOCSIM_DATA", str(data.data_dir))
    monkeypatch.chdir(tmp_path)
    assert load_data().data_dir == data.data_dir


def test_missing_data_dir_says_how_to_point_at_it(tmp_path):
    with pytest.raises(BlocsimError, match="--data-dir DIR, the BLOCSIM_DATA variable"):
        load_data(tmp_path / "nowhere")


def test_incomplete_data_dir_names_the_missing_file(data, tmp_path):
    shutil.copy(data.data_dir / "members.csv", tmp_path / "members.csv")
    with pytest.raises(BlocsimError, match="lacks votes_ukraine.csv"):
        load_data(tmp_path)


def test_user_votes_add_a_roll_call(data, tmp_path):
    votes = pd.read_csv(data.data_dir / UKRAINE_FILE, dtype=str)
    later = votes[votes["resolution"] == "A/RES/ES-11/7"].assign(
        resolution="A/RES/ES-11/99", date="2026-01-15"
    )
    path = tmp_path / "later.csv"
    later.to_csv(path, index=False)
    loaded = load_data(data.data_dir, votes=path)
    assert count_votes(loaded.votes_on("A/RES/ES-11/99")) == Tally(93, 18, 65, 17)


def _broken_votes(data, tmp_path: Path, edit) -> Path:
    """A copy of the real ES-11/7 roll call with one defect, the kind users make."""
    votes = pd.read_csv(data.data_dir / UKRAINE_FILE, dtype=str, keep_default_na=False)
    votes = votes[votes["resolution"] == "A/RES/ES-11/7"].reset_index(drop=True)
    votes = edit(votes)
    path = tmp_path / "votes.csv"
    votes.to_csv(path, index=False)
    return path


def _set(row: int, field: str, value: str):
    def edit(votes):
        votes.loc[row, field] = value
        return votes

    return edit


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda v: v.drop(columns="vote"), "votes.csv: field 'vote': missing column"),
        (_set(4, "iso3", "XYZ"), "votes.csv: line 6: field 'iso3': 'XYZ': unknown ISO3 code"),
        (_set(7, "vote", "Q"), "votes.csv: line 9: field 'vote': 'Q': vote must be Y, N, A or X"),
        (
            _set(9, "date", "24/02/2025"),
            "votes.csv: line 11: field 'date': '24/02/2025': unreadable date (want YYYY-MM-DD)",
        ),
        (
            lambda v: pd.concat([v, v.iloc[[3]]], ignore_index=True),
            "votes.csv: line 195: field 'iso3': 'A/RES/ES-11/7/AND': member voted twice",
        ),
        (
            _set(0, "vote", "N"),
            "A/RES/ES-11/7 counts 93-19-65 (yes-no-abstain) but the official tally is 93-18-65",
        ),
    ],
    ids=["missing-column", "unknown-iso3", "bad-vote", "bad-date", "duplicate", "wrong-tally"],
)
def test_malformed_votes_file_is_one_clear_error(data, tmp_path, edit, expected):
    path = _broken_votes(data, tmp_path, edit)
    with pytest.raises(BlocsimError) as raised:
        read_votes(path, frozenset(data.iso3))
    message = str(raised.value)
    assert expected in message and "\n" not in message
    assert message.startswith(str(path))


def test_unreadable_votes_file(data, tmp_path):
    path = tmp_path / "votes.csv"
    path.write_bytes(b"\x00\xff\xfe binary")
    with pytest.raises(BlocsimError, match="votes.csv"):
        read_votes(path, frozenset(data.iso3))


def test_a_text_finds_its_earlier_versions_by_title(data):

    versions = earlier_versions(data.titles, "A/RES/79/292")["vote_id"].tolist()
    assert versions == ["A/RES/78/283", "A/RES/77/293", "A/RES/76/267", "A/RES/75/285"]
    assert latest_earlier_version(data.titles, "A/RES/79/266") is None  # a new day, a new text
    assert latest_earlier_version(data.titles, "R/55/33A") is None  # the Voeten years: no title


@pytest.mark.parametrize(
    "text", ["A/RES/77/272", "a/res/77/272", "77/272", " A/RES/77/272 ", "A/RES/77/272 (2023)"]
)
def test_any_roll_call_of_the_history_by_symbol_or_short_form(data, text):
    found = data.resolution(text)
    assert (found.symbol, found.date.isoformat(), found.body) == (
        "A/RES/77/272",
        "2023-02-20",
        "GA",
    )
    assert found.tally == Tally(112, 7, 18, 56)  # counted from the 193 per-country votes
    assert found.subject == (
        "Cooperation between the United Nations and the Organisation for the Prohibition of "
        "Chemical Weapons"
    )


def test_voeten_years_roll_calls_by_symbol_or_vote_id(data):
    by_symbol = data.resolution("R/55/33A")
    assert by_symbol == data.resolution("A/RES/55/33 A") == data.resolution("voeten_rcid_4245")
    assert by_symbol.tally == Tally(97, 0, 65, 0)  # Y/N/A rows only in those years
    assert "no title" in by_symbol.subject
    with pytest.raises(KeyError, match="names 2 roll calls; give one vote_id: voeten_rcid_4379"):
        data.resolution("R/57/58")  # two votes on the whole text: ambiguous


def test_es11_texts_keep_their_official_record(data):
    assert data.resolution("ES-11/7").tally == RESOLUTIONS["A/RES/ES-11/7"].tally
    # every text of the official record whose per-country votes are kept out (the evaluation
    # set): its public tally is known, its votes refused
    for held_out in (r for r in RESOLUTIONS.values() if not r.in_data):
        assert data.resolution(held_out.symbol).tally == held_out.tally
        with pytest.raises(KeyError, match=f"no per-country votes for {held_out.symbol}"):
            data.votes_on(held_out.symbol)
    with pytest.raises(KeyError, match="unknown resolution 'ES-11/77'"):
        data.resolution("ES-11/77")


def test_symbol_forms():
    assert symbol_forms("es-11/7") == ["ES-11/7", "A/RES/ES-11/7", "S/RES/ES-11/7"]
    assert symbol_forms("S/RES/9999 (2025)") == ["S/RES/9999"]  # a year suffix is dropped
    assert symbol_forms("A/RES/55/33 A") == ["A/RES/55/33A", "R/55/33A"]


def test_title_search_needs_every_word_in_any_case(data):
    found = search_titles(data.titles, "CRIMEA human Rights")
    assert found["vote_id"].tolist() == [
        "A/RES/74/168",
        "A/RES/75/192",
        "A/RES/76/179",
        "A/RES/77/229",
        "A/RES/78/221",
        "A/RES/79/184",
    ]
    assert len(search_titles(data.titles, "crimea")) == 9  # and the militarization texts
    assert search_titles(data.titles, "crimea nonexistentword").empty
    with pytest.raises(ValueError, match="at least one word"):
        search_titles(data.titles, "  ")


def test_tallies_counted_from_the_votes(data):
    tallies = roll_call_tallies(data, ["A/RES/79/184", "A/RES/ES-11/7"]).set_index("vote_id")
    assert tallies.loc["A/RES/79/184"].tolist() == [81, 14, 80, 18]
    assert tallies.loc["A/RES/ES-11/7"].tolist() == [93, 18, 65, 17]


def test_affinity_on_chosen_roll_calls(data):
    chosen = select_roll_calls(data, "ES-11/7, title:crimea human rights, A/RES/79/184")
    assert chosen[0] == "A/RES/ES-11/7" and len(chosen) == 7  # no roll call twice
    result = affinity(data, "USA", "GBR", on=chosen)
    # agreed on the six Crimea texts, parted on ES-11/7 (the US voted No, the UK Yes)
    assert (result["roll_calls"], result["agreement"]) == (7, round(6 / 7, 4))
    with pytest.raises(KeyError, match="no roll call's title holds 'zzz'"):
        select_roll_calls(data, "title:zzz")
    held_out = next(r.symbol for r in RESOLUTIONS.values() if not r.in_data and r.body == "GA")
    with pytest.raises(KeyError, match=f"no per-country votes for {held_out}"):
        select_roll_calls(data, held_out)

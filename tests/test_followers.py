"""Who voted with the US when it stood against a large majority: counts the real data gives."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from sim.data.followers import US_TURN, against_the_majority, followers, movers


@pytest.fixture(scope="module")
def record(data) -> pd.DataFrame:
    return followers(data).set_index("iso3")


def test_qualifying_roll_calls_before_and_after_the_turn(data):
    calls = against_the_majority(data)  # two thirds, from 2019-11-01
    assert calls["period"].value_counts().to_dict() == {"before": 308, "after": 28}
    assert set(calls["us_vote"]) == {"N", "A"} and set(calls["majority_vote"]) == {"Y"}
    assert (calls["majority_share"] >= 2 / 3).all()
    # ES-11/7 (93-18-65): the US voted No with company; Yes held 53 % of the votes cast.
    assert "A/RES/ES-11/7" not in set(calls["vote_id"])
    # A/RES/79/266 (160-1-3): the US alone.
    alone = calls.set_index("vote_id").loc["A/RES/79/266"]
    assert (alone["us_vote"], alone["majority_share"], alone["period"]) == ("N", 0.9756, "after")


def test_the_window_and_the_threshold_change_the_count(data):
    whole = against_the_majority(data, since=None)
    assert whole["period"].value_counts().to_dict() == {"before": 1370, "after": 28}
    strict = against_the_majority(data, majority=0.9)
    assert strict["period"].value_counts().to_dict() == {"before": 120, "after": 20}
    early = against_the_majority(data, until=date(2025, 6, 30))
    assert (early["date"] <= pd.Timestamp("2025-06-30")).all()
    assert early["period"].value_counts()["after"] < 28


def test_followers_of_another_window(data):
    whole = followers(data, against_the_majority(data, since=None)).set_index("iso3")
    assert whole.loc["ARG", ["after_votes", "after_agree"]].tolist() == [11, 5]  # same after
    assert whole.loc["ARG", "before_votes"] > 308  # a longer before


def test_a_members_counts_and_change(record):
    argentina = record.loc["ARG"]
    assert argentina[["before_votes", "before_agree", "after_votes", "after_agree"]].tolist() == [
        308,
        38,
        11,
        5,
    ]
    assert argentina["after_share"] == pytest.approx(5 / 11, abs=1e-4)
    assert argentina["change"] == pytest.approx(5 / 11 - 38 / 308, abs=1e-4)
    israel = record.loc["ISR"]
    assert israel[["before_votes", "before_agree", "after_votes", "after_agree"]].tolist() == [
        302,
        276,
        14,
        9,
    ]


def test_sorted_by_change_with_unmeasured_members_last(record):
    assert "USA" not in record.index and len(record) == 192
    changes = record["change"]
    assert changes.dropna().is_monotonic_decreasing
    assert record.index[0] == "ARG"  # the largest gain
    unmeasured = changes.isna()
    assert unmeasured.tail(unmeasured.sum()).all()  # no vote cast after the turn: last
    assert record.loc["AFG", "after_votes"] == 0


def test_movers_both_ways(record):
    toward, away = movers(record.reset_index(), 3)
    assert toward["iso3"].tolist() == ["ARG", "TUV", "NER"]
    assert away["iso3"].tolist() == ["FSM", "GBR", "CAN"]  # the largest drop first
    assert (toward["change"] > 0).all() and (away["change"] < 0).all()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"majority": 0.5}, "above 1/2"),
        ({"majority": 1.2}, "at most 1"),
        ({"since": US_TURN}, "is not before the US turn"),
        ({"until": date(2024, 12, 31)}, "is before the US turn"),
    ],
)
def test_bad_windows_and_thresholds_are_refused(data, options, message):
    with pytest.raises(ValueError, match=message):
        against_the_majority(data, **options)


def test_the_after_set_read_one_roll_call_at_a_time(data):
    """The plain reading of the definition, roll call by roll call, picks the same texts."""
    after = data.titles[data.titles["date"] >= pd.Timestamp(US_TURN)]["vote_id"]
    expected = []
    for vote_id in after:
        votes = data.votes_on(vote_id)
        cast = votes[votes != "X"].value_counts()
        top = cast.idxmax()
        if cast[top] >= 2 / 3 * cast.sum() and votes["USA"] not in (top, "X"):
            expected.append(vote_id)
    calls = against_the_majority(data)
    assert sorted(calls.loc[calls["period"] == "after", "vote_id"]) == sorted(expected)

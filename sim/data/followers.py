"""Who followed the United States when it stood against a large majority, before and after its
turn of 20 January 2025.

A roll call counts when at least `majority` (default two thirds) of the members voting (Y, N or
A) cast one and the same vote and the US cast another. In 2025 the US voted No nearly alone on
most texts: its vote is then a signal, and a member voting with it is following, not sharing a
broad consensus. For each member the measure is the share of those roll calls, among the ones
it voted on (X is missing), where it voted exactly as the US did, before and after the turn.
Plain functions over the loader's tables.
"""

from __future__ import annotations

from datetime import date
from fractions import Fraction

import numpy as np
import pandas as pd

from sim.data.loader import UNData

US = "USA"
US_TURN = date(2025, 1, 20)  # the new US administration: the one date the project calls the turn
DEFAULT_MAJORITY = Fraction(2, 3)
# The UN extract years: the same source as the post-turn record, and non-voting recorded as X.
DEFAULT_SINCE = date(2019, 11, 1)
PERIODS = ("before", "after")


def check_majority(majority: float) -> float:
    """A majority above one half (so only one vote can hold it) and at most 1."""
    if not 0.5 < majority <= 1:
        raise ValueError(f"the majority must be above 1/2 and at most 1, not {majority:.3g}")
    return float(majority)


def against_the_majority(
    data: UNData,
    majority: float = DEFAULT_MAJORITY,
    since: date | None = DEFAULT_SINCE,
    until: date | None = None,
    turn: date = US_TURN,
) -> pd.DataFrame:
    """The roll calls where the US voted against at least `majority` of the members voting,
    from `since` to `until` (inclusive): vote_id, date, us_vote, majority_vote,
    majority_share, period ('before' or 'after' the turn), oldest first."""
    majority = check_majority(majority)
    if since is not None and since >= turn:
        raise ValueError(f"{since} is not before the US turn ({turn})")
    if until is not None and until < turn:
        raise ValueError(f"{until} is before the US turn ({turn}): nothing after it")
    votes = _window(data.roll_calls(), since, until)
    cast = votes[votes["vote"] != "X"]
    counts = pd.crosstab(cast["vote_id"], cast["vote"])
    voting = counts.sum(axis=1)
    table = pd.DataFrame(
        {
            "date": cast.groupby("vote_id")["date"].first(),
            "us_vote": cast[cast["iso3"] == US].set_index("vote_id")["vote"],
            "majority_vote": counts.idxmax(axis=1),
            "majority_share": counts.max(axis=1) / voting,
        }
    ).dropna(subset=["us_vote"])
    table = table[
        (table["majority_share"] >= majority - 1e-12) & (table["us_vote"] != table["majority_vote"])
    ]
    table = table.assign(
        majority_share=table["majority_share"].round(4),
        period=np.where(table["date"] < pd.Timestamp(turn), *PERIODS),
    )
    return table.rename_axis("vote_id").reset_index().sort_values(["date", "vote_id"])


def followers(data: UNData, calls: pd.DataFrame | None = None) -> pd.DataFrame:
    """Each member's record with the US on the roll calls `calls` (`against_the_majority`'s
    table; by default its default window and majority): iso3, name, then per period the roll
    calls it voted on, the ones where it voted as the US did and their share, and `change`
    (after minus before); largest gain first, members without a share in one period last."""
    if calls is None:
        calls = against_the_majority(data)
    votes = data.roll_calls()
    votes = votes[votes["vote_id"].isin(calls["vote_id"]) & (votes["vote"] != "X")]
    calls = calls.set_index("vote_id")
    votes = votes.assign(
        period=votes["vote_id"].map(calls["period"]),
        agrees=votes["vote"].to_numpy() == votes["vote_id"].map(calls["us_vote"]).to_numpy(),
    )
    votes = votes[votes["iso3"] != US]
    grouped = votes.groupby(["iso3", "period"])["agrees"]
    counts = pd.DataFrame({"votes": grouped.size(), "agree": grouped.sum()}).unstack("period")
    members = data.members.set_index("iso3")
    table = pd.DataFrame({"name": members["name"].drop(US)})
    for period in PERIODS:
        voted = counts.get(("votes", period), pd.Series(dtype=float)).reindex(table.index)
        agreed = counts.get(("agree", period), pd.Series(dtype=float)).reindex(table.index)
        table[f"{period}_votes"] = voted.fillna(0).astype(int)
        table[f"{period}_agree"] = agreed.fillna(0).astype(int)
        table[f"{period}_share"] = (agreed / voted).round(4)
    table["change"] = (table["after_share"] - table["before_share"]).round(4)
    table = table.rename_axis("iso3").reset_index()
    return table.sort_values(["change", "iso3"], ascending=[False, True], na_position="last")


def movers(table: pd.DataFrame, count: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The `count` members that moved most toward the US (largest gain first) and the `count`
    that moved most away (largest drop first), from `followers`' table; no one in both."""
    measured = table.dropna(subset=["change"])
    toward = measured[measured["change"] > 0].head(count)
    away = measured[measured["change"] < 0].sort_values("change", kind="stable").head(count)
    return toward, away


def _window(votes: pd.DataFrame, since: date | None, until: date | None) -> pd.DataFrame:
    if since is not None:
        votes = votes[votes["date"] >= pd.Timestamp(since)]
    if until is not None:
        votes = votes[votes["date"] <= pd.Timestamp(until)]
    return votes

"""Follow weights: how strongly a member sides with a power (the US, Russia, China, or the
EU's most common vote) where the power stands against two thirds of the voters (`follow_with`).

Such roll calls are many (the US stood against two thirds on about half the roll calls of a
year before 2025, on 28 of 31 after its turn), so the measure has power where "followed the
power when it changed its vote on a recurring text" had none (8 such US changes before 2025;
every member's weight within 0.002 of 0 after shrinkage). Votes are weighted by recency
(0.5 ** (age / half_life) years before the cut-off: governments change, Argentina after
December 2023), and each member's rate is shrunk to everyone's rate by a beta-binomial prior
whose strength is estimated from the spread of the members' rates (empirical Bayes, method of
moments). The weight is the shrunk rate minus everyone's rate: 0 for a member the record says
nothing about, positive for one that sides with the power more often than the average member.
`blocsim data followers` prints the US's (`follow_table`), the forecast combination uses all
four (`sim.fit.combination`).

Plain functions over the wide vote table (roll calls x members, Y/A/N/X codes) a record holds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.data.followers import DEFAULT_MAJORITY
from sim.data.loader import UNData

POWERS = ("USA", "RUS", "CHN", "EU")
EU = "EU"
CODE = {"Y": 0, "A": 1, "N": 2}  # Y < A < N; X and missing are not votes


def codes(votes: pd.DataFrame) -> np.ndarray:
    """(rows, N) float codes of a wide vote table: Y 0, A 1, N 2, NaN for X or no row."""
    return votes.apply(lambda column: column.map(CODE)).to_numpy(float)


def power_votes(table: np.ndarray, iso3: tuple[str, ...], power: str, eu: list[str]) -> np.ndarray:
    """(rows,) a power's code on each row of `table` (rows, N): a member's own vote, or for
    the EU the most common vote of its members voting (NaN on a tie or when none voted)."""
    if power != EU:
        return table[:, iso3.index(power)]
    members = table[:, [iso3.index(code) for code in eu]]
    counts = np.stack([(members == code).sum(axis=1) for code in range(3)], axis=1)
    top = counts.max(axis=1)
    modal = counts.argmax(axis=1).astype(float)
    tied = (counts == top[:, None]).sum(axis=1) > 1
    modal[tied | (top == 0)] = np.nan
    return modal


@dataclass(frozen=True)
class FollowWeights:
    """One power's follow weights at a cut-off, per member (in `iso3` order)."""

    power: str
    iso3: tuple[str, ...]
    opportunities: np.ndarray  # (N,) roll calls where the member could follow (unweighted)
    follows: np.ndarray  # (N,) of them, where it did
    weight: np.ndarray  # (N,) shrunk, recency-weighted rate minus everyone's rate
    base_rate: float  # everyone's recency-weighted rate
    prior_strength: float  # the beta prior's pseudo-opportunities
    lonely: int  # roll calls where the power stood against two thirds of the voters


def _beta_prior(follows: np.ndarray, opportunities: np.ndarray) -> tuple[float, float]:
    """Everyone's rate m and the beta prior's strength s (method of moments): the spread of the
    members' rates beyond binomial noise is m (1 - m) / (s + 1)."""
    total = opportunities.sum()
    if total <= 0:
        return 0.0, 1.0
    rate = float(follows.sum() / total)
    seen = opportunities > 0
    if rate <= 0 or rate >= 1 or seen.sum() < 2:
        return rate, 1.0
    observed = follows[seen] / opportunities[seen]
    weights = opportunities[seen] / opportunities[seen].sum()
    spread = float(np.sum(weights * (observed - rate) ** 2))
    noise = float(np.sum(weights * rate * (1 - rate) / opportunities[seen]))
    between = max(spread - noise, 1e-6)
    return rate, float(np.clip(rate * (1 - rate) / between - 1, 1.0, 1000.0))


def eu_members(data: UNData) -> list[str]:
    """The EU's members (the members table's flag, as of 24 Feb 2025)."""
    return data.members.loc[data.members["eu"] == 1, "iso3"].tolist()


FOLLOW_HALF_LIFE = 0.5  # years: the follow weight's recency (not tuned)


def against_the_voters(table: np.ndarray, theirs: np.ndarray) -> np.ndarray:
    """(rows,) bool: the power cast a vote other than the one of two thirds of those voting
    (`blocsim data followers`' majority)."""
    counts = np.stack([(table == code).sum(axis=1) for code in range(3)], axis=1)
    share = counts.max(axis=1) / np.maximum(counts.sum(axis=1), 1)
    return (
        np.isfinite(theirs) & (share >= float(DEFAULT_MAJORITY)) & (counts.argmax(axis=1) != theirs)
    )


def follow_with(
    power: str,
    table: np.ndarray,
    dates: pd.Series,
    iso3: tuple[str, ...],
    until: pd.Timestamp,
    eu: list[str],
    half_life: float = FOLLOW_HALF_LIFE,
) -> FollowWeights:
    """How strongly each member sides with `power` where it stands against two thirds of the
    voters (`blocsim data followers`' roll calls), on the rows of `table` (roll calls x members,
    codes) dated before `until`: recency-weighted (half-life `half_life` years, so a new
    government shows within a year), shrunk to everyone's rate by the same beta prior as the
    alignment weights. Far better powered than the vote changes on recurring texts: the US
    stands alone on about half of the roll calls of a year."""
    before = (dates < until).to_numpy()
    table, stamps = table[before], dates[before]
    theirs = power_votes(table, iso3, power, eu)
    lonely = against_the_voters(table, theirs)
    table, theirs, stamps = table[lonely], theirs[lonely], stamps[lonely]
    age = (until - stamps).dt.days.to_numpy() / 365.25
    weight = 0.5 ** (age / half_life)
    cast = np.isfinite(table)
    agreed = cast & (table == theirs[:, None])
    if power != EU:
        cast[:, iso3.index(power)] = agreed[:, iso3.index(power)] = False
    n = (weight[:, None] * cast).sum(axis=0)
    f = (weight[:, None] * agreed).sum(axis=0)
    rate, strength = _beta_prior(f, n)
    shrunk = (f + strength * rate) / (n + strength)
    return FollowWeights(
        power, iso3, cast.sum(axis=0), agreed.sum(axis=0), shrunk - rate, rate, strength, len(table)
    )


def follow_table(data: UNData, until: pd.Timestamp | None = None) -> pd.DataFrame:
    """The US follow weights (`follow_with`, the forecast combination's) on the record before
    `until` (default: all of it): iso3, the roll calls where the US stood against two thirds
    of the voters and the member voted (`us_lonely_votes`), those where it voted as the US did
    (`us_sided`), and the weight (`us_follow`: 0 = no evidence of following)."""
    rows = data.roll_calls()
    if until is not None:
        rows = rows[rows["date"] < until]
    votes = rows.pivot(index="vote_id", columns="iso3", values="vote").reindex(
        columns=list(data.iso3)
    )
    dates = rows.groupby("vote_id")["date"].first().reindex(votes.index)
    cutoff = until if until is not None else rows["date"].max() + pd.Timedelta(days=1)
    found = follow_with("USA", codes(votes), dates, data.iso3, cutoff, eu_members(data))
    return pd.DataFrame(
        {
            "iso3": data.iso3,
            "us_lonely_votes": found.opportunities,
            "us_sided": found.follows,
            "us_follow": found.weight.round(4),
        }
    )

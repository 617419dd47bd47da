"""Any text, placed where it belongs: a new version of (or a text like) a roll call in the data.

A new text "like" roll call j takes j's direction a_j in the multi-dimensional position space
(`sim.model.ideal_points`) and each member's own vote on j as evidence:

    u_i = a_j . x_i(now)  +  evidence * E[e_ij | member i's vote on j]

where e_ij is the logistic error of the ordered-logit model on j: a member that voted Yes on j
while its position predicts Abstain carries that surprise into the new version (the placement,
`member_scores`, lives in `sim.model.text_axis`: scenario worlds place texts the same way). Cut-points are
then fitted so that the expected counts equal the new text's tally (members vote Y/A/N by ordered
logit of u_i, `sharpness` times as sharply as on a text never seen). The tally says how many
members change; the positions and the evidence say who. The prediction a reader takes is each
member's most likely vote (`vote`: the argmax of its Y/A/N/X probabilities); the most likely
joint assignment that adds up to the tally exactly is kept beside it (`vote_in_tally`). Without
a tally the text is forecast (`sim.fit.forecast`).

Not voting (X) is a propensity per member and per kind of text (the committee, or the ES-11
series): the member's recency-weighted share of X on texts of that kind, shrunk to its share
on all texts, raised by `like_absence` on the logit scale if it did not vote on j, and shifted
so that the expected number not voting equals the tally's.

A text without `like` is a Ukraine text: it is taken to be like the earlier Ukraine text whose
split of the voters is closest to its tally (`closest_ukraine_text`): a demanding text, far fewer
Yes than the latest ES-11 vote, takes the axis of earlier demanding texts (the Crimea texts), on
which those who fall from Yes to Abstain or No are the ones who did before. The settings are
chosen on roll calls before 2025 (docs/calibration.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
from scipy.special import expit, logit

from sim.data.follow_weights import eu_members
from sim.data.loader import UNData
from sim.data.resolutions import Tally
from sim.fit.combination import Combination, features
from sim.model.ideal_points import IdealPoints
from sim.model.positions import ES11_PREFIX, UKRAINE_TEXTS
from sim.model.text_axis import TextSettings, member_scores
from sim.model.voting import (
    VOTE_CODES,
    CutPoints,
    assign_to_tally,
    fit_cut_points,
    most_likely,
    vote_probabilities,
)

ES11_KIND = "ES-11"
COUNCIL_ABSENCE = 1e-12
LIKE_AGE_COST = 0.05  # per year of age, in L1 distance of vote shares (selected before 2025)


@dataclass(frozen=True)
class TextPrediction:
    """One text's prediction for the members of its chamber (in `iso3` order)."""

    iso3: tuple[str, ...]
    probabilities: np.ndarray  # (M, 4) Y, A, N, X
    in_tally: np.ndarray  # (M,) indices into VOTE_CODES: the joint assignment adding up to `tally`
    cut_points: CutPoints
    like: str | None
    tally: Tally  # the official tally, or a forecast's (the expected counts, rounded)
    forecast: bool = False  # True: no tally was given, `tally` is the forecast's
    interval: dict[str, tuple[int, int]] | None = None  # a forecast's 90 % interval by count

    @property
    def votes(self) -> np.ndarray:
        """(M,) each member's most likely vote, Y/A/N/X (`most_likely`): the `vote` column."""
        return most_likely(self.probabilities)

    def table(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "iso3": self.iso3,
                "vote": np.array(VOTE_CODES)[self.votes],
                "vote_in_tally": np.array(VOTE_CODES)[self.in_tally],
                **{
                    f"p_{code}": self.probabilities[:, k].round(6)
                    for k, code in enumerate(VOTE_CODES)
                },
            }
        )


@dataclass(frozen=True)
class Placement:
    """A text's chamber, each member's place on the text and its probability of not voting
    before the text's attendance shift: what cut-points are fitted to or applied to."""

    chamber: tuple[str, ...]
    scores: np.ndarray  # (M,)
    absence: np.ndarray  # (M,)
    like: str | None


def closest_ukraine_text(record: Record, day: date, tally: Tally) -> str | None:
    """The default like of a text given without one: the Ukraine text before `day` (an ES-11
    vote, or a Crimea or territorial-integrity text) whose split of the voters is closest to the
    tally's: the L1 distance of the Yes, No and Abstain shares among members voting (not voting
    is attendance, placed apart), plus `LIKE_AGE_COST` per year of age; of equals, the later.
    None if the record holds no Ukraine text before `day`."""
    texts = record.ukraine_splits[record.ukraine_splits["date"] < pd.Timestamp(day)]
    if texts.empty:
        return None
    counts = texts[["Y", "N", "A"]].to_numpy(float)
    shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1.0)
    target = np.array([tally.yes, tally.no, tally.abstain], float)
    target = target / max(target.sum(), 1.0)
    age = (pd.Timestamp(day) - texts["date"]).dt.days.to_numpy() / 365.25
    cost = np.abs(shares - target).sum(axis=1) + LIKE_AGE_COST * age
    return str(texts.index[np.lexsort((age, cost))[0]])


def latest_es11(record: Record, day: date, series_only: bool = False) -> str | None:
    """The latest Ukraine text in the record before `day` (the default like): an ES-11 General
    Assembly vote, or the Crimea and territorial-integrity texts (unless `series_only`)."""
    es11 = [
        v
        for v in record.votes.index
        if v.startswith(ES11_PREFIX) or (v in UKRAINE_TEXTS and not series_only)
    ]
    dates = record.dates.reindex(es11)
    dates = dates[dates < pd.Timestamp(day)]
    return None if dates.empty else str(dates.sort_values(kind="stable").index[-1])


class Record:
    """The roll calls before a cut-off, arranged for placing texts: every roll call's votes by
    member (wide), each text's kind, and each member's recency-weighted attendance by kind.
    Built once per cut-off; placing a text then costs array lookups."""

    def __init__(self, data: UNData, until: pd.Timestamp, settings: TextSettings) -> None:
        rows = data.roll_calls()
        rows = rows[rows["date"] < until]
        self.iso3 = data.iso3
        self.dates = rows.groupby("vote_id")["date"].first()
        seated = data.members[data.members["unsc_2025"] == 1]
        self.council = tuple(seated["iso3"])  # the Security Council of 2025, the data's only one
        self.votes = rows.pivot(index="vote_id", columns="iso3", values="vote").reindex(
            columns=list(self.iso3)
        )  # (roll calls, N), NaN where a member has no row (the Voeten years' absentees)
        self.kinds = _kinds(data)
        self.titles = data.titles  # earlier versions (persistence with absentees filled)
        self.eu = eu_members(data)
        ukraine = self.votes.index[self.votes.index.isin(ukraine_vote_ids(data))]
        self.ukraine_splits = pd.DataFrame(
            {code: (self.votes.loc[ukraine] == code).sum(axis=1) for code in ("Y", "N", "A")}
        ).assign(date=self.dates.reindex(ukraine))  # the Ukraine texts' counts, for likes
        records_x = (self.votes == "X").any(axis=1)
        recorded = rows[rows["vote_id"].isin(records_x.index[records_x])]
        age = (until - recorded["date"]).dt.days.to_numpy() / 365.25
        self._weight = 0.5 ** (age / settings.absence_half_life)
        self._member = pd.Index(self.iso3).get_indexer(recorded["iso3"])
        self._is_x = (recorded["vote"] == "X").to_numpy(float)
        self._kind = self.kinds.reindex(recorded["vote_id"]).to_numpy()
        n = len(self.iso3)
        total = np.bincount(self._member, self._weight, n)
        missing = np.bincount(self._member, self._weight * self._is_x, n)
        overall = missing.sum() / max(total.sum(), 1e-12)
        self.share = (missing + 2.0 * overall) / (total + 2.0)  # (N,) X share on all texts
        self.settings = settings

    def votes_on(self, vote_id: str) -> pd.Series | None:
        """A roll call's votes by ISO3 (X where absent), or None if it is not in the record."""
        if vote_id not in self.votes.index:
            return None
        return self.votes.loc[vote_id].fillna("X")

    def kind_of(self, vote_id: str | None) -> str | None:
        """The kind of a text for attendance: ES-11, else its committee in `roll_calls.csv`."""
        if vote_id is None or vote_id not in self.kinds.index:
            return None
        return str(self.kinds[vote_id])

    def absence(self, kind: str | None, absent_on_like: np.ndarray | None) -> np.ndarray:
        """(N,) probability of not voting before the tally's shift: the member's X share on
        texts of `kind`, shrunk to its share on all texts (itself shrunk to everyone's), plus
        `like_absence` on the logit scale where it was absent on the like-text."""
        share = self.share
        if kind is not None:
            n = len(self.iso3)
            same = self._kind == kind
            total = np.bincount(self._member[same], self._weight[same], n)
            missing = np.bincount(self._member[same], (self._weight * self._is_x)[same], n)
            prior = self.settings.absence_prior
            share = (missing + prior * share) / (total + prior)
        score = logit(np.clip(share, 1e-4, 1 - 1e-4))
        if absent_on_like is not None:
            score = score + self.settings.like_absence * absent_on_like
        return expit(score)


def ukraine_vote_ids(data: UNData) -> set[str]:
    """The vote_ids of the Ukraine texts: the ES-11 series and `UKRAINE_TEXTS` (by resolution,
    as the Voeten years' roll calls have ids of their own)."""
    history = data.history
    resolution = history["resolution"]
    older = history.loc[resolution.isin(UKRAINE_TEXTS) | resolution.str.startswith(ES11_PREFIX)]
    es11 = data.ukraine["resolution"]
    return set(older["vote_id"]) | set(es11[es11.str.startswith(ES11_PREFIX)])


def _kinds(data: UNData) -> pd.Series:
    """vote_id -> kind: the committee of `roll_calls.csv`, ES-11 for the emergency session."""
    kinds = data.titles.set_index("vote_id")["committee"].astype(object)
    kinds[kinds.index.str.startswith(ES11_PREFIX)] = ES11_KIND
    extra = [s for s in data.ukraine["resolution"].unique() if s not in kinds.index]
    return pd.concat([kinds, pd.Series(ES11_KIND, index=extra, dtype=object)])


def predict_text(
    record: Record,
    points: IdealPoints,
    tally: Tally,
    day: date,
    like: str | None = None,
    body: str = "GA",
    polarity: str = "same",
    default_like: bool = True,
    as_of_like: bool = False,
    combination: Combination | None = None,
) -> TextPrediction:
    """Each member's vote on a text of `tally` on `day`, like roll call `like` (without one: the
    Ukraine text before `day` closest to the tally if `default_like`, else the general axis).
    `record` and `points` hold the roll calls before `day`. With a `combination` (General
    Assembly texts of the like's polarity, as it was fitted) each member's probabilities are the forecast combination's
    (`sim.fit.combination`)."""
    if like is None and default_like:
        like = closest_ukraine_text(record, day, tally)
    placed = place_text(record, points, like, body, as_of_like)
    cut_points = fit_cut_points(
        placed.scores,
        placed.absence,
        tally,
        polarity=polarity,
        discrimination=record.settings.sharpness,
    )
    probabilities = vote_probabilities(placed.scores, placed.absence, cut_points)
    if combination is not None and body == "GA" and polarity == "same":
        votes = record.votes_on(like) if like is not None else None
        ukraine = like is not None and like in record.ukraine_splits.index
        x = features(record, votes, ukraine, probabilities, tally)
        probabilities = combination.probabilities(x, probabilities)
    in_tally = assign_to_tally(probabilities, tally)
    return TextPrediction(placed.chamber, probabilities, in_tally, cut_points, placed.like, tally)


def place_text(
    record: Record,
    points: IdealPoints,
    like: str | None,
    body: str = "GA",
    as_of_like: bool = False,
) -> Placement:
    """Where each member of the chamber stands on a text like roll call `like` (None: the
    general axis), and how likely it is to stay away (`Record.absence`)."""
    votes = record.votes_on(like) if like is not None else None
    scores = member_scores(points, like, votes, record.settings, as_of_like)
    if body == "SC":
        chamber = record.council
        absence = np.full(len(chamber), COUNCIL_ABSENCE)
    else:
        chamber = record.iso3
        absent = None if votes is None else (votes == "X").to_numpy(float)
        absence = record.absence(record.kind_of(like), absent)
    columns = pd.Index(record.iso3).get_indexer(chamber)
    return Placement(tuple(chamber), scores[columns], absence, like)

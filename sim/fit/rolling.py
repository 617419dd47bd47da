"""Rolling-origin validation: each roll call predicted from the record strictly before its date.

A case is a roll call in the data, predicted from its date and tally alone (`sim.fit.texts`),
`like` its latest earlier version by title where it has one (`sim.data.titles`), else a Ukraine
text is like the Ukraine text closest to its tally (`closest_ukraine_text`) and any other text
sits on the general axis. With `no_tally` each text is forecast without its tally
(`sim.fit.forecast`), like its earlier version (a Ukraine text without one: the latest Ukraine
text); texts with neither are left out. Predictors:
- K = 3 placement (`predict_text` without the forecast combination): each member's most likely
  vote (Y/A/N among voters; Y/A/N/X over all members, as the `vote` column), its
  probabilities for log-loss and Brier;
- K = 3 placement in tally: its exact-tally assignment (as `vote_in_tally`);
- always Yes;
- persistence: each member votes as on the text's earlier version, X where it did not vote
  (that closest Ukraine text for a Ukraine text without one; always Yes for any other text
  without one: `persistence_from`);
- persistence, absentees filled: the same with those absent on the earlier version given their
  vote on the latest older version they voted on, else its most common vote
  (`sim.fit.backtest.persistence_filled`; never X: the baseline for how members vote if they
  vote);
- static positions: the placement with every member where it stood when the earlier version was voted
  (no movement since): what the positions' drift adds.
The baselines' probabilities (log-loss, Brier) are their codes smoothed: 1 - epsilon on the vote,
epsilon / 4 on each outcome (`PERSISTENCE_SMOOTHING`, chosen on the selection texts).

On the texts where the US changed its vote from the earlier version, who was predicted to
move the US's way and who did (`sim.fit.movers`).

Sets, kept apart on purpose (docs/calibration.md):
- **selection** (settings chosen here): the texts of the 79th session's autumn (Sep-Dec 2024)
  with an earlier version, from one cut-off before the session (1 Sep 2024);
- **US changes before 2025** (selection data too): every roll call of the UN extract years
  before 2025 (Nov 2019 - Dec 2024) on which the US changed its vote from the earlier version,
  each from the record strictly before its own date like the evaluation (the autumn of 2024
  has none);
- **evaluation** (reported as it comes): the 30 roll calls after the US turn (4 Mar - 5 Sep 2025),
  each from the record strictly before its own date: members' own votes and attendance from the
  record to the day before, positions refitted monthly (from the record before the first day of
  the text's month, so still strictly before it: one fit a month instead of one a voting day).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from sim.data.followers import US
from sim.data.loader import UNData
from sim.data.resolutions import Tally
from sim.data.titles import latest_earlier_version
from sim.fit.backtest import persistence_filled
from sim.fit.forecast import forecast_text, in_interval, version_drifts
from sim.fit.movers import COUNTS, count_movers, us_changed
from sim.fit.scoring import accuracy_all, probability_scores, smoothed, vote_scores
from sim.fit.texts import Record, TextPrediction, closest_ukraine_text, latest_es11, predict_text
from sim.model.estimates import cached_ideal_points
from sim.model.ideal_points import IdealPoints, IdealPointSettings
from sim.model.positions import ES11_PREFIX, UKRAINE_TEXTS
from sim.model.text_axis import TextSettings
from sim.model.voting import (
    VOTE_CODES,
    YES,
    as_tally,
    most_likely,
    tally_of,
    vote_indices,
)

SELECTION = (date(2024, 9, 1), date(2025, 1, 1))  # the cut-off is the first day
EVALUATION = (date(2025, 3, 1), date(2025, 9, 6))  # after ES-11/7 (the calibration target)
BEFORE_2025 = (date(2019, 11, 1), date(2025, 1, 1))  # the UN extract years before 2025
PREDICTORS = (
    "K = 3 placement",
    "K = 3 placement in tally",
    "always Yes",
    "persistence",
    "persistence, absentees filled",
    "static positions",
)
# the baselines' probabilities: 1 - this on their vote (chosen on the selection texts)
PERSISTENCE_SMOOTHING = 0.15
SCORES = ("accuracy", "macro_f1", "f1_no", "f1_abstain", "accuracy_all", "log_loss", "brier")


@dataclass(frozen=True)
class Case:
    vote_id: str
    day: date
    cutoff: date  # the record strictly before it is used
    like: str | None  # the earlier version by title, if any
    ukraine: bool
    positions_cutoff: date  # the positions' fit uses the record strictly before it


def cases(data: UNData, first: date, last: date, one_cutoff: bool = False) -> list[Case]:
    """The roll calls of the UN extract dated first <= day < last, oldest first; with
    `one_cutoff` all from the record before `first`, else each from before its own date."""
    titles = data.titles
    chosen = titles[(titles["date"] >= pd.Timestamp(first)) & (titles["date"] < pd.Timestamp(last))]
    chosen = chosen.sort_values(["date", "vote_id"], kind="stable")
    found = []
    for row in chosen.itertuples():
        day = row.date.date()
        ukraine = row.vote_id.startswith(ES11_PREFIX) or row.vote_id in UKRAINE_TEXTS
        like = latest_earlier_version(titles, row.vote_id)
        cutoff = first if one_cutoff else day
        month = first if one_cutoff else day.replace(day=1)
        found.append(Case(row.vote_id, day, cutoff, like, ukraine, month))
    return found


def us_change_cases(data: UNData, chosen: list[Case]) -> list[Case]:
    """The cases on which the US changed its vote from the earlier version (`us_changed`)."""
    us = data.iso3.index(US)
    return [
        case
        for case in chosen
        if case.like is not None
        and us_changed(_codes(data, case.like)[us], _codes(data, case.vote_id)[us])
    ]


def _codes(data: UNData, vote_id: str) -> np.ndarray:
    """(N,) a roll call's votes in the data as codes (X where unrecorded)."""
    return vote_indices(data.votes_on(vote_id))


def rolling_origin(
    data: UNData,
    chosen: list[Case],
    settings: TextSettings = TextSettings(),  # noqa: B008 - frozen
    points_settings: IdealPointSettings = IdealPointSettings(),  # noqa: B008 - frozen
    no_tally: str | None = None,
    smoothing: float = PERSISTENCE_SMOOTHING,
) -> pd.DataFrame:
    """One row per case and predictor: vote_id, date, like, persistence_from, us_changed,
    us_vote (earlier -> new, where it changed), predictor, accuracy, macro_f1, f1_no,
    f1_abstain, voters (`vote_scores`: how members vote if they vote), accuracy_all (not voting
    a fourth outcome), log_loss, brier (`probability_scores`; baselines smoothed by
    `smoothing`), tally, forecast and in_interval (with `no_tally`, on the placement's row: whether
    the official Yes, No and Abstain counts fall in the forecast's interval), and where the US changed
    its vote the mover counts (`sim.fit.movers.COUNTS`, of the `vote` column; empty elsewhere).
    `no_tally`: a rule of `sim.fit.forecast` that forecasts each text without its tally (the
    cases without a like are left out: a forecast needs one)."""
    us = data.iso3.index(US)
    rows = []
    records: dict[date, Record] = {}
    drifts: dict[date, np.ndarray] = {}
    fits: dict[date, IdealPoints] = {}
    for case in chosen:
        if case.cutoff not in records:
            records[case.cutoff] = Record(data, pd.Timestamp(case.cutoff), settings)
            if no_tally is not None:
                drifts[case.cutoff] = version_drifts(data, pd.Timestamp(case.cutoff))
        if case.positions_cutoff not in fits:
            fits[case.positions_cutoff] = cached_ideal_points(
                data, case.positions_cutoff, points_settings
            )
        record, points = records[case.cutoff], fits[case.positions_cutoff]
        observed = _codes(data, case.vote_id)
        tally = as_tally(tally_of(observed))
        like = _like(record, case, tally, no_tally is not None)
        if like is None and no_tally is not None:
            continue
        moves = drifts.get(case.cutoff)
        predictions, source, forecast = _predict(record, points, case, like, tally, no_tally, moves)
        version = _codes(data, case.like) if case.like is not None else None
        changed = version is not None and us_changed(version[us], observed[us])
        for predictor, guess in predictions.items():
            counts = count_movers(version, observed, guess.with_absence, us) if changed else None
            probs = smoothed(guess.with_absence, smoothing) if guess.smooth else guess.probs
            rows.append(
                {
                    "vote_id": case.vote_id,
                    "date": case.day.isoformat(),
                    "like": case.like or "",
                    "persistence_from": source,
                    "us_changed": changed,
                    "us_vote": f"{VOTE_CODES[version[us]]}->{VOTE_CODES[observed[us]]}"
                    if changed
                    else "",
                    "predictor": predictor,
                    **vote_scores(guess.if_voting, observed),
                    "accuracy_all": accuracy_all(guess.with_absence, observed),
                    **(
                        probability_scores(probs, observed)
                        if probs is not None
                        else {"log_loss": np.nan, "brier": np.nan}
                    ),
                    "tally": f"{tally} ({tally.not_voting} X)",
                    **{
                        name: value if predictor == "K = 3 placement" else pd.NA
                        for name, value in forecast.items()
                    },
                    **{name: getattr(counts, name) if counts else pd.NA for name in COUNTS},
                }
            )
    table = pd.DataFrame(rows)
    return table.astype({name: "Int64" for name in COUNTS}) if rows else table


@dataclass(frozen=True)
class Guess:
    """One predictor's say on a text: its vote if the member votes (Y/A/N, or X for the
    baselines that predict it), its vote with not voting as an outcome, its probabilities
    (None: none; `smooth`: the baseline's codes smoothed)."""

    if_voting: np.ndarray  # (N,) codes
    with_absence: np.ndarray  # (N,) codes
    probs: np.ndarray | None = None  # (N, 4)
    smooth: bool = False

    @classmethod
    def of(cls, prediction: TextPrediction) -> Guess:
        """The model's: its most likely Y/A/N among voters, its `vote` over all members."""
        probs = prediction.probabilities
        return cls(most_likely(probs, absence=False), most_likely(probs), probs)


def _like(record: Record, case: Case, tally: Tally, forecast: bool) -> str | None:
    """The roll call a case is placed like: its earlier version, else for a Ukraine text the
    Ukraine text closest to the tally (a forecast: the latest, as the tally is not known)."""
    if case.like is not None or not case.ukraine:
        return case.like
    if forecast:
        return latest_es11(record, case.day)
    return closest_ukraine_text(record, case.day, tally)


def _predict(
    record: Record,
    points: IdealPoints,
    case: Case,
    like: str | None,
    tally: Tally,
    no_tally: str | None,
    drifts: np.ndarray | None,
) -> tuple[dict[str, Guess], str, dict]:
    """Every predictor's guess, where persistence came from, and the forecast's columns."""
    if no_tally is None:
        placed, static = (
            predict_text(record, points, tally, case.day, like, default_like=False, as_of_like=at)
            for at in (False, True)
        )
        forecast = {}
    else:
        placed, static = (
            forecast_text(
                record, points, case.day, like, rule=no_tally, as_of_like=at, drifts=drifts
            )
            for at in (False, True)
        )
        forecast = {
            "forecast": f"{placed.tally} ({placed.tally.not_voting} X)",
            "in_interval": in_interval(placed.interval, tally),
        }
    earlier_votes = record.votes_on(like) if like is not None else None
    n = len(record.iso3)
    if earlier_votes is not None:
        earlier = vote_indices(earlier_votes)
        source = like
    else:
        earlier, source = np.full(n, YES), "always Yes"
    filled = persistence_filled(record, like, earlier) if earlier_votes is not None else earlier
    predictions = {
        "K = 3 placement": Guess.of(placed),
        "K = 3 placement in tally": Guess(placed.in_tally, placed.in_tally),
        "always Yes": Guess(np.full(n, YES), np.full(n, YES)),
        "persistence": Guess(earlier, earlier, smooth=True),
        "persistence, absentees filled": Guess(filled, filled, smooth=True),
        "static positions": Guess.of(static),
    }
    return predictions, source, forecast


def summary(table: pd.DataFrame) -> pd.DataFrame:
    """Mean scores by predictor over all cases, over those with an earlier version, and over
    those where the US changed its vote from the earlier version."""
    groups = {
        "all": table,
        "with an earlier version": table[table["like"] != ""],
        "US changed its vote": table[table["us_changed"]],
    }
    rows = []
    for name, part in groups.items():
        for predictor in PREDICTORS:
            scores = part[part["predictor"] == predictor]
            if scores.empty:
                continue
            rows.append(
                {
                    "texts": name,
                    "predictor": predictor,
                    "roll_calls": len(scores),
                    **{column: round(float(scores[column].mean()), 3) for column in SCORES},
                    **(
                        {"in_interval": round(float(scores["in_interval"].dropna().mean()), 3)}
                        if "in_interval" in scores and scores["in_interval"].notna().any()
                        else {}
                    ),
                }
            )
    return pd.DataFrame(rows)

"""A forecast before the vote: a text's votes without its tally (`blocsim predict` without
`--tally`, a `--texts` row with an empty tally, `validate --rolling ... --no-tally`).

The tally is what fits a text's cut-points (`sim.fit.texts`); before the vote there is none, so
the text's earlier version stands in for it. Three rules (`FORECAST_RULES`), compared on the
selection texts (docs/calibration.md, "A forecast before the vote"):
- **like-tally**: the earlier version's tally carried over: cut-points fitted to today's
  members' places so that the expected counts equal the tally of the like (Yes and No swapped
  for a text of reverse polarity). The drift is in who votes how, not in how many;
- **like-cut-points**: the cut-points (band and attendance shift) fitted to the like's tally
  on the members' places as of the like's year, re-applied to their places now: the tally
  drifts with the positions;
- **tally-drift**: like-tally, averaged over how tallies have moved between versions: for every
  pair of a text and its earlier version by title in the record (`version_drifts`), the like's
  tally moved by that pair's change in Y, A, N and X; the members' probabilities are the mean
  over those tallies. A text's tally is uncertain before the vote, and this says by how much.
The forecast tally is the expected counts rounded (largest remainders, so they add up to the
chamber). Its interval is the 5 % and 95 % quantiles of each count over `DRAWS` draws of the
members' votes (`draw_votes`), each draw from one of the tallies, all from `FORECAST_SEED`.
A text without a like is a Ukraine text (as in `blocsim predict`): like the latest Ukraine text
before its date (`latest_es11`: the tally that picks the closest one is not known).
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from sim.data.loader import UNData, count_votes
from sim.data.resolutions import Tally
from sim.fit.combination import Combination, features
from sim.fit.texts import Record, TextPrediction, latest_es11, place_text
from sim.model.ideal_points import IdealPoints
from sim.model.voting import (
    VOTE_CODES,
    as_tally,
    assign_to_tally,
    draw_votes,
    fit_cut_points,
    tally_counts,
    tally_of,
    vote_probabilities,
)

FORECAST_RULES = ("like-tally", "like-cut-points", "tally-drift")
DEFAULT_RULE = "tally-drift"  # chosen on the selection texts (docs/calibration.md)
INTERVAL = 0.9  # the forecast tally's interval: 5 % and 95 % quantiles of each count
DRAWS = 4000
FORECAST_SEED = 20250224  # the one seed of the interval's draws


def like_of(record: Record, day: date, like: str | None) -> str | None:
    """The roll call a forecast takes its cut-points from: `like`, else the latest Ukraine text
    before `day` (None if there is none)."""
    return like if like is not None else latest_es11(record, day)


def like_tally(record: Record, like: str, chamber: tuple[str, ...], polarity: str) -> Tally:
    """The like's counts among the chamber's members (Yes and No swapped if the new text's
    sides are reversed)."""
    votes = record.votes_on(like).reindex(list(chamber), fill_value="X")
    return _oriented(count_votes(votes), polarity)


def _oriented(tally: Tally, polarity: str) -> Tally:
    if polarity == "reverse":
        return Tally(tally.no, tally.yes, tally.abstain, tally.not_voting)
    return tally


def version_drifts(data: UNData, until: pd.Timestamp) -> np.ndarray:
    """(P, 4) how the counts of Y, A, N, X moved from a text's latest earlier version (by title,
    `sim.data.titles`) to the text, for every such pair voted before `until`."""
    titles = data.titles[data.titles["date"] < until]
    titles = titles.sort_values(["title", "date", "vote_id"], kind="stable")
    earlier = titles.groupby("title")[["vote_id", "date"]].shift(1)
    pairs = titles.assign(earlier=earlier["vote_id"])[earlier["date"] < titles["date"]]
    rows = data.roll_calls()
    rows = rows[rows["date"] < until]
    counts = pd.crosstab(rows["vote_id"], rows["vote"]).reindex(
        columns=list(VOTE_CODES), fill_value=0
    )
    pairs = pairs[pairs["vote_id"].isin(counts.index) & pairs["earlier"].isin(counts.index)]
    return counts.loc[pairs["vote_id"]].to_numpy() - counts.loc[pairs["earlier"]].to_numpy()


def forecast_text(
    record: Record,
    points: IdealPoints,
    day: date,
    like: str,
    body: str = "GA",
    polarity: str = "same",
    rule: str = DEFAULT_RULE,
    as_of_like: bool = False,
    drifts: np.ndarray | None = None,
    combination: Combination | None = None,
) -> TextPrediction:
    """Each member's vote on a text like roll call `like` on `day`, without the text's tally,
    by `rule` (see the module docstring). `record` and `points` hold the roll calls before
    `day`; `as_of_like` keeps members where they stood at the like (the static ablation);
    `drifts` (P, 4) are `version_drifts` before `day` (rule tally-drift; none: no drift; they
    are General Assembly counts, so a Security Council text carries its like's tally). With a
    `combination` (General Assembly texts of the like's polarity: it was fitted on those) each tally's probabilities are the forecast
    combination's on that tally (`sim.fit.combination`), as `predict_text` does with the
    text's own tally, and the forecast tally and its interval are theirs."""
    if rule not in FORECAST_RULES:
        raise ValueError(f"rule must be one of {', '.join(FORECAST_RULES)}, not '{rule}'")
    now = place_text(record, points, like, body, as_of_like)
    fitted_on = place_text(record, points, like, body, True) if rule == "like-cut-points" else now
    carried = tally_counts(like_tally(record, like, now.chamber, "same"))
    drifting = rule == "tally-drift" and body == "GA" and drifts is not None and len(drifts) > 0
    moves = drifts if drifting else None
    tallies, weights = _moved_tallies(carried, moves)
    components = []
    for counts in tallies:
        cut_points = fit_cut_points(
            fitted_on.scores,
            fitted_on.absence,
            _oriented(as_tally(counts), polarity),
            polarity=polarity,
            discrimination=record.settings.sharpness,
        )
        placed = vote_probabilities(now.scores, now.absence, cut_points)
        if combination is not None and body == "GA" and polarity == "same":
            placed = _combined(record, combination, like, placed, as_tally(counts))
        components.append(placed)
    stack = np.stack(components)  # (J, M, 4)
    probabilities = np.tensordot(weights, stack, axes=1)
    tally = expected_tally(probabilities)
    return TextPrediction(
        now.chamber,
        probabilities,
        assign_to_tally(probabilities, tally),
        cut_points,  # the last tally's (the like's own when there is no drift)
        like,
        tally,
        forecast=True,
        interval=tally_interval(stack, weights),
    )


def _combined(
    record: Record, combination: Combination, like: str, placed: np.ndarray, tally: Tally
) -> np.ndarray:
    """(N, 4) the combination's probabilities on a text like `like` of `tally`."""
    ukraine = like in record.ukraine_splits.index
    x = features(record, record.votes_on(like), ukraine, placed, tally)
    return combination.probabilities(x, placed)


def _moved_tallies(carried: np.ndarray, drifts: np.ndarray | None):
    """The distinct tallies (J, 4) the like's counts (4,) become under each drift, each count
    at least 0 and the total kept (the difference goes to or comes off the largest count),
    with their shares (J,); the like's own counts alone without drifts. The like's own counts
    come last, so a forecast's cut-points are the like's own wherever they are kept."""
    if drifts is None:
        return carried[None, :], np.ones(1)
    moved = np.clip(carried[None, :] + drifts, 0, None)
    largest = np.argmax(moved, axis=1)
    moved[np.arange(len(moved)), largest] += carried.sum() - moved.sum(axis=1)
    tallies, counts = np.unique(moved, axis=0, return_counts=True)
    own = np.all(tallies == carried, axis=1)
    order = np.argsort(own, kind="stable")
    return tallies[order], counts[order] / counts.sum()


def expected_tally(probabilities: np.ndarray) -> Tally:
    """The expected counts of Y, A, N, X under probabilities (M, 4), rounded by largest
    remainders so that they add up to M.

    >>> expected_tally(np.array([[0.6, 0.2, 0.1, 0.1]] * 3))
    Tally(yes=2, no=0, abstain=1, not_voting=0)
    """
    expected = probabilities.sum(axis=0)
    counts = np.floor(expected).astype(int)
    short = probabilities.shape[0] - counts.sum()
    counts[np.argsort(-(expected - counts), kind="stable")[:short]] += 1
    return as_tally(counts)


def tally_interval(
    components: np.ndarray, weights: np.ndarray, level: float = INTERVAL
) -> dict[str, tuple[int, int]]:
    """Each count's central `level` interval, Y, N, A, X -> (low, high): quantiles over `DRAWS`
    draws of every member's vote, each draw from one of the components (J, M, 4) chosen by
    `weights` (J,), all from `FORECAST_SEED` (the same interval on every run)."""
    rng = np.random.default_rng(np.random.SeedSequence(FORECAST_SEED))
    chosen = rng.choice(len(weights), size=DRAWS, p=weights)
    counts = tally_of(draw_votes(rng, components[chosen]))  # (DRAWS, 4)
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(counts, [tail, 1.0 - tail], axis=0, method="inverted_cdf")
    order = ("Y", "N", "A", "X")
    return {
        code: (int(low[VOTE_CODES.index(code)]), int(high[VOTE_CODES.index(code)]))
        for code in order
    }


def interval_text(interval: dict[str, tuple[int, int]], level: float = INTERVAL) -> str:
    """The interval in words: 'Y 91-105, N 8-16, A 52-68, X 18-28 (90%)'."""
    parts = ", ".join(f"{code} {low}-{high}" for code, (low, high) in interval.items())
    return f"{parts} ({level:.0%})"


def in_interval(interval: dict[str, tuple[int, int]], tally: Tally) -> bool:
    """Whether each of the tally's Yes, No and Abstain counts lies in its interval."""
    counts = {"Y": tally.yes, "N": tally.no, "A": tally.abstain}
    return all(interval[code][0] <= count <= interval[code][1] for code, count in counts.items())

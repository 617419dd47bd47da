"""A forecast before the vote: a text's votes without its tally (`blocsim predict` without
`--tally`, a `--texts` row with an empty tally, `validate --rolling ... --no-tally`).

The tally is what fits a text's cut-points (`sim.fit.texts`); before the vote there is none, so
the text's earlier version stands in for it. Two rules (`FORECAST_RULES`), compared on the
selection texts (docs/calibration.md, "A forecast before the vote"):
- **like-tally**: the earlier version's tally carried over: cut-points fitted to today's
  members' places so that the expected counts equal the tally of the like (Yes and No swapped
  for a text of reverse polarity). The drift is in who votes how, not in how many;
- **like-cut-points**: the cut-points (band and attendance shift) fitted to the like's tally
  on the members' places as of the like's year, re-applied to their places now: the tally
  drifts with the positions.
The forecast tally is the expected counts rounded (largest remainders, so they add up to the
chamber), with each count's interval from the members' vote probabilities: the count of Yes
is a sum of independent Bernoulli draws with the members' p_Y, a Poisson-binomial
distribution (`scipy.stats.poisson_binom`); likewise No, Abstain and not voting.
A text without a like is a Ukraine text (as in `blocsim predict`): like the latest Ukraine text
before its date (`latest_es11`: the tally that picks the closest one is not known).
"""

from __future__ import annotations

from datetime import date

import numpy as np

from sim.data.loader import count_votes
from sim.data.resolutions import Tally
from sim.fit.texts import Record, TextPrediction, latest_es11, place_text
from sim.model.ideal_points import IdealPoints
from sim.model.voting import ABSTAIN, NO, NOT_VOTING, VOTE_CODES, YES, as_tally, fit_cut_points

FORECAST_RULES = ("like-tally", "like-cut-points")
DEFAULT_RULE = "like-tally"  # chosen on the selection texts (docs/calibration.md)
INTERVAL = 0.9  # the forecast tally's interval: 5 % and 95 % quantiles of each count


def like_of(record: Record, day: date, like: str | None) -> str | None:
    """The roll call a forecast takes its cut-points from: `like`, else the latest Ukraine text
    before `day` (None if there is none)."""
    return like if like is not None else latest_es11(record, day)


def like_tally(record: Record, like: str, chamber: tuple[str, ...], polarity: str) -> Tally:
    """The like's counts among the chamber's members (Yes and No swapped if the new text's
    sides are reversed)."""
    votes = record.votes_on(like).reindex(list(chamber), fill_value="X")
    counts = count_votes(votes)
    if polarity == "reverse":
        return Tally(counts.no, counts.yes, counts.abstain, counts.not_voting)
    return counts


def forecast_text(
    record: Record,
    points: IdealPoints,
    day: date,
    like: str,
    body: str = "GA",
    polarity: str = "same",
    rule: str = DEFAULT_RULE,
    as_of_like: bool = False,
) -> TextPrediction:
    """Each member's vote on a text like roll call `like` on `day`, without the text's tally,
    by `rule` (see the module docstring). `record` and `points` hold the roll calls before
    `day`; `as_of_like` keeps members where they stood at the like (the static ablation)."""
    if rule not in FORECAST_RULES:
        raise ValueError(f"rule must be one of {', '.join(FORECAST_RULES)}, not '{rule}'")
    now = place_text(record, points, like, body, as_of_like)
    fitted_on = now if rule == "like-tally" else place_text(record, points, like, body, True)
    carried = like_tally(record, like, now.chamber, polarity)
    cut_points = fit_cut_points(
        fitted_on.scores,
        fitted_on.absence,
        carried,
        polarity=polarity,
        discrimination=record.settings.sharpness,
    )
    probabilities = now.predict(cut_points, carried).probabilities
    return now.predict(cut_points, expected_tally(probabilities), forecast=True)


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
    probabilities: np.ndarray, level: float = INTERVAL
) -> dict[str, tuple[int, int]]:
    """Each count's central `level` interval, Y, A, N, X -> (low, high): the Poisson-binomial
    quantiles of a sum of independent votes with the members' probabilities (M, 4)."""
    from scipy.stats import poisson_binom  # scipy.stats takes a third of a second to import

    tail = (1.0 - level) / 2.0
    counts = np.arange(probabilities.shape[0] + 1)
    found = {}
    for code in (YES, NO, ABSTAIN, NOT_VOTING):
        # the quantiles from the whole cdf: `ppf` vectorises over the members and fails past 64
        cdf = poisson_binom(np.clip(probabilities[:, code], 0.0, 1.0)).cdf(counts)
        low, high = np.searchsorted(cdf, [tail, 1.0 - tail - 1e-12])
        found[VOTE_CODES[code]] = (int(counts[low]), int(counts[min(high, counts[-1])]))
    return found


def interval_text(probabilities: np.ndarray, level: float = INTERVAL) -> str:
    """The interval in words: 'Y 91-105, N 8-16, A 52-68, X 18-28 (90 %)'."""
    spans = tally_interval(probabilities, level)
    parts = ", ".join(f"{code} {low}-{high}" for code, (low, high) in spans.items())
    return f"{parts} ({level:.0%})"


def in_interval(probabilities: np.ndarray, tally: Tally, level: float = INTERVAL) -> bool:
    """Whether each of the tally's Yes, No and Abstain counts lies in its interval."""
    spans = tally_interval(probabilities, level)
    counts = {"Y": tally.yes, "N": tally.no, "A": tally.abstain}
    return all(spans[code][0] <= count <= spans[code][1] for code, count in counts.items())

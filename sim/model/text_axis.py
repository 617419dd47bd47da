"""Where a scenario's text splits the members: its direction in the world's positions and a fixed
offset per member, taken from the roll call of the data the text is like.

In a one-axis world (`Parameters.dimensions = 1`) every text is voted on the Ukraine axis: no
direction, no offset; `like` gives only the tally, date and chamber the cut-points are fitted to.

In a world of ideal points (K = 3) a text like roll call j that the fit holds (dated before the
cut-off, since the fit's start, not unanimous) takes j's direction a_j, and each member's own
vote on j as evidence: the expected logistic error of that vote under the fit
(`evidence`, weighted as `blocsim predict` weighs it), a fixed offset on the
text's axis that the dynamics do not move. A text without a like, or like a Ukraine text the fit
does not hold (ES-11/7 after a 2025 cut-off, a Security Council vote), is like the latest Ukraine
text of the fit (a world's default axis is set before any tally is known, so not `predict`'s
Ukraine text closest to the tally); any other roll call the fit does not hold gives the
direction of the last year's texts (`recent_direction`), without evidence.

The same placement serves `blocsim predict` (`sim.fit.texts`): `member_scores` is a member's
place on a text like a roll call, `TextSettings` how strongly its own vote counts.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy.special import expit

from sim.data.loader import UNData
from sim.data.resolutions import RESOLUTIONS
from sim.model.ideal_points import IdealPoints
from sim.model.positions import ES11_PREFIX, UKRAINE_TEXTS, VOTE_CODE
from sim.model.voting import CutPoints


@dataclass(frozen=True)
class TextSettings:
    """How strongly a member's own vote on the like-text counts (selected before 2025)."""

    evidence: float = 1.0  # weight of E[e | own vote on the like-text]
    sharpness: float = 1.5  # discrimination on u (1 = as on a text never seen)
    like_absence: float = 2.5  # logit added to absence for members absent on the like-text
    absence_half_life: float = 1.0  # years
    absence_prior: float = 4.0  # pseudo-votes shrinking a kind's X share to the member's


def evidence(points: IdealPoints, like: str, votes: pd.Series) -> np.ndarray:
    """(N,) E[logistic error | own vote] on roll call `like` (0 where the member did not vote)."""
    item = points.items.loc[like]
    year = pd.Timestamp(item["date"]).year
    eta = points.position_in(year) @ points.direction(like)
    code = votes.map(VOTE_CODE).to_numpy(float)  # NaN for X
    low, high = item["t1"] - eta, item["t2"] - eta
    expected = np.zeros(len(eta))
    yes, abstain, no = code == 0, code == 1, code == 2
    expected[yes] = _mean_below(low[yes])
    expected[no] = _mean_above(high[no])
    expected[abstain] = _mean_between(low[abstain], high[abstain])
    return expected


def _partial(c: np.ndarray) -> np.ndarray:
    """G(c) = integral of e f(e) de from -inf to c for the logistic: c F(c) - log(1 + e^c)."""
    return c * expit(c) - np.logaddexp(0.0, c)


def _mean_below(c: np.ndarray) -> np.ndarray:
    return _partial(c) / np.maximum(expit(c), 1e-300)


def _mean_above(c: np.ndarray) -> np.ndarray:
    return -_partial(c) / np.maximum(expit(-c), 1e-300)


def _mean_between(c1: np.ndarray, c2: np.ndarray) -> np.ndarray:
    mass = np.maximum(expit(c2) - expit(c1), 1e-300)
    return (_partial(c2) - _partial(c1)) / mass


def member_scores(
    points: IdealPoints,
    like: str | None,
    votes: pd.Series | None,
    settings: TextSettings,
    as_of_like: bool = False,
) -> np.ndarray:
    """(N,) each member's place on the new text's axis: its position projected on the like's
    direction plus the evidence of its own vote; without a like in the fit (none, a unanimous
    text, or one older than the fit), the direction of the last year's texts. `as_of_like` keeps every member where it
    stood when the like was voted (an ablation: what the drift since adds)."""
    if not placed_by_like(points, like):
        return points.position @ text_direction(points, like)
    year = pd.Timestamp(points.items.loc[like, "date"]).year
    where = points.position_in(year) if as_of_like else points.position
    score = where @ text_direction(points, like)
    if votes is not None:
        score = score + settings.evidence * evidence(points, like, votes)
    return score


def placed_by_like(points: IdealPoints, like: str | None) -> bool:
    """Whether a text takes its like's direction (the like is in the fit), rather than the
    direction of the last year's texts."""
    return like is not None and like in points.items.index


def text_direction(points: IdealPoints, like: str | None) -> np.ndarray:
    """(K,) the axis a text is voted on: its like's direction, else `recent_direction`."""
    return points.direction(like) if placed_by_like(points, like) else recent_direction(points)


def recent_direction(points: IdealPoints, years: float = 1.0) -> np.ndarray:
    """(K,) the direction of a text the record has no version of: the mean unit direction of
    the last `years` of roll calls other than the Ukraine texts (the year's typical split),
    at their median length."""
    items = points.items[~points.items["ukraine"]]
    recent = items[items["date"] >= points.until - pd.Timedelta(days=round(365.25 * years))]
    if recent.empty:
        recent = items
    directions = recent[[f"a{k}" for k in range(len(points.axis_names))]].to_numpy(float)
    lengths = np.linalg.norm(directions, axis=1)
    mean = (directions / np.maximum(lengths, 1e-12)[:, None]).mean(axis=0)
    return mean / max(np.linalg.norm(mean), 1e-12) * float(np.median(lengths))


@dataclass(frozen=True)
class TextAxis:
    """A text's axis: direction (K,) and offset (N,) in the world's member order; None and None
    on the one axis of a one-dimensional world. `like` is the fitted roll call they come from
    (None: none, or the last year's typical split)."""

    like: str | None = None
    direction: tuple[float, ...] | None = None
    offset: np.ndarray | None = None

    def on(self, cut_points: CutPoints, columns: np.ndarray) -> CutPoints:
        """`cut_points` put on this axis for a chamber whose members are the world's `columns`."""
        offset = None if self.offset is None else tuple(self.offset[columns].tolist())
        return replace(cut_points, direction=self.direction, offset=offset)

    def project(self, positions: np.ndarray, columns: np.ndarray) -> np.ndarray:
        """The chamber's places on the text: positions (N, K) of the world -> (M,)."""
        return self.on(CutPoints(0.0, 0.0), columns).on_text(positions[columns])


def text_axis(points: IdealPoints | None, like: str | None, data: UNData) -> TextAxis:
    """The axis of a text like roll call `like` (a symbol `data.resolution` gave, or None) in a
    world whose ideal points are `points` (None: a one-axis world)."""
    if points is None:
        return TextAxis()
    if like is None or (like not in points.items.index and is_ukraine_text(like)):
        like = latest_ukraine_text(points)
    if like is None or like not in points.items.index:
        return TextAxis(None, tuple(recent_direction(points).tolist()))
    votes = data.votes_on(like).reindex(list(points.iso3), fill_value="X")
    offset = TextSettings().evidence * evidence(points, like, votes)
    return TextAxis(like, tuple(points.direction(like).tolist()), offset)


def is_ukraine_text(symbol: str) -> bool:
    """An ES-11 vote, an earlier Ukraine text, or a vote of the official Ukraine record."""
    return symbol.startswith(ES11_PREFIX) or symbol in UKRAINE_TEXTS or symbol in RESOLUTIONS


def latest_ukraine_text(points: IdealPoints) -> str | None:
    """The latest Ukraine text the fit holds (an ES-11 vote, or before the series a Crimea or
    territorial-integrity text): the like of a text that names none."""
    items = points.items[points.items["ukraine"]]
    if items.empty:
        return None
    return str(items["date"].sort_values(kind="stable").index[-1])

"""Where a scenario's text splits the members: its direction in the world's positions and a fixed
offset per member, taken from the roll call of the data the text is like.

In a one-axis world (`Parameters.dimensions = 1`) every text is voted on the Ukraine axis: no
direction, no offset; `like` gives only the tally, date and chamber the cut-points are fitted to.

In a world of ideal points (K = 3) a text like roll call j that the fit holds (dated before the
cut-off, since the fit's start, not unanimous) takes j's direction a_j, and each member's own
vote on j as evidence: the expected logistic error of that vote under the fit
(`sim.fit.texts.evidence`, weighted as `blocsim predict` weighs it), a fixed offset on the
text's axis that the dynamics do not move. A text without a like, or like a Ukraine text the fit
does not hold (ES-11/7 after a 2025 cut-off, a Security Council vote), is like the latest Ukraine
text of the fit (a world's default axis is set before any tally is known, so not `predict`'s
Ukraine text closest to the tally); any other roll call the fit does not hold gives the
direction of the last year's texts (`recent_direction`), without evidence.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from sim.data.loader import UNData
from sim.data.resolutions import RESOLUTIONS
from sim.fit.texts import TextSettings, evidence, recent_direction
from sim.model.ideal_points import IdealPoints
from sim.model.positions import ES11_PREFIX, UKRAINE_TEXTS
from sim.model.voting import CutPoints


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

"""Who moved the US's way: on a text whose US vote changed from its earlier version, did the
members predicted to follow the US's move follow it? (issue 10, item 6)

Votes are codes (`sim.model.voting`: Y = 0 < A = 1 < N = 2, the ordinal scale; X = 3 is not a
vote). A text counts when the US cast Y, A or N on both its earlier version and the text, and
the two differ (X on either side is no change). With u the US's vote on the text, a member
**moved the US's way** if its vote on the text is strictly closer to u than its vote on the
earlier version was: |new - u| < |earlier - u|. So:
- only members that cast Y, A or N on both the earlier version and the text are counted (the
  members: the US itself left out); X on either side is neither a mover nor a miss, as in the
  accuracy scores, which leave out members that did not vote;
- a member already at u on the earlier version cannot move closer: never a mover;
- when the US moved to A (from Y or N), a member moving to A from the other side joined it and
  counts as a mover too: closer to the US's new vote is what is measured, not the sign of the
  step.
A **predicted mover** is the same rule with the predicted vote in place of the actual one (the
same u and the same actual earlier vote); a member predicted X is not a predicted mover.
Precision = predicted movers that moved / predicted movers; recall = the same / actual movers;
pooled over texts by summing the counts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.model.voting import NOT_VOTING

COUNTS = ("members", "movers", "predicted_movers", "both")


def us_changed(earlier: int, new: int) -> bool:
    """Whether the US's vote changed between an earlier version and the text (codes; X on
    either side is no change)."""
    return earlier != NOT_VOTING and new != NOT_VOTING and earlier != new


def moved_toward(earlier: np.ndarray, new: np.ndarray, target: int) -> np.ndarray:
    """(N,) bool: the vote `new` is strictly closer to `target` than `earlier` on Y < A < N
    (False where either is X).

    >>> moved_toward(np.array([0, 0, 2, 0, 3]), np.array([1, 2, 2, 3, 2]), 2).tolist()
    [True, True, False, False, False]
    """
    voted = (earlier != NOT_VOTING) & (new != NOT_VOTING)
    return voted & (np.abs(new - target) < np.abs(earlier - target))


@dataclass(frozen=True)
class MoverCount:
    """One text's (or a pool's) counts for one predictor."""

    members: int  # cast Y/A/N on both versions (the US left out)
    movers: int  # of them, moved the US's way
    predicted_movers: int  # predicted to move the US's way
    both: int  # predicted and moved

    @property
    def precision(self) -> float:
        return self.both / self.predicted_movers if self.predicted_movers else float("nan")

    @property
    def recall(self) -> float:
        return self.both / self.movers if self.movers else float("nan")


def count_movers(
    earlier: np.ndarray, observed: np.ndarray, predicted: np.ndarray, us: int
) -> MoverCount:
    """The counts on one text: codes (N,) of the earlier version, the text and the prediction;
    `us` is the US's index. Call it only where `us_changed` holds."""
    target = observed[us]
    counted = (earlier != NOT_VOTING) & (observed != NOT_VOTING)
    counted[us] = False
    actual = moved_toward(earlier, observed, target) & counted
    said = moved_toward(earlier, predicted, target) & counted
    return MoverCount(
        int(counted.sum()), int(actual.sum()), int(said.sum()), int((actual & said).sum())
    )


def move_probability(earlier: np.ndarray, probabilities: np.ndarray, target: int) -> np.ndarray:
    """(N,) each member's chance of moving the US's way: the sum of its Y/A/N probabilities
    (N, 3, given that it votes) on the votes strictly closer to `target` than its earlier
    vote (0 where the earlier vote is X or already `target`).

    >>> move_probability(np.array([0, 1, 2, 3]), np.full((4, 3), [0.5, 0.3, 0.2]), 2).tolist()
    [0.5, 0.2, 0.0, 0.0]
    """
    codes = np.arange(3)
    closer = np.abs(codes[None, :] - target) < np.abs(earlier[:, None] - target)
    closer &= (earlier != NOT_VOTING)[:, None]
    return (probabilities * closer).sum(axis=1)


def movers_table(table: pd.DataFrame, predictors: tuple[str, ...]) -> pd.DataFrame:
    """The section "texts where the US changed its vote" from the rolling table
    (`sim.fit.rolling.rolling_origin`): a row per text and predictor, then a pooled row per
    predictor (counts summed, accuracy the mean over the texts): vote_id, us_vote (earlier ->
    new), predictor, members, movers, predicted_movers, both, precision, recall, accuracy."""
    columns = ["vote_id", "us_vote", "predictor", *COUNTS, "precision", "recall", "accuracy"]
    if table.empty:
        return pd.DataFrame(columns=columns)
    changed = table[table["us_changed"]]
    rows = []
    for row in changed.itertuples():
        count = MoverCount(*(int(getattr(row, name)) for name in COUNTS))
        rows.append(_row(row.vote_id, row.us_vote, row.predictor, count, row.accuracy))
    texts = changed["vote_id"].nunique()
    for predictor in predictors:
        part = changed[changed["predictor"] == predictor]
        if part.empty:
            continue
        count = MoverCount(*(int(part[name].sum()) for name in COUNTS))
        name = f"pooled ({texts} texts)"
        rows.append(_row(name, "", predictor, count, float(part["accuracy"].mean())))
    return pd.DataFrame(rows, columns=columns)


def _row(vote_id: str, us_vote: str, predictor: str, count: MoverCount, accuracy: float) -> dict:
    return {
        "vote_id": vote_id,
        "us_vote": us_vote,
        "predictor": predictor,
        **{name: getattr(count, name) for name in COUNTS},
        "precision": round(count.precision, 3),
        "recall": round(count.recall, 3),
        "accuracy": round(accuracy, 3),
    }

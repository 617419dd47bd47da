"""How predicted votes compare with the record: accuracy over voters and F1 by vote.

Plain functions over vote codes (indices into `VOTE_CODES`: Y, A, N, X). Members that did not
vote (X in the record) are left out of every score; a member predicted X that voted counts wrong.
"""

from __future__ import annotations

import numpy as np

from sim.model.voting import ABSTAIN, NO, NOT_VOTING, YES


def f1(predicted: np.ndarray, observed: np.ndarray, code: int) -> float:
    """F1 of one vote code among the members that voted (NaN when it is in neither).

    >>> f1(np.array([0, 2, 2]), np.array([0, 2, 1]), 2)
    0.6666666666666666
    """
    voted = observed != NOT_VOTING
    hit = np.sum((predicted == code) & (observed == code) & voted)
    said = np.sum((predicted == code) & voted)
    true = np.sum((observed == code) & voted)
    if said + true == 0:
        return float("nan")
    return float(2 * hit / (said + true))


def vote_scores(predicted: np.ndarray, observed: np.ndarray) -> dict[str, float]:
    """accuracy (voters), macro_f1 over Y/A/N (codes present in prediction or record), f1_no,
    f1_abstain, and voters: predicted and observed are codes (N,)."""
    voted = observed != NOT_VOTING
    per_code = [f1(predicted, observed, code) for code in (YES, ABSTAIN, NO)]
    return {
        "accuracy": float(np.mean(predicted[voted] == observed[voted])),
        "macro_f1": float(np.nanmean(per_code)),
        "f1_no": per_code[2],
        "f1_abstain": per_code[1],
        "voters": int(voted.sum()),
    }

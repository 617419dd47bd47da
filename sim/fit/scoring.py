"""How predicted votes compare with the record: accuracy over voters and F1 by vote, accuracy
over all members, log-loss and Brier score of the probabilities.

Plain functions over vote codes (indices into `VOTE_CODES`: Y, A, N, X). Two questions, two
sets of scores: how a member votes if it votes (`vote_scores`: members that did not vote, X in
the record, are left out; a member predicted X that voted counts wrong), and the full forecast
with not voting as a fourth outcome (`accuracy_all`, `probability_scores`: every member).
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


def accuracy_all(predicted: np.ndarray, observed: np.ndarray) -> float:
    """Share of all members whose Y/A/N/X is right: not voting is a fourth outcome."""
    return float(np.mean(predicted == observed))


def macro_f1_all(predicted: np.ndarray, observed: np.ndarray) -> float:
    """Macro-F1 over Y/A/N/X among all members (not voting a fourth outcome; a code in neither
    the prediction nor the record is left out).

    >>> macro_f1_all(np.array([0, 0, 3, 2]), np.array([0, 3, 3, 2]))
    0.7777777777777777
    """
    per_code = []
    for code in (YES, ABSTAIN, NO, NOT_VOTING):
        said, true = np.sum(predicted == code), np.sum(observed == code)
        if said + true:
            per_code.append(2 * np.sum((predicted == code) & (observed == code)) / (said + true))
    return float(np.mean(per_code))


def probability_scores(probs: np.ndarray, observed: np.ndarray) -> dict[str, float]:
    """log_loss (mean -log p of the observed code) and brier (mean over members of the summed
    squared error of the four probabilities against the observed one-hot), over all members,
    Y/A/N/X: probs (N, 4), observed codes (N,).

    >>> probability_scores(np.array([[0.5, 0.5, 0.0, 0.0]]), np.array([0]))["brier"]
    0.5
    """
    rows = np.arange(len(observed))
    chosen = np.clip(probs[rows, observed], 1e-15, None)
    truth = np.zeros_like(probs, dtype=float)
    truth[rows, observed] = 1.0
    return {
        "log_loss": float(-np.log(chosen).mean()),
        "brier": float(((probs - truth) ** 2).sum(axis=1).mean()),
    }


def smoothed(codes: np.ndarray, epsilon: float) -> np.ndarray:
    """A baseline's codes (N,) as probabilities (N, 4): 1 - epsilon on its code, the rest
    spread evenly over all four (so a baseline has a log-loss).

    >>> smoothed(np.array([2]), 0.2).round(2).tolist()
    [[0.05, 0.05, 0.85, 0.05]]
    """
    probs = np.full((len(codes), 4), epsilon / 4)
    probs[np.arange(len(codes)), codes] += 1.0 - epsilon
    return probs

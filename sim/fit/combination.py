"""The forecast combination: persistence as the prior, the model says who changes (issue 17).

Each member's Y/A/N probabilities on a text (given that it votes) are a multinomial logistic
regression on features of the member and the text, all from the record before the cut-off:
- its vote on the text's earlier version, one-hot: Y, A, N, X (did not vote), none (no like);
- the K = 3 placement's log-probabilities of Y, A, N among votes (`predict_text`), and again
  where the text has a like (where the placement has its direction and evidence), and its
  probabilities themselves (the log alone cannot bend the placement's confidence: worth 0.003
  of log-loss on the selection hold-out, where gradient boosting on these features finds 0.007,
  docs/calibration.md);
- the 1-D ordering's log-probabilities: members ordered by their recency-weighted mean vote
  (Y 0, A 1, N 2) on the Ukraine texts (for a Ukraine text) or on the last two years' roll calls
  (any other), oriented by the like's votes, cut to the tally like the placement is, and again
  where the text has no like;
- per power (US, Russia, China, the EU's most common vote), for each vote c: the member's
  co-voting with the power over the last year, and over the last two years' roll calls where
  the power voted against two thirds of the members voting (who sides with it when it stands
  nearly alone: `blocsim data followers`' measure), each times the placement's probability that
  the power votes c; and its follow weight (`sim.data.follow_weights.follow_with`: recency-weighted,
  shrunk co-voting where the power stood against two thirds of the voters) times how far the
  power is expected to move toward c from its vote on the earlier version.
- the text's tally shift: each vote's share of the voters on the text minus on the earlier
  version (0 without one): how far the members must move, the same for every member, so that
  those the placement puts nearest a vote cross to it.
A power's expected vote is the placement's, moved by how far it has lately turned from the EU
(`power_expectation`): the placement alone keeps the US at its earlier Yes on the 2025 texts
where it turned to No, and then nothing can follow it.
The probability of not voting stays the placement's; the combination shares out the rest.

The coefficients are fitted by log-loss on the backtest's sessions (`sim.fit.backtest`: the
selection sessions 2017-2023 with `--train selection`, every session to Sep 2025 with the default
`--train all`, the shipped file) with scikit-learn and shipped as `calibration/forecast.toml`
(`blocsim calibrate --forecast`); `predict_text` applies them (`shipped_combination`).
"""

from __future__ import annotations

import tomllib
import weakref
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sim.data.follow_weights import EU, POWERS, against_the_voters, follow_with, power_votes
from sim.data.follow_weights import codes as vote_codes
from sim.data.loader import count_votes
from sim.data.resolutions import Tally
from sim.errors import BlocsimError
from sim.model.scenario import REPOSITORY
from sim.model.voting import fit_cut_points, vote_probabilities

if TYPE_CHECKING:
    from sim.fit.texts import Record

FORECAST_FILE = REPOSITORY / "calibration" / "forecast.toml"
CLASSES = ("Y", "A", "N")
EARLIER = ("earlier_Y", "earlier_A", "earlier_N", "earlier_X", "earlier_none")
FEATURES = (
    *EARLIER,
    *(f"k3_log_{c}" for c in CLASSES),
    *(f"ordering_log_{c}" for c in CLASSES),
    *(f"k3_log_{c}_with_like" for c in CLASSES),
    *(f"k3_p_{c}" for c in CLASSES),
    *(f"ordering_log_{c}_without_like" for c in CLASSES),
    *(f"covote_{p.lower()}_{c}" for p in POWERS for c in CLASSES),
    *(f"lonely_{p.lower()}_{c}" for p in POWERS for c in CLASSES),
    *(f"follow_{p.lower()}_{c}" for p in POWERS for c in CLASSES),
    *(f"tally_shift_{c}" for c in CLASSES),
)
FLOOR = 1e-4  # log-probabilities below log(FLOOR) carry no more information
ORDERING_SHARPNESS = 2.0  # the 1-D ordering's discrimination on its standardised score (fixed)
COVOTE_DAYS = 365
GENERAL_DAYS = 730
RECORD_HALF_LIFE = 1.0  # years, for the 1-D ordering's mean vote
TURN_HALF_LIFE = 5.0  # roll calls: how fast a power's turn from the EU shows (not tuned)
TURN_PRIOR = 2.0  # pseudo-roll calls at the power's usual agreement with the EU (not tuned)


@dataclass(frozen=True)
class MemberStats:
    """What a record says about each member beside its positions: (N,) 1-D scores, (N, P)
    co-voting with each power of `POWERS` (on all recent roll calls, and where it stood
    against two thirds of the voters), its follow weight (`sim.data.follow_weights.follow_with`),
    and per power (P,) how far it has turned from the EU lately, with (P, 3) the votes it
    casts when it differs from the EU."""

    ukraine_score: np.ndarray
    general_score: np.ndarray
    covote: np.ndarray
    lonely: np.ndarray
    follow: np.ndarray
    turn: np.ndarray
    turned_to: np.ndarray


_stats: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def member_stats(record: Record) -> MemberStats:
    """The record's `MemberStats`, computed once per record."""
    if record not in _stats:
        _stats[record] = _member_stats(record)
    return _stats[record]


def _member_stats(record: Record) -> MemberStats:
    table = vote_codes(record.votes)  # (roll calls, N)
    dates = record.dates.reindex(record.votes.index)
    until = dates.max() + pd.Timedelta(days=1)
    age = (until - dates).dt.days.to_numpy() / 365.25
    weight = 0.5 ** (age / RECORD_HALF_LIFE)
    ukraine = record.votes.index.isin(record.ukraine_splits.index)
    recent = age * 365.25 <= GENERAL_DAYS
    covoting = age * 365.25 <= COVOTE_DAYS
    covote, lonely, follow, turns = [], [], [], []
    order = np.argsort(dates.to_numpy(), kind="stable")
    eu = power_votes(table, record.iso3, EU, record.eu)
    for power in POWERS:
        covote.append(
            _agreement(table[covoting], power_votes(table[covoting], record.iso3, power, record.eu))
        )
        theirs = power_votes(table[recent], record.iso3, power, record.eu)
        lonely.append(_agreement(table[recent], theirs, against_the_voters(table[recent], theirs)))
        found = follow_with(power, table, dates, record.iso3, until, record.eu)
        follow.append(found.weight)
        theirs = power_votes(table, record.iso3, power, record.eu)
        turns.append(turn_from_eu(theirs[order][recent[order]], eu[order][recent[order]]))
    return MemberStats(
        _mean_vote(table[ukraine], weight[ukraine]),
        _mean_vote(table[recent], weight[recent]),
        np.stack(covote, axis=1),
        np.stack(lonely, axis=1),
        np.stack(follow, axis=1),
        np.array([turn for turn, _ in turns]),
        np.stack([to for _, to in turns]),
    )


def turn_from_eu(theirs: np.ndarray, eu: np.ndarray) -> tuple[float, np.ndarray]:
    """How far a power has turned from the EU on its latest roll calls (oldest first): 1 minus
    its recent agreement (the last roll calls weighted by half-life `TURN_HALF_LIFE`, shrunk by
    `TURN_PRIOR` to its usual agreement) over its usual agreement (the whole window), at least
    0; and (3,) the share of its Y, A, N votes where it differed from the EU (uniform without).
    The US after 20 January 2025 voted No against the EU on nearly every text: the record's
    first sign that its votes on recurring texts would change."""
    both = np.isfinite(theirs) & np.isfinite(eu)
    theirs, eu = theirs[both], eu[both]
    if len(theirs) == 0:
        return 0.0, np.full(3, 1 / 3)
    agree = (theirs == eu).astype(float)
    usual = (agree.sum() + 1.0) / (len(agree) + 2.0)
    weight = 0.5 ** (np.arange(len(agree))[::-1] / TURN_HALF_LIFE)
    recent = (weight @ agree + TURN_PRIOR * usual) / (weight.sum() + TURN_PRIOR)
    differ = theirs[agree == 0].astype(int)
    to = np.bincount(differ, weights=weight[agree == 0], minlength=3)
    to = to / to.sum() if to.sum() > 0 else np.full(3, 1 / 3)
    return max(0.0, 1.0 - recent / usual), to


def _agreement(table: np.ndarray, theirs: np.ndarray, rows: np.ndarray | None = None):
    """(N,) each member's share of votes cast as the power's on `rows` (default all), shrunk
    toward everyone's share by 4 pseudo-votes."""
    if rows is not None:
        table, theirs = table[rows], theirs[rows]
    both = np.isfinite(table) & np.isfinite(theirs)[:, None]
    agree = ((table == theirs[:, None]) & both).sum(axis=0)
    cast = both.sum(axis=0)
    overall = (agree.sum() + 1.0) / (cast.sum() + 2.0)
    return (agree + 4.0 * overall) / (cast + 4.0)


def _mean_vote(table: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """(N,) recency-weighted mean code, standardised; a member without a vote at the mean."""
    cast = np.isfinite(table)
    total = (weight[:, None] * cast).sum(axis=0)
    mean = (weight[:, None] * np.nan_to_num(table)).sum(axis=0) / np.maximum(total, 1e-12)
    known = total > 0
    if not known.any():
        return np.zeros(table.shape[1])
    centre = np.average(mean[known], weights=total[known])
    mean[~known] = centre
    spread = mean[known].std()
    return (mean - centre) / (spread if spread > 0 else 1.0)


def among_votes(probabilities: np.ndarray) -> np.ndarray:
    """(M, 3) Y/A/N probabilities given a vote, from (M, 4) Y/A/N/X."""
    votes = np.clip(probabilities[:, :3], 0.0, None)
    return votes / np.maximum(votes.sum(axis=1, keepdims=True), 1e-300)


def ordering_probabilities(
    record: Record, like_votes: pd.Series | None, ukraine: bool, absence: np.ndarray, tally: Tally
) -> np.ndarray:
    """(N, 4) the 1-D ordering's probabilities: the members' mean-vote score cut to the tally
    (`absence` the placement's probabilities of not voting), turned to agree with the like."""
    stats = member_stats(record)
    score = stats.ukraine_score if ukraine else stats.general_score
    if like_votes is not None:
        earlier = like_votes.map({"Y": 0.0, "A": 1.0, "N": 2.0}).to_numpy(float)
        cast = np.isfinite(earlier)
        if cast.sum() > 2 and np.std(earlier[cast]) > 0:
            score = score * (1.0 if np.corrcoef(score[cast], earlier[cast])[0, 1] >= 0 else -1.0)
    absence = np.clip(absence, 1e-6, 1 - 1e-6)
    cuts = fit_cut_points(score, absence, tally, discrimination=ORDERING_SHARPNESS)
    return vote_probabilities(score, absence, cuts)


def features(
    record: Record,
    like_votes: pd.Series | None,
    ukraine: bool,
    placement: np.ndarray,
    tally: Tally,
) -> np.ndarray:
    """(N, len(FEATURES)) for the General Assembly's members (the record's order): the like's
    votes by ISO3 (None without a like), whether it is a Ukraine text, and the placement's
    probabilities (N, 4) on the text of `tally`."""
    stats = member_stats(record)
    n = len(record.iso3)
    earlier = np.zeros((n, len(EARLIER)))
    if like_votes is None:
        earlier[:, 4] = 1.0
        was = np.full(n, np.nan)
    else:
        letters = like_votes.reindex(list(record.iso3)).fillna("X").to_numpy()
        for k, code in enumerate(("Y", "A", "N", "X")):
            earlier[:, k] = letters == code
        was = pd.Series(letters).map({"Y": 0.0, "A": 1.0, "N": 2.0}).to_numpy(float)
    placed = among_votes(placement)
    ordering = among_votes(
        ordering_probabilities(record, like_votes, ukraine, placement[:, 3], tally)
    )
    covote, lonely, follow = [], [], []
    for p, power in enumerate(POWERS):
        expected = power_expectation(record, power, placed)  # (3,)
        before = power_votes(was[None, :], record.iso3, power, record.eu)[0]
        shift = expected - (np.eye(3)[int(before)] if np.isfinite(before) else expected)
        covote.append(stats.covote[:, p : p + 1] * expected[None, :])
        lonely.append(stats.lonely[:, p : p + 1] * expected[None, :])
        follow.append(stats.follow[:, p : p + 1] * shift[None, :])
    placed_log, ordering_log = (
        np.log(np.clip(placed, FLOOR, 1.0)),
        np.log(np.clip(ordering, FLOOR, 1.0)),
    )
    with_like = float(like_votes is not None)
    shift = np.zeros(3) if like_votes is None else _shares(tally) - _shares(count_votes(like_votes))
    return np.concatenate(
        [
            earlier,
            placed_log,
            ordering_log,
            placed_log * with_like,
            placed,
            ordering_log * (1.0 - with_like),
            *covote,
            *lonely,
            *follow,
            np.broadcast_to(shift, (n, 3)),
        ],
        axis=1,
    )


def _shares(tally: Tally) -> np.ndarray:
    """(3,) the shares of Y, A, N among the voters of a tally."""
    counts = np.array([tally.yes, tally.abstain, tally.no], float)
    return counts / max(counts.sum(), 1.0)


def power_expectation(record: Record, power: str, placed: np.ndarray) -> np.ndarray:
    """(3,) a power's expected Y/A/N: the placement's (the EU: its members' mean), moved by
    how far the power has turned from the EU lately toward the votes it casts apart from it
    (`MemberStats.turn`): the placement keeps a power where it stood on the earlier version."""
    if power == EU:
        return placed[[record.iso3.index(code) for code in record.eu]].mean(axis=0)
    stats = member_stats(record)
    p = POWERS.index(power)
    return (1.0 - stats.turn[p]) * placed[record.iso3.index(power)] + stats.turn[p] * (
        stats.turned_to[p]
    )


@dataclass(frozen=True)
class Combination:
    """Fitted coefficients: Y/A/N logits = features @ coefficients.T + intercept."""

    coefficients: np.ndarray  # (3, len(FEATURES))
    intercept: np.ndarray  # (3,)

    def among_votes(self, x: np.ndarray) -> np.ndarray:
        """(M, 3) Y/A/N probabilities given a vote from features (M, len(FEATURES))."""
        logits = x @ self.coefficients.T + self.intercept
        logits -= logits.max(axis=1, keepdims=True)
        odds = np.exp(logits)
        return odds / odds.sum(axis=1, keepdims=True)

    def probabilities(self, x: np.ndarray, placement: np.ndarray) -> np.ndarray:
        """(M, 4) Y/A/N/X: the placement's probability of not voting, the rest shared out by
        the combination."""
        present = 1.0 - placement[:, 3:4]
        return np.concatenate([present * self.among_votes(x), placement[:, 3:4]], axis=1)


def fit_combination(x: np.ndarray, observed: np.ndarray, strength: float = 1.0) -> Combination:
    """Multinomial logistic regression by log-loss (scikit-learn, L2 penalty `1/strength`):
    x (rows, len(FEATURES)), observed (rows,) codes 0 Y, 1 A, 2 N. Features are standardised
    except the follow weights, penalised in their own units (a weight of 1: following every
    time beyond the average member), so that weights the record leaves near 0 cannot buy a
    large coefficient."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(x)
    own_units = np.array([name.startswith("follow_") for name in FEATURES])
    mean = np.where(own_units, 0.0, scaler.mean_)
    scale = np.where(own_units | (scaler.scale_ <= 0), 1.0, scaler.scale_)
    model = LogisticRegression(C=strength, max_iter=2000)
    model.fit((x - mean) / scale, observed)
    if tuple(model.classes_) != (0, 1, 2):
        raise ValueError("the selection rows must hold every one of Y, A and N")
    coefficients = model.coef_ / scale
    intercept = model.intercept_ - coefficients @ mean
    return Combination(coefficients, intercept)


def combination_toml(combination: Combination, fit: dict, provenance: list[str]) -> str:
    """`calibration/forecast.toml`: the coefficients by feature, what they were fitted on."""
    lines = [
        "# The forecast combination's coefficients, written by `blocsim calibrate --forecast`.",
        "# Y/A/N logits = sum over features of coefficient * feature + intercept (sim.fit.combination).",
        "[fit]",
        *(f"{key} = {_toml(value)}" for key, value in fit.items()),
        "",
        "[intercept]",
        *(
            f"{c} = {float(value)!r}"
            for c, value in zip(CLASSES, combination.intercept, strict=True)
        ),
        "",
    ]
    for k, c in enumerate(CLASSES):
        lines += [f"[coefficients.{c}]"]
        lines += [
            f"{name} = {float(value)!r}"
            for name, value in zip(FEATURES, combination.coefficients[k], strict=True)
        ]
        lines.append("")
    return "\n".join([*lines, *provenance])


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return f'"{value}"'


def read_combination(path: Path) -> Combination:
    """The coefficients of a forecast file; a one-line error if a feature is missing."""
    try:
        document = tomllib.loads(Path(path).read_text())
        coefficients = np.array(
            [[float(document["coefficients"][c][name]) for name in FEATURES] for c in CLASSES]
        )
        intercept = np.array([float(document["intercept"][c]) for c in CLASSES])
    except (OSError, tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as error:
        raise BlocsimError(f"not a forecast combination file ({error})", file=path) from None
    return Combination(coefficients, intercept)


def fitted_sessions(path: Path) -> list[str]:
    """The backtest sessions a forecast file's coefficients were fitted on (its `[fit]`
    table; none if it does not say)."""
    document = tomllib.loads(Path(path).read_text())
    return [str(session) for session in document.get("fit", {}).get("sessions", [])]


@cache
def shipped_combination() -> Combination | None:
    """The combination `predict` applies: calibration/forecast.toml, or None without it."""
    return read_combination(FORECAST_FILE) if FORECAST_FILE.is_file() else None

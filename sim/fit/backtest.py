"""Rolling-origin backtest over the General Assembly sessions 2017-2024 and the 2025 texts
(`blocsim validate --backtest`, issue 17).

Every roll call of a session is predicted from the record strictly before the session's start
(1 September: one record and one cached K = 3 fit a session); the 2025 texts each from the record
strictly before their own date, positions refitted monthly, as `sim.fit.rolling` does. A text is
like its latest earlier version by title on that record (titles exist from Nov 2019; the Voeten
years have none, and their resolution numbers do not follow a text from year to year, so their
texts have no like); a Ukraine text without one is like the Ukraine text closest to its tally.
Its tally is known (the forecast from date and tally), or with `no_tally` it is forecast
without it, as `blocsim predict` without `--tally` does (`validate --backtest --no-tally`).

Predictors, each as Y/A/N probabilities among members that vote or as a vote:
- always Yes; persistence (the vote on the earlier version; always Yes without one);
  persistence with absentees filled (a member absent on the earlier version takes its vote on
  the latest older version it voted on, else the earlier version's most common vote);
- the 1-D ordering (`sim.fit.combination.ordering_probabilities`); static K = 3 (today's
  `predict_text`); the combination (`sim.fit.combination`), as probabilities (its most likely
  Y/A/N) and as the exact-tally assignment `predict` makes from them (a voter it names absent
  counts wrong).
Votes are scored among the members that voted: accuracy and macro-F1 of the most likely Y/A/N,
log-loss and Brier score of the probabilities (a vote predictor's are its vote with the
probability 1 - e, e its error rate on the selection sessions: persistence at its best
smoothing), pooled over a session's members and texts; movers with the US as in
`sim.fit.movers`, pooled over the session's texts where the US changed its vote.

Sessions 2017-2023 are selection (the form of the combination is chosen on them); 2024 (the
79th session's autumn) and 2025 (ES-11/7 and the 30 roll calls after the turn) are evaluation
when the combination is fitted on selection alone (`calibrate --forecast --train selection`);
the shipped one is refitted on all of them (`--train all`), and scores the evaluation sessions
in sample.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from sim.data.followers import US
from sim.data.loader import UNData
from sim.data.titles import earlier_versions
from sim.fit.combination import (
    FEATURES,
    Combination,
    among_votes,
    features,
    fit_combination,
    ordering_probabilities,
)
from sim.fit.forecast import forecast_text, version_drifts
from sim.fit.movers import (
    COUNTS,
    MoverCount,
    count_movers,
    move_probability,
    moved_toward,
    us_changed,
)
from sim.fit.scoring import accuracy_all, f1, macro_f1_all
from sim.fit.texts import (
    Record,
    closest_ukraine_text,
    latest_es11,
    predict_text,
    ukraine_vote_ids,
)
from sim.model.estimates import cached_ideal_points
from sim.model.text_axis import TextSettings
from sim.model.voting import (
    NOT_VOTING,
    VOTE_CODES,
    YES,
    as_tally,
    assign_to_tally,
    most_likely,
    tally_of,
    vote_indices,
)
from sim.results import run_directory, write_manifest, write_table

FIRST_SESSION = 2017  # the K = 3 fits start in 2015 and need a Ukraine text (Dec 2016 on)
SELECTION = tuple(str(year) for year in range(FIRST_SESSION, 2024))
EVALUATION = ("2024", "2025")
SESSION_START = (9, 1)  # month, day: the cut-off of a session's record
LAST_DAY = date(2025, 9, 6)  # the end of the data's 79th session (the 80th is held out)
CODE_PREDICTORS = (
    "always Yes",
    "persistence",
    "persistence, absentees filled",
    "combination, exact tally",
)
PROBABILITY_PREDICTORS = ("1-D ordering", "static K = 3", "combination")
PREDICTORS = (*CODE_PREDICTORS[:3], *PROBABILITY_PREDICTORS, CODE_PREDICTORS[3])
COLUMN = {
    "always Yes": "always_yes",
    "persistence": "persistence",
    "persistence, absentees filled": "persistence_filled",
    "1-D ordering": "ordering",
    "static K = 3": "k3",
    "combination": "combination",
    "combination, exact tally": "combination_tally",
}


@dataclass(frozen=True)
class Case:
    vote_id: str
    day: date
    session: str  # the year the session began, or "2025"
    cutoff: pd.Timestamp  # the record strictly before it is used
    positions_cutoff: pd.Timestamp  # the K = 3 fit's cut-off


def session_of(day: date) -> str:
    """The backtest's session label: the year the GA session began; every 2025 text '2025'."""
    if day.year >= 2025:
        return "2025"
    return str(day.year if (day.month, day.day) >= SESSION_START else day.year - 1)


def set_of(session: str) -> str:
    return "selection" if session in SELECTION else "evaluation"


def backtest_cases(data: UNData, sessions: tuple[str, ...]) -> list[Case]:
    """Every roll call of the record in `sessions` (labels of `session_of`), oldest first."""
    calls = data.roll_calls().groupby("vote_id")["date"].first().sort_values(kind="stable")
    found = []
    for vote_id, stamp in calls.items():
        day = stamp.date()
        session = session_of(day)
        if session not in sessions or day >= LAST_DAY:
            continue
        if session == "2025":
            cutoff, positions = stamp, pd.Timestamp(day.replace(day=1))
        else:
            cutoff = positions = pd.Timestamp(date(int(session), *SESSION_START))
        found.append(Case(str(vote_id), day, session, cutoff, positions))
    return found


@dataclass(frozen=True)
class Backtest:
    """One row per case and member (`rows`) and the combination's features for each row."""

    rows: pd.DataFrame
    features: np.ndarray


def run_backtest(
    data: UNData,
    chosen: list[Case],
    combination: Combination | None = None,
    progress: Callable[[], None] | None = None,
    no_tally: bool = False,
) -> Backtest:
    """Predict every case (see the module docstring); `combination` None leaves its columns
    out (the pass `blocsim calibrate --forecast` fits it on). `no_tally`: each text forecast
    without its tally as `blocsim predict` does (`sim.fit.forecast`, rule tally-drift), from its
    earlier version (a Ukraine text without one: like the latest Ukraine text); texts without
    one are left out, and the exact-tally votes are the forecast tally's."""
    votes = data.roll_calls().pivot(index="vote_id", columns="iso3", values="vote")
    votes = votes.reindex(columns=list(data.iso3)).fillna("X")
    ukraine = ukraine_vote_ids(data)
    records: dict[pd.Timestamp, tuple[Record, np.ndarray | None]] = {}
    parts, matrices = [], []
    for case in chosen:
        if case.cutoff not in records:
            records.clear()  # one record at a time: cut-offs come in date order
            drifts = version_drifts(data, case.cutoff) if no_tally else None
            records[case.cutoff] = (Record(data, case.cutoff, TextSettings()), drifts)
        record, drifts = records[case.cutoff]
        observed = vote_indices(votes.loc[case.vote_id])
        if (observed != NOT_VOTING).sum() == 0:
            continue
        points = cached_ideal_points(data, case.positions_cutoff)
        found = _case_rows(
            data, record, points, case, observed, case.vote_id in ukraine, no_tally, drifts
        )
        if found is None:
            continue
        part, x, placed = found
        if combination is not None:
            if no_tally:
                combined = forecast_text(
                    record, points, case.day, placed.like, drifts=drifts, combination=combination
                )
                mixed, assigned = combined.probabilities, combined.in_tally
            else:
                mixed = combination.probabilities(x, placed.probabilities)
                assigned = assign_to_tally(mixed, as_tally(tally_of(observed)))
            for k, code in enumerate(VOTE_CODES[:3]):
                part[f"combination_{code}"] = mixed[:, k] / np.maximum(1 - mixed[:, 3], 1e-12)
            part["combination_tally"] = np.array(VOTE_CODES)[assigned]
        parts.append(part)
        matrices.append(x)
        if progress is not None:
            progress()
    return Backtest(pd.concat(parts, ignore_index=True), np.concatenate(matrices))


def _case_rows(data, record, points, case, observed, ukraine, no_tally=False, drifts=None):
    """One case's rows (the predictors' votes and Y/A/N probabilities among votes), the
    combination's features and the placement (its probabilities (N, 4) Y/A/N/X); None for a
    text without a like when forecast without its tally."""
    tally = as_tally(tally_of(observed))
    like = _like(data, record, case)
    if like is None and ukraine:
        like = (
            latest_es11(record, case.day)
            if no_tally
            else closest_ukraine_text(record, case.day, tally)
        )
    if no_tally:
        if like is None:
            return None
        placed = forecast_text(record, points, case.day, like, drifts=drifts)
        tally = placed.tally  # the forecast's expected tally stands in for the text's
    else:
        placed = predict_text(record, points, tally, case.day, like=like, default_like=False)
    like_votes = record.votes_on(like) if like is not None else None
    x = features(record, like_votes, ukraine, placed.probabilities, tally)
    ordering = among_votes(
        ordering_probabilities(record, like_votes, ukraine, placed.probabilities[:, 3], tally)
    )
    n = len(record.iso3)
    if like_votes is None:
        earlier = filled = np.full(n, YES)
    else:
        earlier = vote_indices(like_votes)
        filled = persistence_filled(record, like, earlier)
    us = record.iso3.index(US)
    changed = like_votes is not None and us_changed(earlier[us], observed[us])
    placed_votes = among_votes(placed.probabilities)
    part = pd.DataFrame(
        {
            "session": case.session,
            "set": set_of(case.session),
            "vote_id": case.vote_id,
            "date": case.day.isoformat(),
            "like": like or "",
            "ukraine": ukraine,
            "us_changed": changed,
            "iso3": record.iso3,
            "observed": np.array(VOTE_CODES)[observed],
            "always_yes": "Y",
            "persistence": np.array(VOTE_CODES)[earlier],
            "persistence_filled": np.array(VOTE_CODES)[filled],
            **{f"ordering_{c}": ordering[:, k] for k, c in enumerate(VOTE_CODES[:3])},
            **{f"k3_{c}": placed_votes[:, k] for k, c in enumerate(VOTE_CODES[:3])},
            "p_X": placed.probabilities[:, 3],
        }
    )
    return part, x, placed


def _like(data: UNData, record: Record, case: Case) -> str | None:
    """The latest earlier version by title held in the record (before the cut-off)."""
    found = earlier_versions(data.titles, case.vote_id)
    found = found[found["date"] < case.cutoff]
    return None if found.empty else str(found["vote_id"].iloc[0])


def persistence_filled(record: Record, like: str, earlier: np.ndarray) -> np.ndarray:
    """Persistence, absentees filled: the earlier version's votes `earlier` (codes of roll call
    `like`), each member absent on it given its vote on the latest older version (by title)
    it voted on, else the earlier version's most common vote (Y of equals). Never X: the
    baseline for how a member votes if it votes (the backtest's and `sim.fit.rolling`'s)."""
    filled = earlier.copy()
    older = earlier_versions(record.titles, like)
    for vote_id in older["vote_id"]:
        gaps = filled == NOT_VOTING
        if not gaps.any():
            break
        votes = record.votes_on(vote_id)
        if votes is None:
            continue
        codes = vote_indices(votes)
        filled[gaps] = codes[gaps]
    cast = earlier[earlier != NOT_VOTING]
    common = np.bincount(cast, minlength=3).argmax() if cast.size else YES
    filled[filled == NOT_VOTING] = common
    return filled


def voters(found: Backtest) -> tuple[np.ndarray, np.ndarray]:
    """The features and the observed votes (0 Y, 1 A, 2 N) of the rows whose member voted."""
    voted = (found.rows["observed"] != "X").to_numpy()
    return found.features[voted], vote_indices(found.rows.loc[voted, "observed"])


TRAINING = {"selection": SELECTION, "all": SELECTION + EVALUATION}


def fit_on_sessions(
    data: UNData, training: str = "all", progress: Callable[[], None] | None = None
) -> tuple[Combination, dict]:
    """The combination fitted on the voters of the sessions `TRAINING[training]`, and what it
    was fitted on (the `[fit]` table of calibration/forecast.toml). 'selection' (2017-2023)
    leaves 2024 and 2025 for evaluation; 'all' (to Sep 2025) is what `predict` ships for later
    texts: the 2025 texts where the US changed its vote teach the follow features."""
    sessions = TRAINING[training]
    found = run_backtest(data, backtest_cases(data, sessions), progress=progress)
    x, observed = voters(found)
    combination = fit_combination(x, observed)
    p = combination.among_votes(x)
    return combination, {
        "method": "multinomial logistic regression (scikit-learn), L2 C = 1 on standardised "
        "features (the follow weights in their own units)",
        "training": training,
        "sessions": list(sessions),
        "roll_calls": int(found.rows["vote_id"].nunique()),
        "rows": len(observed),
        "log_loss_in_sample": round(float(-np.mean(np.log(p[np.arange(len(p)), observed]))), 4),
    }


HOLD_OUT = ("2022", "2023")  # the selection sessions round 3's forms were compared on


def compare_forms(found: Backtest) -> pd.DataFrame:
    """What interactions are worth (`blocsim calibrate --forecast --compare`, docs/calibration.md
    round 3): log-loss and accuracy among voters of the combination, of its round-2 form (the
    placement's probabilities set to 0) and of gradient boosting on the same features
    (scikit-learn's `HistGradientBoostingClassifier`, settings not tuned), each fitted on the
    selection sessions before `HOLD_OUT` (boosting stops early on the last of them, fitted on
    the rest) and scored on `HOLD_OUT` (a held-out part of selection, by session: a member's
    statistics are constant within a session) and on each evaluation session. `found` is the
    backtest of every session without a combination."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    voted = (found.rows["observed"] != "X").to_numpy()
    x, observed = found.features[voted], vote_indices(found.rows.loc[voted, "observed"])
    session = found.rows.loc[voted, "session"].to_numpy()
    before = [s for s in SELECTION if s < min(HOLD_OUT)]
    train = np.isin(session, before)
    round_2 = x.copy()
    round_2[:, [FEATURES.index(f"k3_p_{c}") for c in VOTE_CODES[:3]]] = 0.0
    boosting = HistGradientBoostingClassifier(
        max_iter=1000,
        min_samples_leaf=50,
        l2_regularization=1.0,
        early_stopping=True,
        n_iter_no_change=20,
        random_state=0,
    )
    stop = session == before[-1]
    boosting.fit(x[train & ~stop], observed[train & ~stop], X_val=x[stop], y_val=observed[stop])
    forms = {
        "combination": (fit_combination(x[train], observed[train]).among_votes, x),
        "combination, round 2": (
            fit_combination(round_2[train], observed[train]).among_votes,
            round_2,
        ),
        "gradient boosting": (boosting.predict_proba, x),
    }
    held_out = {f"{HOLD_OUT[0]}-{HOLD_OUT[-1]}": np.isin(session, HOLD_OUT)}
    held_out |= {name: session == name for name in EVALUATION}
    table = []
    for name, rows in held_out.items():
        for form, (predict, features_of) in forms.items():
            p = predict(features_of[rows])
            truth = observed[rows]
            table.append(
                {
                    "held_out": name,
                    "set": set_of(name[:4]),
                    "form": form,
                    "log_loss": -np.mean(np.log(np.clip(p[np.arange(len(p)), truth], 1e-15, 1))),
                    "accuracy": np.mean(p.argmax(axis=1) == truth),
                }
            )
    return pd.DataFrame(table).round(4)


# --- scores --------------------------------------------------------------------------------


def predictor_probabilities(
    rows: pd.DataFrame, predictor: str, errors: dict[str, float]
) -> np.ndarray:
    """(rows, 3) Y/A/N probabilities of a predictor: a vote predictor's vote with 1 - e (e its
    selection error rate, `errors`), the rest shared; a predicted X is uniform."""
    column = COLUMN[predictor]
    if predictor in PROBABILITY_PREDICTORS:
        return rows[[f"{column}_{c}" for c in VOTE_CODES[:3]]].to_numpy(float)
    codes = vote_indices(rows[column])
    e = errors[predictor]
    probabilities = np.full((len(rows), 3), e / 2)
    voted = codes != NOT_VOTING
    probabilities[voted, codes[voted]] = 1 - e
    probabilities[~voted] = 1 / 3
    return probabilities


def predicted_codes(rows: pd.DataFrame, predictor: str) -> np.ndarray:
    """(rows,) the most likely Y/A/N of a probability predictor; a vote predictor's vote."""
    column = COLUMN[predictor]
    if predictor in CODE_PREDICTORS:
        return vote_indices(rows[column])
    return rows[[f"{column}_{c}" for c in VOTE_CODES[:3]]].to_numpy(float).argmax(axis=1)


def predicted_votes(rows: pd.DataFrame, predictor: str) -> np.ndarray:
    """(rows,) a predictor's Y/A/N/X over all members, not voting a fourth outcome: a vote
    predictor's vote (persistence: X where absent on the earlier version); a probability
    predictor's most likely of p_Y, p_A, p_N, p_X (`vote`: X only where not voting is likelier
    than each vote; p_X is the placement's, which the combination keeps)."""
    if predictor in CODE_PREDICTORS:
        return vote_indices(rows[COLUMN[predictor]])
    absent = rows["p_X"].to_numpy(float)[:, None]
    among = rows[[f"{COLUMN[predictor]}_{c}" for c in VOTE_CODES[:3]]].to_numpy(float)
    return most_likely(np.concatenate([(1.0 - absent) * among, absent], axis=1))


def selection_errors(rows: pd.DataFrame) -> dict[str, float]:
    """Each vote predictor's error rate among voters on the selection sessions (its best
    constant smoothing for log-loss), at least 1e-3; without selection rows, on all rows."""
    voters = rows[rows["observed"] != "X"]
    chosen = voters[voters["set"] == "selection"]
    chosen = voters if chosen.empty else chosen
    observed = vote_indices(chosen["observed"])
    return {
        predictor: max(float(np.mean(predicted_codes(chosen, predictor) != observed)), 1e-3)
        for predictor in CODE_PREDICTORS
        if COLUMN[predictor] in chosen.columns
    }


def scores(rows: pd.DataFrame, errors: dict[str, float], predictors=PREDICTORS) -> dict:
    """Scores for one predictor each: among the voters of `rows` accuracy, macro_f1, log_loss,
    brier (how a member votes if it votes); over all members accuracy_all and macro_f1_all
    of its Y/A/N/X (`predicted_votes`: the full forecast, not voting a fourth outcome); and the
    movers' counts on the texts where the US changed its vote."""
    voters = rows[rows["observed"] != "X"]
    everyone = vote_indices(rows["observed"])
    observed = vote_indices(voters["observed"])
    truth = np.eye(3)[observed]
    found = {}
    for predictor in predictors:
        codes = predicted_codes(voters, predictor)
        p = np.clip(predictor_probabilities(voters, predictor, errors), 1e-12, 1)
        p = p / p.sum(axis=1, keepdims=True)
        per_code = [f1(codes, observed, code) for code in range(3)]
        movers = _movers(rows[rows["us_changed"]], predictor)
        votes = predicted_votes(rows, predictor)
        found[predictor] = {
            "accuracy": float(np.mean(codes == observed)),
            "macro_f1": float(np.nanmean(per_code)),
            "log_loss": float(-np.mean(np.log(p[np.arange(len(p)), observed]))),
            "brier": float(np.mean(np.sum((p - truth) ** 2, axis=1))),
            "accuracy_all": accuracy_all(votes, everyone),
            "macro_f1_all": macro_f1_all(votes, everyone),
            **movers,
        }
    return found


def _movers(rows: pd.DataFrame, predictor: str) -> dict:
    """Pooled mover counts and precision, recall over the texts where the US changed its vote."""
    totals = np.zeros(4, int)
    for _, text in rows.groupby("vote_id", sort=False):
        us = np.flatnonzero(text["iso3"].to_numpy() == US)[0]
        earlier = vote_indices(text["persistence"])
        count = count_movers(
            earlier, vote_indices(text["observed"]), predicted_codes(text, predictor), us
        )
        totals += [count.members, count.movers, count.predicted_movers, count.both]
    _, movers, said, both = totals
    return {
        "us_changed_texts": int(rows["vote_id"].nunique()),
        "movers": int(movers),
        "predicted_movers": int(said),
        "movers_found": int(both),
        "movers_precision": both / said if said else float("nan"),
        "movers_recall": both / movers if movers else float("nan"),
    }


def session_table(rows: pd.DataFrame, errors: dict[str, float]) -> pd.DataFrame:
    """One row per session (then selection and evaluation pooled) and predictor: texts, those
    with a like (an earlier version by title, or for a Ukraine text the closest Ukraine text),
    then `scores`."""
    groups = [(session, rows[rows["session"] == session]) for session in rows["session"].unique()]
    groups += [(f"all {name}", rows[rows["set"] == name]) for name in ("selection", "evaluation")]
    present = _present(rows)
    table = []
    for session, part in groups:
        if part.empty:
            continue
        name = session.removeprefix("all ")
        label = name if session.startswith("all ") else set_of(session)
        for predictor, found in scores(part, errors, present).items():
            table.append(
                {
                    "session": session,
                    "set": label,
                    "texts": part["vote_id"].nunique(),
                    "with_like": part.loc[part["like"] != "", "vote_id"].nunique(),
                    "predictor": predictor,
                    **found,
                }
            )
    return pd.DataFrame(table).round(4)


def _present(rows: pd.DataFrame) -> tuple[str, ...]:
    """The predictors whose columns the rows hold."""
    return tuple(
        p for p in PREDICTORS if COLUMN[p] in rows.columns or f"{COLUMN[p]}_Y" in rows.columns
    )


def movers_by_text(rows: pd.DataFrame) -> pd.DataFrame:
    """Who moved the US's way (`sim.fit.movers`), per text where the US changed its vote from
    its like and per predictor, then pooled per set (counts summed, session 'all SET'): the
    members counted, the real movers, those the predictor names by its most likely Y/A/N and
    those right, precision, recall, and for a probability predictor the AUC of its chance of a
    move (`move_probability`) over the members that could move (counted and not already at
    the US's new vote; a pool's members ranked together)."""
    rankings = []
    for vote_id, text in rows[rows["us_changed"]].groupby("vote_id", sort=False):
        us = np.flatnonzero(text["iso3"].to_numpy() == US)[0]
        earlier, observed = vote_indices(text["persistence"]), vote_indices(text["observed"])
        target = observed[us]
        could = (earlier != NOT_VOTING) & (observed != NOT_VOTING) & (earlier != target)
        could[us] = False
        moved = moved_toward(earlier, observed, target)[could]
        for predictor in _present(rows):
            chance = None
            if predictor in PROBABILITY_PREDICTORS:
                among = text[[f"{COLUMN[predictor]}_{c}" for c in VOTE_CODES[:3]]]
                chance = move_probability(earlier, among.to_numpy(float), target)[could]
            count = count_movers(earlier, observed, predicted_codes(text, predictor), us)
            where = (text["set"].iloc[0], text["session"].iloc[0], vote_id, predictor)
            rankings.append(_Ranking(*where, count, moved, chance))
    pools = []
    for name in ("selection", "evaluation"):
        for predictor in _present(rows):
            part = [r for r in rankings if r.set == name and r.predictor == predictor]
            if part:
                pools.append(_Ranking.pool(part))
    return pd.DataFrame([r.row() for r in rankings + pools], columns=_Ranking.COLUMNS).round(3)


@dataclass(frozen=True)
class _Ranking:
    """One predictor's movers on one text (or a pool of texts): its counts, and over the
    members that could move whether each moved and the predictor's chance that it would."""

    set: str
    session: str
    vote_id: str
    predictor: str
    count: MoverCount
    moved: np.ndarray  # (could,) bool
    chance: np.ndarray | None  # (could,) or None for a vote predictor

    COLUMNS = ("set", "session", "vote_id", "predictor", *COUNTS, "precision", "recall", "auc")

    @classmethod
    def pool(cls, part: list[_Ranking]) -> _Ranking:
        counts = (sum(getattr(r.count, name) for r in part) for name in COUNTS)
        chance = None if part[0].chance is None else np.concatenate([r.chance for r in part])
        name = f"pooled ({len(part)} texts)"
        moved = np.concatenate([r.moved for r in part])
        return cls(
            part[0].set,
            f"all {part[0].set}",
            name,
            part[0].predictor,
            MoverCount(*counts),
            moved,
            chance,
        )

    def row(self) -> dict:
        from sklearn.metrics import roc_auc_score

        ranked = self.chance is not None and 0 < self.moved.sum() < len(self.moved)
        return {
            "set": self.set,
            "session": self.session,
            "vote_id": self.vote_id,
            "predictor": self.predictor,
            **{name: getattr(self.count, name) for name in COUNTS},
            "precision": self.count.precision,
            "recall": self.count.recall,
            "auc": roc_auc_score(self.moved, self.chance) if ranked else float("nan"),
        }


def reliability_table(rows: pd.DataFrame, predictor: str = "combination", bins: int = 10):
    """The reliability diagram's points: every Y/A/N probability of `predictor` among voters,
    binned; per set and bin the mean forecast, the observed frequency and the count."""
    voters = rows[rows["observed"] != "X"]
    column = COLUMN[predictor]
    p = voters[[f"{column}_{c}" for c in VOTE_CODES[:3]]].to_numpy(float).ravel()
    hit = np.eye(3)[vote_indices(voters["observed"])].ravel()
    sets = np.repeat(voters["set"].to_numpy(), 3)
    which = np.minimum((p * bins).astype(int), bins - 1)
    frame = pd.DataFrame({"set": sets, "bin": which, "forecast": p, "observed": hit})
    table = frame.groupby(["set", "bin"]).agg(
        forecast=("forecast", "mean"), observed=("observed", "mean"), count=("forecast", "size")
    )
    return table.reset_index().assign(predictor=predictor).round(4)


def write_run(
    out: Path, found: Backtest, forecast: Path, fingerprint: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The backtest's run directory (`blocsim report` reads it): predictions.parquet (one row
    per text and member), scores.csv (`session_table`), movers.csv (`movers_by_text`),
    reliability.csv (`reliability_table` of the combination and static K = 3) and the
    manifest; returns the scores and the movers."""
    errors = selection_errors(found.rows)
    table = session_table(found.rows, errors)
    movers = movers_by_text(found.rows)
    reliability = pd.concat(
        reliability_table(found.rows, predictor) for predictor in ("combination", "static K = 3")
    )
    with run_directory(out) as staging:
        write_table(found.rows, staging / "predictions.parquet")
        write_table(table, staging / "scores.csv")
        write_table(movers, staging / "movers.csv")
        write_table(reliability, staging / "reliability.csv")
        write_manifest(
            staging,
            kind="backtest",
            scenario={"name": "backtest"},
            forecast=str(forecast),
            sessions={"selection": SELECTION, "evaluation": EVALUATION},
            smoothing=errors,
            data=fingerprint,
        )
    return table, movers

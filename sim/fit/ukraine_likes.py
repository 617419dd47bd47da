"""Which earlier text a Ukraine text given without `--like` is like: the selection set.

`blocsim predict --date D --tally Y-N-A` places a Ukraine text like an earlier one
(`sim.fit.texts.closest_ukraine_text`). The rule was chosen here, on every Ukraine text of the
record from 2016 on (the Crimea and territorial-integrity texts of `UKRAINE_TEXTS`, and ES-11/1,
/2, /4 and /6 left out in turn), each predicted from its date and tally alone with positions from
the roll calls strictly before its date. Many of them are demanding texts (Yes far below the
ES-11 votes'), where the question is who falls from Yes. Compared per text: blocsim like the
tally rule's choice; blocsim like the latest Ukraine text before it (the rule before);
persistence (each member as on the tally rule's like); always Yes. ES-11/7 is a check, not a
selection case: it was looked at before, so it is not clean out of sample. Nothing after the
2025 turn is used. Accuracy is over the members that voted.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.data.loader import UNData, count_votes
from sim.fit.calibrate import score
from sim.fit.texts import Record, closest_ukraine_text, predict_text, ukraine_vote_ids
from sim.model.estimates import cached_ideal_points
from sim.model.positions import ES11_PREFIX
from sim.model.text_axis import TextSettings
from sim.model.voting import YES, vote_indices

SELECTION_FROM = pd.Timestamp("2016-01-01")  # the fits start in 2015: a year of record first
CHECK = "A/RES/ES-11/7"
COLUMNS = ("tally rule", "latest", "persistence", "always Yes")


def ukraine_texts(data: UNData) -> pd.Series:
    """vote_id -> date of the selection texts and the check, in date order."""
    rows = data.roll_calls()
    rows = rows[rows["vote_id"].isin(ukraine_vote_ids(data))]
    dates = rows.groupby("vote_id")["date"].first().sort_values(kind="stable")
    return dates[(dates >= SELECTION_FROM) & (dates <= pd.Timestamp("2025-02-24"))]


def ukraine_likes(data: UNData) -> pd.DataFrame:
    """One row per text (set, likes chosen, accuracies of `COLUMNS`), then the selection's means:
    the Crimea and territorial-integrity texts, the ES-11 cases (selection), all."""
    symbols = data.history.groupby("vote_id")["resolution"].first()
    rows = [_case(data, vote_id, day, symbols) for vote_id, day in ukraine_texts(data).items()]
    table = pd.DataFrame(rows)
    selection = table[table["set"] == "selection"]
    es11 = selection["text"].str.startswith(ES11_PREFIX)
    parts = {"Crimea texts": selection[~es11], "ES-11 (selection)": selection[es11]}
    means = [
        {"text": f"mean, {name} ({len(part)})", "set": "selection", **_means(part)}
        for name, part in {**parts, "selection": selection}.items()
    ]
    return pd.concat([table, pd.DataFrame(means)], ignore_index=True)


def _means(part: pd.DataFrame) -> dict[str, float]:
    return {column: round(float(part[column].mean()), 3) for column in COLUMNS}


def _case(data: UNData, vote_id: str, day: pd.Timestamp, symbols: pd.Series) -> dict:
    record = Record(data, day, TextSettings())
    points = cached_ideal_points(data, day)
    votes = data.votes_on(vote_id)
    tally = count_votes(votes)
    observed = vote_indices(votes.reindex(list(record.iso3)))
    earlier = record.ukraine_splits[record.ukraine_splits["date"] < day]
    latest = str(earlier["date"].sort_values(kind="stable").index[-1])
    rule = closest_ukraine_text(record, day.date(), tally)

    def placed(like: str) -> float:
        prediction = predict_text(record, points, tally, day.date(), like=like)
        return score(prediction.in_tally.astype(np.intp), observed).accuracy

    def symbol(vote_id: str) -> str:
        return str(symbols.get(vote_id, vote_id))

    return {
        "text": symbol(vote_id),
        "date": day.date().isoformat(),
        "set": "check (looked at before)" if vote_id == CHECK else "selection",
        "tally": f"{tally} ({tally.not_voting} X)",
        "like (tally rule)": symbol(rule),
        "like (latest)": symbol(latest),
        "tally rule": round(placed(rule), 3),
        "latest": round(placed(latest), 3),
        "persistence": round(score(vote_indices(record.votes_on(rule)), observed).accuracy, 3),
        "always Yes": round(score(np.full(len(observed), YES), observed).accuracy, 3),
    }

"""A session at once: many texts, each from its date and tally, positions estimated once per
cut-off (`blocsim predict --texts FILE`).

FILE is a CSV with columns `name,date,tally,body,polarity,like`; body, polarity and like may be
empty (GA, same, none: a Ukraine text). An empty tally asks for a forecast before the vote
(`sim.fit.forecast`): the cut-points come from the like. Every row is checked before any work;
a malformed one is a `BlocsimError` naming the file, the line and the field.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from sim.data.loader import UNData, read_csv_table
from sim.data.resolutions import Tally, symbol_forms
from sim.errors import BlocsimError
from sim.fit.combination import shipped_combination
from sim.fit.forecast import forecast_text, interval_text, like_of, version_drifts
from sim.fit.texts import Record, TextPrediction, predict_text
from sim.model.estimates import cached_ideal_points, record_end
from sim.model.ideal_points import IdealPoints
from sim.model.text_axis import TextSettings
from sim.model.voting import POLARITIES

TEXT_COLUMNS = ("name", "date", "tally", "body", "polarity", "like")
SEATS = {"GA": 193, "SC": 15}


@dataclass(frozen=True)
class Text:
    """One text to place: its name, date, tally, chamber, polarity and like-text."""

    name: str
    day: date
    tally: Tally | None  # None: forecast the text (`sim.fit.forecast`)
    body: str = "GA"
    polarity: str = "same"
    like: str | None = None


def known_roll_calls(data: UNData) -> frozenset[str]:
    """Every roll call id in the data: the history's and the ES-11 file's."""
    return frozenset(data.history["vote_id"]) | frozenset(data.ukraine["resolution"])


def resolve_like(known: frozenset[str], symbol: str) -> str:
    """A roll call of `known_roll_calls` by symbol ('A/RES/77/272', '77/272', 'ES-11/7'), or
    KeyError."""
    for candidate in (symbol.strip(), *symbol_forms(symbol)):
        if candidate in known:
            return candidate
    raise KeyError(f"'{symbol}' is not a roll call in the data (e.g. A/RES/79/308, ES-11/7)")


def read_texts(path: Path, data: UNData) -> list[Text]:
    """The texts of a session file, every field checked (see the module docstring)."""
    table = read_csv_table(path, ("name", "date", "tally"))
    unknown = [column for column in table.columns if column not in TEXT_COLUMNS]
    if unknown:
        raise BlocsimError(
            f"unknown column (expected {', '.join(TEXT_COLUMNS)})", file=path, field=unknown[0]
        )
    if table.empty:
        raise BlocsimError("no texts in the file", file=path)
    known = known_roll_calls(data)
    texts = [_text(row, path, line, known) for line, row in enumerate(table.to_dict("records"), 2)]
    names = [text.name for text in texts]
    repeated = next((name for name in names if names.count(name) > 1), None)
    if repeated is not None:
        line = names.index(repeated, names.index(repeated) + 1) + 2
        raise BlocsimError(f"'{repeated}' named twice", file=path, line=line, field="name")
    return texts


def _text(row: dict, path: Path, line: int, known: frozenset[str]) -> Text:
    def fail(field: str, reason: str) -> BlocsimError:
        return BlocsimError(reason, file=path, line=line, field=field)

    name = row["name"].strip()
    if not name:
        raise fail("name", "empty")
    try:
        day = date.fromisoformat(row["date"].strip())
    except ValueError:
        raise fail("date", f"'{row['date']}' is not a date (YYYY-MM-DD)") from None
    body = (row.get("body") or "GA").strip().upper()
    if body not in SEATS:
        raise fail("body", f"'{row.get('body')}' must be GA or SC")
    try:
        tally = Tally.parse(row["tally"].strip(), SEATS[body]) if row["tally"].strip() else None
    except ValueError as error:
        raise fail("tally", str(error)) from None
    polarity = (row.get("polarity") or "same").strip()
    if polarity not in POLARITIES:
        raise fail("polarity", f"'{polarity}' must be one of {', '.join(POLARITIES)}")
    like = (row.get("like") or "").strip() or None
    if like is not None:
        try:
            like = resolve_like(known, like)
        except KeyError as error:
            raise fail("like", error.args[0]) from None
    return Text(name, day, tally, body, polarity, like)


def predict_texts(
    data: UNData,
    texts: Iterable[Text],
    data_until: date | None = None,
    settings: TextSettings = TextSettings(),  # noqa: B008 - frozen
    progress: Callable[[], None] | None = None,
) -> list[tuple[Text, TextPrediction]]:
    """Each text predicted from the record strictly before its date (and on or before
    `data_until` if given); positions and attendance are built once per distinct record."""
    results = []
    records: dict[pd.Timestamp, Record] = {}
    drifts: dict[pd.Timestamp, np.ndarray] = {}
    fits: dict[pd.Timestamp, IdealPoints] = {}
    for text in texts:
        until = pd.Timestamp(text.day)
        if data_until is not None:
            until = min(until, pd.Timestamp(data_until) + pd.Timedelta(days=1))
        end = record_end(data, until)
        if pd.isna(end):
            before = f"on or before {data_until}" if data_until else f"before {text.day}"
            raise BlocsimError(f"no roll calls in the data {before}", field="date")
        cutoff = end + pd.Timedelta(days=1)
        if end not in records:
            records[end] = Record(data, cutoff, settings)
        record = records[end]
        like = text.like
        if like is not None and not record.dates.get(like, pd.Timestamp.max) < until:
            raise BlocsimError(
                f"{like} is not in the record before {text.day}: a text can only be like an "
                "earlier roll call",
                field="like",
            )
        if text.tally is None:
            like = _forecast_like(record, text)
        if end not in fits:  # the slow part, after every check
            fits[end] = cached_ideal_points(data, cutoff)
        points = fits[end]
        if text.tally is not None:
            prediction = predict_text(
                record,
                points,
                text.tally,
                text.day,
                like,
                text.body,
                text.polarity,
                combination=shipped_combination(),
            )
        else:
            if end not in drifts:
                drifts[end] = version_drifts(data, cutoff)
            prediction = forecast_text(
                record,
                points,
                text.day,
                like,
                text.body,
                text.polarity,
                drifts=drifts[end],
                combination=shipped_combination(),
            )
        results.append((text, prediction))
        if progress is not None:
            progress()
    return results


def _forecast_like(record: Record, text: Text) -> str:
    """The roll call a forecast takes its cut-points from (`like_of`), or a one-line error."""
    like = like_of(record, text.day, text.like)
    if like is None:
        raise BlocsimError(
            f"no Ukraine text in the record before {text.day}: a forecast without a tally needs "
            "a like",
            field="like",
        )
    return like


def long_table(results: list[tuple[Text, TextPrediction]]) -> pd.DataFrame:
    """name, iso3, vote, vote_in_tally, p_Y, p_A, p_N, p_X: one row per text and member of its
    chamber."""
    parts = [prediction.table().assign(name=text.name) for text, prediction in results]
    table = pd.concat(parts, ignore_index=True)
    return table[["name", "iso3", "vote", "vote_in_tally", "p_Y", "p_A", "p_N", "p_X"]]


def summary_table(results: list[tuple[Text, TextPrediction]]) -> pd.DataFrame:
    """One row per text: name, date, body, tally (the official one, or the forecast's: the
    expected counts), its interval (forecasts only), like, and the counts of the most likely
    votes (`vote`; those of `vote_in_tally` are the tally's)."""
    rows = []
    for text, prediction in results:
        tally = prediction.tally
        counts = pd.Series(prediction.table()["vote"]).value_counts()
        rows.append(
            {
                "name": text.name,
                "date": text.day.isoformat(),
                "body": text.body,
                "tally": f"{'forecast ' if prediction.forecast else ''}{tally} "
                f"({tally.not_voting} X)",
                "interval": interval_text(prediction.interval) if prediction.interval else "",
                "like": prediction.like or "(general axis)",
                "most_likely": f"{counts.get('Y', 0)}-{counts.get('N', 0)}-{counts.get('A', 0)} "
                f"({counts.get('X', 0)} X)",
            }
        )
    return pd.DataFrame(rows)

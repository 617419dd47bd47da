"""Ideal points cached on disk, so a cut-off is estimated once (outside the repository).

The key is the data's fingerprint, the estimator's own source, its settings and the date of the
last roll call before the cut-off: every cut-off after the end of the record shares one fit.
A fit starts from the cold fit (the deterministic start) of the record as it stood on the first
day of its year, when that record is shorter; so the numbers never depend on the order in which
cut-offs were asked for, and a rolling origin over a year costs one cold fit and warm ones.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from sim.config import cache_dir
from sim.data.loader import UNData
from sim.files import partial_path
from sim.model import ideal_points
from sim.model.ideal_points import IdealPoints, IdealPointSettings, estimate_ideal_points

SOURCE_KEY = hashlib.sha256(Path(ideal_points.__file__).read_bytes()).hexdigest()[:12]
_memory: dict[tuple, IdealPoints] = {}


def record_end(data: UNData, until: object) -> pd.Timestamp:
    """The date of the last roll call strictly before `until`."""
    cutoff = pd.Timestamp(until)
    dates = pd.concat([data.history["date"], data.ukraine["date"]])
    return dates[dates < cutoff].max()


def cached_ideal_points(
    data: UNData,
    until: object,
    settings: IdealPointSettings = IdealPointSettings(),  # noqa: B008 - frozen
) -> IdealPoints:
    """`estimate_ideal_points` on the roll calls before `until`, from memory or the disk cache.

    The fit for a record ending on day E starts from the cold fit of the record at the start of
    E's year when that record is shorter (see the module docstring); otherwise it is cold.
    """
    end = record_end(data, until)
    anchor = record_end(data, pd.Timestamp(year=(end + pd.Timedelta(days=1)).year, month=1, day=1))
    if pd.isna(anchor) or anchor >= end:
        return _fit(data, end, settings, cold=True)
    return _fit(data, end, settings, cold=False, start=_fit(data, anchor, settings, cold=True))


def _fit(
    data: UNData,
    end: pd.Timestamp,
    settings: IdealPointSettings,
    cold: bool,
    start: IdealPoints | None = None,
) -> IdealPoints:
    key = (data.fingerprint, str(end.date()), settings, cold)
    if key in _memory:
        return _memory[key]
    path = _path(data, end, settings, cold)
    points = _read(path)
    if points is None:
        cutoff = end + pd.Timedelta(days=1)  # the same roll calls as any cut-off after `end`
        points = estimate_ideal_points(
            data.members, data.history, data.ukraine, cutoff, settings, start=start
        )
        _write(path, points)
    _memory[key] = points
    return points


def _path(data: UNData, end: pd.Timestamp, settings: IdealPointSettings, cold: bool) -> Path:
    digest = hashlib.sha256(repr(settings).encode()).hexdigest()[:8]
    start = "cold" if cold else "warm"
    name = f"ideal-points-{SOURCE_KEY}-{digest}-{data.fingerprint}-{end.date()}-{start}.npz"
    return cache_dir() / name


def _write(path: Path, points: IdealPoints) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    items = points.items
    meta = {
        "iso3": list(points.iso3),
        "axis_names": list(points.axis_names),
        "years": list(points.years),
        "until": str(points.until.date()),
        "item_columns": [c for c in items.columns if c not in ("date", "ukraine")],
    }
    partial = partial_path(path)
    with partial.open("wb") as handle:
        np.savez(
            handle,
            meta=json.dumps(meta),
            by_year=points.by_year,
            item_ids=items.index.to_numpy(str),
            item_values=items[meta["item_columns"]].to_numpy(float),
            item_dates=items["date"].to_numpy("datetime64[ns]"),
            item_ukraine=items["ukraine"].to_numpy(bool),
        )
    partial.replace(path)


def _read(path: Path) -> IdealPoints | None:
    """The cached fit, or None if there is none or it is not one this code wrote whole."""
    if not path.is_file():
        return None
    try:
        with np.load(path) as stored:
            meta = json.loads(str(stored["meta"]))
            items = pd.DataFrame(
                stored["item_values"],
                columns=meta["item_columns"],
                index=pd.Index(stored["item_ids"], name="vote_id"),
            )
            items["date"] = stored["item_dates"]
            items["ukraine"] = stored["item_ukraine"]
            by_year = stored["by_year"]
        return IdealPoints(
            tuple(meta["iso3"]),
            tuple(meta["axis_names"]),
            tuple(meta["years"]),
            by_year,
            items,
            pd.Timestamp(meta["until"]),
        )
    except (OSError, EOFError, ValueError, KeyError, TypeError, zipfile.BadZipFile):
        return None

"""Scenario files: TOML read into frozen dataclasses, every key checked on load.

A scenario says from which data the world starts (`data_until`), with which parameters, what
happens when (timed shocks), and which votes are held. Anything wrong is a `BlocsimError`
naming the file and the field (e.g. `votes[1].amendments[0].shift`). `docs/scenarios.md`
documents every key.
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd

from sim.data.loader import BLOCS, BODIES, UN_GROUPS
from sim.data.resolutions import RESOLUTIONS, Tally, resolution
from sim.errors import BlocsimError
from sim.model.dynamics import (
    AddTie,
    CutTie,
    MoveToward,
    SetStubbornness,
    Shift,
    Shock,
    WeakenCohesion,
)
from sim.model.parameters import Parameters, load_parameters, parameters_from_table
from sim.model.voting import POLARITIES

SEATS = {"GA": 193, "SC": 15}
REPOSITORY = Path(__file__).resolve().parents[2]
DEFAULT_CALIBRATION = REPOSITORY / "calibration" / "default.toml"
DEFAULT_SCENARIO = REPOSITORY / "scenarios" / "us_realignment.toml"
TOP_KEYS = {
    "name",
    "description",
    "data_until",
    "seed",
    "calibration",
    "historical_shocks",
    "parameters",
    "shocks",
    "votes",
    "sweep",
}


@dataclass(frozen=True)
class TimedShock:
    """A shock and the date it happens."""

    date: date
    shock: Shock


@dataclass(frozen=True)
class TextSpec:
    """How a text's cut-points are set: given, 'like' a known resolution, or fitted to a tally."""

    cut_points: tuple[float, float] | None = None
    like: str | None = None
    tally: Tally | None = None
    polarity: str = "same"
    discrimination: float | None = None  # None: the calibrated `parameters.discrimination`


@dataclass(frozen=True)
class AmendmentSpec:
    name: str
    text: TextSpec
    shift: float
    polarity: str | None = None


@dataclass(frozen=True)
class VoteSpec:
    """A vote the scenario holds: chamber, date, text, amendments voted first."""

    name: str
    body: str
    date: date
    text: TextSpec
    important: bool = False
    amendments: tuple[AmendmentSpec, ...] = ()


@dataclass(frozen=True)
class Scenario:
    """A validated scenario file (its raw TOML kept for the sweep section and the run copy)."""

    path: Path
    name: str
    description: str
    data_until: date
    seed: int
    calibration: Path
    parameters: Parameters
    historical_shocks: bool
    shocks: tuple[TimedShock, ...]
    votes: tuple[VoteSpec, ...]
    raw: Mapping
    sha256: str


def load_scenario(path: str | Path, members: pd.DataFrame) -> Scenario:
    """Read and check a scenario file against the member list (for ISO3 codes and blocs)."""
    path = Path(path)
    try:
        content = path.read_bytes()
        raw = tomllib.loads(content.decode("utf-8"))
    except FileNotFoundError:
        raise BlocsimError("scenario file not found", file=path) from None
    except OSError as error:
        raise BlocsimError(f"cannot read the scenario file ({error.strerror})", file=path) from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise BlocsimError(f"not valid TOML ({error})", file=path) from None
    reader = _Reader(path, frozenset(members["iso3"]), members)
    reader.known_keys(raw, TOP_KEYS, "")
    data_until = reader.date(raw, "data_until", "data_until", required=True)
    calibration = reader.relative_path(raw.get("calibration"), "calibration") or DEFAULT_CALIBRATION
    parameters = load_parameters(calibration)
    if "parameters" in raw:
        overrides = reader.table(raw, "parameters", "parameters")
        base = parameters.to_dict()
        merged = _merge(base, overrides)
        parameters = parameters_from_table(merged, path)
    shocks = tuple(
        reader.shock(entry, f"shocks[{i}]", data_until)
        for i, entry in enumerate(reader.list(raw, "shocks"))
    )
    votes = tuple(
        reader.vote(entry, f"votes[{i}]", data_until)
        for i, entry in enumerate(reader.list(raw, "votes"))
    )
    historical = reader.typed(raw, "historical_shocks", "historical_shocks", bool, False)
    seed = reader.typed(raw, "seed", "seed", int, 0)
    if seed < 0:
        raise reader.fail("seed", f"must be 0 or more, not {seed}")
    return Scenario(
        path=path,
        name=reader.typed(raw, "name", "name", str, path.stem),
        description=reader.typed(raw, "description", "description", str, ""),
        data_until=data_until,
        seed=seed,
        calibration=calibration,
        parameters=parameters,
        historical_shocks=historical,
        shocks=shocks,
        votes=votes,
        raw=raw,
        sha256=hashlib.sha256(content).hexdigest(),
    )


def load_historical_shocks(calibration: Path, members: pd.DataFrame) -> tuple[TimedShock, ...]:
    """The calibrated history (the US turn of 2025) kept in a calibration file's `[[shocks]]`.

    Any date is allowed: a world that starts after a shock has it in its record already, and
    the timeline leaves it out (`sim.model.agenda.shocks_by_step`)."""
    with calibration.open("rb") as handle:
        raw = tomllib.load(handle)
    reader = _Reader(calibration, frozenset(members["iso3"]), members)
    return tuple(
        reader.shock(entry, f"shocks[{i}]") for i, entry in enumerate(reader.list(raw, "shocks"))
    )


def scenario_shocks(scenario: Scenario, members: pd.DataFrame) -> tuple[TimedShock, ...]:
    """Every shock a scenario applies: the calibrated history if it asks for it, then its own."""
    history = (
        load_historical_shocks(scenario.calibration, members) if scenario.historical_shocks else ()
    )
    return (*history, *scenario.shocks)


def field_reader(path: Path, members: pd.DataFrame) -> _Reader:
    """The typed reader scenario files are checked with, for sections other modules own (the
    sweep's `[sweep]`), so that their mistakes read the same: file, dotted field, reason."""
    return _Reader(Path(path), frozenset(members["iso3"]), members)


def _merge(base: dict, overrides: Mapping) -> dict:
    merged = dict(base)
    for key, value in overrides.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


class _Reader:
    """Typed access to TOML values that reports the file and dotted field of any mistake."""

    def __init__(self, path: Path, known_iso3: frozenset[str], members: pd.DataFrame) -> None:
        self.path = path
        self.known_iso3 = known_iso3
        self.members = members

    def fail(self, field: str, reason: str) -> BlocsimError:
        return BlocsimError(reason, file=self.path, field=field)

    def known_keys(self, table: Mapping, allowed: set[str], where: str) -> None:
        for key in table:
            if key not in allowed:
                field = f"{where}.{key}" if where else key
                raise self.fail(
                    field, f"unknown key (expected one of: {', '.join(sorted(allowed))})"
                )

    def typed(self, table: Mapping, key: str, field: str, kind: type, default=None):
        if key not in table:
            return default
        value = table[key]
        ok = isinstance(value, kind) and not (kind in (int, float) and isinstance(value, bool))
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if not ok:
            raise self.fail(field, f"must be {_KIND_NAMES[kind]}, not {value!r}")
        return value

    def required(self, table: Mapping, key: str, field: str, kind: type):
        if key not in table:
            raise self.fail(field, "missing")
        return self.typed(table, key, field, kind)

    def number(
        self,
        table: Mapping,
        key: str,
        field: str,
        low: float,
        high: float,
        default=None,
        required: bool = False,
    ):
        if required and key not in table:
            raise self.fail(field, "missing")
        value = self.typed(table, key, field, float, default)
        if value is not None and not low <= value <= high:
            raise self.fail(field, f"must be between {low} and {high}, not {value}")
        return value

    def table(self, table: Mapping, key: str, field: str) -> Mapping:
        return self.typed(table, key, field, dict)

    def list(self, table: Mapping, key: str) -> list:
        entries = self.typed(table, key, key, list, [])
        for i, entry in enumerate(entries):
            if not isinstance(entry, dict):
                raise self.fail(f"{key}[{i}]", "must be a table ([[...]])")
        return entries

    def date(self, table: Mapping, key: str, field: str, required: bool = False) -> date | None:
        if key not in table:
            if required:
                raise self.fail(field, "missing")
            return None
        return self.date_value(table[key], field)

    def date_value(self, value: object, field: str) -> date:
        """A TOML date, or a YYYY-MM-DD string, as a date."""
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            raise self.fail(field, f"'{value}' is not a date (YYYY-MM-DD)") from None

    def relative_path(self, value: object, field: str) -> Path | None:
        if value is None:
            return None
        if not isinstance(value, str):
            raise self.fail(field, "must be a path")
        return (self.path.parent / value).resolve()

    def member(self, table: Mapping, key: str, field: str) -> str:
        code = self.required(table, key, field, str).upper()
        if code not in self.known_iso3:
            raise self.fail(field, f"unknown ISO3 code '{code}'")
        return code

    def members_of(self, table: Mapping, field: str) -> tuple[str, ...]:
        """`members = [ISO3, ...]` or `bloc = "eu"` (a bloc flag or a UN regional group)."""
        if ("members" in table) == ("bloc" in table):
            raise self.fail(field, "give exactly one of 'members' or 'bloc'")
        if "bloc" in table:
            bloc = self.required(table, "bloc", f"{field}.bloc", str)
            if bloc in BLOCS:
                chosen = self.members[self.members[bloc] == 1]
            elif bloc in UN_GROUPS:
                chosen = self.members[self.members["un_group"] == bloc]
            else:
                groups = ", ".join((*BLOCS, *UN_GROUPS))
                raise self.fail(f"{field}.bloc", f"unknown bloc '{bloc}' (one of: {groups})")
            return tuple(chosen["iso3"])
        codes = self.required(table, "members", f"{field}.members", list)
        for i, code in enumerate(codes):
            if not isinstance(code, str) or code.upper() not in self.known_iso3:
                raise self.fail(f"{field}.members[{i}]", f"unknown ISO3 code '{code}'")
        return tuple(code.upper() for code in codes)

    def shock(self, entry: Mapping, field: str, start: date | None = None) -> TimedShock:
        """A timed shock; with `start` (a scenario's `data_until`) one dated before it is an
        error rather than a shock the timeline would silently leave out."""
        kind = self.required(entry, "kind", f"{field}.kind", str)
        if kind not in _SHOCKS:
            raise self.fail(
                f"{field}.kind", f"unknown shock '{kind}' (one of: {', '.join(_SHOCKS)})"
            )
        keys, build = _SHOCKS[kind]
        self.known_keys(entry, {"kind", "date", *keys}, field)
        day = self.date(entry, "date", f"{field}.date", required=True)
        if start is not None and day < start:
            raise self.fail(
                f"{field}.date", f"{day} is before the scenario starts ({start}, data_until)"
            )
        return TimedShock(day, build(self, entry, field))

    def text(self, entry: Mapping, field: str, seats: int) -> TextSpec:
        sources = [key for key in ("cut_points", "like", "tally") if key in entry]
        if len(sources) != 1:
            raise self.fail(field, "give exactly one of 'cut_points', 'like' or 'tally'")
        polarity = self.typed(entry, "polarity", f"{field}.polarity", str, "same")
        if polarity not in POLARITIES:
            raise self.fail(f"{field}.polarity", f"must be one of {', '.join(POLARITIES)}")
        discrimination = self.number(entry, "discrimination", f"{field}.discrimination", 1e-3, 1e3)
        if "cut_points" in entry:
            pair = self.typed(entry, "cut_points", f"{field}.cut_points", list)
            if (
                len(pair) != 2
                or not all(isinstance(v, int | float) for v in pair)
                or pair[0] > pair[1]
            ):
                raise self.fail(f"{field}.cut_points", "must be [lower, upper] with lower <= upper")
            return TextSpec((float(pair[0]), float(pair[1])), None, None, polarity, discrimination)
        if "like" in entry:
            symbol = self.typed(entry, "like", f"{field}.like", str)
            try:
                like = resolution(symbol).symbol
            except KeyError:
                raise self.fail(
                    f"{field}.like",
                    f"unknown resolution '{symbol}' (known: {', '.join(RESOLUTIONS)})",
                ) from None
            return TextSpec(None, like, None, polarity, discrimination)
        text = self.typed(entry, "tally", f"{field}.tally", str)
        try:
            tally = Tally.parse(text, seats)
        except ValueError as error:
            raise self.fail(f"{field}.tally", str(error)) from None
        return TextSpec(None, None, tally, polarity, discrimination)

    def vote(self, entry: Mapping, field: str, start: date) -> VoteSpec:
        text_keys = {"cut_points", "like", "tally", "polarity", "discrimination"}
        self.known_keys(
            entry, {"name", "body", "date", "important", "amendments", *text_keys}, field
        )
        body = self.typed(entry, "body", f"{field}.body", str, "GA")
        if body not in BODIES:
            raise self.fail(f"{field}.body", "must be GA or SC")
        seats = SEATS[body]
        day = self.date(entry, "date", f"{field}.date", required=True)
        if day < start:
            raise self.fail(
                f"{field}.date", f"{day} is before the scenario starts ({start}, data_until)"
            )
        amendments = []
        for i, amendment in enumerate(self.list(entry, "amendments")):
            where = f"{field}.amendments[{i}]"
            self.known_keys(amendment, {"name", "shift", "amends_polarity", *text_keys}, where)
            polarity = self.typed(amendment, "amends_polarity", f"{where}.amends_polarity", str)
            if polarity is not None and polarity not in POLARITIES:
                raise self.fail(
                    f"{where}.amends_polarity", f"must be one of {', '.join(POLARITIES)}"
                )
            amendments.append(
                AmendmentSpec(
                    name=self.typed(amendment, "name", f"{where}.name", str, f"amendment {i + 1}"),
                    text=self.text(amendment, where, seats),
                    shift=self.number(amendment, "shift", f"{where}.shift", -100, 100, 0.0),
                    polarity=polarity,
                )
            )
        return VoteSpec(
            name=self.typed(entry, "name", f"{field}.name", str, f"vote {field}"),
            body=body,
            date=day,
            text=self.text(entry, field, seats),
            important=self.typed(entry, "important", f"{field}.important", bool, False),
            amendments=tuple(amendments),
        )


_KIND_NAMES = {
    str: "text",
    int: "a whole number",
    float: "a number",
    bool: "true or false",
    list: "a list",
    dict: "a table",
}


def _move_toward(reader: _Reader, entry: Mapping, field: str) -> Shock:
    return MoveToward(
        member=reader.member(entry, "member", f"{field}.member"),
        target=reader.member(entry, "target", f"{field}.target"),
        fraction=reader.number(entry, "fraction", f"{field}.fraction", -1.0, 2.0, required=True),
        hold=reader.number(entry, "hold", f"{field}.hold", 0.0, 1.0),
    )


def _shift(reader: _Reader, entry: Mapping, field: str) -> Shock:
    """`by = [d_1, ..., d_K]`: a move on each axis; its length is checked against the world's
    dimensions when the world is built (`sim.model.agenda.check_dimensions`)."""
    by = reader.required(entry, "by", f"{field}.by", list)
    if not by:
        raise reader.fail(f"{field}.by", "must list at least one number (one per axis)")
    return Shift(
        member=reader.member(entry, "member", f"{field}.member"),
        by=tuple(
            reader.number({"by": value}, "by", f"{field}.by[{i}]", -100.0, 100.0)
            for i, value in enumerate(by)
        ),
        hold=reader.number(entry, "hold", f"{field}.hold", 0.0, 1.0),
    )


def _set_stubbornness(reader: _Reader, entry: Mapping, field: str) -> Shock:
    value = reader.number(entry, "value", f"{field}.value", 0.0, 1.0, required=True)
    return SetStubbornness(reader.members_of(entry, field), value)


def _tie(kind: type) -> Callable[[_Reader, Mapping, str], Shock]:
    def build(reader: _Reader, entry: Mapping, field: str) -> Shock:
        member = reader.member(entry, "member", f"{field}.member")
        neighbour = reader.member(entry, "neighbour", f"{field}.neighbour")
        mutual = reader.typed(entry, "mutual", f"{field}.mutual", bool, True)
        if kind is CutTie:
            return CutTie(member, neighbour, mutual)
        share = reader.number(entry, "share", f"{field}.share", 0.0, 1.0, required=True)
        return AddTie(member, neighbour, share, mutual)

    return build


def _weaken_bloc(reader: _Reader, entry: Mapping, field: str) -> Shock:
    factor = reader.number(entry, "factor", f"{field}.factor", 0.0, 10.0, required=True)
    return WeakenCohesion(reader.members_of(entry, field), factor)


_SHOCKS: dict[str, tuple[set[str], Callable[[_Reader, Mapping, str], Shock]]] = {
    "move_toward": ({"member", "target", "fraction", "hold"}, _move_toward),
    "shift": ({"member", "by", "hold"}, _shift),
    "set_stubbornness": ({"members", "bloc", "value"}, _set_stubbornness),
    "cut_tie": ({"member", "neighbour", "mutual"}, _tie(CutTie)),
    "add_tie": ({"member", "neighbour", "share", "mutual"}, _tie(AddTie)),
    "weaken_bloc": ({"members", "bloc", "factor"}, _weaken_bloc),
}

"""Scenario files: TOML read into frozen dataclasses, every key checked on load.

A scenario says from which data the world starts (`data_until`), with which parameters, what
happens when (timed shocks), and which votes are held. Anything wrong is a `BlocsimError`
naming the file and the field (e.g. `votes[1].amendments[0].shift`). `docs/scenarios.md`
documents every key.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import pandas as pd

from sim.data.loader import BLOCS, BODIES, UN_GROUPS
from sim.data.resolutions import Tally
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
from sim.tomlfile import line_of, read_toml

SEATS = {"GA": 193, "SC": 15}
LAST_DATE = date(2099, 12, 31)  # any later date is beyond what the model speaks to
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
    """How a text's cut-points are set: given, or fitted to a tally (its own, else that of the
    roll call it is 'like'). `like` is the name as written: the data look it up
    (`sim.model.agenda.text_sources`), as the scenario is read without them."""

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
    document = read_toml(path, "scenario file")
    path, raw = document.path, document.table
    reader = _Reader(path, members, document.key_lines)
    reader.known_keys(raw, TOP_KEYS, "")
    data_until = reader.date(raw, "data_until", "data_until", required=True)
    calibration = reader.relative_path(raw.get("calibration"), "calibration") or DEFAULT_CALIBRATION
    parameters = load_parameters(calibration)
    load_historical_shocks(calibration, members)  # checked now, before any run directory exists
    if "parameters" in raw:
        overrides = reader.table(raw, "parameters", "parameters")
        merged = _merge(parameters.to_dict(), overrides)
        try:
            parameters = parameters_from_table(merged, path)
        except BlocsimError as error:
            raise reader.fail(error.field, error.reason) from None
    reader.alignment, reader.follows = load_alignment(calibration, members), followed(calibration)
    shocks = tuple(
        reader.shock(entry, f"shocks[{i}]", data_until)
        for i, entry in enumerate(reader.list(raw, "shocks"))
    )
    votes = tuple(
        reader.vote(entry, f"votes[{i}]", data_until)
        for i, entry in enumerate(reader.list(raw, "votes"))
    )
    reader.in_order(votes)
    historical = reader.typed(raw, "historical_shocks", "historical_shocks", bool, False)
    name = reader.typed(raw, "name", "name", str, path.stem)
    if "name" in raw and not re.fullmatch(r"\w[\w .-]{0,99}", name):
        raise reader.fail(
            "name",
            "must be a plain name for the run directory: at most 100 letters, digits, spaces, "
            "'_', '-' or '.', starting with a letter or digit",
        )
    seed = reader.typed(raw, "seed", "seed", int, 0)
    if seed < 0:
        raise reader.fail("seed", f"must be 0 or more, not {seed}")
    return Scenario(
        path=path,
        name=name,
        description=reader.typed(raw, "description", "description", str, ""),
        data_until=data_until,
        seed=seed,
        calibration=calibration,
        parameters=parameters,
        historical_shocks=historical,
        shocks=shocks,
        votes=votes,
        raw=raw,
        sha256=hashlib.sha256(document.content).hexdigest(),
    )


def load_historical_shocks(calibration: Path, members: pd.DataFrame) -> tuple[TimedShock, ...]:
    """The calibrated history (the US turn of 2025) kept in a calibration file's `[[shocks]]`.

    Any date is allowed: a world that starts after a shock has it in its record already, and
    the timeline leaves it out (`sim.model.agenda.shocks_by_step`)."""
    document = read_toml(calibration, "calibration file")
    reader = _Reader(document.path, members, document.key_lines)
    reader.alignment, reader.follows = load_alignment(calibration, members), followed(calibration)
    return tuple(
        reader.shock(entry, f"shocks[{i}]")
        for i, entry in enumerate(reader.list(document.table, "shocks"))
    )


def load_alignment(
    calibration: Path, members: pd.DataFrame
) -> Mapping[str, tuple[float, ...]] | None:
    """The members' alignment weights of a calibration file (`[alignment.weights]`: ISO3 =
    [one weight] or [one per axis]), which a `shift` with `aligned = true` carries to them;
    None if the file has none."""
    document = read_toml(calibration, "calibration file")
    reader = _Reader(document.path, members, document.key_lines)
    table = document.table.get("alignment")
    if table is None:
        return None
    table = reader.table(document.table, "alignment", "alignment")
    weights = reader.table(table, "weights", "alignment.weights")
    found: dict[str, tuple[float, ...]] = {}
    for iso3, values in weights.items():
        field = f"alignment.weights.{iso3}"
        if iso3 not in reader.known_iso3:
            raise reader.fail(field, f"unknown ISO3 code '{iso3}'")
        if not isinstance(values, list) or len(values) not in (1, 3):
            raise reader.fail(field, "must be a list of one weight or one per axis (three)")
        found[iso3] = tuple(
            reader.number({"w": value}, "w", f"{field}[{i}]", -100.0, 100.0)
            for i, value in enumerate(values)
        )
    return found


def followed(calibration: Path) -> str | None:
    """The member whose moves a calibration's alignment weights follow (`[alignment] follows`)."""
    table = read_toml(calibration, "calibration file").table.get("alignment")
    follows = table.get("follows") if isinstance(table, Mapping) else None
    return follows if isinstance(follows, str) else None


def fitted_on(calibration: Path) -> frozenset[str]:
    """The roll calls whose per-country votes a calibration file was fitted on (its
    `[fit] targets`, or its one `target`): a run's result on them is in sample."""
    fit = read_toml(calibration, "calibration file").table.get("fit", {})
    targets = fit.get("targets", [fit["target"]] if "target" in fit else [])
    return frozenset(str(t) for t in targets)


def scenario_shocks(scenario: Scenario, members: pd.DataFrame) -> tuple[TimedShock, ...]:
    """Every shock a scenario applies: the calibrated history if it asks for it, then its own."""
    history = (
        load_historical_shocks(scenario.calibration, members) if scenario.historical_shocks else ()
    )
    return (*history, *scenario.shocks)


def field_reader(path: Path, members: pd.DataFrame) -> _Reader:
    """The typed reader scenario files are checked with, for sections other modules own (the
    sweep's `[sweep]`), so that their mistakes read the same: file, line, dotted field, reason.
    (The file is read again for the lines of its keys.)"""
    return _Reader(Path(path), members, read_toml(path, "scenario file").key_lines)


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

    def __init__(self, path: Path, members: pd.DataFrame, key_lines: Mapping[str, int]) -> None:
        self.path = path
        self.known_iso3 = frozenset(members["iso3"])
        self.members = members
        self.key_lines = key_lines
        self.alignment: Mapping[str, tuple[float, ...]] | None = None  # of the calibration
        self.follows: str | None = None  # whose moves those weights follow

    def fail(self, field: str, reason: str) -> BlocsimError:
        """The error for `field`, on the line of its key (or of the nearest enclosing one)."""
        return BlocsimError(
            reason, file=self.path, field=field, line=line_of(self.key_lines, field)
        )

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
            value, ok = float(value), True
        if not ok:
            raise self.fail(field, f"must be {_KIND_NAMES[kind]}, not {value!r}")
        if kind is float and not math.isfinite(value):
            raise self.fail(field, f"must be a finite number, not {value}")
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
        """A TOML date, or a YYYY-MM-DD string, as a date (a date-time is refused, not cut)."""
        if isinstance(value, datetime):
            raise self.fail(field, f"must be a date (YYYY-MM-DD), not the date-time {value}")
        if isinstance(value, date):
            day = value
        elif isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value, re.ASCII):
            try:
                day = date.fromisoformat(value)
            except ValueError:
                raise self.fail(field, f"'{value}' is not a date (YYYY-MM-DD)") from None
        else:
            raise self.fail(field, f"{value!r} is not a date (YYYY-MM-DD)")
        if day > LAST_DATE:
            raise self.fail(field, f"{day} is after {LAST_DATE}, beyond what blocsim simulates")
        return day

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

    def in_order(self, votes: tuple[VoteSpec, ...]) -> None:
        """Votes listed in the order they are held, each under its own name: the tables of a
        run and the sweep's `question` find a vote by its name, in that order."""
        for i, vote in enumerate(votes[1:], start=1):
            earlier = votes[i - 1]
            if vote.date < earlier.date:
                raise self.fail(
                    f"votes[{i}].date",
                    f"{vote.date} is before votes[{i - 1}] ({earlier.date}): "
                    "list the votes in the order they are held",
                )
            names = [v.name for v in votes[:i]]
            if vote.name in names:
                raise self.fail(
                    f"votes[{i}].name",
                    f"'{vote.name}' already names votes[{names.index(vote.name)}]",
                )

    def pair(self, table: Mapping, field: str, other: str) -> tuple[str, str]:
        """`member` and a second, different state (a shock between a state and itself is a
        mistake: the dynamics would make it a tie to itself or a move to where it stands)."""
        member = self.member(table, "member", f"{field}.member")
        second = self.member(table, other, f"{field}.{other}")
        if second == member:
            raise self.fail(f"{field}.{other}", f"must be another state than the member {member}")
        return member, second

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
        if not codes:
            raise self.fail(f"{field}.members", "must name at least one state")
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
        sources = {key for key in ("cut_points", "like", "tally") if key in entry}
        if len(sources) != 1 and sources != {"like", "tally"}:
            raise self.fail(
                field, "give one of 'cut_points', 'like' or 'tally' (or 'like' with 'tally')"
            )
        polarity = self.typed(entry, "polarity", f"{field}.polarity", str, "same")
        if polarity not in POLARITIES:
            raise self.fail(f"{field}.polarity", f"must be one of {', '.join(POLARITIES)}")
        discrimination = self.number(entry, "discrimination", f"{field}.discrimination", 1e-3, 1e3)
        if "cut_points" in entry:
            pair = self.typed(entry, "cut_points", f"{field}.cut_points", list)
            if (
                len(pair) != 2
                or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in pair)
                or not all(math.isfinite(v) for v in pair)
                or pair[0] > pair[1]
            ):
                raise self.fail(
                    f"{field}.cut_points",
                    f"must be [lower, upper], finite numbers with lower <= upper, not {pair!r}",
                )
            return TextSpec((float(pair[0]), float(pair[1])), None, None, polarity, discrimination)
        like = self.typed(entry, "like", f"{field}.like", str)
        if like is not None and not like.strip():
            raise self.fail(f"{field}.like", "must name a roll call (e.g. A/RES/ES-11/7)")
        tally = None
        if "tally" in entry:
            text = self.typed(entry, "tally", f"{field}.tally", str)
            try:
                tally = Tally.parse(text, seats)
            except ValueError as error:
                raise self.fail(f"{field}.tally", str(error)) from None
        return TextSpec(None, like, tally, polarity, discrimination)

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
    member, target = reader.pair(entry, field, "target")
    return MoveToward(
        member=member,
        target=target,
        fraction=reader.number(entry, "fraction", f"{field}.fraction", -1.0, 2.0, required=True),
        hold=reader.number(entry, "hold", f"{field}.hold", 0.0, 1.0),
    )


def _shift(reader: _Reader, entry: Mapping, field: str) -> Shock:
    """`by = [d_1, ..., d_K]`: a move on each axis; its length is checked against the world's
    dimensions when the world is built (`sim.model.agenda.check_dimensions`). `aligned = true`:
    the members follow it by the calibration file's alignment weights."""
    by = reader.required(entry, "by", f"{field}.by", list)
    if not by:
        raise reader.fail(f"{field}.by", "must list at least one number (one per axis)")
    member = reader.member(entry, "member", f"{field}.member")
    followers: tuple[tuple[str, tuple[float, ...]], ...] = ()
    if reader.typed(entry, "aligned", f"{field}.aligned", bool, False):
        if reader.alignment is None:
            raise reader.fail(
                f"{field}.aligned",
                "the calibration file has no [alignment.weights] for members to follow by",
            )
        if reader.follows is not None and reader.follows != member:
            raise reader.fail(
                f"{field}.aligned",
                f"the calibration's alignment weights follow {reader.follows}, not {member}",
            )
        followers = tuple(
            (iso3, weights)
            for iso3, weights in reader.alignment.items()
            if iso3 != member and any(weights)
        )
    return Shift(
        member=member,
        by=tuple(
            reader.number({"by": value}, "by", f"{field}.by[{i}]", -100.0, 100.0)
            for i, value in enumerate(by)
        ),
        hold=reader.number(entry, "hold", f"{field}.hold", 0.0, 1.0),
        followers=followers,
    )


def _set_stubbornness(reader: _Reader, entry: Mapping, field: str) -> Shock:
    value = reader.number(entry, "value", f"{field}.value", 0.0, 1.0, required=True)
    return SetStubbornness(reader.members_of(entry, field), value)


def _tie(kind: type) -> Callable[[_Reader, Mapping, str], Shock]:
    def build(reader: _Reader, entry: Mapping, field: str) -> Shock:
        member, neighbour = reader.pair(entry, field, "neighbour")
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
    "shift": ({"member", "by", "hold", "aligned"}, _shift),
    "set_stubbornness": ({"members", "bloc", "value"}, _set_stubbornness),
    "cut_tie": ({"member", "neighbour", "mutual"}, _tie(CutTie)),
    "add_tie": ({"member", "neighbour", "share", "mutual"}, _tie(AddTie)),
    "weaken_bloc": ({"members", "bloc", "factor"}, _weaken_bloc),
}

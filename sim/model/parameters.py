"""The model's free parameters: few on purpose, fitted by `blocsim calibrate`, kept in TOML.

A parameter set is the tie-type weights of the influence network, how stubborn members are
(a baseline, with overrides for blocs or regional groups), the length of one step, how ties
weaken as members part ways (`parting`, `turn_cost`: `sim.model.dynamics`), how
sharply positions decide votes (`discrimination` of the ordered logit when a text's cut-points
are fitted to a tally; `blocsim calibrate` fits it with the rest), and which positions the world
starts from (`dimensions`: 3, the ideal points, the default; 1, the Ukraine-axis estimate, an
ablation no shipped scenario uses).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pandas as pd

from sim.data.loader import BLOCS, UN_GROUPS
from sim.errors import BlocsimError
from sim.model.network import TieWeights
from sim.tomlfile import line_of, read_toml

STUBBORNNESS_GROUPS = (*BLOCS, *UN_GROUPS)
MAX_STEP_DAYS = 366  # a step of a year at most: the calendar of a run stays within dates
DIMENSIONS = (1, 3)  # the Ukraine-axis estimate, the ideal points (general, ukraine, third)


@dataclass(frozen=True)
class Parameters:
    """Tie weights, stubbornness (baseline and per-group overrides), days per step, the
    discrimination of fitted texts, parting and the world's dimensions (`DIMENSIONS`)."""

    ties: TieWeights = TieWeights()
    stubbornness: float = 0.5
    stubbornness_by_group: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    step_days: int = 7
    discrimination: float = 1.0
    parting: float = 0.0  # how fast a tie weakens as two members part (0: Friedkin-Johnsen)
    turn_cost: float = 0.0  # share of the attention a member loses when a shock moves it
    dimensions: int = 3

    def __post_init__(self) -> None:
        """Every way of making parameters (calibration file, scenario, sweep, app) passes here,
        so a value the dynamics cannot use never reaches them; the field is named dotted."""
        for name, value in (
            ("stubbornness", self.stubbornness),
            *((f"stubbornness_by_group.{g}", v) for g, v in self.stubbornness_by_group.items()),
        ):
            if not 0 < value <= 1:
                raise BlocsimError(f"must be above 0 and at most 1, not {value}", field=name)
        for tie in fields(TieWeights):
            value = getattr(self.ties, tie.name)
            if not 0 <= value < math.inf:
                raise BlocsimError(
                    f"must be a finite number >= 0, not {value}", field=f"ties.{tie.name}"
                )
        if isinstance(self.step_days, bool) or not isinstance(self.step_days, int | np.integer):
            raise BlocsimError(
                f"must be a whole number of days, not {self.step_days!r}", field="step_days"
            )
        if not 1 <= self.step_days <= MAX_STEP_DAYS:
            raise BlocsimError(
                f"must be between 1 and {MAX_STEP_DAYS}, not {self.step_days}", field="step_days"
            )
        if not 0 <= self.parting < math.inf:
            raise BlocsimError(f"must be a finite number >= 0, not {self.parting}", field="parting")
        if not 0 <= self.turn_cost < 1:
            raise BlocsimError(
                f"must be at least 0 and below 1, not {self.turn_cost}", field="turn_cost"
            )
        if not 0 < self.discrimination < math.inf:
            raise BlocsimError(
                f"must be a finite number above 0, not {self.discrimination}",
                field="discrimination",
            )
        if isinstance(self.dimensions, bool) or self.dimensions not in DIMENSIONS:
            raise BlocsimError(
                f"must be 1 (the Ukraine-axis estimate) or 3 (the ideal points), "
                f"not {self.dimensions!r}",
                field="dimensions",
            )

    def member_stubbornness(self, members: pd.DataFrame) -> np.ndarray:
        """Stubbornness (N,) of each member: the baseline, overridden group by group in order."""
        values = np.full(len(members), self.stubbornness)
        for group, value in self.stubbornness_by_group.items():
            values[group_mask(members, group)] = value
        return values

    def to_dict(self) -> dict:
        return {
            "ties": asdict(self.ties),
            "stubbornness": self.stubbornness,
            "stubbornness_by_group": dict(self.stubbornness_by_group),
            "step_days": self.step_days,
            "discrimination": self.discrimination,
            "parting": self.parting,
            "turn_cost": self.turn_cost,
            "dimensions": self.dimensions,
        }

    def with_values(self, values: Mapping[str, float]) -> Parameters:
        """A copy with dotted names set, e.g. {'ties.alliance': 2.0, 'stubbornness_by_group.eu': 0.9}."""
        result = self
        for name, value in values.items():
            head, _, rest = name.partition(".")
            if head == "ties" and rest in {f.name for f in fields(TieWeights)}:
                result = replace(result, ties=replace(result.ties, **{rest: float(value)}))
            elif head == "stubbornness_by_group" and rest in STUBBORNNESS_GROUPS:
                groups = {**result.stubbornness_by_group, rest: float(value)}
                result = replace(result, stubbornness_by_group=MappingProxyType(groups))
            elif name == "stubbornness":
                result = replace(result, stubbornness=float(value))
            elif name == "step_days":
                whole = isinstance(value, int | np.integer) or float(value).is_integer()
                result = replace(result, step_days=int(value) if whole else value)
            elif name in {"discrimination", "parting", "turn_cost"}:
                result = replace(result, **{name: float(value)})
            elif name == "dimensions":
                whole = isinstance(value, int | np.integer) or float(value).is_integer()
                result = replace(result, dimensions=int(value) if whole else value)
            else:
                raise KeyError(name)
        return result


def parameter_keys(name: str) -> list[str]:
    """The keys a `[parameters]` table accepts where the dotted `name` stands: the tie types
    under `ties`, the groups under `stubbornness_by_group`, else the top-level names."""
    head, dot, _ = name.partition(".")
    if dot and head == "ties":
        return sorted(f.name for f in fields(TieWeights))
    if dot and head == "stubbornness_by_group":
        return sorted(STUBBORNNESS_GROUPS)
    return sorted(f.name for f in fields(Parameters))


def group_mask(members: pd.DataFrame, group: str) -> np.ndarray:
    """(N,) bool: the members of a bloc flag (e.g. 'eu') or a UN regional group."""
    column = members["un_group"] == group if group in UN_GROUPS else members[group] == 1
    return column.to_numpy()


def parameters_from_table(table: Mapping, file: object, prefix: str = "parameters") -> Parameters:
    """Read a `[parameters]` TOML table, naming the file and field of anything wrong."""
    flat: dict[str, float] = {}
    for key, value in table.items():
        if isinstance(value, Mapping):
            flat.update({f"{key}.{inner}": v for inner, v in value.items()})
        else:
            flat[key] = value
    for name, value in flat.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise BlocsimError("must be a number", file=file, field=f"{prefix}.{name}")
    try:
        return Parameters().with_values(flat)
    except KeyError as error:
        name = error.args[0]
        raise BlocsimError(
            f"unknown key (expected one of: {', '.join(parameter_keys(name))})",
            file=file,
            field=f"{prefix}.{name}",
        ) from None
    except BlocsimError as error:
        raise BlocsimError(error.reason, file=file, field=f"{prefix}.{error.field}") from None


def load_parameters(path: Path) -> Parameters:
    """The `[parameters]` table of a calibration file."""
    document = read_toml(path, "calibration file")
    table = document.table.get("parameters")
    if not isinstance(table, Mapping):
        raise BlocsimError(
            "missing table: not a calibration file (see calibration/default.toml)",
            file=path,
            field="parameters",
        )
    try:
        return parameters_from_table(table, path)
    except BlocsimError as error:
        line = line_of(document.key_lines, error.field)
        raise BlocsimError(error.reason, file=path, field=error.field, line=line) from None

"""Why a member moved, in words: a member's rows of `explain.csv` (or of the app's model),
its largest parts named and the rest summed, for `blocsim explain`, the report and the app.

The parts are those of `sim.model.explain`: through each tie, what the partner's own move
passed on to the member, carried over the steps; they add up to its move (see docs/model.md,
"Why a state moved").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from sim.errors import BlocsimError
from sim.model.explain import DIRECT, OWN
from sim.results import read_manifest

EXPLAIN_FILE = "explain.csv"
DEFAULT_TOP = 3  # neighbours named per shock; the rest are summed
OTHERS = "others"  # the part of the neighbours not named


def read_explanation(directory: str | Path) -> tuple[pd.DataFrame, dict]:
    """A run directory's `explain.csv` and the manifest's note of what `toward` means."""
    directory = Path(directory)
    manifest = read_manifest(directory)
    path = directory / EXPLAIN_FILE
    about = manifest.get("explain", {})
    if "skipped" in about:
        raise BlocsimError(f"this run was not explained: {about['skipped']}", file=directory)
    if not path.is_file():
        raise BlocsimError(
            f"no {EXPLAIN_FILE}: not a run directory, or one written before blocsim explained "
            "runs (run the scenario again)",
            file=directory,
        )
    table = pd.read_csv(path, keep_default_na=False, na_values=[""])
    return table, about


def member_parts(
    table: pd.DataFrame, iso3: str, top: int = DEFAULT_TOP, followed: Mapping | None = None
) -> pd.DataFrame:
    """One member's parts, shock by shock: the moves shocks made to it (where not zero), the
    `top` neighbours that moved it most either way (0: all), its own anchor, and the other
    neighbours summed in one row (`via` "N others"). Columns as `explain.csv`, plus `part`
    (direct, via, own or others) and `words`; none for a run without shocks. `followed`: the
    manifest's alignment (ISO3 -> the member it follows and its weights), which names the
    weights behind a direct part."""
    if table.empty:
        return table.assign(part=[], words=[])
    rows = table[table["iso3"] == iso3]
    if rows.empty:
        known = table["iso3"].nunique()
        raise BlocsimError(f"no member {iso3} in this run ({known} members)", field="ISO3")
    numbers = [c for c in rows.columns if c not in ("iso3", "shock", "via")]
    parts = []
    for shock, group in rows.groupby("shock", sort=False):
        direct = group[(group["via"] == DIRECT) & (group[numbers] != 0).any(axis=1)]
        ties = group[~group["via"].isin((DIRECT, OWN))]
        order = ties["toward"].abs().sort_values(ascending=False, kind="stable").index
        named, rest = (
            (ties, ties.iloc[:0]) if top == 0 else (ties.loc[order[:top]], ties.loc[order[top:]])
        )
        own = group[group["via"] == OWN]
        parts += [direct.assign(part=DIRECT), named.assign(part="via"), own.assign(part=OWN)]
        if not rest.empty:
            others = rest[numbers].sum().to_frame().T
            parts.append(
                others.assign(iso3=iso3, shock=shock, via=f"{len(rest)} {OTHERS}", part=OTHERS)
            )
    shown = pd.concat(parts, ignore_index=True)[[*rows.columns, "part"]]
    follows = (followed or {}).get(iso3)
    axes = [c for c in numbers if c != "toward"]
    shown["words"] = [
        part_words(via, toward, follows, axes)
        for via, toward in zip(shown["via"], shown["toward"], strict=True)
    ]
    return shown


def part_words(
    via: str, toward: float, follows: Mapping | None = None, axes: Sequence[str] = ()
) -> str:
    """What a part is: 'via PRY', 'from its own anchor and stubbornness', 'moved by the shock
    itself', or for a member that follows a shift by its own weights (`follows`: the member
    it follows and its weights; the follow moves its anchor too, so its own part is the
    follow) 'followed the USA turn, alignment weight 0.45'."""
    if via in (DIRECT, OWN) and follows is not None:
        weights = follows["weights"]
        named = (
            f"alignment weight {weights[0]:.2f}"
            if len(weights) == 1
            else "alignment weights "
            + ", ".join(f"{w:+.2f} {axis}" for w, axis in zip(weights, axes, strict=False))
        )
        return f"followed the {follows['follows']} turn, {named}"
    if via == DIRECT:
        return "moved by the shock itself"
    if via == OWN:
        return "from its own anchor and stubbornness"
    return f"via {via}"


def headline(parts: pd.DataFrame, iso3: str, toward: str) -> str:
    """'ARG moved +0.29 toward USA' from a member's parts (their `toward` adds up)."""
    way = "along its own move" if toward == iso3 else f"toward {toward}"
    return f"{iso3} moved {parts['toward'].sum():+.2f} {way}"


def sentence(parts: pd.DataFrame) -> str:
    """The parts of one shock as a clause: '+0.22 via USA, +0.05 via PRY, ...'."""
    return ", ".join(f"{t:+.2f} {w}" for t, w in zip(parts["toward"], parts["words"], strict=True))


def explanation_lines(parts: pd.DataFrame, iso3: str, about: dict) -> list[str]:
    """`blocsim explain`'s table format: the headline, then each shock's parts, one a line."""
    if parts.empty:
        return [f"{iso3} did not move: the run has no shocks."]
    toward = about.get("toward", "the shocked state")
    until = f" by {about['date']} (step {about['step']})" if "step" in about else ""
    lines = [f"{headline(parts, iso3, toward)}{until}; what each tie passed on:"]
    for shock, group in parts.groupby("shock", sort=False):
        lines.append(f"  {shock}: {group['toward'].sum():+.3f}")
        lines += [
            f"    {t:+8.3f}  {w}" for t, w in zip(group["toward"], group["words"], strict=True)
        ]
    return lines

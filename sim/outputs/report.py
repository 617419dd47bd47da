"""`blocsim report DIR`: figures and tables for a paper from a run or sweep directory.

The report reads the directory's files only (the run-directory contract in `sim.model.run` and
`sim.sweep.runner`) and knows nothing of how they were made. Each figure is drawn from a table
written beside it (`<figure>.csv`), so what a reader sees is what the table says. Everything
lands in `DIR/report/`, staged under a hidden name and renamed into place when complete.

    >>> write_report(Path("results/us_realignment-run-..."))   # -> .../report
"""

from __future__ import annotations

import json
import os
import re
import shutil
import textwrap
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.data.followers import DEFAULT_SINCE, US_TURN, movers
from sim.errors import BlocsimError
from sim.model.run import recorded_vote
from sim.model.voting import SC_REQUIRED_YES
from sim.outputs import figures
from sim.outputs.explanation import EXPLAIN_FILE, member_parts
from sim.results import read_manifest
from sim.sweep.sensitivity import analyze_sweep
from sim.sweep.summary import parameter_list_words, parameter_words, status_quo_words

REPORT_NAME = "report"
FLIPS_SHOWN = 20
FOLLOWERS_SHOWN = 8  # members shown each way in the followers figure


@dataclass
class Section:
    """One part of the report: a figure and/or a table, and the words that explain them."""

    title: str
    text: str
    figure: str | None = None
    tables: list[str] = field(default_factory=list)


@dataclass
class Report:
    """What the report holds, written into a staging folder as it is built."""

    folder: Path
    source: str
    scenario: dict = field(default_factory=dict)  # the directory's scenario.toml, as read
    sections: list[Section] = field(default_factory=list)
    readable: dict[str, pd.DataFrame] = field(default_factory=dict)  # shown instead of a CSV

    def words(self, parameter: str) -> str:
        """A swept parameter named by what it means in this scenario."""
        return parameter_words(parameter, self.scenario.get("shocks", ()))

    def figure(self, name: str, drawn: Figure, data: pd.DataFrame) -> str:
        """PNG and SVG of a figure, and the table it was drawn from beside it."""
        drawn.savefig(self.folder / f"{name}.png", dpi=200)
        drawn.savefig(self.folder / f"{name}.svg", metadata={"Date": None})
        data.to_csv(self.folder / f"{name}.csv", index=False, lineterminator="\n")
        return name

    def table(
        self,
        name: str,
        table: pd.DataFrame,
        caption: str,
        readable: pd.DataFrame | None = None,
        latex: str | None = None,
    ) -> str:
        """A table as CSV and as a LaTeX tabular for the paper; `readable`, when given, is
        what report.md shows (fewer, wider columns) and `latex` the .tex written, the CSV
        keeping every column."""
        table.to_csv(self.folder / f"{name}.csv", index=False, lineterminator="\n")
        if readable is not None:
            self.readable[name] = readable
        if latex is None:
            latex = latex_table(table, caption, f"tab:{name}")
        (self.folder / f"{name}.tex").write_text(latex)
        return name


def latex_table(table: pd.DataFrame, caption: str, label: str, columns: str | None = None) -> str:
    """A LaTeX table, its text escaped (a "%" or "_" in a cell is text, not LaTeX) and an
    empty cell where there is nothing; `columns` the column format (default: one "l" each)."""
    return table.to_latex(
        index=False,
        caption=caption,
        label=label,
        float_format="%.3g",
        na_rep="",
        escape=True,
        column_format=columns,
    )


def write_report(directory: str | Path, force: bool = False) -> Path:
    """Write `directory/report/` for a run or sweep directory; replace one only if `force`."""
    directory = Path(directory)
    manifest = read_manifest(directory)
    kind = manifest.get("kind")
    if kind not in BUILDERS:
        raise BlocsimError(f"cannot report on a directory of kind '{kind}'", file=directory)
    out = directory / REPORT_NAME
    if out.exists() and not force:
        raise BlocsimError("a report already exists; pass --force to replace it", file=out)
    staging = directory / f".{REPORT_NAME}.partial-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        scenario = _scenario(directory)
        report = Report(staging, source_line(manifest, scenario), scenario)
        BUILDERS[kind](directory, report)
        _write_markdown(report, manifest, scenario)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if out.exists():
        retired = directory / f".{REPORT_NAME}.old-{os.getpid()}"
        out.rename(retired)
        staging.rename(out)
        shutil.rmtree(retired, ignore_errors=True)
    else:
        staging.rename(out)
    return out


def source_line(manifest: dict, scenario: dict) -> str:
    """The credit every figure carries: the UN's records, blocsim, and the scenario."""
    version = manifest.get("packages", {}).get("blocsim", "")
    name = scenario.get("name") or manifest.get("scenario", {}).get("name", "unnamed")
    return (
        "Source: United Nations voting records (UN Digital Library); "
        f"blocsim {version} simulation, scenario '{name}'."
    )


def _scenario(directory: Path) -> dict:
    path = directory / "scenario.toml"
    if not path.is_file():
        return {}
    try:
        return tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as error:
        raise BlocsimError(f"not valid TOML ({error})", file=path) from None


def _read(directory: Path, name: str, required: bool = True) -> pd.DataFrame | None:
    path = directory / name
    if not path.is_file():
        if required:
            raise BlocsimError(f"missing {name}: not a complete run directory", file=directory)
        return None
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    return pd.read_csv(path, keep_default_na=False, na_values=[""])


# --- tallies ---------------------------------------------------------------------------------


def threshold_table(tallies: pd.DataFrame) -> pd.DataFrame:
    """Each vote's tally with the mark Yes had to pass, and the verdict in words.

    GA: half (or two thirds) of those present and voting; SC: nine. Two thirds where the
    `important` column says so (a sweep's runs), else where the `rule` column names it (a
    run's tallies). A veto is named from the tallies' reason column ("vetoed by RUS").
    """
    table = tallies.copy()
    voting = table["yes"] + table["no"]
    if "important" in table:
        two_thirds = table["important"].astype(bool)
    else:
        two_thirds = table["rule"].str.contains("two-thirds", case=False)
    table["threshold"] = np.where(
        table["body"] == "SC",
        float(SC_REQUIRED_YES),
        np.where(two_thirds, voting * 2 / 3, voting / 2),
    )
    reason = table["reason"].fillna("")
    table["veto"] = np.where(
        reason.str.startswith("vetoed by"), reason.str.removeprefix("vetoed by "), ""
    )
    table["verdict"] = [
        f"VETOED ({veto})" if veto else ("adopted" if adopted else "not adopted")
        for veto, adopted in zip(table["veto"], table["adopted"].astype(bool), strict=True)
    ]
    table["label"] = [
        f"{vote}\namendment: {name}" if on == "amendment" else vote
        for vote, name, on in zip(table["vote"], table["name"], table["on"], strict=True)
    ]
    return table


# --- run directories -------------------------------------------------------------------------


def _build_run(directory: Path, report: Report) -> None:
    tallies = _with_record(threshold_table(_read(directory, "tallies.csv")))
    seeds = _read(directory, "seeds.csv", required=False)
    tallies = _with_seed_spread(tallies, seeds)
    columns = ["date", "body", "vote", "on", "name", "yes", "no", "abstain", "not_voting"]
    extra = [c for c in tallies.columns if c.startswith(("recorded_", "yes_q", "no_q"))]
    shown = tallies[[*columns, "threshold", "verdict", *extra]]
    readable = readable_tallies(shown)
    spread = (
        f" Whiskers: the 10th to 90th percentile of Yes and of No over the "
        f"{seeds['seed'].nunique()} seeds of `seeds.csv`; the verdict counts the seeds that "
        "adopted it."
        if seeds is not None
        else " One seed: run `blocsim run --seeds N` to see how far the draws scatter."
    )
    report.sections.append(
        Section(
            "Each vote against its adoption threshold",
            "Tallies drawn by the run's first seed (each member's vote is a random draw around "
            "its probabilities); the black mark is what Yes had to pass. Where the vote is a "
            "real one, the thin bar under it is the official record "
            f"(`sim/data/resolutions.py`).{spread}",
            report.figure("tallies", figures.tally_figure(tallies, report.source), tallies),
            [
                report.table(
                    "tally_table",
                    shown,
                    "Simulated tallies and adoption thresholds",
                    readable,
                    tally_latex(readable, "Simulated tallies and adoption thresholds"),
                )
            ],
        )
    )
    expected = _read(directory, "expected.csv", required=False)
    if expected is not None:
        texts = _yes_no_abstain(expected[expected["on"] == "text"].reset_index(drop=True))
        held = tallies[tallies["on"] == "text"][["vote", "date", "yes", "no", "abstain"]]
        turns = _turns(directory)
        subjects = dict(zip(tallies["vote"], tallies["subject"], strict=True))
        marked = (
            " Dashed red line: "
            + "; ".join(turns["label"])
            + ". A shock acts in the model's step that contains its date (the step from "
            "its grid date to the next, `docs/model.md`)."
            if not turns.empty
            else ""
        )
        report.sections.append(
            Section(
                "Expected votes over time",
                "How each text would have fared had it been put to the vote that week "
                "(expected counts at that week's positions; Yes, No, Abstain and Not voting "
                "add up to the chamber); open markers: the vote as held."
                f"{marked}",
                report.figure(
                    "trajectory",
                    figures.trajectory_figure(
                        texts, report.source, held=held, turns=turns, subjects=subjects
                    ),
                    texts,
                ),
            )
        )
    _network_section(directory, report, tallies)
    _map_sections(directory, report, tallies)
    _followers_section(directory, report)
    _explain_section(directory, report)


def _with_record(tallies: pd.DataFrame) -> pd.DataFrame:
    """The tallies with the official record of each real text beside them (`recorded_*`,
    empty where the vote is not a real one) and a few words on its subject (`subject`: the
    record's, else the vote's name); the labels of real texts carry the subject."""
    records = [
        recorded_vote(vote, day) if on == "text" else None
        for vote, day, on in zip(tallies["vote"], tallies["date"], tallies["on"], strict=True)
    ]
    table = tallies.copy()
    for kind in ("yes", "no", "abstain", "not_voting"):
        table[f"recorded_{kind}"] = [
            getattr(r.tally, kind) if r is not None else np.nan for r in records
        ]
    by_vote = {v: r.subject for v, r in zip(table["vote"], records, strict=True) if r is not None}
    table["subject"] = [by_vote.get(vote, "") for vote in table["vote"]]
    table["label"] = [
        f"{label}\n{textwrap.shorten(by_vote[vote], 90)}"
        if on == "text" and vote in by_vote
        else label
        for label, vote, on in zip(table["label"], table["vote"], table["on"], strict=True)
    ]
    table["verdict"] = "drawn: " + table["verdict"]
    return table


def _with_seed_spread(tallies: pd.DataFrame, seeds: pd.DataFrame | None) -> pd.DataFrame:
    """The 10-90 % range of Yes and No over seeds, and how many seeds adopted each ballot."""
    if seeds is None:
        return tallies
    grouped = seeds.groupby(["vote", "name"], sort=False)
    spread = pd.DataFrame(
        {
            "yes_q10": grouped["yes"].quantile(0.1),
            "yes_q90": grouped["yes"].quantile(0.9),
            "no_q10": grouped["no"].quantile(0.1),
            "no_q90": grouped["no"].quantile(0.9),
            "adopted_in": grouped["adopted"].sum().astype(int),
            "seeds": grouped["seed"].nunique(),
        }
    ).reset_index()
    table = tallies.merge(spread, on=["vote", "name"], how="left", validate="one_to_one")
    table["verdict"] = [
        f"{verdict}\n{k} of {n} seeds adopted it"
        for verdict, k, n in zip(table["verdict"], table["adopted_in"], table["seeds"], strict=True)
    ]
    return table


# The readable tally table on a page: two LaTeX tables of these columns, text wrapped where it
# is long (others "l").
TALLY_LATEX_PARTS = (
    ("date", "body", "ballot", "drawn Y-N-A (X)", "threshold", "verdict"),
    ("date", "ballot", "record Y-N-A (X)", "Yes 10-90 %", "No 10-90 %"),
)
TALLY_COLUMNS = {"ballot": "p{3.8cm}", "threshold": "r", "verdict": "p{2.8cm}"}


def tally_latex(readable: pd.DataFrame, caption: str) -> str:
    """The readable tally table as two LaTeX tables that each fit a page: the drawn tallies
    and their verdicts, then the record and the spread over seeds beside them."""
    parts = []
    for number, wanted in enumerate(TALLY_LATEX_PARTS, start=1):
        columns = [column for column in wanted if column in readable]
        if number > 1 and len(columns) <= 2:  # no record and no seeds: nothing to add
            break
        parts.append(
            latex_table(
                readable[columns],
                f"{caption} ({'drawn' if number == 1 else 'the record and the spread over seeds'})",
                f"tab:tally_table{'' if number == 1 else '_record'}",
                "".join(TALLY_COLUMNS.get(column, "l") for column in columns),
            )
        )
    return "\n".join(parts)


def readable_tallies(shown: pd.DataFrame) -> pd.DataFrame:
    """The tally table as a reader takes it in (report.md, LaTeX): counts written Yes-No-Abstain
    (not voting), the record beside them where there is one, the 10-90 % range over seeds;
    nine columns instead of nineteen (tally_table.csv keeps them all)."""

    def counts(prefix: str, row: pd.Series) -> str:
        if pd.isna(row.get(f"{prefix}yes")):
            return ""
        yes, no, abstain, absent = (
            int(row[f"{prefix}{kind}"]) for kind in ("yes", "no", "abstain", "not_voting")
        )
        return f"{yes}-{no}-{abstain} ({absent})"

    def spread(row: pd.Series, kind: str) -> str:
        if pd.isna(row.get(f"{kind}_q10")):
            return ""
        return f"{row[f'{kind}_q10']:.0f}-{row[f'{kind}_q90']:.0f}"

    rows = []
    for _, row in shown.iterrows():
        ballot = row["vote"] if row["on"] == "text" else f"{row['vote']}, amendment: {row['name']}"
        rows.append(
            {
                "date": row["date"],
                "body": row["body"],
                "ballot": ballot,
                "drawn Y-N-A (X)": counts("", row),
                "threshold": f"{row['threshold']:.3g}",
                "verdict": row["verdict"].replace("\n", "; "),
                "record Y-N-A (X)": counts("recorded_", row),
                **(
                    {"Yes 10-90 %": spread(row, "yes"), "No 10-90 %": spread(row, "no")}
                    if "yes_q10" in shown
                    else {}
                ),
            }
        )
    return pd.DataFrame(rows)


def _turns(directory: Path) -> pd.DataFrame:
    """The shocks of the run (`shocks.csv`) as the date the scenario gives them and their
    label, e.g. "USA turns toward RUS (2025-01-20; acts at the step of 2025-01-14)"."""
    shocks = _read(directory, "shocks.csv", required=False)
    if shocks is None or shocks.empty:
        return pd.DataFrame(columns=["date", "label"])
    if "label" not in shocks:  # a run directory written before shocks.csv had labels
        shocks["label"] = [
            f"{member} turns toward {target} ({day})"
            if kind == "MoveToward"
            else f"{kind} {member} ({day})".replace("  ", " ")
            for kind, member, target, day in zip(
                shocks["kind"],
                shocks["member"].fillna(""),
                shocks["target"].fillna(""),
                shocks["date"],
                strict=True,
            )
        ]
    return shocks[["date", "label"]]


def member_labels(members: pd.DataFrame, width: int) -> list[str]:
    """'Name (ISO3)' for each row of a table with name and iso3, the name shortened to `width`."""
    return [
        f"{textwrap.shorten(name, width, placeholder='…')} ({iso3})"
        for name, iso3 in zip(members["name"], members["iso3"], strict=True)
    ]


def _followers_section(directory: Path, report: Report) -> None:
    """The observed record the run's data holds: the members that moved most toward the US,
    and most away from it, after its turn (`followers.csv`, written by `blocsim run`)."""
    table = _read(directory, "followers.csv", required=False)
    if table is None:
        return
    toward, away = movers(table, FOLLOWERS_SHOWN)
    shown = pd.concat([toward, away.iloc[::-1]], ignore_index=True)
    if shown.empty:
        return
    shown = shown.assign(label=member_labels(shown, 28))
    report.sections.append(
        Section(
            "Who followed the US (the record)",
            f"Observed, not simulated: on the roll calls where the US voted against at least "
            f"two thirds of the members voting (from {DEFAULT_SINCE}), the share each member "
            f"voted on where it voted as the US did, before and after {US_TURN}; the "
            f"{len(toward)} members that moved most toward the US (top) and the {len(away)} "
            "that moved most away (bottom). `blocsim data followers` gives every member.",
            report.figure(
                "followers",
                figures.followers_figure(shown, report.source, US_TURN.isoformat()),
                shown,
            ),
        )
    )


MOVERS_EXPLAINED = 10  # members in the figure of why they moved


def _explain_section(directory: Path, report: Report) -> None:
    """Why the members the shocks reached through their ties moved (`explain.csv`): the
    `MOVERS_EXPLAINED` that moved most either way, each one's parts stacked."""
    table = _read(directory, EXPLAIN_FILE, required=False)
    if table is None:
        return
    about = read_manifest(directory).get("explain", {})
    toward = about.get("toward", "the shocked state")
    axes = [c for c in table.columns if c not in ("iso3", "shock", "via", "toward")]
    own = table["via"].isin(["direct", "own"])  # exactly 0 for a member no shock touched itself
    shocked = set(table.loc[own & (table[axes] != 0).any(axis=1), "iso3"])
    moved = table[~table["iso3"].isin(shocked)].groupby("iso3", sort=False)["toward"].sum()
    chosen = moved.abs().sort_values(ascending=False, kind="stable").index[:MOVERS_EXPLAINED]
    if chosen.empty:
        return
    members = _read(directory, "members.csv", required=False)
    names = dict(zip(members["iso3"], members["name"], strict=True)) if members is not None else {}
    shown = explain_rows(table, list(chosen), names)
    report.sections.append(
        Section(
            "Why the members moved",
            f"The {len(chosen)} members that moved most toward (or away from) {toward}, not "
            "counting the states a shock moved itself: each member's move from the first step "
            "to the last, split exactly into parts (`blocsim explain`, docs/model.md): through "
            "each neighbour it listens to (the three largest named, the rest together), and "
            "its own anchor; coloured by shock (Shapley values). A part via a neighbour is what "
            "that neighbour's own move passed on; the diamond is the net move they add up to.",
            report.figure("explain", figures.explain_figure(shown, report.source, toward), shown),
        )
    )


def explain_rows(table: pd.DataFrame, chosen: list[str], names: dict[str, str]) -> pd.DataFrame:
    """The figure's table: each chosen member's parts with where its bar starts (`left`:
    positive parts stacked right of 0, negative ones left of it)."""
    frames = []
    for iso3 in chosen:
        parts = member_parts(table, iso3)
        parts = parts[parts["toward"] != 0]
        ends = {True: 0.0, False: 0.0}
        left = []
        for value in parts["toward"]:
            left.append(ends[value >= 0])
            ends[value >= 0] += value
        label = member_labels(pd.DataFrame({"name": [names.get(iso3, iso3)], "iso3": [iso3]}), 28)
        frames.append(
            pd.DataFrame(
                {
                    "label": label[0],
                    "iso3": iso3,
                    "shock": parts["shock"].to_numpy(),
                    "kind": parts["part"].to_numpy(),
                    "name": [
                        via if part in ("via", "others") else part
                        for via, part in zip(parts["via"], parts["part"], strict=True)
                    ],
                    "toward": parts["toward"].to_numpy(),
                    "left": left,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def _yes_no_abstain(table: pd.DataFrame) -> pd.DataFrame:
    """The vote columns in the order every table of the report uses: yes, no, abstain, then
    not_voting, where the first of them stood."""
    kinds = [c for c in ("yes", "no", "abstain", "not_voting") if c in table]
    if not kinds:
        return table
    others = [c for c in table.columns if c not in kinds]
    at = min(table.columns.get_loc(c) for c in kinds)
    return table[[*others[:at], *kinds, *others[at:]]]


def _network_section(directory: Path, report: Report, tallies: pd.DataFrame) -> None:
    members = _read(directory, "members.csv", required=False)
    ties = _read(directory, "network.csv", required=False)
    votes = _read(directory, "votes.csv", required=False)
    if members is None or ties is None or votes is None:
        return
    texts = tallies[(tallies["on"] == "text") & (tallies["body"] == "GA")]
    if texts.empty:
        return
    vote = texts.iloc[-1]["vote"]
    first = texts.iloc[0]["vote"]
    cast = _cast(votes, vote)
    layout = figures.network_layout(ties, list(members["iso3"]))
    nodes = members.assign(
        x=[layout[iso3][0] for iso3 in members["iso3"]],
        y=[layout[iso3][1] for iso3 in members["iso3"]],
        vote=members["iso3"].map(cast).fillna("X"),
        key=key_states(members, _cast(votes, first), _read(directory, "positions.csv", False)),
    )
    title = f"Who listens to whom, and how each member voted on {vote}"
    report.sections.append(
        Section(
            "The influence network",
            f"Members marked by their vote on {vote}; positions: a seeded spring layout of "
            f"each member's {figures.TIES_IN_LAYOUT} strongest ties; lines: each member's "
            f"{figures.TIES_DRAWN} strongest ties; rings: the members of the EU (an open ring) and "
            "of the AU (a grey disc), each ringed itself; arrows: the states the United States "
            f"listens to most. Named: the five permanent members of the Security Council, the "
            f"states that voted No on {first}, and the {MOVERS_NAMED} states whose position "
            "moved most during the run (the `key` column of network.csv).",
            report.figure(
                "network", figures.network_figure(nodes, ties, report.source, title), nodes
            ),
        )
    )


MOVERS_NAMED = 5
P5 = ("CHN", "FRA", "GBR", "RUS", "USA")


def _cast(votes: pd.DataFrame, vote: str) -> pd.Series:
    """Each member's vote code on a text (not its amendments), by ISO3."""
    return votes[(votes["vote"] == vote) & (votes["name"] == vote)].set_index("iso3")["code"]


def key_states(
    members: pd.DataFrame, first_vote: pd.Series, positions: pd.DataFrame | None
) -> list[str]:
    """Why each member is named in the network figure ("" if not): a permanent member of the
    Security Council, a No on the run's first vote, or one of the `MOVERS_NAMED` states whose
    position moved most from the first step to the last (the length of its move over every
    axis: columns `USA` of one axis, or `USA.general`, `USA.ukraine`, ... of several)."""
    movers: set[str] = set()
    if positions is not None:
        states = positions.drop(columns=["step", "date"])
        moved = (states.iloc[-1] - states.iloc[0]).abs()
        member = moved.index.str.split(".").str[0]
        if not member.equals(moved.index):
            moved = moved.pow(2).groupby(member, sort=False).sum().pow(0.5)
        movers = set(moved.nlargest(MOVERS_NAMED).index)
    reasons = []
    for iso3 in members["iso3"]:
        why = [
            label
            for label, named in (
                ("P5", iso3 in P5),
                ("No on the first vote", first_vote.get(iso3) == "N"),
                ("moved most", iso3 in movers),
            )
            if named
        ]
        reasons.append(", ".join(why))
    return reasons


def _map_sections(directory: Path, report: Report, tallies: pd.DataFrame) -> None:
    """A world map of each General Assembly text the run held: `map_<vote>.png`/`.svg`."""
    members = _read(directory, "members.csv", required=False)
    votes = _read(directory, "votes.csv", required=False)
    if members is None or votes is None or "iso2" not in members:
        return
    texts = tallies[(tallies["on"] == "text") & (tallies["body"] == "GA")]
    for row in texts.itertuples():
        nodes = members[["iso3", "iso2", "name"]].assign(
            vote=members["iso3"].map(_cast(votes, row.vote)).fillna("X")
        )
        subject = f": {row.subject}" if row.subject else ""
        title = f"How each member voted on {row.vote}{subject} (drawn by the run's first seed)"
        name = "map_" + re.sub(r"[^A-Za-z0-9]+", "-", row.vote).strip("-")
        report.sections.append(
            Section(
                f"World map of {row.vote}",
                f"Each member filled by its vote on {row.vote} as the run drew it; small "
                "states are dots; white: territories that are not UN members.",
                report.figure(
                    name,
                    figures.vote_map_figure(nodes, report.source, textwrap.fill(title, 100)),
                    nodes,
                ),
            )
        )


# --- sweep directories -----------------------------------------------------------------------


def central_point(points: pd.DataFrame) -> int:
    """The design point nearest the middle of every varied parameter (ranks, so scales do not
    matter): the sweep's 'typical' world for the one-point figures."""
    varied = [c for c in points.columns if c != "point"]
    if not varied or len(points) == 1:
        return int(points["point"].iloc[0])
    ranks = points[varied].rank(pct=True)
    distance = ((ranks - 0.5) ** 2).sum(axis=1)
    return int(points.loc[distance.idxmin(), "point"])


def parameter_influence(
    adoption: pd.DataFrame, points: pd.DataFrame, outcome: str = "p_adopted"
) -> pd.Series:
    """How much of the variation in `outcome` (the probability of adoption) each parameter
    explains on its own (correlation ratio, eta squared, over up to five quantile bins),
    summed over texts."""
    merged = adoption.merge(points, on="point").rename(columns={outcome: "_outcome"})
    scores = {}
    for parameter in (c for c in points.columns if c != "point"):
        binned = _bins(merged[parameter])
        total = 0.0
        for _, group in merged.assign(bin=binned).groupby("vote"):
            spread = group["_outcome"].var(ddof=0)
            if spread > 0:
                means = group.groupby("bin", observed=True)["_outcome"].transform("mean")
                total += float(means.var(ddof=0) / spread)
        scores[parameter] = total
    return pd.Series(scores).sort_values(ascending=False)


def _bins(values: pd.Series, most: int = 5) -> pd.Series:
    """Exact values when few, else quantile bins labelled by their middle value."""
    if values.nunique() <= most:
        return values
    if not pd.api.types.is_numeric_dtype(values):  # sampled dates (YYYY-MM-DD)
        binned = pd.qcut(pd.to_datetime(values), most, duplicates="drop")
        return binned.map(lambda interval: interval.mid.date().isoformat()).astype(str)
    binned = pd.qcut(values, most, duplicates="drop")
    return binned.map(lambda interval: round(interval.mid, 3)).astype(float)


def _build_sweep(directory: Path, report: Report) -> None:
    """The sweep report: one section per figure, all at the design's central point or over
    every point. Reads the sweep directory's tables only (`docs/sweeps.md`)."""
    points = _read(directory, "points.csv")
    runs = _read(directory, "runs.parquet")
    point = central_point(points)
    texts = runs[runs["on"] == "text"]
    grouped = texts.groupby(["point", "vote"], sort=False)
    adoption = pd.concat(
        [grouped["adopted"].mean().rename("p_adopted"), grouped["yes"].mean().rename("mean_yes")],
        axis=1,
    ).reset_index()
    where = _point_words(report, points, point)  # (which point, its values)
    _median_tally_section(report, runs, points, point, adoption, where)
    _sweep_trajectory_section(directory, report, point, where)
    _heatmap_section(report, points, adoption)
    _flips_section(directory, report)
    _sensitivity_section(directory, report)


def _point_words(report: Report, points: pd.DataFrame, point: int) -> tuple[str, str]:
    """Which design point the one-point figures show and why that one: a name for it, and its
    parameter values in words."""
    varied = [c for c in points.columns if c != "point"]
    if not varied or len(points) == 1:
        return f"design point {point}, the sweep's only point", ""
    chosen = points[points["point"] == point].iloc[0]
    named = parameter_list_words(varied, report.scenario.get("shocks", ()))
    values = [f"{words} {figures.tick(chosen[c])}" for words, c in zip(named, varied, strict=True)]
    return (
        f"design point {point} of {len(points)}, the point nearest the middle of every varied "
        "parameter's values",
        ", ".join(values[:-1]) + f" and {values[-1]}" if len(values) > 1 else values[0],
    )


def _median_tally_section(
    report: Report,
    runs: pd.DataFrame,
    points: pd.DataFrame,
    point: int,
    adoption: pd.DataFrame,
    where: tuple[str, str],
) -> None:
    """Median tallies of the central point against each ballot's threshold (its chamber and
    rule as the runs table states them), and adoption at every point."""
    one = runs[runs["point"] == point]
    by_ballot = one.groupby(["vote", "name", "on", "body", "important"], sort=False)
    median = by_ballot[["yes", "no", "abstain", "not_voting"]].median()
    median = median.join(by_ballot["adopted"].mean().rename("p")).reset_index()
    median["rule"] = ""
    median["reason"] = ""
    median["adopted"] = median["p"] >= 0.5
    tallies = threshold_table(median)
    tallies["verdict"] = [f"adopted in {p:.0%} of runs" for p in median["p"]]
    name, values = where
    title = f"Median tallies over the {one['replicate'].nunique()} runs of {name}" + (
        f": {values}." if values else "."
    )
    chosen = (
        f" The one-point figures of this report show it as the sweep's typical world: of "
        f"all its points, it lies nearest the middle of every parameter's values ({values})."
        if values
        else ""
    )
    report.sections.append(
        Section(
            "Median tallies against the adoption threshold",
            f"Median tallies over the {one['replicate'].nunique()} runs of design point "
            f"{point}.{chosen}",
            report.figure(
                "tallies", figures.tally_figure(tallies, report.source, caption=title), tallies
            ),
            [
                report.table(
                    "adoption_by_point",
                    adoption.merge(points, on="point"),
                    "Probability of adoption at each design point",
                )
            ],
        )
    )


def _sweep_trajectory_section(
    directory: Path, report: Report, point: int, where: tuple[str, str]
) -> None:
    """The fan of expected Yes over time at the central point, against the status quo's."""
    trajectory = _read(directory, "trajectory.parquet", required=False)
    if trajectory is None:
        return
    baseline = _read(directory, "baseline_trajectory.parquet", required=False)
    scenario = trajectory[trajectory["point"] == point]
    status_quo = None
    if baseline is not None:
        same = baseline[baseline["point"] == point]
        status_quo = (
            same if not same.empty else baseline[baseline["point"] == baseline["point"].iloc[0]]
        )
    data = scenario.assign(path="scenario")
    if status_quo is not None:
        data = pd.concat([data, status_quo.assign(path="status quo")], ignore_index=True)
    widths = (data["yes_q90"] - data["yes_q10"]).groupby(data["path"]).max()
    band = " and ".join(f"{width:.1f} votes in the {path}" for path, width in widths.items())
    baseline = report.scenario.get("sweep", {}).get("baseline", {})
    status_quo_text = status_quo_words(
        baseline.get("drop_shocks", ()), report.scenario.get("shocks", ())
    )
    name, values = where
    title = (
        f"At {name}"
        + (f": {values}" if values else "")
        + (f". The 10-90 % band is at most {band}.")
    )
    report.sections.append(
        Section(
            "Votes over time: scenario against the status quo",
            f"Expected Yes votes over time across the runs of design point {point} (the "
            "point of the median tallies above): the median, and the band from the 10th to "
            f"the 90th percentile, shaded and outlined; at its widest the band is {band} (an "
            "inset zooms in on Yes where the bands are too narrow to see at full scale). "
            f"Against the status quo: {status_quo_text}.",
            report.figure(
                "trajectory",
                figures.trajectory_figure(
                    scenario, report.source, baseline=status_quo, title=title
                ),
                data,
            ),
        )
    )


def _heatmap_section(report: Report, points: pd.DataFrame, adoption: pd.DataFrame) -> None:
    """Adoption over the two parameters that explain most of it (two or more varied, four or
    more points)."""
    varied_names = [c for c in points.columns if c != "point"]
    if len(varied_names) < 2 or len(points) < 4:
        return
    influence = parameter_influence(adoption, points)
    measure, why = "the probability of adoption", ""
    if not influence.any():  # every point adopts (or rejects) alike: rank by Yes instead
        influence = parameter_influence(adoption, points, "mean_yes")
        measure = "the mean Yes count"
        why = " Adoption does not vary over the points, so they are ranked by how they move Yes."
    x, y = influence.index[:2]
    shocks = report.scenario.get("shocks", ())
    merged = adoption.merge(points, on="point")
    merged[x], merged[y] = _bins(merged[x]), _bins(merged[y])
    cells = merged.groupby(["vote", x, y], sort=False)[["p_adopted", "mean_yes"]].mean()
    cells = cells.reset_index()
    shown_votes = list(dict.fromkeys(cells["vote"]))[:4]
    cells = cells[cells["vote"].isin(shown_votes)]
    flat = {
        vote: figures.flat_adoption(p_adopted)
        for vote, p_adopted in cells.groupby("vote", sort=False)["p_adopted"]
    }
    if all(flat.values()) and len(set(flat.values())) == 1:
        flat_text = (
            f" Every text shown was {next(iter(flat.values()))}: the panels have one colour, "
            "and only the mean Yes counts vary."
        )
    else:
        flat_text = "".join(
            f" {vote} was {words}: its panel has one colour, and only its mean Yes counts vary."
            for vote, words in flat.items()
            if words
        )
    report.sections.append(
        Section(
            "Probability of adoption over the two most influential parameters",
            f"Of the parameters varied, {' and '.join(parameter_list_words([x, y], shocks))} "
            f"explain most of the variation in {measure} (correlation ratio).{why} Each cell: "
            "the share of runs in which the text was adopted (its colour), and the mean Yes "
            f"count.{flat_text}",
            report.figure(
                "adoption_heatmap",
                figures.adoption_heatmap(
                    cells, x, y, report.source, labels=(report.words(x), report.words(y))
                ),
                cells,
            ),
            [
                report.table(
                    "parameter_influence",
                    influence.rename("eta_squared").rename_axis("parameter").reset_index(),
                    "Share of the variation in adoption each parameter explains",
                )
            ],
        )
    )


def _flips_section(directory: Path, report: Report) -> None:
    """The states whose vote on the sweep's question most often differs from the status quo."""
    flips = _read(directory, "flips.csv", required=False)
    if flips is None or flips.empty:
        return
    question = flips["vote"].iloc[0]  # `flips.csv` ranks the question's text first
    flips = flips[flips["vote"] == question]
    top = flips.sort_values("p_flip", ascending=False, kind="stable").head(FLIPS_SHOWN)
    top = top.assign(label=member_labels(top, 32))
    report.sections.append(
        Section(
            "States most likely to flip",
            f"The {len(top)} states whose vote on {question} most often differs from the "
            "status quo.",
            report.figure("flips", figures.flips_figure(top, report.source), top),
            [
                report.table(
                    "flips_top",
                    top.drop(columns="label"),
                    "States most likely to change their vote",
                )
            ],
        )
    )


OUTCOME_WORDS = {"yes": "the number of Yes votes", "adopted": "adoption (share of runs)"}


def _sensitivity_section(directory: Path, report: Report) -> None:
    """Which parameter matters for the question's text: Sobol indices (a saltelli design only;
    `blocsim sweep analyze` gives them for every text, and a first-order index for any design)."""
    if read_manifest(directory)["design"]["kind"] != "saltelli":
        return
    found = analyze_sweep(directory)
    question = report.scenario.get("sweep", {}).get("question") or found.table["vote"].iloc[0]
    table = found.table[found.table["vote"] == question]
    if table.empty:
        return
    table = table.assign(
        label=[report.words(p) for p in table["parameter"]],
        outcome=[_outcome_words(o) for o in table["outcome"]],
    )
    wide = table.pivot_table(
        index=["outcome", "label"],
        columns="index_name",
        values=["value", "ci_low", "ci_high"],
        sort=False,
    )
    latex = pd.DataFrame(
        {
            "outcome": wide.index.get_level_values(0),
            "parameter": wide.index.get_level_values(1),
            **{
                f"{name} [95% CI]": [
                    f"{v:.2f} [{lo:.2f}, {hi:.2f}]"
                    for v, lo, hi in zip(
                        wide[("value", name)],
                        wide[("ci_low", name)],
                        wide[("ci_high", name)],
                        strict=True,
                    )
                ]
                for name in ("S1", "ST")
            },
        }
    )
    noise = table.groupby("outcome", sort=False)["noise_share"].first()
    noisy = [o for o, share in noise.items() if share > 0.5]
    text = (
        f"How much of the variance of each outcome of {question} over the design's points each "
        "varied parameter explains: alone (first order, S1) and with its interactions (total, "
        "ST), SALib's Sobol indices from the Saltelli design, each point's outcome the mean of "
        "its replicates. An ST well above S1 means the parameter acts through others."
    )
    if noisy:
        text += (
            f" For {', '.join(noisy)} the replicates' own vote draws explain more than half the "
            "variance: those indices describe noise; run more replicates."
        )
    constant = [
        _outcome_words(c.removeprefix(f"{question}: "))
        for c in found.constant
        if c.startswith(f"{question}: ")
    ]
    if constant:
        text += f" No index for {', '.join(constant)}: the same at every point."
    report.sections.append(
        Section(
            "Which parameter matters",
            text,
            report.figure("sensitivity", figures.sensitivity_figure(table, report.source), table),
            [report.table("sensitivity_indices", latex, f"Sobol indices of {question}'s outcomes")],
        )
    )


def _outcome_words(outcome: str) -> str:
    if outcome.startswith("p_yes["):
        return f"probability that {outcome[6:-1]} votes Yes"
    return OUTCOME_WORDS.get(outcome, outcome)


# --- backtest --------------------------------------------------------------------------------

BACKTEST_SCORES = ("accuracy", "macro_f1", "log_loss", "brier", "accuracy_all", "macro_f1_all")


def _build_backtest(directory: Path, report: Report) -> None:
    """`blocsim validate --backtest`'s directory: per-session scores, a reliability diagram."""
    scores = _read(directory, "scores.csv")
    reliability = _read(directory, "reliability.csv")
    sessions = scores[~scores["session"].astype(str).str.startswith("all ")]
    sessions = sessions.assign(session=sessions["session"].astype(str))
    present = [score for score in BACKTEST_SCORES if score in sessions.columns]
    shown = sessions[["session", "set", "predictor", *present]]
    report.sections.append(
        Section(
            "Scores by session",
            "Each roll call predicted from the record before its session (the 2025 texts: "
            "before their own date), from its date and tally; pooled over a session's texts, "
            "how a member votes if it votes (accuracy, macro-F1, log-loss, Brier among the "
            "members that voted) and the full forecast (accuracy and macro-F1 of Y/A/N/X over "
            "all members, not voting a fourth outcome). Sessions 2017-2023 are selection, 2024 and "
            "2025 evaluation: out of sample for a combination fitted on the selection sessions "
            "(calibrate --forecast --train selection); the shipped one is fitted on all of them, "
            "so in sample on every session.",
            report.figure(
                "backtest_scores", figures.session_scores_figure(shown, report.source), shown
            ),
            [
                report.table(
                    "backtest_score_table", scores, "Backtest scores by session and predictor"
                )
            ],
        )
    )
    movers = _read(directory, "movers.csv", required=False)
    if movers is not None:
        report.sections.append(
            Section(
                "Movers with the US",
                "On each text where the US changed its vote from the text's earlier version: "
                "the members that moved the US's way, those each predictor names (its most "
                "likely vote) and those right; for a probability predictor the AUC of its "
                "chance of a move over the members that could move. Then pooled by set.",
                tables=[report.table("backtest_movers", movers, "Movers with the US by text")],
            )
        )
    report.sections.append(
        Section(
            "Reliability",
            "Every Y/A/N probability among voters, binned by tenths: the mean forecast against "
            "how often that vote was cast; on the diagonal, a forecast of p comes true p of the "
            "time. Selection and evaluation apart.",
            report.figure(
                "reliability", figures.reliability_figure(reliability, report.source), reliability
            ),
        )
    )


BUILDERS: dict[str, Callable[[Path, Report], None]] = {
    "run": _build_run,
    "sweep": _build_sweep,
    "backtest": _build_backtest,
}


# --- report.md -------------------------------------------------------------------------------


def _write_markdown(report: Report, manifest: dict, scenario: dict) -> None:
    name = scenario.get("name") or manifest.get("scenario", {}).get("name", "unnamed")
    lines = [f"# blocsim report: {name}", ""]
    if scenario.get("description"):
        lines += [scenario["description"].strip(), ""]
    lines += ["## Provenance", "", *_manifest_lines(manifest), ""]
    for section in report.sections:
        lines += [f"## {section.title}", "", section.text, ""]
        if section.figure:
            lines += [
                f"![{section.title}]({section.figure}.png)",
                "",
                f"Figure: [`{section.figure}.png`]({section.figure}.png), "
                f"[`{section.figure}.svg`]({section.figure}.svg); "
                f"data: [`{section.figure}.csv`]({section.figure}.csv).",
                "",
            ]
        for table in section.tables:
            frame = report.readable.get(table)
            if frame is None:
                frame = pd.read_csv(report.folder / f"{table}.csv")
            lines += [_markdown_table(frame.head(25)), ""]
            lines += [
                f"Table: [`{table}.csv`]({table}.csv), LaTeX [`{table}.tex`]({table}.tex).",
                "",
            ]
    lines += ["---", report.source, ""]
    (report.folder / "report.md").write_text("\n".join(lines))


def _manifest_lines(manifest: dict) -> list[str]:
    scenario = manifest.get("scenario", {})
    seed = manifest.get("seed", {})
    rows = [
        ("kind", manifest.get("kind")),
        (
            "scenario file",
            f"{scenario.get('file')} (sha256 {str(scenario.get('sha256', ''))[:12]})",
        ),
        ("root seed", seed.get("root") if isinstance(seed, dict) else seed),
        ("data until", manifest.get("data_until")),
        ("data", json.dumps(manifest.get("data"), default=str)),
        ("git commit", manifest.get("git_commit")),
        ("created (UTC)", manifest.get("created_utc")),
        ("command", f"`{manifest.get('command')}`"),
        ("packages", ", ".join(f"{k} {v}" for k, v in manifest.get("packages", {}).items())),
    ]
    if "parameters" in manifest:
        rows.append(("parameters", f"`{json.dumps(manifest['parameters'])}`"))
    return [f"- **{key}**: {value}" for key, value in rows if value not in (None, "")]


def _markdown_table(frame: pd.DataFrame) -> str:
    def cell(value) -> str:  # an empty cell where there is nothing (no record), never "nan"
        if isinstance(value, float):
            text = "" if np.isnan(value) else f"{value:.3g}"
        else:
            text = str(value)
        return text.replace("|", "\\|").replace("\n", "; ")

    header = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "---|" * len(frame.columns)
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *body])

"""The classroom app: `blocsim app` serves this page with Solara (Mesa's SolaraViz).

A class steps through `scenarios/classroom.toml` week by week in the one world the 2025 record
picks (`calibration/default.toml`): the US turn as measured, a few states following it by their
own alignment weights, and no spread through the ties. Beside the model sits the record: what the
2025 roll calls showed (the US moved, who followed, the ties carried nothing), and the real tally
of each vote the story holds. The network marks each state by how it would vote on the
next text today; for the state clicked, its blocs, position and strongest ties. Two sliders ask
what-ifs: the size of the US turn (1 = as measured) and how much states follow one another
(0 = as the record says); like every Mesa model parameter they take effect on Reset. Built from
Mesa's SolaraViz parts (its model controller and parameter sliders) in a fixed layout of our own.

Each browser session gets its own model (a model built at module level would be shared by the
whole class). Run it with `blocsim app`, which serves it offline (`sim.outputs.assets`).
"""

from __future__ import annotations

import dataclasses
import os
from functools import cache
from pathlib import Path

import altair as alt
import numpy as np
import pandas as pd
import solara
from mesa.visualization import Slider
from mesa.visualization.solara_viz import ModelController, ModelCreator
from mesa.visualization.utils import update_counter

from sim.data.followers import US, followers
from sim.data.loader import UNData, load_data
from sim.data.resolutions import RESOLUTIONS, Resolution, Tally
from sim.model.agenda import chamber, scenario_timeline
from sim.model.dynamics import MoveToward, Shift
from sim.model.explain import TOWARD_AXIS, Explanation, decompose, explain_table, toward
from sim.model.model import BlocModel
from sim.model.run import recorded_vote, tie_table
from sim.model.scenario import (
    Scenario,
    TimedShock,
    VoteSpec,
    load_historical_shocks,
    load_scenario,
    scenario_shocks,
)
from sim.model.voting import (
    VOTE_CODES,
    Chamber,
    CutPoints,
    Draft,
    Outcome,
    as_tally,
    assign_to_tally,
)
from sim.outputs.explanation import headline, member_parts, sentence
from sim.outputs.figures import STYLE, network_layout
from sim.tomlfile import read_toml

# Solara's FigureAltair switches Altair's global renderer to "mimetype" for each chart and back;
# two sessions drawing at once can see the other's "html" default and fail (KeyError 0). With
# "mimetype" as the default there is nothing to race over.
alt.renderers.enable("mimetype")

CLASSROOM = Path(__file__).resolve().parents[2] / "scenarios" / "classroom.toml"
VOTE_WORDS = {"Y": "Yes", "A": "Abstain", "N": "No", "X": "Not voting"}
SHAPES = {"Y": "circle", "A": "triangle-up", "N": "square", "X": "cross"}


@cache
def classroom() -> tuple[UNData, Scenario]:
    """The data and the teaching scenario, read once per server process."""
    data = load_data(os.environ.get("BLOCSIM_DATA"))
    return data, load_scenario(os.environ.get("BLOCSIM_APP_SCENARIO", CLASSROOM), data.members)


class ClassroomModel(BlocModel):
    """The teaching scenario with two what-ifs as parameters: the size of the US turn (a scale
    on the measured move, and so on its followers' moves: 0 = no turn, 1 = as measured) and how
    much states follow one another through the ties (1 - stubbornness, for every state: 0 = as
    the record says)."""

    def __init__(self, us_turn: float = 1.0, following: float = 0.0, seed: int = 2025) -> None:
        data, scenario = classroom()
        shocks = tuple(
            scaled_turn(timed, us_turn) for timed in scenario_shocks(scenario, data.members)
        )
        stubbornness = 1.0 - following
        groups = {
            f"stubbornness_by_group.{group}": stubbornness
            for group in scenario.parameters.stubbornness_by_group
        }
        scenario = dataclasses.replace(
            scenario,
            historical_shocks=False,  # the calibrated turn is among `shocks`, scaled
            shocks=shocks,
            parameters=scenario.parameters.with_values({"stubbornness": stubbornness, **groups}),
        )
        world, timeline = scenario_timeline(scenario, data)
        super().__init__(world, timeline, seed)
        self.us_turn = us_turn
        self.following = following
        self.story = scenario
        self.changed: set[str] = set()  # states whose likely vote changed in the last step
        self.history: list[dict] = []  # the next text's expected tally, week by week
        self._remember(forecasts(self))

    def step(self) -> None:
        """One week, remembering which states' likely vote on the next text changed."""
        before = forecasts(self)
        super().step()
        after = forecasts(self)
        self.changed = changed_votes(before, after)
        self._remember(after)

    def _remember(self, upcoming: list[Forecast]) -> None:
        if upcoming:
            tally = upcoming[-1].tally
            self.history.append(
                {
                    "week": self.steps,
                    "date": self.date.isoformat(),
                    "vote": upcoming[-1].name,
                    "Yes": tally.yes,
                    "No": tally.no,
                    "Abstain": tally.abstain,
                    "Not voting": tally.not_voting,
                }
            )


def scaled_turn(timed: TimedShock, size: float) -> TimedShock:
    """The US turn (a `shift` of the United States) scaled by `size`; other shocks as they are.
    Its followers keep their weights, so each moves by its weights x the scaled move."""
    shock = timed.shock
    if isinstance(shock, Shift) and shock.member == US:
        by = tuple(size * value for value in shock.by)
        return dataclasses.replace(timed, shock=dataclasses.replace(shock, by=by))
    return timed


# --- what the page shows, as plain functions of the model ------------------------------------


@dataclasses.dataclass(frozen=True)
class Forecast:
    """A vote if it were held today: expected tally, outcome, and each seat's likely vote."""

    name: str
    body: str
    tally: Tally
    outcome: Outcome
    likely: dict[str, str]  # ISO3 -> most likely vote code


def next_vote(model: BlocModel) -> tuple[int, VoteSpec, Draft] | None:
    """The first vote not yet held: (step, VoteSpec, Draft), or None when the story is over."""
    return next(((s, v, d) for s, v, d in model.timeline.votes if s > model.steps), None)


def forecast(
    model: BlocModel, body: str, name: str, cut_points: CutPoints, important: bool
) -> Forecast:
    """Expected counts (sum of members' vote probabilities now) rounded to whole members, and
    the outcome under the chamber's rule for the votes that add up to them; in the Council a
    permanent member voting No in that assignment vetoes."""
    where: Chamber = chamber(body, model.world)
    probs = model.probabilities(body, cut_points)  # (M, 4) Y A N X
    tally = as_tally(_whole(probs.sum(axis=0)))
    # Each seat's vote as the most likely assignment that adds up to the expected tally, so
    # the map and the tally agree (the likeliest vote of each alone would show almost no No).
    codes = assign_to_tally(probs, tally)
    likely = {iso3: VOTE_CODES[code] for iso3, code in zip(where.members, codes, strict=True)}
    outcome = where.outcome(codes, important)
    return Forecast(name, body, tally, outcome, likely)


def changed_votes(before: list[Forecast], after: list[Forecast]) -> set[str]:
    """The states whose likely vote on the same next text differs between two forecasts
    (none when a vote was held in between: the next text is another one)."""
    if not before or not after or before[-1].name != after[-1].name:
        return set()
    old, new = before[-1].likely, after[-1].likely
    return {iso3 for iso3, code in new.items() if old.get(iso3) != code}


def _whole(expected: np.ndarray) -> list[int]:
    """Expected counts to whole members that add up to the chamber (largest remainders)."""
    floors = np.floor(expected).astype(int)
    short = int(round(expected.sum())) - floors.sum()
    order = np.argsort(-(expected - floors), kind="stable")
    floors[order[:short]] += 1
    return [int(v) for v in floors]


def forecasts(model: BlocModel) -> list[Forecast]:
    """The next vote's amendments then its text; an amendment expected to pass moves the text."""
    upcoming = next_vote(model)
    if upcoming is None:
        return []
    _, spec, draft = upcoming
    found, text = [], draft.cut_points
    for amendment in draft.amendments:
        seen = forecast(model, spec.body, amendment.name, amendment.cut_points, draft.important)
        found.append(seen)
        if seen.outcome.adopted:
            text = dataclasses.replace(
                text,
                lower=text.lower + amendment.shift,
                upper=text.upper + amendment.shift,
                polarity=amendment.polarity or text.polarity,
            )
    found.append(forecast(model, spec.body, draft.name, text, draft.important))
    return found


@cache
def _layout(members: tuple[str, ...]) -> pd.DataFrame:
    """The fixed map of the network (seeded), the same for every session and step."""
    model = ClassroomModel()
    ties = tie_table(model, per_member=5)
    layout = network_layout(ties, members)
    nodes = pd.DataFrame({"iso3": members})
    nodes["x"] = [layout[m][0] for m in members]
    nodes["y"] = [layout[m][1] for m in members]
    strongest = ties.sort_values("weight", ascending=False).groupby("source").head(2)
    where = nodes.set_index("iso3")
    edges = pd.DataFrame(
        {
            "x": where.loc[strongest["source"], "x"].to_numpy(),
            "y": where.loc[strongest["source"], "y"].to_numpy(),
            "x2": where.loc[strongest["target"], "x"].to_numpy(),
            "y2": where.loc[strongest["target"], "y"].to_numpy(),
        }
    )
    return pd.concat([nodes, edges], keys=["nodes", "edges"])


def network_chart(model: ClassroomModel, selected: str) -> alt.LayerChart:
    """Members on the fixed map, shaped and coloured by their likely vote on the next text
    (after the last vote: the vote they cast), the selected state and its ties highlighted."""
    layout = _layout(tuple(model.world.iso3))
    nodes = layout.loc["nodes"].copy()
    edges = layout.loc["edges"]
    upcoming = forecasts(model)
    if upcoming:
        likely = upcoming[-1].likely
        caption = "Vote if held today"
    else:
        likely = {agent.iso3: agent.vote or "X" for agent in model.members}
        caption = "Vote cast on the last text"
    agents = {agent.iso3: agent for agent in model.members}
    nodes["name"] = [agents[m].name for m in nodes["iso3"]]
    nodes["position"] = [round(agents[m].position, 2) for m in nodes["iso3"]]
    nodes["vote"] = [VOTE_WORDS[likely.get(m, "X")] for m in nodes["iso3"]]
    nodes["chosen"] = nodes["iso3"] == selected
    order = [VOTE_WORDS[c] for c in ("Y", "A", "N", "X")]
    colours = [
        STYLE[k]["color"] if k != "not_voting" else "#777777"
        for k in ("yes", "abstain", "no", "not_voting")
    ]
    axis = alt.Axis(labels=False, ticks=False, title=None, grid=False, domain=False)
    lines = (
        alt.Chart(edges)
        .mark_rule(color="#cccccc", strokeWidth=0.6)
        .encode(x=alt.X("x:Q", axis=axis), y=alt.Y("y:Q", axis=axis), x2="x2:Q", y2="y2:Q")
    )
    ties = [iso3 for iso3, _ in agents[selected].strongest_ties(5)] if selected in agents else []
    tie_rows = nodes[nodes["iso3"].isin(ties)]
    chosen = nodes[nodes["chosen"]]
    spokes = pd.DataFrame(
        {
            "x": np.repeat(chosen["x"].to_numpy(), len(tie_rows)),
            "y": np.repeat(chosen["y"].to_numpy(), len(tie_rows)),
            "x2": tie_rows["x"].to_numpy(),
            "y2": tie_rows["y"].to_numpy(),
        }
    )
    highlight = (
        alt.Chart(spokes)
        .mark_rule(color="black", strokeWidth=2)
        .encode(x="x:Q", y="y:Q", x2="x2:Q", y2="y2:Q")
    )
    points = (
        alt.Chart(nodes)
        .mark_point(filled=True, size=70, opacity=1, stroke="black", strokeWidth=0.5)
        .encode(
            x="x:Q",
            y="y:Q",
            color=alt.Color("vote:N", scale=alt.Scale(domain=order, range=colours), title=caption),
            shape=alt.Shape(
                "vote:N",
                scale=alt.Scale(domain=order, range=[SHAPES[c] for c in "YANX"]),
                title=caption,
            ),
            tooltip=["name:N", "iso3:N", "vote:N", "position:Q"],
        )
    )
    ring = (
        alt.Chart(chosen)
        .mark_point(size=450, color="black", strokeWidth=2.5)
        .encode(x="x:Q", y="y:Q")
    )
    changed = nodes[nodes["iso3"].isin(model.changed)]
    flagged = (
        alt.Chart(changed)
        .mark_point(size=260, color=CHANGED_COLOUR, strokeWidth=2.5)
        .encode(x="x:Q", y="y:Q", tooltip=["name:N", "vote:N"])
    )
    named = nodes[nodes["iso3"].isin(KEY_STATES) & ~nodes["iso3"].isin(ties) & ~nodes["chosen"]]
    key_labels = (
        alt.Chart(named)
        .mark_text(dx=8, dy=-8, fontSize=10, align="left", color="#333333")
        .encode(x="x:Q", y="y:Q", text="iso3:N")
    )
    labels = (
        alt.Chart(pd.concat([chosen, tie_rows]))
        .mark_text(dx=9, dy=-9, fontSize=11, fontWeight="bold", align="left")
        .encode(x="x:Q", y="y:Q", text="iso3:N")
    )
    return (
        (lines + highlight + points + flagged + ring + key_labels + labels)
        .properties(width="container", height=CHART_HEIGHT)
        .configure_view(stroke=None)
        .configure_legend(orient="bottom", columns=4, titleLimit=0, labelLimit=0)
    )


CHART_HEIGHT = 360  # px: the network, its legend and the card's title fit a 720 px screen
CHANGED_COLOUR = "#d62728"
KEY_STATES = ("USA", "RUS", "CHN", "FRA", "GBR", "UKR", "IND", "BRA", "ZAF", "ISR", "HUN")


def tally_strip(model: ClassroomModel) -> alt.Chart:
    """The next text's expected tally week by week so far (once every vote is held, the last
    text's): four lines that add up to the chamber."""
    history = pd.DataFrame(model.history)
    history = history[history["vote"] == history["vote"].iloc[-1]]
    long = history.melt(
        ["week", "date", "vote"], ["Yes", "No", "Abstain", "Not voting"], "kind", "members"
    )
    order = [VOTE_WORDS[c] for c in ("Y", "A", "N", "X")]
    colours = [
        STYLE[k]["color"] if k != "not_voting" else "#777777"
        for k in ("yes", "abstain", "no", "not_voting")
    ]
    # Whole weeks only, at most about ten ticks (Vega's tickMinStep still drew 8.5 as "9").
    first, last = int(history["week"].min()), int(history["week"].max())
    weeks = list(range(first, last + 1, max(1, -(-(last - first) // 10))))
    return (
        alt.Chart(long)
        .mark_line(point=True)
        .encode(
            x=alt.X("week:Q", title="week", axis=alt.Axis(format="d", values=weeks)),
            y=alt.Y("members:Q", title="members"),
            color=alt.Color("kind:N", scale=alt.Scale(domain=order, range=colours), title=None),
            tooltip=["week:Q", "date:N", "vote:N", "kind:N", "members:Q"],
        )
        .properties(width="container", height=110)
        .configure_legend(orient="bottom", columns=2, labelLimit=0)
    )


# --- Solara components -----------------------------------------------------------------------

selected_state = solara.reactive("USA")


@solara.component
def NetworkView(model: ClassroomModel) -> None:
    update_counter.get()  # re-render after every step (Mesa's controller bumps it)

    def pick(datum: object) -> None:
        if isinstance(datum, dict) and datum.get("iso3"):
            selected_state.set(datum["iso3"])

    changed = model.changed
    with solara.Card("The influence network"):
        solara.Markdown(
            "Click a state to see its blocs and ties. Named: the permanent members of the "
            "Security Council and a few states to watch. "
            + (
                f"<span style='color:{CHANGED_COLOUR}'>Red rings</span>: the "
                f"{len(changed)} state(s) whose likely vote changed in the last week "
                f"({', '.join(sorted(changed))})."
                if changed
                else "Red rings mark the states whose likely vote changes in a week."
            )
        )
        solara.FigureAltair(network_chart(model, selected_state.value), on_click=pick)


@solara.component
def TallyView(model: ClassroomModel) -> None:
    update_counter.get()
    upcoming = next_vote(model)
    with solara.Card("The next vote"):
        solara.Markdown(
            f"**Week {model.steps}**, {model.date:%d %B %Y} (week 0 is "
            f"{model.timeline.start:%d %B %Y}, the last roll call in the data). "
            f"US turn {model.us_turn:.1f} × the measured move; states follow one another "
            f"{model.following:.2f}."
        )
        if upcoming is None:
            solara.Markdown(
                "The story is over: every vote has been held. Press **Reset** to start again."
            )
        else:
            step, spec, _ = upcoming
            solara.Markdown(
                f"**{spec.name}** ({'General Assembly' if spec.body == 'GA' else 'Security Council'}), "
                f"{spec.date:%d %B %Y}, in {step - model.steps} week(s). If it were held today "
                "(expected counts, rounded):"
            )
            for item in forecasts(model):
                verdict = "ADOPTED" if item.outcome.adopted else "NOT ADOPTED"
                solara.Markdown(
                    f"- {item.name}: **{item.tally.yes} yes, {item.tally.no} no, "
                    f"{item.tally.abstain} abstain** ({item.tally.not_voting} not voting): "
                    f"**{verdict}** ({item.outcome.reason})"
                )
            for line in record_lines(spec, classroom()[0]):
                solara.Markdown(f"- {line}")
        if model.history:
            solara.Markdown(f"**Expected tally of {model.history[-1]['vote']}, week by week**")
            solara.FigureAltair(tally_strip(model))
        if model.held:
            solara.Markdown(
                "**Votes held so far**, as this run *drew* them (each state's vote is a random "
                "draw around its probabilities, so another seed can differ), with the record:"
            )
            for held in model.held:
                for name, tally, outcome in zip(
                    held.record.names, held.tallies, held.outcomes, strict=True
                ):
                    verdict = "adopted" if outcome.adopted else "not adopted"
                    solara.Markdown(
                        f"- {held.date:%d %b %Y} {name}: drawn {tally.yes}-{tally.no}-"
                        f"{tally.abstain} ({tally.not_voting} not voting), {verdict} "
                        f"({outcome.reason})"
                    )
                for line in record_lines(held.spec, classroom()[0]):
                    solara.Markdown(f"  - {line}")


def records_for(spec: VoteSpec, data: UNData) -> list[Resolution]:
    """The real votes a scenario's vote is modelled on: the roll call it is 'like' and, for a
    Council vote, the Council's own record."""
    found = [data.resolution(spec.text.like)] if spec.text.like else []
    if spec.body == "SC":
        found += [r for r in RESOLUTIONS.values() if r.body == "SC" and r not in found]
    return found


def record_lines(spec: VoteSpec, data: UNData) -> list[str]:
    """The record beside a scenario's vote: 'On record' when it is a real vote (`recorded_vote`),
    else the real votes its text is modelled on and the tally it is fitted to, if it names one
    (the vote itself is a what-if)."""
    record = recorded_vote(spec.name, spec.date)
    if record is not None:
        return [f"*On record*, {record.date:%d %B %Y}: {_counted(record)}"]
    fitted = f"; fitted to the tally {spec.text.tally}" if spec.text.tally else ""
    return [
        f"*No record*: a what-if, its text modelled on {_counted(like)}, {like.date:%d %B %Y}"
        f"{fitted}"
        for like in records_for(spec, data)
    ]


def _counted(record: Resolution) -> str:
    return (
        f"{record.symbol} **{record.tally}** ({record.tally.not_voting} not voting), "
        f"{record.subject}"
    )


FOLLOWED = 0.10  # a gain of ten points or more in the share of votes with the US: "followed"
LEADING_FOLLOWERS = 5  # the followers the record panel names
MODEL_WORDS = {  # the calibration's models ([[fit.models]]), in plain words
    "alignment": "the followers' weights",
    "static": "the US alone",
    "Friedkin-Johnsen": "ties",
    "parting ways": "parting ties",
    "no turn": "no turn",
}
SPREADING = ("Friedkin-Johnsen", "parting ways")  # the models where the ties carry the turn


@cache
def record_table() -> pd.DataFrame:
    """`blocsim data followers`' table: each member's votes with the US against two-thirds
    majorities before and after its turn (read once per server process)."""
    return followers(classroom()[0])


def followed_the_us(table: pd.DataFrame) -> pd.DataFrame:
    """The members of `followers`' table that voted with the US clearly more often after its
    turn (a gain of `FOLLOWED` or more), largest gain first."""
    return table[table["change"] >= FOLLOWED]


def measured_turn(scenario: Scenario, members: pd.DataFrame) -> TimedShock | None:
    """The US turn as the scenario's calibration holds it (a `shift`), if it holds one."""
    return next(
        (
            timed
            for timed in load_historical_shocks(scenario.calibration, members)
            if isinstance(timed.shock, Shift) and timed.shock.member == US
        ),
        None,
    )


@cache
def classroom_turn() -> TimedShock | None:
    """The classroom's measured US turn (read once per server process, not on every render)."""
    data, scenario = classroom()
    return measured_turn(scenario, data.members)


def leading_followers(turn: Shift, axis: int) -> list[tuple[str, float]]:
    """The members that follow `turn` furthest on `axis`: (ISO3, weight), largest first."""
    weights = turn.follower_weights(len(turn.by))[:, axis]
    order = np.argsort(-weights, kind="stable")[:LEADING_FOLLOWERS]
    return [(turn.followers[i][0], float(weights[i])) for i in order if weights[i] > 0]


@cache
def held_out_log_loss(calibration: Path) -> dict[str, float]:
    """Each model's held-out log-loss per vote in a calibration's `[[fit.models]]` (none:
    empty); read once per file and server process."""
    models = read_toml(calibration, "calibration file").table.get("fit", {}).get("models", [])
    return {row["name"]: float(row["held_out_log_loss"]) for row in models}


def turn_words(model: BlocModel) -> str:
    """The measured US turn, axis by axis ('+1.56 general, ...'), or that there is none."""
    turn = classroom_turn()
    if turn is None:
        return "the calibration holds none"
    return ", ".join(
        f"{value:+.2f} {name}"
        for value, name in zip(turn.shock.by, model.world.axis_names, strict=True)
    )


def record_words(model: ClassroomModel) -> list[str]:
    """What the 2025 record showed, in plain words: the US moved; a few states moved with it,
    each by its own weight; few voted with it more often; and on held-out roll calls the
    weights win while the ties add nothing."""
    data, scenario = classroom()
    lines = []
    turn = classroom_turn()
    axis = model.world.ukraine_axis
    names = dict(zip(data.members["iso3"], data.members["name"], strict=True))
    if turn is not None:
        us, russia = (model.world.iso3.index(iso3) for iso3 in (US, "RUS"))
        before = model.world.positions[us, axis]
        lines.append(
            f"**The US turned** on {turn.date:%d %B}: from {before:+.2f} to "
            f"{before + turn.shock.by[axis]:+.2f} on the Ukraine axis (Russia "
            f"{model.world.positions[russia, axis]:+.2f})."
        )
        leading = ", ".join(
            f"{names[iso3]} ×{weight:.2f}" for iso3, weight in leading_followers(turn.shock, axis)
        )
        if leading:
            lines.append(
                f"**A few followed it**, each by its own weight (fitted, × the US move on "
                f"Ukraine): {leading}."
            )
    table = record_table()
    followed = " and ".join(
        f"{row.name} ({row.before_share:.0%} → {row.after_share:.0%})"
        for row in followed_the_us(table).itertuples()
    )
    lines.append(
        f"**On its lone votes** (against two thirds of the Assembly) only "
        f"{followed or 'no state'} joined it more often; "
        f"{int((table['change'] < 0).sum())} states less often."
    )
    scores = held_out_log_loss(scenario.calibration)
    if scores:
        ranked = sorted(scores, key=scores.__getitem__)
        spreading = [scores[name] for name in SPREADING if name in scores]
        ties_add_nothing = bool(spreading) and min(spreading) >= scores.get("static", np.inf)
        lines.append(
            ("**Nothing spread through the ties.** " if ties_add_nothing else "")
            + "Held-out log-loss per vote (lower is better): "
            + ", ".join(
                f"{MODEL_WORDS.get(name, name)} {scores[name]:.3f}" + (" (best)" if i == 0 else "")
                for i, name in enumerate(ranked)
            )
            + "."
        )
    return lines


@solara.component
def RecordView(model: ClassroomModel) -> None:
    with solara.Card("What the 2025 record shows"):
        solara.Markdown("\n".join(f"- {line}" for line in record_words(model)))
        solara.Markdown(
            "<small>From `blocsim data followers` and `blocsim calibrate` "
            f"({classroom()[1].calibration.name}).</small>"
        )


@solara.component
def StateView(model: ClassroomModel) -> None:
    update_counter.get()
    agents = {agent.iso3: agent for agent in model.members}
    agent = agents.get(selected_state.value, agents["USA"])
    names = {a.iso3: a.name for a in model.members}
    with solara.Card(f"{agent.name} ({agent.iso3})"):
        solara.Select(
            "State",
            value=agent.iso3,
            values=sorted(agents),
            on_value=selected_state.set,
        )
        blocs = ", ".join(b.upper().replace("_", " ") for b in agent.blocs) or "none"
        solara.Markdown(
            f"- Regional group: **{agent.un_group}**\n"
            f"- Blocs: **{blocs}**\n"
            f"- Position: **{agent.position:+.2f}** (low = with Ukraine and the West, "
            f"high = close to Moscow; own conviction {agent.anchor:+.2f})\n"
            f"- Stubbornness: **{agent.stubbornness:.2f}** "
            f"({stubbornness_words(model, agent.iso3, agent.stubbornness)})\n"
            f"- Vote on the last text held: **{VOTE_WORDS.get(agent.vote, 'none yet')}**"
        )
        ties = "\n".join(
            f"{i}. {names[iso3]} ({iso3}): {share:.0%} of its attention"
            for i, (iso3, share) in enumerate(agent.strongest_ties(5), start=1)
        )
        solara.Markdown(f"**Listens most to**\n\n{ties}")
        solara.Markdown(f"**Why it moved** since week 0\n\n{why_it_moved(model, agent.iso3)}")


def why_it_moved(model: BlocModel, iso3: str) -> str:
    """A state's move since week 0 split into its largest parts (`sim.model.explain`), from
    the states the model recorded: the shocks so far together, not split among them."""
    if not any(step < model.steps for step in model.timeline.shocks):
        return "Nothing has moved it yet: no shock so far."
    recorder = model.recorder
    parts = decompose(recorder)
    start, now = recorder.rest.positions, model.state.positions[0]
    acted = [
        shock
        for step, shocks in model.timeline.shocks.items()
        if step < model.steps
        for shock in shocks
    ]
    # Toward the shocked state (the US), not a follower that moved further.
    shocked = sorted({model.agent(s.member).column for s in acted if getattr(s, "member", None)})
    state, direction = toward(recorder, start, now, model.world.ukraine_axis, shocked or None)
    explanation = Explanation(("so far",), (parts,), start, now, direction, state)
    column = model.agent(iso3).column
    table = explain_table(explanation, model.world.iso3, model.world.axis_names, [column])
    rows = member_parts(table, iso3)
    aim = model.world.iso3[state] if state is not None else TOWARD_AXIS
    chose = "".join(
        f" At the turn it moved by its own weights times {shock.member}'s move "
        f"({weight_words(dict(shock.followers)[iso3], model.world.axis_names)}), not through "
        "its ties; that move is part of its own anchor's."
        for shock in acted
        if isinstance(shock, Shift) and iso3 in dict(shock.followers)
    )
    return (
        f"{headline(rows, iso3, aim)}: {sentence(rows)} (via a state: what its own move "
        f"passed on to this one).{chose}"
    )


def weight_words(weights: tuple[float, ...], axes: tuple[str, ...]) -> str:
    """'×0.93 general, ×1.51 ukraine, ×-0.03 third' (one weight: the same on every axis)."""
    every = np.broadcast_to(weights, len(axes))
    return ", ".join(f"×{weight:.2f} {axis}" for weight, axis in zip(every, axes, strict=True))


def stubbornness_words(model: ClassroomModel, iso3: str, value: float) -> str:
    """Why a state's stubbornness is what it is: a turn's 'hold' once the turn has happened,
    else the slider (or this state's own calibrated value)."""
    for timed in model.story.shocks:
        shock = timed.shock
        if (
            isinstance(shock, (MoveToward, Shift))
            and shock.member == iso3
            and shock.hold is not None
            and timed.date <= model.date
        ):
            return (
                f"since its turn on {timed.date:%d %B %Y} it holds its new line: the "
                f"calibration sets it to {shock.hold:.2f} (the turn's 'hold'), whatever the "
                "slider says"
            )
    if np.isclose(value, 1 - model.following):
        return "1 minus the *states follow one another* slider"
    return "this state's own value from the calibration"


APP_TITLE = "blocsim classroom: the 2025 US turn, and who followed"
MODEL_PARAMS = {
    "us_turn": Slider(label="US turn (1 = as measured)", value=1.0, min=0.0, max=2.0, step=0.1),
    # Below 1: stubbornness stays above 0 (anchors divide by it); the Friedkin-Johnsen fit
    # to 2025 (calibration/default.toml) had states follow one another 0.71 a week.
    "following": Slider(label="States follow one another", value=0.0, min=0.0, max=0.99, step=0.01),
}


# Charts take their card's width (Altair's "container" width needs a sized parent).
PAGE_CSS = ".vega-embed { width: 100%; } .vega-embed.has-actions { padding-right: 0; }"


@solara.component
def Page() -> None:
    """One model per browser session. Mesa's controller (Reset, play, Step) and parameter
    sliders, in a fixed layout: SolaraViz's draggable grid gives every card the same fixed
    height, which the network and the tallies overflow."""
    model = solara.use_reactive(solara.use_memo(ClassroomModel, []))
    parameters = solara.use_reactive({})
    solara.Title(APP_TITLE)  # the browser tab's title
    solara.Style(PAGE_CSS)
    with solara.AppBar():
        solara.AppBarTitle(APP_TITLE)
    with solara.Sidebar(), solara.Column():
        with solara.Card("Controls"):
            ModelController(
                model,
                model_parameters=parameters,
                play_interval=solara.use_reactive(400),  # ms between steps when playing
                render_interval=solara.use_reactive(1),
                use_threads=solara.use_reactive(False),
            )
        with solara.Card("What if"):
            solara.Markdown(
                "**US turn**: the size of the United States' move of 20 January 2025, as a "
                f"share of the move the record measures ({turn_words(model.value)}; 0 = no "
                "turn, 1 = as measured, 2 = twice it); its followers move with it, each by its "
                "own weights times this move. **States follow one another**: how much each "
                "state moves toward the states it listens to each week rather than keep to its "
                "own line (0 = not at all, as the record says; 0.99 = almost only its friends "
                "count). "
                "*Move a slider, then press Reset: the story starts again with it.*"
            )
            ModelCreator(model, MODEL_PARAMS, model_parameters=parameters)
    with solara.Columns([3, 2]):
        NetworkView(model.value)
        with solara.Column():
            RecordView(model.value)
            TallyView(model.value)
            StateView(model.value)

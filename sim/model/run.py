"""One run of a scenario, from file to run directory: `blocsim run` as a library function."""

from __future__ import annotations

import re
import shutil
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from sim.data.followers import followers
from sim.data.loader import UNData
from sim.data.resolutions import Resolution, resolution
from sim.model.agenda import Timeline, scenario_timeline
from sim.model.dynamics import Shift
from sim.model.explain import MAX_SHOCKS, TOWARD_AXIS, explain, explain_table, shock_label
from sim.model.model import BlocModel
from sim.model.scenario import Scenario
from sim.model.voting import VOTE_CODES
from sim.model.world import World
from sim.results import default_run_dir, run_directory, write_manifest, write_table


@dataclass(frozen=True)
class RunResult:
    """Where the run was written, and its two tables."""

    directory: Path
    tallies: pd.DataFrame
    votes: pd.DataFrame


def run_scenario(
    scenario: Scenario,
    data: UNData,
    seed: int | None = None,
    out: Path | None = None,
    seeds: int = 1,
) -> RunResult:
    """Build the model, run it until its last vote, and write the run directory.

    `seeds` > 1 also runs the story again with `seeds - 1` more seeds spawned from the root
    (`SeedSequence(root).spawn`) and writes every seed's tallies to `seeds.csv`, so figures
    can show how far the draws scatter; the root seed's run stays the detailed one.
    """
    seed = scenario.seed if seed is None else seed
    started = time.perf_counter()
    world, timeline = scenario_timeline(scenario, data)
    model = BlocModel(world, timeline, seed)
    built = time.perf_counter()
    model.run_model()
    finished = time.perf_counter()
    tallies, votes = vote_tables(model)
    per_seed = seed_tallies(world, timeline, model.seed_sequence, seeds, tallies)
    explained_started = time.perf_counter()
    explained, why = explain_run(model)
    explained_at = time.perf_counter()
    directory = Path(out) if out else default_run_dir(scenario.name, seed)
    with run_directory(directory) as staging:
        shutil.copyfile(scenario.path, staging / "scenario.toml")
        write_table(tallies, staging / "tallies.csv")
        write_table(votes, staging / "votes.csv")
        write_table(model.positions_table(), staging / "positions.csv")
        write_table(member_table(model), staging / "members.csv")
        write_table(tie_table(model), staging / "network.csv")
        write_table(expected_table(model), staging / "expected.csv")
        write_table(shock_table(model), staging / "shocks.csv")
        if explained is not None:
            write_table(explained, staging / "explain.csv")
        if seeds > 1:
            write_table(per_seed, staging / "seeds.csv")
        # The observed record beside the simulated one: who followed the US after its turn,
        # over all of the run's data (it ends after the run's data_until: not a model input).
        write_table(followers(data), staging / "followers.csv")
        write_manifest(
            staging,
            kind="run",
            scenario={"name": scenario.name, "file": str(scenario.path), "sha256": scenario.sha256},
            seed={
                "root": seed,
                "entropy": model.seed_sequence.entropy,
                "spawn_key": [],
                "seeds": seeds,
                "more_seeds": f"SeedSequence(root).spawn({seeds - 1}), seeds.csv"
                if seeds > 1
                else "",
            },
            data={"directory": str(data.data_dir), "fingerprint": data.fingerprint},
            data_until=scenario.data_until,
            calibration=str(scenario.calibration),
            parameters=scenario.parameters.to_dict(),
            steps=model.steps,
            explain=why,
            timings_seconds={
                "build": round(built - started, 3),
                "run": round(finished - built, 3),
                "explain": round(explained_at - explained_started, 3),
            },
        )
    return RunResult(directory, tallies, votes)


def seed_tallies(
    world: World,
    timeline: Timeline,
    root: np.random.SeedSequence,
    seeds: int,
    first: pd.DataFrame,
) -> pd.DataFrame:
    """Every seed's tallies: seed 0 is the root's run (`first`), seed k its (k-1)th spawned
    child's run on the same world and timeline."""
    tables = [first.assign(seed=0)]
    for number, child in enumerate(root.spawn(seeds - 1), start=1):
        model = BlocModel(world, timeline, child)
        model.run_model()
        tables.append(vote_tables(model)[0].assign(seed=number))
    table = pd.concat(tables, ignore_index=True)
    return table[["seed", *first.columns]]


def explain_run(model: BlocModel) -> tuple[pd.DataFrame | None, dict]:
    """Why each member moved from step 0 to the run's last step, split by shock (Shapley
    values) and by part (`sim.model.explain`): the table of `explain.csv`, and what its
    `toward` column means for the manifest. A run of more than `MAX_SHOCKS` shocks is not
    explained (None, and the manifest says why): the split would take 2^n runs."""
    shocks = [
        (step, shock)
        for step, acting in sorted(model.timeline.shocks.items())
        if step < model.steps
        for shock in acting
    ]
    if len(shocks) > MAX_SHOCKS:
        return None, {
            "skipped": f"{len(shocks)} shocks: a run is explained for at most {MAX_SHOCKS} "
            "shocks (their split runs every subset of them)"
        }
    timeline = model.timeline
    labels = [
        shock_label(shock, timeline.shock_date(step, shock), timeline.date_of(step))
        for step, shock in shocks
    ]
    explanation = explain(
        model.world.initial_state(), shocks, model.steps, labels, model.world.ukraine_axis
    )
    iso3 = model.world.iso3
    state = explanation.toward_state
    followed = {
        follower: {"follows": shock.member, "weights": list(weights)}
        for _, shock in shocks
        if isinstance(shock, Shift)
        for follower, weights in shock.followers
    }
    why = {
        "step": model.steps,
        "date": model.date.isoformat(),
        "toward": iso3[state] if state is not None else TOWARD_AXIS,
        "shocks": len(shocks),
        "method": "Shapley values over the run's shocks (every subset run); a part via a "
        "state is what its own move passed on, carried step by step (docs/model.md)",
        "alignment": followed,  # who followed a shift by its own weights (not through ties)
    }
    return explain_table(explanation, iso3, model.world.axis_names), why


def recorded_vote(name: str, day: str | date) -> Resolution | None:
    """The official record of a scenario's vote when it is a real one: its name starts with
    the symbol of a recorded vote held on the same day (e.g. "S/RES/2774 (US text)")."""
    try:
        found = resolution(name.split(" ")[0])
    except KeyError:
        return None
    return found if found.date.isoformat() == str(day) else None


def vote_tables(model: BlocModel) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Tallies per vote (amendments and texts, in order) and each member's vote on each."""
    tally_rows, vote_rows = [], []
    for held in model.held:
        record = held.record
        for index, (name, tally, outcome) in enumerate(
            zip(record.names, held.tallies, held.outcomes, strict=True)
        ):
            is_text = index == len(record.names) - 1
            tally_rows.append(
                {
                    "date": held.date.isoformat(),
                    "body": held.spec.body,
                    "vote": held.spec.name,
                    "on": "text" if is_text else "amendment",
                    "name": name,
                    "yes": tally.yes,
                    "no": tally.no,
                    "abstain": tally.abstain,
                    "not_voting": tally.not_voting,
                    "adopted": outcome.adopted,
                    "rule": outcome.rule,
                    "reason": outcome.reason,
                }
            )
            for iso3, code in zip(record.chamber.members, record.codes[index], strict=True):
                vote_rows.append(
                    {"vote": held.spec.name, "name": name, "iso3": iso3, "code": VOTE_CODES[code]}
                )
    return pd.DataFrame(tally_rows), pd.DataFrame(vote_rows)


def member_table(model: BlocModel) -> pd.DataFrame:
    """Who the members are (ISO3, ISO2 for the map, name, regional group, blocs), so a report
    needs no data directory."""
    return pd.DataFrame(
        {
            "iso3": [agent.iso3 for agent in model.members],
            "iso2": [iso2_code(code) for code in model.world.members["iso2"]],
            "name": [agent.name for agent in model.members],
            "un_group": [agent.un_group for agent in model.members],
            "blocs": [" ".join(agent.blocs) for agent in model.members],
        }
    )


def iso2_code(text: str) -> str:
    """The ISO 3166-1 alpha-2 code of a members.csv `iso2` cell: two of them (GBR, GRC) are
    patterns of the official code and the EU's (`^GB$|^UK$`); the first letter pair is the
    official one."""
    return re.findall(r"[A-Z]{2}", str(text).upper())[0]


SHOCK_COLUMNS = ["step", "date", "acts", "kind", "member", "target", "label"]


def shock_table(model: BlocModel) -> pd.DataFrame:
    """The shocks the run applied (the step it acts at, the date the scenario gives it, the
    grid date of its step, kind, the state that moved and toward whom, the label `explain`
    gives it), so a figure can mark when the world was pushed and say on which step."""
    timeline = model.timeline
    rows = []
    for step, shocks in sorted(timeline.shocks.items()):
        for shock in shocks:
            said, acts = timeline.shock_date(step, shock), timeline.date_of(step)
            rows.append(
                {
                    "step": step,
                    "date": said.isoformat(),
                    "acts": acts.isoformat(),
                    "kind": type(shock).__name__,
                    "member": getattr(shock, "member", ""),
                    "target": getattr(shock, "target", ""),
                    "label": shock_label(shock, said, acts),
                }
            )
    return pd.DataFrame(rows, columns=SHOCK_COLUMNS)


def tie_table(model: BlocModel, per_member: int = 10) -> pd.DataFrame:
    """Each member's strongest ties at the end of the run (after any tie shocks): `source`
    listens to `target` with `weight`, its share of the source's attention."""
    influence = model.state.influence  # (N, N) row-stochastic
    iso3 = model.world.iso3
    rows = []
    for source, row in enumerate(influence):
        order = np.argsort(-row, kind="stable")
        kept = [j for j in order if row[j] > 0 and j != source][:per_member]
        rows.extend(
            {"source": iso3[source], "target": iso3[j], "weight": float(row[j])} for j in kept
        )
    return pd.DataFrame(rows, columns=["source", "target", "weight"])


EXPECTED_COLUMNS = ("yes", "no", "abstain", "not_voting")  # the order of tallies.csv
COUNT_NAMES = dict(zip(VOTE_CODES, ("yes", "abstain", "no", "not_voting"), strict=True))


def expected_table(model: BlocModel) -> pd.DataFrame:
    """Expected counts of every vote (amendments, then the text as drafted) at every step's
    positions: how each vote would have gone had it been held that week."""
    trajectory = np.array(model.trajectory)  # (steps + 1, N, K)
    steps = range(len(trajectory))
    days = [model.timeline.date_of(step).isoformat() for step in steps]
    parts = []
    for _, spec, draft in model.timeline.votes:
        texts = [(a.name, "amendment", a.cut_points) for a in draft.amendments]
        texts.append((draft.name, "text", draft.cut_points))
        for name, on, cut_points in texts:
            counts = model.expected_counts(spec.body, cut_points, trajectory).round(3)
            columns = {COUNT_NAMES[code]: counts[:, i] for i, code in enumerate(VOTE_CODES)}
            parts.append(
                pd.DataFrame(
                    {
                        "step": steps,
                        "date": days,
                        "body": spec.body,
                        "vote": spec.name,
                        "on": on,
                        "name": name,
                        **{column: columns[column] for column in EXPECTED_COLUMNS},
                    }
                )
            )
    # step by step, and within a step the votes and their texts in order, as a reader scans it
    table = pd.concat(parts, ignore_index=True)
    return table.sort_values("step", kind="stable", ignore_index=True)

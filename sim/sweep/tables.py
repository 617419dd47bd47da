"""A sweep's tables, assembled from its block files in block order.

One streaming pass (memory: one block) writes `runs`, `members` and `trajectory` Parquet tables
(and their `baseline_` twins) and fills the tallies `sim.sweep.summary` answers the question
from; then `points.csv`, `summary.csv` and `flips.csv`. Block order, not the order blocks
finished in, fixes every byte.

    >>> answer = assemble(directory, plan, setup, data.members)
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from sim.errors import BlocsimError
from sim.files import partial_path
from sim.model.voting import VOTE_CODES
from sim.results import write_table
from sim.sweep.batch import SweepSetup
from sim.sweep.blocks import Block, completed_blocks, read_block
from sim.sweep.design import SweepPlan, plain
from sim.sweep.summary import Tallies, answer_lines, flips_table, member_zeros, summary_table


class _ParquetStream:
    """A Parquet table written block by block under a temporary name, renamed when closed."""

    def __init__(self, path: Path, schema: pa.Schema) -> None:
        self.path = path
        self.partial = partial_path(path)
        self.writer = pq.ParquetWriter(self.partial, schema)
        self.schema = schema

    def write(self, columns: Mapping[str, object]) -> None:
        self.writer.write_table(pa.table(dict(columns), schema=self.schema))

    def close(self) -> None:
        self.writer.close()
        os.replace(self.partial, self.path)


QUANTILES = ("yes_q10", "yes_q50", "yes_q90", "no_q50", "abstain_q50")  # `sim.sweep.batch` order
RUNS_SCHEMA = pa.schema(
    [
        ("point", pa.int32()),
        ("replicate", pa.int32()),
        ("vote", pa.string()),
        ("name", pa.string()),
        ("on", pa.string()),
        ("body", pa.string()),
        ("important", pa.bool_()),
        ("yes", pa.int16()),
        ("no", pa.int16()),
        ("abstain", pa.int16()),
        ("not_voting", pa.int16()),
        ("adopted", pa.bool_()),
    ]
)
MEMBERS_SCHEMA = pa.schema(
    [("point", pa.int32()), ("vote", pa.string()), ("iso3", pa.string())]
    + [(f"p_{code}", pa.float64()) for code in VOTE_CODES]
)
TRAJECTORY_SCHEMA = pa.schema(
    [("point", pa.int32()), ("vote", pa.string()), ("step", pa.int32()), ("date", pa.date32())]
    + [(name, pa.float32()) for name in QUANTILES]
)


class _Series:
    """Writes one series' tables (the sweep's, or the baseline's) and fills its tallies for the
    summary: per point and text, how often the text failed or fell below the thresholds."""

    def __init__(self, directory: Path, prefix: str, plan: SweepPlan, setup: SweepSetup) -> None:
        self.prefix, self.plan, self.setup = prefix, plan, setup
        self.runs = _ParquetStream(directory / f"{prefix}runs.parquet", RUNS_SCHEMA)
        self.members = _ParquetStream(directory / f"{prefix}members.parquet", MEMBERS_SCHEMA)
        self.trajectory = (
            _ParquetStream(directory / f"{prefix}trajectory.parquet", TRAJECTORY_SCHEMA)
            if setup.trajectory
            else None
        )
        slots = setup.slots
        self.ballots = [(s.vote, name) for s in slots for name in s.ballots]
        self.body = [s.body for s in slots for _ in s.ballots]
        self.important = [s.draft.important for s in slots for _ in s.ballots]
        self.on = [
            "text" if i == len(s.ballots) - 1 else "amendment"
            for s in slots
            for i in range(len(s.ballots))
        ]
        ends = np.cumsum([len(s.ballots) for s in slots])
        self.text_ballot = ends - 1  # ballot index of each text
        self.tallies = Tallies.zeros("baseline" if prefix else "sweep", slots, len(plan.points))
        self.pending: dict[int, list[np.ndarray]] = {}  # member counts of unfinished points
        self.dates = [setup.date_of(step) for step in range(setup.last_step + 1)]

    def add(
        self, block: Block, arrays: Mapping[str, np.ndarray], last_block_of: np.ndarray
    ) -> None:
        p = self.prefix
        counts, adopted = arrays[f"{p}counts"], arrays[f"{p}adopted"]  # (R, B, 4), (R, B)
        runs, ballots = adopted.shape
        point = np.repeat(block.points, block.runs)
        replicate = (block.first_replicate[:, None] + np.arange(block.runs)[None, :]).reshape(-1)
        self.runs.write(
            {
                "point": np.repeat(point, ballots).astype(np.int32),
                "replicate": np.repeat(replicate, ballots).astype(np.int32),
                "vote": [v for v, _ in self.ballots] * runs,
                "name": [n for _, n in self.ballots] * runs,
                "on": self.on * runs,
                "body": self.body * runs,
                "important": self.important * runs,
                "yes": counts[..., 0].reshape(-1),
                "no": counts[..., 2].reshape(-1),
                "abstain": counts[..., 1].reshape(-1),
                "not_voting": counts[..., 3].reshape(-1),
                "adopted": adopted.reshape(-1),
            }
        )
        for t, slot in enumerate(self.setup.slots):
            ballot = self.text_ballot[t]
            yes, no, abstain = (counts[:, ballot, c].astype(np.int64) for c in (0, 2, 1))
            failed = ~adopted[:, ballot]
            below_half = (
                2 * yes < yes + no + abstain if slot.body == "GA" else np.zeros_like(failed)
            )
            below_reference = (
                yes < self.plan.spec.reference_yes if slot.body == "GA" else below_half
            )
            flags = np.stack([np.ones_like(failed), failed, below_half, below_reference], axis=-1)
            tallies = self.tallies
            np.add.at(tallies.outcomes[t], point, flags.astype(np.int64))
            np.add.at(tallies.yes_sum[t], point, yes)
            if tallies.histogram is not None:
                np.add.at(tallies.histogram[t], (point, yes), 1)
            member_counts = arrays[f"{p}members_{t}"]  # (k, M, 4)
            tallies.member_totals[t] += member_counts.sum(axis=0)
            for j, point_id in enumerate(block.points):
                self.pending.setdefault(int(point_id), member_zeros(self.setup.slots, 4))
                self.pending[int(point_id)][t] += member_counts[j]
        for point_id in [q for q in self.pending if last_block_of[q] <= block.index]:
            self._write_members(point_id, self.pending.pop(point_id))
        if self.trajectory is not None and f"{p}trajectory" in arrays:
            self._write_trajectory(block, arrays[f"{p}trajectory"])

    def _write_members(self, point: int, counts: list[np.ndarray]) -> None:
        votes, iso3, shares = [], [], []
        for slot, count in zip(self.setup.slots, counts, strict=True):
            votes += [slot.vote] * len(slot.columns)
            iso3 += list(slot.chamber.members)
            shares.append(count / self.plan.replicates)
        shares = np.concatenate(shares)
        self.members.write(
            {
                "point": np.full(len(iso3), point, np.int32),
                "vote": votes,
                "iso3": iso3,
                **{f"p_{code}": shares[:, c] for c, code in enumerate(VOTE_CODES)},
            }
        )

    def _write_trajectory(self, block: Block, quantiles: np.ndarray) -> None:
        k, texts, steps, _ = quantiles.shape  # (k, texts, steps, 5)
        names = [slot.vote for slot in self.setup.slots]
        self.trajectory.write(
            {
                "point": np.repeat(block.points, texts * steps).astype(np.int32),
                "vote": [names[t] for _ in range(k) for t in range(texts) for _ in range(steps)],
                "step": np.tile(np.arange(steps), k * texts).astype(np.int32),
                "date": self.dates * (k * texts),
                **{name: quantiles[..., i].reshape(-1) for i, name in enumerate(QUANTILES)},
            }
        )

    def close(self) -> None:
        for stream in (self.runs, self.members, self.trajectory):
            if stream is not None:
                stream.close()


def assemble(
    directory: Path,
    plan: SweepPlan,
    setup: SweepSetup,
    members: pd.DataFrame,
    record: pd.DataFrame | None = None,
) -> list[str]:
    """The final tables from the block files, streamed in block order (memory: one block), then
    `points.csv`, `summary.csv` and `flips.csv`. Returns the lines that answer the question.
    `record`: `sim.data.followers.followers`' table, set beside the states that flip."""
    done = completed_blocks(directory)
    missing = [b.index for b in plan.blocks if b.index not in done]
    if missing:
        raise BlocsimError(f"{len(missing)} blocks are missing; resume the sweep", file=directory)
    last_block_of = np.zeros(len(plan.points), int)
    for block in plan.blocks:
        last_block_of[block.points] = block.index
    baseline = plan.spec.baseline_drop is not None
    series = [_Series(directory, "", plan, setup)]
    if baseline:
        series.append(_Series(directory, "baseline_", plan, setup))
    flips = member_zeros(setup.slots, 3)  # per text (M, 3): changed, Yes lost, Yes gained
    for block in plan.blocks:
        arrays = read_block(directory, block.index)
        for one in series:
            one.add(block, arrays, last_block_of)
        if baseline:
            for t in range(len(setup.slots)):
                flips[t] += arrays[f"flips_{t}"].sum(axis=0)
    for one in series:
        one.close()
    write_table(_points_table(plan), directory / "points.csv")
    tallies = [one.tallies for one in series]
    summary = summary_table(plan, setup, tallies)
    write_table(summary, directory / "summary.csv")
    flip_table = None
    if baseline:
        flip_table = flips_table(plan, setup, tallies, flips, members, record)
        write_table(flip_table, directory / "flips.csv")
    shocks = tomllib.loads((directory / "scenario.toml").read_text()).get("shocks", [])
    return answer_lines(plan, setup, summary, flip_table, shocks=shocks)


def _points_table(plan: SweepPlan) -> pd.DataFrame:
    table = plan.points.copy()
    for p in plan.spec.parameters:
        if p.is_date:
            table[p.name] = [plain(v) for v in table[p.name]]
    return table

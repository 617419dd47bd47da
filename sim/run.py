"""One run of a scenario, from file to run directory: `blocsim run` as a library function."""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from sim.data import UNData
from sim.model import BlocModel
from sim.results import default_run_dir, run_directory, write_manifest, write_table
from sim.scenario import Scenario
from sim.voting import VOTE_CODES


@dataclass(frozen=True)
class RunResult:
    """Where the run was written, and its two tables."""

    directory: Path
    tallies: pd.DataFrame
    votes: pd.DataFrame


def run_scenario(
    scenario: Scenario, data: UNData, seed: int | None = None, out: Path | None = None
) -> RunResult:
    """Build the model, run it until its last vote, and write the run directory."""
    seed = scenario.seed if seed is None else seed
    started = time.perf_counter()
    model = BlocModel.from_scenario(scenario, data, seed)
    built = time.perf_counter()
    model.run_model()
    finished = time.perf_counter()
    tallies, votes = vote_tables(model)
    directory = Path(out) if out else default_run_dir(scenario.name, seed)
    with run_directory(directory) as staging:
        shutil.copyfile(scenario.path, staging / "scenario.toml")
        write_table(tallies, staging / "tallies.csv")
        write_table(votes, staging / "votes.csv")
        write_table(model.positions_table(), staging / "positions.csv")
        write_manifest(
            staging,
            kind="run",
            scenario={"name": scenario.name, "file": str(scenario.path), "sha256": scenario.sha256},
            seed={"root": seed, "entropy": model.seed_sequence.entropy, "spawn_key": []},
            data={"directory": str(data.data_dir), "fingerprint": data.fingerprint},
            data_until=scenario.data_until,
            calibration=str(scenario.calibration),
            parameters=scenario.parameters.to_dict(),
            steps=model.steps,
            timings_seconds={
                "build": round(built - started, 3),
                "run": round(finished - built, 3),
            },
        )
    return RunResult(directory, tallies, votes)


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

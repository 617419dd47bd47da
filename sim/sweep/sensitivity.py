"""Which swept parameter matters: sensitivity indices of a finished sweep, computed by SALib.

A `saltelli` design gives first-order and total Sobol indices (S1, ST; `SALib.analyze.sobol`);
any other design (grid, Latin hypercube, Sobol sequence) gives the first-order index S1
estimated from the given data (`SALib.analyze.delta`, method "sobol"), which needs no special
sample. Each index comes with its 95 % bootstrap confidence interval. (SALib 1.6's Borgonovo
delta itself took 44 s on 48 points and returned NaN for a date parameter: not used.) SALib does the mathematics; this module only
turns a sweep directory into SALib's inputs and its answers into one long table.

The outcome of a design point is its mean over the point's replicates (the expected Yes count,
the probability of adoption, a member's probability of voting Yes): the vote draws are noise
the parameters do not control, and the mean is the response whose variance Sobol splits among
them. The replicates' own noise adds `variance / replicates` to every point and so slightly
lowers the indices; more replicates shrink it.

    >>> found = analyze_sweep(Path("results/us_realignment_sobol-sweep-..."))
    >>> found.table[found.table.index_name == "ST"]
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
from SALib.analyze import delta, sobol

from sim.errors import BlocsimError
from sim.results import read_manifest

ANALYSIS_KEY = 2  # spawn key (2,) of the sweep's root seeds the bootstrap of the intervals
CONFIDENCE = 0.95
RESAMPLES = 1000
COLUMNS = [
    "vote",
    "outcome",
    "parameter",
    "method",
    "index_name",
    "value",
    "ci_low",
    "ci_high",
    "noise_share",
]


@dataclass(frozen=True)
class Sensitivity:
    """A sweep's indices and the outcomes that have none (equal at every design point)."""

    table: pd.DataFrame  # COLUMNS, one row per vote, outcome, parameter and index
    constant: list[str]  # "vote: outcome"


def analyze_sweep(directory: str | Path, members: tuple[str, ...] = ()) -> Sensitivity:
    """Sensitivity indices of every text's outcomes to every varied parameter, as a long table.

    Columns: `vote, outcome, parameter, method` ("sobol" or "given_data"), `index_name` (S1,
    or ST with "sobol"), `value, ci_low, ci_high` (95 %). Outcomes: `yes` (mean Yes count), `adopted`
    (share of runs adopted), and `p_yes[ISO3]` for the `[sweep]` section's
    `sensitivity_members` and `members`. `noise_share`: the share of the outcome's variance
    over the points that the replicates' vote draws alone would give; near 1 the indices
    describe noise (every ST near 1, every S1 near 0): run more replicates. An outcome equal
    at every point cannot be apportioned among the parameters: it is listed in `constant`.
    """
    sweep = _SweepOutcomes(Path(directory), members)
    rows, constant = [], []
    for (vote, outcome), (values, noise) in sweep.outcomes().items():
        if np.ptp(values) == 0:
            constant.append(f"{vote}: {outcome}")
        else:
            noise_share = min(1.0, noise / values.var(ddof=1))
            rows += [[*row, noise_share] for row in sweep.indices(vote, outcome, values)]
    return Sensitivity(pd.DataFrame(rows, columns=COLUMNS), constant)


class _SweepOutcomes:
    """A finished sweep directory read as SALib's inputs: the design and each outcome per point."""

    def __init__(self, directory: Path, members: tuple[str, ...]) -> None:
        manifest = read_manifest(directory)
        if manifest.get("kind") != "sweep":
            raise BlocsimError(
                "not a sweep directory (manifest kind is not 'sweep')", file=directory
            )
        if manifest.get("status") != "complete":
            raise BlocsimError(
                "the sweep is not complete: finish it with blocsim sweep --resume", file=directory
            )
        self.directory = directory
        self.design = manifest["design"]["kind"]
        self.names = [p["name"] for p in manifest["parameters_varied"]]
        self.replicates = manifest["design"]["replicates"]
        self.seed = int(
            np.random.SeedSequence(
                manifest["seed"]["root"], spawn_key=(ANALYSIS_KEY,)
            ).generate_state(1)[0]
        )
        self.points = pd.read_csv(directory / "points.csv").sort_values("point")
        self.runs = pd.read_parquet(directory / "runs.parquet", filters=[("on", "==", "text")])
        self.members = pd.read_parquet(directory / "members.parquet")
        self.watched = _watched_members(directory, members, self.members)

    def outcomes(self) -> dict[tuple[str, str], tuple[np.ndarray, float]]:
        """(vote, outcome) -> ((points,) the outcome's mean over each point's replicates, the
        variance those means owe to the replicates' own draws, averaged over the points)."""
        by_point = self.runs.groupby(["vote", "point"], sort=False)[["yes", "adopted"]]
        means, spread = by_point.mean(), by_point.var(ddof=1).fillna(0.0)
        result = {}
        for vote in self.runs["vote"].unique():
            for column in ("yes", "adopted"):
                values = means.loc[vote].sort_index()[column].to_numpy(float)
                result[(vote, column)] = (values, spread.loc[vote][column].mean() / self.replicates)
            seated = self.members[self.members["vote"] == vote]
            for iso3 in self.watched:
                share = seated[seated["iso3"] == iso3].sort_values("point")["p_Y"].to_numpy(float)
                if len(share):  # a Security Council text: only its seated members
                    noise = np.mean(share * (1 - share)) / self.replicates
                    result[(vote, f"p_yes[{iso3}]")] = (share, noise)
        return result

    def indices(self, vote: str, outcome: str, values: np.ndarray) -> list[list]:
        """SALib's indices of one outcome, one row per parameter and index."""
        problem = {"num_vars": len(self.names), "names": self.names}
        common = {"conf_level": CONFIDENCE, "num_resamples": RESAMPLES, "seed": self.seed}
        if self.design == "saltelli":
            problem["bounds"] = [[0.0, 1.0]] * len(self.names)
            found = sobol.analyze(problem, values, calc_second_order=False, **common)
            method, index_names = "sobol", ("S1", "ST")
        else:
            design = self._numeric_design()
            problem["bounds"] = np.column_stack([design.min(0), design.max(0)]).tolist()
            found = delta.analyze(problem, design, values, method="sobol", **common)
            method, index_names = "given_data", ("S1",)
        rows = []
        for j, name in enumerate(self.names):
            for index_name in index_names:
                value, half = float(found[index_name][j]), float(found[f"{index_name}_conf"][j])
                rows.append(
                    [vote, outcome, name, method, index_name, value, value - half, value + half]
                )
        return rows

    def _numeric_design(self) -> np.ndarray:
        """(points, parameters) the design as numbers: dates as days since the earliest."""
        columns = []
        for name in self.names:
            column = self.points[name]
            if not pd.api.types.is_numeric_dtype(column):  # YYYY-MM-DD
                days = np.array([date.fromisoformat(v).toordinal() for v in column], float)
                columns.append(days - days.min())
            else:
                columns.append(column.to_numpy(float))
        return np.column_stack(columns)


def _watched_members(
    directory: Path, members: tuple[str, ...], table: pd.DataFrame
) -> tuple[str, ...]:
    """The `[sweep]` section's `sensitivity_members` and the asked ones, each once."""
    scenario = tomllib.loads((directory / "scenario.toml").read_text())
    configured = scenario.get("sweep", {}).get("sensitivity_members", [])
    known = set(table["iso3"])
    watched = []
    for code in (*configured, *members):
        code = code.upper()
        if code not in known:
            raise BlocsimError(f"'{code}' is not a member voting in this sweep", field="--member")
        if code not in watched:
            watched.append(code)
    return tuple(watched)

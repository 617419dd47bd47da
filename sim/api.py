"""blocsim as a plain function of its parameters, for exploratory modelling and notebooks.

`run_model(**params)` runs the US turn of `scenarios/us_realignment_sobol.toml` (the one world
of calibration/default.toml: three axes, the US turn as the 2025 record measures it, each member
following it by its alignment weight; ES-11/7's text voted on 24 Feb 2025 and again a year later) at the given parameter values, on the sweep's
batched kernel (`sim.sweep.batch`), and returns a flat dict of scalar outcomes: what the EMA
Workbench wraps as a model.

    >>> from sim.api import run_model
    >>> run_model(turn_ukraine=0.0, stubbornness=0.05, replicates=50)["a_res_es_11_7_yes"]

    >>> from ema_workbench import Model, RealParameter, ScalarOutcome
    >>> model = Model("blocsim", function=run_model)
    >>> model.uncertainties = [
    ...     RealParameter("turn_ukraine", 0.0, 3.92),
    ...     RealParameter("stubbornness", 0.037, 1.0),
    ... ]
    >>> model.outcomes = [ScalarOutcome(name) for name in outcome_names()]

The world, the texts' cut-points and the chambers are built once per process (the slow part,
seconds); each call then costs one block of `replicates` runs.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import re
from datetime import timedelta
from pathlib import Path

import numpy as np

from sim.data.loader import UNData, load_data
from sim.errors import BlocsimError
from sim.model.scenario import Scenario, load_scenario
from sim.model.voting import VOTE_CODES
from sim.sweep.batch import SweepSetup, simulate_block
from sim.sweep.design import plan_sweep, read_sweep
from sim.sweep.inputs import BlockTasks, sweep_setup

SCENARIO = Path(__file__).resolve().parent.parent / "scenarios" / "us_realignment_sobol.toml"
# Each keyword of run_model and the scenario field it sets (see docs/sweeps.md).
PARAMETERS = {
    "turn_general": "shocks[0].by[0]",
    "turn_ukraine": "shocks[0].by[1]",
    "turn_third": "shocks[0].by[2]",
    "turn_date_offset_days": "shocks[0].date",
    "stubbornness": "parameters.stubbornness",
    "parting": "parameters.parting",
    "turn_cost": "parameters.turn_cost",
}
COUNTS = {"Y": "yes", "A": "abstain", "N": "no", "X": "not_voting"}


def run_model(
    turn_general: float | None = None,
    turn_ukraine: float | None = None,
    turn_third: float | None = None,
    turn_date_offset_days: int = 0,
    stubbornness: float | None = None,
    parting: float | None = None,
    turn_cost: float | None = None,
    seed: int | None = None,
    replicates: int = 1,
) -> dict[str, float]:
    """Outcomes of `replicates` runs at these parameter values (None: the scenario's value).

    - `turn_general`, `turn_ukraine`, `turn_third`: the US move on each axis of the world
      (default: the move the 2025 record measures, +1.56, +1.96, -4.81; 0 = no move); the
      members follow it by their alignment weights (calibration/default.toml), so their
      moves scale with it.
    - `turn_date_offset_days`: days after 20 Jan 2025 that it turns (the world's data end
      on that day: an earlier turn is an error).
    - `stubbornness`: every member's weight on its own anchor (default 1: nobody follows
      through the ties, the held-out winner; 0.29 the Friedkin-Johnsen fit).
    - `parting`, `turn_cost`: how the turn spreads through the ties when members follow
      (default 0, 0: Friedkin-Johnsen; `sim.model.dynamics`).
    - `seed`: the root seed of the runs' draws (default: the scenario's).

    Returns, for each text (named as a slug, e.g. `a_res_es_11_7`): `<text>_yes`, `_no`,
    `_abstain`, `_not_voting` (mean counts over the replicates) and `_adopted` (the share of
    runs in which it passes its chamber's rule; 0 or 1 for one replicate).
    """
    model = _model()
    values = {
        "turn_general": turn_general,
        "turn_ukraine": turn_ukraine,
        "turn_third": turn_third,
        "turn_date_offset_days": turn_date_offset_days,
        "stubbornness": stubbornness,
        "parting": parting,
        "turn_cost": turn_cost,
    }
    scenario = _with_values(model.scenario, values, seed, replicates)
    plan = plan_sweep(_read(scenario, model.data))
    setup = dataclasses.replace(model.setup, root=plan.seed)
    tasks = BlockTasks(scenario, model.data, model.tasks.world, model.tasks.timeline, plan)
    results = [simulate_block(setup, tasks.task(block))[1] for block in plan.blocks]
    counts = np.concatenate([r["counts"] for r in results])  # (R, ballots, 4)
    adopted = np.concatenate([r["adopted"] for r in results])  # (R, ballots)
    outcomes = {}
    for text, ballot in _texts(setup):
        for code, column in zip(VOTE_CODES, counts[:, ballot].T, strict=True):
            outcomes[f"{text}_{COUNTS[code]}"] = float(column.mean())
        outcomes[f"{text}_adopted"] = float(adopted[:, ballot].mean())
    return outcomes


def outcome_names() -> list[str]:
    """The keys `run_model` returns, in its order: to declare the EMA Workbench's outcomes."""
    suffixes = (*COUNTS.values(), "adopted")
    return [f"{text}_{suffix}" for text, _ in _texts(_model().setup) for suffix in suffixes]


def calibrated_values() -> dict[str, float]:
    """The parameters' defaults: the scenario's values (the turn as measured, no spread)."""
    return _calibrated(_model().scenario)


@dataclasses.dataclass(frozen=True)
class _Model:
    data: UNData
    scenario: Scenario
    setup: SweepSetup
    tasks: BlockTasks


@functools.cache
def _model() -> _Model:
    """The data, the scenario and the world built into the kernel's inputs, once per process."""
    data = load_data()
    scenario = load_scenario(SCENARIO, data.members)
    plan = plan_sweep(_read(_with_values(scenario, {}, None, 1), data))
    setup, tasks = sweep_setup(scenario, data, plan)
    return _Model(data, scenario, setup, tasks)


def _with_values(scenario: Scenario, values: dict, seed: int | None, replicates: int) -> Scenario:
    """The scenario whose `[sweep]` is one point: these values (or the calibrated ones)."""
    chosen = {k: v for k, v in values.items() if v is not None}
    chosen = {**_calibrated(scenario), **chosen}
    offset = timedelta(days=int(round(chosen.pop("turn_date_offset_days"))))
    chosen["turn_date_offset_days"] = scenario.shocks[0].date + offset
    parameters = [{"name": name, "values": [chosen[k]]} for k, name in PARAMETERS.items()]
    raw = copy.deepcopy(dict(scenario.raw))
    raw["sweep"] = {
        **{k: v for k, v in raw["sweep"].items() if k not in ("points", "baseline")},
        "design": "grid",
        "replicates": replicates,
        "seed": scenario.seed if seed is None else seed,
        "trajectory": False,
        "parameters": parameters,
    }
    return dataclasses.replace(scenario, raw=raw)


def _calibrated(scenario: Scenario) -> dict[str, float]:
    general, ukraine, third = scenario.shocks[0].shock.by
    return {
        "turn_general": float(general),
        "turn_ukraine": float(ukraine),
        "turn_third": float(third),
        "turn_date_offset_days": 0,
        "stubbornness": scenario.parameters.stubbornness,
        "parting": scenario.parameters.parting,
        "turn_cost": scenario.parameters.turn_cost,
    }


def _read(scenario: Scenario, data: UNData):
    """The one-point `[sweep]`, its mistakes named by `run_model`'s keywords."""
    try:
        return read_sweep(scenario, data.members)
    except BlocsimError as error:
        field = (error.field or "").removeprefix("sweep.")
        match = re.match(r"parameters\[(\d+)\]", field)
        keyword = list(PARAMETERS)[int(match.group(1))] if match else field
        raise BlocsimError(error.reason, field=keyword) from None


def _texts(setup: SweepSetup) -> list[tuple[str, int]]:
    """(slug, ballot index) of each text: its ballots are its amendments, then itself."""
    texts, ballot = [], -1
    for slot in setup.slots:
        ballot += len(slot.ballots)
        texts.append((re.sub(r"[^a-z0-9]+", "_", slot.vote.lower()).strip("_"), ballot))
    return texts

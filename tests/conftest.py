"""Shared fixtures: the real UN data, loaded once per test session, the K = 3 world, one run
of a turn the ties carry and one small real sweep (their directories are what `blocsim report`
and `blocsim explain` read, so those tests share them)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from sim.data.loader import UNData, load_data
from sim.data.resolutions import RESOLUTIONS, Resolution
from sim.model.parameters import Parameters
from sim.model.run import run_scenario
from sim.model.scenario import Scenario, load_scenario
from sim.model.world import World, build_world
from sim.sweep.runner import SweepResult, run_sweep

# The record's one Council text: the small sweep's SC text is fitted to its public tally
# (10-0-5, `sim.data.resolutions`); its per-country votes are not in the data, and no test
# states them.
(COUNCIL_RECORD,) = [record for record in RESOLUTIONS.values() if record.body == "SC"]

# Three texts (a GA text, the same text as an important question, an SC text with an
# amendment), a grid of 8 points x 40 replicates in blocks of 100 runs, a status-quo baseline.
# `{sc_date}` is the Security Council vote's date.
SMALL_SWEEP = """
name = "small_sweep"
data_until = "2025-01-01"
seed = 7
historical_shocks = false

[[shocks]]
date = "2025-01-20"
kind = "move_toward"
member = "USA"
target = "RUS"
fraction = 0.6
hold = 0.9

[[votes]]
name = "A/RES/ES-11/7"
body = "GA"
date = "2025-02-24"
like = "A/RES/ES-11/7"

[[votes]]
name = "A/RES/ES-11/7 (important)"
body = "GA"
date = "2025-02-24"
like = "A/RES/ES-11/7"
important = true

[[votes]]
name = "SC text"
body = "SC"
date = "{sc_date}"
like = "COUNCIL_LIKE"
polarity = "reverse"
  [[votes.amendments]]
  name = "European amendment"
  like = "A/RES/ES-11/7"

[sweep]
design = "grid"
replicates = 40
block_size = 100
position_noise = 0.05

[[sweep.parameters]]
name = "shocks[0].fraction"
values = [0.3, 0.9]

[[sweep.parameters]]
name = "shocks[0].date"
values = [2025-01-06, 2025-02-03]

[[sweep.parameters]]
name = "parameters.stubbornness_by_group.eu"
values = [0.3, 0.7]

[sweep.baseline]
drop_shocks = [0]
""".replace("COUNCIL_LIKE", COUNCIL_RECORD.symbol)


@pytest.fixture(scope="session")
def data() -> UNData:
    return load_data()


@pytest.fixture(scope="session")
def council_record() -> Resolution:
    """The record's Council text: its public tally and date only (no per-country votes)."""
    return COUNCIL_RECORD


# A run in which the ties carry a US turn, so `explain` and `report` have parts to show (the
# record shows no such spread: the shipped scenarios do not carry it). A GA text with an
# amendment, then a Council text, on the default calibration with its stubbornness set here.
CARRIED_RUN = """
name = "carried"
data_until = "2025-01-01"
seed = 2025
historical_shocks = false

[parameters]
stubbornness = 0.213886
stubbornness_by_group.eu = 0.726547

[[shocks]]
date = "2025-01-20"
kind = "move_toward"
member = "USA"
target = "RUS"
fraction = 0.6
hold = 0.9

[[votes]]
name = "GA text like A/RES/ES-11/7"
body = "GA"
date = "2025-04-24"
like = "A/RES/ES-11/7"
  [[votes.amendments]]
  name = "US amendment dropping the words blaming Russia"
  tally = "67-69-39"
  polarity = "reverse"
  shift = 1.0

[[votes]]
name = "SC text naming Russia's invasion"
body = "SC"
date = "2025-06-24"
like = "A/RES/ES-11/7"
"""
RUN_SEEDS = 3  # the carried run's seeds: the root's run in full, every seed's tallies


@pytest.fixture(scope="session")
def carried_scenario(data, tmp_path_factory) -> Scenario:
    path = tmp_path_factory.mktemp("carried") / "carried.toml"
    path.write_text(CARRIED_RUN)
    return load_scenario(path, data.members)


@pytest.fixture(scope="session")
def run_dir(carried_scenario, data, tmp_path_factory) -> Path:
    """A real run of `CARRIED_RUN` with `RUN_SEEDS` seeds. Treat it as read-only (the report
    tests write its report/)."""
    out = tmp_path_factory.mktemp("run") / "carried"
    return run_scenario(carried_scenario, data, out=out, seeds=RUN_SEEDS).directory


@pytest.fixture(scope="session")
def kworld(data) -> World:
    """The world in K = 3 dimensions (the ideal points) at the cut-off 2025-01-01. Its cold
    ideal-point fit takes ~22 s; built once a session (and cached on disk), every test shares
    it, and a scenario with that cut-off and `dimensions = 3` reuses the same fit."""
    return build_world(data, date(2025, 1, 1), Parameters(dimensions=3))


@pytest.fixture(scope="session")
def sweep_template() -> str:
    """The small sweep's scenario text, to vary; `{sc_date}` is the SC vote's date."""
    return SMALL_SWEEP


@pytest.fixture(scope="session")
def small_sweep_scenario(tmp_path_factory, data) -> Scenario:
    path = tmp_path_factory.mktemp("small_sweep") / "sweep.toml"
    path.write_text(SMALL_SWEEP.format(sc_date="2025-02-24"))
    return load_scenario(path, data.members)


@pytest.fixture(scope="session")
def small_sweep(small_sweep_scenario, data) -> SweepResult:
    """The small sweep, one worker, in process: the reference every other run must equal and
    the directory the report tests read. Treat it as read-only."""
    out = Path(small_sweep_scenario.path).parent / "serial"
    return run_sweep(small_sweep_scenario, data, out, progress=False)

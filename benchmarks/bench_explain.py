"""What explaining a run adds to `blocsim run`: the Shapley decomposition and explain.csv.

    .venv/bin/python benchmarks/bench_explain.py [--scenario scenarios/us_realignment.toml] [--repeats 5]

In one process, with the data and the world's estimate cached (a warm run): the scenario's
model is run to its last vote, then (1) `explain_run` (every subset of the run's shocks run
again with the state recorded, the parts decomposed, the long table built) and (2) writing
that table as explain.csv, each timed `--repeats` times (median). Then the same with the
scenario's shocks plus extra shifts of other members, 3 and 10 shocks in all (2^3 and 2^10
runs), to show how the Shapley split grows with the number of shocks.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

from sim.data.loader import load_data
from sim.model.dynamics import Shift
from sim.model.model import BlocModel
from sim.model.run import explain_run
from sim.model.scenario import load_scenario

EXTRA = ("BRA", "IND", "ZAF", "TUR", "IDN", "MEX", "SAU", "EGY", "NGA")  # shifted by 0.1


def median_seconds(call, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return sorted(times)[len(times) // 2]


def with_shocks(model: BlocModel, count: int) -> BlocModel:
    """The model's run with its shocks plus shifts of `EXTRA` members at step 1, `count` in all."""
    shocks = {step: list(acting) for step, acting in model.timeline.shocks.items()}
    have = sum(len(acting) for acting in shocks.values())
    shocks.setdefault(1, []).extend(Shift(iso3, (0.1,)) for iso3 in EXTRA[: count - have])
    timeline = dataclasses.replace(model.timeline, shocks=shocks)
    return BlocModel(model.world, timeline, model.seed_sequence)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="scenarios/us_realignment.toml")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    data = load_data()
    scenario = load_scenario(args.scenario, data.members)
    model = BlocModel.from_scenario(scenario, data)
    run = median_seconds(lambda: BlocModel.from_scenario(scenario, data).run_model(), args.repeats)
    model.run_model()
    print(f"{args.scenario}: {model.steps} steps, {len(model.world.iso3)} members")
    print(f"build and run the model: {run:.3f} s")
    for count in (None, 3, 10):
        shocked = model if count is None else with_shocks(model, count)
        shocked.run_model()
        explained = median_seconds(lambda m=shocked: explain_run(m), args.repeats)
        table, _ = explain_run(shocked)
        with tempfile.TemporaryDirectory() as scratch:
            out = Path(scratch) / "explain.csv"
            written = median_seconds(
                lambda t=table, o=out: t.to_csv(o, index=False, lineterminator="\n"), args.repeats
            )
            size = out.stat().st_size / 1e6
        shocks = sum(len(acting) for acting in shocked.timeline.shocks.values())
        print(
            f"{shocks} shock(s): explain_run {explained:.3f} s, explain.csv {written:.3f} s "
            f"({len(table)} rows, {size:.1f} MB)"
        )


if __name__ == "__main__":
    main()

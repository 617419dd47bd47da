"""What one step of the parting rule costs a 1000-run float32 block, against Friedkin-Johnsen,
and against the parting kernel of another revision in the same process (`--before FILE`, e.g.
the numpy kernel before numba: `git show 657c6f0:sim/model/dynamics.py > /tmp/dynamics_before.py`).

The world of benchmarks/bench_sweep_parting.toml (the real influence network at the 2025
cut-off: 11,472 ties, 5,993 pairs of tied members; parting 2, turn_cost 0.3), each run's
positions perturbed and at rest, then the US shifted and two steps taken, so every timed step
is a moving one (not the Friedkin-Johnsen step of a state at rest). `FJState.step` as a sweep
worker runs it, on one BLAS thread; CPU seconds per step (`time.process_time`), best of
several repeats, so other work on the machine inflates it least.

    .venv/bin/python benchmarks/bench_parting_step.py [--before /tmp/dynamics_before.py]
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from sim.data.loader import load_data
from sim.model.agenda import scenario_timeline
from sim.model.dynamics import FJState, rest_anchors
from sim.model.scenario import load_scenario

SCENARIO = Path(__file__).resolve().parent / "bench_sweep_parting.toml"


def best_cpu_seconds(step, repeats: int, number: int) -> float:
    """CPU seconds per step, best of `repeats`, each the mean of `number` steps."""
    best = float("inf")
    for _ in range(repeats):
        started = time.process_time()
        for _ in range(number):
            step()
        best = min(best, (time.process_time() - started) / number)
    return best


def moving_state(runs: int, dimensions: int, dynamics=None) -> FJState:
    """The benchmark world's float32 state of `runs` runs, shifted and stepped twice;
    `dynamics`: another revision's module to build it with (default: this one's)."""
    data = load_data()
    world, _ = scenario_timeline(load_scenario(SCENARIO, data.members), data)
    rng = np.random.default_rng(0)
    positions = np.column_stack(
        [world.positions, rng.normal(0, 1, (len(world.iso3), dimensions - 1))]
    )
    start = (positions + 0.05 * rng.standard_normal((runs, *positions.shape))).astype(np.float32)
    stubbornness = world.stubbornness().astype(np.float32)
    influence = world.influence().astype(np.float32)
    anchors = rest_anchors(start, stubbornness, influence)
    parameters = world.parameters
    kernel = dynamics or sys.modules[FJState.__module__]
    state = kernel.FJState.start(
        start,
        anchors,
        stubbornness,
        influence,
        world.iso3,
        parameters.parting,
        parameters.turn_cost,
    )
    kernel.Shift("USA", (0.5,) * dimensions, hold=0.9).apply(state)
    state.step()
    state.step()
    return state


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--dimensions", type=int, nargs="+", default=[1, 3])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--number", type=int, default=10)
    parser.add_argument("--before", type=Path, help="a dynamics.py whose parting_step to time")
    args = parser.parse_args()
    before = None
    if args.before:
        spec = importlib.util.spec_from_file_location("dynamics_before", args.before)
        before = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = before  # its dataclasses look their module up there
        spec.loader.exec_module(before)
    with threadpool_limits(1):
        for dimensions in args.dimensions:
            state = moving_state(args.runs, dimensions)
            parting = best_cpu_seconds(state.step, args.repeats, args.number)
            fj = FJState.start(state.positions, state.anchors, state.stubbornness, state.influence)
            plain = best_cpu_seconds(fj.step, args.repeats, args.number)
            line = (
                f"K = {dimensions}, R = {args.runs}: parting FJState.step {parting * 1e3:.1f} ms, "
                f"Friedkin-Johnsen {plain * 1e3:.2f} ms ({parting / plain:.0f}x)"
            )
            if before is not None:
                old_state = moving_state(args.runs, dimensions, before)
                old = best_cpu_seconds(old_state.step, args.repeats, args.number)
                line += f"; {args.before.name}: {old * 1e3:.1f} ms ({old / parting:.1f}x slower)"
            print(line)


if __name__ == "__main__":
    main()

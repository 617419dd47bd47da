"""Each spread rule's step and block phase against the floor of its arithmetic, on one core.

For the world of the mission's sweep (scenarios/us_realignment_sweep.toml: K = 3, the real
network, 11,472 ties in 5,993 pairs) and a moving float32 block of `--runs` runs:

- the machine's measured rates on one thread: float32 matrix products at the FJ step's shape
  (FLOP/s) and a large array copy (bytes/s);
- per rule (Friedkin-Johnsen; parting = 0 with a turn cost, one matrix product; the parting
  rule, that product and the pair kernel of sim/model/tie_kernels.py over every pair), the CPU
  time of one `FJState.step`, the arithmetic it needs and the floor: max(FLOP / FLOP/s,
  bytes / bandwidth);
- per rule, the block phase: CPU time of `simulate_block` for one block of the mission's sweep
  at that rule (stubbornness 0.05; 1.0 for the static rule), as runs per CPU second.

    .venv/bin/python benchmarks/bench_rules.py [--runs 1000]
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from sim.data.loader import load_data
from sim.model.dynamics import FJState, Shift, rest_anchors
from sim.model.scenario import load_scenario
from sim.sweep.batch import simulate_block
from sim.sweep.design import plan_sweep, read_sweep
from sim.sweep.inputs import sweep_setup

MISSION = Path(__file__).resolve().parent.parent / "scenarios" / "us_realignment_sweep.toml"
RULES = {  # name: (stubbornness, parting, turn_cost)
    "static (stubbornness 1)": (1.0, 0.0, 0.0),
    "Friedkin-Johnsen": (0.05, 0.0, 0.0),
    "turn cost only (linear)": (0.05, 0.0, 0.15),
    "parting + turn cost": (0.05, 1.0, 0.15),
}


def cpu_seconds(call, repeats: int = 5, number: int = 5) -> float:
    """CPU seconds per call, best of `repeats` means of `number` calls."""
    call()
    best = float("inf")
    for _ in range(repeats):
        started = time.process_time()
        for _ in range(number):
            call()
        best = min(best, (time.process_time() - started) / number)
    return best


def machine_rates(runs: int, size: int, dimensions: int) -> tuple[float, float]:
    """(FLOP/s of float32 products at the FJ step's shape, bytes/s of a 256 MiB copy)."""
    rng = np.random.default_rng(0)
    left = rng.random((runs * dimensions, size), dtype=np.float32)
    right = rng.random((size, size), dtype=np.float32)
    product = cpu_seconds(lambda: left @ right.T)
    source = np.ones(1 << 26, dtype=np.float32)
    target = np.empty_like(source)
    copy = cpu_seconds(lambda: np.copyto(target, source), 3, 3)
    return 2 * runs * dimensions * size * size / product, 2 * source.nbytes / copy


def moving_state(setup, task, parting: float, turn_cost: float, stubbornness: float) -> FJState:
    """The mission's world as a float32 block, the US turned and two steps taken."""
    runs = task.block.size
    rng = np.random.default_rng(1)
    start = np.tile(setup.positions.astype(np.float32), (runs, 1, 1))
    start += (0.05 * rng.standard_normal(start.shape)).astype(np.float32)
    held = np.full((runs, start.shape[1]), stubbornness, np.float32)
    influence = task.influence.astype(np.float32)
    anchors = rest_anchors(start, held, influence)
    state = FJState.start(start, anchors, held, influence, setup.iso3, parting, turn_cost)
    Shift("USA", (1.557692, 1.961664, -4.805521), hold=1.0).apply(state)
    state.step()
    state.step()
    return state


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=1000)
    args = parser.parse_args()
    data = load_data()
    scenario = load_scenario(MISSION, data.members)
    plan = plan_sweep(read_sweep(scenario, data.members), 72 * args.runs)
    setup, tasks = sweep_setup(scenario, data, plan)
    size, dimensions = setup.positions.shape
    with threadpool_limits(1):
        flops, bandwidth = machine_rates(args.runs, size, dimensions)
        print(
            f"one thread: {flops / 1e9:.1f} GFLOP/s (float32 products, "
            f"({args.runs * dimensions}, {size}) x ({size}, {size})), "
            f"{bandwidth / 1e9:.1f} GB/s (copy)"
        )
        task = tasks.task(plan.blocks[0])
        pairs = None
        steps = {}
        for name, (stubbornness, parting, turn_cost) in RULES.items():
            state = moving_state(setup, task, parting, turn_cost, stubbornness)
            steps[name] = cpu_seconds(state.step)
            pairs = state.pairs or pairs
        fj_flop = 2 * args.runs * dimensions * size * size
        state_bytes = 4 * args.runs * size * dimensions * 4  # read x, a; write x; W is cached
        count = len(pairs.first)
        per_pair = 10 + 6 * dimensions  # distance, g's argument and weights, the moves added
        parting_flop = args.runs * count * per_pair + 2 * args.runs * size * dimensions * 4
        parting_bytes = state_bytes + 4 * args.runs * count  # + each pair's distance at step 0
        arithmetic = {
            "static (stubbornness 1)": (0, 2 * args.runs * size * dimensions * 4),
            "Friedkin-Johnsen": (fj_flop, state_bytes),
            "turn cost only (linear)": (fj_flop, state_bytes),
            "parting + turn cost": (fj_flop + parting_flop, parting_bytes),
        }
        fj = steps["Friedkin-Johnsen"]
        print(f"\nstep of a moving {args.runs}-run float32 block, K = {dimensions}, {count} pairs")
        for name, seconds in steps.items():
            flop, moved = arithmetic[name]
            floor = max(flop / flops, moved / bandwidth)
            print(
                f"  {name:26s} {seconds * 1e3:7.2f} ms  ({seconds / fj:4.1f}x FJ)  "
                f"{flop / 1e6:6.0f} MFLOP {moved / 1e6:5.1f} MB  floor {floor * 1e3:5.2f} ms "
                f"({seconds / floor:5.1f}x the floor)"
            )
        print(f"\nblock phase: one {args.runs}-run block of the mission's sweep, both passes")
        for name, (stubbornness, parting, turn_cost) in RULES.items():
            ruled = dataclasses.replace(
                task,
                stubbornness=np.full_like(task.stubbornness, stubbornness),
                parting=parting,
                turn_cost=turn_cost,
            )
            seconds = cpu_seconds(lambda r=ruled: simulate_block(setup, r), 2, 1)
            print(f"  {name:26s} {seconds:6.2f} s CPU  {args.runs / seconds:7.0f} runs per CPU s")


if __name__ == "__main__":
    main()

"""The mission's sweep block by block, in one process on one BLAS thread: each block's CPU
seconds (best of `--repeats`, both passes, votes and trajectory included, `time.process_time`)
and a digest of its block arrays, so two revisions can be compared block for block: the same
digests mean the same tables. Another revision runs from its own tree by putting it first on
the path (run from this worktree, so `blocsim.toml` finds the data):

    .venv/bin/python benchmarks/bench_mission_blocks.py > /tmp/blocks_new.txt
    git archive main | tar -x -C /tmp/main_tree
    PYTHONPATH=/tmp/main_tree .venv/bin/python benchmarks/bench_mission_blocks.py > /tmp/blocks_main.txt
    diff <(cut -f1,6 /tmp/blocks_main.txt) <(cut -f1,6 /tmp/blocks_new.txt)   # digests
"""

from __future__ import annotations

import argparse
import hashlib
import time
from pathlib import Path

import numpy as np

from sim.data.loader import load_data
from sim.model.scenario import load_scenario
from sim.sweep.batch import simulate_block
from sim.sweep.design import plan_sweep, read_sweep
from sim.sweep.inputs import sweep_setup

SCENARIO = Path(__file__).resolve().parent.parent / "scenarios" / "us_realignment_sweep.toml"
RULES = ("parameters.stubbornness", "parameters.parting", "parameters.turn_cost")


def digest(arrays: dict[str, np.ndarray]) -> str:
    """sha256 of a block's arrays, by name."""
    hashed = hashlib.sha256()
    for name in sorted(arrays):
        hashed.update(name.encode())
        hashed.update(np.ascontiguousarray(arrays[name]).tobytes())
    return hashed.hexdigest()[:16]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=50000)
    parser.add_argument("--blocks", help="comma-separated block numbers (default: all)")
    parser.add_argument("--repeats", type=int, default=1)
    options = parser.parse_args()
    data = load_data()
    scenario = load_scenario(SCENARIO, data.members)
    plan = plan_sweep(read_sweep(scenario, data.members), options.runs)
    setup, tasks = sweep_setup(scenario, data, plan)
    chosen = range(len(plan.blocks))
    if options.blocks:
        chosen = [int(number) for number in options.blocks.split(",")]
    print("block", *RULES, "cpu_s", "digest", sep="\t")
    total = 0.0
    for number in chosen:
        block = plan.blocks[number]
        task = tasks.task(block)
        best = float("inf")
        for _ in range(options.repeats):
            started = time.process_time()
            _, arrays = simulate_block(setup, task)
            best = min(best, time.process_time() - started)
        total += best
        point = plan.points.iloc[block.points[0]]
        rules = [f"{point[name]:g}" for name in RULES]
        print(number, *rules, f"{best:.3f}", digest(arrays), sep="\t", flush=True)
    print("total", "", "", "", f"{total:.2f}", "", sep="\t")


if __name__ == "__main__":
    main()

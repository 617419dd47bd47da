"""Time per run of the same 193-member, 50-step Friedkin-Johnsen model run two ways, over the
same number of runs (`--runs`, default 200), each in one process:

(a) Mesa agents stepping one by one in a plain loop of model steps (no `mesa.batch_run` pool),
    each agent reading its neighbours from a networkx graph and applying the FJ rule (two
    phases: all compute, then all move); the world is built before the clock starts;
(b) `blocsim sweep` of benchmarks/bench_sweep.toml in this process (one worker): the runs as
    one (R, 193) float32 block, end to end (world, block, tables) and its block phase alone.

Then the sweep's throughput at scale (`--sweep-runs` on `--workers`) and how close it comes to
the floor of its matrix products (one 50-step run is 50 x 2 x 193^2 = 3.7 MFLOP; ~245 GFLOP/s
batched on these 2 cores), and the mission's sweep at `--mission-runs` (400,000: 1,667
replicates per point, a prime): its blocks, and their speed against one-run blocks.
`--mesa-only N` runs just (a), world included, as one command to time from outside against
`blocsim sweep ... --runs N` (benchmarks/README.md, `farm-bench`).

    .venv/bin/python benchmarks/bench_sweep.py [--runs 200] [--sweep-runs 200000] [--workers 2]
    .venv/bin/python benchmarks/bench_sweep.py --mesa-only 200
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import mesa
import networkx as nx
import numpy as np

HERE = Path(__file__).resolve().parent
SCENARIO = HERE / "bench_sweep.toml"
MISSION = HERE.parent / "scenarios" / "us_realignment_sweep.toml"
STEPS = 50
FLOP_PER_RUN = STEPS * 2 * 193**2
FLOOR_FLOPS = 245e9  # DESIGN.md: batched products on 2 cores
NOISE = 0.05

_world: dict = {}


def world() -> dict:
    """Positions, anchors, stubbornness and the influence graph, built once per process."""
    if not _world:
        from sim.data.loader import load_data
        from sim.model.agenda import scenario_timeline
        from sim.model.scenario import load_scenario
        from sim.model.voting import project

        data = load_data()
        scenario = load_scenario(SCENARIO, data.members)
        built, timeline = scenario_timeline(scenario, data)
        influence = built.influence()
        graph = nx.from_numpy_array(influence, create_using=nx.DiGraph)  # i -> j: i listens to j
        _world.update(  # the agents stand on one axis: K = 1, the Ukraine axis
            positions=project(built.positions),
            anchors=project(built.anchors()),
            stubbornness=built.stubbornness(),
            influence=influence,
            graph=graph,
            slot=timeline.votes[0],
            absence=built.absence,
        )
    return _world


class Member(mesa.Agent):
    """One state: reads its neighbours' positions and applies the FJ rule to itself."""

    def __init__(self, model: FJModel, node: int, position: float) -> None:
        super().__init__(model)
        self.node, self.position, self.next_position = node, position, position
        self.anchor = model.w["anchors"][node]
        self.stubbornness = model.w["stubbornness"][node]
        self.vote = None

    def step(self) -> None:
        graph = self.model.w["graph"]
        listened = sum(
            data["weight"] * self.model.by_node[j].position
            for j, data in graph.adj[self.node].items()
        )
        self.next_position = self.stubbornness * self.anchor + (1 - self.stubbornness) * listened

    def advance(self) -> None:
        self.position = self.next_position


class FJModel(mesa.Model):
    """193 agents on the influence graph; after 50 steps each votes on the text."""

    def __init__(self, rng=None) -> None:
        super().__init__(rng=rng)
        self.w = world()
        start = self.w["positions"] + NOISE * self.rng.standard_normal(len(self.w["positions"]))
        self.by_node = [Member(self, i, p) for i, p in enumerate(start)]
        self.datacollector = mesa.DataCollector(model_reporters={"yes": self.yes})

    def step(self) -> None:
        self.agents.do("step")
        self.agents.do("advance")
        if self.steps >= STEPS:
            self.vote()
            self.datacollector.collect(self)
            self.running = False

    def vote(self) -> None:
        from sim.model.voting import VOTE_CODES, draw_votes, vote_probabilities

        _, _, draft = self.w["slot"]
        positions = np.array([agent.position for agent in self.by_node])
        probs = vote_probabilities(positions, self.w["absence"], draft.cut_points)
        for agent, code in zip(self.by_node, draw_votes(self.rng, probs), strict=True):
            agent.vote = VOTE_CODES[code]

    def yes(self) -> int:
        return sum(agent.vote == "Y" for agent in self.by_node)


def check_same_rule() -> None:
    """The agent-by-agent reading of the rule and the kernel give the same positions."""
    from sim.model.dynamics import FJState

    model = FJModel(rng=3)
    w = model.w
    start = np.array([[agent.position for agent in model.by_node]])[..., None]  # (1, N, 1)
    anchors = w["anchors"][None, :, None]
    state = FJState.start(start, anchors, w["stubbornness"], w["influence"])
    for _ in range(STEPS):
        model.agents.do("step")
        model.agents.do("advance")
        state.step()
    agents = np.array([agent.position for agent in model.by_node])
    np.testing.assert_allclose(agents, state.positions[0, :, 0], atol=1e-9)


def bench_mesa(runs: int) -> float:
    """Seconds for `runs` runs of the Mesa agents in this process (world built beforehand)."""
    world()
    started = time.perf_counter()
    for seed in range(runs):
        model = FJModel(rng=seed)
        while model.running:
            model.step()
    return time.perf_counter() - started


def bench_sweep(runs: int, workers: int) -> tuple[float, float, dict]:
    """Seconds for a sweep of `runs` runs: end to end, the block phase, and its timings."""
    from sim.data.loader import load_data
    from sim.model.scenario import load_scenario
    from sim.sweep.runner import run_sweep

    data = load_data()
    scenario = load_scenario(SCENARIO, data.members)
    with tempfile.TemporaryDirectory() as scratch:
        started = time.perf_counter()
        run_sweep(
            scenario, data, Path(scratch) / "sweep", runs=runs, workers=workers, progress=False
        )
        elapsed = time.perf_counter() - started
        manifest = json.loads((Path(scratch) / "sweep" / "manifest.json").read_text())
    timings = manifest["timings_seconds"]
    return elapsed, timings["blocks"], timings


def bench_mission_blocks(runs: int, blocks: int) -> None:
    """The mission's sweep at `--runs`: how many blocks, and runs/s in this process of its first
    `blocks` blocks against as many blocks of one run (what a prime replicate count once made)."""
    import dataclasses

    from sim.data.loader import load_data
    from sim.model.scenario import load_scenario
    from sim.sweep.batch import simulate_block
    from sim.sweep.design import plan_sweep, read_sweep
    from sim.sweep.inputs import sweep_setup

    data = load_data()
    scenario = load_scenario(MISSION, data.members)
    plan = plan_sweep(read_sweep(scenario, data.members), runs)
    setup, tasks = sweep_setup(scenario, data, plan)
    sizes = sorted({b.size for b in plan.blocks})
    print(f"mission sweep, --runs {runs:,}: {len(plan.blocks):,} blocks of {sizes} runs")
    for label, chosen in (
        ("planned blocks", plan.blocks[:blocks]),
        ("one-run blocks", [dataclasses.replace(b, runs=1) for b in plan.blocks[:blocks]]),
    ):
        started = time.perf_counter()
        for block in chosen:
            simulate_block(setup, tasks.task(block))
        rate = sum(b.size for b in chosen) / (time.perf_counter() - started)
        print(f"  {label}: {rate:,.0f} runs/s in one process ({len(chosen)} blocks)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=200, help="runs on each side of the ratio")
    parser.add_argument("--sweep-runs", type=int, default=200_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--mesa-only", type=int, metavar="N", help="only N Mesa runs, timed")
    parser.add_argument(
        "--mission-runs", type=int, default=400_000, help="--runs of the mission's sweep"
    )
    args = parser.parse_args()
    if args.mesa_only:
        print(f"(a) Mesa agents, {args.mesa_only} runs: {bench_mesa(args.mesa_only):.2f} s")
        return
    check_same_rule()
    print("agent-by-agent Mesa rule == batched kernel: ok")
    runs = args.runs
    mesa_seconds = bench_mesa(runs)
    sweep_seconds, block_seconds, timings = bench_sweep(runs, workers=1)
    print(f"{runs} runs each, one process each:")
    print(
        f"(a) Mesa agents, a loop of model steps: {mesa_seconds:.2f} s = {1e3 * mesa_seconds / runs:.1f} ms/run"
    )
    print(
        f"(b) blocsim sweep, one worker: {sweep_seconds:.2f} s end to end "
        f"({1e3 * sweep_seconds / runs:.2f} ms/run), block phase {block_seconds:.3f} s "
        f"({1e3 * block_seconds / runs:.3f} ms/run); timings {timings}"
    )
    print(
        f"ratio (a)/(b): {mesa_seconds / sweep_seconds:,.0f}x end to end, "
        f"{mesa_seconds / block_seconds:,.0f}x against the block phase"
    )
    total, blocks, timings = bench_sweep(args.sweep_runs, args.workers)
    print(
        f"blocsim sweep at scale, {args.workers} workers, {args.sweep_runs:,} runs: "
        f"{args.sweep_runs / total:,.0f} runs/s end to end "
        f"({args.sweep_runs / blocks:,.0f} runs/s in the block phase; timings {timings})"
    )
    floor = FLOOR_FLOPS / FLOP_PER_RUN
    print(
        f"floor of the matrix products: {floor:,.0f} runs/s; the block phase reaches "
        f"{args.sweep_runs / blocks / floor:.0%} of it, end to end {args.sweep_runs / total / floor:.0%}"
    )
    bench_mission_blocks(args.mission_runs, blocks=3)


if __name__ == "__main__":
    main()

"""Runs per second of the same 193-member, 50-step Friedkin-Johnsen model run two ways:

(a) Mesa agents stepping one by one, each reading its neighbours from a networkx graph and
    applying the FJ rule (two phases: all compute, then all move), through `mesa.batch_run`;
(b) `blocsim sweep` on benchmarks/bench_sweep.toml: blocks of 1000 runs as one (R, 193)
    float32 array, BLAS on one thread per worker.

Prints runs/s of each, the ratio, and how close (b) comes to the floor of its matrix products
(one 50-step run is 50 x 2 x 193^2 = 3.7 MFLOP; ~245 GFLOP/s batched on these 2 cores).

    .venv/bin/python benchmarks/bench_sweep.py [--mesa-runs 100] [--sweep-runs 200000] [--workers 2]
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


def bench_mesa(runs: int, processes: int) -> float:
    started = time.perf_counter()
    results = mesa.batch_run(
        FJModel,
        parameters={},
        number_processes=processes,
        iterations=runs,
        max_steps=STEPS + 1,
        data_collection_period=-1,
        display_progress=False,
    )
    elapsed = time.perf_counter() - started
    assert len(results) == runs
    return runs / elapsed


def bench_mesa_in_process(runs: int) -> float:
    """The same agents in this process, world already built: Mesa's rate without start-up."""
    world()
    started = time.perf_counter()
    for seed in range(runs):
        model = FJModel(rng=seed)
        while model.running:
            model.step()
    return runs / (time.perf_counter() - started)


def bench_sweep(runs: int, workers: int) -> tuple[float, float, dict]:
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
    return runs / elapsed, runs / manifest["timings_seconds"]["blocks"], manifest["timings_seconds"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mesa-runs", type=int, default=100)
    parser.add_argument("--sweep-runs", type=int, default=200_000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    check_same_rule()
    print("agent-by-agent Mesa rule == batched kernel: ok")
    mesa_rate = bench_mesa(args.mesa_runs, args.workers)
    print(f"(a) Mesa agents, batch_run, {args.workers} processes: {mesa_rate:,.1f} runs/s")
    steady = bench_mesa_in_process(max(5, args.mesa_runs // 4)) * args.workers
    print(
        f"    the same agents in one process without start-up, times {args.workers}: "
        f"{steady:,.1f} runs/s (an upper bound for (a))"
    )
    total, blocks, timings = bench_sweep(args.sweep_runs, args.workers)
    print(
        f"(b) blocsim sweep, {args.workers} workers, {args.sweep_runs:,} runs: {total:,.0f} runs/s "
        f"end to end ({blocks:,.0f} runs/s in the block phase; timings {timings})"
    )
    print(f"ratio (b)/(a): {total / mesa_rate:,.0f}x end to end, {blocks / mesa_rate:,.0f}x blocks")
    print(f"ratio (b)/(a's upper bound): {total / steady:,.0f}x end to end")
    floor = FLOOR_FLOPS / FLOP_PER_RUN
    print(
        f"floor of the matrix products: {floor:,.0f} runs/s; the block phase reaches "
        f"{blocks / floor:.0%} of it, end to end {total / floor:.0%}"
    )


if __name__ == "__main__":
    main()

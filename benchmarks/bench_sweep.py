"""Time per run of the same 193-member, 50-step model run two ways, over the same number of runs
(`--runs`, default 200), each in one process, under Friedkin-Johnsen and under the parting rules:

(a) Mesa agents stepping one by one in a plain loop of model steps (no `mesa.batch_run` pool),
    each agent reading its neighbours from a networkx graph and applying the rule (two phases:
    all compute, then all move); the world is built before the clock starts. Under the parting
    rules (benchmarks/bench_sweep_parting.toml: parting 2, turn_cost 0.3, the US shifted in
    week 2) each agent computes, per neighbour, the distance now and at step 0, the factor g and
    the neighbour's credibility;
(b) `blocsim sweep` of benchmarks/bench_sweep.toml (or bench_sweep_parting.toml) in this process
    (one worker): the runs as one (R, 193) float32 block, end to end (world, block, tables) and
    its block phase alone.

Then the sweep's throughput at scale (`--sweep-runs` on `--workers`) and how close it comes to
the floor of its matrix products (one 50-step run is 50 x 2 x 193^2 = 3.7 MFLOP; ~245 GFLOP/s
batched on these 2 cores), and the mission's sweep at `--mission-runs` (400,000 runs): its blocks, and their speed against
one-run blocks (0 skips).
`--mesa-only N` runs just (a), world included, as one command to time from outside against
`blocsim sweep ... --runs N` (benchmarks/README.md, `farm-bench`).

    .venv/bin/python benchmarks/bench_sweep.py [--runs 200] [--sweep-runs 200000] [--workers 2] [--rule fj]
    .venv/bin/python benchmarks/bench_sweep.py --mesa-only 200 [--rule parting]
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
from pathlib import Path

import mesa
import networkx as nx
import numpy as np

HERE = Path(__file__).resolve().parent
SCENARIOS = {"fj": HERE / "bench_sweep.toml", "parting": HERE / "bench_sweep_parting.toml"}
MISSION = HERE.parent / "scenarios" / "us_realignment_sweep.toml"
STEPS = 50
FLOP_PER_RUN = STEPS * 2 * 193**2
FLOOR_FLOPS = 245e9  # DESIGN.md: batched products on 2 cores
NOISE = 0.05

_worlds: dict[str, dict] = {}


def world(rule: str = "fj") -> dict:
    """Positions, anchors, stubbornness, the influence graph and the rule's parameters and
    shocks, built once per process."""
    if rule not in _worlds:
        from sim.data.loader import load_data
        from sim.model.agenda import scenario_timeline
        from sim.model.scenario import load_scenario
        from sim.model.voting import project

        data = load_data()
        scenario = load_scenario(SCENARIOS[rule], data.members)
        built, timeline = scenario_timeline(scenario, data)
        influence = built.influence()
        graph = nx.from_numpy_array(influence, create_using=nx.DiGraph)  # i -> j: i listens to j
        _worlds[rule] = dict(  # the agents stand on one axis: K = 1, the Ukraine axis
            positions=project(built.positions),
            anchors=project(built.anchors()),
            stubbornness=built.stubbornness(),
            influence=influence,
            graph=graph,
            slot=timeline.votes[0],
            absence=built.absence,
            iso3=built.iso3,
            parting=built.parameters.parting,
            turn_cost=built.parameters.turn_cost,
            shocks=timeline.shocks,  # {step: [Shift]}
        )
    return _worlds[rule]


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


class PartingMember(Member):
    """One state under the parting rules: per neighbour, the distance now and at step 0, the
    factor g and the neighbour's credibility (sim.model.dynamics, one dimension)."""

    def __init__(self, model: FJModel, node: int, position: float) -> None:
        super().__init__(model, node, position)
        self.start = position
        self.credibility = 1.0

    def step(self) -> None:
        graph, parting = self.model.w["graph"], self.model.w["parting"]
        here, then = self.position, self.start
        heard = here
        for j, data in graph.adj[self.node].items():
            other = self.model.by_node[j]
            weight = data["weight"]
            now, before = abs(other.position - here), abs(other.start - then)
            kept = math.exp(-((parting * max(0.0, now - before)) ** 2))
            heard += weight * (other.start - then)
            heard += (
                weight * other.credibility * kept * ((other.position - other.start) - (here - then))
            )
        self.next_position = self.stubbornness * self.anchor + (1 - self.stubbornness) * heard

    def shift(self, by: float, hold: float | None) -> None:
        """A shock moves it: position and anchor, its hold, and its credibility falls."""
        self.position = self.anchor = self.position + by
        if hold is not None:
            self.stubbornness = hold
        self.credibility = 1.0 - self.model.w["turn_cost"]


class FJModel(mesa.Model):
    """193 agents on the influence graph; after 50 steps each votes on the text. Under the
    parting rules the scenario's shifts act before their step's update."""

    def __init__(self, rng=None, rule: str = "fj") -> None:
        super().__init__(rng=rng)
        self.w = world(rule)
        start = self.w["positions"] + NOISE * self.rng.standard_normal(len(self.w["positions"]))
        kind = PartingMember if rule == "parting" else Member
        self.by_node = [kind(self, i, p) for i, p in enumerate(start)]
        self.datacollector = mesa.DataCollector(model_reporters={"yes": self.yes})

    def step(self) -> None:
        for shock in self.w["shocks"].get(self.steps - 1, ()):
            self.by_node[self.w["iso3"].index(shock.member)].shift(shock.by[0], shock.hold)
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


def check_same_rule(rule: str) -> None:
    """The agent-by-agent reading of the rule and the kernel give the same positions."""
    from sim.model.dynamics import FJState

    model = FJModel(rng=3, rule=rule)
    w = model.w
    start = np.array([[agent.position for agent in model.by_node]])[..., None]  # (1, N, 1)
    anchors = w["anchors"][None, :, None]
    state = FJState.start(
        start, anchors, w["stubbornness"], w["influence"], w["iso3"], w["parting"], w["turn_cost"]
    )
    for step in range(STEPS):
        model.step()
        for shock in w["shocks"].get(step, ()):
            shock.apply(state)
        state.step()
    agents = np.array([agent.position for agent in model.by_node])
    np.testing.assert_allclose(agents, state.positions[0, :, 0], atol=1e-9)


def bench_mesa(runs: int, rule: str = "fj") -> float:
    """Seconds for `runs` runs of the Mesa agents in this process (world built beforehand)."""
    world(rule)
    started = time.perf_counter()
    for seed in range(runs):
        model = FJModel(rng=seed, rule=rule)
        while model.running:
            model.step()
    return time.perf_counter() - started


def bench_sweep(runs: int, workers: int, rule: str = "fj") -> tuple[float, float, float, dict]:
    """Seconds for a sweep of `runs` runs: end to end, the block phase, the CPU seconds of this
    process end to end (its own workers' only with one worker), and its timings."""
    from sim.data.loader import load_data
    from sim.model.scenario import load_scenario
    from sim.sweep.runner import run_sweep

    data = load_data()
    scenario = load_scenario(SCENARIOS[rule], data.members)
    with tempfile.TemporaryDirectory() as scratch:
        started, cpu = time.perf_counter(), time.process_time()
        run_sweep(
            scenario, data, Path(scratch) / "sweep", runs=runs, workers=workers, progress=False
        )
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        manifest = json.loads((Path(scratch) / "sweep" / "manifest.json").read_text())
    timings = manifest["timings_seconds"]
    return elapsed, timings["blocks"], cpu, timings


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


def compare(runs: int, rule: str) -> None:
    """(a) against (b) at `runs` runs each, one process each: wall clock, and the process's CPU
    seconds (user + system), the figure the machine's other load moves least."""
    cpu = time.process_time()
    mesa_seconds = bench_mesa(runs, rule)
    mesa_cpu = time.process_time() - cpu
    sweep_seconds, block_seconds, sweep_cpu, timings = bench_sweep(runs, workers=1, rule=rule)
    print(f"{rule}: {runs} runs each, one process each:")
    print(
        f"(a) Mesa agents, a loop of model steps: {mesa_seconds:.2f} s = "
        f"{1e3 * mesa_seconds / runs:.1f} ms/run (CPU {mesa_cpu:.2f} s)"
    )
    print(
        f"(b) blocsim sweep, one worker: {sweep_seconds:.2f} s end to end "
        f"({1e3 * sweep_seconds / runs:.2f} ms/run, CPU {sweep_cpu:.2f} s), block phase "
        f"{block_seconds:.3f} s ({1e3 * block_seconds / runs:.3f} ms/run); timings {timings}"
    )
    print(
        f"ratio (a)/(b): {mesa_seconds / sweep_seconds:,.0f}x end to end, "
        f"{mesa_seconds / block_seconds:,.0f}x against the block phase; "
        f"CPU {mesa_cpu / sweep_cpu:,.0f}x end to end"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--runs", type=int, default=200, help="runs on each side of the ratio (0 skips)"
    )
    parser.add_argument("--sweep-runs", type=int, default=200_000, help="0 skips")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--mesa-only", type=int, metavar="N", help="only N Mesa runs, timed")
    parser.add_argument("--rule", choices=("fj", "parting", "both"), default="both")
    parser.add_argument(
        "--mission-runs", type=int, default=400_000, help="--runs of the mission's sweep (0 skips)"
    )
    args = parser.parse_args()
    rules = ("fj", "parting") if args.rule == "both" else (args.rule,)
    if args.mesa_only:
        for rule in rules:
            seconds = bench_mesa(args.mesa_only, rule)
            print(f"(a) Mesa agents, {rule}, {args.mesa_only} runs: {seconds:.2f} s")
        return
    for rule in rules:
        check_same_rule(rule)
        print(f"agent-by-agent Mesa rule == batched kernel ({rule}): ok")
    for rule in rules if args.runs else ():
        compare(args.runs, rule)
    for rule in rules if args.sweep_runs else ():
        total, blocks, _, timings = bench_sweep(args.sweep_runs, args.workers, rule)
        print(
            f"blocsim sweep ({rule}) at scale, {args.workers} workers, {args.sweep_runs:,} runs: "
            f"{args.sweep_runs / total:,.0f} runs/s end to end "
            f"({args.sweep_runs / blocks:,.0f} runs/s in the block phase; timings {timings})"
        )
        if rule == "fj":
            floor = FLOOR_FLOPS / FLOP_PER_RUN
            print(
                f"floor of the matrix products: {floor:,.0f} runs/s; the block phase reaches "
                f"{args.sweep_runs / blocks / floor:.0%} of it, end to end "
                f"{args.sweep_runs / total / floor:.0%}"
            )
    if args.mission_runs:
        bench_mission_blocks(args.mission_runs, blocks=3)


if __name__ == "__main__":
    main()

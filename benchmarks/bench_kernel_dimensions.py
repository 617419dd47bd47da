"""What K dimensions cost the Friedkin-Johnsen kernel: one step of a 1000-run float32 block.

`FJState.step` (the one kernel, `fj_step`, on the arrays as the state keeps them) on (R, N, K)
positions for several K, beside the one-dimensional step of before (`positions @ W.T` on
(R, N)), on one BLAS thread as a sweep worker runs it. Synthetic
positions and a random row-stochastic W (timing does not depend on the values). The best of
several repeats is reported, so other work on the machine inflates it least.

    .venv/bin/python benchmarks/bench_kernel_dimensions.py
"""

from __future__ import annotations

import argparse
import timeit

import numpy as np
from threadpoolctl import threadpool_limits

from sim.model.dynamics import FJState

MEMBERS = 193


def one_dimensional_step(positions, anchors, stubbornness, influence):
    """The kernel before positions had dimensions: (R, N) arrays."""
    listened = positions @ influence.T
    listened *= 1 - stubbornness
    listened += stubbornness * anchors
    return listened


def best_seconds(step, arguments: tuple, repeats: int, number: int) -> float:
    """Seconds per step, best of `repeats`, each the mean of `number` steps."""
    timer = timeit.Timer(lambda: step(*arguments))
    return min(timer.repeat(repeat=repeats, number=number)) / number


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--dimensions", type=int, nargs="+", default=[1, 2, 3, 5])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--number", type=int, default=50)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    weights = rng.exponential(1.0, (MEMBERS, MEMBERS))
    influence = (weights / weights.sum(axis=1, keepdims=True)).astype(np.float32)
    stubbornness = rng.uniform(0.05, 0.6, MEMBERS).astype(np.float32)
    flop = 2 * args.runs * MEMBERS**2  # the product, per dimension
    with threadpool_limits(1):
        flat = rng.normal(size=(args.runs, MEMBERS)).astype(np.float32)
        before = best_seconds(
            one_dimensional_step,
            (flat, flat, stubbornness, influence),
            args.repeats,
            args.number,
        )
        print(
            f"(R, N) kernel of before: {before * 1e3:.3f} ms/step, "
            f"{flop / before / 1e9:.1f} GFLOP/s"
        )
        for dimensions in args.dimensions:
            positions = rng.normal(size=(args.runs, MEMBERS, dimensions)).astype(np.float32)
            state = FJState.start(positions, positions, stubbornness, influence)
            seconds = best_seconds(state.step, (), args.repeats, args.number)
            print(
                f"(R, N, {dimensions}) FJState.step: {seconds * 1e3:.3f} ms/step, "
                f"{seconds / before:.2f}x the 1-D step, {seconds / before / dimensions:.2f}x per "
                f"dimension, {dimensions * flop / seconds / 1e9:.1f} GFLOP/s"
            )


if __name__ == "__main__":
    main()

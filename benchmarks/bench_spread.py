"""What one evaluation of the spread likelihood costs (31 roll calls, 193 members, K = 3), by
model: one dynamics run to 5 Sep 2025 and 31 cut-point fits.

    .venv/bin/python benchmarks/bench_spread.py [--repeats 20]

The problem is built first (from the caches `blocsim calibrate` fills); the clock then
times `log_likelihood` at a typical point of each model, the median of the repeats.
"""

from __future__ import annotations

import argparse
import statistics
import time

from sim.data.followers import US_TURN
from sim.data.loader import load_data
from sim.fit.spread import Spread, log_likelihood
from sim.fit.spread_problem import spread_problem

POINTS = {
    "no turn": Spread(),
    "static": Spread((1.5, 2.0, -4.8)),
    "Friedkin-Johnsen": Spread((3.2, 2.6, 0.6), 0.94, US_TURN, 0.014),
    "parting ways": Spread((3.3, 2.6, 0.6), 0.94, US_TURN, 0.014, 0.25, 0.15),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    problem = spread_problem(load_data())
    for model, point in POINTS.items():
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            log_likelihood(problem, point)
            times.append(time.perf_counter() - start)
        print(f"{model:18s} {1000 * statistics.median(times):8.1f} ms per evaluation")


if __name__ == "__main__":
    main()

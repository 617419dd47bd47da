"""How long building the influence network takes on the full record (was a timing test).

    .venv/bin/python benchmarks/bench_network.py [--repeats 5]

Times `voting_affinity` over every roll call since 2000 and `tie_layers` (all tie types) at
the 2025 cut-off, on the real data loaded once; the median of the repeats is printed.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from sim.data.loader import load_data
from sim.model.network import tie_layers, voting_affinity


def median_seconds(work: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return sorted(times)[repeats // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    data = load_data()
    roll_calls = data.roll_calls()
    affinity = median_seconds(
        lambda: voting_affinity(data.history, data.iso3, since="2000-01-01"), args.repeats
    )
    layers = median_seconds(
        lambda: tie_layers(data.members, roll_calls, "2025-01-01"), args.repeats
    )
    print(f"voting_affinity, full history since 2000: median {affinity:.3f} s")
    print(f"tie_layers at the 2025-01-01 cut-off: median {layers:.3f} s")


if __name__ == "__main__":
    main()

"""How long the data commands' library calls take on the real data, once it is loaded.

    .venv/bin/python benchmarks/bench_data_commands.py [--repeats 5]

What `blocsim data followers`, `data tally` on a history roll call and `data search` spend after
loading (loading itself: `bench_load.py`). Median and best of the repeats, in one process.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from sim.data.followers import followers
from sim.data.loader import load_data
from sim.data.metrics import roll_call_tallies
from sim.data.titles import search_titles


def timed(call: Callable[[], object], repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return sorted(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    data = load_data()
    calls = {
        "followers (default window, 2/3)": lambda: followers(data),
        "tally of A/RES/77/272 (history lookup)": lambda: data.resolution("77/272"),
        "search 'crimea' with tallies": lambda: roll_call_tallies(
            data, search_titles(data.titles, "crimea")["vote_id"].tolist()
        ),
    }
    for name, call in calls.items():
        times = timed(call, args.repeats)
        print(f"{name}: median {times[len(times) // 2]:.3f} s, best {times[0]:.3f} s")


if __name__ == "__main__":
    main()

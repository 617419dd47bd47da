"""How long loading the real UN data takes: first (validate and cache) and again (from the cache).

    .venv/bin/python benchmarks/bench_load.py [--repeats 5]

Each load runs in a fresh interpreter so nothing is remembered in memory; the first uses an
empty cache directory, the rest read the checksum-keyed Parquet copy of the history.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile

LOAD = (
    "import time; from sim.data.loader import load_data; "
    "t = time.perf_counter(); load_data(); print(time.perf_counter() - t)"
)


def timed_load(cache: str) -> float:
    environment = {**os.environ, "BLOCSIM_CACHE": cache}
    done = subprocess.run(
        [sys.executable, "-c", LOAD], env=environment, capture_output=True, text=True, check=True
    )
    return float(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as cache:
        first = timed_load(cache)
        again = sorted(timed_load(cache) for _ in range(args.repeats))
    print(f"first load (validate, write cache): {first:.3f} s")
    print(f"again, from the cache: median {again[len(again) // 2]:.3f} s, best {again[0]:.3f} s")


if __name__ == "__main__":
    main()

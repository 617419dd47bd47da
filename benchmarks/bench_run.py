"""How long `blocsim run` takes, the whole command from the outside: cold and warm.

    .venv/bin/python benchmarks/bench_run.py [--scenario scenarios/us_realignment.toml] [--repeats 5]

Cold: an empty cache directory, so the run validates the data, writes its Parquet copy,
estimates the positions and builds the tie layers. Warm: the same cache again, as every
later run finds it. Each run is a fresh `blocsim` process (interpreter start and imports
included, as a user waits for them) writing to a temporary run directory; the wall clock and
the process's own CPU seconds are printed (on a shared machine the CPU seconds move less).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BLOCSIM = Path(sys.executable).with_name("blocsim")


def timed_run(scenario: str, cache: str, out: Path) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of one `blocsim run` in a fresh process."""
    environment = {**os.environ, "BLOCSIM_CACHE": cache}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(
        [str(BLOCSIM), "run", scenario, "--out", str(out)],
        env=environment,
        stdout=subprocess.DEVNULL,
        check=True,
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="scenarios/us_realignment.toml")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as cache, tempfile.TemporaryDirectory() as results:
        cold_wall, cold_cpu = timed_run(args.scenario, cache, Path(results) / "cold")
        warm = [
            timed_run(args.scenario, cache, Path(results) / f"warm-{repeat}")
            for repeat in range(args.repeats)
        ]
    walls, cpus = [wall for wall, _ in warm], [cpu for _, cpu in warm]
    print(f"cold (empty cache): {cold_wall:.2f} s wall, {cold_cpu:.2f} s CPU")
    print(
        f"warm, {args.repeats} runs: median {median(walls):.2f} s wall "
        f"(min {min(walls):.2f}, max {max(walls):.2f}), median {median(cpus):.2f} s CPU"
    )


if __name__ == "__main__":
    main()

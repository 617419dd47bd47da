"""How long placing texts takes: the ideal-point fit cold, and a session of 170 texts warm.

    .venv/bin/python benchmarks/bench_texts.py [--texts 170]

1. Cold: `cached_ideal_points` for the record before 2025-09-06 (the whole record) in a fresh
   interpreter with an empty cache directory: the year's first-day fit (cold) and the warm one.
2. Warm: `blocsim predict --texts FILE` for a session of N texts dated 1 Dec 2025 (after the
   record, as the 80th session's are), each like one of the 78th and 79th sessions' roll calls and with
   its tally, with the cache filled by step 1. Both as whole processes, timed by wall clock.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FIT = (
    "import time; from sim.data.loader import load_data; "
    "from sim.model.estimates import cached_ideal_points; data = load_data(); "
    "t = time.perf_counter(); cached_ideal_points(data, '2025-09-06'); "
    "print(time.perf_counter() - t)"
)
SESSION = (
    "import sys, pandas as pd; from sim.data.loader import load_data, count_votes; "
    "data = load_data(); t = data.titles; t = t[t['session'].isin(['78', '79'])].tail(int(sys.argv[1])); "
    "h = data.history; rows = []\n"
    "for v in t['vote_id']:\n"
    "    votes = h[h['vote_id'] == v].set_index('iso3')['vote'].reindex(data.iso3, fill_value='X')\n"
    "    rows.append((v, '2025-12-01', str(count_votes(votes)), '', '', v))\n"
    "pd.DataFrame(rows, columns=['name','date','tally','body','polarity','like'])"
    ".to_csv(sys.argv[2], index=False)"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=170)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        environment = {**os.environ, "BLOCSIM_CACHE": scratch}
        done = subprocess.run(
            [sys.executable, "-c", FIT], env=environment, capture_output=True, text=True, check=True
        )
        print(
            f"ideal points, cold (two fits: the year's first day, then warm): {float(done.stdout):.1f} s"
        )
        texts = Path(scratch) / "session.csv"
        subprocess.run(
            [sys.executable, "-c", SESSION, str(args.texts), str(texts)],
            env=environment,
            check=True,
        )
        count = len(texts.read_text().splitlines()) - 1
        out = Path(scratch) / "out.csv"
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "sim", "predict", "--texts", str(texts), "--out", str(out)],
            env=environment,
            capture_output=True,
            check=True,
        )
        print(f"predict --texts, {count} texts, warm: {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()

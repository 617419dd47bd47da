#!/usr/bin/env bash
# The Sobol recipe of docs/sweeps.md, timed: the Saltelli sweep on 2 workers, then its analysis.
# Usage: bash benchmarks/bench_sobol.sh OUT_DIR   (OUT_DIR must not exist)
set -euo pipefail
out=${1:?give a sweep directory that does not exist yet}
/usr/bin/time -f "sweep: %e s wall, %M KiB max resident" \
    .venv/bin/blocsim sweep scenarios/us_realignment_sobol.toml --workers 2 --out "$out" --quiet
/usr/bin/time -f "analyze: %e s wall, %M KiB max resident" \
    .venv/bin/blocsim sweep analyze "$out" --format json > "$out.indices.json"
python3 -c "import json; print(json.load(open('$out/manifest.json'))['timings_seconds'])"
.venv/bin/python -c "
import time
from sim.api import run_model
started = time.perf_counter(); run_model(); built = time.perf_counter() - started
started = time.perf_counter(); run_model(replicates=100)
print(f'run_model: first call {built:.2f} s (world built), replicates=100 {time.perf_counter() - started:.3f} s')
"

"""Run directories: where every output lands, with the manifest that makes it reproducible.

A run directory is staged under a hidden name and renamed into place only when complete, so
`results/` never holds a half-written run, and an existing directory is never overwritten.
"""

from __future__ import annotations

import json
import platform
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import pandas as pd

from sim.errors import BlocsimError
from sim.files import partial_path, write_atomic

RESULTS_DIR = Path("results")
PACKAGES = (
    "blocsim",
    "mesa",
    "numpy",
    "pandas",
    "networkx",
    "scipy",
    "pyarrow",
    "numba",
    "scikit-learn",
    "dask",
)


def default_run_dir(name: str, seed: int, kind: str = "run") -> Path:
    """`results/<name>-<kind>-<UTC time>-seed<seed>`, made unique if that already exists."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    base = RESULTS_DIR / f"{name}-{kind}-{stamp}-seed{seed}"
    candidate, n = base, 1
    while candidate.exists():
        n += 1
        candidate = base.with_name(f"{base.name}-{n}")
    return candidate


@contextmanager
def run_directory(out: Path) -> Iterator[Path]:
    """Yield a staging directory that becomes `out` only if the body completes."""
    out = Path(out)
    if out.exists():
        raise BlocsimError(
            "already exists; blocsim never overwrites a run (choose another --out)", file=out
        )
    staging = partial_path(out)
    staging.mkdir(parents=True)
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    staging.rename(out)


def write_table(table: pd.DataFrame, path: Path) -> Path:
    """CSV or Parquet by the file's suffix, written atomically."""
    partial = partial_path(path)
    if path.suffix == ".parquet":
        table.to_parquet(partial, index=False)
    else:
        table.to_csv(partial, index=False, lineterminator="\n")
    partial.replace(path)
    return path


def provenance() -> dict:
    """What produced a result: versions, machine and the source commit."""
    versions = {}
    for package in PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": versions,
        "git_commit": _git_commit(),
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def write_manifest(folder: Path, **fields) -> Path:
    """`manifest.json`: the caller's fields (scenario hash, seeds, timings...) and provenance."""
    manifest = {**fields, **provenance()}
    return write_atomic(
        folder / "manifest.json", json.dumps(manifest, indent=2, default=str) + "\n"
    )


def read_manifest(folder: Path) -> dict:
    """The manifest of a run or sweep directory; anything else is a one-line error."""
    path = Path(folder) / "manifest.json"
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, NotADirectoryError):
        reason = "not a run directory (no manifest.json)" if Path(folder).exists() else None
        raise BlocsimError(reason or "no such directory", file=folder) from None
    except OSError as error:
        raise BlocsimError(f"unreadable manifest ({error.strerror})", file=path) from None
    except json.JSONDecodeError as error:
        raise BlocsimError(f"unreadable manifest ({error.msg})", file=path) from None


def _git_commit() -> str | None:
    """The commit of the blocsim checkout, with '-dirty' if it has uncommitted changes."""
    root = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return f"{commit}-dirty" if dirty else commit

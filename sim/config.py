"""Where blocsim finds its data and keeps its caches.

The data directory is chosen by, in order: the `--data-dir` option, the `BLOCSIM_DATA`
environment variable, then `data_dir` in the `blocsim.toml` at the repository root (found by
walking up from the working directory, then from the package's own checkout).
"""

from __future__ import annotations

import os
from pathlib import Path

from sim.errors import BlocsimError
from sim.tomlfile import read_toml

CONFIG_NAME = "blocsim.toml"
HOW_TO_POINT = (
    "point blocsim at the UN data with --data-dir DIR, the BLOCSIM_DATA variable, "
    f"or data_dir in {CONFIG_NAME}"
)


def find_config() -> Path | None:
    """The nearest `blocsim.toml` above the working directory, else the checkout's own."""
    package_root = Path(__file__).resolve().parent.parent
    for start in (Path.cwd().resolve(), package_root):
        for folder in (start, *start.parents):
            candidate = folder / CONFIG_NAME
            if candidate.is_file():
                return candidate
    return None


def read_config(path: Path) -> dict:
    """Parse a config file, reporting a bad one as a one-line error."""
    settings = read_toml(path, "config file").table
    unknown = sorted(set(settings) - {"data_dir"})
    if unknown:
        raise BlocsimError("unknown key", file=path, field=unknown[0])
    return settings


def data_dir(option: str | os.PathLike | None = None) -> Path:
    """Resolve the data directory from the option, the environment or the config file."""
    if option:
        return Path(option).expanduser()
    if os.environ.get("BLOCSIM_DATA"):
        return Path(os.environ["BLOCSIM_DATA"]).expanduser()
    config = find_config()
    if config is not None:
        setting = read_config(config).get("data_dir")
        if setting:
            return (config.parent / setting).resolve()
    raise BlocsimError(f"no data directory configured; {HOW_TO_POINT}")


def cache_dir() -> Path:
    """Derived caches (columnar copies, fits) live outside the repository."""
    if os.environ.get("BLOCSIM_CACHE"):
        return Path(os.environ["BLOCSIM_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "blocsim"

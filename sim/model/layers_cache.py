"""The network's tie layers, cached on disk like the position estimate.

Building them reads every roll call since 2015 and takes most of a warm `blocsim run`'s own
work; reading them back takes milliseconds. The cache lives outside the repository
(`sim.config.cache_dir`), keyed by the data's fingerprint, the cut-off and the source of the
code that builds them (`sim.model.network`, and `sim.data.loader`, which derives the roll
calls), so changed data or code never reads old layers.
"""

from __future__ import annotations

import hashlib
import zipfile
from datetime import date
from pathlib import Path

import numpy as np

from sim.config import cache_dir
from sim.data import loader
from sim.data.loader import UNData
from sim.files import partial_path
from sim.model import network
from sim.model.network import TIE_TYPES, tie_layers

NETWORK_KEY = hashlib.sha256(
    Path(network.__file__).read_bytes() + Path(loader.__file__).read_bytes()
).hexdigest()[:12]


def cached_layers(data: UNData, data_until: date) -> dict[str, np.ndarray]:
    """`tie_layers` on roll calls before `data_until`, from the disk cache or built and cached.

    A cache file that cannot be read (cut short, corrupted, a layer missing) is built again
    and replaced.
    """
    path = layers_path(data, data_until)
    layers = _read_layers(path) if path.is_file() else None
    if layers is None:
        layers = tie_layers(data.members, data.roll_calls(), str(data_until))
        _write_layers(path, layers)
    return layers


def layers_path(data: UNData, data_until: date) -> Path:
    """Where the tie layers for these data, this cut-off and this network code are cached."""
    return cache_dir() / f"layers-{NETWORK_KEY}-{data.fingerprint}-{data_until}.npz"


def _write_layers(path: Path, layers: dict[str, np.ndarray]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = partial_path(path)
    with partial.open("wb") as handle:  # a handle: np.savez would add ".npz" to a bare name
        np.savez(handle, **layers)
    partial.replace(path)


def _read_layers(path: Path) -> dict[str, np.ndarray] | None:
    """The cached layers in `TIE_TYPES` order, or None if the file is not a whole set."""
    try:
        with np.load(path) as stored:
            return {kind: stored[kind] for kind in TIE_TYPES}
    except (OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile):
        return None

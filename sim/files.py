"""Atomic file writes: a reader sees a whole file or none, never a half-written one.

Upstream of everything that writes (the positions cache in `sim.model.world`, run directories in
`sim.results`, the CLI's single files), so the one naming rule for partial files lives here.
"""

from __future__ import annotations

import os
from pathlib import Path


def partial_path(path: Path) -> Path:
    """The hidden name `path` is written under until it is complete, then renamed to `path`.

    It carries the process id, so two processes writing the same file never share one.
    """
    path = Path(path)
    return path.with_name(f".{path.name}.partial-{os.getpid()}")


def write_atomic(path: Path, text: str) -> Path:
    """Write a file so that a reader sees the old content or the whole new one, never a part."""
    partial = partial_path(path)
    partial.write_text(text)
    partial.replace(path)
    return path

"""Blocks of runs computed together, and their files: the raw arrays of one block of sweep runs,
`blocks/block-NNNNNN.npz`. (Light to import: a sweep worker needs `Block` and nothing of the plan.)

A block file appears under its final name only when complete, so the blocks of a sweep
directory that have a file are done, and a resumed sweep runs the others.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sim.files import partial_path

BLOCK_KEY = 1  # spawn key (1, b) seeds block b (`sim.sweep.design.DESIGN_KEY` is 0)


@dataclass(frozen=True)
class Block:
    """Runs computed together: whole points (or one chunk of a point with many replicates)."""

    index: int
    points: np.ndarray  # (k,) point ids, consecutive
    first_replicate: np.ndarray  # (k,) replicate number of each point's first run here
    runs: int  # runs of each of its points in this block
    trajectory: bool  # record the expected-count trajectory (a point's first chunk)

    @property
    def size(self) -> int:
        return self.runs * len(self.points)

    @property
    def spawn_key(self) -> tuple[int, int]:
        return (BLOCK_KEY, self.index)


BLOCKS = "blocks"  # the folder of block files inside a sweep directory


def block_path(directory: Path, index: int) -> Path:
    return directory / BLOCKS / f"block-{index:06d}.npz"


def write_block(directory: Path, index: int, arrays: Mapping[str, np.ndarray]) -> Path:
    """A block file, written under a temporary name, fsynced, then renamed: a file with the final
    name is always complete, so a sweep killed mid-write loses only that block."""
    path = block_path(directory, index)
    partial = partial_path(path)
    with partial.open("wb") as handle:
        np.savez(handle, **arrays)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(partial, path)
    handle = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)
    return path


def read_block(directory: Path, index: int) -> dict[str, np.ndarray]:
    with np.load(block_path(directory, index)) as stored:
        return {name: stored[name] for name in stored.files}


def completed_blocks(directory: Path) -> set[int]:
    """Indices of the blocks whose file is complete (only complete files carry the final name)."""
    return {
        int(path.stem.removeprefix("block-")) for path in (directory / BLOCKS).glob("block-*.npz")
    }


def discard_partial_files(directory: Path) -> None:
    """Delete the blocks and tables a killed sweep was writing: never read, they are written
    again."""
    for partial in [*(directory / BLOCKS).glob(".*.partial-*"), *directory.glob(".*.partial-*")]:
        partial.unlink()

"""The world's position cache: written whole under a private name, and never trusted if broken."""

from __future__ import annotations

from datetime import date

import numpy as np

from sim.model import world
from sim.model.world import cache_path, cached_estimate

CUTOFF = date(2025, 2, 24)


def test_a_corrupt_cache_file_is_estimated_again_and_replaced(data, tmp_path, monkeypatch):
    estimate = cached_estimate(data, CUTOFF)  # the real one (from the shared cache)
    calls = []

    def estimate_positions(*args):
        calls.append(args)
        return estimate

    monkeypatch.setattr(world, "cache_dir", lambda: tmp_path)
    monkeypatch.setattr(world, "estimate_positions", estimate_positions)
    monkeypatch.setattr(world, "_memory", {})
    path = cache_path(data, CUTOFF)
    path.write_bytes(b"PK\x03\x04 cut short")

    again = cached_estimate(data, CUTOFF)
    assert len(calls) == 1
    np.testing.assert_array_equal(again.position, estimate.position)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no partial file left

    monkeypatch.setattr(world, "_memory", {})
    from_disk = cached_estimate(data, CUTOFF)  # the replaced file reads back
    assert len(calls) == 1
    np.testing.assert_array_equal(from_disk.absence, estimate.absence)
    assert from_disk.until == estimate.until and from_disk.iso3 == estimate.iso3

"""The world: its positions in K dimensions, and its position cache (written whole under a
private name, and never trusted if broken)."""

from __future__ import annotations

import dataclasses
from datetime import date

import numpy as np
import pytest

from sim.model import world
from sim.model.parameters import Parameters
from sim.model.world import build_world, cache_path, cached_estimate

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


def test_a_world_names_its_axes_and_keeps_the_ukraine_axis_in_place(data):
    """The one-axis ablation's estimate is the Ukraine axis alone: K = 1, its numbers as
    estimated."""
    world = build_world(data, CUTOFF, Parameters(dimensions=1))
    assert world.axis_names == ("ukraine",)
    assert world.positions.shape == (193, 1)
    np.testing.assert_array_equal(world.positions[:, 0], world.estimate.position)
    assert world.ukraine_axis == 0 and world.points is None
    with pytest.raises(ValueError, match="axes general must name one 'ukraine' axis"):
        dataclasses.replace(world, axis_names=("general",))
    with pytest.raises(ValueError, match="2 axis names for 1 dimensions"):
        dataclasses.replace(world, axis_names=("ukraine", "general"))

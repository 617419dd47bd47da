"""The tie layers' disk cache: a second build reads the file, a broken file is built again."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from sim.model import layers_cache
from sim.model.layers_cache import cached_layers, layers_path
from sim.model.network import TIE_TYPES, tie_layers

CUTOFF = date(2025, 1, 1)


@pytest.fixture
def builds(tmp_path, monkeypatch) -> list:
    """An empty cache directory, and the list of `tie_layers` calls made from now on."""
    calls = []

    def counted_tie_layers(*args):
        calls.append(args)
        return tie_layers(*args)

    monkeypatch.setattr(layers_cache, "cache_dir", lambda: tmp_path)
    monkeypatch.setattr(layers_cache, "tie_layers", counted_tie_layers)
    return calls


def test_second_build_reads_the_cached_file(data, builds, tmp_path):
    built = cached_layers(data, CUTOFF)
    assert len(builds) == 1
    assert [p.name for p in tmp_path.iterdir()] == [layers_path(data, CUTOFF).name]

    again = cached_layers(data, CUTOFF)
    assert len(builds) == 1  # not built again: read from the file
    assert list(again) == list(TIE_TYPES) == list(built)
    for kind in TIE_TYPES:
        np.testing.assert_array_equal(again[kind], built[kind])


def test_a_corrupt_cache_file_is_built_again_and_replaced(data, builds, tmp_path):
    path = layers_path(data, CUTOFF)
    path.write_bytes(b"PK\x03\x04 cut short")

    built = cached_layers(data, CUTOFF)
    assert len(builds) == 1
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no partial file left

    from_disk = cached_layers(data, CUTOFF)
    assert len(builds) == 1
    np.testing.assert_array_equal(from_disk["affinity"], built["affinity"])


def test_another_cut_off_has_its_own_layers(data, builds):
    cached_layers(data, CUTOFF)
    earlier = cached_layers(data, date(2023, 1, 1))
    assert len(builds) == 2
    assert not np.array_equal(earlier["alignment"], cached_layers(data, CUTOFF)["alignment"])

"""Shared fixtures: the real UN data, loaded once per test session."""

from __future__ import annotations

import pytest

from sim.data import UNData, load_data


@pytest.fixture(scope="session")
def data() -> UNData:
    return load_data()

"""The world at the data cut-off: who the members are, where they stand, who listens to whom.

Building it is the slow part of every run (the position estimate takes seconds), so estimates
are cached on disk outside the repository, keyed by the data's fingerprint and the cut-off.
Everything downstream (the Mesa model, sweeps, prediction, calibration) starts from a `World`.

`Parameters.dimensions` chooses the positions: 1, the Ukraine-axis estimate
(`sim.model.positions`, one axis named "ukraine"); 3, the dynamic ideal points at the cut-off
(`sim.model.ideal_points`: general, ukraine, third). Absence is the Ukraine-axis estimate's in
both (the propensity not to vote on a Ukraine text, shifted to each text's tally).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import zipfile
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from sim.config import cache_dir
from sim.data.loader import UNData
from sim.files import partial_path
from sim.model import estimates, positions
from sim.model.dynamics import FJState, rest_anchors
from sim.model.ideal_points import AXIS_NAMES, UKRAINE, IdealPoints, IdealPointSettings
from sim.model.layers_cache import cached_layers
from sim.model.network import TieWeights, row_stochastic
from sim.model.parameters import Parameters
from sim.model.positions import PositionEstimate, estimate_positions
from sim.model.text_axis import TextAxis, text_axis

# Cached estimates are keyed by the estimator's own source, so a changed estimator never
# reads an old estimate.
ESTIMATOR_KEY = hashlib.sha256(Path(positions.__file__).read_bytes()).hexdigest()[:12]
UKRAINE_AXIS_NAME = AXIS_NAMES[UKRAINE]  # every world has one axis of this name


@dataclass(frozen=True)
class World:
    """Members (N rows, ISO3 order), their estimated positions and the influence ties.

    layers: one (N, N) matrix per tie type at unit weight, so any `TieWeights` gives its
    influence matrix without rebuilding the network (calibration and sweeps vary them).
    axis_names: the K dimensions of the positions, in order; exactly one is named
    `UKRAINE_AXIS_NAME`, and `ukraine_axis` is its index: the one place that says which column
    is the Ukraine axis. points: the ideal points the positions are (K = 3), None for the
    one-axis estimate; they hold every fitted roll call's direction. default_axis: where a text
    that names no like splits the members (`sim.model.text_axis`): the Ukraine axis itself in
    one dimension, the latest Ukraine text of the ideal points in three.
    """

    members: pd.DataFrame
    estimate: PositionEstimate
    layers: dict[str, np.ndarray]
    parameters: Parameters
    data_until: date  # the cut-off: roll calls strictly before it were used
    start: date  # the last roll call used: the date the positions describe, step 0 of a run
    axis_names: tuple[str, ...] = (UKRAINE_AXIS_NAME,)
    points: IdealPoints | None = None
    default_axis: TextAxis = TextAxis()

    def __post_init__(self) -> None:
        dimensions = self.positions.shape[1]
        if len(self.axis_names) != dimensions:
            raise ValueError(f"{len(self.axis_names)} axis names for {dimensions} dimensions")
        if self.axis_names.count(UKRAINE_AXIS_NAME) != 1:
            raise ValueError(
                f"axes {', '.join(self.axis_names)} must name one '{UKRAINE_AXIS_NAME}' axis"
            )
        if self.points is not None and self.points.iso3 != self.iso3:
            raise ValueError("the ideal points' members are not the world's")

    @property
    def ukraine_axis(self) -> int:
        """The index of the Ukraine axis in `axis_names` (0 in one dimension, 1 in three)."""
        return self.axis_names.index(UKRAINE_AXIS_NAME)

    @property
    def iso3(self) -> tuple[str, ...]:
        return tuple(self.members["iso3"])

    @property
    def positions(self) -> np.ndarray:
        """(N, K) positions on `start`, one column per axis of `axis_names`; on every axis
        low = Western (on the Ukraine axis: pro-Ukraine), high = close to Moscow. The one-axis
        estimate is K = 1; the ideal points are their positions in the cut-off's year."""
        if self.points is not None:
            return self.points.position
        return np.reshape(self.estimate.position, (len(self.members), -1))

    @property
    def absence(self) -> np.ndarray:
        """(N,) base probability of not voting."""
        return self.estimate.absence

    def influence(self, ties: TieWeights | None = None) -> np.ndarray:
        """Row-stochastic W (N, N) for tie weights (default: the world's parameters)."""
        ties = ties or self.parameters.ties
        weighted = sum(getattr(ties, kind) * layer for kind, layer in self.layers.items())
        return row_stochastic(weighted)

    def stubbornness(self, parameters: Parameters | None = None) -> np.ndarray:
        """(N,) stubbornness of each member under `parameters` (default: the world's)."""
        return (parameters or self.parameters).member_stubbornness(self.members)

    def anchors(self, parameters: Parameters | None = None) -> np.ndarray:
        """(N, K) anchors that make the estimated positions a Friedkin-Johnsen equilibrium.

        The positions were estimated from votes already shaped by the network, so they are the
        state of rest: theta = S a + (I - S) W theta gives a = (theta - (I - S) W theta) / S.
        Without shocks nothing moves; a shock's effect is then the model's answer alone.
        """
        parameters = parameters or self.parameters
        return rest_anchors(
            self.positions, self.stubbornness(parameters), self.influence(parameters.ties)
        )

    def initial_state(
        self, runs: int = 1, dtype: type = np.float64, parameters: Parameters | None = None
    ) -> FJState:
        """The (runs, N, K) Friedkin-Johnsen state at the start, every run at rest."""
        parameters = parameters or self.parameters
        stubbornness = self.stubbornness(parameters)
        influence = self.influence(parameters.ties)
        anchors = rest_anchors(self.positions, stubbornness, influence)
        positions = np.broadcast_to(self.positions, (runs, *self.positions.shape)).astype(dtype)
        return FJState.start(
            positions,
            anchors.astype(dtype),
            stubbornness.astype(dtype),
            influence.astype(dtype),
            self.iso3,
            parameters.parting,
            parameters.turn_cost,
        )

    def with_parameters(self, parameters: Parameters) -> World:
        """The same world under other parameters; its positions stay, and so does its
        `dimensions` (it chose the positions when the world was built)."""
        parameters = dataclasses.replace(parameters, dimensions=self.parameters.dimensions)
        return dataclasses.replace(self, parameters=parameters)


def build_world(data: UNData, data_until: date, parameters: Parameters) -> World:
    """The world as the roll calls strictly before `data_until` describe it, in the
    `parameters.dimensions` the positions are estimated in."""
    estimate = cached_estimate(data, data_until)
    layers = _layers(data, data_until)
    start = record_end(data, data_until)
    if parameters.dimensions == 1:
        return World(data.members, estimate, layers, parameters, data_until, start)
    settings = IdealPointSettings(dimensions=parameters.dimensions)
    points = estimates.cached_ideal_points(data, data_until, settings)
    return World(
        data.members,
        estimate,
        layers,
        parameters,
        data_until,
        start,
        points.axis_names,
        points,
        text_axis(points, None, data),
    )


def record_end(data: UNData, data_until: date) -> date:
    """The date of the last roll call strictly before the cut-off."""
    return estimates.record_end(data, data_until).date()


def cached_estimate(data: UNData, data_until: date) -> PositionEstimate:
    """`estimate_positions` on roll calls before `data_until`, from memory or the disk cache.

    A cache file that cannot be read (cut short, corrupted) is estimated again and replaced.
    """
    key = (data.fingerprint, data_until)
    if key in _memory:
        return _memory[key]
    path = cache_path(data, data_until)
    estimate = _read_estimate(path) if path.is_file() else None
    if estimate is None:
        estimate = estimate_positions(data.members, data.history, data.ukraine, data_until)
        _write_estimate(path, estimate)
    _memory[key] = estimate
    return estimate


def cache_path(data: UNData, data_until: date) -> Path:
    """Where the estimate for these data and cut-off is cached (keyed by the estimator too)."""
    return cache_dir() / f"positions-{ESTIMATOR_KEY}-{data.fingerprint}-{data_until}.npz"


def day_after(day: date) -> date:
    """The cut-off that includes `day` itself (estimates use roll calls strictly before it)."""
    return day + timedelta(days=1)


_memory: dict[tuple, object] = {}  # this process's estimates and tie layers


def _layers(data: UNData, data_until: date) -> dict[str, np.ndarray]:
    key = ("layers", data.fingerprint, data_until)
    if key not in _memory:
        _memory[key] = cached_layers(data, data_until)
    return _memory[key]


def _write_estimate(path: Path, estimate: PositionEstimate) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {
        f.name: getattr(estimate, f.name)
        for f in dataclasses.fields(estimate)
        if isinstance(getattr(estimate, f.name), np.ndarray)
    }
    scalars = {
        f.name: getattr(estimate, f.name)
        for f in dataclasses.fields(estimate)
        if not isinstance(getattr(estimate, f.name), np.ndarray)
    }
    partial = partial_path(path)
    with partial.open("wb") as handle:  # a handle: np.savez would add ".npz" to a bare name
        np.savez(handle, scalars=json.dumps(scalars, default=str), **arrays)
    partial.replace(path)


def _read_estimate(path: Path) -> PositionEstimate | None:
    """The cached estimate, or None if the file is not one this estimator wrote whole."""
    try:
        with np.load(path) as stored:
            scalars = json.loads(str(stored["scalars"]))
            arrays = {name: stored[name] for name in stored.files if name != "scalars"}
        fields = {f.name: f for f in dataclasses.fields(PositionEstimate)}
        for name, value in scalars.items():
            if fields[name].type in ("date", date):
                scalars[name] = date.fromisoformat(value)
            elif isinstance(value, list):
                scalars[name] = tuple(value)
        return PositionEstimate(**arrays, **scalars)
    except (OSError, EOFError, ValueError, KeyError, TypeError, zipfile.BadZipFile):
        return None

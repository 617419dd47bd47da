"""The ties of W prepared for the parting rule (`sim.model.dynamics`), kept between steps.

The rule's per-tie term, sum_j W_ij c_j g_ij (y_j - y_i), is Friedkin-Johnsen's (g = 1, matrix
products in `sim.model.dynamics`) plus what g - 1 takes from it, summed here pair by pair: ties
i <- j and j <- i share a distance, so g is computed once per pair a < b of members with a tie
either way, by the compiled loops of `sim.model.tie_kernels` on member-major (N, K, R) arrays,
runs in chunks whose arrays stay in cache, and only the pairs that have parted beyond rounding
add to the sum (pairs that cannot have parted since they were last computed are not even
measured). That module (and numba) is imported on the first parting step only: a
Friedkin-Johnsen sweep does not pay for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

RUN_CHUNK = 256  # runs per chunk: fastest in the mission's sweep once unparted pairs are skipped


def listened_by_dimension(positions: np.ndarray, influence: np.ndarray) -> np.ndarray:
    """sum_j W_ij theta_jk for every run and dimension: positions (..., N, K) -> (..., K, N).

    One matrix product for all runs and dimensions, as an (R K, N) matrix: a view, without a
    copy, of positions laid out dimension-major.
    """
    return np.tensordot(positions, influence, axes=([-2], [1]))


@dataclass(frozen=True)
class TiePairs:
    """The ties of W prepared for the parting rule over one state's runs, kept between steps.

    What depends only on W and the start is computed once, when first needed: the pairs a < b
    with a tie either way and their weights W_ab, W_ba; for the pair kernel (parting on) the
    start member-major and each pair's distance at step 0, chunk by chunk; for a credibility
    per run, sum_j W_ij (theta0_j - theta0_i). `fits` says when a shock has changed W and the
    pairs must be rebuilt.
    """

    influence: np.ndarray  # (N, N) the W they were built for (a copy)
    start: np.ndarray  # (R, N, K) the positions at step 0 (the state's own array)
    first: np.ndarray  # (P,) a
    second: np.ndarray  # (P,) b > a
    toward_second: np.ndarray  # (P,) W_ab: how much a listens to b
    toward_first: np.ndarray  # (P,) W_ba
    # per chunk of runs (`RunChunk`), filled by `by_chunk`, shared with the pairs rebuilt after a
    # shock reweighted W (the same pairs: only distances and moves are kept there)
    chunks: list[RunChunk] = field(default_factory=list, repr=False)
    linear: dict = field(default_factory=dict, repr=False)  # `followed` by c_j, see there

    @classmethod
    def of(
        cls, influence: np.ndarray, start: np.ndarray, reuse: TiePairs | None = None
    ) -> TiePairs:
        """Pairs for W and the start (R, N, K); `reuse`: pairs of the same start and ties,
        whose start-dependent arrays are kept (a shock reweighted W)."""
        dtype = start.dtype
        size = len(influence)
        listeners, sources = np.nonzero((influence != 0) & ~np.eye(size, dtype=bool))
        low, high = np.minimum(listeners, sources), np.maximum(listeners, sources)
        first, second = np.divmod(np.unique(low * size + high), size)
        same_start = (
            reuse is not None
            and reuse.start is start
            and np.array_equal(reuse.influence != 0, influence != 0)
        )
        return cls(
            influence=influence.copy(),
            start=start,
            first=first,
            second=second,
            toward_second=influence[first, second].astype(dtype),
            toward_first=influence[second, first].astype(dtype),
            chunks=reuse.chunks if same_start else [],
        )

    def by_chunk(self) -> list[RunChunk]:
        """The `RunChunk` of each chunk of RUN_CHUNK runs."""
        if not self.chunks:
            from sim.model.tie_kernels import ROUNDING, distances

            then = np.swapaxes(self.start, -1, -2)  # (R, K, N)
            for low in range(0, len(self.start), RUN_CHUNK):
                start = member_major(then[low : low + RUN_CHUNK])
                apart_then = np.empty((len(self.first), start.shape[-1]), start.dtype)
                distances(start, self.first, self.second, apart_then)
                self.chunks.append(
                    RunChunk(
                        start=start,
                        apart_then=apart_then,
                        previous=start.copy(),
                        travelled=np.zeros(len(start)),
                        budget=np.zeros(len(self.first)),
                        room=ROUNDING * apart_then.max(axis=1, initial=0).astype(np.float64),
                    )
                )
        return self.chunks

    @cached_property
    def stood_for(self) -> np.ndarray:
        """(R, K, N) sum_j W_ij (theta0_j - theta0_i)."""
        return listened_by_dimension(self.start, self.influence) - np.swapaxes(self.start, -1, -2)

    @cached_property
    def scratch(self) -> tuple[np.ndarray, np.ndarray]:
        """`parted`'s scratch: exponent rows (P chunk,) and pair numbers (P,)."""
        chunk = min(RUN_CHUNK, len(self.start))
        return np.empty(len(self.first) * chunk, self.start.dtype), np.empty_like(self.first)

    def followed(self, credibility: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(M, (W - M) theta0) for c (N,) shared by the runs, M = W_ij c_j + diag(1 -
        sum_j W_ij c_j): with g = 1 the rule's x_i + sum_j W_ij (theta0_j - theta0_i) + sum_j
        W_ij c_j (y_j - y_i) is M theta + (W - M) theta0, one product a step as for
        Friedkin-Johnsen. Kept for each c met (a turn changes it once)."""
        key = credibility.tobytes()
        if key not in self.linear:
            weights = self.influence * credibility
            matrix = weights + np.diag(1 - weights.sum(axis=1))
            offset = listened_by_dimension(self.start, self.influence - matrix)
            self.linear[key] = (matrix.astype(self.start.dtype), offset)
        return self.linear[key]

    def fits(self, influence: np.ndarray) -> bool:
        """Built for this W (a shock may have edited it in place)?"""
        return np.array_equal(influence, self.influence)

    def parted(
        self, here: np.ndarray, parting: np.ndarray, credibility: np.ndarray, total: np.ndarray
    ) -> None:
        """Adds sum_j W_ij c_j (g_ij - 1) (y_j - y_i) for the positions `here` (R, K, N) to
        `total` (R, K, N): what parting takes from Friedkin-Johnsen's ties (`sim.model.dynamics`
        adds the rest, g = 1, as matrix products). parting (R,) per run; credibility (R, N) c_j
        per run.

        Only the pairs that have parted in some run of a chunk are summed: a pair whose g is
        within eps / 8 of 1 in every run (1 to rounding, eps of the dtype) adds nothing, as in
        `FJState._follows_friedkin_johnsen`.
        """
        from sim.model.tie_kernels import exponents, heard_by_pairs, travel

        runs = here.shape[0]
        dtype = here.dtype
        negligible = dtype.type(np.finfo(dtype).eps / 8)  # g within it of 1: 1 to rounding
        exponent_rows, parted_rows = self.scratch
        for low, chunk in zip(range(0, runs, RUN_CHUNK), self.by_chunk(), strict=True):
            runs_here = slice(low, low + RUN_CHUNK)
            parting_here = np.ascontiguousarray(parting[runs_here], dtype=dtype)
            if not np.any(parting_here):
                continue
            now = member_major(here[runs_here])  # (N, K, chunk)
            travel(now, chunk.previous, chunk.travelled)
            rows = exponent_rows[: len(self.first) * len(parting_here)].reshape(len(self.first), -1)
            count = exponents(
                now,
                chunk.apart_then,
                self.first,
                self.second,
                parting_here,
                negligible,
                chunk.travelled,
                chunk.budget,
                chunk.room,
                rows,
                parted_rows,
            )
            if not count:
                continue
            factors = np.exp(rows[:count], out=rows[:count])  # g of the parted pairs
            heard = np.zeros_like(now)
            heard_by_pairs(
                now - chunk.start,
                parted_rows[:count],
                self.first,
                self.second,
                self.toward_second,
                self.toward_first,
                np.ascontiguousarray(credibility[runs_here].T, dtype=dtype),  # (N, chunk)
                factors,
                heard,
            )
            total[runs_here] += heard.transpose(2, 1, 0)


@dataclass(frozen=True)
class RunChunk:
    """What the pair kernel keeps for one chunk of runs between steps (`sim.model.tie_kernels`)."""

    start: np.ndarray  # (N, K, chunk) the positions at step 0, member-major
    apart_then: np.ndarray  # (P, chunk) |theta0_b - theta0_a|
    previous: np.ndarray  # (N, K, chunk) the positions the kernel last saw
    travelled: np.ndarray  # (N,) float64: each member's bound on how far it has moved since
    budget: np.ndarray  # (P,) float64: below it, a pair's reach cannot have parted it
    room: np.ndarray  # (P,) float64: what `budget` leaves for rounding, by the pair's scale


def member_major(by_dimension: np.ndarray) -> np.ndarray:
    """(R, K, N) -> a (N, K, R) copy: each member's values for every run side by side."""
    return np.ascontiguousarray(by_dimension.transpose(2, 1, 0))

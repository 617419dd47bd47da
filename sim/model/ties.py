"""The ties of W prepared for the parting rule (`sim.model.dynamics`), and its compiled kernel.

The rule's per-tie term, sum_j W_ij c_j g_ij (y_j - y_i), is summed pair by pair: ties i <- j
and j <- i share a distance, so g is computed once per pair a < b of members with a tie either
way. Two numba loops run over pairs with the runs innermost, on member-major (N, K, R) arrays,
so every load and store is contiguous and the loops vectorise: the first writes -(parting
max(0, d - d0))^2 per pair and run, numpy's SIMD `exp` turns it into g, and the second adds
each pair's weighted move to both members. Runs go in chunks whose arrays stay in cache.
numba is a hard requirement (pyproject): the kernels compile once and are cached on disk.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

RUN_CHUNK = 128  # runs per chunk: the (P, chunk) factors and the members' rows stay in cache


@numba.njit(cache=True, nogil=True, fastmath=True)
def _exponents(now, start, first, second, parting, out):  # pragma: no cover
    """out[p] = -(parting max(0, |x_b - x_a| - |x0_b - x0_a|))^2 per run, x = `now`,
    x0 = `start` (N, K, R), parting (R,), pair p = (first[p], second[p])."""
    dimensions, runs = now.shape[1], now.shape[2]
    zero = now.dtype.type(0)
    squared_now = np.empty(runs, now.dtype)
    squared_then = np.empty(runs, now.dtype)
    for p in range(first.shape[0]):
        a, b = first[p], second[p]
        squared_now[:] = zero
        squared_then[:] = zero
        for k in range(dimensions):
            now_a, now_b, then_a, then_b = now[a, k], now[b, k], start[a, k], start[b, k]
            for r in range(runs):
                apart = now_b[r] - now_a[r]
                squared_now[r] += apart * apart
                apart_then = then_b[r] - then_a[r]
                squared_then[r] += apart_then * apart_then
        row = out[p]
        for r in range(runs):
            parted = max(np.sqrt(squared_now[r]) - np.sqrt(squared_then[r]), zero) * parting[r]
            row[r] = -(parted * parted)


@numba.njit(cache=True, nogil=True)
def _heard(moved, first, second, toward_second, toward_first, credibility, factors, out):
    """out[a] += W_ab c_b g_ab (y_b - y_a) and out[b] += W_ba c_a g_ab (y_a - y_b) for every
    pair, y = `moved` (N, K, R), credibility (N, R), factors g (P, R)."""  # pragma: no cover
    dimensions, runs = moved.shape[1], moved.shape[2]
    change = np.empty(runs, moved.dtype)
    heard_by_a = np.empty(runs, moved.dtype)
    heard_by_b = np.empty(runs, moved.dtype)
    for p in range(first.shape[0]):
        a, b = first[p], second[p]
        to_b, to_a, factor = toward_second[p], toward_first[p], factors[p]
        credible_a, credible_b = credibility[a], credibility[b]
        for r in range(runs):
            heard_by_a[r] = to_b * credible_b[r] * factor[r]
        for r in range(runs):
            heard_by_b[r] = to_a * credible_a[r] * factor[r]
        for k in range(dimensions):
            moved_a, moved_b, out_a, out_b = moved[a, k], moved[b, k], out[a, k], out[b, k]
            for r in range(runs):
                change[r] = moved_b[r] - moved_a[r]
            for r in range(runs):
                out_a[r] += heard_by_a[r] * change[r]
            for r in range(runs):
                out_b[r] -= heard_by_b[r] * change[r]


@dataclass(frozen=True)
class TiePairs:
    """The ties of W prepared for the parting rule over one state's runs, kept between steps.

    What depends only on W and the start is computed once: the pairs a < b with a tie either
    way and their weights W_ab, W_ba, the start member-major, and sum_j W_ij (theta0_j -
    theta0_i); `fits` says when a shock has changed W and the pairs must be rebuilt.
    """

    influence: np.ndarray  # (N, N) the W they were built for (a copy)
    start: np.ndarray  # (R, N, K) the positions at step 0 (the state's own array)
    first: np.ndarray  # (P,) a
    second: np.ndarray  # (P,) b > a
    toward_second: np.ndarray  # (P,) W_ab: how much a listens to b
    toward_first: np.ndarray  # (P,) W_ba
    start_by_member: tuple[np.ndarray, ...]  # (N, K, chunk) the start, member-major, by chunk
    stood_for: np.ndarray  # (R, K, N) sum_j W_ij (theta0_j - theta0_i)

    @classmethod
    def of(
        cls, influence: np.ndarray, start: np.ndarray, reuse: TiePairs | None = None
    ) -> TiePairs:
        """Pairs for W and the start (R, N, K); `reuse`: pairs of the same start, whose
        member-major copy is kept (a shock reweighted W)."""
        from sim.model.dynamics import listened_by_dimension

        dtype = start.dtype
        size = len(influence)
        listeners, sources = np.nonzero((influence != 0) & ~np.eye(size, dtype=bool))
        low, high = np.minimum(listeners, sources), np.maximum(listeners, sources)
        first, second = np.divmod(np.unique(low * size + high), size)
        then = np.swapaxes(start, -1, -2)  # (R, K, N)
        if reuse is not None and reuse.start is start:
            start_by_member = reuse.start_by_member
        else:
            runs = len(start)
            start_by_member = tuple(
                member_major(then[low : low + RUN_CHUNK]) for low in range(0, runs, RUN_CHUNK)
            )
        return cls(
            influence=influence.copy(),
            start=start,
            first=first,
            second=second,
            toward_second=influence[first, second].astype(dtype),
            toward_first=influence[second, first].astype(dtype),
            start_by_member=start_by_member,
            stood_for=listened_by_dimension(start, influence) - then,
        )

    def fits(self, influence: np.ndarray) -> bool:
        """Built for this W (a shock may have edited it in place)?"""
        return np.array_equal(influence, self.influence)

    def followed(
        self, here: np.ndarray, parting: np.ndarray, credibility: np.ndarray
    ) -> np.ndarray:
        """sum_j W_ij c_j g_ij (y_j - y_i) for the positions `here` (R, K, N) -> (R, K, N).

        parting (R,) per run; credibility (R, N) c_j per run.
        """
        runs = here.shape[0]
        dtype = here.dtype
        total = np.empty_like(here)
        for low, start in zip(range(0, runs, RUN_CHUNK), self.start_by_member, strict=True):
            runs_here = slice(low, low + RUN_CHUNK)
            now = member_major(here[runs_here])  # (N, K, chunk)
            moved = now - start
            credible = np.ascontiguousarray(credibility[runs_here].T, dtype=dtype)  # (N, chunk)
            chunk = np.ascontiguousarray(parting[runs_here], dtype=dtype)
            if np.any(chunk):
                factors = np.empty((len(self.first), len(chunk)), dtype)
                _exponents(now, start, self.first, self.second, chunk, factors)
                np.exp(factors, out=factors)
            else:  # Friedkin-Johnsen's ties, each partner discredited or not
                factors = np.ones((len(self.first), len(chunk)), dtype)
            heard = np.zeros_like(now)
            _heard(
                moved,
                self.first,
                self.second,
                self.toward_second,
                self.toward_first,
                credible,
                factors,
                heard,
            )
            total[runs_here] = heard.transpose(2, 1, 0)
        return total


def member_major(by_dimension: np.ndarray) -> np.ndarray:
    """(R, K, N) -> a (N, K, R) copy: each member's values for every run side by side."""
    return np.ascontiguousarray(by_dimension.transpose(2, 1, 0))

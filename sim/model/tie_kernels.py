"""The parting rule's two compiled loops over pairs of tied members (`sim.model.ties`).

Runs are innermost, on member-major (N, K, R) arrays, so every load and store is contiguous
and the loops vectorise: `exponents` writes -(parting max(0, d - d0))^2 for the pairs that have
parted (d0, fixed, is computed once per block), packed in pair order with their pair numbers,
numpy's SIMD `exp` turns them into g in place (a libm exp inside the loop would not
vectorise), and `heard_by_pairs` adds what g - 1 takes from each parted pair's weighted move to
both members. numba is a hard requirement (pyproject); the loops compile once and are cached
on disk beside this file.
"""

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def distances(start, first, second, out):  # pragma: no cover
    """out[p] = |x_b - x_a| per run for pair p = (first[p], second[p]), x = `start` (N, K, R):
    the squares summed in dimension order, as numpy sums them, then the root."""
    dimensions, runs = start.shape[1], start.shape[2]
    for p in range(first.shape[0]):
        a, b = first[p], second[p]
        row = out[p]
        for r in range(runs):
            apart = start[b, 0, r] - start[a, 0, r]
            row[r] = apart * apart
        for k in range(1, dimensions):
            start_a, start_b = start[a, k], start[b, k]
            for r in range(runs):
                apart = start_b[r] - start_a[r]
                row[r] += apart * apart
        for r in range(runs):
            row[r] = np.sqrt(row[r])


@numba.njit(cache=True, nogil=True, fastmath=True)
def exponents(now, apart_then, first, second, parting, negligible, out, parted):  # pragma: no cover
    """-(parting max(0, |x_b - x_a| - d0))^2 per run for pair p = (first[p], second[p]), x =
    `now` (N, K, R), d0 = `apart_then[p]` (the pair's distance at step 0, (P, R)), parting (R,).

    Only the pairs that have parted in some run (an exponent below -`negligible`: above it, g
    is 1 to rounding) are kept: the i-th of them has its exponents in out[i] and its pair
    number in parted[i]. out (P, R) and parted (P,) are scratch; returns how many were kept.
    """
    dimensions, runs = now.shape[1], now.shape[2]
    zero = now.dtype.type(0)
    squared = np.empty(runs, now.dtype)
    kept = 0
    for p in range(first.shape[0]):
        a, b = first[p], second[p]
        squared[:] = zero
        for k in range(dimensions):
            now_a, now_b = now[a, k], now[b, k]
            for r in range(runs):
                apart = now_b[r] - now_a[r]
                squared[r] += apart * apart
        row, then = out[kept], apart_then[p]
        count = 0
        for r in range(runs):
            gone = max(np.sqrt(squared[r]) - then[r], zero) * parting[r]
            row[r] = -(gone * gone)
            count += row[r] < -negligible
        if count > 0:
            parted[kept] = p
            kept += 1
    return kept


@numba.njit(cache=True, nogil=True)
def heard_by_pairs(
    moved, parted, first, second, toward_second, toward_first, credibility, factors, out
):  # pragma: no cover
    """out[a] += W_ab c_b (g_ab - 1) (y_b - y_a) and out[b] += W_ba c_a (g_ab - 1) (y_a - y_b)
    for the i-th parted pair p = parted[i], y = `moved` (N, K, R), credibility (N, R), factors
    g (>= len(parted), R): row i is pair parted[i]'s."""
    dimensions, runs = moved.shape[1], moved.shape[2]
    one = moved.dtype.type(1)
    heard_by_a = np.empty(runs, moved.dtype)
    heard_by_b = np.empty(runs, moved.dtype)
    for i in range(parted.shape[0]):
        p = parted[i]
        a, b = first[p], second[p]
        to_b, to_a, factor = toward_second[p], toward_first[p], factors[i]
        credible_a, credible_b = credibility[a], credibility[b]
        for r in range(runs):
            weakened = factor[r] - one
            heard_by_a[r] = to_b * credible_b[r] * weakened
            heard_by_b[r] = to_a * credible_a[r] * weakened
        for k in range(dimensions):
            moved_a, moved_b, out_a, out_b = moved[a, k], moved[b, k], out[a, k], out[b, k]
            for r in range(runs):
                change = moved_b[r] - moved_a[r]
                out_a[r] += heard_by_a[r] * change
                out_b[r] -= heard_by_b[r] * change

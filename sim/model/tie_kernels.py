"""The parting rule's compiled loops over pairs of tied members (`sim.model.ties`).

Runs are innermost, on member-major (N, K, R) arrays, so every load and store is contiguous
and the loops vectorise: `exponents` writes -(parting max(0, d - d0))^2 for the pairs that have
parted (d0, fixed, is computed once per block), packed in pair order with their pair numbers,
numpy's SIMD `exp` turns them into g in place (a libm exp inside the loop would not
vectorise), and `heard_by_pairs` adds what g - 1 takes from each parted pair's weighted move to
both members.

Most pairs that have not parted stay together for many steps, and `exponents` skips them
without computing their distance, exactly: a pair's distance can grow by at most how far its
two members have moved since it was last computed (the triangle inequality), so while that is
less than the margin by which the pair was closer than at step 0 in every run (`budget`, with
room for rounding), no run of it can have parted. `travel` keeps each member's bound on how far
it has moved. numba is a hard requirement (pyproject); the loops compile once and are cached on
disk beside this file.
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


ROUNDING = 1e-4  # relative room for rounding in the distances and moves `budget` compares
TICKS = 2.0**20  # a pair's margin is kept in whole 1/TICKS, rounded down, up to +-FAR
FAR = 2000.0


@numba.njit(cache=True, nogil=True)
def travel(now, previous, travelled):  # pragma: no cover
    """travelled[i] += max over runs of sum_k |now - previous| for member i (>= the Euclidean
    length of its move in every run), then previous[:] = now; now, previous (N, K, R)."""
    members, dimensions, runs = now.shape
    zero = now.dtype.type(0)
    moved = np.empty(runs, now.dtype)
    for i in range(members):
        moved[:] = zero
        for k in range(dimensions):
            now_i, previous_i = now[i, k], previous[i, k]
            for r in range(runs):
                moved[r] += abs(now_i[r] - previous_i[r])
                previous_i[r] = now_i[r]
        furthest = zero
        for r in range(runs):
            furthest = max(furthest, moved[r])
        travelled[i] += furthest


@numba.njit(cache=True, nogil=True, fastmath=True)
def exponents(
    now, apart_then, first, second, parting, negligible, travelled, budget, room, out, parted
):  # pragma: no cover
    """-(parting max(0, |x_b - x_a| - d0))^2 per run for pair p = (first[p], second[p]), x =
    `now` (N, K, R), d0 = `apart_then[p]` (the pair's distance at step 0, (P, R)), parting (R,).

    Only the pairs that have parted in some run (an exponent below -`negligible`: above it, g
    is 1 to rounding) are kept: the i-th of them has its exponents in out[i] and its pair
    number in parted[i]. out (P, R) and parted (P,) are scratch; returns how many were kept.

    travelled (N,): each member's bound on how far it has moved (`travel`); budget (P,): while
    travelled[a] + travelled[b] stays below it, the pair is skipped (it cannot have parted).
    Start it at 0 (every pair computed). A pair computed and not kept sets it to that reach plus
    the least margin, over runs, by which the pair is closer than at step 0, less `room[p]` for
    rounding; a kept pair's stays below its reach. The margin is taken for the pairs not kept
    only, rounded down to whole ticks: a float min over runs does not vectorise here, an
    integer one does.
    """
    dimensions, runs = now.shape[1], now.shape[2]
    zero = now.dtype.type(0)
    far, ticks = now.dtype.type(FAR), now.dtype.type(TICKS)
    squared = np.empty(runs, now.dtype)
    kept = 0
    for p in range(first.shape[0]):
        a, b = first[p], second[p]
        reach = travelled[a] + travelled[b]
        if reach * (1 + ROUNDING) < budget[p]:
            continue
        squared[:] = zero
        for k in range(dimensions):
            now_a, now_b = now[a, k], now[b, k]
            for r in range(runs):
                apart = now_b[r] - now_a[r]
                squared[r] += apart * apart
        row, then = out[kept], apart_then[p]
        count = 0
        for r in range(runs):
            closer = then[r] - np.sqrt(squared[r])  # how much closer than at step 0
            squared[r] = closer
            gone = max(-closer, zero) * parting[r]
            row[r] = -(gone * gone)
            count += row[r] < -negligible
        if count > 0:
            parted[kept] = p
            kept += 1
        else:
            least = np.int32(2**31 - 1)
            for r in range(runs):
                least = min(least, np.int32(np.floor(max(min(squared[r], far), -far) * ticks)))
            budget[p] = reach + least / TICKS - room[p]
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

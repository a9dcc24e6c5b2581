"""Compiled M11 the leader (twin of :func:`loyaltytrap.mechanisms.leader.react_to_surprises`)."""

from __future__ import annotations

import numba
import numpy as np

from ..events import EventBatch
from ..mechanisms import leader
from ..mechanisms.hierarchy import Tree
from ..mechanisms.leader import FIX, IGNORE, SCAPEGOAT, LeaderParams, LeaderState
from ..params import packed, per_member

_BLOCK = 128  # NumPy's pairwise-summation block (PW_BLOCKSIZE)


@numba.njit(cache=True)
def _block_sum(a, lo, n):  # pragma: no cover - compiled
    # a leaf of NumPy's pairwise summation: n <= _BLOCK numbers from a[lo], 8 accumulators
    if n < 8:
        res = 0.0
        for i in range(n):
            res += a[lo + i]
        return res
    r0 = a[lo]
    r1 = a[lo + 1]
    r2 = a[lo + 2]
    r3 = a[lo + 3]
    r4 = a[lo + 4]
    r5 = a[lo + 5]
    r6 = a[lo + 6]
    r7 = a[lo + 7]
    m = n - n % 8
    # a view indexed from 0 by a while loop: measured twice as fast as range(8, m, 8) on a
    b = a[lo + 8:lo + m]
    i = 0
    while i < m - 8:
        r0 += b[i]
        r1 += b[i + 1]
        r2 += b[i + 2]
        r3 += b[i + 3]
        r4 += b[i + 4]
        r5 += b[i + 5]
        r6 += b[i + 6]
        r7 += b[i + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    for i in range(m, n):
        res += a[lo + i]
    return res


@numba.njit(cache=True)
def _pairwise_sum(a, frames, left):  # pragma: no cover - compiled
    # NumPy's pairwise summation of a (what a.sum() and x.sum(axis=1) do), so that the sums
    # agree to the last bit. NumPy recurses (halves cut at a multiple of 8 down to blocks of
    # _BLOCK); here the recursion runs on an explicit stack, as Numba's cache cannot hold a
    # recursive function (numba#6061). frames ``[64, 3]`` int64 (start, length, stage) and
    # left ``[64]`` (the left half's sum) are the stack, reused between calls.
    n = a.shape[0]
    if n <= _BLOCK:
        return _block_sum(a, 0, n)
    depth = 0
    frames[0, 0] = 0
    frames[0, 1] = n
    while True:
        lo = frames[depth, 0]
        m = frames[depth, 1]
        while m > _BLOCK:  # down the left halves to a block
            h = m // 2
            h -= h % 8
            frames[depth, 2] = 1
            depth += 1
            frames[depth, 0] = lo
            frames[depth, 1] = h
            m = h
        val = _block_sum(a, lo, m)
        depth -= 1
        while depth >= 0 and frames[depth, 2] == 2:  # up past the finished right halves
            val = left[depth] + val
            depth -= 1
        if depth < 0:
            return val
        left[depth] = val  # a left half done: its right half next
        frames[depth, 2] = 2
        h = frames[depth, 1] // 2
        h -= h % 8
        lo = frames[depth, 0] + h
        m = frames[depth, 1] - h
        depth += 1
        frames[depth, 0] = lo
        frames[depth, 1] = m


@numba.njit(cache=True)
def _argmax(a, acc):  # pragma: no cover - compiled
    # np.argmax of a row without NaN: the first maximum. The largest value of each block of
    # _BLOCK (8 running maxima in ``acc`` ``[8]``, which vectorise), then a search for it in
    # the first block that holds it.
    n = a.shape[0]
    best = a[0]
    first = 0
    for lo in range(0, n, _BLOCK):
        b = a[lo:min(lo + _BLOCK, n)]
        m = b.shape[0] - b.shape[0] % 8
        top = b[0]
        if m > 0:
            for k in range(8):
                acc[k] = b[k]
            for i in range(8, m, 8):
                for k in range(8):
                    x = b[i + k]
                    acc[k] = x if x > acc[k] else acc[k]
            for k in range(8):
                top = acc[k] if acc[k] > top else top
        for i in range(m, b.shape[0]):
            top = b[i] if b[i] > top else top
        if top > best:
            best = top
            first = lo
    for i in range(first, n):
        if a[i] == best:
            return i
    return first


@numba.njit(cache=True)
def _react(surfaced, known_before, threshold, floor, p_scapegoat, p_fix, fix_share, u, parent,
           level_of, level, surprises_total0, responses_total0):  # pragma: no cover - compiled
    # plain ``react_to_surprises`` member by member, in its order of operations; the amount,
    # the worst command and its ancestor are only looked for where they are used
    E = surfaced.shape[0]
    surprise = np.zeros(E, dtype=np.bool_)
    response = np.full(E, -1, dtype=np.int8)
    target = np.full(E, -1, dtype=np.int64)
    fix_resolved = np.zeros(E)
    amount = np.zeros(E)
    surprises_total = np.empty(E)
    responses_total = np.empty((E, 3))
    frames = np.empty((64, 3), dtype=np.int64)
    left = np.empty(64)
    acc = np.empty(8)
    n_surprises = 0
    for e in range(E):
        for k in range(3):
            responses_total[e, k] = responses_total0[e, k] + 0.0
        surprises_total[e] = surprises_total0[e] + 0.0
        a = _pairwise_sum(surfaced[e], frames, left)
        amount[e] = a
        bar = threshold[e] * known_before[e]
        if not (bar >= floor[e] or np.isnan(bar)):  # np.maximum, NaN first
            bar = floor[e]
        if not (a >= bar and a > 0):
            continue
        surprise[e] = True
        surprises_total[e] = surprises_total0[e] + 1.0
        n_surprises += 1
        r = np.float64(u[e, 0])
        if r < p_scapegoat[e]:
            k = SCAPEGOAT
        elif r < p_scapegoat[e] + p_fix[e]:
            k = FIX
        else:
            k = IGNORE
        response[e] = k
        responses_total[e, k] = responses_total0[e, k] + 1.0
        if k == SCAPEGOAT:
            # a surprise means a finite amount (a >= bar fails for NaN): no NaN in the row
            worst = _argmax(surfaced[e], acc)
            while level_of[worst] > level:
                worst = parent[worst]
            target[e] = worst
        elif k == FIX:
            fix_resolved[e] = fix_share[e] * a
    return (surprise, response, target, fix_resolved, surprises_total, responses_total, amount,
            n_surprises)


@numba.njit(cache=True)
def _no_surprise(surprises_total0, responses_total0):  # pragma: no cover - compiled
    # the leader switched off: _react with nothing to look at
    E = surprises_total0.shape[0]
    return (np.zeros(E, dtype=np.bool_), np.full(E, -1, dtype=np.int8),
            np.full(E, -1, dtype=np.int64), np.zeros(E), surprises_total0 + 0.0,
            responses_total0 + 0.0)


def react_to_surprises(
    s: LeaderState,
    p: LeaderParams,
    tree: Tree,
    known_before: np.ndarray,
    surfaced: np.ndarray,
    threat: np.ndarray,
    u: np.ndarray,
) -> tuple[LeaderState, list[EventBatch]]:
    """Compiled :func:`loyaltytrap.mechanisms.leader.react_to_surprises`."""
    events: list[EventBatch] = []
    if p.enabled:
        E = surfaced.shape[0]
        pmv = packed(p, f"leader:{E}", lambda: tuple(per_member(getattr(p, n), E) for n in (
            "surprise_threshold", "surprise_floor", "response_scapegoat", "response_fix",
            "fix_share")))
        (surprise, response, target, fix_resolved, surprises_total, responses_total, amount,
         n_surprises) = _react(
            surfaced, known_before, *pmv, u, tree.parent(),
            tree.level_of(), min(p.scapegoat_level, tree.levels - 1), s.surprises_total,
            s.responses_total)
        if n_surprises:
            events = leader.surprise_events(surprise, amount, known_before, target, response)
    else:  # still called every day: the short way
        surprise, response, target, fix_resolved, surprises_total, responses_total = \
            _no_surprise(s.surprises_total, s.responses_total)
    return LeaderState(
        surprise=surprise, response=response, target=target, fix_resolved=fix_resolved,
        threat=threat, surprises_total=surprises_total, responses_total=responses_total,
    ), events

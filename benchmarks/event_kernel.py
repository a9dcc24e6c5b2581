"""The hierarchy kernel, event-driven: what a sparse design of the officer layer would reach.

A fourth independent implementation of the kernel (after the Mesa peer, the pure-Python
reference and the fused loop of :mod:`benchmarks.compiled_kernel`), the same day with the same
distributions, but doing work only where something happens. On a default day about 27 of the
1,024 units get a new problem and a few dozen officers hold news; every other officer only
lets fear fade and its buried stock worsen, which are known in closed form:

- *New problems* come as one Bernoulli draw per unit and day. The positions of the successes
  along the days' sequence of units are drawn directly: the gaps between them are geometric
  (one uniform and one log per problem instead of one uniform per unit and day).
- *Fear* moves the same way for every officer of a level: each day it fades towards its
  baseline, and a day with purges spreads fear, level by level. Both are affine maps
  (``f -> a f + b``), so an officer's fear is ``A[level] * x[i] + B[level]``, with the
  composed map kept per level and ``x`` fixed at its initial value. It is read only for an
  officer who holds news, and the mean fear is ``O(levels)`` a day.
- *A buried stock* grows by ``1 + growth`` a day and ages by its count, so it is kept as of
  the day it was last touched and brought forward when read. The day it reaches the
  visibility threshold is known when it is buried, and it is put in a calendar for that day.
  A later burial at the same officer moves it; the stale entry is skipped.
- *Vacancies* all last the same number of days, so they end in the order they began: a FIFO.

Only news moves between officers, and what is forwarded arrives tomorrow, so the order in
which today's holders are taken changes no distribution. The seven statistics of
:data:`benchmarks.kernel.METRICS` are checked against the other implementations by
:mod:`benchmarks.check_mesa_equivalence`. This is a measurement of the design, not a part of
the engine: it has no scenario, no indicators beyond those seven, no events, no ensemble axis
and none of the mechanisms outside the kernel (the sign-off queues, the fixes taken out of
every compartment, the leader, the war economy).
"""

from __future__ import annotations

import numba
import numpy as np

from .compiled_kernel import (
    _clip01,
    _exposure,
    _officers,
    _tree,
    last_day,
    member_seed,
    params_tuple,
)
from .kernel import KernelParams


@numba.njit(inline="always")
def _gap(log_q):  # pragma: no cover - compiled
    # units skipped before the next new problem: geometric, P(no problem) = exp(log_q)
    if log_q == 0.0:
        return 1e18
    return np.floor(np.log(1.0 - np.random.random()) / log_q)


@numba.njit(inline="always")
def _due(sev, day, days, grow, log_g1, vis):  # pragma: no cover - compiled
    # the first day after `day` on which a stock of severity `sev` (as of `day`) is visible,
    # or -1 if not within the run (grow[k] is the growth over k days)
    if sev <= 0.0 or log_g1 <= 0.0:
        return -1
    k = max(int(np.ceil(np.log(vis / sev) / log_g1)), 1)
    if day + k >= days:
        return -1
    while sev * grow[k] < vis:
        k += 1
        if day + k >= days:
            return -1
    while k > 1 and sev * grow[k - 1] >= vis:
        k -= 1
    return day + k


@numba.njit(cache=True)
def _run(p, days, seed):  # pragma: no cover - compiled
    (levels, branching, r_front, r_supply, r_equip, severity_mean, comp_mean, comp_sd,
     loy_mean, loy_sd, cand_mean, cand_sd, initial_fear, sens, vis, growth, purge_prob,
     purge_decay, jailed_share, disappeared_share, vacancy_days, comp_drop, repl_loy,
     repl_cand, repl_sd, spread_level, spread_all, fear_decay, fear_base) = p
    np.random.seed(seed)
    L, n, sizes, offset, level, parent = _tree(levels, branching)
    first_unit = offset[L - 1]
    U = sizes[L - 1]
    vacancy = max(int(np.rint(vacancy_days)), 1)
    exposure = _exposure(L, purge_prob, purge_decay)
    e1 = r_front
    e2 = e1 + r_supply
    e3 = e2 + r_equip
    log_q = np.log1p(-e3) if e3 < 1.0 else -np.inf
    g1 = 1.0 + growth
    log_g1 = np.log(g1)
    grow = np.empty(days + 1)  # a stock's growth over k days, as the daily products form it
    grow[0] = 1.0
    for k in range(1, days + 1):
        grow[k] = grow[k - 1] * g1
    comp, loy, cand = _officers(n, comp_mean, comp_sd, loy_mean, loy_sd, cand_mean, cand_sd)
    # fear: officer i's is A[level] * x[i] + B[level]
    x = np.full(n, initial_fear)
    A = np.ones(L)
    B = np.zeros(L)
    sum_x = np.empty(L)
    for lvl in range(L):
        sum_x[lvl] = initial_fear * sizes[lvl]
    status = np.zeros(n, dtype=np.int8)
    vacant_until = np.zeros(n, dtype=np.int64)
    fifo = np.empty(n, dtype=np.int64)  # the vacant posts, in the order their vacancies end
    head = 0
    size = 0
    # news forwarded yesterday (arriving today) and today (arriving tomorrow), by parity:
    # per domain, then severity and day-sum of ages; the officers that have some, listed once
    inc = np.zeros((2, n, 5))
    lst = np.empty((2, n), dtype=np.int64)
    listed = np.zeros((2, n), dtype=np.bool_)
    count = np.zeros(2, dtype=np.int64)
    # buried stocks as of the day they were last touched (counts by domain, severity, ages)
    hid = np.zeros((n, 3))
    hsev = np.zeros(n)
    hage = np.zeros(n)
    stamp = np.full(n, -1, dtype=np.int64)
    due = np.full(n, -1, dtype=np.int64)
    # the calendar of stocks becoming visible: a list per day (entries made stale by a later
    # burial at the same officer are skipped)
    first = np.full(days, -1, dtype=np.int64)
    cap = 4 * days + 64
    node_of = np.empty(cap, dtype=np.int64)
    node_next = np.empty(cap, dtype=np.int64)
    nodes = 0
    purged_at = np.zeros(L, dtype=np.int64)
    scratch = np.zeros(5)
    out = np.empty((days, 7))
    arisen = 0.0
    relayed = 0.0
    surfaced = 0.0
    purged = 0.0
    hidden_sum = 0.0
    vacant = 0.0
    pos = _gap(log_q)  # position of the next new problem along days x units
    for day in range(days):
        cur = day % 2
        nxt = 1 - cur
        # vacancies that end today
        while size > 0 and vacant_until[fifo[head]] <= day:
            status[fifo[head]] = 0
            head = (head + 1) % n
            size -= 1
            vacant -= 1.0
        purged_at[:] = 0
        # today's holders: the units with a new problem, then the officers news reached
        todo = count[cur]
        k_item = -1
        while True:
            if pos < (day + 1) * U:  # a unit's new problem
                i = first_unit + int(pos - day * U)
                v = np.random.random() * e3
                kind = 0 if v < e1 else 1 if v < e2 else 2
                scratch[:] = 0.0
                scratch[kind] = 1.0
                scratch[3] = -severity_mean * np.log(1.0 - np.random.random())
                arisen += 1.0
                pos += 1.0 + _gap(log_q)
            else:
                k_item += 1
                if k_item >= todo:
                    break
                i = lst[cur, k_item]
                c = inc[cur, i]
                scratch[0], scratch[1], scratch[2], scratch[3] = c[0], c[1], c[2], c[3]
                scratch[4] = c[4] + ((c[0] + c[1]) + c[2])  # it aged a day on the way
                c[:] = 0.0
                listed[cur, i] = False
            x0, x1, x2 = scratch[0], scratch[1], scratch[2]
            held = (x0 + x1) + x2
            lvl = level[i]
            f = A[lvl] * x[i] + B[lvl]  # yesterday's fear
            if np.random.random() < min(1.0, sens * f * (1.0 - cand[i])):
                # buried: the stock brought to today, then added to
                dt = day - stamp[i]
                h = hid[i]
                tot = (h[0] + h[1]) + h[2]
                s = hsev[i] * grow[dt] + scratch[3]
                hage[i] += tot * dt + scratch[4]
                h[0] += x0
                h[1] += x1
                h[2] += x2
                stamp[i] = day
                hidden_sum += held
                if s >= vis:  # visible at once: the whole stock surfaces
                    tot += held
                    surfaced += tot
                    hidden_sum -= tot
                    h[:] = 0.0
                    hsev[i] = 0.0
                    hage[i] = 0.0
                    due[i] = -1
                else:
                    hsev[i] = s
                    d = _due(s, day, days, grow, log_g1, vis)
                    due[i] = d
                    if d >= 0:
                        if nodes == cap:  # the calendar's pool is full: double it
                            cap *= 2
                            grown = np.empty(cap, dtype=np.int64)
                            grown[:nodes] = node_of[:nodes]
                            node_of = grown
                            grown = np.empty(cap, dtype=np.int64)
                            grown[:nodes] = node_next[:nodes]
                            node_next = grown
                        node_of[nodes] = i
                        node_next[nodes] = first[d]
                        first[d] = nodes
                        nodes += 1
                continue
            # forwarded: to the leader, or to the superior's inbox for tomorrow
            j = parent[i]
            if j < 0:
                relayed += held
            else:
                if not listed[nxt, j]:
                    listed[nxt, j] = True
                    lst[nxt, count[nxt]] = j
                    count[nxt] += 1
                c = inc[nxt, j]
                for q in range(5):
                    c[q] += scratch[q]
            # a candid serving officer may be purged, and a deputy takes over
            if status[i] == 0 and np.random.random() < exposure[lvl]:
                purged_at[lvl] += 1
                u = np.random.random()
                status[i] = 1 if u < jailed_share else (
                    2 if u < jailed_share + disappeared_share else 3)
                comp[i] = _clip01(np.random.normal(comp[i] - comp_drop, repl_sd))
                loy[i] = _clip01(np.random.normal(repl_loy, repl_sd))
                cand[i] = _clip01(np.random.normal(repl_cand, repl_sd))
                vacant_until[i] = day + vacancy
                fifo[(head + size) % n] = i
                size += 1
                vacant += 1.0
        count[cur] = 0
        # the stocks that become visible today without a new burial
        node = first[day]
        while node >= 0:
            i = node_of[node]
            if due[i] == day:
                h = hid[i]
                tot = (h[0] + h[1]) + h[2]
                surfaced += tot
                hidden_sum -= tot
                h[:] = 0.0
                hsev[i] = 0.0
                hage[i] = 0.0
                stamp[i] = day
                due[i] = -1
            node = node_next[node]
        # fear fades, then spreads from today's purges: one affine map per level
        total = 0
        for lvl in range(L):
            total += purged_at[lvl]
        purged += total
        keep_all = (1.0 - spread_all) ** total
        fear_sum = 0.0
        for lvl in range(L):
            a = 1.0 - fear_decay
            bb = fear_decay * fear_base
            if total > 0:
                keep = (1.0 - spread_level) ** purged_at[lvl] * keep_all
                a, bb = keep * a, keep * bb + (1.0 - keep)
            A[lvl] *= a
            B[lvl] = a * B[lvl] + bb
            if A[lvl] < 1e-100:  # fold the map into x before it underflows
                s = 0.0
                for i in range(offset[lvl], offset[lvl] + sizes[lvl]):
                    x[i] = A[lvl] * x[i] + B[lvl]
                    s += x[i]
                sum_x[lvl] = s
                A[lvl] = 1.0
                B[lvl] = 0.0
            fear_sum += A[lvl] * sum_x[lvl] + B[lvl] * sizes[lvl]
        out[day, 0] = relayed / arisen if arisen > 0 else np.nan
        out[day, 1] = fear_sum / n
        out[day, 2] = purged
        out[day, 3] = vacant
        out[day, 4] = hidden_sum
        out[day, 5] = surfaced
        out[day, 6] = arisen
    return out


def run_days(p: KernelParams, days: int, seed: int, member: int) -> np.ndarray:
    """The seven statistics of every day, ``[days, 7]`` in the order of METRICS."""
    return _run(params_tuple(p), days, member_seed(seed, member, 0x6576))


def run_member(p: KernelParams, days: int, seed: int, member: int) -> dict[str, float]:
    """Run one member ``days`` days and return the last day's statistics."""
    return last_day(run_days(p, days, seed, member))

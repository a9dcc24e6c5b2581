"""Compiled passes over the officers: M2 sitreps, M4 the sign-off day, M3 the purge draw and
the fear spread, the removal of resolved problems, the placement of new problems and the
officer sums the indicators read."""

from __future__ import annotations

import dataclasses

import numba
import numpy as np

from ..mechanisms.hierarchy import SERVING, OfficerState, Tree
from ..mechanisms.purges import PurgeParams
from ..mechanisms.reporting import ReportingParams, ReportState
from ..mechanisms.signoff import DecisionState, SignoffParams
from ..params import col, per_member
from .uniforms import uniform_of, uniform_source


@numba.njit(inline="always")
def _kept(a0, a1, a2, k0, k1, k2):  # pragma: no cover - compiled
    # one officer's compartment with the shares k of each domain kept: the domains kept,
    # their sum and the share f of the whole that stays (which shrinks its severity and age),
    # the sums formed in domain order, as the plain version forms them
    b0, b1, b2 = a0 * k0, a1 * k1, a2 * k2
    tot = ((0.0 + a0) + a1) + a2
    kept = ((0.0 + b0) + b1) + b2
    return b0, b1, b2, kept, (kept / max(tot, 1e-12) if tot > 1e-12 else 1.0)


@numba.njit(cache=True)
def _kept_in_place(s0, s1, s2, sev, age, k0, k1, k2, g):  # pragma: no cover - compiled
    # _kept along one row of officers, written over it: the compartments s shrunk by the
    # shares k, their severity shrunk and grown by g, their age shrunk and aged a day by what
    # is kept. A function of its own, on rows: written inline in a loop over the members, on
    # row views of the members' arrays, the loop ran along the scalar path that branches on
    # every officer (0.45 ms against 0.08 ms a day at 64 members, the kernel's setting)
    for n in range(s0.shape[0]):
        s0[n], s1[n], s2[n], kept, f = _kept(s0[n], s1[n], s2[n], k0, k1, k2)
        sev[n] = (sev[n] * f) * g
        age[n] = age[n] * f + kept


@numba.njit(cache=True)
def _due_row(s0, s1, s2, sev0, age0, t0, t1, t2, sev, age, k0, k1,
             k2):  # pragma: no cover - compiled
    # the news due today in flight, shrunk as _kept_in_place shrinks it, added to nothing (the
    # plain version adds the slot to a row of zeros: -0.0 becomes +0.0)
    for n in range(s0.shape[0]):
        x0, x1, x2, kept, f = _kept(s0[n], s1[n], s2[n], k0, k1, k2)
        t0[n], t1[n], t2[n] = 0.0 + x0, 0.0 + x1, 0.0 + x2
        sev[n] = 0.0 + sev0[n] * f
        age[n] = 0.0 + (age0[n] * f + kept)


@numba.njit(inline="always")
def _arrivals_of(arrivals, e):  # pragma: no cover - compiled
    # member e's entries of the sparse arrivals (see _place_sparse)
    start, unit, kind, amount, sev = arrivals
    return start[e], start[e + 1], unit, kind, amount, sev


@numba.njit(cache=True)
def _place_sparse(edges, u_arrival, u_severity, severity_mean):  # pragma: no cover - compiled
    # the new problems at the units, sparse: what plain place_problems puts in its dense
    # [E, K, U] counts and [E, U] severities, as entries by member and unit (start ``[E+1]``,
    # then unit, kind, amount, severity ``[M]``): an arrival is two entries, its count (kind
    # k, amount 1) and its severity (kind -1). Most units get nothing on most days: a
    # uniform at or above every edge (NaN edges take nothing) is passed over with one test
    E, K = edges.shape
    U = u_arrival.shape[1]
    start = np.empty(E + 1, dtype=np.int64)
    unit = np.empty(2 * E * U, dtype=np.int64)
    kind = np.empty(2 * E * U, dtype=np.int64)
    amount = np.empty(2 * E * U)
    sev = np.empty(2 * E * U)
    sd, sst, sjt, slazy = uniform_source(u_severity)
    m = 0
    for e in range(E):
        start[e] = m
        top = -np.inf  # the largest edge (a NaN is never larger)
        for k in range(K):
            if edges[e, k] > top:
                top = edges[e, k]
        for j in range(U):
            x = u_arrival[e, j]
            if x >= top:  # x < edges[e, k] fails for every k
                continue
            lower = 0.0
            for k in range(K):
                if x >= lower and x < edges[e, k]:
                    unit[m] = j
                    kind[m] = k
                    amount[m] = 1.0
                    sev[m] = 0.0
                    unit[m + 1] = j
                    kind[m + 1] = -1
                    amount[m + 1] = 0.0
                    sev[m + 1] = -severity_mean[e] * np.log1p(
                        -np.float64(uniform_of(sd, sst, sjt, slazy, e, j)))
                    m += 2
                lower = edges[e, k]
    start[E] = m
    return start, unit, kind, amount, sev


@numba.njit(cache=True)
def _sparse_arrivals(new, new_sev):  # pragma: no cover - compiled
    # dense new problems ``[E, K, U]`` and severities ``[E, U]`` as _place_sparse's entries
    # (every value but an exact +0.0, which adds nothing where the sitreps add them)
    E, K, U = new.shape
    start = np.empty(E + 1, dtype=np.int64)
    size = E * U * (K + 1)
    unit = np.empty(size, dtype=np.int64)
    kind = np.empty(size, dtype=np.int64)
    amount = np.empty(size)
    sev = np.empty(size)
    m = 0
    for e in range(E):
        start[e] = m
        for j in range(U):
            for k in range(-1, K):  # the severity (kind -1), then the counts, by kind
                v = new_sev[e, j] if k < 0 else new[e, k, j]
                if v == 0.0 and not np.signbit(v):
                    continue
                unit[m], kind[m] = j, k
                amount[m], sev[m] = (0.0, v) if k < 0 else (v, 0.0)
                m += 1
    start[E] = m
    return start, unit[:m], kind[:m], amount[:m], sev[:m]


@numba.njit(cache=True)
def _sitreps(inflight0, inflight_sev0, inflight_age0, hidden0, hidden_sev0, hidden_age0,
             known0, unresolved0, arrivals, fear, candour, sens, p_const, behavioural,
             u, growth, vis, window, offsets, sizes, D, slot, pass_ema0, arisen0,
             relayed0, keep_o, keep_h, inplace, candid0, surfaced0,
             surfaced_age0):  # pragma: no cover - compiled
    # Member by member, in four passes over its officers, each number formed by the plain
    # version's operations in its order:
    #   1. what is buried, shrunk by yesterday's fixes (keep_h, as _shrink_member applies
    #      it), worsens and ages: written to today's arrays (a loop along the officers that
    #      vectorises);
    #   2. what each officer holds today: the news due to it (shrunk by keep_o) and its
    #      unit's new problems, in a scratch row (vectorises too);
    #   3. bottom-up, every officer holding news buries it (added to today's stock) or
    #      forwards it: to the leader, to its superior's scratch row (D = 0: read when the
    #      superior's turn comes, later in this pass) or into today's slot in flight;
    #   4. bottom-up, a stock that reached the visibility threshold surfaces entirely.
    # Yesterday's state is read once and today's written once; the three domains (a model
    # constant) are scalars in registers. With ``inplace`` today's news in flight and buried
    # stocks are written over yesterday's (the same arrays are returned: the caller must not
    # need yesterday's again), so that the day's writes go to lines its reads just brought in,
    # and the day's candid, surfaced and their ages are yesterday's arrays (candid0, ...)
    # cleared, instead of new ones.
    E, K, N = hidden0.shape
    if K != 3:
        raise ValueError("the sitrep kernel is written for the model's 3 domains")
    L = sizes.shape[0]
    U0 = offsets[L - 1]
    P = inflight0.shape[3]  # the officers above the units (U0 of them)
    if P != U0:
        raise ValueError("news in flight is kept for the officers above the units")
    # today's news in flight and buried stocks: yesterday's, written over (a copy of them
    # unless ``inplace``)
    inflight, inflight_sev, inflight_age = inflight0, inflight_sev0, inflight_age0
    hidden, hidden_sev, hidden_age = hidden0, hidden_sev0, hidden_age0
    if not inplace:
        inflight, inflight_sev, inflight_age = (inflight.copy(), inflight_sev.copy(),
                                                inflight_age.copy())
        hidden, hidden_sev, hidden_age = hidden.copy(), hidden_sev.copy(), hidden_age.copy()
    known = np.empty_like(known0)
    unresolved = np.empty_like(unresolved0)
    received = np.zeros((E, L))
    scrubbed = np.zeros((E, L))
    if inplace:
        candid, surfaced, surfaced_age = candid0, surfaced0, surfaced_age0
        candid[:] = False
        surfaced[:] = 0.0
        surfaced_age[:] = 0.0
    else:
        candid = np.zeros((E, N), dtype=np.bool_)
        surfaced = np.zeros((E, N))
        surfaced_age = np.zeros((E, N))
    to_top = np.zeros(E)
    to_top_age = np.zeros(E)
    pass_ema = np.empty(E)
    arisen = np.empty(E)
    relayed = np.empty(E)
    # what each officer holds today, by domain: the units' entries zero but where a member's
    # arrivals wrote them (cleared after it), the others written for each member
    held = np.zeros((3, N))
    held_sev = np.zeros(N)
    held_age = np.zeros(N)
    ud, ust, ujt, lazy = uniform_source(u)
    active = np.empty(N, dtype=np.int64)
    for e in range(E):
        ko0, ko1, ko2 = keep_o[e, 0], keep_o[e, 1], keep_o[e, 2]
        kh0, kh1, kh2 = keep_h[e, 0], keep_h[e, 1], keep_h[e, 2]
        g1 = 1.0 + growth[e]
        # 1. the buried stocks
        _kept_in_place(hidden[e, 0], hidden[e, 1], hidden[e, 2], hidden_sev[e], hidden_age[e],
                       kh0, kh1, kh2, g1)
        sev, age = hidden_sev[e], hidden_age[e]
        # 2. the news each officer holds; the slots in flight not due today keep theirs
        #    (shrunk), which ages a day; the slot due today is refilled in pass 3. News is in
        #    flight only to the P officers above the units (numbered first): a unit holds
        #    only its new problems
        h0, h1, h2 = held[0], held[1], held[2]
        if D == 0:
            h0[:P] = 0.0
            h1[:P] = 0.0
            h2[:P] = 0.0
            held_sev[:P] = 0.0
            held_age[:P] = 0.0
        for d in range(D):
            f0, f1, f2 = inflight[e, d, 0], inflight[e, d, 1], inflight[e, d, 2]
            fsev, fage = inflight_sev[e, d], inflight_age[e, d]
            if d == slot:  # due today: held by its officer
                _due_row(f0, f1, f2, fsev, fage, h0[:P], h1[:P], h2[:P], held_sev[:P],
                         held_age[:P], ko0, ko1, ko2)
                inflight[e, d] = 0.0
                inflight_sev[e, d] = 0.0
                inflight_age[e, d] = 0.0
                continue
            _kept_in_place(f0, f1, f2, fsev, fage, ko0, ko1, ko2, 1.0)  # (x 1.0: exact)
        # the units' new problems (the arrivals: only where there are any, which is what
        # adding the zeros of the other units would give)
        a_lo, a_hi, unit, kind, amount, sev_new = _arrivals_of(arrivals, e)
        arisen_today = 0.0
        for k in range(3):
            tot = 0.0
            hk = held[k]
            for i in range(a_lo, a_hi):
                if kind[i] == k:
                    tot += amount[i]
                    hk[U0 + unit[i]] += amount[i]
            unresolved[e, k] = unresolved0[e, k] + tot
            arisen_today += tot
        n_active = 0  # the units that hold anything today: those with arrivals, in order
        for i in range(a_lo, a_hi):
            if kind[i] < 0:
                held_sev[U0 + unit[i]] += sev_new[i]
            if n_active == 0 or unit[i] > active[n_active - 1]:
                active[n_active] = unit[i]
                n_active += 1
            elif unit[i] < active[n_active - 1]:
                raise ValueError("the arrivals must come in the order of the units")
        # 3. sitreps, bottom-up
        top0 = top1 = top2 = 0.0
        top_age = 0.0
        sens_e = sens[e]
        pc_e = p_const[e]
        t0, t1, t2 = hidden[e, 0], hidden[e, 1], hidden[e, 2]
        fe, ce = fear[e], candour[e]
        for lvl in range(L - 1, -1, -1):
            off = offsets[lvl]
            b = sizes[lvl] // sizes[lvl - 1] if lvl > 0 else 1
            rec = 0.0
            scr = 0.0
            # at the units only those with arrivals (the others hold nothing and add +0.0)
            units = lvl == L - 1
            for t in range(n_active if units else sizes[lvl]):
                j = active[t] if units else t
                n = off + j
                x0, x1, x2 = h0[n], h1[n], h2[n]
                amount = ((0.0 + x0) + x1) + x2
                rec += amount
                if amount <= 1e-12:
                    continue
                if behavioural:
                    p_scrub = min(max(sens_e * fe[n] * (1.0 - ce[n]), 0.0), 1.0)
                else:
                    p_scrub = pc_e
                if uniform_of(ud, ust, ujt, lazy, e, n) < p_scrub:  # buried here
                    scr += amount
                    t0[n] += x0
                    t1[n] += x1
                    t2[n] += x2
                    sev[n] += held_sev[n]
                    age[n] += held_age[n]
                    continue
                candid[e, n] = True  # forwarded up
                if lvl == 0:
                    top0 += x0
                    top1 += x1
                    top2 += x2
                    top_age += held_age[n]
                    continue
                par = offsets[lvl - 1] + j // b
                if D == 0:
                    h0[par] += x0
                    h1[par] += x1
                    h2[par] += x2
                    held_sev[par] += held_sev[n]
                    held_age[par] += held_age[n]
                else:
                    inflight[e, slot, 0, par] += x0
                    inflight[e, slot, 1, par] += x1
                    inflight[e, slot, 2, par] += x2
                    inflight_sev[e, slot, par] += held_sev[n]
                    inflight_age[e, slot, par] += held_age[n]
            received[e, lvl] = rec
            scrubbed[e, lvl] = scr
        for t in range(n_active):  # the units' entries zero again for the next member (a
            n = U0 + active[t]  # unit is never a superior: nothing else was added to them)
            h0[n] = 0.0
            h1[n] = 0.0
            h2[n] = 0.0
            held_sev[n] = 0.0
        # 4. the smoke is visible: a stock at the threshold surfaces entirely
        surf0 = surf1 = surf2 = 0.0
        vis_e = vis[e]
        for lvl in range(L - 1, -1, -1):
            for n in range(offsets[lvl], offsets[lvl] + sizes[lvl]):
                if sev[n] >= vis_e:
                    y0, y1, y2 = t0[n], t1[n], t2[n]
                    surfaced[e, n] = ((0.0 + y0) + y1) + y2
                    surf0 += y0
                    surf1 += y1
                    surf2 += y2
                    surfaced_age[e, n] = age[n]
                    t0[n] = 0.0
                    t1[n] = 0.0
                    t2[n] = 0.0
                    sev[n] = 0.0
                    age[n] = 0.0
        pt = 1.0
        for lvl in range(L):
            r = received[e, lvl]
            if r < 1e-12:
                r = 1e-12
            pt *= 1.0 - scrubbed[e, lvl] / r
        known[e, 0] = known0[e, 0] + top0 + surf0
        known[e, 1] = known0[e, 1] + top1 + surf1
        known[e, 2] = known0[e, 2] + top2 + surf2
        tt = ((0.0 + top0) + top1) + top2
        to_top[e] = tt
        to_top_age[e] = top_age
        arisen[e] = arisen0[e] + arisen_today
        relayed[e] = relayed0[e] + tt
        pass_ema[e] = pass_ema0[e] + (pt - pass_ema0[e]) / window[e]
    return (inflight, inflight_sev, inflight_age, hidden, hidden_sev, hidden_age, known,
            unresolved, received, scrubbed, candid, surfaced, to_top, to_top_age,
            surfaced_age, arisen, relayed, pass_ema)


@numba.njit(cache=True)
def _age_in_place(queue, age):  # pragma: no cover - compiled
    # yesterday's queues stay, a day older (a function on rows: see _kept_in_place)
    for n in range(queue.shape[0]):
        age[n] = age[n] + queue[n]


@numba.njit(cache=True)
def _clamp_row(age):  # pragma: no cover - compiled
    # ages never below zero (NaN becomes 0.0, as a > 0.0 is False for it)
    for n in range(age.shape[0]):
        a = age[n]
        age[n] = a if a > 0.0 else 0.0


@numba.njit(cache=True)
def _signoff(queue0, age0, new_req, cap_level, vacancy_cap, status, esc_base, esc_fear,
             esc_money, fear, competence, expiry, u, offsets, sizes, enabled, q,
             inplace=False):  # pragma: no cover - compiled
    # the officer pass of plain ``queue_pass`` and the sums of plain ``decide`` in one;
    # per-officer flows live in scratch rows reused member after member
    # With ``inplace`` the queues and their ages are written over yesterday's.
    E, N = queue0.shape
    L = sizes.shape[0]
    queue = queue0 if inplace else queue0.copy()
    age = age0 if inplace else age0.copy()
    owned_by_level = np.zeros((E, L))
    owned_age_tot = np.zeros(E)
    fixed = np.zeros(E)
    expired = np.zeros(E)
    escalated = np.zeros(E)
    p90 = np.full(E, np.nan)
    # scratch rows, zero but where a member's posts took something up (cleared after it)
    owned = np.zeros(N)
    owned_age = np.zeros(N)
    passed = np.zeros(N)
    passed_age = np.zeros(N)
    took = np.empty(N, dtype=np.int64)  # the posts that did
    lat = np.empty(N)
    cnt = np.empty(N)
    ud, ust, ujt, lazy = uniform_source(u)  # [E, 4 N]: the four draws of a post
    U0 = offsets[L - 1]
    level = np.empty(N, dtype=np.int64)
    for lvl in range(L):
        for j in range(sizes[lvl]):
            level[offsets[lvl] + j] = lvl
    for e in range(E):
        _age_in_place(queue[e], age[e])
        # no post takes anything up, serving or vacant (0 x a finite share of nothing)
        idle = vacancy_cap[e] * 0.0 == 0.0
        for lvl in range(L):
            idle = idle and cap_level[e, lvl] == 0.0
        for j in range(sizes[L - 1]):
            queue[e, U0 + j] += new_req[e, j]
        wk_tot = 0.0
        ps_tot = 0.0
        oa_tot = 0.0
        # what a post passes up and owns is zero unless something waits and can be taken up
        # (as below, without draws); the empty queue is tested first, before anything else is
        # read: at most posts nothing waits (6-7 % of them hold a queue by day 300). Where no
        # post can take anything up (the kernel's setting), no post is visited; where no post
        # passes anything up, the pass up the levels would add only zeros: it is skipped
        n_took = 0
        any_passed = False
        for n in range(0 if idle else N):
            if queue[e, n] == 0.0:
                continue
            lvl = level[n]
            cap = cap_level[e, lvl]
            if status[e, n] != SERVING:
                cap = cap * vacancy_cap[e]
            if cap == 0.0:
                continue
            pe = 0.0
            if enabled and lvl > 0:  # the top has nobody to pass to
                pe = esc_base[e] + esc_fear[e] * fear[e, n] + esc_money[e]
                pe = min(max(pe, 0.0), 1.0)
            qn = queue[e, n]
            taken = min(qn, np.floor(cap + uniform_of(ud, ust, ujt, lazy, e, n)))
            mean_age = age[e, n] / max(qn, 1e-12) if qn > 0 else 0.0
            taken_age = taken * mean_age
            ps = min(np.floor(taken * pe + uniform_of(ud, ust, ujt, lazy, e, N + n)), taken)
            ow = taken - ps
            if not enabled:
                ps = 0.0
                ow = taken
            passed[n] = ps
            passed_age[n] = ps * mean_age
            owned[n] = ow
            owned_age[n] = ow * mean_age
            took[n_took] = n
            n_took += 1
            any_passed = any_passed or passed[n] != 0.0 or passed_age[n] != 0.0  # NaN too
            wk = min(np.floor(ow * competence[e, n]
                              + uniform_of(ud, ust, ujt, lazy, e, 2 * N + n)), ow)
            queue[e, n] = qn - taken + (ow - wk)
            age[e, n] = age[e, n] - taken_age + (ow - wk) * mean_age
            owned_by_level[e, lvl] += ow
            oa_tot += ow * mean_age
            wk_tot += wk
            ps_tot += ps
        for lvl in range(L - 1 if any_passed else 0, 0, -1):
            off = offsets[lvl]
            up_off = offsets[lvl - 1]
            b = sizes[lvl] // sizes[lvl - 1]
            for pj in range(sizes[lvl - 1]):
                aq = 0.0
                aa = 0.0
                for c in range(b):
                    aq += passed[off + pj * b + c]
                    aa += passed_age[off + pj * b + c]
                queue[e, up_off + pj] += aq
                age[e, up_off + pj] += aa
        ex_tot = 0.0
        if expiry[e] == 0.0:  # nothing written off (as below, no draw)
            _clamp_row(age[e])
        for n in range(N if expiry[e] != 0.0 else 0):
            qn = queue[e, n]
            if qn == 0.0:  # nothing written off (as below, no draw)
                a = age[e, n]
                age[e, n] = a if a > 0.0 else 0.0
                continue
            mean_age = age[e, n] / max(qn, 1e-12) if qn > 0 else 0.0
            ex = min(np.floor(qn * expiry[e] + uniform_of(ud, ust, ujt, lazy, e, 3 * N + n)), qn)
            ex_tot += ex
            queue[e, n] = qn - ex
            a = age[e, n] - ex * mean_age
            age[e, n] = a if a > 0.0 else 0.0
        owned_age_tot[e] = oa_tot
        fixed[e] = wk_tot
        expired[e] = ex_tot
        escalated[e] = ps_tot
        # quantile q of the latency of today's decisions, as plain latency_quantile (only the
        # posts that took something up can own any, listed in the order of the posts)
        m = 0
        for i in range(n_took):
            n = took[i]
            if owned[n] > 0:
                lat[m] = owned_age[n] / max(owned[n], 1e-12)
                cnt[m] = owned[n]
                m += 1
        if m > 0:
            order = np.argsort(lat[:m], kind="mergesort")  # stable, as the plain version
            tot = 0.0  # summed in sorted order, as the plain version's cumsum
            for i in range(m):
                tot += cnt[order[i]]
            cum = 0.0
            for i in range(m):
                cum += cnt[order[i]]
                if cum >= q * tot:
                    p90[e] = lat[order[i]]
                    break
        for i in range(n_took):  # the scratch rows zero again for the next member
            n = took[i]
            passed[n] = 0.0
            passed_age[n] = 0.0
            owned[n] = 0.0
            owned_age[n] = 0.0
    return queue, age, owned_by_level, owned_age_tot, fixed, expired, escalated, p90


@numba.njit(cache=True)
def _purge_draw(fear0, status0, vacant0, competence, candid, surfaced, u, base, decay,
                cand_exp, scape_exp, liability, liab_comp, max_level, day, offsets,
                sizes):  # pragma: no cover - compiled
    E, N = fear0.shape
    L = sizes.shape[0]
    fear = np.empty_like(fear0)
    status = np.empty_like(status0)
    cause = np.full((E, N), -1, dtype=np.int8)
    for e in range(E):
        for lvl in range(L):
            pc_l = cand_exp[e, lvl]
            ps_l = scape_exp[e, lvl]
            pl_l = liability[e] if lvl <= max_level else 0.0
            for j in range(sizes[lvl]):
                n = offsets[lvl] + j
                fear[e, n] = base[e] + (fear0[e, n] - base[e]) * (1.0 - decay[e])
                st = status0[e, n]
                if st != SERVING and vacant0[e, n] <= day:
                    st = SERVING
                status[e, n] = st
                if st != SERVING:
                    continue
                pc = pc_l if candid[e, n] else 0.0
                ps = ps_l if surfaced[e, n] > 0 else 0.0
                pl = pl_l if competence[e, n] > liab_comp[e] else 0.0
                tot = pc + ps + pl
                if tot == 0.0:
                    continue
                norm = max(tot, 1.0)
                e0 = pc / norm
                e1 = e0 + ps / norm
                e2 = e1 + pl / norm
                x = u[e, n]
                if x < e0:
                    cause[e, n] = 0
                elif x < e1:
                    cause[e, n] = 1
                elif x < e2:
                    cause[e, n] = 2
    return fear, status, cause

@numba.njit(cache=True)
def _fear_spread(fear0, n_level, n_all, keep_level, keep_all, offsets,
                 sizes):  # pragma: no cover - compiled
    E, N = fear0.shape
    L = sizes.shape[0]
    fear = np.empty_like(fear0)
    for e in range(E):
        if n_all[e] == 0.0:
            for n in range(N):
                fear[e, n] = fear0[e, n]
            continue
        ka = keep_all[e] ** n_all[e]
        for lvl in range(L):
            keep = keep_level[e] ** n_level[e, lvl] * ka
            for j in range(sizes[lvl]):
                n = offsets[lvl] + j
                f = fear0[e, n]
                fear[e, n] = f + (1.0 - f) * (1.0 - keep)
    return fear

@numba.njit(cache=True)
def _shrink_member(inflight0, inflight_sev0, inflight_age0, hidden0, hidden_sev0, hidden_age0,
                   keep_o, keep_h, e, inflight, inflight_sev, inflight_age, hidden, hidden_sev,
                   hidden_age):  # pragma: no cover - compiled
    # member e's compartments with the shares keep_o / keep_h [E, 3] of each domain kept,
    # written to one member's arrays ([D, 3, P], [D, P], [D, P], [3, N], [N], [N]), officer by
    # officer as the sitrep kernel shrinks them (_kept)
    D, K = inflight.shape[0], inflight.shape[1]
    if K != 3:
        raise ValueError("the shrink kernel is written for the model's 3 domains")
    for d in range(-1, D):  # -1: the buried news, then each slot of news in flight
        if d < 0:
            src, dst, c = hidden0[e], hidden, keep_h[e]
            s_src, a_src, s_dst, a_dst = hidden_sev0[e], hidden_age0[e], hidden_sev, hidden_age
        else:
            src, dst, c = inflight0[e, d], inflight[d], keep_o[e]
            s_src, a_src = inflight_sev0[e, d], inflight_age0[e, d]
            s_dst, a_dst = inflight_sev[d], inflight_age[d]
        for n in range(src.shape[1]):
            dst[0, n], dst[1, n], dst[2, n], _, f = _kept(src[0, n], src[1, n], src[2, n],
                                                          c[0], c[1], c[2])
            s_dst[n] = s_src[n] * f
            a_dst[n] = a_src[n] * f


@numba.njit(cache=True)
def _shrink(inflight0, inflight_sev0, inflight_age0, hidden0, hidden_sev0, hidden_age0,
            keep_o, keep_h):  # pragma: no cover - compiled
    inflight = np.empty_like(inflight0)
    inflight_sev = np.empty_like(inflight_sev0)
    inflight_age = np.empty_like(inflight_age0)
    hidden = np.empty_like(hidden0)
    hidden_sev = np.empty_like(hidden_sev0)
    hidden_age = np.empty_like(hidden_age0)
    for e in range(inflight0.shape[0]):
        _shrink_member(inflight0, inflight_sev0, inflight_age0, hidden0, hidden_sev0,
                       hidden_age0, keep_o, keep_h, e, inflight[e], inflight_sev[e],
                       inflight_age[e], hidden[e], hidden_sev[e], hidden_age[e])
    return inflight, inflight_sev, inflight_age, hidden, hidden_sev, hidden_age

@numba.njit(cache=True)
def _place(edges, u_arrival, u_severity, severity_mean):  # pragma: no cover - compiled
    E, K = edges.shape
    U = u_arrival.shape[1]
    new = np.zeros((E, K, U))
    sev = np.zeros((E, U))
    for e in range(E):
        for j in range(U):
            x = u_arrival[e, j]
            lower = 0.0
            for k in range(K):
                if x >= lower and x < edges[e, k]:
                    new[e, k, j] = 1.0
                    sev[e, j] = -severity_mean[e] * np.log1p(-np.float64(u_severity[e, j]))
                lower = edges[e, k]
    return new, sev


@numba.njit(inline="always")
def _put(out, e, lo, va, sf, sa, qu, tq, hi):  # pragma: no cover - compiled
    # one member's per-member sums, in the rows the indicators read
    out[0, e] = lo
    out[1, e] = va
    out[2, e] = sf
    out[3, e] = sa
    out[4, e] = qu
    out[5, e] = tq
    out[6, e] = hi


@numba.njit(inline="always")
def _sums_of(e, fear, competence, candour, loyalty, status, hidden, keep_h, surfaced,
             surfaced_age, queue, offsets, sizes, top, by_level, out):  # pragma: no cover
    # one member's sums, each a running sum in the plain version's order
    K, N = hidden.shape[1], hidden.shape[2]
    for lvl in range(sizes.shape[0]):
        f = 0.0
        c = 0.0
        d = 0.0
        for j in range(sizes[lvl]):
            n = offsets[lvl] + j
            f += fear[e, n]
            c += competence[e, n]
            d += candour[e, n]
        by_level[0, e, lvl] = f
        by_level[1, e, lvl] = c
        by_level[2, e, lvl] = d
    lo = 0.0
    va = 0.0
    sf = 0.0
    sa = 0.0
    qu = 0.0
    tq = 0.0
    for n in range(N):
        lo += loyalty[e, n]
        if status[e, n] != SERVING:
            va += 1.0
        sf += surfaced[e, n]
        sa += surfaced_age[e, n]
        qu += queue[e, n]
        if n < top:
            tq += queue[e, n]
    hi = 0.0
    for k in range(K):
        for n in range(N):
            hi += hidden[e, k, n] * keep_h[e, k]  # as the next sitreps will shrink it
    _put(out, e, lo, va, sf, sa, qu, tq, hi)


@numba.njit(cache=True)
def _officer_sums(fear, competence, candour, loyalty, status, hidden, keep_h, surfaced,
                  surfaced_age, queue, offsets, sizes):  # pragma: no cover - compiled
    # Each sum is a running sum in the plain version's order (a chain of dependent
    # additions), so one member's sums wait on the adders' latency; members are taken two at
    # a time, and the buried stock's chain (domain by domain along the officers) runs inside
    # the other passes, so that several independent chains are in flight (28 % less time at
    # 64 members than one member and one sum after another, the same numbers).
    if hidden.shape[1] != 3:
        raise ValueError("the officer sums are written for the model's 3 domains")
    E, _, N = hidden.shape
    L = sizes.shape[0]
    by_level = np.zeros((3, E, L))
    out = np.zeros((7, E))
    top = offsets[2] if L > 2 else N
    for a in range(0, E - 1, 2):
        b = a + 1
        ha0, ha1, ha2 = hidden[a, 0], hidden[a, 1], hidden[a, 2]
        hb0, hb1, hb2 = hidden[b, 0], hidden[b, 1], hidden[b, 2]
        ka0, ka1, ka2 = keep_h[a, 0], keep_h[a, 1], keep_h[a, 2]
        kb0, kb1, kb2 = keep_h[b, 0], keep_h[b, 1], keep_h[b, 2]
        hia = 0.0
        hib = 0.0
        for lvl in range(L):
            fa = ca = da = fb = cb = db = 0.0
            for j in range(sizes[lvl]):
                n = offsets[lvl] + j
                fa += fear[a, n]
                ca += competence[a, n]
                da += candour[a, n]
                fb += fear[b, n]
                cb += competence[b, n]
                db += candour[b, n]
                hia += ha0[n] * ka0
                hib += hb0[n] * kb0
            by_level[0, a, lvl] = fa
            by_level[1, a, lvl] = ca
            by_level[2, a, lvl] = da
            by_level[0, b, lvl] = fb
            by_level[1, b, lvl] = cb
            by_level[2, b, lvl] = db
        loa = vaa = sfa = saa = qua = tqa = 0.0
        lob = vab = sfb = sab = qub = tqb = 0.0
        for n in range(N):
            loa += loyalty[a, n]
            lob += loyalty[b, n]
            if status[a, n] != SERVING:
                vaa += 1.0
            if status[b, n] != SERVING:
                vab += 1.0
            sfa += surfaced[a, n]
            sfb += surfaced[b, n]
            saa += surfaced_age[a, n]
            sab += surfaced_age[b, n]
            qua += queue[a, n]
            qub += queue[b, n]
            if n < top:
                tqa += queue[a, n]
                tqb += queue[b, n]
            hia += ha1[n] * ka1
            hib += hb1[n] * kb1
        for n in range(N):
            hia += ha2[n] * ka2
            hib += hb2[n] * kb2
        _put(out, a, loa, vaa, sfa, saa, qua, tqa, hia)
        _put(out, b, lob, vab, sfb, sab, qub, tqb, hib)
    if E % 2:  # the last member alone
        _sums_of(E - 1, fear, competence, candour, loyalty, status, hidden, keep_h, surfaced,
                 surfaced_age, queue, offsets, sizes, top, by_level, out)
    return by_level, out


def sanitize_reports(
    s: ReportState, p: ReportingParams, tree: Tree, day: int, new: np.ndarray,
    new_sev: np.ndarray, fear: np.ndarray, candour: np.ndarray, u_sitrep: np.ndarray,
) -> ReportState:
    """Compiled :func:`loyaltytrap.mechanisms.reporting.sanitize_reports`."""
    E = fear.shape[0]
    D = p.hop_delay_days
    f = np.ascontiguousarray
    behavioural = bool(p.enabled and p.mode == "behavioural")
    p_const = (1.0 - per_member(p.fixed_pass_through, E)) if p.enabled else np.zeros(E)
    out = _sitreps(
        s.inflight, s.inflight_sev, s.inflight_age, s.hidden, s.hidden_sev, s.hidden_age,
        s.known, s.unresolved, _sparse_arrivals(f(new), f(new_sev)), f(fear), f(candour),
        per_member(p.scrub_sensitivity, E), p_const, behavioural, f(u_sitrep),
        per_member(p.severity_growth, E), per_member(p.visibility_threshold, E),
        per_member(p.picture_window_days, E), np.asarray(tree.offsets, np.int64),
        np.asarray(tree.level_sizes, np.int64), D, day % D if D > 0 else 0, s.pass_ema,
        s.arisen_total, s.relayed_total, s.keep_inflight, s.keep_hidden, False, s.candid,
        s.surfaced, s.surfaced_age,
    )
    (inflight, inflight_sev, inflight_age, hidden, hidden_sev, hidden_age, known, unresolved,
     received, scrubbed, candid, surfaced, to_top, to_top_age, surfaced_age, arisen, relayed,
     pass_ema) = out
    return ReportState(
        inflight=inflight, inflight_sev=inflight_sev, inflight_age=inflight_age, hidden=hidden,
        hidden_sev=hidden_sev, hidden_age=hidden_age, known=known, unresolved=unresolved,
        received=received, scrubbed=scrubbed, candid=candid, surfaced=surfaced, to_top=to_top,
        to_top_age=to_top_age, surfaced_age=surfaced_age, arisen_total=arisen,
        relayed_total=relayed, pass_ema=pass_ema, keep_inflight=np.ones_like(known),
        keep_hidden=np.ones_like(known),
    )


def decide(
    s: DecisionState, p: SignoffParams, tree: Tree, new_requests: np.ndarray,
    fear: np.ndarray, competence: np.ndarray, status: np.ndarray, risk_aversion: np.ndarray,
    u: np.ndarray,
) -> tuple[np.ndarray, ...]:
    """Compiled :func:`loyaltytrap.mechanisms.signoff.decide`."""
    E = fear.shape[0]
    above = (tree.levels - 1 - np.arange(tree.levels))[None, :]
    cap_level = col(p.capacity_per_day) * col(p.staff_scaling) ** above
    return _signoff(
        s.queue, s.queue_age, np.ascontiguousarray(new_requests, dtype=np.float64),
        np.ascontiguousarray(np.broadcast_to(cap_level, (E, tree.levels)), dtype=np.float64),
        per_member(p.vacancy_capacity, E), status, per_member(p.escalate_base, E),
        per_member(p.escalate_fear, E),
        per_member(p.escalate_money, E) * np.broadcast_to(risk_aversion, (E,)),
        np.ascontiguousarray(fear), np.ascontiguousarray(competence),
        per_member(p.expiry_hazard, E), np.ascontiguousarray(u),
        np.asarray(tree.offsets, np.int64), np.asarray(tree.level_sizes, np.int64),
        bool(p.enabled), 0.9,
    )


def draw_causes(
    p: PurgeParams, tree: Tree, o: OfficerState, day: int, candid: np.ndarray,
    surfaced: np.ndarray, threat: np.ndarray, u: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Compiled :func:`loyaltytrap.mechanisms.purges.draw_causes`."""
    E = candid.shape[0]
    lv = np.arange(tree.levels)[None, :]
    cand_exp = np.broadcast_to(col(p.candour_purge_prob) * col(p.candour_exposure_decay) ** lv,
                               (E, tree.levels))
    scape_exp = np.broadcast_to(
        col(p.scapegoat_purge_prob) * col(p.scapegoat_exposure_decay) ** lv, (E, tree.levels))
    threat = np.broadcast_to(np.asarray(threat, dtype=np.float64), (E,))
    return _purge_draw(
        o.fear, o.status, o.vacant_until, o.competence, candid, surfaced, u,
        per_member(p.fear_baseline, E), per_member(p.fear_decay, E),
        np.ascontiguousarray(cand_exp, dtype=np.float64),
        np.ascontiguousarray(scape_exp, dtype=np.float64),
        per_member(p.liability_hazard, E) * threat, per_member(p.liability_competence, E),
        int(p.liability_max_level), int(day), np.asarray(tree.offsets, np.int64),
        np.asarray(tree.level_sizes, np.int64),
    )


def spread_fear(
    p: PurgeParams, tree: Tree, fear: np.ndarray, n_level: np.ndarray, n_all: np.ndarray
) -> np.ndarray:
    """Compiled :func:`loyaltytrap.mechanisms.purges.spread_fear`."""
    E = fear.shape[0]
    return _fear_spread(
        fear, np.ascontiguousarray(n_level, dtype=np.float64),
        np.ascontiguousarray(n_all, dtype=np.float64),
        1.0 - per_member(p.fear_spread_level, E), 1.0 - per_member(p.fear_spread_all, E),
        np.asarray(tree.offsets, np.int64), np.asarray(tree.level_sizes, np.int64),
    )


def shrink_reports(s: ReportState, keep_o: np.ndarray, keep_h: np.ndarray) -> ReportState:
    """Compiled officer pass of :func:`loyaltytrap.mechanisms.reporting.remove_resolved`."""
    inflight, inflight_sev, inflight_age, hidden, hidden_sev, hidden_age = _shrink(
        s.inflight, s.inflight_sev, s.inflight_age, s.hidden, s.hidden_sev, s.hidden_age,
        np.ascontiguousarray(keep_o), np.ascontiguousarray(keep_h))
    return dataclasses.replace(
        s, inflight=inflight,
        inflight_sev=inflight_sev, inflight_age=inflight_age, hidden=hidden,
        hidden_sev=hidden_sev, hidden_age=hidden_age)


def place_problems(
    edges: np.ndarray, u_arrival: np.ndarray, u_severity: np.ndarray,
    severity_mean: np.ndarray | float,
) -> tuple[np.ndarray, np.ndarray]:
    """Compiled :func:`loyaltytrap.mechanisms.world.place_problems`."""
    E = edges.shape[0]
    return _place(np.ascontiguousarray(edges, dtype=np.float64), u_arrival, u_severity,
                  per_member(severity_mean, E))


def officer_sums(
    o: OfficerState, r: ReportState, queue: np.ndarray, tree: Tree
) -> tuple[np.ndarray, np.ndarray]:
    """Compiled :func:`loyaltytrap.indicators.officer_sums_plain`."""
    return _officer_sums(o.fear, o.competence, o.candour, o.loyalty, o.status, r.hidden,
                         r.keep_hidden, r.surfaced, r.surfaced_age, queue,
                         np.asarray(tree.offsets, np.int64), np.asarray(tree.level_sizes, np.int64))

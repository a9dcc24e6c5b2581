"""Compiled kernels (Numba) for the hot passes of a day.

Every pass over the officers (and the [E]-level mechanisms compiled so far) has a plain NumPy
version in its mechanism module and a compiled twin here, computed from the same uniforms in
one loop per member instead of many passes over ``[E, N]`` / ``[E, K, N]`` temporaries:

- M2 sitreps (:func:`sanitize_reports`), bottom-up, with the scrub probability inside;
- M4 the sign-off day (:func:`decide`): capacity, escalation, fixes, write-offs, the day's sums
  and the latency quantile;
- M3 the purge draw and the fear spread (:func:`draw_causes`, :func:`spread_fear`);
- M2 the removal of resolved problems (:func:`shrink_reports`);
- the placement of new problems at the units (:func:`place_problems`);
- the officer sums the indicators read (:func:`officer_sums`);
- and the first [E]-level mechanisms: M7 strikes and repairs (:func:`strike_and_repair`), M9
  the elite agents (:func:`move_agents`), M8 the front (:func:`fight`), M6 production
  (:func:`produce`).

``tests/test_kernels.py`` checks each against its plain version, and a whole run with and
without them. The engine uses them when Numba is installed and ``LOYALTYTRAP_KERNEL`` is not
``numpy``. They run on one thread: members are spread over processes instead (measured:
Numba's ``parallel=True`` was slower on this 2-core machine; see docs/performance.md).
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np
from scipy.special import ndtri

from .events import EventBatch
from .mechanisms import front, industry, strikes
from .mechanisms.elites import ElitesState
from .mechanisms.front import FrontParams, FrontState
from .mechanisms.hierarchy import SERVING, OfficerState, Tree
from .mechanisms.industry import IndustryParams, IndustryState
from .mechanisms.purges import PurgeParams
from .mechanisms.reporting import ReportingParams, ReportState
from .mechanisms.signoff import DecisionState, SignoffParams
from .mechanisms.strikes import StrikesParams, StrikesState
from .params import col, per_member

try:  # Numba is optional: without it the plain NumPy versions run
    import numba

    HAVE_NUMBA = True
except ImportError:  # pragma: no cover - exercised only where numba is missing
    HAVE_NUMBA = False


def enabled() -> bool:
    """True when the compiled kernels are available and not switched off."""
    return HAVE_NUMBA and os.environ.get("LOYALTYTRAP_KERNEL", "numba") != "numpy"


if HAVE_NUMBA:

    @numba.njit(cache=True)
    def _sitreps(inflight0, inflight_sev0, inflight_age0, hidden0, hidden_sev0, hidden_age0,
                 known0, unresolved0, new, new_sev, fear, candour, sens, p_const, behavioural,
                 u, growth, vis, window, offsets, sizes, D, slot, pass_ema0, arisen0,
                 relayed0):  # pragma: no cover - compiled
        # One pass over the officers, bottom-up. What an officer holds today is the news due
        # to it today (D > 0), its unit's new problems and what its subordinates forwarded
        # today (D = 0); sums are formed in the order the plain version forms them.
        E, K, N = hidden0.shape
        L = sizes.shape[0]
        inflight = np.empty_like(inflight0)
        inflight_sev = np.empty_like(inflight_sev0)
        inflight_age = np.empty_like(inflight_age0)
        hidden = np.empty_like(hidden0)
        hidden_sev = np.empty_like(hidden_sev0)
        hidden_age = np.empty_like(hidden_age0)
        known = np.empty_like(known0)
        unresolved = np.empty_like(unresolved0)
        received = np.zeros((E, L))
        scrubbed = np.zeros((E, L))
        candid = np.zeros((E, N), dtype=np.bool_)
        surfaced = np.zeros((E, N))
        surfaced_age = np.zeros((E, N))
        to_top = np.zeros(E)
        to_top_age = np.zeros(E)
        pass_ema = np.empty(E)
        arisen = np.empty(E)
        relayed = np.empty(E)
        acc = np.zeros((K, N))  # forwarded today to each officer (D = 0)
        acc_sev = np.zeros(N)
        acc_age = np.zeros(N)
        held = np.empty(K)
        top = np.empty(K)
        surf_k = np.empty(K)
        for e in range(E):
            # news not due today ages a day in flight; the slot due today empties
            for d in range(D):
                for n in range(N):
                    if d == slot:
                        for k in range(K):
                            inflight[e, d, k, n] = 0.0
                        inflight_sev[e, d, n] = 0.0
                        inflight_age[e, d, n] = 0.0
                    else:
                        fs = 0.0
                        for k in range(K):
                            inflight[e, d, k, n] = inflight0[e, d, k, n]
                            fs += inflight0[e, d, k, n]
                        inflight_sev[e, d, n] = inflight_sev0[e, d, n]
                        inflight_age[e, d, n] = inflight_age0[e, d, n] + fs
            arisen_today = 0.0
            for k in range(K):
                tot = 0.0
                for j in range(sizes[L - 1]):
                    tot += new[e, k, j]
                unresolved[e, k] = unresolved0[e, k] + tot
                arisen_today += tot
                top[k] = 0.0
                surf_k[k] = 0.0
            top_age = 0.0
            for lvl in range(L - 1, -1, -1):
                off = offsets[lvl]
                b = sizes[lvl] // sizes[lvl - 1] if lvl > 0 else 1
                rec = 0.0
                scr = 0.0
                for j in range(sizes[lvl]):
                    n = off + j
                    h_sev = 0.0
                    h_age = 0.0
                    amount = 0.0
                    for k in range(K):
                        x = 0.0
                        if D > 0:
                            x += inflight0[e, slot, k, n]
                        if lvl == L - 1:
                            x += new[e, k, j]
                        if D == 0:
                            x += acc[k, n]
                            acc[k, n] = 0.0
                        held[k] = x
                        amount += x
                    if D > 0:
                        fs = 0.0
                        for k in range(K):
                            fs += inflight0[e, slot, k, n]
                        h_sev += inflight_sev0[e, slot, n]
                        h_age += inflight_age0[e, slot, n] + fs
                    if lvl == L - 1:
                        h_sev += new_sev[e, j]
                    if D == 0:
                        h_sev += acc_sev[n]
                        h_age += acc_age[n]
                        acc_sev[n] = 0.0
                        acc_age[n] = 0.0
                    hs = 0.0
                    for k in range(K):
                        hidden[e, k, n] = hidden0[e, k, n]
                        hs += hidden0[e, k, n]
                    hid_sev = hidden_sev0[e, n] * (1.0 + growth[e])
                    hid_age = hidden_age0[e, n] + hs
                    rec += amount
                    if amount > 1e-12:
                        if behavioural:
                            p_scrub = min(max(sens[e] * fear[e, n] * (1.0 - candour[e, n]),
                                              0.0), 1.0)
                        else:
                            p_scrub = p_const[e]
                        if u[e, n] < p_scrub:  # buried here
                            scr += amount
                            for k in range(K):
                                hidden[e, k, n] += held[k]
                            hid_sev += h_sev
                            hid_age += h_age
                        else:  # forwarded up
                            candid[e, n] = True
                            if lvl == 0:
                                for k in range(K):
                                    top[k] += held[k]
                                top_age += h_age
                            else:
                                par = offsets[lvl - 1] + j // b
                                if D == 0:
                                    for k in range(K):
                                        acc[k, par] += held[k]
                                    acc_sev[par] += h_sev
                                    acc_age[par] += h_age
                                else:
                                    for k in range(K):
                                        inflight[e, slot, k, par] += held[k]
                                    inflight_sev[e, slot, par] += h_sev
                                    inflight_age[e, slot, par] += h_age
                    if hid_sev >= vis[e]:  # the smoke is visible: the whole stock surfaces
                        sv = 0.0
                        for k in range(K):
                            sv += hidden[e, k, n]
                            surf_k[k] += hidden[e, k, n]
                            hidden[e, k, n] = 0.0
                        surfaced[e, n] = sv
                        surfaced_age[e, n] = hid_age
                        hid_sev = 0.0
                        hid_age = 0.0
                    hidden_sev[e, n] = hid_sev
                    hidden_age[e, n] = hid_age
                received[e, lvl] = rec
                scrubbed[e, lvl] = scr
            pt = 1.0
            for lvl in range(L):
                r = received[e, lvl]
                if r < 1e-12:
                    r = 1e-12
                pt *= 1.0 - scrubbed[e, lvl] / r
            tt = 0.0
            for k in range(K):
                known[e, k] = known0[e, k] + top[k] + surf_k[k]
                tt += top[k]
            to_top[e] = tt
            to_top_age[e] = top_age
            arisen[e] = arisen0[e] + arisen_today
            relayed[e] = relayed0[e] + tt
            pass_ema[e] = pass_ema0[e] + (pt - pass_ema0[e]) / window[e]
        return (inflight, inflight_sev, inflight_age, hidden, hidden_sev, hidden_age, known,
                unresolved, received, scrubbed, candid, surfaced, to_top, to_top_age,
                surfaced_age, arisen, relayed, pass_ema)

    @numba.njit(cache=True)
    def _signoff(queue0, age0, new_req, cap_level, vacancy_cap, status, esc_base, esc_fear,
                 esc_money, fear, competence, expiry, u, offsets, sizes, enabled,
                 q):  # pragma: no cover - compiled
        # the officer pass of plain ``queue_pass`` and the sums of plain ``decide`` in one;
        # per-officer flows live in scratch rows reused member after member
        E, N = queue0.shape
        L = sizes.shape[0]
        queue = np.empty_like(queue0)
        age = np.empty_like(age0)
        owned_by_level = np.zeros((E, L))
        owned_age_tot = np.zeros(E)
        fixed = np.zeros(E)
        expired = np.zeros(E)
        escalated = np.zeros(E)
        p90 = np.full(E, np.nan)
        owned = np.empty(N)
        owned_age = np.empty(N)
        passed = np.empty(N)
        passed_age = np.empty(N)
        lat = np.empty(N)
        cnt = np.empty(N)
        U0 = offsets[L - 1]
        level = np.empty(N, dtype=np.int64)
        for lvl in range(L):
            for j in range(sizes[lvl]):
                level[offsets[lvl] + j] = lvl
        for e in range(E):
            for n in range(N):
                queue[e, n] = queue0[e, n]
                age[e, n] = age0[e, n] + queue0[e, n]
            for j in range(sizes[L - 1]):
                queue[e, U0 + j] += new_req[e, j]
            wk_tot = 0.0
            ps_tot = 0.0
            oa_tot = 0.0
            for n in range(N):
                lvl = level[n]
                cap = cap_level[e, lvl]
                if status[e, n] != SERVING:
                    cap = cap * vacancy_cap[e]
                pe = 0.0
                if enabled and lvl > 0:  # the top has nobody to pass to
                    pe = esc_base[e] + esc_fear[e] * fear[e, n] + esc_money[e]
                    pe = min(max(pe, 0.0), 1.0)
                qn = queue[e, n]
                taken = min(qn, np.floor(cap + u[e, 0, n]))
                mean_age = age[e, n] / max(qn, 1e-12) if qn > 0 else 0.0
                taken_age = taken * mean_age
                ps = min(np.floor(taken * pe + u[e, 1, n]), taken)
                ow = taken - ps
                if not enabled:
                    ps = 0.0
                    ow = taken
                passed[n] = ps
                passed_age[n] = ps * mean_age
                owned[n] = ow
                owned_age[n] = ow * mean_age
                wk = min(np.floor(ow * competence[e, n] + u[e, 2, n]), ow)
                queue[e, n] = qn - taken + (ow - wk)
                age[e, n] = age[e, n] - taken_age + (ow - wk) * mean_age
                owned_by_level[e, lvl] += ow
                oa_tot += ow * mean_age
                wk_tot += wk
                ps_tot += ps
            for lvl in range(L - 1, 0, -1):
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
            for n in range(N):
                qn = queue[e, n]
                mean_age = age[e, n] / max(qn, 1e-12) if qn > 0 else 0.0
                ex = min(np.floor(qn * expiry[e] + u[e, 3, n]), qn)
                ex_tot += ex
                queue[e, n] = qn - ex
                a = age[e, n] - ex * mean_age
                age[e, n] = a if a > 0.0 else 0.0
            owned_age_tot[e] = oa_tot
            fixed[e] = wk_tot
            expired[e] = ex_tot
            escalated[e] = ps_tot
            # quantile q of the latency of today's decisions, as plain latency_quantile
            m = 0
            for n in range(N):
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
    def _shrink(inflight0, inflight_sev0, inflight_age0, hidden0, hidden_sev0, hidden_age0,
                keep_o, keep_h):  # pragma: no cover - compiled
        E, D, K, N = inflight0.shape
        inflight = np.empty_like(inflight0)
        inflight_sev = np.empty_like(inflight_sev0)
        inflight_age = np.empty_like(inflight_age0)
        hidden = np.empty_like(hidden0)
        hidden_sev = np.empty_like(hidden_sev0)
        hidden_age = np.empty_like(hidden_age0)
        for e in range(E):
            for n in range(N):
                t_h = 0.0
                s_h = 0.0
                for k in range(K):
                    a = hidden0[e, k, n]
                    b = a * keep_h[e, k]
                    hidden[e, k, n] = b
                    t_h += a
                    s_h += b
                f = s_h / max(t_h, 1e-12) if t_h > 1e-12 else 1.0
                hidden_sev[e, n] = hidden_sev0[e, n] * f
                hidden_age[e, n] = hidden_age0[e, n] * f
                for d in range(D):
                    t_f = 0.0
                    s_f = 0.0
                    for k in range(K):
                        a = inflight0[e, d, k, n]
                        b = a * keep_o[e, k]
                        inflight[e, d, k, n] = b
                        t_f += a
                        s_f += b
                    f = s_f / max(t_f, 1e-12) if t_f > 1e-12 else 1.0
                    inflight_sev[e, d, n] = inflight_sev0[e, d, n] * f
                    inflight_age[e, d, n] = inflight_age0[e, d, n] * f
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


    @numba.njit(cache=True)
    def _officer_sums(fear, competence, candour, loyalty, status, hidden, surfaced,
                      surfaced_age, queue, offsets, sizes):  # pragma: no cover - compiled
        E, K, N = hidden.shape
        L = sizes.shape[0]
        by_level = np.zeros((3, E, L))
        out = np.zeros((7, E))
        top = offsets[2] if L > 2 else N
        for e in range(E):
            for lvl in range(L):
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
                    hi += hidden[e, k, n]
            out[0, e] = lo
            out[1, e] = va
            out[2, e] = sf
            out[3, e] = sa
            out[4, e] = qu
            out[5, e] = tq
            out[6, e] = hi
        return by_level, out


    @numba.njit(cache=True)
    def _strikes_day(capacity0, backlog0, wait0, work_left0, job_start0, job_waited0, tools0,
                     tool_wait0, pipeline0, work_plan0, tool_plan0, request0, D, circ, granted,
                     u, hazard, d_tool, cap_damage, tool_damage, repair_days, import_share,
                     work_cost, tool_cost, day):  # pragma: no cover - compiled
        # plain strike_and_repair, plant by plant, in its order of operations
        E, P = capacity0.shape
        T = pipeline0.shape[2]
        capacity = np.empty_like(capacity0)
        backlog = np.empty_like(backlog0)
        wait = np.empty_like(wait0)
        work_left = np.empty_like(work_left0)
        job_start = np.empty_like(job_start0)
        waited = np.empty_like(job_waited0)
        tools = np.empty_like(tools0)
        tool_wait = np.empty_like(tool_wait0)
        pipe = np.empty_like(pipeline0)
        work_plan = np.empty_like(work_plan0)
        tool_plan = np.empty_like(tool_plan0)
        request = np.zeros(E)
        hit = np.zeros((E, P), dtype=np.bool_)
        done = np.zeros((E, P), dtype=np.bool_)
        done_days = np.zeros((E, P))
        done_waited = np.zeros((E, P))
        lost = np.zeros((E, P))
        tools_lost = np.zeros((E, P))
        arrived = np.empty((E, P))
        usable = np.empty((E, P))
        ordered = np.empty((E, P))
        restored = np.zeros((E, P))
        n_done = np.zeros(E)
        restore_days = np.zeros(E)
        for e in range(E):
            rq = request0[e]
            f = min(max(granted[e] / max(rq, 1e-15), 0.0), 1.0) if rq > 1e-15 else 1.0
            for pl in range(P):
                # 1. open jobs: sign-off countdown, funded work, completion
                bl = backlog0[e, pl]
                cap = capacity0[e, pl]
                op = bl > 0
                w = wait0[e, pl]
                if np.isnan(w) and op:
                    w = D[e]
                waiting = op and w > 0
                if waiting:
                    w = w - 1.0
                wt = job_waited0[e, pl] + (1.0 if waiting else 0.0)
                wl = work_left0[e, pl] - f * work_plan0[e, pl]
                js = job_start0[e, pl]
                dn = op and not waiting and wl <= 1e-9 and work_plan0[e, pl] > 0
                if dn:
                    restored[e, pl] = bl
                    cap = cap + bl
                    bl = bl - bl
                    n_done[e] += 1.0
                    restore_days[e] += day - js
                    done[e, pl] = True
                    done_days[e, pl] = day - js
                    done_waited[e, pl] = wt
                    wl = 0.0
                    js = -1.0
                    wt = 0.0
                # 2. machine tools: arrivals, then the orders funded today
                arr = pipeline0[e, pl, 0]
                arrived[e, pl] = arr
                us = arr * (1.0 - d_tool[e])
                usable[e, pl] = us
                tl = tools0[e, pl] + us
                od = f * tool_plan0[e, pl]
                ordered[e, pl] = od
                for k in range(T - 1):
                    pipe[e, pl, k] = pipeline0[e, pl, k + 1]
                pipe[e, pl, T - 1] = od
                tw = tool_wait0[e, pl]
                if tw > 0:
                    tw = tw - 1.0
                # 3. strikes
                h = u[e, pl] < 1.0 - np.exp(-hazard[e, pl])
                hit[e, pl] = h
                ls = cap * cap_damage[e] if h else 0.0
                tls = tl * tool_damage[e] if h else 0.0
                lost[e, pl] = ls
                tools_lost[e, pl] = tls
                new_job = ls > 0 and bl <= 0
                cap = cap - ls
                bl = bl + ls
                if new_job:
                    w = D[e]
                    js = float(day)
                wl = wl + ls * repair_days[e]
                tl = tl - tls
                if tls > 0 and np.isnan(tw):
                    tw = D[e]
                # 4. tomorrow's plan and request
                ps = 0.0
                for k in range(T):
                    ps += pipe[e, pl, k]
                uncovered = (1.0 - tl) - ps * (1.0 - d_tool[e])
                if uncovered <= 1e-9:
                    tw = np.nan
                tp = 0.0
                if tw <= 0:
                    tp = min(max(uncovered, 0.0) / max(1.0 - d_tool[e], 1e-12),
                             import_share[e] * circ[e])
                wp = min(wl, 1.0) if (bl > 0 and w <= 0) else 0.0
                request[e] += wp * work_cost[e] + tp * tool_cost[e]
                capacity[e, pl] = cap
                backlog[e, pl] = bl
                wait[e, pl] = w
                work_left[e, pl] = wl
                job_start[e, pl] = js
                waited[e, pl] = wt
                tools[e, pl] = tl
                tool_wait[e, pl] = tw
                work_plan[e, pl] = wp
                tool_plan[e, pl] = tp
        return (capacity, backlog, wait, work_left, job_start, waited, tools, tool_wait, pipe,
                work_plan, tool_plan, request, hit, done, done_days, done_waited, lost,
                tools_lost, arrived, usable, ordered, restored, n_done, restore_days)


    @numba.njit(cache=True)
    def _elite_agents(threshold, sensitivity, anxiety0, out0, news,
                      decay):  # pragma: no cover - compiled
        E, M = anxiety0.shape
        anxiety = np.empty_like(anxiety0)
        out = np.empty_like(out0)
        share_out = np.empty(E)
        out_today = np.empty(E)
        hoarding = np.empty(E)
        theta = np.empty(M)
        t = np.empty(M)
        hist = np.empty(M, dtype=np.int64)
        for e in range(E):
            c = 0
            for i in range(M):
                a0 = anxiety0[e, i]
                x = sensitivity[e, i] * news[e]
                a = a0 * (1.0 - decay[e]) - np.expm1(-x) * (1.0 - a0)
                a = min(max(a, 0.0), 1.0)
                anxiety[e, i] = a
                theta[i] = max(threshold[e, i] - a, 0.0)
                if out0[e, i]:
                    t[i] = -np.inf
                    c += 1
                else:
                    t[i] = theta[i]
            # least fixed point of the cascade reached from the share already out: the first
            # k >= c where fewer than k + 1 agents have t <= k / M (the plain version's sorted
            # t[k] > k / M), from a histogram of the smallest k each agent's t is <= k / M
            for k in range(M):
                hist[k] = 0
            for i in range(M):
                if not out0[e, i]:
                    j = int(np.ceil(t[i] * M))
                    while j > 0 and t[i] <= (j - 1) / M:
                        j -= 1
                    while j < M and t[i] > j / M:
                        j += 1
                    if j < M:
                        hist[j] += 1
            k_star = M
            n_le = c
            for k in range(M):
                n_le += hist[k]
                if k >= c and n_le <= k:
                    k_star = k
                    break
            level = k_star / M
            n_out = 0
            n_new = 0
            h = 0.0
            for i in range(M):
                o = out0[e, i] or theta[i] <= level
                out[e, i] = o
                if o:
                    n_out += 1
                    h += 1.0
                    if not out0[e, i]:
                        n_new += 1
                else:
                    h += anxiety[e, i]
            share_out[e] = n_out / M
            out_today[e] = n_new
            hoarding[e] = h / M
        return anxiety, out, share_out, out_today, hoarding


    @numba.njit(cache=True)
    def _fight(own0, opp0, slack0_, slack_init, exhausted0, supply_ratio, equipment_ok,
               competence, latency, truth, z, weights, tau, noise_sd, alpha, beta, square,
               commit_losses, own_repl, opp_repl, ref_losses, xp, front_el, equip_gain,
               intensity_el, day):  # pragma: no cover - compiled
        # plain ``fight`` member by member, in its order of operations
        E = own0.shape[0]
        own = np.empty(E)
        opp = np.empty(E)
        own_loss = np.empty(E)
        opp_loss = np.empty(E)
        committed = np.empty(E)
        slack = np.empty((E, 3))
        exhausted = np.empty((E, 3))
        order = np.zeros((E, 3))
        new = np.zeros((E, 3), dtype=np.bool_)
        factors = np.empty((E, 5))
        eff = np.empty(E)
        strength = np.empty(E)
        pressure = np.empty((E, 2))
        intensity = np.empty(E)
        f = np.empty(5)
        for e in range(E):
            time_s = slack0_[e, 0]
            parts_s = slack0_[e, 1]
            opt_s = slack0_[e, 2]
            supply = max(supply_ratio[e], 0.0)
            drawn = min(max(1.0 - supply, 0.0), parts_s)
            refill = max(supply - 1.0, 0.0)
            parts_new = min(parts_s - drawn + refill, max(slack_init[e, 1], parts_s))
            lat = latency[e]
            if np.isnan(lat):
                lat = 0.0
            f[0] = supply + drawn
            f[1] = equipment_ok[e]
            f[2] = competence[e]
            f[3] = 1.0 / (1.0 + max(lat, 0.0) / tau[e])
            f[4] = truth[e]
            ef = 1.0
            for i in range(5):
                fi = min(max(f[i], 0.0), 1.0)
                factors[e, i] = fi
                ef = ef * (fi ** weights[e, i] if weights[e, i] > 0 else 1.0)
            eff[e] = ef
            n0 = np.exp(noise_sd[e] * z[e, 0] - 0.5 * noise_sd[e] ** 2)
            n1 = np.exp(noise_sd[e] * z[e, 1] - 0.5 * noise_sd[e] ** 2)
            a = alpha[e] * ef * n0
            b = beta[e] * n1
            R = own0[e]
            B = opp0[e]
            if square:
                w = np.sqrt(a * b)
                wt = w * 1.0
                sh = np.sinh(wt) / max(w, 1e-300) if wt > 1e-8 else 1.0
                ch = np.cosh(wt)
                R1 = R * ch - b * B * sh
                B1 = B * ch - a * R * sh
                inv = a * R ** 2 - b * B ** 2
                R_left = np.sqrt(max(inv, 0.0) / max(a, 1e-300))
                B_left = np.sqrt(max(-inv, 0.0) / max(b, 1e-300))
                R_out = R1 < 0.0
                B_out = B1 < 0.0
                R2 = 0.0 if R_out else (R_left if B_out else R1)
                B2 = 0.0 if B_out else (B_left if R_out else B1)
                R1 = max(R2, 0.0)
                B1 = max(B2, 0.0)
            else:
                C = a * R - b * B
                kt = C * 1.0
                phi = -np.expm1(-kt) / (1.0 if C == 0 else C) if abs(kt) > 1e-12 else 1.0
                R1n = R / (np.exp(-kt) + a * R * phi)
                kt = -C * 1.0
                phi = -np.expm1(-kt) / (1.0 if -C == 0 else -C) if abs(kt) > 1e-12 else 1.0
                B1 = B / (np.exp(-kt) + b * B * phi)
                R1 = R1n
            ol = R - R1
            own_loss[e] = ol
            opp_loss[e] = B - B1
            threshold = commit_losses[e] if time_s > 0.0 else 0.0
            cm = min(opt_s, max(ol - threshold, 0.0))
            committed[e] = cm
            o = R1 + cm + own_repl[e]
            q = B1 + opp_repl[e]
            own[e] = o
            opp[e] = q
            power = 2.0 if square else 1.0
            st = a * o ** power / (b * q ** power) if b * q > 0 else np.inf
            strength[e] = st
            time_new = min(max(time_s + min(max(st - 1.0, -1.0), 1.0), 0.0),
                           max(slack_init[e, 0], time_s))
            slack[e, 0] = time_new
            slack[e, 1] = parts_new
            slack[e, 2] = opt_s - cm
            gone = 0.0
            for k in range(3):
                if not np.isnan(exhausted0[e, k]):
                    gone += 1.0
            n_out = 0.0
            run = 0.0
            for k in range(3):
                out = slack[e, k] <= 1e-9
                if out:
                    n_out += 1.0
                nw = out and np.isnan(exhausted0[e, k])
                new[e, k] = nw
                exhausted[e, k] = float(day) if nw else exhausted0[e, k]
                if nw:
                    run += 1.0
                order[e, k] = gone + run
            loss_ratio = max(ol, 0.0) / ref_losses[e]
            pressure[e, 0] = loss_ratio ** front_el[e] * (1.0 + xp[e] * n_out)
            parts_out = 1.0 if slack[e, 1] <= 1e-9 else 0.0
            pressure[e, 1] = ((1.0 + equip_gain[e] * (1.0 - factors[e, 1]))
                              * (1.0 + xp[e] * parts_out))
            intensity[e] = loss_ratio ** intensity_el[e]
        return (own, opp, own_loss, opp_loss, committed, slack, exhausted, order, new,
                factors, eff, strength, pressure, intensity)


    @numba.njit(cache=True)
    def _leontief(rate, good, comp_line, out, binding):  # pragma: no cover - compiled
        # plain ``industry.leontief`` for one member, into ``out`` and ``binding``
        for j in range(rate.shape[0]):
            out[j] = rate[j]
            binding[j] = -1
        for c in range(good.shape[0]):
            line = comp_line[c]
            if good[c] < out[line] * (1.0 - 1e-12):
                out[line] = good[c]
                binding[line] = c

    @numba.njit(cache=True)
    def _produce(line_rate, design, k, part_cost, grey_capacity, inventory0, inventory_def0,
                 pipeline0, pipeline_def0, request0, capacity, tools, circ, granted, z,
                 grey_defect, slope, cover_days, lead_days, product, comp_line, comp_plant,
                 imported):  # pragma: no cover - compiled
        # plain ``produce`` (enabled) member by member, in its order of operations
        E, L = line_rate.shape
        C = design.shape[1]
        CI = imported.shape[0]
        T = pipeline0.shape[2]
        output = np.empty((E, L))
        binding = np.empty((E, L), dtype=np.int64)
        good = np.empty((E, C))
        inv = np.empty((E, CI))
        inv_def = np.empty((E, CI))
        pipe = np.empty_like(pipeline0)
        pipe_def = np.empty_like(pipeline_def0)
        arrived = np.empty((E, CI))
        ordered = np.empty((E, CI))
        used = np.empty((E, CI))
        defect_rate = np.empty(E)
        order_d = np.empty(E)
        request = np.empty((E, CI))
        potential = np.empty(C)
        others = np.empty(C)
        limit = np.empty(L)
        lim_binding = np.empty(L, dtype=np.int64)
        y = np.empty(CI)
        for e in range(E):
            # 1. the grey-market pipeline delivers
            for i in range(CI):
                arrived[e, i] = pipeline0[e, i, 0]
                inv[e, i] = inventory0[e, i] + pipeline0[e, i, 0]
                inv_def[e, i] = inventory_def0[e, i] + pipeline_def0[e, i, 0]
            # 2. plants make components; the lines assemble the scarcest
            for c in range(C):
                pl = comp_plant[c]
                f = capacity[e, pl] * tools[e, pl] if product else min(capacity[e, pl],
                                                                       tools[e, pl])
                potential[c] = design[e, c] * f
                good[e, c] = potential[c]
            d_inv = np.empty(CI)
            for i in range(CI):
                c = imported[i]
                d_inv[i] = (inv_def[e, i] / max(inv[e, i], 1e-12) if inv[e, i] > 1e-12
                            else grey_defect[e])
                y[i] = (1.0 - d_inv[i]) ** k[e, i]
                good[e, c] = min(potential[c], inv[e, i] / k[e, i]) * y[i]
            _leontief(line_rate[e], good[e], comp_line, output[e], binding[e])
            # 3. imported parts used only for the units the line takes
            tot_used = 0.0
            tot_def = 0.0
            for i in range(CI):
                c = imported[i]
                att = output[e, comp_line[c]] / max(y[i], 1e-12) if y[i] > 1e-12 else 0.0
                us = min(att * k[e, i], inv[e, i])
                ud = us * d_inv[i]
                used[e, i] = us
                inv[e, i] = inv[e, i] - us
                inv_def[e, i] = max(inv_def[e, i] - ud, 0.0)
                tot_used += us
                tot_def += ud
            defect_rate[e] = tot_def / max(tot_used, 1e-12) if tot_used > 1e-12 else np.nan
            # 4. the money granted buys parts, within what the grey market can move
            tot_req = 0.0
            for i in range(CI):
                tot_req += request0[e, i]
            d = min(max(grey_defect[e] + slope[e] * (1.0 - circ[e]), 0.0), 0.95)
            order_d[e] = d
            for i in range(CI):
                share = request0[e, i] / max(tot_req, 1e-15) if tot_req > 1e-15 else 0.0
                budget = granted[e] * share
                od = min(budget / max(part_cost[e, i], 1e-15), grey_capacity[e, i] * circ[e])
                ordered[e, i] = od
                sd = np.sqrt(od * (d * (1.0 - d)))
                odd = min(max(od * d + sd * z[e], 0.0), od)
                for t in range(T - 1):
                    pipe[e, i, t] = pipeline0[e, i, t + 1]
                    pipe_def[e, i, t] = pipeline_def0[e, i, t + 1]
                pipe[e, i, T - 1] = od
                pipe_def[e, i, T - 1] = odd
            # 5. tomorrow's request: base stock over the inventory position
            for c in range(C):
                others[c] = good[e, c]
            for i in range(CI):
                others[imported[i]] = np.inf
            _leontief(line_rate[e], others, comp_line, limit, lim_binding)
            for i in range(CI):
                c = imported[i]
                units = min(potential[c], limit[comp_line[c]] / max(y[i], 1e-12))
                need = units * k[e, i]
                target = need * (lead_days + cover_days[e])
                ps = 0.0
                for t in range(T):
                    ps += pipe[e, i, t]
                order = max(target + need - inv[e, i] - ps, 0.0)
                order = min(order, grey_capacity[e, i] * circ[e])
                request[e, i] = order * part_cost[e, i]
        return (output, binding, good, inv, inv_def, pipe, pipe_def, arrived, ordered, used,
                defect_rate, order_d, request)


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
        s.known, s.unresolved, f(new), f(new_sev), f(fear), f(candour),
        per_member(p.scrub_sensitivity, E), p_const, behavioural, f(u_sitrep),
        per_member(p.severity_growth, E), per_member(p.visibility_threshold, E),
        per_member(p.picture_window_days, E), np.asarray(tree.offsets, np.int64),
        np.asarray(tree.level_sizes, np.int64), D, day % D if D > 0 else 0, s.pass_ema,
        s.arisen_total, s.relayed_total,
    )
    (inflight, inflight_sev, inflight_age, hidden, hidden_sev, hidden_age, known, unresolved,
     received, scrubbed, candid, surfaced, to_top, to_top_age, surfaced_age, arisen, relayed,
     pass_ema) = out
    return ReportState(
        inflight=inflight, inflight_sev=inflight_sev, inflight_age=inflight_age, hidden=hidden,
        hidden_sev=hidden_sev, hidden_age=hidden_age, known=known, unresolved=unresolved,
        received=received, scrubbed=scrubbed, candid=candid, surfaced=surfaced, to_top=to_top,
        to_top_age=to_top_age, surfaced_age=surfaced_age, arisen_total=arisen,
        relayed_total=relayed, pass_ema=pass_ema,
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
                         r.surfaced, r.surfaced_age, queue, np.asarray(tree.offsets, np.int64),
                         np.asarray(tree.level_sizes, np.int64))


def strike_and_repair(
    s: StrikesState, p: StrikesParams, day: int, signoff_delay_days: np.ndarray,
    repair_granted: np.ndarray, circumvention: np.ndarray, u: np.ndarray,
    strike_intensity: np.ndarray | None = None,
) -> tuple[StrikesState, list[EventBatch]]:
    """Compiled :func:`loyaltytrap.mechanisms.strikes.strike_and_repair`."""
    E = s.capacity.shape[0]
    if not p.enabled:
        return strikes.strike_and_repair(s, p, day, signoff_delay_days, repair_granted,
                                         circumvention, u, strike_intensity)
    intensity = np.ones(E) if strike_intensity is None else np.asarray(strike_intensity, float)
    D = np.ceil(np.maximum(np.asarray(signoff_delay_days, dtype=np.float64), 0.0))
    circ = np.clip(np.asarray(circumvention, dtype=np.float64), 0.0, 1.0)
    granted = np.maximum(np.asarray(repair_granted, dtype=np.float64), 0.0)
    P = strikes.N_PLANTS
    (capacity, backlog, wait, work_left, job_start, waited, tools, tool_wait, pipe, work_plan,
     tool_plan, request, hit, done, done_days, done_waited, lost, tools_lost, arrived, usable,
     ordered, restored, n_done, restore_days) = _strikes_day(
        s.capacity, s.backlog, s.wait, s.work_left, s.job_start, s.job_waited, s.tools,
        s.tool_wait, s.tool_pipeline, s.work_plan, s.tool_plan, s.request_usd_bn,
        np.broadcast_to(D, (E,)).copy(), np.broadcast_to(circ, (E,)).copy(),
        np.broadcast_to(granted, (E,)).copy(), np.ascontiguousarray(u[:, :P]),
        strikes.daily_hazard(p, intensity), per_member(p.tool_defect_rate, E),
        per_member(p.capacity_damage_per_strike, E), per_member(p.tool_damage_per_strike, E),
        per_member(p.repair_days_full, E), per_member(p.tool_import_share_per_day, E),
        per_member(p.repair_cost_usd_bn_full / p.repair_days_full, E),
        per_member(p.tool_cost_usd_bn_full, E), int(day))
    others = strikes.poisson_quantile(u[:, P].astype(np.float64),
                                      per_member(p.other_strikes_per_day, E) * intensity)
    strikes_today = hit.sum(axis=1) + others
    events = [*strikes.done_events(done, done_days, done_waited),
              *strikes.hit_events(hit, lost, tools_lost, capacity + lost, tools + tools_lost)]
    return strikes.after_day(
        s, capacity=capacity, backlog=backlog, wait=wait, work_left=work_left,
        job_start=job_start, job_waited=waited, tools=tools, tool_wait=tool_wait,
        tool_pipeline=pipe, work_plan=work_plan, tool_plan=tool_plan, request_usd_bn=request,
        hit=hit, strikes_today=strikes_today, lost=lost, restored=restored, ordered=ordered,
        arrived=arrived, usable=usable, tools_lost=tools_lost, n_done=n_done,
        restore_days=restore_days,
    ), events


def move_agents(
    s: ElitesState, news: np.ndarray, decay: np.ndarray
) -> tuple[np.ndarray, ...]:
    """Compiled :func:`loyaltytrap.mechanisms.elites.move_agents`."""
    return _elite_agents(s.threshold, s.sensitivity, s.anxiety, s.out,
                         np.ascontiguousarray(news, dtype=np.float64),
                         np.ascontiguousarray(decay, dtype=np.float64))


def fight(
    s: FrontState, p: FrontParams, day: int, supply_ratio: np.ndarray,
    equipment_ok: np.ndarray, competence: np.ndarray, decision_latency_days: np.ndarray,
    truth: np.ndarray, u: np.ndarray,
) -> tuple[FrontState, list[EventBatch]]:
    """Compiled :func:`loyaltytrap.mechanisms.front.fight`."""
    E = s.own.shape[0]
    if not p.enabled:
        return front.fight(s, p, day, supply_ratio, equipment_ok, competence,
                           decision_latency_days, truth, u)
    z = ndtri(np.clip(u[:, :2].astype(np.float64), 1e-12, 1.0 - 1e-12))
    weights = np.stack([per_member(x, E) for x in (
        p.supply_weight, p.equipment_weight, p.competence_weight, p.timeliness_weight,
        p.truth_weight)], axis=1)

    def m(x: np.ndarray | float) -> np.ndarray:
        if isinstance(x, np.ndarray) and x.shape == (E,) and x.dtype == np.float64 \
                and x.flags.c_contiguous:
            return x  # the common case: read, not written, by the kernel
        return np.ascontiguousarray(np.broadcast_to(np.asarray(x, dtype=np.float64), (E,)))

    (own, opp, own_loss, opp_loss, committed, slack, exhausted, order, new, factors, eff,
     strength, pressure, intensity) = _fight(
        s.own, s.opp, s.slack, s.slack0, s.exhausted_day, m(supply_ratio), m(equipment_ok),
        m(competence), m(decision_latency_days), m(truth), z, weights,
        m(p.timeliness_tau_days), m(p.daily_noise_sd), m(p.alpha), m(p.beta),
        p.law == "square", m(p.reserve_commit_losses), m(p.own_replacements),
        m(p.opponent_replacements), m(p.reference_own_losses), m(p.exhausted_pressure),
        m(p.front_pressure_elasticity), m(p.equipment_pressure_gain),
        m(p.intensity_elasticity), int(day))
    mm, k = np.nonzero(new)
    events = [EventBatch("slack_exhausted", mm, value=order[mm, k], value2=own[mm],
                         label=np.array(front.SLACKS, dtype=object)[k])] if len(mm) else []
    return front.after_day(
        s, own=own, opp=opp, own_loss=own_loss, opp_loss=opp_loss, committed=committed,
        slack=slack, exhausted_day=exhausted, factors=factors, effectiveness=eff,
        strength_ratio=strength, problem_pressure=pressure, war_intensity=intensity,
    ), events


def produce(
    s: IndustryState, p: IndustryParams, day: int, plant_capacity: np.ndarray,
    tool_share: np.ndarray, circumvention: np.ndarray, parts_budget_granted: np.ndarray,
    u: np.ndarray,
) -> tuple[IndustryState, list[EventBatch]]:
    """Compiled :func:`loyaltytrap.mechanisms.industry.produce`."""
    E = s.output.shape[0]
    if not p.enabled:
        return industry.produce(s, p, day, plant_capacity, tool_share, circumvention,
                                parts_budget_granted, u)
    circ = np.clip(np.asarray(circumvention, dtype=np.float64), 0.0, 1.0)
    z = np.clip(ndtri(np.clip(u[:, 0].astype(np.float64), 1e-6, 1 - 1e-6)), -4.0, 4.0)
    (output, binding, good, inv, inv_def, pipe, pipe_def, arrived, ordered, used, defect_rate,
     d, request) = _produce(
        s.line_rate, s.design, np.ascontiguousarray(s.parts_per_unit, dtype=np.float64),
        s.part_cost, s.grey_capacity, s.inventory, s.inventory_defective, s.pipeline,
        s.pipeline_defective, s.request_usd_bn, np.ascontiguousarray(plant_capacity),
        np.ascontiguousarray(tool_share), np.broadcast_to(circ, (E,)).copy(),
        np.broadcast_to(np.asarray(parts_budget_granted, dtype=np.float64), (E,)).copy(), z,
        per_member(p.grey_defect_rate, E), per_member(p.defect_slope, E),
        per_member(p.parts_cover_days, E), float(p.parts_lead_time_days),
        p.plant_combination != "min", industry.COMP_LINE.astype(np.int64),
        industry.COMP_PLANT.astype(np.int64), industry.IMPORTED.astype(np.int64))
    events = industry.bottleneck_events(s.binding, binding, output, s.line_rate)
    return industry.after_day(
        s, p, output=output, potential=good, binding=binding, inventory=inv,
        inventory_defective=inv_def, pipeline=pipe, pipeline_defective=pipe_def,
        arrived=arrived, ordered=ordered, used=used, defect_rate=defect_rate,
        order_defect_rate=d, request_usd_bn=request,
    ), events

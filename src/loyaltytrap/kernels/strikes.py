"""Compiled M7 strikes and repairs (twin of
:func:`loyaltytrap.mechanisms.strikes.strike_and_repair`)."""

from __future__ import annotations

import numba
import numpy as np

from ..events import EventBatch
from ..mechanisms import strikes
from ..mechanisms.strikes import StrikesParams, StrikesState
from ..params import per_member


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

"""Compiled M7 strikes and repairs (twin of
:func:`loyaltytrap.mechanisms.strikes.strike_and_repair`)."""

from __future__ import annotations

import numba
import numpy as np

from ..events import EventBatch
from ..mechanisms import strikes
from ..mechanisms.strikes import StrikesParams, StrikesState
from ..params import member_array, packed, per_member
from .blocks import rows
from .special import PDTR, call_pdtr


@numba.njit(cache=True)
def _poisson_quantile(q, mu, pdtr):  # pragma: no cover - compiled
    # the smallest n with P(X <= n) >= q for X ~ Poisson(mu), counted up through the CDF as
    # plain poisson_quantile does with scipy's pdtr. The CDF is summed term by term (a
    # relative error near 1e-15); only where it lies within 1e-9 of q, where that error could
    # turn the comparison, is pdtr itself asked (and for a large mu, where exp(-mu) would
    # underflow), so the answer is pdtr's, at a fraction of its cost.
    n = 0
    if mu > 100.0:
        while call_pdtr(pdtr, np.float64(n), mu) < q:
            n += 1
        return np.float64(n)
    term = np.exp(-mu)
    cdf = term
    while True:
        near = abs(cdf - q) <= 1e-9
        below = call_pdtr(pdtr, np.float64(n), mu) < q if near else cdf < q
        if not below:
            return np.float64(n)
        n += 1
        term = term * mu / n
        cdf += term


@numba.njit(cache=True)
def _strikes_day(capacity0, backlog0, wait0, work_left0, job_start0, job_waited0, tools0,
                 tool_wait0, pipeline0, work_plan0, tool_plan0, request0, lost_total0,
                 restored_total0, strikes_total0, restores_total0, restore_days_total0,
                 ordered_total0, arrived_total0, usable_total0, destroyed_total0, delay,
                 circ_in, granted_in, u, hazard, pm, day, pdtr):  # pragma: no cover - compiled
    # plain strike_and_repair, plant by plant, in its order of operations, then the other
    # strikes (scipy's Poisson CDF, counted up as plain poisson_quantile does) and the
    # totals of after_day. The day's inputs arrive as the engine has them (the delay may be
    # NaN: 0).
    E, P = capacity0.shape
    T = pipeline0.shape[2]
    D = np.empty(E)
    circ = np.empty(E)
    granted = np.empty(E)
    for e in range(E):
        x = delay[e]
        x = 0.0 if np.isnan(x) else x  # yesterday's 90th percentile; NaN: nothing decided
        D[e] = np.ceil(x if x > 0.0 else 0.0)
        c = circ_in[e]
        circ[e] = min(max(c, 0.0), 1.0)
        g = granted_in[e]
        granted[e] = g if g > 0.0 else 0.0
    d_tool = pm[_DEFECT]
    cap_damage = pm[_CAP_DAMAGE]
    tool_damage = pm[_TOOL_DAMAGE]
    repair_days = pm[_REPAIR_DAYS]
    import_share = pm[_IMPORT]
    work_cost = pm[_WORK_COST]
    tool_cost = pm[_TOOL_COST]
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
    # the other strikes, and what today adds to the totals (after_day)
    strikes_today = np.empty(E)
    today = np.empty((2, E))  # capacity lost, restored
    totals = np.empty((5, E))  # lost, restored, strikes, jobs done, their days
    by_plant = np.empty((4, E, P))  # tools ordered, arrived, usable, destroyed
    n_events = 0
    for e in range(E):
        q = np.float64(u[e, P])
        mu = pm[_OTHERS, e]
        k = 0.0
        if q > 0 and mu > 0:
            k = _poisson_quantile(q, mu, pdtr)
        nh = 0
        ls = 0.0
        rs = 0.0
        for pl in range(P):
            nh += hit[e, pl]
            n_events += hit[e, pl] + done[e, pl]
            ls += lost[e, pl]
            rs += restored[e, pl]
            by_plant[0, e, pl] = ordered_total0[e, pl] + ordered[e, pl]
            by_plant[1, e, pl] = arrived_total0[e, pl] + arrived[e, pl]
            by_plant[2, e, pl] = usable_total0[e, pl] + usable[e, pl]
            by_plant[3, e, pl] = destroyed_total0[e, pl] + tools_lost[e, pl]
        st = nh + k
        strikes_today[e] = st
        today[0, e] = ls
        today[1, e] = rs
        totals[0, e] = lost_total0[e] + ls
        totals[1, e] = restored_total0[e] + rs
        totals[2, e] = strikes_total0[e] + st
        totals[3, e] = restores_total0[e] + n_done[e]
        totals[4, e] = restore_days_total0[e] + restore_days[e]
    # the [E, P] results in one block, today's [E] in another (kernels.blocks)
    plants = rows((capacity, backlog, wait, work_left, job_start, waited, tools, tool_wait,
                   work_plan, tool_plan, done_days, done_waited, lost, tools_lost))
    per_day = rows((request, strikes_today, today[0], today[1]))
    return plants, per_day, pipe, hit, totals, by_plant, done, n_events


# rows of the per-member parameter matrix (packed once per parameter record)
(_DEFECT, _CAP_DAMAGE, _TOOL_DAMAGE, _REPAIR_DAYS, _IMPORT, _WORK_COST, _TOOL_COST,
 _OTHERS) = range(8)


def _packed(p: StrikesParams, E: int) -> tuple[np.ndarray, np.ndarray]:
    """The parameter matrix ``[8, E]`` and the strike hazard per plant ``[E, P]`` (the
    strike intensity 1, as the engine runs it)."""
    def build() -> tuple[np.ndarray, np.ndarray]:
        pm = np.stack([
            per_member(p.tool_defect_rate, E), per_member(p.capacity_damage_per_strike, E),
            per_member(p.tool_damage_per_strike, E), per_member(p.repair_days_full, E),
            per_member(p.tool_import_share_per_day, E),
            per_member(p.repair_cost_usd_bn_full / p.repair_days_full, E),
            per_member(p.tool_cost_usd_bn_full, E),
            per_member(p.other_strikes_per_day, E) * np.ones(E)])  # mu = rate x intensity
        return pm, strikes.daily_hazard(p, np.ones(E))
    return packed(p, f"strikes:{E}", build)


def strike_and_repair(
    s: StrikesState, p: StrikesParams, day: int, signoff_delay_days: np.ndarray,
    repair_granted: np.ndarray, circumvention: np.ndarray, u: np.ndarray,
    strike_intensity: np.ndarray | None = None,
) -> tuple[StrikesState, list[EventBatch]]:
    """Compiled :func:`loyaltytrap.mechanisms.strikes.strike_and_repair`."""
    E = s.capacity.shape[0]
    if not p.enabled:
        return strikes.strike_and_repair(s, p, day, signoff_delay_days,
                                         repair_granted, circumvention, u, strike_intensity)
    if strike_intensity is None:
        pm, hazard = _packed(p, E)
    else:  # not what the engine runs: packed for this call
        intensity = np.asarray(strike_intensity, float)
        pm = _packed(p, E)[0].copy()
        pm[_OTHERS] = per_member(p.other_strikes_per_day, E) * intensity
        hazard = strikes.daily_hazard(p, intensity)
    plants, per_day, pipe, hit, totals, by_plant, done, n_events = _strikes_day(
        s.capacity, s.backlog, s.wait, s.work_left, s.job_start, s.job_waited, s.tools,
        s.tool_wait, s.tool_pipeline, s.work_plan, s.tool_plan, s.request_usd_bn, s.lost_total,
        s.restored_total, s.strikes_total, s.restores_total, s.restore_days_total,
        s.tools_ordered_total, s.tools_arrived_total, s.tools_usable_total,
        s.tools_destroyed_total, member_array(signoff_delay_days, E),
        member_array(circumvention, E), member_array(repair_granted, E), u, hazard, pm,
        int(day), PDTR)
    (capacity, backlog, wait, work_left, job_start, waited, tools, tool_wait, work_plan,
     tool_plan, done_days, done_waited, lost, tools_lost) = plants
    request, strikes_today, lost_today, restored_today = per_day
    events: list[EventBatch] = []
    if n_events:
        events = [*strikes.done_events(done, done_days, done_waited),
                  *strikes.hit_events(hit, lost, tools_lost, capacity + lost, tools + tools_lost)]
    return StrikesState(
        capacity=capacity, backlog=backlog, wait=wait, work_left=work_left,
        job_start=job_start, job_waited=waited, tools=tools, tool_wait=tool_wait,
        tool_pipeline=pipe, work_plan=work_plan, tool_plan=tool_plan, request_usd_bn=request,
        hit=hit, strikes_today=strikes_today, lost_today=lost_today,
        restored_today=restored_today,
        lost_total=totals[0], restored_total=totals[1], strikes_total=totals[2],
        tools_ordered_total=by_plant[0], tools_arrived_total=by_plant[1],
        tools_usable_total=by_plant[2], tools_destroyed_total=by_plant[3],
        restores_total=totals[3], restore_days_total=totals[4],
    ), events

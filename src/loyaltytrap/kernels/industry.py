"""Compiled M6 production (twin of :func:`loyaltytrap.mechanisms.industry.produce`)."""

from __future__ import annotations

import numba
import numpy as np

from ..events import EventBatch
from ..mechanisms import industry
from ..mechanisms.industry import IndustryParams, IndustryState
from ..params import member_array, packed, per_member
from .blocks import rows
from .special import NDTRI, call_ndtri

_COMP_LINE = industry.COMP_LINE.astype(np.int64)
_COMP_PLANT = industry.COMP_PLANT.astype(np.int64)
_IMPORTED = industry.IMPORTED.astype(np.int64)


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
             pipeline0, pipeline_def0, request0, binding0, ordered_total0, arrived_total0,
             used_total0, output_total0, capacity, tools, circ_in, granted_in, u,
             grey_defect, slope, cover_days, shell_need, lead_days, product, comp_line,
             comp_plant, imported, shells, ndtri):  # pragma: no cover - compiled
    # plain ``produce`` (enabled) member by member, in its order of operations; the day's
    # inputs as the engine has them (circumvention clipped here, the order noise drawn here
    # from the uniform by scipy's ndtri)
    E, L = line_rate.shape
    circ = np.empty(E)
    granted = np.empty(E)
    z = np.empty(E)
    for e in range(E):
        circ[e] = min(max(circ_in[e], 0.0), 1.0)
        granted[e] = granted_in[e]
        q = min(max(np.float64(u[e, 0]), 1e-6), 1 - 1e-6)
        z[e] = min(max(call_ndtri(ndtri, q), -4.0), 4.0)
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
    # after_day's totals and supply ratio, and whether any line's bottleneck moved; the
    # [E, CI], [E, L] and [E] results in one block each (kernels.blocks)
    per_part = rows((inv, inv_def, arrived, ordered, request, ordered_total0 + ordered,
                     arrived_total0 + arrived, used_total0 + used))
    per_line = rows((output, output_total0 + output))
    supply = np.empty(E)
    changed = 0
    for e in range(E):
        supply[e] = output[e, shells] / shell_need[e]
        for j in range(L):
            changed += binding[e, j] != binding0[e, j] and binding[e, j] >= 0
    by_member = rows((defect_rate, order_d, supply))
    return per_part, per_line, by_member, binding, good, pipe, pipe_def, changed


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
    pm = packed(p, f"industry:{E}", lambda: np.stack([
        per_member(p.grey_defect_rate, E), per_member(p.defect_slope, E),
        per_member(p.parts_cover_days, E), per_member(p.shell_need_per_day, E)]))
    per_part, per_line, per_m, binding, good, pipe, pipe_def, changed = _produce(
        s.line_rate, s.design, s.parts_per_unit, s.part_cost, s.grey_capacity, s.inventory,
        s.inventory_defective, s.pipeline, s.pipeline_defective, s.request_usd_bn, s.binding,
        s.ordered_total, s.arrived_total, s.used_total, s.output_total,
        np.ascontiguousarray(plant_capacity), np.ascontiguousarray(tool_share),
        member_array(circumvention, E), member_array(parts_budget_granted, E), u, pm[0], pm[1],
        pm[2], pm[3], float(p.parts_lead_time_days), p.plant_combination != "min", _COMP_LINE,
        _COMP_PLANT, _IMPORTED, industry.SHELLS, NDTRI)
    inv, inv_def, arrived, ordered, request, ordered_total, arrived_total, used_total = per_part
    output, output_total = per_line
    defect_rate, d, supply_ratio = per_m
    events = industry.bottleneck_events(s.binding, binding, output, s.line_rate) \
        if changed else []
    return IndustryState(  # what industry.after_day makes of the day, its sums taken above
        line_rate=s.line_rate, design=s.design, parts_per_unit=s.parts_per_unit,
        part_cost=s.part_cost, grey_capacity=s.grey_capacity, need_baseline=s.need_baseline,
        output=output, potential=good, binding=binding, supply_ratio=supply_ratio,
        inventory=inv, inventory_defective=inv_def, pipeline=pipe, pipeline_defective=pipe_def,
        arrived=arrived, ordered=ordered, defect_rate=defect_rate, order_defect_rate=d,
        request_usd_bn=request, ordered_total=ordered_total, arrived_total=arrived_total,
        used_total=used_total, output_total=output_total,
    ), events

"""M7 deep strikes and the repair race.

This module owns the physical plants of M6 (``industry.PLANTS``): each plant's standing
capacity and its stock of imported machine tools, both shares 0-1 of the pre-war plant.
Industry reads them; nothing else changes them.

Strikes. Each plant is hit on a day with probability ``1 - exp(-lambda_p)``,

    lambda_p = strikes_per_plant_per_year / 365 * priority_p * reachable_p * strike_intensity

where ``priority_p`` is ``engine_plant_priority`` for the engine plant (the source's engine
factory, struck and burning) and 1 elsewhere, and ``reachable_p`` is 1 when the plant's depth
(``deep_plant_depth_km`` for the engine plant, ~1,400 km in the source;
``typical_plant_depth_km`` for the others) is within ``strike_reach_km``. A hit destroys
``capacity_damage_per_strike`` of the standing capacity and ``tool_damage_per_strike`` of the
tools left. Other hits inside the borders (refineries, depots, airfields) arrive as a Poisson
count with mean ``other_strikes_per_day * strike_intensity``; the elites react to the total.

Repairs. Lost capacity joins the plant's repair backlog (capacity + backlog = 1). A plant
with no open job starts one on the day it is hit; the job waits ``signoff_delay_days`` (input
from the chain of command, M4; whole days, rounded up) for a sign-off, then needs
``repair_days_full * lost`` days of funded work; damage added to an open job extends it. Each
day of work costs ``repair_cost_usd_bn_full / repair_days_full``; with a fraction ``f`` of the
money granted (M5) a day advances the job by ``f`` days. The backlog returns all at once when
the job is done (a workshop is back when it is rebuilt).

Machine tools cannot be made at home. They come back only by import: once a sign-off for the
plant's tool losses is given, orders of up to ``tool_import_share_per_day * circumvention`` of
the plant's pre-war stock a day (0: not at all) go into a pipeline of ``tool_lead_time_days``
slots at ``tool_cost_usd_bn_full`` per whole stock; ``tool_defect_rate`` of what arrives is
unusable. Conservation: tools ordered = arrived + in the pipeline; tools change only by
usable arrivals minus strike losses.

Formal anchor: with a constant hazard, full damage, a fixed sign-off delay D and repair time
R, fully funded, a plant alternates up and down periods and its availability (mean capacity)
is MTBF / (MTBF + MTTR) with MTTR = D + R and, in days, MTBF = exp(-lambda)/(1 - exp(-lambda))
(about 1/lambda - 1/2).

Disabled (``enabled = false``): no strikes. Plants stay whole (no initial damage), tools stay
at 1, nothing is requested (request 0), strikes today 0, no events.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import pdtr

from ..events import EventBatch, register_templates
from ..params import Common, col, param, per_member, replace, state_record
from .industry import ENGINE_PLANT, N_PLANTS, PLANTS

UNIFORMS_PER_DAY = N_PLANTS + 1  # one per plant (hit or not), one for the other strikes

register_templates({
    "strike": ("M7", "a strike hit the {label} plant: {value:.0%} of its capacity and "
                     "{value2:.0%} of its imported machine tools lost"),
    "repair_done": ("M7", "the {label} plant is back after {value:.0f} days, {value2:.0f} of "
                          "them waiting for a sign-off"),
})


@dataclass(frozen=True, kw_only=True)
class StrikesParams(Common):
    """Parameters of M7."""

    strikes_per_plant_per_year: np.ndarray = param("strikes per plant per year", 0, 100,
                                                   doc="hazard of a hit on a reachable plant")
    engine_plant_priority: np.ndarray = param("ratio", 0, 20,
                                              doc="hazard of the engine plant over the others")
    deep_plant_depth_km: np.ndarray = param("km", 0, 5000,
                                            doc="distance of the engine plant from the border")
    typical_plant_depth_km: np.ndarray = param("km", 0, 5000,
                                               doc="distance of the other plants")
    strike_reach_km: np.ndarray = param("km", 0, 5000, doc="how deep strikes can reach")
    other_strikes_per_day: np.ndarray = param("strikes per day", 0, 100,
                                              doc="hits inside the borders on other targets")
    capacity_damage_per_strike: np.ndarray = param("share (0-1)", 0, 1,
                                                   doc="standing capacity a hit destroys")
    tool_damage_per_strike: np.ndarray = param("share (0-1)", 0, 1,
                                               doc="machine tools left that a hit destroys")
    initial_engine_damage: np.ndarray = param("share (0-1)", 0, 1,
                                              doc="engine plant capacity out at the start")
    repair_days_full: np.ndarray = param("days", 1, 3650,
                                         doc="funded work to rebuild a whole plant")
    repair_cost_usd_bn_full: np.ndarray = param("USD bn", 0, 100,
                                                doc="cost to rebuild a whole plant")
    tool_import_share_per_day: np.ndarray = param("share of a plant's stock per day", 0, 1,
                                                  doc="tools the grey market delivers at full "
                                                      "circumvention")
    tool_cost_usd_bn_full: np.ndarray = param("USD bn", 0, 100,
                                              doc="grey-market cost of a plant's whole stock "
                                                  "of imported tools")
    tool_lead_time_days: int = param("days", 1, 1000, integer=True, structural=True,
                                     doc="days from a tool order to its arrival")
    tool_defect_rate: np.ndarray = param("share (0-1)", 0, 0.95,
                                         doc="share of imported tools that arrive unusable")


@state_record
@dataclass(frozen=True)
class StrikesState:
    """Plants, strikes and repairs (P = N_PLANTS, T = tool_lead_time_days).

    capacity: float64 ``[E, P]`` standing capacity, share 0-1
    backlog: float64 ``[E, P]`` capacity out awaiting repair, share (capacity + backlog = 1)
    wait: float64 ``[E, P]`` sign-off days left on the open job (NaN: not yet set)
    work_left: float64 ``[E, P]`` funded work-days left on the open job, days
    job_start: float64 ``[E, P]`` day the open job started (-1: none)
    job_waited: float64 ``[E, P]`` days the open job waited for sign-off, days
    tools: float64 ``[E, P]`` imported machine tools, share of the pre-war stock
    tool_wait: float64 ``[E, P]`` sign-off days left on tool orders (NaN: nothing to order)
    tool_pipeline: float64 ``[E, P, T]`` tools on the way (slot 0 arrives next), share
    work_plan: float64 ``[E, P]`` work-days planned for tomorrow, days
    tool_plan: float64 ``[E, P]`` tools to order tomorrow, share
    request_usd_bn: float64 ``[E]`` money asked for tomorrow's repairs and tools, USD bn
    hit: bool ``[E, P]`` plants hit today
    strikes_today: float64 ``[E]`` hits inside the borders today (plants and others), count
    lost_today, restored_today: float64 ``[E]`` capacity lost / restored today, plant-shares
    lost_total, restored_total, strikes_total: float64 ``[E]`` cumulative (lost_total counts
        the damage standing on day 0)
    tools_ordered_total, tools_arrived_total, tools_usable_total, tools_destroyed_total:
        float64 ``[E, P]`` cumulative, share of a plant's stock
    restores_total, restore_days_total: float64 ``[E]`` jobs done and their days, cumulative
    """

    capacity: np.ndarray
    backlog: np.ndarray
    wait: np.ndarray
    work_left: np.ndarray
    job_start: np.ndarray
    job_waited: np.ndarray
    tools: np.ndarray
    tool_wait: np.ndarray
    tool_pipeline: np.ndarray
    work_plan: np.ndarray
    tool_plan: np.ndarray
    request_usd_bn: np.ndarray
    hit: np.ndarray
    strikes_today: np.ndarray
    lost_today: np.ndarray
    restored_today: np.ndarray
    lost_total: np.ndarray
    restored_total: np.ndarray
    strikes_total: np.ndarray
    tools_ordered_total: np.ndarray
    tools_arrived_total: np.ndarray
    tools_usable_total: np.ndarray
    tools_destroyed_total: np.ndarray
    restores_total: np.ndarray
    restore_days_total: np.ndarray



def init_strikes(p: StrikesParams, E: int) -> StrikesState:
    """Day 0: whole plants and tools, except the engine plant, already struck and burning
    (its job waits for a sign-off; the delay is set on day 1)."""
    P, T = N_PLANTS, p.tool_lead_time_days
    backlog = np.zeros((E, P))
    if p.enabled:
        backlog[:, ENGINE_PLANT] = per_member(p.initial_engine_damage, E)
    open_ = backlog > 0
    z = np.zeros
    return StrikesState(
        capacity=1.0 - backlog, backlog=backlog, wait=np.where(open_, np.nan, 0.0),
        work_left=backlog * col(per_member(p.repair_days_full, E)),
        job_start=np.where(open_, 0.0, -1.0), job_waited=z((E, P)), tools=np.ones((E, P)),
        tool_wait=np.full((E, P), np.nan), tool_pipeline=z((E, P, T)), work_plan=z((E, P)),
        tool_plan=z((E, P)), request_usd_bn=z(E), hit=z((E, P), bool), strikes_today=z(E),
        lost_today=z(E), restored_today=z(E), lost_total=backlog.sum(axis=1), restored_total=z(E),
        strikes_total=z(E), tools_ordered_total=z((E, P)), tools_arrived_total=z((E, P)),
        tools_usable_total=z((E, P)), tools_destroyed_total=z((E, P)), restores_total=z(E),
        restore_days_total=z(E),
    )


def daily_hazard(p: StrikesParams, intensity: np.ndarray) -> np.ndarray:
    """Strike hazard per plant per day ``[E, P]``."""
    E = intensity.shape[0]
    depth = np.repeat(per_member(p.typical_plant_depth_km, E)[:, None], N_PLANTS, axis=1)
    depth[:, ENGINE_PLANT] = per_member(p.deep_plant_depth_km, E)
    prio = np.ones((E, N_PLANTS))
    prio[:, ENGINE_PLANT] = per_member(p.engine_plant_priority, E)
    reachable = depth <= col(per_member(p.strike_reach_km, E))
    return col(p.strikes_per_plant_per_year / 365.0 * intensity) * prio * reachable


def poisson_quantile(q: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """Smallest k with P(Poisson(mu) <= k) >= q, ``[E]``: scipy's ``poisson.ppf`` (0 for
    q = 0 or mu = 0, where scipy gives -1 or NaN), counted up through the CDF ``pdtr``
    (scipy's ``poisson.ppf`` spent ~100 us a day checking its arguments, and inverting the CDF
    with ``pdtrik`` ~50 us for 64 members; the counts here are small)."""
    k = np.zeros(np.shape(q))
    active = (q > 0) & (mu > 0)
    n = 0
    while active.any():
        below = active & (pdtr(n, mu) < q)  # P(X <= n) < q: the quantile is above n
        k += below
        active = below
        n += 1
    return k


def availability(mtbf_days: float, mttr_days: float) -> float:
    """Share of time a plant is up: MTBF / (MTBF + MTTR)."""
    return mtbf_days / (mtbf_days + mttr_days)


def strike_and_repair(
    s: StrikesState,
    p: StrikesParams,
    day: int,
    signoff_delay_days: np.ndarray,
    repair_granted: np.ndarray,
    circumvention: np.ndarray,
    u: np.ndarray,
    strike_intensity: np.ndarray | None = None,
) -> tuple[StrikesState, list[EventBatch]]:
    """One day of the repair race: funded jobs advance and finish, tools arrive and are
    ordered, strikes hit plants and start new jobs, tomorrow's request is set.

    ``signoff_delay_days`` ``[E]`` days a repair waits for a sign-off (M4; NaN reads as 0);
    ``repair_granted`` ``[E]`` USD bn granted today against ``s.request_usd_bn`` (M5);
    ``circumvention`` ``[E]`` 0-1 (M10); ``u`` ``[E, UNIFORMS_PER_DAY]``; ``strike_intensity``
    ``[E]`` multiplies all strike rates (default 1). Disabled: no strikes, see module docstring.
    """
    E = s.capacity.shape[0]
    if not p.enabled:
        z = np.zeros(E)
        return replace(s, hit=np.zeros_like(s.hit), strikes_today=z, lost_today=z.copy(),
                       restored_today=z.copy(), work_plan=np.zeros_like(s.work_plan),
                       tool_plan=np.zeros_like(s.tool_plan), request_usd_bn=z.copy()), []
    intensity = np.ones(E) if strike_intensity is None else np.asarray(strike_intensity, float)
    # NaN: nobody decided anything yesterday, so no delay is known
    D = np.ceil(np.maximum(np.nan_to_num(np.asarray(signoff_delay_days, dtype=np.float64)),
                           0.0))
    circ = np.clip(np.asarray(circumvention, dtype=np.float64), 0.0, 1.0)
    granted = np.maximum(np.asarray(repair_granted, dtype=np.float64), 0.0)
    f = np.where(s.request_usd_bn > 1e-15,
                 np.clip(granted / np.maximum(s.request_usd_bn, 1e-15), 0.0, 1.0), 1.0)

    # 1. open jobs: sign-off countdown, funded work, completion
    backlog, capacity = s.backlog, s.capacity
    open_ = backlog > 0
    wait = np.where(np.isnan(s.wait) & open_, col(D), s.wait)
    waiting = open_ & (wait > 0)
    wait = np.where(waiting, wait - 1.0, wait)
    waited = s.job_waited + waiting
    work_left = s.work_left - col(f) * s.work_plan
    done = open_ & ~waiting & (work_left <= 1e-9) & (s.work_plan > 0)
    restored = np.where(done, backlog, 0.0)
    capacity = capacity + restored
    backlog = backlog - restored
    n_done = done.sum(axis=1)
    restore_days = np.where(done, day - s.job_start, 0.0).sum(axis=1)
    ev_done = done_events(done, day - s.job_start, waited)
    work_left = np.where(done, 0.0, work_left)
    job_start = np.where(done, -1.0, s.job_start)
    waited = np.where(done, 0.0, waited)

    # 2. machine tools: arrivals (only route back), then the orders funded today
    arrived = s.tool_pipeline[:, :, 0]
    usable = arrived * (1.0 - col(p.tool_defect_rate))
    tools = s.tools + usable
    ordered = col(f) * s.tool_plan
    pipe = np.concatenate([s.tool_pipeline[:, :, 1:], ordered[:, :, None]], axis=2)
    tool_wait = np.where(s.tool_wait > 0, s.tool_wait - 1.0, s.tool_wait)

    # 3. strikes
    hit = u[:, :N_PLANTS] < 1.0 - np.exp(-daily_hazard(p, intensity))
    lost = np.where(hit, capacity * col(p.capacity_damage_per_strike), 0.0)
    tools_lost = np.where(hit, tools * col(p.tool_damage_per_strike), 0.0)
    new_job = (lost > 0) & (backlog <= 0)
    capacity, backlog = capacity - lost, backlog + lost
    wait = np.where(new_job, col(D), wait)
    job_start = np.where(new_job, float(day), job_start)
    work_left = work_left + lost * col(p.repair_days_full)
    tools = tools - tools_lost
    tool_wait = np.where((tools_lost > 0) & np.isnan(tool_wait), col(D), tool_wait)
    others = poisson_quantile(u[:, N_PLANTS].astype(np.float64),
                              per_member(p.other_strikes_per_day, E) * intensity)
    strikes_today = hit.sum(axis=1) + np.nan_to_num(others)

    # 4. tomorrow's plan and request
    d_tool = col(p.tool_defect_rate)
    uncovered = (1.0 - tools) - pipe.sum(axis=2) * (1.0 - d_tool)
    tool_wait = np.where(uncovered <= 1e-9, np.nan, tool_wait)
    tool_plan = np.where(tool_wait <= 0, np.minimum(
        np.maximum(uncovered, 0.0) / np.maximum(1.0 - d_tool, 1e-12),
        col(p.tool_import_share_per_day * circ)), 0.0)
    work_plan = np.where((backlog > 0) & (wait <= 0), np.minimum(work_left, 1.0), 0.0)
    request = (work_plan * col(p.repair_cost_usd_bn_full / p.repair_days_full)
               + tool_plan * col(p.tool_cost_usd_bn_full)).sum(axis=1)

    ev_hit = hit_events(hit, lost, tools_lost, capacity + lost, tools + tools_lost)
    return after_day(
        s, capacity=capacity, backlog=backlog, wait=wait, work_left=work_left,
        job_start=job_start, job_waited=waited, tools=tools, tool_wait=tool_wait,
        tool_pipeline=pipe, work_plan=work_plan, tool_plan=tool_plan, request_usd_bn=request,
        hit=hit, strikes_today=strikes_today, lost=lost, restored=restored, ordered=ordered,
        arrived=arrived, usable=usable, tools_lost=tools_lost, n_done=n_done,
        restore_days=restore_days,
    ), [*ev_done, *ev_hit]


def after_day(
    s: StrikesState, *, lost: np.ndarray, restored: np.ndarray, ordered: np.ndarray,
    arrived: np.ndarray, usable: np.ndarray, tools_lost: np.ndarray, n_done: np.ndarray,
    restore_days: np.ndarray, strikes_today: np.ndarray, **stocks: np.ndarray,
) -> StrikesState:
    """The state after a day: the stocks and plans as computed (``capacity``, ``backlog``,
    ``wait``, ``work_left``, ``job_start``, ``job_waited``, ``tools``, ``tool_wait``,
    ``tool_pipeline``, ``work_plan``, ``tool_plan``, ``request_usd_bn``, ``hit``), today's
    flows ``[E, P]`` (``n_done``, ``restore_days`` and ``strikes_today`` ``[E]``) and the
    totals they add to."""
    return StrikesState(
        **stocks, strikes_today=strikes_today, lost_today=lost.sum(axis=1),
        restored_today=restored.sum(axis=1), lost_total=s.lost_total + lost.sum(axis=1),
        restored_total=s.restored_total + restored.sum(axis=1),
        strikes_total=s.strikes_total + strikes_today,
        tools_ordered_total=s.tools_ordered_total + ordered,
        tools_arrived_total=s.tools_arrived_total + arrived,
        tools_usable_total=s.tools_usable_total + usable,
        tools_destroyed_total=s.tools_destroyed_total + tools_lost,
        restores_total=s.restores_total + n_done,
        restore_days_total=s.restore_days_total + restore_days,
    )


def hit_events(hit: np.ndarray, lost: np.ndarray, tools_lost: np.ndarray,
               cap_before: np.ndarray, tools_before: np.ndarray) -> list[EventBatch]:
    """One "strike" event per plant hit today ``[E, P]``."""
    m, pl = np.nonzero(hit)
    if len(m) == 0:
        return []
    share = np.where(cap_before[m, pl] > 0, lost[m, pl] / np.maximum(cap_before[m, pl], 1e-12),
                     0.0)
    tshare = np.where(tools_before[m, pl] > 0,
                      tools_lost[m, pl] / np.maximum(tools_before[m, pl], 1e-12), 0.0)
    return [EventBatch("strike", m, level=pl, value=share, value2=tshare,
                       label=np.array(PLANTS, dtype=object)[pl])]


def done_events(done: np.ndarray, days: np.ndarray, waited: np.ndarray) -> list[EventBatch]:
    """One "repair_done" event per plant back today ``[E, P]``."""
    m, pl = np.nonzero(done)
    if len(m) == 0:
        return []
    return [EventBatch("repair_done", m, level=pl, value=days[m, pl], value2=waited[m, pl],
                       label=np.array(PLANTS, dtype=object)[pl])]


def indicators() -> list[dict]:
    """Daily indicators of M7."""
    return [
        dict(name="plant_capacity", unit="share", description="standing capacity per plant",
             fn=lambda s: s.capacity, extra_dim="plant", coords=list(PLANTS)),
        dict(name="machine_tools", unit="share of pre-war stock", description="imported "
             "machine tools per plant", fn=lambda s: s.tools, extra_dim="plant",
             coords=list(PLANTS)),
        dict(name="capacity_mean", unit="share", description="mean standing capacity of the "
             "plants (availability)", fn=lambda s: s.capacity.mean(axis=1), headline=True),
        dict(name="machine_tools_mean", unit="share of pre-war stock", description="mean "
             "imported machine tool stock", fn=lambda s: s.tools.mean(axis=1), headline=True),
        dict(name="strikes_inside", unit="count", description="hits inside the borders today",
             fn=lambda s: s.strikes_today, summary="mean"),
        dict(name="strikes_total", unit="count", description="hits inside the borders so far",
             fn=lambda s: s.strikes_total, headline=True),
        dict(name="repair_backlog", unit="plant-shares", description="capacity out awaiting "
             "repair", fn=lambda s: s.backlog.sum(axis=1), headline=True),
        dict(name="awaiting_signoff", unit="plants", description="repair jobs waiting for a "
             "sign-off", fn=lambda s: ((s.backlog > 0) & ~(s.wait <= 0)).sum(axis=1)
             .astype(float)),
        dict(name="capacity_lost_total", unit="plant-shares", description="capacity destroyed "
             "so far (damage)", fn=lambda s: s.lost_total),
        dict(name="capacity_restored_total", unit="plant-shares", description="capacity "
             "rebuilt so far (repair)", fn=lambda s: s.restored_total),
        dict(name="repair_race", unit="ratio", description="capacity rebuilt over capacity "
             "destroyed so far (below 1: the repairs are losing)",
             fn=lambda s: np.where(s.lost_total > 1e-12, s.restored_total
                                   / np.maximum(s.lost_total, 1e-12), np.nan), headline=True),
        dict(name="time_to_restore_days", unit="days", description="mean days from a hit to "
             "the plant's return, over the jobs done so far",
             fn=lambda s: np.where(s.restores_total > 0, s.restore_days_total
                                   / np.maximum(s.restores_total, 1), np.nan)),
        dict(name="repair_request_usd_bn", unit="USD bn/day", description="money asked for "
             "repairs and tools", fn=lambda s: s.request_usd_bn, summary="mean"),
    ]

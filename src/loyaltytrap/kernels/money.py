"""Compiled M5 treasury (twins of :func:`loyaltytrap.mechanisms.money.spend` and
:func:`loyaltytrap.mechanisms.money.allocate`)."""

from __future__ import annotations

import numba
import numpy as np

from ..events import EventBatch
from ..mechanisms import money
from ..mechanisms.money import MoneyParams, MoneyState
from ..params import member_array, packed, per_member

_MILESTONES = np.array(money.MILESTONES)


@numba.njit(cache=True)
def _spend(reserves0, initial, gdp, burn_ema0, ra0, count_total0, refused_total0,
           granted_total0, unaffordable_total0, arrears_total0, diverted_total0,
           war_intensity, spend_requests, diverted, u, civil, war, draw, erosion, midpoint,
           width, refusal_max, fix, floor, smoothing, milestones,
           day):  # pragma: no cover - compiled
    # plain ``spend`` member by member, in its order of operations; np.maximum/np.minimum
    # rather than max/min so that NaNs propagate as in NumPy
    E = reserves0.shape[0]
    L = milestones.shape[0]
    # the new state's fields but initial_reserves and gdp, in MoneyState's order, then the
    # count of refused fixes today
    out = np.empty((18, E))
    # the members with each kind of event (money.event_members): row i lists counts[i]
    members = np.empty((L + 3, E), dtype=np.int64)
    counts = np.zeros(L + 3, dtype=np.int64)
    flag = np.empty(L + 3, dtype=np.bool_)
    years = day / 365.0
    for e in range(E):
        req = np.maximum(spend_requests[e], 0.0)
        r0 = (gdp[e] * (civil[e] + war[e]) - draw[e]) / 365.0
        revenue = np.maximum(r0, 0.0) * (1.0 - erosion[e]) ** years
        div = np.minimum(np.maximum(diverted[e], 0.0), revenue)
        cash = reserves0[e] + revenue - div
        planned = gdp[e] * (civil[e] + war[e] * war_intensity[e])
        planned = np.maximum(planned / 365.0, 0.0)
        paid = np.minimum(planned, np.maximum(cash, 0.0))
        arrears = planned - paid

        ra = ra0[e]
        refused = req * np.minimum(np.maximum(refusal_max[e] * ra, 0.0), 1.0)
        approved = req - refused
        available = np.maximum(cash - paid - floor[e], 0.0)
        granted = np.minimum(approved, available)
        unaffordable = approved - granted
        spending = paid + granted
        reserves = reserves0[e] + revenue - spending - div

        burn = spending + div - revenue
        burn_ema = burn_ema0[e] + (burn - burn_ema0[e]) / smoothing[e]
        monthly = burn_ema * money.DAYS_PER_MONTH
        if monthly > 1e-12:
            runway = np.maximum(reserves, 0.0) / np.maximum(monthly, 1e-12)
        else:
            runway = money.RUNWAY_CAP_MONTHS
        runway = np.minimum(runway, money.RUNWAY_CAP_MONTHS)
        z = (reserves / gdp[e] - midpoint[e]) / width[e]
        risk = 1.0 / (1.0 + np.exp(np.minimum(np.maximum(z, -50.0), 50.0)))
        n_refused = np.floor(refused / fix[e] + np.float64(u[e, 0]))

        out[0, e] = reserves
        out[1, e] = revenue
        out[2, e] = spending
        out[3, e] = div
        out[4, e] = granted
        out[5, e] = refused
        out[6, e] = unaffordable
        out[7, e] = arrears
        out[8, e] = burn_ema
        out[9, e] = runway
        out[10, e] = risk
        out[11, e] = count_total0[e] + n_refused
        out[12, e] = refused_total0[e] + refused
        out[13, e] = granted_total0[e] + granted
        out[14, e] = unaffordable_total0[e] + unaffordable
        out[15, e] = arrears_total0[e] + arrears
        out[16, e] = diverted_total0[e] + div
        out[17, e] = n_refused

        flag[0] = n_refused >= 1
        flag[1] = unaffordable > 1e-9
        for i in range(L):
            line = milestones[i] * initial[e]
            flag[2 + i] = reserves0[e] >= line and reserves < line
        flag[L + 2] = reserves0[e] > 1e-9 and reserves <= 1e-9
        for i in range(L + 3):
            if flag[i]:
                members[i, counts[i]] = e
                counts[i] += 1
    return out, members, counts, counts.sum()


def spend(
    s: MoneyState,
    p: MoneyParams,
    day: int,
    war_intensity: np.ndarray,
    spend_requests: np.ndarray,
    diverted: np.ndarray,
    u: np.ndarray,
) -> tuple[MoneyState, list[EventBatch]]:
    """Compiled :func:`loyaltytrap.mechanisms.money.spend`."""
    if not p.enabled:
        return money.spend(s, p, day, war_intensity, spend_requests, diverted, u)
    E = s.reserves.shape[0]
    pmv = packed(p, f"money:{E}", lambda: tuple(per_member(getattr(p, n), E) for n in (
        "civil_spending_gdp_share", "war_spending_gdp_share",
        "baseline_reserve_draw_usd_bn_per_year", "revenue_erosion_per_year",
        "risk_midpoint_gdp_share", "risk_width_gdp_share", "refusal_max",
        "expensive_fix_usd_bn", "reserve_floor_usd_bn", "burn_smoothing_days")))
    out, members, counts, n_events = _spend(
        s.reserves, s.initial_reserves, s.gdp, s.burn_ema, s.risk_aversion,
        s.refused_count_total, s.refused_total, s.granted_total, s.unaffordable_total,
        s.arrears_total, s.diverted_total, member_array(war_intensity, E),
        member_array(spend_requests, E), member_array(diverted, E), u, *pmv, _MILESTONES,
        int(day))
    # the new fields are rows of one block (views: one allocation and boxing, not 18)
    (reserves, revenue, spending, div, granted, refused, unaffordable, arrears, burn_ema,
     runway, risk, count_total, refused_total, granted_total, unaffordable_total,
     arrears_total, diverted_total, n_refused) = out
    events = money.day_events(
        [members[i, :n] for i, n in enumerate(counts.tolist())], reserves, runway, refused,
        n_refused, s.risk_aversion, unaffordable, arrears) if n_events else []
    return MoneyState(
        reserves=reserves, initial_reserves=s.initial_reserves, gdp=s.gdp, revenue=revenue,
        spending=spending, diverted=div, granted=granted, refused=refused,
        unaffordable=unaffordable, arrears=arrears, burn_ema=burn_ema, runway_months=runway,
        risk_aversion=risk, refused_count_total=count_total, refused_total=refused_total,
        granted_total=granted_total, unaffordable_total=unaffordable_total,
        arrears_total=arrears_total, diverted_total=diverted_total,
    ), events


@numba.njit(cache=True)
def _allocate(granted, requests):  # pragma: no cover - compiled
    # plain ``allocate``: NumPy sums a row of a C-ordered [E, k] array left to right
    E, k = requests.shape
    out = np.empty((E, k))
    for e in range(E):
        tot = 0.0
        for j in range(k):
            tot += requests[e, j]
        for j in range(k):
            share = requests[e, j] / np.maximum(tot, 1e-15) if tot > 1e-15 else 0.0
            out[e, j] = granted[e] * share
    return out


def allocate(granted: np.ndarray, requests: np.ndarray) -> np.ndarray:
    """Compiled :func:`loyaltytrap.mechanisms.money.allocate`."""
    return _allocate(granted, requests)

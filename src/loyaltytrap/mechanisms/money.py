"""M5 money: liquid reserves, the burn of the war, and risk aversion.

The state holds one stock, the liquid reserves ``R`` (USD bn), which changes only through
three daily flows (all USD bn per day):

    R[t+1] = R[t] + revenue[t] - spending[t] - diverted[t]

GDP is implied by the source's two figures (liquid fund about $52-55 bn, 1.9% of GDP):

    gdp = reserves_usd_bn / reserves_gdp_share                       (USD bn per year)

Revenue is calibrated so that the baseline budget (war at ``war_intensity`` 1, no repairs
asked) draws ``baseline_reserve_draw_usd_bn_per_year`` from the reserves, then erodes with
sanctions and stagnation:

    revenue0 = (gdp * (civil_spending_gdp_share + war_spending_gdp_share)
                - baseline_reserve_draw_usd_bn_per_year) / 365
    revenue[t] = revenue0 * (1 - revenue_erosion_per_year) ** (t / 365)
    diverted[t] = clip(diverted_input, 0, revenue[t])      (hoarded by elites, M9)
    planned[t] = gdp * (civil_spending_gdp_share + war_spending_gdp_share * war_intensity) / 365
    paid[t] = min(planned, R + revenue - diverted)           (the rest becomes arrears)

Requests for repairs, parts and fixes (``spend_requests``, USD bn today) face two gates. Risk
aversion refuses a share of them outright, nobody signing off an expensive fix that might fail
(source: the state cannot afford a single expensive mistake):

    risk_aversion = 1 / (1 + exp((R / gdp - risk_midpoint_gdp_share) / risk_width_gdp_share))
    refused = spend_requests * refusal_max * risk_aversion

and what is approved is granted only if the reserves can pay it above a protected floor:

    granted = min(spend_requests - refused, max(R + revenue - diverted - paid
                                                 - reserve_floor_usd_bn, 0))
    spending = paid + granted

Runway is the reserves over a smoothed net burn (exponential average over
``burn_smoothing_days``):

    runway_months = R / (30.44 * burn_ema),   capped at RUNWAY_CAP_MONTHS when burn <= 0

Formal reduction: with constant flows the reserves fall linearly and the runway equals the
reserves over the burn (stock-flow accounting); risk aversion is a logistic function of the
reserves' share of GDP, 0.5 at ``risk_midpoint_gdp_share``.

Disabled (``enabled = false``): money is no constraint. Every request is granted, risk
aversion is 0, no flow touches the reserves (they stay at their starting level), the runway is
``RUNWAY_CAP_MONTHS`` and no event is emitted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..events import EventBatch, register_templates
from ..params import Common, param, per_member, state_record

UNIFORMS_PER_DAY = 1  # stochastic rounding of the count of refused fixes
DAYS_PER_MONTH = 365.25 / 12
RUNWAY_CAP_MONTHS = 1200.0  # a century: "no burn" reads as an effectively endless runway
# reporting milestones for the event log (shares of the starting reserves)
MILESTONES = (0.5, 0.25, 0.1)
MILESTONE_LABELS = ("half", "a quarter", "a tenth")

register_templates({
    "fixes_refused": ("M5", "{value:.0f} expensive fixes worth USD {value2:.2f} bn refused: "
                            "nobody signs off a costly fix that might fail ({label})"),
    "fixes_unaffordable": ("M5", "USD {value:.2f} bn of approved repairs and parts not paid: "
                                 "the reserves (USD {value2:.1f} bn) cannot cover them"),
    "reserves_low": ("M5", "the liquid reserves fell below {label} of their starting level: "
                           "USD {value:.1f} bn left, {value2:.1f} months of runway"),
    "reserves_exhausted": ("M5", "the liquid reserves are spent; USD {value:.2f} bn of the "
                                 "budget went unpaid today (arrears)"),
})


@dataclass(frozen=True, kw_only=True)
class MoneyParams(Common):
    """Parameters of M5."""

    reserves_usd_bn: np.ndarray = param("USD bn", 0, 2000,
                                        doc="liquid reserves of the national wealth fund at "
                                            "the start")
    reserves_gdp_share: np.ndarray = param("share of annual GDP", 0.001, 0.5,
                                           doc="the reserves as a share of GDP (implies GDP)")
    war_spending_gdp_share: np.ndarray = param("share of annual GDP", 0, 0.5,
                                               doc="war spending at baseline intensity")
    civil_spending_gdp_share: np.ndarray = param("share of annual GDP", 0, 0.6,
                                                 doc="the rest of the state budget")
    baseline_reserve_draw_usd_bn_per_year: np.ndarray = param(
        "USD bn per year", -500, 500,
        doc="deficit paid from the reserves at baseline (negative: a surplus)")
    revenue_erosion_per_year: np.ndarray = param("share per year", 0, 0.5,
                                                 doc="yearly fall of revenue (sanctions, "
                                                     "stagnation)")
    risk_midpoint_gdp_share: np.ndarray = param("share of annual GDP", 0, 0.2,
                                                doc="reserves/GDP at which risk aversion is 0.5")
    risk_width_gdp_share: np.ndarray = param("share of annual GDP", 1e-5, 0.1,
                                             doc="how gradually risk aversion rises as the "
                                                 "reserves fall")
    refusal_max: np.ndarray = param("share (0-1)", 0, 1,
                                    doc="share of requested fixes refused at risk aversion 1")
    expensive_fix_usd_bn: np.ndarray = param("USD bn", 1e-6, 100,
                                             doc="size of one expensive fix (counts refusals)")
    reserve_floor_usd_bn: np.ndarray = param("USD bn", 0, 2000,
                                             doc="reserves kept back from discretionary "
                                                 "spending")
    burn_smoothing_days: np.ndarray = param("days", 1, 365,
                                            doc="averaging time of the burn in the runway")


@state_record
@dataclass(frozen=True)
class MoneyState:
    """The treasury.

    reserves: float64 ``[E]`` liquid reserves, USD bn
    initial_reserves: float64 ``[E]`` reserves on day 0, USD bn
    gdp: float64 ``[E]`` implied GDP, USD bn per year (constant)
    revenue: float64 ``[E]`` revenue today (before diversion), USD bn/day
    spending: float64 ``[E]`` spending paid today (budget paid + granted), USD bn/day
    diverted: float64 ``[E]`` revenue hoarded by elites today, USD bn/day
    granted: float64 ``[E]`` requested repairs/parts/fixes granted today, USD bn/day
    refused: float64 ``[E]`` requests refused today out of risk aversion, USD bn/day
    unaffordable: float64 ``[E]`` approved requests the reserves could not pay today, USD bn/day
    arrears: float64 ``[E]`` budget spending that went unpaid today, USD bn/day
    burn_ema: float64 ``[E]`` smoothed net burn (spending + diverted - revenue), USD bn/day
    runway_months: float64 ``[E]`` reserves / monthly burn, months (capped)
    risk_aversion: float64 ``[E]`` share (0-1)
    refused_count_total: float64 ``[E]`` expensive fixes refused so far, count
    refused_total, granted_total, unaffordable_total, arrears_total, diverted_total: float64
        ``[E]`` cumulative, USD bn
    """

    reserves: np.ndarray
    initial_reserves: np.ndarray
    gdp: np.ndarray
    revenue: np.ndarray
    spending: np.ndarray
    diverted: np.ndarray
    granted: np.ndarray
    refused: np.ndarray
    unaffordable: np.ndarray
    arrears: np.ndarray
    burn_ema: np.ndarray
    runway_months: np.ndarray
    risk_aversion: np.ndarray
    refused_count_total: np.ndarray
    refused_total: np.ndarray
    granted_total: np.ndarray
    unaffordable_total: np.ndarray
    arrears_total: np.ndarray
    diverted_total: np.ndarray



def implied_gdp(p: MoneyParams, E: int) -> np.ndarray:
    """GDP implied by the reserves and their share of GDP, USD bn per year ``[E]``."""
    return per_member(p.reserves_usd_bn, E) / per_member(p.reserves_gdp_share, E)


def baseline_revenue(p: MoneyParams, gdp: np.ndarray, day: int) -> np.ndarray:
    """Revenue on ``day`` before any diversion, USD bn/day ``[E]``."""
    r0 = (gdp * (p.civil_spending_gdp_share + p.war_spending_gdp_share)
          - p.baseline_reserve_draw_usd_bn_per_year) / 365.0
    return np.maximum(r0, 0.0) * (1.0 - p.revenue_erosion_per_year) ** (day / 365.0)


def risk_aversion_of(p: MoneyParams, reserves: np.ndarray, gdp: np.ndarray) -> np.ndarray:
    """Risk aversion (0-1) from the reserves' share of GDP (logistic), ``[E]``."""
    z = (reserves / gdp - p.risk_midpoint_gdp_share) / p.risk_width_gdp_share
    return 1.0 / (1.0 + np.exp(np.clip(z, -50.0, 50.0)))


def runway_months_of(reserves: np.ndarray, burn_per_day: np.ndarray) -> np.ndarray:
    """Months the reserves last at a daily net burn, capped at RUNWAY_CAP_MONTHS, ``[E]``."""
    monthly = burn_per_day * DAYS_PER_MONTH
    months = np.where(monthly > 1e-12, np.maximum(reserves, 0.0) / np.maximum(monthly, 1e-12),
                      RUNWAY_CAP_MONTHS)
    return np.minimum(months, RUNWAY_CAP_MONTHS)


def init_money(p: MoneyParams, E: int) -> MoneyState:
    """Day 0: the reserves and GDP of the scenario, the baseline burn."""
    reserves = per_member(p.reserves_usd_bn, E)
    gdp = implied_gdp(p, E)
    z = np.zeros(E)
    if p.enabled:
        burn = per_member(p.baseline_reserve_draw_usd_bn_per_year, E) / 365.0
        ra = risk_aversion_of(p, reserves, gdp)
    else:
        burn, ra = z.copy(), z.copy()
    return MoneyState(
        reserves=reserves, initial_reserves=reserves.copy(), gdp=gdp, revenue=z.copy(),
        spending=z.copy(), diverted=z.copy(), granted=z.copy(), refused=z.copy(),
        unaffordable=z.copy(), arrears=z.copy(), burn_ema=burn,
        runway_months=runway_months_of(reserves, burn), risk_aversion=ra,
        refused_count_total=z.copy(), refused_total=z.copy(), granted_total=z.copy(),
        unaffordable_total=z.copy(), arrears_total=z.copy(), diverted_total=z.copy(),
    )


def allocate(granted: np.ndarray, requests: np.ndarray) -> np.ndarray:
    """Share a grant ``[E]`` over requesters ``[E, k]`` in proportion to what each asked."""
    tot = requests.sum(axis=1, keepdims=True)
    share = np.where(tot > 1e-15, requests / np.maximum(tot, 1e-15), 0.0)
    return granted[:, None] * share


def spend(
    s: MoneyState,
    p: MoneyParams,
    day: int,
    war_intensity: np.ndarray,
    spend_requests: np.ndarray,
    diverted: np.ndarray,
    u: np.ndarray,
) -> tuple[MoneyState, list[EventBatch]]:
    """One day of the treasury: revenue comes in, the elites divert part of it, the budget is
    paid, requests are refused or granted, the reserves take the difference.

    ``war_intensity`` ``[E]`` multiplies war spending (1 = baseline); ``spend_requests`` ``[E]``
    USD bn asked today for repairs, parts and fixes; ``diverted`` ``[E]`` USD bn/day the elites
    try to hoard; ``u`` uniforms ``[E, UNIFORMS_PER_DAY]``. Disabled: everything asked is
    granted, risk aversion 0, reserves unchanged (see the module docstring).
    """
    E = s.reserves.shape[0]
    req = np.maximum(np.asarray(spend_requests, dtype=np.float64), 0.0)
    z = np.zeros(E)
    if not p.enabled:
        return MoneyState(
            reserves=s.reserves.copy(), initial_reserves=s.initial_reserves, gdp=s.gdp,
            revenue=z.copy(), spending=req.copy(), diverted=z.copy(), granted=req.copy(),
            refused=z.copy(), unaffordable=z.copy(), arrears=z.copy(), burn_ema=z.copy(),
            runway_months=np.full(E, RUNWAY_CAP_MONTHS), risk_aversion=z.copy(),
            refused_count_total=s.refused_count_total, refused_total=s.refused_total,
            granted_total=s.granted_total + req, unaffordable_total=s.unaffordable_total,
            arrears_total=s.arrears_total, diverted_total=s.diverted_total,
        ), []

    revenue = baseline_revenue(p, s.gdp, day)
    div = np.clip(np.asarray(diverted, dtype=np.float64), 0.0, revenue)
    cash = s.reserves + revenue - div
    planned = s.gdp * (p.civil_spending_gdp_share + p.war_spending_gdp_share * war_intensity)
    planned = np.maximum(planned / 365.0, 0.0)
    paid = np.minimum(planned, np.maximum(cash, 0.0))
    arrears = planned - paid

    ra = s.risk_aversion
    refused = req * np.clip(p.refusal_max * ra, 0.0, 1.0)
    approved = req - refused
    available = np.maximum(cash - paid - p.reserve_floor_usd_bn, 0.0)
    granted = np.minimum(approved, available)
    unaffordable = approved - granted
    spending = paid + granted
    reserves = s.reserves + revenue - spending - div  # the stock moves only by its flows

    burn = spending + div - revenue
    burn_ema = s.burn_ema + (burn - s.burn_ema) / p.burn_smoothing_days
    runway = runway_months_of(reserves, burn_ema)
    risk = risk_aversion_of(p, reserves, s.gdp)
    n_refused = np.floor(refused / p.expensive_fix_usd_bn + u[:, 0])

    events = day_events(event_members(s, reserves, unaffordable, n_refused), reserves, runway,
                        refused, n_refused, ra, unaffordable, arrears)
    return MoneyState(
        reserves=reserves, initial_reserves=s.initial_reserves, gdp=s.gdp, revenue=revenue,
        spending=spending, diverted=div, granted=granted, refused=refused,
        unaffordable=unaffordable, arrears=arrears, burn_ema=burn_ema, runway_months=runway,
        risk_aversion=risk, refused_count_total=s.refused_count_total + n_refused,
        refused_total=s.refused_total + refused, granted_total=s.granted_total + granted,
        unaffordable_total=s.unaffordable_total + unaffordable,
        arrears_total=s.arrears_total + arrears, diverted_total=s.diverted_total + div,
    ), events


def event_members(
    s: MoneyState, reserves: np.ndarray, unaffordable: np.ndarray, n_refused: np.ndarray
) -> list[np.ndarray]:
    """The members with each kind of event today, in the order :func:`day_events` reads them:
    fixes refused, fixes unaffordable, each of MILESTONES crossed, the reserves exhausted."""
    masks = [
        n_refused >= 1,
        unaffordable > 1e-9,
        *((s.reserves >= line) & (reserves < line)
          for line in (share * s.initial_reserves for share in MILESTONES)),
        (s.reserves > 1e-9) & (reserves <= 1e-9),
    ]
    return [np.flatnonzero(m) for m in masks]


def day_events(
    members: Sequence[np.ndarray], reserves: np.ndarray, runway: np.ndarray,
    refused: np.ndarray, n_refused: np.ndarray, ra: np.ndarray, unaffordable: np.ndarray,
    arrears: np.ndarray,
) -> list[EventBatch]:
    """The day's events, for the members of :func:`event_members` (``ra``: the risk aversion
    that refused)."""
    refused_m, unaffordable_m, *low_m, exhausted_m = members
    out: list[EventBatch] = []
    if len(m := refused_m):
        label = np.array([f"risk aversion {r:.2f}" for r in ra[m].tolist()], dtype=object)
        out.append(EventBatch("fixes_refused", m, value=n_refused[m], value2=refused[m],
                              label=label))
    if len(m := unaffordable_m):
        out.append(EventBatch("fixes_unaffordable", m, value=unaffordable[m],
                              value2=reserves[m]))
    for m, lab in zip(low_m, MILESTONE_LABELS, strict=True):
        if len(m):
            out.append(EventBatch("reserves_low", m, value=reserves[m], value2=runway[m],
                                  label=np.full(len(m), lab, dtype=object)))
    if len(m := exhausted_m):
        out.append(EventBatch("reserves_exhausted", m, value=arrears[m]))
    return out


def indicators() -> list[dict]:
    """Daily indicators of M5."""
    return [
        dict(name="reserves_usd_bn", unit="USD bn", description="liquid reserves",
             fn=lambda s: s.reserves, headline=True),
        dict(name="runway_months", unit="months", description="months the reserves last at "
             "the smoothed net burn (capped at 1200)", fn=lambda s: s.runway_months,
             headline=True),
        dict(name="risk_aversion", unit="share (0-1)", description="how strongly scarce money "
             "makes officials refuse and pass up costly decisions", fn=lambda s: s.risk_aversion,
             headline=True),
        dict(name="gdp_usd_bn", unit="USD bn per year", description="GDP implied by the "
             "reserves and their share of GDP", fn=lambda s: s.gdp),
        dict(name="revenue_usd_bn", unit="USD bn/day", description="state revenue today "
             "(before diversion)", fn=lambda s: s.revenue, summary="mean"),
        dict(name="spending_usd_bn", unit="USD bn/day", description="spending paid today "
             "(budget and granted requests)", fn=lambda s: s.spending, summary="mean"),
        dict(name="diverted_usd_bn", unit="USD bn/day", description="revenue hoarded by "
             "elites today", fn=lambda s: s.diverted, summary="mean"),
        dict(name="granted_usd_bn", unit="USD bn/day", description="repairs, parts and fixes "
             "granted today", fn=lambda s: s.granted, summary="mean"),
        dict(name="net_burn_usd_bn", unit="USD bn/day", description="smoothed net burn of the "
             "reserves", fn=lambda s: s.burn_ema, summary="mean"),
        dict(name="fixes_refused_total", unit="count", description="expensive fixes refused "
             "out of risk aversion so far", fn=lambda s: s.refused_count_total, headline=True),
        dict(name="refused_total_usd_bn", unit="USD bn", description="requests refused out of "
             "risk aversion so far", fn=lambda s: s.refused_total),
        dict(name="unaffordable_total_usd_bn", unit="USD bn", description="approved requests "
             "the reserves could not pay so far", fn=lambda s: s.unaffordable_total),
        dict(name="arrears_total_usd_bn", unit="USD bn", description="budget spending left "
             "unpaid once the reserves were spent", fn=lambda s: s.arrears_total),
    ]

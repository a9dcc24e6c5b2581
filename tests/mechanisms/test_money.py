"""M5 money: stock-flow identity, affordability, refusals, risk aversion, the disabled case."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from fragment_check import check_fragment

from loyaltytrap.mechanisms.money import (
    DAYS_PER_MONTH,
    RUNWAY_CAP_MONTHS,
    UNIFORMS_PER_DAY,
    MoneyParams,
    allocate,
    init_money,
    spend,
)
from loyaltytrap.params import replace

E = 5


def params(**kw: float | bool) -> MoneyParams:
    base = dict(
        reserves_usd_bn=np.linspace(52.0, 55.0, E), reserves_gdp_share=np.full(E, 0.019),
        war_spending_gdp_share=np.full(E, 0.063), civil_spending_gdp_share=np.full(E, 0.13),
        baseline_reserve_draw_usd_bn_per_year=np.full(E, 17.0),
        revenue_erosion_per_year=np.full(E, 0.03), risk_midpoint_gdp_share=np.full(E, 0.021),
        risk_width_gdp_share=np.full(E, 0.004), refusal_max=np.full(E, 0.5),
        expensive_fix_usd_bn=np.full(E, 0.05), reserve_floor_usd_bn=np.full(E, 5.0),
        burn_smoothing_days=np.full(E, 30.0),
    )
    base.update({k: (np.full(E, v) if not isinstance(v, bool) else v) for k, v in kw.items()})
    return MoneyParams(enabled=base.pop("enabled", True), **base)


def ro(*arrays: np.ndarray) -> None:
    for a in arrays:
        a.flags.writeable = False


def run(p: MoneyParams, days: int, intensity: float, req: float, div: float, seed: int = 0):
    rng = np.random.default_rng(seed)
    s = init_money(p, E)
    hist = [s]
    for t in range(days):
        u = rng.random((E, UNIFORMS_PER_DAY)).astype(np.float32)
        s, _ = spend(s, p, t, np.full(E, intensity), np.full(E, req), np.full(E, div), u)
        hist.append(s)
    return hist


def test_gdp_is_implied_by_the_share() -> None:
    p = params()
    s = init_money(p, E)
    np.testing.assert_allclose(s.gdp, p.reserves_usd_bn / 0.019)
    assert s.gdp.min() > 2700 and s.gdp.max() < 2900


def test_reserves_move_only_through_their_flows() -> None:
    p = params()
    hist = run(p, 400, 1.3, 0.2, 0.05)
    for a, b in itertools.pairwise(hist):
        np.testing.assert_array_equal(b.reserves, a.reserves + b.revenue - b.spending - b.diverted)
    assert all((h.reserves >= -1e-9).all() for h in hist)


def test_baseline_draw_sets_the_burn_and_the_runway() -> None:
    p = params(revenue_erosion_per_year=0.0, refusal_max=0.0)
    hist = run(p, 365, 1.0, 0.0, 0.0)
    np.testing.assert_allclose(hist[0].reserves - hist[-1].reserves, 17.0, rtol=1e-9)
    # steady burn: runway = reserves / monthly burn
    np.testing.assert_allclose(hist[-1].runway_months,
                               hist[-1].reserves / (17.0 / 365 * DAYS_PER_MONTH), rtol=1e-9)


def test_inputs_are_not_modified() -> None:
    p = params()
    s = init_money(p, E)
    arrays = [s.reserves, s.risk_aversion, s.burn_ema]
    wi, rq, dv = np.ones(E), np.full(E, 0.3), np.full(E, 0.1)
    u = np.full((E, 1), 0.5, np.float32)
    ro(*arrays, wi, rq, dv, u)
    spend(s, p, 0, wi, rq, dv, u)


def test_grants_only_what_is_affordable_and_refuses_by_risk_aversion() -> None:
    p = params(reserves_usd_bn=6.0, reserve_floor_usd_bn=5.0, refusal_max=0.5)
    s = init_money(p, E)
    s2, ev = spend(s, p, 0, np.ones(E), np.full(E, 10.0), np.zeros(E),
                   np.full((E, 1), 0.5, np.float32))
    np.testing.assert_allclose(s2.refused, 10.0 * 0.5 * s.risk_aversion)
    assert (s2.granted <= s.reserves + s2.revenue - (s2.spending - s2.granted) - 5.0 + 1e-9).all()
    np.testing.assert_allclose(s2.granted + s2.unaffordable + s2.refused, 10.0)
    assert (s2.unaffordable > 0).all()
    kinds = {b.event for b in ev}
    assert {"fixes_refused", "fixes_unaffordable"} <= kinds


def test_risk_aversion_rises_as_reserves_fall() -> None:
    p = params(baseline_reserve_draw_usd_bn_per_year=40.0)
    hist = run(p, 700, 1.2, 0.05, 0.02)
    r = np.array([h.reserves for h in hist])
    ra = np.array([h.risk_aversion for h in hist])
    assert (np.diff(r, axis=0) <= 1e-12).all()
    assert (np.diff(ra, axis=0) >= -1e-12).all()
    assert ((ra >= 0) & (ra <= 1)).all()
    assert ra[-1].min() > ra[0].max()


def test_exhausted_reserves_leave_arrears_and_grant_nothing() -> None:
    p = params(reserves_usd_bn=1.0, baseline_reserve_draw_usd_bn_per_year=100.0,
               reserve_floor_usd_bn=0.0)
    hist = run(p, 30, 1.0, 0.5, 0.0)
    last = hist[-1]
    assert (last.reserves < 1e-9).all() and (last.arrears > 0).all()
    np.testing.assert_allclose(last.granted, 0.0, atol=1e-12)
    assert (last.runway_months < 1).all()


def test_diversion_is_capped_by_revenue() -> None:
    p = params()
    s = init_money(p, E)
    s2, _ = spend(s, p, 0, np.ones(E), np.zeros(E), np.full(E, 1e6),
                  np.full((E, 1), 0.5, np.float32))
    np.testing.assert_allclose(s2.diverted, s2.revenue)


def test_disabled_is_no_constraint() -> None:
    p = replace(params(), enabled=False)
    s = init_money(p, E)
    s2, ev = spend(s, p, 3, np.full(E, 2.0), np.full(E, 7.0), np.full(E, 1.0),
                   np.zeros((E, 1), np.float32))
    assert ev == []
    np.testing.assert_array_equal(s2.granted, 7.0)
    np.testing.assert_array_equal(s2.reserves, s.reserves)
    np.testing.assert_array_equal(s2.risk_aversion, 0.0)
    np.testing.assert_array_equal(s2.runway_months, RUNWAY_CAP_MONTHS)


def test_allocate_shares_in_proportion() -> None:
    g = allocate(np.array([3.0, 0.0, 1.0]), np.array([[1.0, 2.0], [1.0, 1.0], [0.0, 0.0]]))
    np.testing.assert_allclose(g, [[1.0, 2.0], [0.0, 0.0], [0.0, 0.0]])


@pytest.mark.parametrize("seed", [1, 2])
def test_deterministic_for_given_uniforms(seed: int) -> None:
    a = run(params(), 50, 1.1, 0.3, 0.01, seed)[-1]
    b = run(params(), 50, 1.1, 0.3, 0.01, seed)[-1]
    np.testing.assert_array_equal(a.reserves, b.reserves)
    np.testing.assert_array_equal(a.refused_count_total, b.refused_count_total)


def test_scenario_fragment_matches_the_parameters() -> None:
    check_fragment("money", MoneyParams)

"""M7 strikes and repairs: availability = MTBF / (MTBF + MTTR), tools only come back by import,
capacity in [0, 1], conservation of plants and tools, the disabled case."""

from __future__ import annotations

import numpy as np
from fragment_check import check_fragment

from loyaltytrap.mechanisms.industry import ENGINE_PLANT, N_PLANTS
from loyaltytrap.mechanisms.strikes import (
    UNIFORMS_PER_DAY,
    StrikesParams,
    availability,
    init_strikes,
    strike_and_repair,
)
from loyaltytrap.params import replace


def params(E: int, **kw: object) -> StrikesParams:
    base: dict[str, object] = dict(
        strikes_per_plant_per_year=np.full(E, 1.5), engine_plant_priority=np.full(E, 2.0),
        deep_plant_depth_km=np.full(E, 1400.0), typical_plant_depth_km=np.full(E, 800.0),
        strike_reach_km=np.full(E, 1700.0), other_strikes_per_day=np.full(E, 1.0),
        capacity_damage_per_strike=np.full(E, 0.3), tool_damage_per_strike=np.full(E, 0.2),
        initial_engine_damage=np.full(E, 0.3), repair_days_full=np.full(E, 200.0),
        repair_cost_usd_bn_full=np.full(E, 1.0), tool_import_share_per_day=np.full(E, 0.002),
        tool_cost_usd_bn_full=np.full(E, 2.0), tool_lead_time_days=30,
        tool_defect_rate=np.full(E, 0.4),
    )
    base.update({k: (np.full(E, v) if isinstance(v, float) else v) for k, v in kw.items()})
    return StrikesParams(enabled=bool(base.pop("enabled", True)), **base)  # type: ignore[arg-type]


def run(p: StrikesParams, E: int, days: int, delay: float, seed: int, grant_share: float = 1.0,
        circ: float = 1.0, check=None):
    rng = np.random.default_rng(seed)
    s = init_strikes(p, E)
    caps = []
    for t in range(days):
        u = rng.random((E, UNIFORMS_PER_DAY)).astype(np.float32)
        prev = s
        s, _ = strike_and_repair(s, p, t, np.full(E, delay), s.request_usd_bn * grant_share,
                                 np.full(E, circ), u)
        if check is not None:
            check(prev, s)
        caps.append(s.capacity)
    return s, np.array(caps)


def test_availability_is_mtbf_over_mtbf_plus_mttr() -> None:
    # constant hazard, a hit takes the whole plant down, fixed sign-off delay and repair time
    E, lam, R = 150, 1 / 40, 12.0
    for D in (0.0, 5.0):
        p = params(E, strikes_per_plant_per_year=365 * lam, engine_plant_priority=1.0,
                   capacity_damage_per_strike=1.0, initial_engine_damage=0.0,
                   repair_days_full=R, tool_damage_per_strike=0.0)
        _, caps = run(p, E, 3000, D, seed=7)
        measured = caps[200:].mean()
        q = np.exp(-lam)
        mtbf = q / (1 - q)  # mean up-days between hits, discrete days (about 1/lam - 1/2)
        expected = availability(mtbf, D + R)
        per_member = caps[200:].mean(axis=(0, 2))
        se = per_member.std(ddof=1) / np.sqrt(E)
        assert abs(measured - expected) < 4 * se + 1e-3, (D, measured, expected, se)
        assert set(np.unique(caps)) <= {0.0, 1.0}


def test_capacity_stays_in_unit_interval_and_plants_are_conserved() -> None:
    E = 20

    def check(a, b) -> None:
        assert (b.capacity >= -1e-12).all() and (b.capacity <= 1 + 1e-12).all()
        np.testing.assert_allclose(b.capacity + b.backlog, 1.0, atol=1e-12)
        np.testing.assert_allclose(b.lost_total - b.restored_total, b.backlog.sum(axis=1),
                                   atol=1e-9)

    run(params(E, strikes_per_plant_per_year=20.0), E, 800, 10.0, seed=1, grant_share=0.6,
        check=check)


def test_machine_tools_never_increase_except_by_import() -> None:
    E = 20

    def check(a, b) -> None:
        change = b.tools - a.tools
        usable = b.tools_usable_total - a.tools_usable_total
        destroyed = b.tools_destroyed_total - a.tools_destroyed_total
        np.testing.assert_allclose(change, usable - destroyed, atol=1e-12)
        assert (usable >= 0).all() and (destroyed >= 0).all()
        assert (b.tools <= 1 + 1e-9).all() and (b.tools >= 0).all()
        np.testing.assert_allclose(b.tools_ordered_total,
                                   b.tools_arrived_total + b.tool_pipeline.sum(axis=2),
                                   atol=1e-12)

    p = params(E, strikes_per_plant_per_year=10.0)
    s, _ = run(p, E, 600, 5.0, seed=2, check=check)
    assert (s.tools_usable_total > 0).any()
    # with no grey-market route, tools only fall
    p0 = params(E, strikes_per_plant_per_year=10.0, tool_import_share_per_day=0.0)
    s0, _ = run(p0, E, 600, 5.0, seed=2, check=check)
    np.testing.assert_array_equal(s0.tools_usable_total, 0.0)
    assert (s0.tools < 1).any()
    # and none without circumvention either
    s1, _ = run(p, E, 600, 5.0, seed=2, circ=0.0, check=check)
    np.testing.assert_array_equal(s1.tools_usable_total, 0.0)


def test_signoff_delay_and_money_slow_the_repairs() -> None:
    E = 30
    p = params(E, strikes_per_plant_per_year=6.0)
    fast, _ = run(p, E, 700, 0.0, seed=3)
    slow, _ = run(p, E, 700, 30.0, seed=3)
    poor, _ = run(p, E, 700, 0.0, seed=3, grant_share=0.3)
    assert slow.backlog.sum() > fast.backlog.sum()
    assert poor.backlog.sum() > fast.backlog.sum()
    assert slow.restored_total.sum() < fast.restored_total.sum()


def test_engine_plant_starts_burning_and_needs_a_signoff() -> None:
    E = 3
    p = params(E, strikes_per_plant_per_year=0.0, other_strikes_per_day=0.0,
               initial_engine_damage=0.3, repair_days_full=100.0)
    s = init_strikes(p, E)
    np.testing.assert_allclose(s.capacity[:, ENGINE_PLANT], 0.7)
    u = np.full((E, UNIFORMS_PER_DAY), 0.5, np.float32)
    days = 0
    while s.capacity[0, ENGINE_PLANT] < 1.0 and days < 200:
        s, ev = strike_and_repair(s, p, days, np.full(E, 10.0), s.request_usd_bn,
                                  np.ones(E), u)
        days += 1
    # 10 days of sign-off, then 30 funded work-days (0.3 of a plant at 100 days per plant)
    assert days == 10 + 30
    assert [b.event for b in ev] == ["repair_done"]


def test_reach_below_depth_spares_the_plant() -> None:
    E = 10
    p = params(E, strikes_per_plant_per_year=50.0, strike_reach_km=1000.0,
               initial_engine_damage=0.0)
    _, caps = run(p, E, 200, 0.0, seed=4)
    assert (caps[:, :, ENGINE_PLANT] == 1.0).all()
    assert (caps[:, :, [i for i in range(N_PLANTS) if i != ENGINE_PLANT]] < 1).any()


def test_strikes_inside_borders_count_plants_and_other_targets() -> None:
    E = 200
    p = params(E, strikes_per_plant_per_year=0.0, other_strikes_per_day=2.0)
    rng = np.random.default_rng(0)
    s = init_strikes(p, E)
    counts = []
    for t in range(50):
        u = rng.random((E, UNIFORMS_PER_DAY)).astype(np.float32)
        s, _ = strike_and_repair(s, p, t, np.zeros(E), s.request_usd_bn, np.ones(E), u)
        counts.append(s.strikes_today)
    assert abs(np.mean(counts) - 2.0) < 0.05


def test_inputs_are_not_modified() -> None:
    E = 4
    p = params(E)
    s = init_strikes(p, E)
    d, g, c = np.full(E, 3.0), np.ones(E), np.ones(E)
    u = np.zeros((E, UNIFORMS_PER_DAY), np.float32)  # every plant hit
    for a in (d, g, c, u, s.capacity, s.backlog, s.wait, s.work_left, s.tools, s.tool_wait,
              s.tool_pipeline, s.work_plan, s.tool_plan, s.request_usd_bn, s.job_start):
        a.flags.writeable = False
    s2, ev = strike_and_repair(s, p, 0, d, g, c, u)
    assert s2.hit.all() and any(b.event == "strike" for b in ev)


def test_disabled_means_no_strikes() -> None:
    E = 4
    p = replace(params(E), enabled=False)
    s = init_strikes(p, E)
    np.testing.assert_array_equal(s.capacity, 1.0)
    s2, ev = strike_and_repair(s, p, 0, np.zeros(E), np.zeros(E), np.ones(E),
                               np.zeros((E, UNIFORMS_PER_DAY), np.float32))
    assert ev == []
    np.testing.assert_array_equal(s2.capacity, 1.0)
    np.testing.assert_array_equal(s2.tools, 1.0)
    np.testing.assert_array_equal(s2.strikes_today, 0.0)
    np.testing.assert_array_equal(s2.request_usd_bn, 0.0)


def test_scenario_fragment_matches_the_parameters() -> None:
    check_fragment("strikes", StrikesParams)


def test_poisson_quantile_is_scipys() -> None:
    from scipy.stats import poisson

    from loyaltytrap.mechanisms.strikes import poisson_quantile

    rng = np.random.default_rng(7)
    q = rng.random(5000)
    mu = rng.choice([0.05, 0.3, 1.0, 4.0], 5000) * rng.random(5000)
    np.testing.assert_array_equal(poisson_quantile(q, mu), poisson.ppf(q, mu))
    # the edges scipy leaves at -1 or NaN are no strikes
    assert poisson_quantile(np.array([0.0, 0.5]), np.array([1.0, 0.0])).tolist() == [0.0, 0.0]

"""M6 industry: bill-of-materials minimum, series yield, pipeline conservation, calibration."""

from __future__ import annotations

import numpy as np
from fragment_check import check_fragment

from loyaltytrap.mechanisms.industry import (
    COMPONENT_NAMES,
    ENGINE_PLANT,
    IMPORTED,
    LINES,
    MISSILES,
    N_PLANTS,
    SHELLS,
    UNIFORMS_PER_DAY,
    IndustryParams,
    init_industry,
    leontief,
    produce,
    series_yield,
)
from loyaltytrap.params import replace

E = 4
HALF = np.full((E, UNIFORMS_PER_DAY), 0.5, np.float32)  # ndtri(0.5) = 0: expected values


def params(**kw: object) -> IndustryParams:
    base: dict[str, object] = dict(
        missile_rate_per_year=np.full(E, 700.0), shell_rate_per_day=np.full(E, 8000.0),
        drone_rate_per_day=np.full(E, 90.0), shell_need_per_day=np.full(E, 10000.0),
        component_headroom=np.full(E, 1.15), grey_defect_rate=np.full(E, 0.4),
        defect_slope=np.full(E, 0.3), guidance_parts_per_unit=np.full(E, 2.0),
        drone_parts_per_unit=np.full(E, 2.0), guidance_part_cost_usd_m=np.full(E, 0.25),
        drone_part_cost_usd_m=np.full(E, 0.01), parts_lead_time_days=20,
        parts_cover_days=np.full(E, 30.0), grey_market_capacity_factor=np.full(E, 1.3),
    )
    base.update(kw)
    return IndustryParams(enabled=bool(base.pop("enabled", True)), **base)  # type: ignore[arg-type]


def full() -> tuple[np.ndarray, np.ndarray]:
    return np.ones((E, N_PLANTS)), np.ones((E, N_PLANTS))


def step(s, p, day, cap=None, tools=None, circ=1.0, grant=None, u=HALF):
    c0, t0 = full()
    cap = c0 if cap is None else cap
    tools = t0 if tools is None else tools
    grant = s.request_usd_bn.sum(axis=1) if grant is None else grant
    return produce(s, p, day, cap, tools, np.full(E, circ), grant, u)


def test_undamaged_industry_makes_the_nominal_rates() -> None:
    p = params()
    s = init_industry(p, E)
    for t in range(100):
        s, _ = step(s, p, t)
    np.testing.assert_allclose(s.output[:, MISSILES] * 365, 700.0, rtol=1e-9)
    np.testing.assert_allclose(s.output[:, SHELLS], 8000.0, rtol=1e-9)
    assert (s.binding == -1).all()
    np.testing.assert_allclose(s.supply_ratio, 0.8)
    np.testing.assert_allclose(s.defect_rate, 0.4, rtol=1e-9)


def test_line_output_is_the_minimum_over_its_bill_of_materials() -> None:
    rng = np.random.default_rng(3)
    rate = np.array([[2.0, 8000.0, 90.0]] * E)
    good = rng.uniform(0, 1.5, (E, len(COMPONENT_NAMES))) * rate[:, [0, 0, 0, 1, 1, 1, 2, 2]]
    out, binding = leontief(rate, good)
    for line in range(len(LINES)):
        comps = [c for c in range(len(COMPONENT_NAMES)) if [0, 0, 0, 1, 1, 1, 2, 2][c] == line]
        expect = np.minimum(rate[:, line], good[:, comps].min(axis=1))
        np.testing.assert_allclose(out[:, line], expect)
        b = binding[:, line]
        np.testing.assert_allclose(np.where(b >= 0, good[np.arange(E), np.maximum(b, 0)],
                                            rate[:, line]), expect)


def test_struck_engine_plant_binds_the_missile_line() -> None:
    # airframes are useless without engines: the line falls to what the engine plant can make
    p = params()
    s = init_industry(p, E)
    cap, tools = full()
    cap[:, ENGINE_PLANT] = 0.3
    s, ev = step(s, p, 0, cap=cap, tools=tools)
    assert (s.binding[:, MISSILES] == COMPONENT_NAMES.index("engine")).all()
    np.testing.assert_allclose(s.output[:, MISSILES], 700 / 365 * 1.15 * 0.3)
    assert [b.event for b in ev] == ["bottleneck"]
    # product of capacity and tools; min when so chosen
    tools[:, ENGINE_PLANT] = 0.5
    s2, _ = step(init_industry(p, E), p, 0, cap=cap, tools=tools)
    np.testing.assert_allclose(s2.output[:, MISSILES], 700 / 365 * 1.15 * 0.15)
    pm = replace(p, plant_combination="min")
    s3, _ = step(init_industry(pm, E), pm, 0, cap=cap, tools=tools)
    np.testing.assert_allclose(s3.output[:, MISSILES], 700 / 365 * 1.15 * 0.3)


def test_k_parts_in_series_yield_one_minus_d_to_the_k() -> None:
    d = np.linspace(0, 0.9, 10)
    for k in (1, 2, 3, 5):
        np.testing.assert_allclose(series_yield(d, np.full_like(d, k)), (1 - d) ** k)
    # inside the step: guidance binds when parts are all that limit it, and the good units are
    # (units attempted) * (1 - d)^k
    for k in (1.0, 2.0, 3.0):
        p = params(guidance_parts_per_unit=np.full(E, k), component_headroom=np.full(E, 3.0))
        s = init_industry(p, E)
        s = replace(s, inventory=np.full((E, 2), 1.5 * k),
                    inventory_defective=np.full((E, 2), 0.3 * k),
                    pipeline=np.zeros_like(s.pipeline),
                    pipeline_defective=np.zeros_like(s.pipeline))
        s2, _ = step(s, p, 0, grant=np.zeros(E))
        assert (s2.binding[:, MISSILES] == COMPONENT_NAMES.index("guidance")).all()
        np.testing.assert_allclose(s2.output[:, MISSILES], 1.5 * (1 - 0.2) ** k)
        np.testing.assert_allclose(s2.inventory[:, 0], 0.0, atol=1e-12)  # all parts used
        np.testing.assert_allclose(s2.defect_rate, 0.2)


def test_pipeline_conserves_parts_and_delivers_after_the_lead_time() -> None:
    p = params(parts_lead_time_days=7)
    s = init_industry(p, E)
    rng = np.random.default_rng(0)
    cap, tools = full()
    for t in range(60):
        cap = np.clip(cap - rng.uniform(0, 0.02, cap.shape), 0, 1)
        circ = float(rng.uniform(0.2, 1.0))
        grant = s.request_usd_bn.sum(axis=1) * rng.uniform(0, 1, E)
        u = rng.random((E, UNIFORMS_PER_DAY)).astype(np.float32)
        before = s
        s, _ = step(s, p, t, cap=cap, tools=tools, circ=circ, grant=grant, u=u)
        np.testing.assert_allclose(s.ordered_total, s.arrived_total + s.pipeline.sum(axis=2),
                                   rtol=1e-12)
        np.testing.assert_allclose(s.inventory, before.inventory + s.arrived
                                   - (s.used_total - before.used_total), atol=1e-9)
        assert (s.inventory >= -1e-9).all() and (s.pipeline_defective <= s.pipeline + 1e-12).all()
        assert (s.ordered <= s.grey_capacity * circ + 1e-9).all()
    # an order placed today is the pipeline's last slot and arrives in 7 days
    marker = s.pipeline[:, :, -1].copy()
    for t in range(7):
        s, _ = step(s, p, 60 + t, grant=np.zeros(E))
    np.testing.assert_allclose(s.arrived, marker)


def test_less_circumvention_means_more_defects_and_fewer_parts() -> None:
    p = params()
    lo = hi = init_industry(p, E)
    for t in range(200):
        hi, _ = step(hi, p, t, circ=1.0)
        lo, _ = step(lo, p, t, circ=0.3)
    assert (lo.order_defect_rate > hi.order_defect_rate).all()
    np.testing.assert_allclose(lo.order_defect_rate, 0.4 + 0.3 * 0.7)
    assert (lo.output[:, 2] < hi.output[:, 2]).all()  # drones starve of electronics
    assert (lo.output[:, MISSILES] < hi.output[:, MISSILES]).all()


def test_inputs_are_not_modified() -> None:
    p = params()
    s = init_industry(p, E)
    cap, tools = full()
    circ, grant = np.ones(E), s.request_usd_bn.sum(axis=1)
    for a in (cap, tools, circ, grant, s.pipeline, s.inventory, s.inventory_defective,
              s.pipeline_defective, s.request_usd_bn, s.binding, HALF):
        a.flags.writeable = False
    produce(s, p, 0, cap, tools, circ, grant, HALF)


def test_disabled_is_no_constraint() -> None:
    p = replace(params(), enabled=False)
    s = init_industry(p, E)
    cap = np.zeros((E, N_PLANTS))
    s2, ev = produce(s, p, 0, cap, cap, np.zeros(E), np.zeros(E), HALF)
    assert ev == []
    np.testing.assert_allclose(s2.output, s.line_rate)
    np.testing.assert_array_equal(s2.supply_ratio, 1.0)
    np.testing.assert_array_equal(s2.request_usd_bn, 0.0)
    np.testing.assert_array_equal(s2.pipeline, s.pipeline)


def test_imported_components_are_the_declared_ones() -> None:
    assert [COMPONENT_NAMES[i] for i in IMPORTED] == ["guidance", "drone electronics"]


def test_scenario_fragment_matches_the_parameters() -> None:
    check_fragment("industry", IndustryParams)


def test_without_design_allowance_the_series_yield_shows_in_output() -> None:
    p = params(design_for_yield="none", component_headroom=np.full(E, 1.0))
    s = init_industry(p, E)
    rate = s.line_rate
    assert np.allclose(s.design, rate[:, [0, 0, 0, 1, 1, 1, 2, 2]])
    s1, _ = step(s, p, 0)
    d, k = 0.4, 2.0
    assert np.allclose(s1.output[:, 2], rate[:, 2] * (1 - d) ** k)
    # the default allows for the starting yield: the nominal rates come out
    s0, _ = step(init_industry(params(), E), params(), 0)
    assert np.allclose(s0.output, init_industry(params(), E).line_rate)

"""M8 the front: Lanchester's laws, slack order, neutral switch-off."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from loyaltytrap.mechanisms.front import (
    SLACKS,
    UNIFORMS_PER_DAY,
    FrontParams,
    FrontState,
    fight,
    first_exhausted,
    indicators,
    init_front,
    military_stress,
)
from loyaltytrap.params import param_specs, replace

E = 4


def make_params(**kw: object) -> FrontParams:
    """Attrition only: full effectiveness, no noise, no replacements, no reserves used."""
    base = dict(
        own_force=100.0, opponent_force=80.0, alpha=0.01, beta=0.02,
        own_replacements=0.0, opponent_replacements=0.0,
        supply_weight=1.0, equipment_weight=1.0, competence_weight=1.0,
        timeliness_weight=1.0, truth_weight=1.0, timeliness_tau_days=7.0, daily_noise_sd=0.0,
        time_slack_days=1e3, parts_slack_days=1e3, reserves=1e3, reserve_commit_losses=1e3,
        reference_own_losses=1.0, front_pressure_elasticity=1.0, equipment_pressure_gain=1.0,
        exhausted_pressure=0.5, intensity_elasticity=0.5,
    )
    base.update(kw)
    out = {k: (np.full(E, float(v)) if isinstance(v, float) else v) for k, v in base.items()}
    return FrontParams(enabled=True, **out)


def ones() -> np.ndarray:
    return np.ones(E)


def run(p: FrontParams, days: int, **inputs: np.ndarray) -> tuple[FrontState, list]:
    s = init_front(p, E)
    args = dict(supply_ratio=ones(), equipment_ok=ones(), competence=ones(),
                decision_latency_days=np.zeros(E), truth=ones())
    args.update(inputs)
    events = []
    u = np.full((E, UNIFORMS_PER_DAY), 0.5, dtype=np.float32)
    for day in range(days):
        s, ev = fight(s, p, day, u=u, **args)
        events.extend((day, e) for e in ev)
    return s, events


def test_every_parameter_has_a_unit() -> None:
    for name, spec in param_specs(FrontParams).items():
        assert spec.unit, name


def test_square_law_invariant_and_closed_form() -> None:
    p = make_params()
    a, b, R0, B0 = 0.01, 0.02, 100.0, 80.0
    inv0 = a * R0**2 - b * B0**2
    s = init_front(p, E)
    args = dict(supply_ratio=ones(), equipment_ok=ones(), competence=ones(),
                decision_latency_days=np.zeros(E), truth=ones())
    u = np.full((E, UNIFORMS_PER_DAY), 0.5, dtype=np.float32)
    w = np.sqrt(a * b)
    for day in range(1, 31):
        s, _ = fight(s, p, day - 1, u=u, **args)
        np.testing.assert_allclose(a * s.own**2 - b * s.opp**2, inv0, rtol=1e-9)
        R_t = R0 * np.cosh(w * day) - b * B0 * np.sinh(w * day) / w
        B_t = B0 * np.cosh(w * day) - a * R0 * np.sinh(w * day) / w
        np.testing.assert_allclose(s.own, R_t, rtol=1e-9)
        np.testing.assert_allclose(s.opp, B_t, rtol=1e-9)
    # run to the end: the weaker side (b B0^2 > a R0^2: own side) is wiped out, the other
    # keeps sqrt(B0^2 - a R0^2 / b) survivors
    s, _ = run(p, 400)
    np.testing.assert_allclose(s.own, 0.0, atol=1e-12)
    np.testing.assert_allclose(s.opp, np.sqrt(B0**2 - a * R0**2 / b), rtol=1e-9)


def test_linear_law_invariant_and_closed_form() -> None:
    a, b, R0, B0 = 2e-4, 3e-4, 100.0, 80.0
    p = make_params(alpha=a, beta=b)
    p = dataclasses.replace(p, law="linear")
    C = a * R0 - b * B0
    s = init_front(p, E)
    args = dict(supply_ratio=ones(), equipment_ok=ones(), competence=ones(),
                decision_latency_days=np.zeros(E), truth=ones())
    u = np.full((E, UNIFORMS_PER_DAY), 0.5, dtype=np.float32)
    for day in range(1, 201):
        s, _ = fight(s, p, day - 1, u=u, **args)
        np.testing.assert_allclose(a * s.own - b * s.opp, C, rtol=1e-9, atol=1e-12)
    # closed form: dR/dt = C R - a R^2 (logistic)
    t = 200.0
    R_t = C * R0 * np.exp(C * t) / (C + a * R0 * (np.exp(C * t) - 1.0))
    np.testing.assert_allclose(s.own, R_t, rtol=1e-9)


def test_small_step_euler_agrees_with_exact_day() -> None:
    # an independent check: 10,000 Euler sub-steps over 20 days
    a, b, R, B = 0.01, 0.02, 100.0, 80.0
    h = 20.0 / 10_000
    for _ in range(10_000):
        R, B = R - h * b * B, B - h * a * R
    s, _ = run(make_params(), 20)
    np.testing.assert_allclose(s.own, R, rtol=1e-3)
    np.testing.assert_allclose(s.opp, B, rtol=1e-3)


def test_effectiveness_is_product_of_weighted_factors() -> None:
    p = make_params(supply_weight=0.5, truth_weight=0.0, parts_slack_days=0.0)
    s, _ = run(p, 1, supply_ratio=np.full(E, 0.64), equipment_ok=np.full(E, 0.5),
               competence=np.full(E, 0.8), decision_latency_days=np.full(E, 7.0),
               truth=np.zeros(E))
    expected = 0.8 * 0.5 * 0.8 * 0.5 * 1.0  # sqrt(0.64), 0.5, 0.8, 1/(1+7/7), 0**0
    np.testing.assert_allclose(s.effectiveness, expected)


def test_parts_stock_covers_a_shortfall_until_it_runs_out() -> None:
    p = make_params(parts_slack_days=10.0, alpha=0.0, beta=0.0)
    s, events = run(p, 30, supply_ratio=np.full(E, 0.5))
    # 0.5 days of need drawn per day: 20 days of cover, then supplies fall to output
    np.testing.assert_allclose(s.exhausted_day[:, 1], 19.0)
    np.testing.assert_allclose(s.factors[:, 0], 0.5)
    assert [lab for _, e in events for lab in e.label] == ["parts"] * E


def test_time_then_parts_then_options() -> None:
    # a losing front with a supply shortfall: depth goes first, then stocks, then reserves
    p = make_params(own_force=100.0, opponent_force=100.0, alpha=0.005, beta=0.01,
                    own_replacements=1.0, opponent_replacements=1.0, time_slack_days=30.0,
                    parts_slack_days=16.0, reserves=60.0, reserve_commit_losses=2.0)
    s, events = run(p, 400, supply_ratio=np.full(E, 0.8))
    order = [(d, str(lab)) for d, e in events for lab in e.label[:1]]
    assert [lab for _, lab in order] == list(SLACKS)
    assert (first_exhausted(s) == 0).all()
    assert np.all(np.diff(s.exhausted_day, axis=1) > 0)
    assert (military_stress(s) > 0.99).all()


def test_losses_raise_pressure_and_intensity() -> None:
    p = make_params(reference_own_losses=1.0, alpha=0.0, beta=0.02, time_slack_days=1e3)
    s, _ = run(p, 1)
    loss = s.own_loss
    assert (loss > 1.0).all()
    np.testing.assert_allclose(s.problem_pressure[:, 0], loss)
    np.testing.assert_allclose(s.war_intensity, np.sqrt(loss))


def test_disabled_is_neutral_and_inputs_untouched() -> None:
    p = replace(make_params(), enabled=False)
    s0 = init_front(p, E)
    args = dict(supply_ratio=np.full(E, 0.3), equipment_ok=ones(), competence=ones(),
                decision_latency_days=np.zeros(E), truth=ones())
    for v in args.values():
        v.flags.writeable = False
    u = np.full((E, UNIFORMS_PER_DAY), 0.5, dtype=np.float32)
    u.flags.writeable = False
    s1, ev = fight(s0, p, 0, u=u, **args)
    assert ev == []
    np.testing.assert_array_equal(s1.own, s0.own)
    np.testing.assert_array_equal(s1.slack, s0.slack)
    np.testing.assert_array_equal(s1.problem_pressure, 1.0)
    np.testing.assert_array_equal(s1.war_intensity, 1.0)
    # an enabled step must not write into its inputs either (read-only arrays would raise)
    fight(s0, make_params(), 0, u=u, **args)


def test_noise_has_mean_one_and_stays_deterministic() -> None:
    p = make_params(daily_noise_sd=0.3)
    s0 = init_front(p, E)
    args = dict(supply_ratio=ones(), equipment_ok=ones(), competence=ones(),
                decision_latency_days=np.zeros(E), truth=ones())
    u = np.random.default_rng(1).random((E, UNIFORMS_PER_DAY)).astype(np.float32)
    a, _ = fight(s0, p, 0, u=u, **args)
    b, _ = fight(s0, p, 0, u=u, **args)
    np.testing.assert_array_equal(a.own, b.own)
    assert not np.allclose(a.own_loss, a.own_loss[0])


@pytest.mark.parametrize("ind", indicators(), ids=lambda d: d["name"])
def test_indicators_shape(ind: dict) -> None:
    s, _ = run(make_params(), 3)
    out = np.asarray(ind["fn"](s))
    assert out.shape[0] == E
    if ind["extra_dim"]:
        assert out.shape[1] == len(ind["coords"])
    assert set(ind) >= {"name", "unit", "description", "fn", "extra_dim", "coords",
                        "headline", "summary"}

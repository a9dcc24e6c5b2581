"""M9 elites and the banks: Granovetter's cascade, Diamond-Dybvig's run, anxiety dynamics."""

from __future__ import annotations

import numpy as np
import pytest

from loyaltytrap.mechanisms.elites import (
    INIT_UNIFORMS_PER_ELITE,
    UNIFORMS_PER_DAY,
    ElitesParams,
    ElitesState,
    cascade,
    cohesion,
    elite_stress,
    indicators,
    init_elites,
    unnerve_elites,
)
from loyaltytrap.params import param_specs, replace

E, M = 3, 100


def make_params(**kw: object) -> ElitesParams:
    base = dict(
        threshold_mean=0.6, threshold_sd=0.2, sensitivity_spread=0.0, initial_anxiety=0.0,
        anxiety_decay=0.05, anxiety_per_strike=0.0, anxiety_per_reserve_fall=0.0,
        anxiety_per_surprise=0.0, anxiety_noise_sd=0.0, hoard_max_usd_bn_per_day=0.1,
        elite_deposit_share=0.25, bank_liquidity=0.12, state_backstop=0.1,
        promised_return=1.1, long_return=1.5, perturbed_threshold=0.0,
    )
    options = {k: kw.pop(k) for k in ("threshold_draw", "bank_model", "perturbed_agent")
               if k in kw}
    base.update(kw)
    return ElitesParams(enabled=True, n_elites=M, **{"perturbed_agent": -1, **options},
                        **{k: np.full(E, float(v)) for k, v in base.items()})


def u_day() -> np.ndarray:
    return np.full((E, UNIFORMS_PER_DAY), 0.5, dtype=np.float32)


def zeros() -> np.ndarray:
    return np.zeros(E)


def with_thresholds(s: ElitesState, theta: np.ndarray) -> ElitesState:
    return ElitesState(**{**s.__dict__, "threshold": np.broadcast_to(theta, (E, M)).copy()})


def test_every_parameter_has_a_unit() -> None:
    for name, spec in param_specs(ElitesParams).items():
        assert spec.unit, name


def test_granovetter_riot_uniform_thresholds_cascade_to_everyone() -> None:
    theta = np.arange(M) / M  # 0, 1/M, 2/M, ...
    out = cascade(np.broadcast_to(theta, (E, M)), np.zeros((E, M), bool))
    assert out.all()
    # remove the agent of threshold 1/M (put one of 2/M instead): only the instigator goes
    theta2 = theta.copy()
    theta2[1] = 2 / M
    out = cascade(np.broadcast_to(theta2, (E, M)), np.zeros((E, M), bool))
    np.testing.assert_array_equal(out.sum(axis=1), 1)
    assert out[:, 0].all()


def test_riot_through_the_daily_step() -> None:
    p = make_params()
    s = with_thresholds(init_elites(p, E), np.arange(M) / M)
    s1, ev = unnerve_elites(s, p, 0, zeros(), zeros(), zeros(), u_day())
    assert s1.out.all()
    assert {e.event for e in ev} == {"elites_withdraw", "bank_run"}


def test_cascade_matches_iterating_the_share() -> None:
    rng = np.random.default_rng(3)
    for _ in range(50):
        theta = np.clip(rng.normal(rng.uniform(0.05, 0.6), 0.2, (E, M)), 0, 1)
        out0 = rng.random((E, M)) < rng.uniform(0, 0.1)
        out = out0.copy()
        while True:  # the textbook iteration
            nxt = out | (theta <= out.mean(axis=1, keepdims=True))
            if (nxt == out).all():
                break
            out = nxt
        np.testing.assert_array_equal(cascade(theta, out0), out)


@pytest.mark.parametrize("k", [0, 10, 40, 48, 49, 60, 100])
def test_bank_run_iff_withdrawals_exceed_liquidity(k: int) -> None:
    # k agents out (threshold 0), the rest never move; elite deposits 0.5, liquidity 0.24
    p = make_params(elite_deposit_share=0.5, bank_liquidity=0.24, state_backstop=0.0)
    theta = np.where(np.arange(M) < k, 0.0, 1.0)
    s = with_thresholds(init_elites(p, E), theta)
    s1, ev = unnerve_elites(s, p, 7, zeros(), zeros(), zeros(), u_day())
    withdrawn = 0.5 * k / M
    np.testing.assert_allclose(s1.withdrawal_share, withdrawn)
    expect = withdrawn > 0.24
    assert (s1.bank_run == expect).all()
    runs = [e for e in ev if e.event == "bank_run"]
    assert (len(runs) == 1) == expect
    if expect:
        np.testing.assert_array_equal(s1.run_day, 7)
        # the run happens once; the flag stays
        s2, ev2 = unnerve_elites(s1, p, 8, zeros(), zeros(), zeros(), u_day())
        assert s2.bank_run.all() and not [e for e in ev2 if e.event == "bank_run"]
        np.testing.assert_array_equal(s2.run_day, 7)


def test_falling_reserves_shrink_the_backstop() -> None:
    p = make_params(bank_liquidity=0.1, state_backstop=0.2)
    s, _ = unnerve_elites(init_elites(p, E), p, 0, zeros(), np.array([0.0, 0.5, 1.0]),
                          zeros(), u_day())
    np.testing.assert_allclose(s.liquidity, [0.3, 0.2, 0.1])


def test_anxiety_decays_and_settles_at_its_fixed_point() -> None:
    p = make_params(initial_anxiety=0.4, anxiety_decay=0.1, threshold_mean=1.0,
                    threshold_sd=0.0)
    s = init_elites(p, E)
    s, _ = unnerve_elites(s, p, 0, zeros(), zeros(), zeros(), u_day())
    np.testing.assert_allclose(s.anxiety, 0.36)
    # constant news x per day: a* = g / (d + g), g = 1 - exp(-x)
    p = make_params(anxiety_decay=0.1, anxiety_per_reserve_fall=0.2, threshold_mean=1.0,
                    threshold_sd=0.0)
    s = init_elites(p, E)
    for day in range(400):
        s, _ = unnerve_elites(s, p, day, zeros(), np.full(E, 0.5), zeros(), u_day())
    g = 1 - np.exp(-0.1)
    np.testing.assert_allclose(s.anxiety, g / (0.1 + g), rtol=1e-9)


def test_strikes_and_surprises_raise_anxiety_and_tip_the_cascade() -> None:
    # anxiety lowers every threshold: a big enough shock tips a stable elite over
    p = make_params(anxiety_per_strike=0.1, anxiety_per_surprise=0.2, threshold_mean=0.6,
                    threshold_sd=0.2)
    s0 = init_elites(p, E)
    calm, _ = unnerve_elites(s0, p, 0, zeros(), zeros(), zeros(), u_day())
    assert calm.out.mean() < 0.05
    shock, _ = unnerve_elites(s0, p, 0, np.array([0.0, 1.0, 5.0]), zeros(),
                              np.array([0.0, 0.0, 1.0]), u_day())
    assert np.all(np.diff(shock.anxiety.mean(axis=1)) > 0)
    assert shock.out[2].all() and not shock.out[0].any()
    assert elite_stress(shock)[2] == 1.0


def test_hoarding_and_cohesion() -> None:
    p = make_params(initial_anxiety=0.5, anxiety_decay=0.0, threshold_mean=1.0,
                    threshold_sd=0.0, hoard_max_usd_bn_per_day=0.2)
    s, _ = unnerve_elites(init_elites(p, E), p, 0, zeros(), zeros(), zeros(), u_day())
    np.testing.assert_allclose(s.diverted, 0.1)
    np.testing.assert_allclose(cohesion(s), 0.5)


def test_init_from_uniforms() -> None:
    p = make_params(sensitivity_spread=0.5)
    M_ = p.n_elites
    u = np.random.default_rng(0).random((E, INIT_UNIFORMS_PER_ELITE * M_)).astype(np.float32)
    s = init_elites(p, E, u)
    assert s.threshold.shape == (E, M_)
    assert ((s.threshold >= 0) & (s.threshold <= 1)).all()
    assert ((s.sensitivity >= 0.5) & (s.sensitivity <= 1.5)).all()
    s_det = init_elites(p, E)
    np.testing.assert_allclose(s_det.threshold.mean(axis=1), 0.6, atol=0.01)
    np.testing.assert_allclose(s_det.sensitivity.mean(axis=1), 1.0, atol=0.02)


def test_disabled_is_neutral_and_inputs_untouched() -> None:
    p = make_params()
    s0 = with_thresholds(init_elites(p, E), np.arange(M) / M)
    for arr in (s0.threshold, s0.anxiety, s0.out, s0.sensitivity):
        arr.flags.writeable = False
    u = u_day()
    u.flags.writeable = False
    ins = [np.full(E, 2.0), np.full(E, 0.5), np.ones(E)]
    for a in ins:
        a.flags.writeable = False
    off, ev = unnerve_elites(s0, replace(p, enabled=False), 0, *ins, u)
    assert ev == [] and not off.out.any() and not off.bank_run.any()
    np.testing.assert_array_equal(off.anxiety, s0.anxiety)
    np.testing.assert_array_equal(off.diverted, 0.0)
    on, _ = unnerve_elites(s0, p, 0, *ins, u)  # must not write into read-only inputs
    assert on.out.all()


@pytest.mark.parametrize("ind", indicators(), ids=lambda d: d["name"])
def test_indicators_shape(ind: dict) -> None:
    p = make_params()
    s, _ = unnerve_elites(init_elites(p, E), p, 0, zeros(), zeros(), zeros(), u_day())
    assert np.asarray(ind["fn"](s)).shape == (E,)


def test_threshold_grid_and_perturbed_agent() -> None:
    u = np.random.default_rng(0).random((E, 2 * M))
    grid = init_elites(make_params(threshold_draw="grid"), E, u)
    assert np.array_equal(grid.threshold, np.broadcast_to(np.arange(M) / M, (E, M)))
    quant = init_elites(make_params(threshold_draw="quantiles"), E, u)
    assert np.array_equal(quant.threshold, init_elites(make_params(), E).threshold)
    pert = init_elites(make_params(threshold_draw="grid", perturbed_agent=1,
                                   perturbed_threshold=2 / M), E, u)
    assert np.all(pert.threshold[:, 1] == 2 / M)
    assert np.array_equal(np.delete(pert.threshold, 1, axis=1), np.delete(grid.threshold, 1, 1))
    # the default (random, no perturbed agent) is today's draw
    plain = init_elites(make_params(), E, u)
    assert np.array_equal(plain.threshold, init_elites(make_params(perturbed_agent=-1), E,
                                                       u).threshold)


@pytest.mark.parametrize("w", [0.1, 0.7, 0.72, 0.73, 0.9])
def test_diamond_dybvig_run_once_waiting_no_longer_pays(w: float) -> None:
    r1, R = 1.1, 1.5
    p = make_params(bank_model="diamond_dybvig", promised_return=r1, long_return=R,
                    state_backstop=0.0, elite_deposit_share=w, threshold_mean=0.0,
                    threshold_sd=0.0)
    s, _ = unnerve_elites(init_elites(p, E), p, 0, zeros(), zeros(), zeros(), u_day())
    r2 = R * (1 - r1 * w) / (1 - w)
    assert np.all(s.withdrawal_share == w)
    assert np.all(s.bank_run == (r2 < r1))
    assert np.allclose(s.liquidity, 1 / r1)

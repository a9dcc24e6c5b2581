"""M12: stress, threat, collapse and its cause."""

from __future__ import annotations

import numpy as np

from loyaltytrap.mechanisms.stability import (
    CAUSES,
    StabilityParams,
    assess_stability,
    init_stability,
)


def params(**kw: float) -> StabilityParams:
    base = dict(weight_military=1.0, weight_fiscal=1.0, weight_elite=1.0,
                weight_information=1.0, weight_command=1.0, base_hazard=1e-3,
                stress_sensitivity=2.0, collapse_threshold=0.0, threshold_days=30.0,
                threat_floor=0.2)
    base.update(kw)
    return StabilityParams(enabled=True, **base)


def test_constant_stress_gives_exponential_survival() -> None:
    E, days, c = 4000, 300, 0.5
    p = params()
    s = init_stability(p, E, np.full(E, 0.5))
    rng = np.random.default_rng(0)
    stress = np.full((E, 5), c)
    for t in range(days):
        s, _ = assess_stability(s, p, t, stress, rng.random((E, 1)))
    hazard = 1e-3 * np.exp(2.0 * c)
    expected = np.exp(-hazard * days)
    survived = 1 - s.collapsed.mean()
    se = np.sqrt(expected * (1 - expected) / E)
    assert abs(survived - expected) < 4 * se


def test_threshold_collapse_and_cause() -> None:
    E = 3
    p = params(base_hazard=0.0, collapse_threshold=0.5, threshold_days=5.0)
    s = init_stability(p, E, np.zeros(E))
    stress = np.zeros((E, 5))
    stress[0, 2] = 1.0  # elite stress only: stability 0.8, holds
    stress[1] = [1.0, 0.9, 0.2, 0.8, 0.6]  # stability 0.3 < 0.5: falls after 5 days
    for t in range(10):
        s, events = assess_stability(s, p, t, stress, np.ones((E, 1)))
        if t == 4:
            assert [len(b) for b in events] == [1]
    assert s.collapsed.tolist() == [False, True, False]
    assert s.collapse_day[1] == 4
    assert CAUSES[s.cause[1]] == "military defeat"
    np.testing.assert_allclose(s.threat, 0.2 + 0.8 * (1 - s.stability))


def test_disabled_never_falls() -> None:
    p = StabilityParams(**{**params().__dict__, "enabled": False})
    s = init_stability(p, 2, np.zeros(2))
    for t in range(50):
        s, ev = assess_stability(s, p, t, np.ones((2, 5)), np.zeros((2, 1)))
        assert ev == []
    assert not s.collapsed.any()

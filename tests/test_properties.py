"""Property tests: for any admissible parameter values the invariants hold."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loyaltytrap.scenario import Scenario
from loyaltytrap.simulate import simulate

SETTABLE = {
    "hierarchy.initial_fear": (0.0, 1.0),
    "hierarchy.candour_mean": (0.0, 1.0),
    "reporting.scrub_sensitivity": (0.0, 5.0),
    "reporting.severity_growth": (0.0, 0.2),
    "reporting.visibility_threshold": (0.5, 50.0),
    "reporting.buried_fix_factor": (0.0, 1.0),
    "purges.candour_purge_prob": (0.0, 0.2),
    "purges.fear_spread_level": (0.0, 0.5),
    "purges.fear_decay": (0.0, 0.2),
    "signoff.capacity_per_day": (0.0, 4.0),
    "signoff.escalate_fear": (0.0, 1.0),
    "signoff.expiry_hazard": (0.0, 0.2),
    "signoff.rerun_hazard": (0.0, 0.5),
    "leader.response_fix": (0.0, 0.4),
    "stability.stress_sensitivity": (0.0, 20.0),
}


@st.composite
def overrides(draw: st.DrawFn) -> list[str]:
    keys = draw(st.lists(st.sampled_from(sorted(SETTABLE)), min_size=1, max_size=6,
                         unique=True))
    out = []
    for k in keys:
        lo, hi = SETTABLE[k]
        out.append(f"{k}={draw(st.floats(lo, hi, allow_nan=False)):.6g}")
    out.append(f"reporting.hop_delay_days={draw(st.integers(0, 2))}")
    return out


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(ov=overrides(), seed=st.integers(0, 2**31))
def test_invariants_for_any_parameters(small: Scenario, ov: list[str], seed: int) -> None:
    ds = simulate(small.with_overrides(ov), members=2, seed=seed, days=80).dataset
    for name in ("true_total", "perceived_total", "hidden_problems", "purged_total",
                 "decision_backlog", "reruns_total", "written_off_total", "vacant_posts"):
        assert (ds[name].values >= -1e-9).all(), name
    for name in ("gap_share", "fear_mean", "competence_mean", "suppressed_share", "stability"):
        v = ds[name].values
        v = v[np.isfinite(v)]
        assert ((v >= -1e-9) & (v <= 1 + 1e-9)).all(), name
    assert (ds["perceived_total"] <= ds["true_total"] + 1e-6).all()
    np.testing.assert_allclose(ds["decision_backlog"], ds["true_total"], atol=1e-6)
    for name in ("purged_total", "reruns_total", "written_off_total", "surprises_total"):
        assert (np.diff(ds[name].values, axis=1) >= -1e-9).all(), f"{name} decreased"

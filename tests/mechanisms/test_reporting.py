"""M2 special cases through the real engine."""

from __future__ import annotations

import numpy as np

from loyaltytrap.scenario import Scenario
from loyaltytrap.simulate import simulate


def test_no_punishment_no_noise_perceived_equals_true(small: Scenario) -> None:
    # nobody afraid, nobody punished, reports relayed the same day: the leader sees the truth
    sc = small.with_overrides(["purges.enabled=false", "hierarchy.initial_fear=0",
                               "reporting.hop_delay_days=0", "stability.enabled=false"])
    ds = simulate(sc, members=3, seed=4, days=400).dataset
    assert float(ds["true_total"].max()) >= 3
    np.testing.assert_allclose(ds["perceived_problems"], ds["true_problems"], atol=1e-9)
    assert float(ds["gap_share"].max()) < 1e-9


def test_no_punishment_with_hop_delay_lags_the_truth(small: Scenario) -> None:
    # with a day per level nothing is buried, but the leader hears of each problem three days
    # (three hops above the units) after it arose
    sc = small.with_overrides(["purges.enabled=false", "hierarchy.initial_fear=0",
                               "stability.enabled=false"])
    ds = simulate(sc, members=3, seed=4, days=300).dataset
    assert float(ds["suppressed_share"].fillna(0).max()) == 0
    delay = ds["report_delay_days"].values
    assert np.nanmax(np.abs(delay[np.isfinite(delay)] - 3.0)) < 1e-9  # 4 levels: 3 hops


def test_fixed_pass_through_gives_q_to_the_power_levels(small: Scenario) -> None:
    # Williamson (1967): share reaching the top after n filtering levels is q**n
    for levels, q in ((4, 0.7), (3, 0.5)):
        sc = small.with_overrides([
            f"hierarchy.levels={levels}", "reporting.mode=fixed",
            f"reporting.fixed_pass_through={q}", "reporting.hop_delay_days=0",
            "reporting.visibility_threshold=1e9", "purges.enabled=false",
            "stability.enabled=false",
            "world.front_problem_rate=0.1", "world.supply_problem_rate=0.1",
            "world.equipment_problem_rate=0.1",
        ])
        ds = simulate(sc, members=24, seed=11, days=400).dataset
        share = ds["reaching_top_share"].isel(day=-1).values
        expected = q**levels
        se = share.std(ddof=1) / np.sqrt(len(share))
        assert abs(share.mean() - expected) < max(4 * se, 0.005), (share.mean(), expected, se)
        per_level = ds["suppressed_share"].mean(("member", "day")).values
        np.testing.assert_allclose(per_level, 1 - q, atol=0.03)


def test_raising_the_candour_penalty_raises_suppression_and_delay(small: Scenario) -> None:
    def run(prob: float):
        sc = small.with_overrides([f"purges.candour_purge_prob={prob}",
                                   "purges.candour_exposure_decay=0.6",
                                   "stability.enabled=false"])
        return simulate(sc, members=16, seed=5, days=500).dataset

    lo, hi = run(0.0), run(0.05)
    assert float(hi["fear_mean"].mean()) > float(lo["fear_mean"].mean())
    assert float(hi["suppressed_share"].mean()) > float(lo["suppressed_share"].mean())
    assert float(hi["report_delay_days"].mean()) > float(lo["report_delay_days"].mean())
    assert float(hi["gap_share"].mean()) > float(lo["gap_share"].mean())

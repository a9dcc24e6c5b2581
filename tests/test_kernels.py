"""The compiled kernels compute what the plain NumPy versions compute."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from loyaltytrap import kernels
from loyaltytrap.mechanisms import reporting, signoff
from loyaltytrap.scenario import Scenario

pytestmark = pytest.mark.skipif(not kernels.HAVE_NUMBA, reason="numba not installed")


def _assert_same(a: object, b: object) -> None:
    for f in dataclasses.fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        np.testing.assert_allclose(np.asarray(x, float), np.asarray(y, float), rtol=1e-10,
                                   atol=1e-10, err_msg=f.name)


@pytest.mark.parametrize("hop", [0, 1, 2])
def test_sitrep_kernel_matches_numpy(small: Scenario, hop: int, daily_states) -> None:
    sc = small.with_overrides([f"reporting.hop_delay_days={hop}"])
    *_, (state, params) = daily_states(sc, 120, members=5, seed=3)
    rng = np.random.default_rng(0)
    E, N, U = state.members, params.tree.n, params.tree.n_units
    new = (rng.random((E, 3, U)) < 0.1).astype(float)
    sev = rng.exponential(1.0, (E, U)) * new.sum(axis=1)
    u = rng.random((E, N)).astype(np.float32)
    o = state.officers
    args = (state.reports, params.reporting, params.tree, 121, new, sev, o.fear, o.candour, u)
    _assert_same(reporting.sanitize_reports(*args), kernels.sanitize_reports(*args))


def test_signoff_kernel_matches_numpy(small: Scenario, daily_states) -> None:
    *_, (state, params) = daily_states(small, 150, members=5, seed=3)
    rng = np.random.default_rng(1)
    E, N, U = state.members, params.tree.n, params.tree.n_units
    o = state.officers
    args = (state.decisions, params.signoff, params.tree, (rng.random((E, U)) < 0.2) * 1.0,
            o.fear, o.competence, o.status, rng.random(E), rng.random((E, 4, N)))
    for a, b in zip(signoff.queue_pass(*args), kernels.sign_off_queues(*args), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10)


def test_runs_agree_with_and_without_kernels(small: Scenario, monkeypatch) -> None:
    from loyaltytrap.simulate import simulate

    fast = simulate(small, members=3, seed=9, days=200).dataset
    monkeypatch.setenv("LOYALTYTRAP_KERNEL", "numpy")
    plain = simulate(small, members=3, seed=9, days=200).dataset
    for name in ("true_total", "perceived_total", "fear_mean", "decision_backlog",
                 "purged_total", "reserves_usd_bn", "stability"):
        np.testing.assert_allclose(fast[name], plain[name], rtol=1e-8, atol=1e-8,
                                   err_msg=name)

"""The compiled M5 treasury and M10 allies compute what their plain NumPy versions compute."""

from __future__ import annotations

import collections
import dataclasses

import numpy as np
import pytest

from loyaltytrap import kernels
from loyaltytrap.events import EventBatch
from loyaltytrap.mechanisms import allies, money
from loyaltytrap.scenario import Scenario

pytestmark = pytest.mark.skipif(not kernels.HAVE_NUMBA, reason="numba not installed")

if kernels.HAVE_NUMBA:
    from loyaltytrap.kernels import allies as allies_kernel
    from loyaltytrap.kernels import money as money_kernel


def _assert_same(a: object, b: object) -> None:
    # NumPy's exp and power (SIMD) and Numba's (libm) may differ in the last bit: 1e-12
    assert type(a) is type(b)
    for f in dataclasses.fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        assert x.dtype == y.dtype and x.shape == y.shape, f.name
        if x.dtype == bool:
            np.testing.assert_array_equal(x, y, err_msg=f.name)
        else:
            np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-12, err_msg=f.name)


def _assert_same_events(a: list[EventBatch], b: list[EventBatch]) -> None:
    assert [x.event for x in a] == [y.event for y in b]
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x.member, y.member)
        assert x.member.dtype == y.member.dtype
        for f in ("officer", "level", "value", "value2"):
            u, v = getattr(x, f), getattr(y, f)
            assert (u is None) == (v is None), f
            if u is not None:
                np.testing.assert_allclose(u, v, rtol=1e-12, atol=1e-12, err_msg=f)
        assert (x.label is None) == (y.label is None)
        if x.label is not None:
            assert x.label.dtype == y.label.dtype and x.label.tolist() == y.label.tolist()


def test_treasury_kernel_matches_numpy(small: Scenario, daily_states) -> None:
    # a heavy deficit: the reserves fall through every milestone below the floor and run out
    # (refusals, unaffordable requests, arrears), at rates that differ between members
    sc = small.with_overrides(["money.baseline_reserve_draw_usd_bn_per_year=120",
                               "money.revenue_erosion_per_year=0.2"])
    *_, (state, params) = daily_states(sc, 20, members=6, seed=21)
    rng = np.random.default_rng(22)
    p, E = params.money, state.members
    plain = fast = state.money
    counts: collections.Counter[str] = collections.Counter()
    for day in range(20, 420):
        intensity = rng.uniform(0.5, 2.5, E) * rng.choice([0.2, 1.0, 1.0], E)
        if day % 7 == 0:
            intensity = float(intensity[0])  # a number for every member
        requests = rng.exponential(0.08, E) * rng.choice([-1.0, 0.0, 1.0, 1.0, 5.0], E)
        diverted = rng.exponential(0.05, E) * rng.choice([0.0, 1.0, 50.0], E)
        u = rng.random((E, money.UNIFORMS_PER_DAY)).astype(np.float32)
        args = (day, intensity, requests, diverted, u)
        plain, ev_p = money.spend(plain, p, *args)
        fast, ev_f = money_kernel.spend(fast, p, *args)
        _assert_same(plain, fast)
        _assert_same_events(ev_p, ev_f)
        counts.update(b.event for b in ev_p)
        counts["capped"] += int((diverted > plain.revenue).sum())
        counts.update(f"low: {lab}" for b in ev_p if b.event == "reserves_low" for lab in b.label)
    assert counts["fixes_refused"] > 10 and counts["fixes_unaffordable"] > 10
    assert all(counts[f"low: {lab}"] > 0 for lab in money.MILESTONE_LABELS)
    assert counts["reserves_exhausted"] > 0 and plain.arrears_total.min() > 0
    assert counts["capped"] > 0  # elites wanting more than the revenue


def test_treasury_kernel_disabled(small: Scenario, daily_states) -> None:
    sc = small.with_overrides(["money.enabled=false"])
    *_, (state, params) = daily_states(sc, 3, members=3, seed=23)
    args = (5, np.ones(3), np.array([0.1, -0.2, 0.0]), np.full(3, 0.01),
            np.full((3, 1), 0.5, np.float32))
    plain, ev_p = money.spend(state.money, params.money, *args)
    fast, ev_f = money_kernel.spend(state.money, params.money, *args)
    _assert_same(plain, fast)
    assert ev_p == ev_f == []


@pytest.mark.parametrize(("E", "k"), [(1, 2), (64, 2), (7, 3)])
def test_allocate_kernel_matches_numpy(E: int, k: int) -> None:
    rng = np.random.default_rng(24)
    for _ in range(50):
        requests = rng.exponential(1.0, (E, k)) * rng.choice([0.0, 1e-16, 1.0], (E, k))
        granted = rng.exponential(1.0, E)
        a, b = money.allocate(granted, requests), money_kernel.allocate(granted, requests)
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("recovery", [0.0, 0.03])
def test_allies_kernel_matches_numpy(small: Scenario, recovery: float, daily_states) -> None:
    # frequent losses, and an election on day 150 that may go either way
    sc = small.with_overrides([
        *(f"allies.{k}_hazard=0.006" for k in allies.KEYS),
        "allies.hungary_election_day=150", "allies.hungary_opposition_lead=0",
        "allies.hungary_poll_error_sd=10", f"allies.recovery_rate={recovery}",
    ])
    *_, (state, params) = daily_states(sc, 20, members=8, seed=25)
    rng = np.random.default_rng(26)
    p = params.allies
    plain = fast = state.allies
    assert not plain.election_held.any()
    outcomes: collections.Counter[str] = collections.Counter()
    for day in range(20, 320):
        u = rng.random((state.members, allies.UNIFORMS_PER_DAY)).astype(np.float32)
        before = plain
        plain, ev_p = allies.lose_allies(plain, p, day, u)
        fast, ev_f = allies_kernel.lose_allies(fast, p, day, u)
        _assert_same(plain, fast)
        _assert_same_events(ev_p, ev_f)
        outcomes.update(b.event for b in ev_p)
        outcomes.update(lab for b in ev_p if b.event == "election" for lab in b.label)
        back = before.lost & (before.status < before.status0)
        if recovery and back.any():  # lost help comes back
            assert (plain.status[back] > before.status[back]).all()
            outcomes["recovering"] += 1
    assert outcomes["ally_lost"] > 10 and outcomes["election"] == 1
    assert outcomes["the opposition wins"] > 0 and outcomes["the government holds"] > 0
    assert plain.election_held.all() and (plain.supply_index < 1).any()
    assert (outcomes["recovering"] > 100) == (recovery > 0)


def test_allies_kernel_disabled(small: Scenario, daily_states) -> None:
    sc = small.with_overrides(["allies.enabled=false"])
    *_, (state, params) = daily_states(sc, 3, members=3, seed=27)
    u = np.zeros((3, allies.UNIFORMS_PER_DAY), np.float32)  # every ally would be lost
    plain, ev_p = allies.lose_allies(state.allies, params.allies, 5, u)
    fast, ev_f = allies_kernel.lose_allies(state.allies, params.allies, 5, u)
    _assert_same(plain, fast)
    assert ev_p == ev_f == []

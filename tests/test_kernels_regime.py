"""The compiled M11 leader and M12 regime twins compute what the plain versions compute."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from loyaltytrap import kernels
from loyaltytrap.events import EventBatch
from loyaltytrap.mechanisms import elites, front, leader, stability
from loyaltytrap.scenario import Scenario

if kernels.HAVE_NUMBA:
    from loyaltytrap.kernels import leader as kleader
    from loyaltytrap.kernels import stability as kstability

pytestmark = pytest.mark.skipif(not kernels.HAVE_NUMBA, reason="numba not installed")

# news surfaces often and small amounts surprise: every response happens within weeks
SURPRISING = ("reporting.visibility_threshold=0.5", "leader.surprise_floor=0.5")


def _assert_identical(a: object, b: object) -> None:
    for f in dataclasses.fields(a):
        x, y = np.asarray(getattr(a, f.name)), np.asarray(getattr(b, f.name))
        assert x.dtype == y.dtype, f.name
        np.testing.assert_array_equal(x, y, err_msg=f.name)


def _assert_same_events(ev_p: list[EventBatch], ev_f: list[EventBatch]) -> None:
    # the plain leader returns its two batches on a calm day too (empty); the log drops them
    ev_p = [b for b in ev_p if len(b)]
    ev_f = [b for b in ev_f if len(b)]
    assert [b.event for b in ev_p] == [b.event for b in ev_f]
    for a, b in zip(ev_p, ev_f, strict=True):
        for f in dataclasses.fields(a):
            x, y = getattr(a, f.name), getattr(b, f.name)
            assert (x is None) == (y is None), f.name
            if f.name == "label" and x is not None:
                assert x.tolist() == y.tolist()
            elif f.name != "event" and x is not None:
                np.testing.assert_array_equal(x, y, err_msg=f.name)


@pytest.mark.parametrize("extra", [
    (),
    ("leader.scapegoat_level=0", "leader.response_scapegoat=0.3", "leader.response_fix=0.4"),
    ("leader.scapegoat_level=8",),  # below the tree: the blamed one is where the news surfaced
    ("leader.enabled=false",),
])
def test_leader_kernel_matches_numpy_through_a_run(
    small: Scenario, extra: tuple[str, ...], daily_states
) -> None:
    # the news that surfaced each day of a real run, the picture before it and fresh uniforms
    sc = small.with_overrides([*SURPRISING, *extra])
    rng = np.random.default_rng(21)
    days = daily_states(sc, 300, members=5, seed=20)
    prev, params = next(days)
    p, tree, E = params.leader, params.tree, prev.members
    plain = fast = prev.leader
    responses = np.zeros(3)
    for state, _params in days:
        known_before = prev.reports.known.sum(axis=1)
        u = rng.random((E, 1)).astype(np.float32)
        args = (tree, known_before, state.reports.surfaced)
        plain, ev_p = leader.react_to_surprises(plain, p, *args, plain.threat, u)
        fast, ev_f = kleader.react_to_surprises(fast, p, *args, fast.threat, u)
        _assert_identical(plain, fast)
        _assert_same_events(ev_p, ev_f)
        responses += np.bincount(plain.response[plain.surprise], minlength=3)
        prev = state
    if p.enabled:
        assert (responses > 0).all(), responses  # scapegoat, fix and ignore all happened
    else:
        assert responses.sum() == 0 and plain.surprises_total.sum() == 0


@pytest.mark.parametrize("levels", [4, 6])  # 40 officers, and 364: more than a block of 128
def test_leader_kernel_on_ties_and_edges(small: Scenario, levels: int, daily_states) -> None:
    # synthetic news: whole numbers (ties for the worst command, in different subtrees, and
    # amounts exactly at the surprise bar), fractions, nothing, and a NaN (never a surprise)
    sc = small.with_overrides([*SURPRISING, "leader.scapegoat_level=1",
                               f"hierarchy.levels={levels}"])
    *_, (state, params) = daily_states(sc, 30, members=6, seed=22)
    p, tree, E, N = params.leader, params.tree, state.members, params.tree.n
    rng = np.random.default_rng(23)
    plain = fast = state.leader
    ties = edges = 0
    for _day in range(400):
        surfaced = np.zeros((E, N))
        for e in range(E):
            kind = rng.integers(0, 4)
            at = rng.choice(N, size=rng.integers(1, 6), replace=False)
            if kind == 1:
                surfaced[e, at] = rng.integers(1, 3, at.size)
            elif kind == 2:
                surfaced[e, at] = rng.uniform(0.0, 10.0, at.size)
            elif kind == 3 and rng.random() < 0.1:
                surfaced[e, at] = np.nan
        known_before = rng.choice([0.0, 4.0, 8.0, 20.0], E)  # bar 0.5 (floor), 1, 2 or 5
        u = rng.random((E, 1)).astype(np.float32)
        args = (tree, known_before, surfaced)
        plain, ev_p = leader.react_to_surprises(plain, p, *args, plain.threat, u)
        fast, ev_f = kleader.react_to_surprises(fast, p, *args, fast.threat, u)
        _assert_identical(plain, fast)
        _assert_same_events(ev_p, ev_f)
        amount = surfaced.sum(axis=1)
        edges += np.sum(plain.surprise & (amount == np.maximum(0.25 * known_before, 0.5)))
        for e in np.flatnonzero(plain.response == leader.SCAPEGOAT):
            worst = np.flatnonzero(surfaced[e] == surfaced[e].max())
            ties += len(set(tree.ancestor_at(worst, 1).tolist())) > 1
    assert ties > 0 and edges > 0, (ties, edges)


def test_surfaced_amount_is_numpys_sum_to_the_bit() -> None:
    # the compiled amount is NumPy's pairwise sum: the surprise test compares it with the bar
    rng = np.random.default_rng(27)
    frames, left = np.empty((64, 3), np.int64), np.empty(64)
    for n in [*range(0, 300), 1365, 3280, 9841]:
        row = rng.random(n) * rng.choice([0.0, 1e-3, 1.0, 1e3], n)
        assert kleader._pairwise_sum(row, frames, left) == row.sum(), n
        assert kleader._pairwise_sum(row, frames, left) == row[None, :].sum(axis=1)[0], n


def _revive(s: stability.StabilityState, mask: np.ndarray) -> stability.StabilityState:
    """The members in ``mask`` standing again (the engine would have frozen them)."""
    return dataclasses.replace(
        s, collapsed=s.collapsed & ~mask, collapse_day=np.where(mask, -1, s.collapse_day),
        cause=np.where(mask, -1, s.cause).astype(np.int8),
        below_days=np.where(mask, 0.0, s.below_days))


@pytest.mark.parametrize("enabled", [True, False])
def test_stability_kernel_matches_numpy(small: Scenario, enabled: bool, daily_states) -> None:
    # stresses that wander in and out of [0, 1] around a level of each member, with exact ties
    # between the equally weighted military and fiscal stresses; fallen members are revived
    sc = small.with_overrides(["stability.threshold_days=4", "stability.collapse_threshold=0.45",
                               "stability.base_hazard=0.0001",
                               f"stability.enabled={str(enabled).lower()}"])
    *_, (state, params) = daily_states(sc, 30, members=8, seed=24)
    p, E = params.stability, state.members
    assert p.weight_military[0] == p.weight_fiscal[0]
    rng = np.random.default_rng(25)
    plain = fast = state.stability
    level = rng.uniform(0.2, 0.8, E)
    by_hazard = by_days = ties = 0
    for day in range(30, 600):
        level = np.clip(level + rng.normal(0.0, 0.05, E), 0.0, 1.0)
        stress = level[:, None] + rng.normal(0.0, 0.15, (E, 5))
        stress[rng.random((E, 5)) < 0.1] = rng.choice([-0.5, 0.0, 1.0, 1.5])
        tie = rng.random(E) < 0.3
        stress[tie, 1] = stress[tie, 0]
        u = rng.random((E, 1)).astype(np.float32)
        plain, ev_p = stability.assess_stability(plain, p, day, stress, u)
        fast, ev_f = kstability.assess_stability(fast, p, day, stress, u)
        _assert_identical(plain, fast)
        _assert_same_events(ev_p, ev_f)
        new = plain.collapse_day == day
        contrib = plain.stress * stability.weights(p, E)
        ties += np.sum(new & (contrib[:, 0] == contrib[:, 1]) & (contrib.argmax(axis=1) == 0))
        by_days += np.sum(new & (plain.below_days >= p.threshold_days))
        by_hazard += np.sum(new & (plain.below_days < p.threshold_days))
        if enabled:  # the leader's threat follows the stress
            np.testing.assert_allclose(
                plain.threat, p.threat_floor + (1.0 - p.threat_floor) * (1.0 - plain.stability),
                rtol=1e-12, atol=1e-15)
        back = plain.collapsed & (day - plain.collapse_day >= 3)
        plain, fast = _revive(plain, back), _revive(fast, back)
    if enabled:
        assert by_hazard > 0 and by_days > 0 and ties > 0, (by_hazard, by_days, ties)
        assert np.ptp(plain.threat) > 0
    else:
        assert not plain.collapsed.any() and (plain.threat == state.stability.threat).all()


def test_stress_kernels_match_numpy(small: Scenario, daily_states) -> None:
    # the front's and the elite's stresses through a run, then on the edges: no slack at the
    # start, slack above it, a bank run, dry banks, the whole elite out
    n = 0
    for state, _params in daily_states(small, 40, members=5, seed=26):
        np.testing.assert_array_equal(front.military_stress(state.front),
                                      kstability.military_stress(state.front))
        np.testing.assert_array_equal(elites.elite_stress(state.elites),
                                      kstability.elite_stress(state.elites))
        n += 1
    f, el = state.front, state.elites
    slack0 = f.slack0.copy()
    slack0[0] = 0.0
    slack0[1, 1] = -1.0
    slack = f.slack.copy()
    slack[2] = 2.0 * slack0[2]
    slack[3, 0] = np.nan
    f = dataclasses.replace(f, slack0=slack0, slack=slack)
    out = el.out.copy()
    out[0] = True
    out[1, ::2] = True
    el = dataclasses.replace(
        el, out=out, bank_run=np.array([False, True, False, False, False]),
        liquidity=np.array([0.5, 0.5, 0.0, 0.3, 0.2]),
        withdrawal_share=np.array([0.1, 0.2, 0.05, 0.9, 0.0]))
    np.testing.assert_array_equal(front.military_stress(f), kstability.military_stress(f))
    np.testing.assert_array_equal(elites.elite_stress(el), kstability.elite_stress(el))
    assert n == 40

"""M10 allies: circumvention sum, the Hungarian vote against the normal CDF, monotone status."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import ndtr

from loyaltytrap.mechanisms.allies import (
    ALLIES,
    KEYS,
    UNIFORMS_PER_DAY,
    AlliesParams,
    circumvention,
    defeat_probability,
    indicators,
    init_allies,
    lose_allies,
)
from loyaltytrap.params import param_specs, replace

E = 6
STATUS = dict(venezuela=0.1, cuba=0.2, hungary=0.8, iran=0.7, belarus=0.5)
WEIGHT = dict(venezuela=0.05, cuba=0.02, hungary=0.15, iran=0.2, belarus=0.1)


def make_params(E: int = E, **kw: float) -> AlliesParams:
    base: dict[str, float] = {}
    for k in KEYS:
        base[f"{k}_status"] = STATUS[k]
        base[f"{k}_hazard"] = 0.0
        base[f"{k}_weight"] = WEIGHT[k]
    base.update(other_channels=0.5, hungary_election_day=1e6, hungary_opposition_lead=10.0,
                hungary_poll_error_sd=7.0, recovery_rate=0.0, iran_drone_parts_share=0.4,
                defect_sensitivity=0.2)
    base.update(kw)
    return AlliesParams(enabled=True, **{k: np.full(E, float(v)) for k, v in base.items()})


def test_every_parameter_has_a_unit() -> None:
    for name, spec in param_specs(AlliesParams).items():
        assert spec.unit, name


def test_circumvention_is_the_weighted_sum_of_statuses() -> None:
    p = make_params()
    status = np.random.default_rng(0).random((E, len(ALLIES)))
    w = np.array([WEIGHT[k] for k in KEYS])
    np.testing.assert_allclose(circumvention(p, status), 0.5 + status @ w)
    s = init_allies(p, E)
    expected0 = 0.5 + sum(STATUS[k] * WEIGHT[k] for k in KEYS)
    np.testing.assert_allclose(s.capacity, expected0)
    np.testing.assert_allclose(s.supply_index, 1.0)
    np.testing.assert_allclose(s.defect_shift, 0.0)
    np.testing.assert_allclose(s.drone_parts, 1.0)


def test_losing_iran_cuts_capacity_drone_parts_and_raises_defects() -> None:
    p = make_params(iran_hazard=50.0)  # certain loss on day 0
    s0 = init_allies(p, E)
    u = np.full((E, UNIFORMS_PER_DAY), 0.5)
    s, ev = lose_allies(s0, p, 0, u)
    assert s.lost[:, KEYS.index("iran")].all() and s.lost.sum() == E
    np.testing.assert_allclose(s.drone_parts, 0.6)
    cap = s0.capacity - 0.7 * 0.2
    np.testing.assert_allclose(s.supply_index, cap / s0.capacity)
    np.testing.assert_allclose(s.defect_shift, 0.2 * (1 - cap / s0.capacity))
    (batch,) = ev
    assert batch.event == "ally_lost" and set(batch.label) == {"Iran"}
    np.testing.assert_allclose(batch.value, 0.7)


def test_election_loss_probability_is_the_normal_cdf() -> None:
    n = 20_000
    for lead, sd in ((10.0, 7.0), (10.0, 4.0), (-2.0, 5.0)):
        p = make_params(E=n, hungary_election_day=30.0, hungary_opposition_lead=lead,
                        hungary_poll_error_sd=sd)
        s = init_allies(p, n)
        u = np.random.default_rng(7).random((n, UNIFORMS_PER_DAY)).astype(np.float32)
        s29, ev = lose_allies(s, p, 29, u)
        assert not s29.election_held.any() and ev == []
        s30, ev = lose_allies(s29, p, 30, u)
        assert s30.election_held.all()
        prob = ndtr(lead / sd)
        np.testing.assert_allclose(defeat_probability(p, n), prob)
        share = s30.opposition_won.mean()
        assert abs(share - prob) < 4 * np.sqrt(prob * (1 - prob) / n) + 1e-3, (share, prob)
        h = KEYS.index("hungary")
        np.testing.assert_array_equal(s30.lost[:, h], s30.opposition_won)
        np.testing.assert_array_equal(s30.status[:, h] == 0, s30.opposition_won)
        # the vote happens once
        s31, ev31 = lose_allies(s30, p, 31, 1 - u)
        np.testing.assert_array_equal(s31.opposition_won, s30.opposition_won)
        assert not [e for e in ev31 if e.event == "election"]


def test_statuses_never_rise_without_recovery() -> None:
    p = make_params(venezuela_hazard=0.01, cuba_hazard=0.005, hungary_hazard=0.001,
                    iran_hazard=0.003, belarus_hazard=0.0005, hungary_election_day=100.0)
    s = init_allies(p, E)
    rng = np.random.default_rng(2)
    lost_days = 0
    for day in range(1000):
        s1, _ = lose_allies(s, p, day, rng.random((E, UNIFORMS_PER_DAY)).astype(np.float32))
        assert (s1.status <= s.status).all()
        assert (s1.capacity <= s.capacity + 1e-15).all()
        lost_days += int(s1.lost.sum() > s.lost.sum())
        s = s1
    assert lost_days > 0
    assert (s.status[s.lost] == 0).all()


def test_recovery_returns_lost_help() -> None:
    p = make_params(cuba_hazard=50.0, recovery_rate=0.1)
    s, _ = lose_allies(init_allies(p, E), p, 0, np.full((E, UNIFORMS_PER_DAY), 0.5))
    c = KEYS.index("cuba")
    assert (s.status[:, c] == 0).all()
    s2, ev = lose_allies(s, p, 1, np.full((E, UNIFORMS_PER_DAY), 0.5))
    np.testing.assert_allclose(s2.status[:, c], 0.1 * 0.2)
    assert ev == []  # a lost ally is not lost again


def test_disabled_is_neutral_and_inputs_untouched() -> None:
    p = make_params(iran_hazard=50.0, hungary_election_day=0.0)
    s0 = init_allies(p, E)
    u = np.full((E, UNIFORMS_PER_DAY), 0.5, dtype=np.float32)
    for arr in (u, s0.status, s0.lost):
        arr.flags.writeable = False
    off, ev = lose_allies(s0, replace(p, enabled=False), 0, u)
    assert ev == [] and not off.lost.any() and not off.election_held.any()
    np.testing.assert_allclose(off.supply_index, 1.0)
    np.testing.assert_allclose(off.defect_shift, 0.0)
    on, ev = lose_allies(s0, p, 0, u)
    assert on.lost[:, KEYS.index("iran")].all()
    assert {e.event for e in ev} == {"ally_lost", "election"}


@pytest.mark.parametrize("ind", indicators(), ids=lambda d: d["name"])
def test_indicators_shape(ind: dict) -> None:
    s = init_allies(make_params(), E)
    out = np.asarray(ind["fn"](s))
    assert out.shape == ((E, len(ALLIES)) if ind["extra_dim"] else (E,))

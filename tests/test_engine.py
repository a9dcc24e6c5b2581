"""Engine-level properties: determinism, batch independence, invariants, contracts."""

from __future__ import annotations

import numpy as np
import pytest

from loyaltytrap.engine import Params, init_state, step
from loyaltytrap.mechanisms import MECHANISMS
from loyaltytrap.mechanisms.reporting import settled
from loyaltytrap.rng import Streams
from loyaltytrap.scenario import Scenario, draw_parameters
from loyaltytrap.simulate import simulate


def test_same_seed_same_output_different_seed_different(small: Scenario) -> None:
    a = simulate(small, members=3, seed=7, days=120)
    b = simulate(small, members=3, seed=7, days=120)
    c = simulate(small, members=3, seed=8, days=120)
    assert a.dataset.equals(b.dataset)
    assert a.events.equals(b.events)
    assert not a.dataset["true_total"].equals(c.dataset["true_total"])


def test_results_do_not_depend_on_batch_size(small: Scenario) -> None:
    one = simulate(small, members=5, seed=3, days=150, batch=1)
    all_ = simulate(small, members=5, seed=3, days=150, batch=5)
    two = simulate(small, members=5, seed=3, days=150, batch=2)
    for other in (all_, two):
        assert one.dataset.equals(other.dataset)
        assert one.events.reset_index(drop=True).equals(other.events.reset_index(drop=True))


def test_invariants_hold_every_day(small: Scenario, daily_states) -> None:
    n_officers = None
    for s, p in daily_states(small, 300):
        o = s.officers
        n_officers = n_officers or o.fear.shape[1]
        assert o.fear.shape[1] == n_officers == p.tree.n  # officer count fixed
        for x in (o.fear, o.competence, o.loyalty, o.candour):
            assert np.all((x >= 0) & (x <= 1))
        r, d = settled(s.reports), s.decisions  # with today's removals applied
        for x in (r.hidden, r.inflight, r.known, r.unresolved, d.queue, d.queue_age,
                  s.purges.total, s.purges.fates, d.reruns_total, d.expired_total,
                  d.owned):
            assert np.all(x >= -1e-9)
        # every unresolved problem's news is somewhere, exactly once
        placed = (r.hidden.sum(axis=(1, 2))
                  + r.inflight.sum(axis=(1, 2, 3)) + r.known.sum(axis=1))
        np.testing.assert_allclose(placed, r.unresolved.sum(axis=1), rtol=1e-9, atol=1e-6)
        # every unresolved problem has exactly one request waiting for a decision
        np.testing.assert_allclose(d.queue.sum(axis=1), r.unresolved.sum(axis=1),
                                   rtol=1e-9, atol=1e-6)
        assert np.all(r.known <= r.unresolved + 1e-9)
        # purges by cause and by fate count the same officers
        np.testing.assert_allclose(s.purges.total.sum(axis=1), s.purges.fates.sum(axis=1))


def _stepped(sc: Scenario, members: int, seed: int, days: int):
    """A batch's parameters, streams and state after ``days`` pure steps."""
    records, _ = draw_parameters(sc, np.arange(members), seed)
    params = Params.from_records(records)
    streams = Streams(seed, np.arange(members))
    state = init_state(params, streams)
    for _ in range(days):
        state, _ = step(state, params, streams)
    return params, streams, state


def test_step_does_not_modify_its_input(small: Scenario) -> None:
    params, streams, state = _stepped(small, 2, 0, 30)

    def arrays(obj):
        for v in vars(obj).values():
            if isinstance(v, np.ndarray):
                yield v
            elif hasattr(v, "__dataclass_fields__"):
                yield from arrays(v)

    for a in arrays(state):
        a.flags.writeable = False
    for _ in range(5):
        state, _ = step(state, params, streams)  # raises if a sub-step writes in place


@pytest.mark.parametrize("extra", [(), ("reporting.hop_delay_days=2",),
                                   ("reporting.hop_delay_days=0",)])
def test_reused_state_arrays_give_the_same_run(small: Scenario, extra, monkeypatch) -> None:
    # run_batch lets the compiled command day write over yesterday's news in flight and
    # buried stocks; the run must be the one the pure steps give, bit for bit
    from loyaltytrap import engine

    sc = small.with_overrides(list(extra))
    reused = simulate(sc, members=3, seed=5, days=150)
    pure_step = engine.step
    monkeypatch.setattr(engine, "step", lambda s, p, st, reuse=False: pure_step(s, p, st))
    pure = simulate(sc, members=3, seed=5, days=150)
    assert reused.dataset.equals(pure.dataset)
    assert reused.events.equals(pure.events)


def test_reuse_keeps_a_fallen_member_as_it_was(small: Scenario) -> None:
    # a member whose regime fell is frozen from yesterday's state: with reuse asked for,
    # the step must not write over it
    import copy
    import dataclasses

    params, streams, state = _stepped(small, 3, 2, 80)
    stock = state.reports.hidden_sev.sum(axis=1)
    f = int(np.argmax(stock))  # the fallen one holds buried news, which ages and worsens
    assert stock[f] > 0
    fallen = np.arange(3) == f
    state = dataclasses.replace(
        state, stability=dataclasses.replace(state.stability, collapsed=fallen))
    twin, twin_streams = copy.deepcopy(state), copy.deepcopy(streams)
    new, _ = step(state, params, streams, reuse=True)
    ref, _ = step(twin, params, twin_streams)
    for rec, name in [("reports", n) for n in ("inflight", "inflight_sev", "inflight_age",
                                               "hidden", "hidden_sev", "hidden_age", "candid",
                                               "surfaced", "surfaced_age")] + \
            [("officers", n) for n in ("fear", "status", "competence", "loyalty", "candour",
                                       "vacant_until")] + \
            [("decisions", "queue"), ("decisions", "queue_age")]:
        today = getattr(getattr(new, rec), name)
        yesterday = getattr(getattr(twin, rec), name)
        np.testing.assert_array_equal(today, getattr(getattr(ref, rec), name))
        np.testing.assert_array_equal(today[f], yesterday[f])  # the fallen member: as it was
    # unfrozen, its stock would have moved on (so that staying put means something)
    thawed = dataclasses.replace(
        twin, stability=dataclasses.replace(twin.stability, collapsed=np.zeros(3, bool)))
    moved, _ = step(thawed, params, copy.deepcopy(twin_streams))
    assert not np.array_equal(moved.reports.hidden_sev[f], twin.reports.hidden_sev[f])
    assert not np.array_equal(moved.officers.fear[f], twin.officers.fear[f])


@pytest.mark.parametrize("mech", [m.key for m in MECHANISMS])
def test_every_mechanism_can_be_switched_off(small: Scenario, mech: str) -> None:
    sc = small.with_overrides([f"{mech}.enabled=false"])
    r = simulate(sc, members=2, seed=0, days=200)
    ds = r.dataset
    assert ds.sizes["day"] == 200
    for name in ("true_total", "fear_mean", "purged_total", "decision_backlog"):
        assert np.isfinite(ds[name].values).all()


def test_switching_off_shows_in_the_indicators(small: Scenario) -> None:
    def run(*ov: str):
        return simulate(small.with_overrides(list(ov)), members=4, seed=2, days=300).dataset

    base = run()
    assert float(base["purged_total"].isel(day=-1).sum()) > 0
    assert float(base["suppressed_share"].mean()) > 0
    assert float(run("purges.enabled=false")["purged_total"].isel(day=-1).sum()) == 0
    assert float(run("reporting.enabled=false")["suppressed_share"].fillna(0).max()) == 0
    assert float(run("signoff.enabled=false")["levels_climbed"].fillna(0).max()) == 0
    assert float(run("leader.enabled=false")["surprises_total"].isel(day=-1).sum()) == 0
    money_off = run("money.enabled=false")
    assert float(money_off["reserves_usd_bn"].std("day").max()) < 1e-9
    assert float(money_off["risk_aversion"].max()) == 0
    assert float(run("industry.enabled=false")["supply_ratio"].min()) == 1
    assert float(run("strikes.enabled=false")["strikes_total"].max()) == 0
    assert float(run("front.enabled=false")["own_losses"].max()) == 0
    assert float(run("elites.enabled=false")["hoarding_diverted"].max()) == 0
    assert float(run("allies.enabled=false")["allies_lost"].max()) == 0
    assert float(run("stability.enabled=false")["collapsed"].max()) == 0
    flat = run("hierarchy.enabled=false")
    assert flat.sizes["level"] == 1
    assert float(run("world.enabled=false")["true_total"].max()) == 0


def test_stocks_change_only_through_their_flows(small: Scenario) -> None:
    """Through the full coupled engine: reserves move only by revenue, spending and what the
    elites divert; plant capacity only by damage and repair; the officer count never moves."""
    ds = simulate(small.with_overrides(["stability.enabled=false"]), members=3, seed=6,
                  days=400).dataset
    r = ds["reserves_usd_bn"].values
    flow = (ds["revenue_usd_bn"] - ds["spending_usd_bn"] - ds["diverted_usd_bn"]).values
    np.testing.assert_allclose(np.diff(r, axis=1), flow[:, 1:], atol=1e-9)
    # standing capacity + capacity awaiting repair is the whole plant
    cap = ds["plant_capacity"].sum("plant").values
    np.testing.assert_allclose(cap + ds["repair_backlog"].values, ds.sizes["plant"], atol=1e-9)
    lost = ds["capacity_lost_total"].values
    restored = ds["capacity_restored_total"].values
    np.testing.assert_allclose(ds.sizes["plant"] - cap, lost - restored + (
        ds.sizes["plant"] - cap[:, :1] - (lost[:, :1] - restored[:, :1])), atol=1e-9)
    assert (np.diff(lost, axis=1) >= -1e-12).all() and (np.diff(restored, axis=1) >= -1e-12).all()


@pytest.mark.parametrize(("hazard", "some_stand"), [(0.0005, True), (0.02, False)])
def test_fallen_members_leave_the_batch_without_changing_anyone(
    small: Scenario, hazard: float, some_stand: bool
) -> None:
    # a regime that falls stops being simulated; the others run on with their own streams,
    # and the fallen member's indicators stay at its collapse-day values to the horizon (also
    # when every regime has fallen and the run stops early)
    sc = small.with_overrides([f"stability.base_hazard={hazard}"])
    one = simulate(sc, members=6, seed=11, days=250, batch=1)
    all_ = simulate(sc, members=6, seed=11, days=250, batch=6)
    collapsed = one.dataset["collapsed"].values
    assert not np.isnan(collapsed).any() and not one.dataset["fear_mean"].isnull().any()
    fell = collapsed[:, -1] > 0
    assert fell.any() and (not fell.all()) == some_stand
    assert one.dataset.equals(all_.dataset)
    assert one.events.reset_index(drop=True).equals(all_.events.reset_index(drop=True))
    for m in np.flatnonzero(fell):
        day = int(np.argmax(collapsed[m] > 0))
        after = one.dataset["fear_mean"].values[m, day:]
        assert np.all(after == after[0])
        assert (one.events.loc[one.events["member"] == m, "day"] <= day).all()


def test_records_declare_their_officer_level_fields() -> None:
    # the recorder stacks the per-member fields of many days and leaves out those declared
    # officer-level: the declaration must match the shapes (default tree: N = 1,365
    # officers; news in flight is kept for the P = 341 above the units)
    import dataclasses

    from loyaltytrap.scenario import load_scenario

    records, _ = draw_parameters(load_scenario("kremlin-2026"), np.arange(2), 0)
    params = Params.from_records(records)
    state = init_state(params, Streams(0, np.arange(2)))
    officer_axes = {params.tree.n, params.tree.n_superiors}
    for rec in dataclasses.fields(state):
        value = getattr(state, rec.name)
        if not dataclasses.is_dataclass(value):
            continue
        declared = set(getattr(value, "officer_fields", ()))
        found = {f.name for f in dataclasses.fields(value)
                 if isinstance(x := getattr(value, f.name), np.ndarray)
                 and officer_axes & set(x.shape[1:])}
        assert declared == found, rec.name


def test_the_dataset_dates_are_the_start_date_plus_each_day(small: Scenario) -> None:
    import datetime as dt

    import pandas as pd

    ds = simulate(small, members=1, seed=0, days=40).dataset
    start = small.meta.start_date
    expected = pd.to_datetime([start + dt.timedelta(days=int(d)) for d in range(1, 41)])
    dates = pd.DatetimeIndex(ds["date"].values)
    assert list(ds["day"].values) == list(range(1, 41))
    assert dates.equals(expected) and ds["date"].dtype == expected.dtype
    assert ds["date"].values[0] == np.datetime64(start + dt.timedelta(days=1))


@pytest.mark.parametrize("kernel", ["numba", "numpy"])
def test_a_switched_off_mechanism_draws_no_uniforms(small: Scenario, kernel: str,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    # every mechanism with a day's stream switched off: their streams are never drawn, and
    # the run is the one they would give if drawn (none of them reads its numbers when off)
    monkeypatch.setenv("LOYALTYTRAP_KERNEL", kernel)
    off = ["allies", "money", "strikes", "industry", "front", "elites", "stability",
           "signoff", "leader"]
    sc = small.with_overrides([f"{m}.enabled=false" for m in off])
    a = simulate(sc, members=3, seed=4, days=60)
    _, streams, _ = _stepped(sc, 3, 4, 5)
    drawn = set(streams._daily) | set(streams._blocks)  # (stream, tag) drawn so far
    days = {(m, "draw") for m in ("allies", "money", "strikes", "industry", "front", "elites")}
    assert ("world", "arrival") in drawn
    assert not drawn & (days | {("stability", "collapse"), ("signoff", "reruns"),
                                ("leader", "response")}), drawn
    zeros = Streams(1, np.arange(2)).uniform_if(False, "front", "draw", 0, 2)
    assert zeros.shape == (2, 2) and not zeros.any() and not zeros.flags.writeable
    monkeypatch.setattr(Streams, "uniform_if",
                        lambda self, on, stream, tag, day, size: self.uniform(stream, tag, day,
                                                                              size))
    b = simulate(sc, members=3, seed=4, days=60)
    assert a.dataset.equals(b.dataset)
    assert a.events.equals(b.events)

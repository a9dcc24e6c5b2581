"""The compiled kernels compute what the plain NumPy versions compute."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from loyaltytrap import kernels
from loyaltytrap.mechanisms import purges, reporting, signoff, world
from loyaltytrap.scenario import Scenario

pytestmark = pytest.mark.skipif(not kernels.HAVE_NUMBA, reason="numba not installed")


def _assert_same(a: object, b: object) -> None:
    for f in dataclasses.fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        np.testing.assert_allclose(np.asarray(x, float), np.asarray(y, float), rtol=1e-10,
                                   atol=1e-10, err_msg=f.name)


@pytest.mark.parametrize(("hop", "extra"), [
    (0, ()), (1, ()), (2, ()),
    (1, ("reporting.mode=fixed", "reporting.fixed_pass_through=0.6")),
    (1, ("reporting.enabled=false",)),
])
def test_sitrep_kernel_matches_numpy(
    small: Scenario, hop: int, extra: tuple[str, ...], daily_states
) -> None:
    sc = small.with_overrides([f"reporting.hop_delay_days={hop}", *extra])
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
    for a, b in zip(signoff.decide(*args), kernels.decide(*args), strict=True):
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


def test_purge_kernels_match_numpy(small: Scenario, daily_states) -> None:
    sc = small.with_overrides(["purges.candour_purge_prob=0.3", "purges.liability_hazard=0.05",
                               "purges.candour_exposure_decay=1",
                               "purges.scapegoat_purge_prob=0.5"])
    *_, (state, params) = daily_states(sc, 60, members=5, seed=4)
    rng = np.random.default_rng(2)
    E, N = state.members, params.tree.n
    o = state.officers
    candid = rng.random((E, N)) < 0.4
    surfaced = (rng.random((E, N)) < 0.2) * rng.random((E, N))
    args = (params.purges, params.tree, o, 61, candid, surfaced, rng.random(E),
            rng.random((E, N)).astype(np.float32))
    plain, fast = purges.draw_causes(*args), kernels.draw_causes(*args)
    assert (plain[2] >= 0).sum() > 5  # the draw exercises every branch, not just "none"
    for a, b in zip(plain, fast, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=0)
    n_level = rng.integers(0, 3, (E, params.tree.levels)).astype(float)
    n_level[0] = 0.0  # a member with no purges keeps its fear exactly
    spread = (params.purges, params.tree, o.fear, n_level, n_level.sum(axis=1))
    np.testing.assert_allclose(purges.spread_fear(*spread), kernels.spread_fear(*spread),
                               rtol=1e-12, atol=0)


@pytest.mark.parametrize("hop", [0, 2])
def test_shrink_kernel_matches_numpy(small: Scenario, hop: int, daily_states) -> None:
    sc = small.with_overrides([f"reporting.hop_delay_days={hop}"])
    *_, (state, _params) = daily_states(sc, 90, members=4, seed=5)
    rng = np.random.default_rng(3)
    keep_o, keep_h = rng.random((4, 3)), rng.random((4, 3))
    _assert_same(reporting.shrink_reports(state.reports, keep_o, keep_h),
                 kernels.shrink_reports(state.reports, keep_o, keep_h))


def test_problem_placement_kernel_matches_numpy() -> None:
    rng = np.random.default_rng(5)
    edges = np.cumsum(rng.random((4, 3)) * 0.3, axis=1)
    edges[1] = 0.0  # a quiet member: no problems at all
    ua, us = (rng.random((4, 200)).astype(np.float32) for _ in range(2))
    mean = rng.random(4) + 0.5
    plain, fast = world.place_problems(edges, ua, us, mean), kernels.place_problems(
        edges, ua, us, mean)
    assert plain[0].sum() > 50 and plain[0][1].sum() == 0
    for a, b in zip(plain, fast, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=0)


@pytest.mark.parametrize("members", [4, 5])
def test_officer_sums_kernel_matches_numpy(small: Scenario, daily_states, members: int) -> None:
    from loyaltytrap.engine import take_members
    from loyaltytrap.indicators import officer_sums_plain

    sc = small.with_overrides(["purges.candour_purge_prob=0.3"])
    *_, (state, params) = daily_states(sc, 80, members=members, seed=6)
    args = (state.officers, state.reports, state.decisions.queue, params.tree)
    assert (state.officers.status != 0).any()  # vacancies are counted
    fast = kernels.officer_sums(*args)
    for a, b in zip(officer_sums_plain(*args), fast, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    # members summed in pairs (and the odd one alone) give each member's own sums exactly
    for e in range(members):
        one = take_members(state, np.arange(members) == e)
        alone = kernels.officer_sums(one.officers, one.reports, one.decisions.queue,
                                     params.tree)
        for a, b in zip(fast, alone, strict=True):
            np.testing.assert_array_equal(a[..., e:e + 1, :] if a.ndim == 3 else a[:, e:e + 1],
                                          b)


def test_strikes_kernel_matches_numpy(small: Scenario, daily_states) -> None:
    from loyaltytrap.mechanisms import strikes

    sc = small.with_overrides(["strikes.strikes_per_plant_per_year=20",
                               "strikes.repair_days_full=10", "strikes.tool_lead_time_days=12"])
    *_, (state, params) = daily_states(sc, 40, members=5, seed=8)
    rng = np.random.default_rng(9)
    p, E = params.strikes, state.members
    plain = fast = state.strikes
    n_hits = n_done = 0
    for day in range(40, 140):  # a few months: hits, waits, repairs and tool orders all happen
        delay = rng.choice([0.0, 3.0, 7.5, np.nan], E)  # NaN: nothing decided yesterday
        granted = plain.request_usd_bn * rng.choice([0.5, 1.0, 1.0], E)
        circ, u = rng.random(E), rng.random((E, 8)).astype(np.float32)
        plain, ev_p = strikes.strike_and_repair(plain, p, day, delay, granted, circ, u)
        fast, ev_f = kernels.strike_and_repair(fast, p, day, delay, granted, circ, u)
        _assert_same(plain, fast)
        assert [(b.event, b.member.tolist()) for b in ev_p] == [
            (b.event, b.member.tolist()) for b in ev_f]
        for a, b in zip(ev_p, ev_f, strict=True):
            np.testing.assert_allclose(a.value, b.value, rtol=1e-12)
        n_hits += int(plain.hit.sum())
        n_done += sum(len(b) for b in ev_p if b.event == "repair_done")
    assert n_hits > 5 and n_done > 0


def test_elite_agents_kernel_matches_numpy(small: Scenario, daily_states) -> None:
    from loyaltytrap.mechanisms import elites

    *_, (state, _params) = daily_states(small, 30, members=6, seed=10)
    rng = np.random.default_rng(11)
    plain = fast = state.elites
    for _ in range(60):  # strong news: agents pull out and the cascade runs
        news = rng.exponential(0.004, 6)
        decay = np.full(6, 0.02)
        a, b = elites.move_agents(plain, news, decay), kernels.move_agents(fast, news, decay)
        for x, y in zip(a, b, strict=True):
            np.testing.assert_allclose(np.asarray(x, float), np.asarray(y, float),
                                       rtol=1e-12, atol=1e-12)
        plain = dataclasses.replace(plain, anxiety=a[0], out=a[1])
        fast = dataclasses.replace(fast, anxiety=b[0], out=b[1])
    assert 0 < plain.out.mean() < 1  # some agents out, some still in


@pytest.mark.parametrize("law", ["square", "linear"])
def test_front_kernel_matches_numpy(small: Scenario, law: str, daily_states) -> None:
    from loyaltytrap.mechanisms import front

    sc = small.with_overrides([f"front.law={law}"])
    *_, (state, params) = daily_states(sc, 20, members=6, seed=12)
    rng = np.random.default_rng(13)
    p, E = params.front, state.members
    plain = fast = state.front
    exhausted = 0
    for day in range(20, 400):  # shortages drain the slacks until they run out
        supply = rng.uniform(0.0, 0.9, E)
        latency = np.where(rng.random(E) < 0.2, np.nan, rng.exponential(5.0, E))
        args = (day, supply, rng.random(E), rng.random(E), latency, rng.random(E),
                rng.random((E, 2)).astype(np.float32))
        plain, ev_p = front.fight(plain, p, *args)
        fast, ev_f = kernels.fight(fast, p, *args)
        _assert_same(plain, fast)
        assert [b.member.tolist() for b in ev_p] == [b.member.tolist() for b in ev_f]
        for a, b in zip(ev_p, ev_f, strict=True):
            np.testing.assert_array_equal(a.value, b.value)
            assert a.label.tolist() == b.label.tolist()
        exhausted += sum(len(b) for b in ev_p)
    assert exhausted > 0


def test_elite_cascade_kernel_on_exact_thresholds(small: Scenario, daily_states) -> None:
    # Granovetter's riot: thresholds exactly i/M, where the cascade's comparisons with k/M
    # are ties; the compiled cascade must break them as the plain one does
    from loyaltytrap.mechanisms import elites

    *_, (state, _params) = daily_states(small, 1, members=4, seed=14)
    s = state.elites
    E, M = s.threshold.shape
    grid = np.broadcast_to(np.arange(M) / M, (E, M)).copy()
    grid[1, 1] = 2.0 / M  # one agent moved: the riot stops early (Granovetter's perturbation)
    grid[2] = np.round(grid[2] * 7) / 7  # many exact ties
    out0 = np.zeros((E, M), bool)
    out0[3, :5] = True  # some already out
    s = dataclasses.replace(s, threshold=grid, anxiety=np.zeros((E, M)), out=out0)
    zero = np.zeros(E)
    a, b = elites.move_agents(s, zero, zero), kernels.move_agents(s, zero, zero)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(np.asarray(x, float), np.asarray(y, float))
    assert a[1][0].all() and not a[1][1].all()  # the full riot, and the one it does not reach


@pytest.mark.parametrize("combination", ["product", "min"])
def test_industry_kernel_matches_numpy(small: Scenario, combination: str, daily_states) -> None:
    from loyaltytrap.mechanisms import industry

    sc = small.with_overrides([f"industry.plant_combination={combination}"])
    *_, (state, params) = daily_states(sc, 20, members=6, seed=15)
    rng = np.random.default_rng(16)
    p, E, P = params.industry, state.members, industry.N_PLANTS
    plain = fast = state.industry
    events = 0
    for day in range(20, 200):  # damaged plants, starved budgets and lost channels
        cap = rng.uniform(0.2, 1.0, (E, P))
        tools = rng.uniform(0.3, 1.0, (E, P))
        circ = rng.uniform(0.0, 1.0, E)
        granted = plain.request_usd_bn.sum(axis=1) * rng.choice([0.0, 0.5, 1.0], E)
        u = rng.random((E, 1)).astype(np.float32)
        plain, ev_p = industry.produce(plain, p, day, cap, tools, circ, granted, u)
        fast, ev_f = kernels.produce(fast, p, day, cap, tools, circ, granted, u)
        _assert_same(plain, fast)
        assert [b.member.tolist() for b in ev_p] == [b.member.tolist() for b in ev_f]
        events += sum(len(b) for b in ev_p)
    assert events > 0 and np.isfinite(plain.defect_rate).any()


def test_daily_compiled_uniforms_are_numpys_float32(monkeypatch) -> None:
    from loyaltytrap.rng import Streams

    def draws() -> list[np.ndarray]:
        s = Streams(3, np.array([0, 7, 2]))
        out = [s.uniform("signoff", "queue", d, 13) for d in range(40)]  # odd size
        out += [s.uniform("purges", "draw", d, 5) for d in (3, 4, 9, 20, 33)]  # days skipped
        out.append(s.uniform("purges", "draw", 33, 5))  # the same day again: the same numbers
        # 3 x 41 a day: still a block of days; 3 x 3,000 (over 8,192 a day): a day at a time
        out += [s.uniform("reporting", "sitrep", d, 41) for d in (0, 1, 2, 5)]
        out += [s.uniform("world", "arrival", d, 3000) for d in (0, 1, 4)]
        s = s.take(np.array([True, False, True]))  # mid-block for the small streams
        return out + [s.uniform("signoff", "queue", d, 13) for d in range(40, 50)] + [
            s.uniform("purges", "draw", 34, 5), s.uniform("reporting", "sitrep", 5, 41),
            s.uniform("reporting", "sitrep", 6, 41), s.uniform("world", "arrival", 4, 3000),
            s.uniform("world", "arrival", 5, 3000)]  # 2 x 3,000 now: still a day at a time

    fast = draws()
    s = Streams(3, np.array([0, 7, 2]))  # which streams the compiled draw takes 16 days at once
    s.uniform("reporting", "sitrep", 0, 41), s.uniform("world", "arrival", 0, 3000)
    assert s._daily["reporting", "sitrep"].blocked and not s._daily["world", "arrival"].blocked
    monkeypatch.setenv("LOYALTYTRAP_KERNEL", "numpy")  # drawn by Generator.random(float32)
    plain = draws()
    for a, b in zip(fast, plain, strict=True):
        np.testing.assert_array_equal(a, b)
    assert fast[0].dtype == np.float32 and fast[0].min() >= 0.0 and fast[0].max() < 1.0


@pytest.mark.parametrize("harsh", [False, True])
def test_purge_day_kernel_matches_numpy(small: Scenario, harsh: bool, daily_states) -> None:
    # the whole day of M3 (draw, scapegoat, replacements from the sparse stream, counts, fear
    # spread, events) compiled against the plain version, over many days from the same state
    from loyaltytrap.kernels.purges import purge_officers as fast_purge
    from loyaltytrap.rng import Streams

    extra = ["purges.candour_purge_prob=0.3", "purges.liability_hazard=0.05",
             "purges.scapegoat_purge_prob=0.5", "purges.vacancy_days=3"] if harsh else []
    sc = small.with_overrides(extra)
    *_, (state, params) = daily_states(sc, 30, members=5, seed=17)
    rng = np.random.default_rng(18)
    E, N = state.members, params.tree.n
    s_plain, s_fast = Streams(5, np.arange(E)), Streams(5, np.arange(E))
    o_p = o_f = state.officers
    c_p = c_f = state.purges
    purged = 0
    for day in range(30, 90):
        candid = rng.random((E, N)) < 0.5
        surfaced = (rng.random((E, N)) < 0.1) * rng.random((E, N))
        target = np.where(rng.random(E) < 0.3, rng.integers(0, N, E), -1)
        threat = rng.random(E)
        u = rng.random((E, N)).astype(np.float32)
        o_p, c_p, ev_p = purges.purge_officers(c_p, params.purges, params.tree, o_p, day,
                                               candid, surfaced, target, threat, u, s_plain)
        o_f, c_f, ev_f = fast_purge(c_f, params.purges, params.tree, o_f, day, candid,
                                    surfaced, target, threat, u, s_fast)
        for f in dataclasses.fields(o_p):
            np.testing.assert_array_equal(getattr(o_p, f.name), getattr(o_f, f.name), f.name)
            assert getattr(o_p, f.name).dtype == getattr(o_f, f.name).dtype, f.name
        _assert_same(c_p, c_f)
        assert [b.event for b in ev_p] == [b.event for b in ev_f]
        for a, b in zip(ev_p, ev_f, strict=True):
            for f in dataclasses.fields(a):
                x, y = getattr(a, f.name), getattr(b, f.name)
                if isinstance(x, np.ndarray):
                    np.testing.assert_array_equal(x, y, f"{a.event}.{f.name}")
        purged += sum(len(b) for b in ev_p if b.event == "purge")
    assert purged > (100 if harsh else 0)


@pytest.mark.parametrize("extra", [
    (), ("reporting.hop_delay_days=0", "hierarchy.levels=8", "hierarchy.branching=2"),
    ("purges.candour_purge_prob=0.3", "purges.scapegoat_purge_prob=0.5",
     "leader.response_scapegoat=0.4", "leader.response_fix=0.5",
     "leader.surprise_threshold=0.05"),
    ("signoff.enabled=false", "leader.enabled=false", "purges.enabled=false"),
    # the benchmarks' kernel: no post takes a request up, none expires, so the compiled day
    # does not draw the sign-off's stream (the plain one does) and must still agree
    ("signoff.enabled=false", "signoff.capacity_per_day=0", "signoff.expiry_hazard=0",
     "leader.enabled=false"),
])
def test_command_day_kernel_matches_numpy(small: Scenario, extra: tuple[str, ...],
                                          daily_states) -> None:
    # sub-steps 6-10 in one compiled call against the plain engine.command_day, day after day
    # from the same state, under pressures, shortages and money worries drawn at random
    from loyaltytrap.engine import command_day
    from loyaltytrap.rng import Streams

    sc = small.with_overrides(list(extra))
    *_, (state, params) = daily_states(sc, 40, members=5, seed=19)
    rng = np.random.default_rng(20)
    E = state.members
    s_plain, s_fast = Streams(6, np.arange(E)), Streams(6, np.arange(E))
    plain = fast = state
    n_events: dict[str, int] = {}
    for _ in range(60):
        front = 1.0 + rng.exponential(0.5, (E, 2))
        supply, risk = rng.uniform(0.3, 1.2, E), rng.random(E)
        out_p = command_day(plain, params, front, supply, risk, s_plain)
        out_f = kernels.command_day(fast, params, front, supply, risk, s_fast)
        for a, b in zip(out_p[:6], out_f[:6], strict=True):
            _assert_same(a, b)
        np.testing.assert_allclose(out_p[7], out_f[7], rtol=1e-12)
        ev_p, ev_f = [b for b in out_p[6] if len(b)], out_f[6]  # the log keeps non-empty ones
        assert [(b.event, b.member.tolist()) for b in ev_p] == [
            (b.event, b.member.tolist()) for b in ev_f]
        for a, b in zip(ev_p, ev_f, strict=True):
            for f in ("officer", "level", "value", "value2"):
                x, y = getattr(a, f), getattr(b, f)
                if x is not None:
                    np.testing.assert_allclose(x, y, rtol=1e-10, err_msg=f"{a.event}.{f}")
            if a.label is not None:
                assert a.label.tolist() == b.label.tolist()
            n_events[a.event] = n_events.get(a.event, 0) + len(a)
        names = ("officers", "reports", "decisions", "leader", "purges", "pressure")
        plain = dataclasses.replace(plain, day=plain.day + 1, **dict(zip(names, out_p[:6],
                                                                         strict=True)))
        fast = dataclasses.replace(fast, day=fast.day + 1, **dict(zip(names, out_f[:6],
                                                                      strict=True)))
    if "purges.enabled=false" not in extra:
        assert n_events.get("surfaced", 0) > 0 and n_events.get("purge", 0) > 0
    drawn = any(("signoff", "queue") in d for d in (s_fast._daily, s_fast._blocks, s_fast._lazy))
    assert drawn == ("signoff.capacity_per_day=0" not in extra)


@pytest.mark.parametrize("bank_model", ["liquidity", "diamond_dybvig"])
def test_elites_day_kernel_matches_numpy(small: Scenario, bank_model: str,
                                         daily_states) -> None:
    # M9's whole day compiled (news and rumour, agents, hoarding, the banks' test, events)
    from loyaltytrap.mechanisms import elites

    # deposits enough for a run under either model once most of the elite is out
    share = "0.98" if bank_model == "diamond_dybvig" else "0.6"
    sc = small.with_overrides([f"elites.bank_model={bank_model}", "elites.state_backstop=0.05",
                               f"elites.elite_deposit_share={share}"])
    *_, (state, params) = daily_states(sc, 10, members=6, seed=21)
    rng = np.random.default_rng(22)
    E = state.members
    plain = fast = state.elites
    runs = 0
    for day in range(10, 200):  # strikes, a falling cushion and surprises: the elite runs
        strikes = rng.poisson(3.0, E).astype(float)
        fall = np.minimum(day / 150.0 * rng.random(E), 1.0)
        surprises = (rng.random(E) < 0.2).astype(float)
        u = rng.random((E, 1)).astype(np.float32)
        plain, ev_p = elites.unnerve_elites(plain, params.elites, day, strikes, fall,
                                            surprises, u)
        fast, ev_f = kernels.unnerve_elites(fast, params.elites, day, strikes, fall,
                                            surprises, u)
        _assert_same(plain, fast)
        ev_p = [b for b in ev_p if len(b)]
        assert [(b.event, b.member.tolist()) for b in ev_p] == [
            (b.event, b.member.tolist()) for b in ev_f]
        for a, b in zip(ev_p, ev_f, strict=True):
            np.testing.assert_allclose(a.value, b.value, rtol=1e-12)
            np.testing.assert_allclose(a.value2, b.value2, rtol=1e-12)
        runs += sum(len(b) for b in ev_p if b.event == "bank_run")
    assert plain.out.any() and runs > 0


def test_special_functions_called_by_address_are_scipys() -> None:
    import numba
    from scipy.special import ndtri, pdtr

    from loyaltytrap.kernels.special import NDTRI, PDTR, call_ndtri, call_pdtr

    @numba.njit
    def both(ndtri_at, pdtr_at, p, k, m):  # pragma: no cover - compiled
        return call_ndtri(ndtri_at, p), call_pdtr(pdtr_at, k, m)

    p = np.array([1e-12, 1e-7, 0.025, 0.5, 0.975, 1 - 1e-7, 0.0, 1.0, np.nan])
    k = np.array([0.0, 1.0, 3.0, 7.0, 40.0, 2.5, -1.0, 5.0, np.nan])
    m = np.array([0.1, 1.0, 3.7, 7.0, 30.0, 2.0, 1.0, 0.0, 1.0])
    got = np.array([both(NDTRI, PDTR, a, b, c) for a, b, c in zip(p, k, m, strict=True)])
    np.testing.assert_array_equal(got[:, 0], ndtri(p))
    np.testing.assert_array_equal(got[:, 1], pdtr(k, m))


def test_compiled_poisson_quantile_is_the_plain_one() -> None:
    # the strikes kernel sums the Poisson CDF term by term and asks scipy's pdtr only near q:
    # the answers are pdtr's, over random and exactly tied quantiles and a wide range of rates
    from scipy.special import pdtr

    from loyaltytrap.kernels.special import PDTR
    from loyaltytrap.kernels.strikes import _poisson_quantile
    from loyaltytrap.mechanisms.strikes import poisson_quantile

    rng = np.random.default_rng(23)
    q = rng.random(20000).astype(np.float32).astype(np.float64)
    mu = np.exp(rng.uniform(-5.0, 5.6, 20000))  # up to ~270 a day: the pdtr-only branch too
    q[:40] = pdtr(np.arange(40) % 8, 3.7)  # ties: q equal to the CDF itself
    mu[:40] = 3.7
    fast = [_poisson_quantile(a, b, PDTR) for a, b in zip(q, mu, strict=True)]
    np.testing.assert_array_equal(poisson_quantile(q, mu), fast)


def test_front_inputs_and_regime_stress_kernels_match_numpy(small: Scenario,
                                                            daily_states) -> None:
    # the engine's glue around M8 and M12, compiled: what the front reads of the chain of
    # command, and the regime's five stresses, day after day of a run with collapses near
    from loyaltytrap import engine

    sc = small.with_overrides(["hierarchy.levels=9", "hierarchy.branching=2"])  # L >= 8 sums
    checked = 0
    for state, params in daily_states(sc, 120, members=5, seed=24):
        for a, b in zip(engine.front_inputs(state, params.tree),
                        kernels.front_inputs(state, params.tree), strict=True):
            np.testing.assert_array_equal(a, b)
        fear_mean = state.officers.fear.mean(axis=1)
        m = state.money
        fall = np.clip(1.0 - m.reserves / np.maximum(m.initial_reserves, 1e-12), 0.0, 1.0)
        args = (state.front, fall, state.elites, state.reports, fear_mean)
        np.testing.assert_array_equal(engine.regime_stress(*args), kernels.regime_stress(*args))
        checked += np.isnan(engine.decision_latency(state.decisions)).sum()
    assert checked > 0  # days without decisions (NaN latency) are among them


def test_result_blocks_are_the_arrays_stacked() -> None:
    from loyaltytrap.kernels.blocks import rows

    rng = np.random.default_rng(3)
    for shape, dtype in (((5,), np.float64), ((4, 3), np.float64), ((2, 7), np.int64)):
        arrays = tuple((rng.random(shape) * 100).astype(dtype) for _ in range(6))
        out = rows(arrays)
        assert out.dtype == dtype and out.flags.c_contiguous
        np.testing.assert_array_equal(out, np.stack(arrays))
        first, *_ = out  # the rows the kernels' callers take are views of the block
        assert first.base is out and first.flags.c_contiguous


def _place_entries(edges, ua, us, mean):
    # the sparse placement's entries, unit by unit and edge by edge, with nothing passed over
    start, rows = [0], []
    for e in range(edges.shape[0]):
        for j in range(ua.shape[1]):
            x, lower = ua[e, j], 0.0
            for k in range(edges.shape[1]):
                if x >= lower and x < edges[e, k]:
                    rows += [(j, k, 1.0, 0.0),
                             (j, -1, 0.0, -mean[e] * np.log1p(-np.float64(us[e, j])))]
                lower = edges[e, k]
        start.append(len(rows))
    return np.array(start), *(np.array(c) for c in zip(*rows, strict=True))


def test_sparse_placement_passes_over_only_what_takes_nothing() -> None:
    # the command day's placement skips a unit whose uniform is at or above every edge: the
    # same entries as testing every edge, edges in any order, zero or NaN included
    from loyaltytrap.kernels.officers import _place, _place_sparse

    rng = np.random.default_rng(11)
    edges = np.cumsum(rng.random((6, 3)) * 0.3, axis=1)
    edges[1] = 0.0  # nothing arises
    edges[2] = [0.4, 0.1, 0.3]  # not increasing: [0.1, 0.3) is taken twice
    edges[3, 1] = np.nan
    edges[4] = np.nan
    ua, us = (rng.random((6, 300)).astype(np.float32) for _ in range(2))
    ua[5, :10] = [0.0, *edges[5], *(edges[5] - 1e-9), 1.0 - 2**-24, 0.5, 0.99]
    mean = rng.random(6) + 0.5
    want = _place_entries(edges, ua, us, mean)
    got = _place_sparse(edges, ua, us, mean)
    assert want[0][-1] > 200 and want[0][2] == want[0][1]
    np.testing.assert_array_equal(want[0], got[0])
    m = got[0][-1]
    for a, b in zip(want[1:4], got[1:4], strict=True):  # unit, kind, amount
        np.testing.assert_array_equal(a, b[:m])
    # the severities as the dense compiled placement computes them (Numba's log1p, which
    # may differ from NumPy's in the last bit)
    member = np.repeat(np.arange(6), np.diff(got[0]))
    dense_sev = _place(edges, ua, us, mean)[1][member, got[1][:m]]
    np.testing.assert_array_equal(np.where(got[2][:m] < 0, dense_sev, 0.0), got[4][:m])


def test_sitreps_refuse_arrivals_out_of_unit_order(
    small: Scenario, daily_states, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the sitreps visit only the units with arrivals, found in the order the placement
    # writes them: arrivals out of that order would be visited wrongly, so they are refused
    from loyaltytrap.kernels import officers as ko

    *_, (state, params) = daily_states(small, 30, members=2, seed=3)
    E, U = state.members, params.tree.n_units
    new = np.zeros((E, 3, U))
    new[0, 0, [2, 5]] = 1.0
    sev = new.sum(axis=1)
    o = state.officers
    args = (state.reports, params.reporting, params.tree, 31, new, sev, o.fear, o.candour,
            np.zeros((E, params.tree.n), np.float32))
    kernels.sanitize_reports(*args)  # in order: fine
    start, *entries = ko._sparse_arrivals(new, sev)
    monkeypatch.setattr(ko, "_sparse_arrivals",
                        lambda *_: (start, *(a[::-1].copy() for a in entries)))
    with pytest.raises(ValueError, match="order of the units"):
        kernels.sanitize_reports(*args)

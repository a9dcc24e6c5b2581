"""The Mesa peer, the pure-Python reference and the two compiled loops (fused, event-driven) run
the engine's hierarchy kernel: ensemble statistics of all five agree within statistical
intervals, and the identities every implementation must keep hold exactly (no speed assertions
here)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from benchmarks import (
    check_mesa_equivalence,
    compiled_kernel,
    event_kernel,
    kernel,
    reference_kernel,
)

kernel_scenario, member_params = kernel.kernel_scenario, kernel.member_params


def test_member_params_are_the_engine_draws() -> None:
    sc = kernel_scenario(4, 3)
    a, b = member_params(sc, 3, seed=5), member_params(sc, 3, seed=5)
    assert a == b and a[0] != a[1]
    assert a[0].n_officers == 40 and a[0].level_sizes == [1, 3, 9, 27]


def test_reference_is_deterministic_and_conserves_news() -> None:
    p = member_params(kernel_scenario(4, 3), 1, seed=0)[0]
    r1 = reference_kernel.run_member(p, 120, seed=1, member=0)
    r2 = reference_kernel.run_member(p, 120, seed=1, member=0)
    assert r1 == r2
    relayed = r1["reaching_top_share"] * r1["arisen_total"]
    # every problem is relayed, buried, surfaced or still climbing (at most one day per level)
    assert relayed + r1["hidden_problems"] + r1["surfaced_total"] <= r1["arisen_total"] + 1e-9


LOOPS = [pytest.param(compiled_kernel, id="fused"), pytest.param(event_kernel, id="event")]


@pytest.mark.parametrize("loop", LOOPS)
def test_compiled_loop_is_deterministic_and_conserves_news(loop) -> None:
    p = member_params(kernel_scenario(4, 3), 1, seed=0)[0]
    days = loop.run_days(p, 120, seed=1, member=0)
    assert days.shape == (120, len(kernel.METRICS))
    assert (days == loop.run_days(p, 120, seed=1, member=0)).all()
    assert not (days == loop.run_days(p, 120, seed=1, member=1)).all()
    last = loop.run_member(p, 120, seed=1, member=0)
    assert list(last) == list(kernel.METRICS) and last["arisen_total"] == days[-1, 6]
    cum = days[:, [2, 5, 6]]  # purged, surfaced and arisen so far never fall
    assert (cum[1:] >= cum[:-1]).all()
    assert ((days[:, 1] >= 0) & (days[:, 1] <= 1)).all()
    assert (days[:, 4] >= 0).all()
    relayed = last["reaching_top_share"] * last["arisen_total"]
    assert relayed + last["hidden_problems"] + last["surfaced_total"] <= last["arisen_total"]


@pytest.mark.parametrize("loop", LOOPS)
def test_compiled_loop_buries_everything_and_loses_nothing(loop) -> None:
    # every holder buries (scrubbing certain): nothing climbs, so every problem that arose is
    # buried at its unit or has surfaced, exactly; the stocks surface on the day they reach
    # the threshold, whether or not anything is buried that day (the event loop's calendar)
    p = member_params(kernel_scenario(4, 3), 1, seed=0)[0]
    p = dataclasses.replace(p, scrub_sensitivity=1e9, candour_mean=0.0, candour_sd=0.0,
                            front_problem_rate=0.05, severity_growth=0.05)
    days = loop.run_days(p, 400, seed=2, member=0)
    assert (np.nan_to_num(days[:, 0]) == 0).all()
    np.testing.assert_array_equal(days[:, 4] + days[:, 5], days[:, 6])
    assert days[-1, 5] > 0.5 * days[-1, 6]  # most of it surfaced


@pytest.mark.parametrize("loop", LOOPS)
def test_compiled_loop_fear_fades_in_closed_form(loop) -> None:
    # no purges: every officer's fear fades towards the baseline by the same factor a day
    # (fast, so that the event loop folds its per-level maps into the officers' values)
    p = member_params(kernel_scenario(4, 3), 1, seed=0)[0]
    p = dataclasses.replace(p, candour_purge_prob=0.0, fear_decay=0.5)
    days = loop.run_days(p, 400, seed=3, member=0)
    t = np.arange(1, 401)
    want = p.fear_baseline + (p.initial_fear - p.fear_baseline) * 0.5**t
    np.testing.assert_allclose(days[:, 1], want, rtol=1e-12, atol=1e-15)
    assert (days[:, 2] == 0).all() and (days[:, 3] == 0).all()


@pytest.mark.parametrize("loop", LOOPS)
def test_compiled_loop_vacancies_last_their_days(loop) -> None:
    # every vacancy lasts exactly vacancy_days: the posts vacant on a day are those purged in
    # the vacancy_days before it (the event loop ends them first in, first out)
    p = member_params(kernel_scenario(4, 3), 1, seed=0)[0]
    p = dataclasses.replace(p, candour_purge_prob=0.5, candour_exposure_decay=0.9,
                            vacancy_days=7.0)
    days = loop.run_days(p, 300, seed=4, member=0)
    purged = np.concatenate([np.zeros(7), days[:, 2]])
    np.testing.assert_array_equal(days[:, 3], purged[7:] - purged[:-7])
    assert days[-1, 2] > 50


def test_mesa_peer_runs_and_records_every_day() -> None:
    pytest.importorskip("mesa")
    from benchmarks.mesa_peer import HierarchyKernel

    p = member_params(kernel_scenario(3, 3), 1, seed=0)[0]
    model = HierarchyKernel(p, rng=[0, 0])
    assert len(model.agents) == p.n_officers == 13
    assert len(model.units) == 9
    for _ in range(30):
        model.step()
    df = model.datacollector.get_model_vars_dataframe()
    assert len(df) == 30 and model.steps == 30
    assert ((df["fear_mean"] >= 0) & (df["fear_mean"] <= 1)).all()


def test_engine_mesa_reference_and_compiled_loops_agree_in_distribution() -> None:
    pytest.importorskip("mesa")
    checks = check_mesa_equivalence.run_checks(members=30, days=200, levels=4, branching=3,
                                               seed=0, z=4.0)
    failed = [f"[{c.setting}] " + r.line(c.a, c.b) for c in checks for r in c.rows if not r.ok]
    assert not failed, "\n".join(failed)


def test_run_writes_results(tmp_path: Path) -> None:
    pytest.importorskip("mesa")
    pytest.importorskip("psutil")
    from benchmarks import run

    code = run.main(["--quick", "--skip", "single,batch,ensemble", "--out", str(tmp_path)])
    assert code == 0
    r = json.loads((tmp_path / "latest.json").read_text())
    assert {"bandwidth", "kernel", "mesa", "fused", "event", "targets"} <= set(r)
    assert r["fused"]["officer_steps"] == r["kernel"]["officer_steps"]
    assert r["event"]["officer_steps"] == r["kernel"]["officer_steps"]
    assert r["kernel"]["officer_steps"] == 4 * r["kernel"]["officers"] * 30
    assert len(list(tmp_path.glob("*.json"))) == 2
    # the four implementations ran in alternating rounds, the order reversed every other one
    c = r["comparison"]
    assert c["rounds"] == 1 and len(c["order"]) == 1
    assert c["order"][0] == ["kernel.simulate", "kernel.loop", "mesa.mesa", "fused.fused",
                             "event.event"]
    assert c["engine_x_mesa_by_round"] == [pytest.approx(r["mesa"]["engine_ratio"])]
    assert r["bandwidth"]["python_probe_s"] > 0 and r["comparison"]["python_probe_s"] > 0
    # the bandwidth by working set: the kernel batch's state is its members' states, and the
    # kernel's traffic is set against the bandwidth at that size
    by_size = r["bandwidth"]["by_size"]
    sizes = by_size["sizes_bytes"]
    state = r["kernel"]["bytes_per_member_day"]["state_bytes"]
    assert sizes["one member's state"] == state
    assert sizes["the kernel batch's state"] == 4 * state
    assert sizes["the triad's array"] == 8 * r["bandwidth"]["elements"]
    for name, v in by_size["rates"].items():
        assert v["array_bytes"] == max(sizes[name] // 8, 512) * 8
        assert v["read_bytes_per_s"] > 0 and v["scale_bytes_per_s"] > 0
    rate = by_size["rates"]["the kernel batch's state"]["scale_bytes_per_s"]
    assert r["kernel"]["fraction_of_batch_bandwidth"] == pytest.approx(
        r["kernel"]["compulsory_bytes_per_s"] / rate)
    assert r["phase"] == {"slow": False}  # nothing stored to compare with


def test_rounds_alternate_and_keep_the_best(monkeypatch: pytest.MonkeyPatch) -> None:
    from rich.progress import Progress

    from benchmarks import run

    ran: list[str] = []
    clock = iter(range(100))
    monkeypatch.setattr(run.time, "perf_counter", lambda: float(next(clock)))

    def contender(part: str, name: str, cost: int) -> run.Contender:
        def go(advance) -> None:  # each run costs `cost` ticks of the fake clock
            ran.append(f"{part}.{name}")
            for _ in range(cost - 1):
                next(clock)
        return run.Contender(part, name, name, 1, 1000, go)

    cs = [contender("kernel", "simulate", 2), contender("kernel", "loop", 1),
          contender("mesa", "mesa", 5)]
    info = {"kernel": {"members": 1, "days": 1, "officer_steps": 1000,
                       "bytes_per_member_day": {"total": 10}},
            "mesa": {"officer_steps": 1000}}
    def fails(advance) -> None:
        ran.append("fused.fused")
        raise RuntimeError("broken")

    cs.append(run.Contender("fused", "fused", "fused", 1, 1000, fails))
    info["fused"] = {"officer_steps": 1000}
    out = run.compare_kernels(cs, info, 3, Progress(disable=True))
    # the failing loop ran once, was reported and left out of the later rounds
    assert ran == ["kernel.simulate", "kernel.loop", "mesa.mesa", "fused.fused", "mesa.mesa",
                   "kernel.loop", "kernel.simulate", "kernel.simulate", "kernel.loop",
                   "mesa.mesa"]
    assert out["comparison"]["errors"] == {"fused": "RuntimeError: broken"}
    assert "fused" not in out
    assert out["kernel"]["simulate_times_s"] == [2.0, 2.0, 2.0]
    assert out["kernel"]["officer_steps_per_s"] == 500.0
    assert out["kernel"]["officer_steps_per_s_loop"] == 1000.0
    assert out["kernel"]["compulsory_bytes_per_s"] == 10.0
    assert out["mesa"]["officer_steps_per_s"] == 200.0
    assert out["comparison"]["engine_x_mesa_by_round"] == [2.5, 2.5, 2.5]


def test_a_failing_implementation_is_left_out_and_reported(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    pytest.importorskip("mesa")
    pytest.importorskip("psutil")
    from benchmarks import event_kernel, mesa_peer, run

    def broken(*args, **kwargs):
        raise RuntimeError("no such model")

    monkeypatch.setattr(mesa_peer.HierarchyKernel, "step", broken)  # fails in its rounds
    monkeypatch.setattr(event_kernel, "run_days", broken)  # fails in its setup
    code = run.main(["--quick", "--skip", "single,batch,ensemble", "--out", str(tmp_path)])
    assert code == 1  # an error: the exit status says so
    r = json.loads((tmp_path / "latest.json").read_text())
    assert r["errors"] == {"mesa": "RuntimeError: no such model",
                           "event": "RuntimeError: no such model"}
    assert "mesa" not in r and "event" not in r and "mesa_ratio" not in r["targets"]
    # the engine and the fused loop were still compared
    assert len(r["kernel"]["simulate_times_s"]) == len(r["fused"]["times_s"]) == 1
    assert r["fused"]["officer_steps"] == r["kernel"]["officer_steps"]


def test_phase_against_the_stored_runs_of_the_same_cpu(tmp_path: Path) -> None:
    from benchmarks import run

    size = {"members": 1, "days": 365, "officers": 1365}

    zen3 = "vendor_id AuthenticAMD, cpu family 25, model 1, stepping 1, cache size 512 KB"
    zen4 = "vendor_id AuthenticAMD, cpu family 25, model 17, stepping 0, cache size 1024 KB"

    def stored(name: str, cpu: str, triad: float, mesa: float, probe: float | None,
               days: int = 365, cpu_id: str | None = zen4) -> None:
        res = {"machine": {"cpu": cpu, "cpu_id": cpu_id},
               "bandwidth": {"triad_bytes_per_s": triad, "elements": 2**26},
               "mesa": {"officer_steps_per_s": mesa, **size, "days": days}}
        if probe is not None:
            res["single"] = {"python_probe_s": probe}
            # as run.py stores a run that was itself set against earlier ones: its phase
            # check keeps the probe's comparison (a table, not seconds) under the same name
            res["phase"] = {"python_probe_s": {"value": probe, "usual": probe,
                                               "stored_runs": 1, "speed": 1.0},
                            "slow": False}
        (tmp_path / name).write_text(json.dumps(res))

    stored("2026-12-01T100000.json", "EPYC", 24e9, 300e3, None)
    stored("2026-12-01T110000.json", "EPYC", 26e9, 310e3, 0.025)
    stored("2026-12-01T120000.json", "EPYC", 25e9, 290e3, 0.027)
    stored("2026-12-01T121000.json", "EPYC", 25e9, 90e3, None, days=10)  # Mesa: other sizes
    stored("2026-12-01T130000.json", "Xeon", 10e9, 100e3, 0.1)  # another machine: not read
    # the same model name on another host's CPU, or with no identity recorded: not read
    stored("2026-12-01T131000.json", "EPYC", 12e9, 160e3, 0.014, cpu_id=zen3)
    stored("2026-12-01T132000.json", "EPYC", 12e9, 160e3, 0.014, cpu_id=None)
    (tmp_path / "latest.json").write_text("{}")  # not a dated run
    (tmp_path / "2026-12-01T140000.json").write_text("not json")  # skipped here
    now = {"machine": {"cpu": "EPYC", "cpu_id": zen4},
           "bandwidth": {"triad_bytes_per_s": 8.5e9, "elements": 2**26},
           "mesa": {"officer_steps_per_s": 270e3, **size},
           "single": {"python_probe_s": 0.052}, "comparison": {"python_probe_s": 0.052}}
    ph = run.phase(now, tmp_path)
    assert ph["triad_bytes_per_s"]["usual"] == 25e9
    assert ph["triad_bytes_per_s"]["stored_runs"] == 4
    assert ph["triad_bytes_per_s"]["speed"] == pytest.approx(0.34)
    assert ph["mesa_officer_steps_per_s"]["stored_runs"] == 3
    assert ph["mesa_officer_steps_per_s"]["speed"] == pytest.approx(0.9)
    assert ph["python_probe_s"]["usual"] == pytest.approx(0.026)
    assert ph["python_probe_s"]["speed"] == pytest.approx(0.5)  # twice the usual time
    assert ph["slow"]
    assert "memory bandwidth, triad at 34 % of its usual speed" in run.describe_phase(ph)
    now["bandwidth"]["triad_bytes_per_s"] = 25e9
    now["single"]["python_probe_s"] = now["comparison"]["python_probe_s"] = 0.026
    assert not run.phase(now, tmp_path)["slow"]
    now["bandwidth"]["elements"] = 2**20  # a smoke run's arrays: nothing to compare with
    assert "triad_bytes_per_s" not in run.phase(now, tmp_path)
    now["machine"]["cpu_id"] = zen3  # the Zen 3 host: its one run is the usual
    ph = run.phase(now, tmp_path)
    assert ph["python_probe_s"] == {"value": 0.026, "usual": 0.014, "stored_runs": 1,
                                    "speed": pytest.approx(0.014 / 0.026)}
    assert ph["mesa_officer_steps_per_s"]["stored_runs"] == 1
    now["machine"]["cpu_id"] = None  # a CPU without an identity matches nothing
    assert run.phase(now, tmp_path) == {"slow": False}


def test_cpu_identity_from_cpuinfo() -> None:
    from benchmarks import history, run

    text = ("processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 25\nmodel\t\t: 1\n"
            "model name\t: AMD EPYC\nstepping\t: 1\ncpu MHz\t\t: 2445.406\n"
            "cache size\t: 512 KB\n\nprocessor\t: 1\nmodel\t\t: 99\n")
    info = run.cpuinfo(text)
    assert info["model"] == "1" and info["cpu mhz"] == "2445.406"  # the first processor's
    ident = run.cpu_identity(info)
    assert ident == ("vendor_id AuthenticAMD, cpu family 25, model 1, stepping 1, "
                     "cache size 512 KB")
    assert run.cpu_identity({}) is None
    a = {"cpu": "AMD EPYC", "cpu_id": ident}
    assert run.same_cpu(a, dict(a))
    assert not run.same_cpu(a, {**a, "cpu_id": ident.replace("model 1,", "model 17,")})
    assert not run.same_cpu({"cpu": "AMD EPYC"}, {"cpu": "AMD EPYC"})  # no identity recorded
    assert history._cpu({"machine": a}) == "AMD EPYC (f25 m1 s1)"
    assert history._cpu({"machine": {"cpu": "AMD EPYC"}}) == "AMD EPYC"

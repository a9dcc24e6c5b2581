"""The Mesa peer, the pure-Python reference and the fused compiled loop run the engine's
hierarchy kernel: ensemble statistics of all four agree within statistical intervals (no speed
assertions here)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import check_mesa_equivalence, compiled_kernel, kernel, reference_kernel

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


def test_fused_loop_is_deterministic_and_conserves_news() -> None:
    p = member_params(kernel_scenario(4, 3), 1, seed=0)[0]
    days = compiled_kernel.run_days(p, 120, seed=1, member=0)
    assert days.shape == (120, len(kernel.METRICS))
    assert (days == compiled_kernel.run_days(p, 120, seed=1, member=0)).all()
    assert not (days == compiled_kernel.run_days(p, 120, seed=1, member=1)).all()
    last = compiled_kernel.run_member(p, 120, seed=1, member=0)
    assert list(last) == list(kernel.METRICS) and last["arisen_total"] == days[-1, 6]
    cum = days[:, [2, 5, 6]]  # purged, surfaced and arisen so far never fall
    assert (cum[1:] >= cum[:-1]).all()
    assert ((days[:, 1] >= 0) & (days[:, 1] <= 1)).all()
    relayed = last["reaching_top_share"] * last["arisen_total"]
    assert relayed + last["hidden_problems"] + last["surfaced_total"] <= last["arisen_total"]


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


def test_engine_mesa_reference_and_fused_loop_agree_in_distribution() -> None:
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
    assert {"bandwidth", "kernel", "mesa", "fused", "targets"} <= set(r)
    assert r["fused"]["officer_steps"] == r["kernel"]["officer_steps"]
    assert r["kernel"]["officer_steps"] == 4 * r["kernel"]["officers"] * 30
    assert len(list(tmp_path.glob("*.json"))) == 2

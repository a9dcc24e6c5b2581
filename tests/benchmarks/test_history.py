"""benchmarks/history.py reads the dated results and marks the targets missed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import history


def _result(date: str, single: float, ensemble: float | None, met: bool) -> dict:
    r = {"machine": {"date": date, "commit": "abc1234", "uptime_s": 600.0},
         "single": {"median_s": single},
         "kernel": {"officer_steps_per_s": 2e7}, "mesa": {"officer_steps_per_s": 4e5},
         "fused": {"officer_steps_per_s": 8e7}, "bandwidth": {"triad_bytes_per_s": 2.5e10},
         "targets": {"single_run_s": {"met": single <= 0.25},
                     "mesa_ratio": {"met": False}}}
    if ensemble is not None:
        r["ensemble"] = {"ensemble_1000_s": ensemble, "part_wall_s": ensemble,
                         "part_steal_s": 13.0}
        r["machine"]["cores"] = 2
        r["targets"]["ensemble_1000_s"] = {"met": met}
        r["phase"] = {"slow": not met}
    return r


def test_rows_in_time_order_with_missed_targets(tmp_path: Path, capsys) -> None:
    (tmp_path / "2026-12-02T030000.json").write_text(
        json.dumps(_result("2026-12-02T03:00:00", 0.31, 65.0, False)))
    (tmp_path / "2026-12-01T100000.json").write_text(
        json.dumps(_result("2026-12-01T10:00:00", 0.2, None, True)))
    (tmp_path / "latest.json").write_text("{}")  # a copy of the last run: not read
    (tmp_path / "scale-64-2026-11-25T041222.json").write_text("{}")  # another benchmark
    rows = history.rows(history.load(tmp_path))
    assert [r["run"] for r in rows] == ["2026-12-01T10:00:00", "2026-12-02T03:00:00"]
    first, second = rows
    assert first["engine_x_mesa"] == pytest.approx(50.0)
    assert first["fused_x_mesa"] == pytest.approx(200.0)
    assert first["event_x_mesa"] is None and first["ensemble_1000_s"] is None
    assert first["uptime_min"] == pytest.approx(10.0)
    assert first["missed"] == ["engine_x_mesa"]
    assert first["ensemble_steal_pct"] is None
    assert first["triad_GBs"] == pytest.approx(25.0)
    assert first["phase"] is None and second["phase"] == "slow"
    assert second["ensemble_steal_pct"] == pytest.approx(10.0)
    assert second["missed"] == ["single_s", "ensemble_1000_s", "engine_x_mesa"]
    assert history.main(["--dir", str(tmp_path), "--csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("run,commit,cpu,uptime_min,single_s")
    assert lines[2].endswith("single_s ensemble_1000_s engine_x_mesa")
    assert history.main(["--dir", str(tmp_path), "--last", "1"]) == 0
    out = capsys.readouterr().out
    assert "0.310!" in out and "2026-12-01" not in out


def test_bad_input(tmp_path: Path, capsys) -> None:
    assert history.main(["--dir", str(tmp_path)]) == 1  # nothing to show
    assert "no benchmark results" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        history.main(["--dir", str(tmp_path / "missing")])
    assert "not a directory" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        history.main(["--dir", str(tmp_path), "--last", "-1"])
    (tmp_path / "2026-12-02T030000.json").write_text("not json")
    with pytest.raises(SystemExit, match="not a benchmark result"):
        history.main(["--dir", str(tmp_path)])


def test_by_cpu_groups_runs_by_host(tmp_path: Path, capsys) -> None:
    zen3 = "vendor_id AuthenticAMD, cpu family 25, model 1, stepping 1, cache size 512 KB"
    runs = [("2026-12-01T100000", 0.20, 50.0, True, None),
            ("2026-12-02T100000", 0.38, 88.0, False, zen3),
            ("2026-12-02T110000", 0.30, 70.0, False, zen3),
            ("2026-12-02T120000", 0.22, None, True, zen3)]
    for name, single, ensemble, met, ident in runs:
        r = _result(name, single, ensemble, met)
        r["machine"]["cpu"] = "AMD EPYC"
        if ident:
            r["machine"]["cpu_id"] = ident
        (tmp_path / f"{name}.json").write_text(json.dumps(r))
    groups = history.by_cpu(history.rows(history.load(tmp_path)))
    assert [(g["cpu"], g["runs"]) for g in groups] == [
        ("AMD EPYC", 1), ("AMD EPYC (f25 m1 s1)", 3)]
    old, zen = groups
    assert old["single_s_met"] == (1, 1) and old["ensemble_1000_s_met"] == (1, 1)
    assert zen["single_s"] == (0.22, 0.38) and zen["single_s_met"] == (1, 3)
    # the run without an ensemble is not judged by the ensemble's target
    assert zen["ensemble_1000_s"] == (70.0, 88.0) and zen["ensemble_1000_s_met"] == (0, 2)
    assert zen["engine_x_mesa_met"] == (0, 3) and zen["event_x_mesa"] is None
    assert (zen["first"], zen["last"]) == ("2026-12-02T100000", "2026-12-02T120000")
    assert history.main(["--dir", str(tmp_path), "--by-cpu"]) == 0
    out = capsys.readouterr().out
    assert "AMD EPYC (f25 m1 s1)" in out and "0.220-0.380" in out and "1/3" in out

"""The command line: run/runs/show/export/report/compare and their error messages."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from loyaltytrap import report
from loyaltytrap.cli import main
from loyaltytrap.store import Store

TINY = ["--members", "3", "--days", "20", "--set", "hierarchy.levels=4", "--set",
        "hierarchy.branching=3"]


@pytest.fixture()
def db(tmp_path: Path) -> Path:
    """A database holding one tiny complete run (run 1)."""
    path = tmp_path / "cli.duckdb"
    assert main(["run", *TINY, "--db", str(path)]) == 0
    return path


def _err(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "Traceback" not in err
    return err


def test_run_stores_and_lists(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["runs", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "kremlin-2026" in out and "complete" in out
    assert main(["show", "1", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "fear_mean" in out and "scenario_hash" in out


def test_run_no_store_and_env_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    env_db = tmp_path / "env.duckdb"
    monkeypatch.setenv("LOYALTYTRAP_DB", str(env_db))
    assert main(["run", *TINY, "--no-store"]) == 0
    assert "stored as run" not in capsys.readouterr().out and not env_db.exists()
    assert main(["run", *TINY]) == 0
    assert f"stored as run 1 in {env_db}" in capsys.readouterr().out


def test_export_parquet_and_csv(db: Path, tmp_path: Path) -> None:
    import pandas as pd

    assert main(["export", "1", "--format", "parquet", "--out", str(tmp_path / "pq"),
                 "--db", str(db)]) == 0
    daily = pd.read_parquet(tmp_path / "pq" / "run1_daily.parquet")
    assert len(daily) == 3 * 20 and "fear_mean" in daily
    assert main(["export", "latest", "-f", "csv", "-o", str(tmp_path / "csv"),
                 "--db", str(db)]) == 0
    assert (tmp_path / "csv" / "run1_events.csv").exists() or \
        (tmp_path / "csv" / "run1_daily.csv").exists()


def test_report_command(db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                        capsys: pytest.CaptureFixture[str]) -> None:
    """Plumbing only (the report itself is tested in test_report.py)."""
    monkeypatch.setattr(report, "build_report", lambda st, rid: f"<html>run {rid}</html>")
    out = tmp_path / "r" / "x.html"
    assert main(["report", "1", "--out", str(out), "--db", str(db)]) == 0
    assert out.read_text() == "<html>run 1</html>"
    assert f"report: {out.resolve()}" in capsys.readouterr().out


def test_compare_runs_and_scenarios(db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    """A stored run against a scenario run now (the HTML itself is tested in test_report)."""
    monkeypatch.setattr(report, "build_comparison", lambda st, a, b: f"<p>{a} vs {b}</p>")
    capsys.readouterr()
    html = tmp_path / "cmp.html"
    assert main(["compare", "1", "kremlin-2026", *TINY, "--seed", "5", "--report", str(html),
                 "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "kremlin-2026: stored as run 2" in out
    assert "B - A" in out and "fear_mean" in out and "regime survival" in out
    assert html.read_text() == "<p>1 vs 2</p>"


@pytest.mark.parametrize("argv, needle", [
    (["show", "99"], "run 99: no such run"),
    (["show", "abc"], "run 'abc': allowed: a run id"),
    (["export", "1", "--format", "xml"], "--format/-f: invalid choice: 'xml'"),
    (["export", "1", "--out", "/proc/nope"], "--out /proc/nope: cannot write"),
    (["report", "1", "--out", "/proc/nope/r.html"], "--out /proc/nope/r.html"),
    (["compare", "1", "no-such-scenario"], "'no-such-scenario' is neither a run id"),
    (["run", "--members", "0"], "--members = 0: allowed: an integer between"),
    (["run", "--set", "hierarchy.nope=3", *TINY], "hierarchy has no field 'nope'"),
    (["run", "--no-store", "--report"], "--report needs the stored run"),
])
def test_errors_are_one_line_and_keep_results(db: Path, argv: list[str], needle: str,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main([*argv, "--db", str(db)]) == 2
    err = _err(capsys)
    assert needle in err and "\n" not in err
    with Store(db) as st:
        assert list(st.runs("complete")["run_id"]) == [1]
        assert len(st.load(1)["day"]) == 20


def test_missing_database_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["runs", "--db", str(tmp_path / "none.duckdb")]) == 2
    assert "no database there" in _err(capsys)
    assert not (tmp_path / "none.duckdb").exists()


def test_ctrl_c_during_run(db: Path, monkeypatch: pytest.MonkeyPatch,
                           capsys: pytest.CaptureFixture[str]) -> None:
    """Ctrl-C after a stored batch: exit 130, the run is marked interrupted, run 1 intact."""
    from loyaltytrap import cli

    real = cli.executor_batches

    def interrupted(*args: object, **kw: object) -> Iterator[object]:
        it = real(*args, **kw)
        yield next(it)
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "executor_batches", interrupted)
    capsys.readouterr()
    assert main(["run", *TINY, "--batch", "1", "--db", str(db)]) == 130
    assert "interrupted" in capsys.readouterr().err
    with Store(db) as st:
        runs = st.runs().set_index("run_id")["status"].to_dict()
        assert runs == {1: "complete", 2: "interrupted"}

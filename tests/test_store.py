"""The results database: round trip, interrupted runs, migrations, SQL statistics."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
import xarray as xr

from loyaltytrap import stats
from loyaltytrap.scenario import Scenario
from loyaltytrap.simulate import simulate
from loyaltytrap.store import SCHEMA_VERSION, Store, StoreError, migrate, schema_version

DAYS = 30


def test_round_trip(small: Scenario, tmp_path: Path) -> None:
    """What is stored loads back equal to what simulate() returns in memory."""
    with Store(tmp_path / "r.duckdb") as st:
        rid = st.record(small, members=5, seed=3, days=DAYS, batch=2)
        ref = simulate(small, members=5, seed=3, days=DAYS, batch=5)
        ds = st.load(rid)
        xr.testing.assert_allclose(ds, ref.dataset.assign_attrs(ds.attrs))
        assert ds["true_total"].attrs["unit"] == ref.dataset["true_total"].attrs["unit"]
        pd.testing.assert_frame_equal(st.events(rid), ref.events, check_dtype=False)
        pd.testing.assert_frame_equal(st.draws(rid), ref.draws, check_dtype=False)
        assert len(st.provenance(rid)) == len(small.provenance_rows())
        meta = st.run(rid)
        assert meta["status"] == "complete" and meta["members"] == 5 and meta["days"] == DAYS
        assert meta["scenario_hash"] == small.content_hash
        assert meta["overrides"] == list(small.overrides)
        assert "[scenario]" in meta["scenario_toml"]
        one = st.load(rid, indicators=["fear_mean", "fear_by_level"], members=[2, 4])
        assert list(one["member"].values) == [2, 4] and set(one.data_vars) == {
            "fear_mean", "fear_by_level"}


def test_sql_statistics_match_numpy(small: Scenario, tmp_path: Path) -> None:
    """Per-day bands and the run summary computed in SQL equal NumPy on the loaded data."""
    with Store(tmp_path / "s.duckdb") as st:
        rid = st.record(small, members=7, seed=1, days=DAYS, batch=4)
        ds = st.load(rid)
        b = stats.bands(st, rid, "fear_mean")
        np.testing.assert_allclose(b["p50"], np.percentile(ds["fear_mean"], 50, axis=0))
        np.testing.assert_allclose(b["p10"], np.percentile(ds["fear_mean"], 10, axis=0))
        bl = stats.bands(st, rid, "fear_by_level")
        assert len(bl) == DAYS * ds.sizes["level"]
        from loyaltytrap.simulate import summarize

        sql = stats.summary(st, rid).set_index("indicator")
        mem = summarize(ds, tuple(sql.index)).set_index("indicator")
        np.testing.assert_allclose(sql.loc[mem.index, ["p10", "p50", "p90"]].to_numpy(float),
                                   mem[["p10", "p50", "p90"]].to_numpy(float), equal_nan=True)


class _Stop(KeyboardInterrupt):
    pass


def test_keyboard_interrupt_marks_run_incomplete(small: Scenario, tmp_path: Path) -> None:
    """Ctrl-C in the batch loop: the run is 'interrupted', has no rows, the next is fine."""
    db = tmp_path / "k.duckdb"
    with Store(db) as st:
        done = st.record(small, members=2, seed=0, days=10)
        calls = []

        def stop(*_: object) -> None:
            calls.append(1)
            if len(calls) == 2:
                raise _Stop

        with pytest.raises(KeyboardInterrupt):
            st.record(small, members=6, seed=0, days=10, batch=2, on_batch=stop)
        runs = st.runs().set_index("run_id")
        assert runs.loc[2, "status"] == "interrupted"
        for t in ("daily", "events", "draws", "daily_level"):
            n = st.con.execute(f"SELECT count(*) FROM {t} WHERE run_id = 2").fetchall()[0][0]
            assert n == 0, t
        with pytest.raises(StoreError, match="interrupted"):
            st.load(2)
        assert st.resolve("latest") == done
        nxt = st.record(small, members=2, seed=0, days=10)
        assert nxt == 3 and st.run(nxt)["status"] == "complete"
        xr.testing.assert_equal(st.load(nxt), st.load(done).assign_attrs(st.load(nxt).attrs))


KILLED = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from loyaltytrap.scenario import load_scenario
    from loyaltytrap.store import Store
    sc = load_scenario("kremlin-2026", ["hierarchy.levels=4", "hierarchy.branching=3"])
    marker = Path(sys.argv[2])
    def slow(*_):
        marker.write_text("batch stored")
        time.sleep(60)
    with Store(sys.argv[1]) as st:
        st.record(sc, members=4, seed=0, days=10, batch=2, on_batch=slow)
""")


def test_sigkill_leaves_run_incomplete(small: Scenario, tmp_path: Path) -> None:
    """A writer killed with SIGKILL after a committed batch: the next open marks the run
    interrupted and drops its rows; the next run is unaffected."""
    db, marker = tmp_path / "kill.duckdb", tmp_path / "marker"
    with Store(db) as st:
        before = st.record(small, members=2, seed=0, days=10)
    proc = subprocess.Popen([sys.executable, "-c", KILLED, str(db), str(marker)])
    try:
        deadline = time.time() + 30
        while not marker.exists() and time.time() < deadline:
            time.sleep(0.05)
        assert marker.exists(), "the child never stored a batch"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    with Store(db) as st:
        runs = st.runs().set_index("run_id")
        assert runs.loc[2, "status"] == "interrupted"
        assert st.con.execute("SELECT count(*) FROM daily WHERE run_id = 2").fetchall()[0][0] == 0
        assert list(st.runs("complete")["run_id"]) == [before]
        nxt = st.record(small, members=2, seed=0, days=10)
        assert st.run(nxt)["status"] == "complete"
        assert stats.summary(st, nxt, ["fear_mean"])["n"].iloc[0] == 2


def test_migration_from_v1(small: Scenario, tmp_path: Path) -> None:
    """A database written under schema v1 opens, is upgraded, and its run stays readable."""
    db = tmp_path / "v1.duckdb"
    con = duckdb.connect(str(db))
    assert migrate(con, target=1) == 1
    con.execute("INSERT INTO runs (run_id, scenario, scenario_hash, overrides, seed, members, "
                "days, start_date, status) VALUES (1, 'old', 'abc', '[]', 0, 1, 2, "
                "DATE '2026-11-01', 'complete')")
    con.execute('ALTER TABLE daily ADD COLUMN "fear_mean" DOUBLE')
    con.execute("INSERT INTO daily VALUES (1, 0, 1, 0.5), (1, 0, 2, 0.6)")
    con.execute("INSERT INTO indicators VALUES (1, 'fear_mean', 'share', 'M3', 'mean fear', "
                "NULL, true, 'final', 0)")
    con.execute("INSERT INTO events VALUES (1, 2, 0, 'M3', 'purge', 4, 1, 0.5, 0.6, "
                "'candour (jailed)')")
    con.close()
    with Store(db) as st:
        assert schema_version(st.con) == SCHEMA_VERSION == 2
        assert st.load(1)["fear_mean"].values.tolist() == [[0.5, 0.6]]
        ev = st.events(1)
        assert ev["details"].iloc[0].startswith("officer 4 (level 1) purged for candour")
        assert {"host", "pid"} <= set(st._columns("runs"))
        rid = st.record(small, members=1, seed=0, days=5)
        assert rid == 2


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "new.duckdb"
    con = duckdb.connect(str(db))
    migrate(con)
    con.execute("INSERT INTO schema_version VALUES (99, now())")
    con.close()
    with pytest.raises(StoreError, match="newer"):
        Store(db)


def test_unknown_run_and_missing_db(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no database"):
        Store(tmp_path / "none.duckdb", create=False)
    with Store(tmp_path / "e.duckdb") as st:
        with pytest.raises(StoreError, match="no such run"):
            st.resolve("12")
        with pytest.raises(StoreError, match="allowed"):
            st.resolve("abc")


def test_wilson_interval() -> None:
    lo, hi = stats.wilson(np.array([0, 5, 10]), np.array([10, 10, 10]))
    assert lo[0] == 0 and 0.25 < hi[0] < 0.35  # 0/10: [0, 0.278]
    np.testing.assert_allclose([lo[1], hi[1]], [0.2366, 0.7634], atol=1e-3)
    assert hi[2] == pytest.approx(1)


def test_survival_and_causes(small: Scenario, tmp_path: Path) -> None:
    """With a high hazard most regimes fall; survival is monotone and causes add up."""
    sc = small.with_overrides(["stability.base_hazard=0.1"])
    with Store(tmp_path / "c.duckdb") as st:
        rid = st.record(sc, members=8, seed=0, days=60)
        s = stats.survival(st, rid)
        assert s is not None and s["survival"].iloc[0] == 1
        assert (np.diff(s["survival"]) <= 0).all() and s["survival"].iloc[-1] < 0.5
        assert ((s["lo"] <= s["survival"]) & (s["survival"] <= s["hi"])).all()
        c = stats.collapses(st, rid)
        fell = c["collapse_day"].notna()
        assert c.loc[fell, "cause"].notna().all()
        causes = stats.cause_distribution(st, rid)
        assert causes["count"].sum() == fell.sum()


def test_large_runs_use_approximate_bands(small: Scenario, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Above EXACT_ROWS the per-day bands come from t-digests, close to the exact ones."""
    with Store(tmp_path / "a.duckdb") as st:
        rid = st.record(small, members=20, seed=0, days=DAYS)
        exact = stats.bands(st, rid, "fear_mean")
        monkeypatch.setattr(stats, "EXACT_ROWS", 1)
        approx = stats.bands(st, rid, "fear_mean")
        np.testing.assert_allclose(approx["p50"], exact["p50"], atol=0.02)


def test_process_pool_gives_the_same_run(small: Scenario, tmp_path: Path) -> None:
    """Batches run by a process pool store the same numbers as the in-process loop."""
    from loyaltytrap.store import pool_batches

    with Store(tmp_path / "p.duckdb") as st:
        a = st.record(small, members=4, seed=2, days=10, batch=2)
        b = st.record(small, members=4, seed=2, days=10, batch=2,
                      batches=pool_batches(small, 4, 2, 10, batch=2, workers=2))
        xr.testing.assert_equal(st.load(a), st.load(b).assign_attrs(st.load(a).attrs))
        pd.testing.assert_frame_equal(st.events(a), st.events(b))

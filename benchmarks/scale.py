"""A large ensemble stored end to end, with its memory watched from outside.

    python benchmarks/scale.py [--members 10000] [--workers 2] [--batch 64] [--db PATH]

Runs ``loyaltytrap run kremlin-2026 --members N --workers W`` as a child process (the command a
user types), samples the resident memory of the child and every process it starts (Dask
scheduler, nanny and workers) every half second, and prints the peak of their sum, the wall
time, the database size and the rows stored. Results go to ``benchmarks/results/scale-*.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil


def tree_rss(root: psutil.Process) -> tuple[int, int]:
    """Resident bytes of a process and all its descendants, and how many processes."""
    procs = [root]
    with contextlib.suppress(psutil.Error):
        procs += root.children(recursive=True)
    total = 0
    for p in procs:
        with contextlib.suppress(psutil.Error):  # a process may end between list and read
            total += p.memory_info().rss
    return total, len(procs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--members", type=int, default=10_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--db", default=None, help="database (default: a fresh temporary file)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary database")
    a = ap.parse_args()

    tmp = None
    if a.db is None:
        tmp = tempfile.mkdtemp(prefix="loyaltytrap-scale-")
        db = Path(tmp) / "scale.duckdb"
    else:
        db = Path(a.db)
    exe = shutil.which("loyaltytrap") or str(Path(sys.executable).parent / "loyaltytrap")
    cmd = [exe, "run", "kremlin-2026", "--members", str(a.members), "--workers",
           str(a.workers), "--batch", str(a.batch), "--seed", str(a.seed), "--db", str(db)]
    print(" ".join(cmd), flush=True)
    db.parent.mkdir(parents=True, exist_ok=True)
    log = db.with_suffix(".log")
    t0 = time.perf_counter()
    with open(log, "w") as out_f:
        child = subprocess.Popen(cmd, stdout=out_f, stderr=subprocess.STDOUT, text=True)
        root = psutil.Process(child.pid)
        peak, peak_procs, samples = 0, 0, []
        while child.poll() is None:
            rss, n = tree_rss(root)
            if rss > peak:
                peak, peak_procs = rss, n
            samples.append((round(time.perf_counter() - t0, 1), rss))
            time.sleep(0.5)
    wall = time.perf_counter() - t0
    lines = log.read_text(errors="replace").replace("\r", "\n").splitlines()
    print("\n".join(line for line in lines[-60:] if line.strip() and "━" not in line))

    if child.returncode != 0 or not db.exists():
        print(f"the run failed (exit {child.returncode}); its output is in {log}")
        sys.exit(child.returncode or 1)

    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    runs = con.execute("select run_id, status, members from runs "
                       "order by run_id desc limit 1").fetchall()
    counts = {t: con.execute(f"select count(*) from {t}").fetchone()[0]
              for t in ("daily", "events", "draws")
              if con.execute("select count(*) from information_schema.tables where table_name = ?",
                             [t]).fetchone()[0]}
    con.close()
    out = {
        "command": " ".join(cmd[1:]), "members": a.members, "workers": a.workers,
        "batch": a.batch, "exit_code": child.returncode, "wall_s": wall,
        "peak_rss_bytes": peak, "peak_rss_gib": peak / 2**30, "processes_at_peak": peak_procs,
        "db_bytes": db.stat().st_size, "run": runs[0] if runs else None, "rows": counts,
        "machine": {"cpus": os.cpu_count(), "load_avg": os.getloadavg()},
        "samples_every_s": 0.5, "rss_timeline": samples[:: max(1, len(samples) // 400)],
    }
    print(f"exit {child.returncode}; wall {wall:.0f} s; peak RSS of all processes "
          f"{peak / 2**30:.2f} GiB ({peak_procs} processes); database "
          f"{db.stat().st_size / 1e9:.2f} GB; run {out['run']}; rows {counts}")
    res = Path(__file__).resolve().parent / "results"
    res.mkdir(exist_ok=True)
    path = res / f"scale-{a.members}-{time.strftime('%Y-%m-%dT%H%M%S')}.json"
    path.write_text(json.dumps(out, indent=1, default=str))
    print(f"wrote {path}")
    if tmp and not a.keep:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

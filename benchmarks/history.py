"""The benchmark's results over time: one row per run of ``benchmarks/run.py``.

    python benchmarks/history.py [--dir benchmarks/results] [--last 20] [--csv]

Reads every dated result (``<date>T<time>.json``; not ``latest.json``, which repeats the last
one, nor the stored-ensemble runs of ``benchmarks/scale.py``) and prints, oldest first, what
the targets are about: the single run, the 1,000-member ensemble and the share of its vCPU
time the host gave to others (steal), the triad bandwidth and whether ``run.py`` found the
machine in a slow phase (against the runs stored before it), the kernel's officer-steps per
second through ``simulate``, Mesa's, their ratio, and the two compiled loops' ratios to Mesa.
A part a run skipped, or that older runs did not have, is left blank; a target missed is
marked ``!``.
``--csv`` writes the same rows as CSV, for a spreadsheet or a plot. ``--by-cpu`` prints one
row per CPU instead (the machine has run on several hosts, whose figures differ by up to 2x):
how many runs, the range of each figure and how many runs met each target.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
DATED = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{6}\.json$")


def _get(r: dict[str, Any], *path: str) -> Any:
    for key in path:
        if not isinstance(r, dict) or key not in r:
            return None
        r = r[key]
    return r


def _stolen(r: dict[str, Any]) -> float | None:
    # the share of the ensemble's vCPU time the host gave to others
    s, w = _get(r, "ensemble", "part_steal_s"), _get(r, "ensemble", "part_wall_s")
    cores = _get(r, "machine", "cores") or 1
    return 100 * s / (cores * w) if s is not None and w else None


def _ratio(r: dict[str, Any], part: str) -> float | None:
    a, b = _get(r, part, "officer_steps_per_s"), _get(r, "mesa", "officer_steps_per_s")
    return a / b if a and b else None


def _cpu(r: dict[str, Any]) -> str | None:
    # the model name, with family/model/stepping where recorded (since 2026-12-02): the name
    # alone does not tell this machine's hosts apart
    name, ident = _get(r, "machine", "cpu"), _get(r, "machine", "cpu_id")
    if not ident:
        return name
    f = dict(part.rsplit(" ", 1) for part in ident.split(", ") if " " in part)
    return f"{name} (f{f.get('cpu family', '?')} m{f.get('model', '?')} s{f.get('stepping', '?')})"


# column -> (how to read it off a result, how to print it, the target it is judged by)
COLUMNS: dict[str, tuple[Callable[[dict[str, Any]], Any], str, str | None]] = {
    "run": (lambda r: _get(r, "machine", "date"), "{}", None),
    "commit": (lambda r: _get(r, "machine", "commit"), "{}", None),
    "cpu": (_cpu, "{}", None),
    "uptime_min": (lambda r: (_get(r, "machine", "uptime_s") or 0) / 60 or None, "{:.0f}",
                   None),
    "single_s": (lambda r: _get(r, "single", "median_s"), "{:.3f}", "single_run_s"),
    "ensemble_1000_s": (lambda r: _get(r, "ensemble", "ensemble_1000_s"), "{:.1f}",
                        "ensemble_1000_s"),
    "ensemble_steal_pct": (_stolen, "{:.1f}", None),
    "triad_GBs": (lambda r: (_get(r, "bandwidth", "triad_bytes_per_s") or 0) / 1e9 or None,
                  "{:.1f}", None),
    # run.py's verdict on the machine's phase (since the eighth session): slow or usual
    "phase": (lambda r: {True: "slow", False: "usual"}.get(_get(r, "phase", "slow")), "{}",
              None),
    "kernel_M": (lambda r: (_get(r, "kernel", "officer_steps_per_s") or 0) / 1e6 or None,
                 "{:.1f}", None),
    "mesa_k": (lambda r: (_get(r, "mesa", "officer_steps_per_s") or 0) / 1e3 or None, "{:.0f}",
               None),
    "engine_x_mesa": (lambda r: _ratio(r, "kernel"), "{:.1f}", "mesa_ratio"),
    "fused_x_mesa": (lambda r: _ratio(r, "fused"), "{:.0f}", None),
    "event_x_mesa": (lambda r: _ratio(r, "event"), "{:.0f}", None),
}


def load(directory: Path, skip_bad: bool = False) -> list[dict[str, Any]]:
    """Every dated result in ``directory``, oldest first (by file name: the run's time). A
    file that is not a result stops the listing with its name, or is passed over with
    ``skip_bad`` (what ``run.py`` does when it sets a run against the stored ones)."""
    files = sorted(p for p in directory.glob("*.json") if DATED.match(p.name))
    out = []
    for p in files:
        try:
            res = json.loads(p.read_text())
        except (OSError, json.JSONDecodeError) as e:
            if skip_bad:
                continue
            raise SystemExit(f"{p}: not a benchmark result ({e})") from None
        if isinstance(res, dict) or not skip_bad:
            out.append(res)
    return out


def rows(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per result: every column's value (None where absent) and the targets missed."""
    out = []
    for r in results:
        row: dict[str, Any] = {name: read(r) for name, (read, _, _) in COLUMNS.items()}
        row["missed"] = [name for name, (_, _, target) in COLUMNS.items()
                         if target and _get(r, "targets", target, "met") is False]
        out.append(row)
    return out


# the figures --by-cpu gives the range of, and the target each is judged by
SUMMARY = ("single_s", "ensemble_1000_s", "engine_x_mesa", "mesa_k", "triad_GBs",
           "fused_x_mesa", "event_x_mesa")


def by_cpu(table: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per CPU (as the ``cpu`` column reads: with family, model and stepping where
    recorded), in the order each was first seen: the runs, their first and last times, each
    figure's (min, max) over the runs that have it, and for each target how many of the runs
    judged by it met it (``(met, judged)``)."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in table:
        groups.setdefault(row["cpu"] or "(not recorded)", []).append(row)
    out = []
    for cpu, runs in groups.items():
        g: dict[str, Any] = {"cpu": cpu, "runs": len(runs), "first": runs[0]["run"],
                             "last": runs[-1]["run"]}
        for name in SUMMARY:
            judged = [r for r in runs if r[name] is not None]  # the runs with this figure
            vals = [r[name] for r in judged]
            g[name] = (min(vals), max(vals)) if vals else None
            if COLUMNS[name][2]:
                g[f"{name}_met"] = (sum(name not in r["missed"] for r in judged), len(judged))
        out.append(g)
    return out


def _print_by_cpu(table: list[dict[str, Any]], directory: Path) -> None:
    t = Table(title=f"benchmark results in {directory} by CPU (min-max over the runs; met: "
                    "runs that met the target / runs judged)")
    t.add_column("cpu")
    t.add_column("runs", justify="right")
    t.add_column("from - to")
    for name in SUMMARY:
        t.add_column(name, justify="right")
        if COLUMNS[name][2]:
            t.add_column("met", justify="right")
    for g in by_cpu(table):
        cells = [g["cpu"], str(g["runs"]), f"{g['first']} - {g['last']}"]
        for name in SUMMARY:
            fmt = COLUMNS[name][1]
            v = g[name]
            cells.append("" if v is None else f"{fmt.format(v[0])}-{fmt.format(v[1])}")
            if COLUMNS[name][2]:
                met, judged = g[f"{name}_met"]
                cells.append(f"{met}/{judged}" if judged else "")
        t.add_row(*cells)
    Console(width=None if sys.stdout.isatty() else 250).print(t)


def main(argv: list[str] | None = None) -> int:
    """Parse options, print the table (or CSV)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dir", type=Path, default=ROOT / "benchmarks" / "results")
    ap.add_argument("--last", type=int, default=0, help="only the last N runs (0: all)")
    ap.add_argument("--csv", action="store_true", help="CSV on standard output")
    ap.add_argument("--by-cpu", action="store_true",
                    help="one row per CPU: the runs, each figure's range, the targets met")
    a = ap.parse_args(argv)
    if a.last < 0:
        ap.error(f"--last {a.last}: must be 0 (all runs) or more")
    if not a.dir.is_dir():
        ap.error(f"--dir {a.dir}: not a directory")
    table = rows(load(a.dir))
    if a.last:
        table = table[-a.last:]
    if not table:
        print(f"no benchmark results in {a.dir}", file=sys.stderr)
        return 1
    if a.by_cpu:
        _print_by_cpu(table, a.dir)
        return 0
    if a.csv:
        w = csv.writer(sys.stdout)
        w.writerow([*COLUMNS, "missed"])
        for row in table:
            w.writerow([*("" if row[c] is None else row[c] for c in COLUMNS),
                        " ".join(row["missed"])])
        return 0
    t = Table(title=f"benchmark results in {a.dir} ({len(table)} runs; ! = target missed)")
    for name in COLUMNS:
        t.add_column(name, justify="left" if name in ("run", "commit") else "right")
    for row in table:
        cells = []
        for name, (_, fmt, _) in COLUMNS.items():
            v = row[name]
            cell = "" if v is None else fmt.format(v)
            cells.append(cell + ("!" if name in row["missed"] else ""))
        t.add_row(*cells)
    # wide rows: not wrapped to 80 columns when written to a file or a pipe
    Console(width=None if sys.stdout.isatty() else 200).print(t)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

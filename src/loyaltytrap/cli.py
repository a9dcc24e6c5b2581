"""The command line: parse, call the library, print. Nothing here that Python users lack."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from .executors import EXECUTORS
from .executors import batches as executor_batches
from .scenario import Scenario, ScenarioError, find_scenario, load_scenario
from .store import Store, StoreError, default_path

console = Console(width=None if sys.stdout.isatty() else 160)
err_console = Console(stderr=True, soft_wrap=True)

Command = Callable[[argparse.Namespace], int]
COMMANDS: dict[str, Command] = {}


class UsageError(Exception):
    """Bad command-line input; the message says which option, the value and what is allowed."""


def positive_int(name: str, lo: int = 1, hi: int = 10_000_000) -> Callable[[str], int]:
    """An argparse type for an integer option with bounds and a clear message."""

    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{name} = {text!r}: allowed: an integer between {lo} and {hi}") from None
        if not lo <= v <= hi:
            raise argparse.ArgumentTypeError(
                f"{name} = {v}: allowed: an integer between {lo} and {hi}")
        return v

    return parse


def add_run_args(p: argparse.ArgumentParser, positional: bool = True) -> None:
    """Options shared by every command that runs a scenario."""
    if positional:
        p.add_argument("scenario", nargs="?", default="kremlin-2026",
                       help="scenario name under scenarios/ or a path to a .toml file")
    p.add_argument("--members", "-n", type=positive_int("--members"), default=200,
                   help="ensemble members (default 200)")
    p.add_argument("--days", "-d", type=positive_int("--days", 1, 36500), default=None,
                   help="days to simulate (default: the scenario's horizon)")
    p.add_argument("--seed", "-s", type=positive_int("--seed", 0, 2**63 - 1), default=0,
                   help="root seed of the seed tree (default 0)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a parameter, option or switch, e.g. hierarchy.levels=7 or "
                        "purges.enabled=false (repeatable)")
    p.add_argument("--batch", type=positive_int("--batch", 1, 100_000), default=64,
                   help="members simulated together (memory vs speed; results do not depend "
                        "on it)")
    p.add_argument("--workers", "-j", type=positive_int("--workers", 1, 256), default=1,
                   help="processes running batches (default 1; results do not depend on it)")
    p.add_argument("--executor", choices=EXECUTORS, default=None,
                   help="who runs the batches: local (this process), process (a process pool) "
                        "or dask (a Dask cluster: a local one on 127.0.0.1, or --scheduler); "
                        "default local with one worker, dask with more")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="address of a running Dask scheduler (tcp://host:8786) for sweeps "
                        "that outgrow this machine; implies --executor dask")


def add_db_arg(p: argparse.ArgumentParser) -> None:
    """The --db option of every command that touches stored results."""
    p.add_argument("--db", type=Path, default=None,
                   help=f"results database (default ${'{'}ENV{'}'} or out/loyaltytrap.duckdb)"
                   .replace("{ENV}", "LOYALTYTRAP_DB"))


def progress_bar(total: int, label: str) -> Progress:
    """A progress bar over member-days."""
    return Progress(
        TextColumn(f"[bold]{label}"), BarColumn(), TextColumn("{task.percentage:>5.1f}%"),
        TimeElapsedColumn(), TimeRemainingColumn(), console=err_console, transient=False,
        disable=not err_console.is_terminal and total < 0,
    )


def summary_table(title: str, df: pd.DataFrame) -> Table:
    """The p10/p50/p90 summary as a rich table."""
    t = Table(title=title, title_justify="left")
    for c in ("indicator", "unit", "how", "p10", "p50", "p90"):
        t.add_column(c, justify="right" if c.startswith("p") else "left", no_wrap=True)
    for r in df.itertuples(index=False):
        t.add_row(r.indicator, r.unit, r.how, *(_num(x) for x in (r.p10, r.p50, r.p90)))
    return t


def _num(x: float) -> str:
    return "-" if x != x else f"{x:,.3g}"


def _open_store(args: argparse.Namespace, create: bool = False) -> Store:
    return Store(args.db or default_path(), create=create)


def _check_writable(path: Path, option: str) -> Path:
    """Fail early (before a long run) if ``path`` cannot be written."""
    parent = path.parent if str(path.parent) else Path(".")
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UsageError(f"{option} {path}: cannot create {parent} ({e.strerror}); allowed: "
                         "a path in a writable directory") from None
    if path.is_dir() or not os.access(parent, os.W_OK) or (path.exists()
                                                            and not os.access(path, os.W_OK)):
        raise UsageError(f"{option} {path}: not writable; allowed: a file path in a writable "
                         "directory")
    return path


def chosen_executor(args: argparse.Namespace) -> str:
    """The executor asked for, or the default: local for one worker, Dask for more."""
    if args.scheduler:
        if args.executor not in (None, "dask"):
            raise UsageError(f"--scheduler {args.scheduler} with --executor {args.executor}: "
                             "allowed: --scheduler only with the dask executor")
        return "dask"
    if args.executor:
        return args.executor
    return "dask" if args.workers > 1 else "local"


def _execute(
    sc: Scenario, args: argparse.Namespace, days: int, store: Store | None
) -> tuple[int | None, dict[str, np.ndarray]]:
    """Run the ensemble with a progress bar; store it if ``store``; return (run id or None,
    per-member summary values)."""
    from .indicators import HEADLINE
    from .stats import member_summaries
    values: dict[str, list[np.ndarray]] = {n: [] for n in HEADLINE}

    def keep(ds: xr.Dataset, _events: pd.DataFrame, _draws: pd.DataFrame) -> None:
        for n, v in member_summaries(ds, tuple(n for n in HEADLINE if n in ds)).items():
            values[n].append(v)

    total = args.members * days
    run_id = None
    with progress_bar(total, f"{sc.name}: {args.members} members x {days} days") as bar:
        task = bar.add_task("run", total=total)
        advance = lambda k: bar.advance(task, k)  # noqa: E731
        batches = executor_batches(chosen_executor(args), sc, args.members, args.seed, days,
                                   args.batch, args.workers, args.scheduler, progress=advance)
        if store is not None:
            run_id = store.record(sc, args.members, args.seed, days, args.batch,
                                  on_batch=keep, batches=batches)
        else:
            for part in batches:
                keep(*part)
    return run_id, {n: np.concatenate(v) for n, v in values.items() if v}


def cmd_run(args: argparse.Namespace) -> int:
    """Run a scenario ensemble, store it (unless --no-store) and print its summary."""
    from .stats import summary_from_values

    sc = load_scenario(args.scenario, args.overrides)
    days = args.days or sc.meta.horizon_days
    if args.report is not None and args.no_store:
        raise UsageError("--report needs the stored run; allowed: --report without --no-store")
    report_path = None
    if args.report is not None:  # check before a long run; the default name needs the run id
        report_path = _check_writable(Path(args.report or "out/report.html"), "--report")
    store = None if args.no_store else _open_store(args, create=True)
    try:
        run_id, values = _execute(sc, args, days, store)
        where = f"run {run_id}, " if run_id is not None else ""
        console.print(summary_table(
            f"{sc.name} ({sc.content_hash[:12]}), {where}seed {args.seed}, {args.members} "
            f"members, {days} days from {sc.meta.start_date}: p10 / p50 / p90 across members",
            summary_from_values(values)))
        if "collapsed" in values:  # the headline answer: how many regimes still stand
            from .stats import wilson

            fallen = np.asarray(values["collapsed"]) > 0.5
            k, n = int((~fallen).sum()), len(fallen)
            lo, hi = wilson(np.array(k), np.array(n))
            console.print(f"regime still standing after {days} days: {k} of {n} members, "
                          f"{k / n:.0%} [95% interval {float(lo):.0%}-{float(hi):.0%}]",
                          highlight=False)
        if run_id is not None:
            console.print(f"stored as run [bold]{run_id}[/] in {store.path}", highlight=False)
        if report_path is not None and store is not None:
            if not args.report:
                report_path = Path("out") / f"report-run{run_id}.html"
            from .report import write_report

            path = write_report(store, run_id, report_path)
            console.print(f"report: {path}", highlight=False)
    finally:
        if store is not None:
            store.close()
    return 0


def cmd_runs(args: argparse.Namespace) -> int:
    """List the stored runs."""
    with _open_store(args) as st:
        df = st.runs(args.status)
        t = Table(title=f"runs in {st.path}", title_justify="left")
        for c in ("run", "scenario", "hash", "seed", "members", "days", "overrides", "started",
                  "status"):
            t.add_column(c, justify="right" if c in ("run", "seed", "members", "days")
                         else "left", no_wrap=c != "overrides")
        for r in df.head(args.limit).itertuples(index=False):
            colour = {"complete": "green", "running": "yellow"}.get(r.status, "red")
            t.add_row(str(r.run_id), r.scenario, r.hash, str(r.seed), str(r.members),
                      str(r.days), r.overrides.strip("[]").replace('"', "") or "-",
                      str(r.started_at), f"[{colour}]{r.status}[/]")
        console.print(t)
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    """Show one stored run: its record and summary."""
    from .stats import cause_distribution, summary, survival

    with _open_store(args) as st:
        run_id = st.resolve(args.run)
        meta = st.run(run_id)
        t = Table(title=f"run {run_id}", title_justify="left", show_header=False)
        t.add_column("field")
        t.add_column("value")
        for k in ("scenario", "scenario_hash", "scenario_path", "overrides", "seed", "members",
                  "days", "start_date", "code_version", "started_at", "finished_at", "status"):
            v = meta[k]
            t.add_row(k, str(v.date() if k == "start_date" and hasattr(v, "date") else v))
        console.print(t)
        console.print(summary_table("p10 / p50 / p90 across members", summary(st, run_id)))
        surv = survival(st, run_id)
        if surv is not None:
            console.print(survival_table([("", surv)]))
            causes = cause_distribution(st, run_id)
            if causes is not None and len(causes):
                ct = Table(title="collapses by cause", title_justify="left")
                for c in ("cause", "count", "share"):
                    ct.add_column(c)
                for r in causes.itertuples(index=False):
                    ct.add_row(str(r.cause), str(r.count), f"{r.share:.1%}")
                console.print(ct)
    return 0


def survival_table(parts: list[tuple[str, object]]) -> Table:
    """Survival by month (share standing, 95% interval) of one or more runs side by side."""
    t = Table(title="regime survival by month: share standing [95% Wilson interval]",
              title_justify="left")
    t.add_column("month", justify="right")
    t.add_column("day", justify="right")
    for label, _ in parts:
        t.add_column(f"survival {label}".strip(), justify="right")
    base = parts[0][1]
    n = len(base)
    keep = [i for i in range(n) if n <= 25 or i % 3 == 0 or i == n - 1]
    for i in keep:
        cells = []
        for _, df in parts:
            if i < len(df):
                r = df.iloc[i]
                cells.append(f"{r.survival:.0%} [{r.lo:.0%}, {r.hi:.0%}]")
            else:
                cells.append("-")
        t.add_row(str(int(base.iloc[i].month)), str(int(base.iloc[i].day)), *cells)
    return t


def cmd_export(args: argparse.Namespace) -> int:
    """Export a stored run's tables as parquet or csv."""
    with _open_store(args) as st:
        run_id = st.resolve(args.run)
        out = Path(args.out) if args.out else Path("out") / f"run{run_id}"
        paths = st.export(run_id, out, args.format)
    for p in paths:
        console.print(str(p), highlight=False)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """Write the HTML report of a stored run."""
    from .report import write_report

    with _open_store(args) as st:
        run_id = st.resolve(args.run)
        out = _check_writable(Path(args.out) if args.out else
                              Path("out") / f"report-run{run_id}.html", "--out")
        path = write_report(st, run_id, out)
    console.print(f"report: {path}", highlight=False)
    return 0


def _run_or_scenario(st: Store, ref: str, args: argparse.Namespace) -> int:
    """A stored run id, or a scenario name run now (and stored) with the given options."""
    text = ref.strip()
    if text.isdigit() or text.startswith("latest"):
        return st.resolve(text)
    try:
        find_scenario(text)
    except ScenarioError as e:
        raise UsageError(f"{ref!r} is neither a run id nor a scenario ({e})") from None
    sc = load_scenario(text, args.overrides)
    days = args.days or sc.meta.horizon_days
    run_id, _ = _execute(sc, args, days, st)
    console.print(f"{text}: stored as run {run_id}", highlight=False)
    return run_id


def cmd_compare(args: argparse.Namespace) -> int:
    """Compare two runs (or scenarios run now): headline indicators and survival."""
    from .stats import compare, survival

    report = _check_writable(Path(args.report), "--report") if args.report else None
    with _open_store(args, create=True) as st:
        a = _run_or_scenario(st, args.a, args)
        b = _run_or_scenario(st, args.b, args)
        ma, mb = st.run(a), st.run(b)
        for key in ("days", "start_date", "code_version"):
            if ma[key] != mb[key]:
                err_console.print(f"[yellow]note:[/] A and B differ in {key} ({ma[key]} vs "
                                  f"{mb[key]}): compare with care", highlight=False)
        df = compare(st, a, b)
        t = Table(title=f"A = run {a} ({ma['scenario']}, {ma['members']} members) vs B = run {b} "
                  f"({mb['scenario']}, {mb['members']} members): p10 / p50 / p90 across members;"
                  " B - A difference of means [95% CI]", title_justify="left")
        for c in ("indicator", "how", "A p10", "A p50", "A p90", "B p10", "B p50", "B p90",
                  "B - A [95% CI]"):
            t.add_column(c, justify="left" if c in ("indicator", "how") else "right",
                         no_wrap=True)
        for r in df.itertuples(index=False):
            sig = r.diff_lo > 0 or r.diff_hi < 0
            diff = f"{_num(r.diff)} [{_num(r.diff_lo)}, {_num(r.diff_hi)}]"
            t.add_row(r.indicator, r.how, *(_num(x) for x in (r.a_p10, r.a_p50, r.a_p90,
                                                              r.b_p10, r.b_p50, r.b_p90)),
                      f"[bold]{diff}[/]" if sig else diff)
        console.print(t)
        sa, sb = survival(st, a), survival(st, b)
        if sa is not None and sb is not None:
            console.print(survival_table([(f"A (run {a})", sa), (f"B (run {b})", sb)]))
        if report is not None:
            from .report import write_comparison

            path = write_comparison(st, a, b, report)
            console.print(f"report: {path}", highlight=False)
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    """Run the validation suite through the engine (exit 1 if a case fails)."""
    from . import validate

    argv = (["--markdown"] if args.markdown else []) + (["--fast"] if args.fast else [])
    return validate.main(argv)


COMMANDS.update(run=cmd_run, runs=cmd_runs, show=cmd_show, export=cmd_export,
                report=cmd_report, compare=cmd_compare, validate=cmd_validate)


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        err_console.print(f"[bold red]error:[/] {message}", highlight=False)
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = _Parser(
        prog="loyaltytrap",
        description="Simulate the loyalty trap: a chain of command that punishes candour.",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    run = sub.add_parser("run", help="run a scenario ensemble, store it and print its summary")
    add_run_args(run)
    add_db_arg(run)
    run.add_argument("--no-store", action="store_true",
                     help="do not store the results (print the summary only)")
    run.add_argument("--report", nargs="?", const="", default=None, metavar="PATH",
                     help="write the HTML report (default out/report-run<ID>.html)")

    runs = sub.add_parser("runs", help="list stored runs")
    add_db_arg(runs)
    runs.add_argument("--status", choices=("running", "complete", "interrupted", "failed"),
                      help="only runs with this status")
    runs.add_argument("--limit", type=positive_int("--limit"), default=50,
                      help="newest runs shown (default 50)")

    show = sub.add_parser("show", help="show a stored run and its summary")
    show.add_argument("run", help="run id (see `loyaltytrap runs`) or 'latest'")
    add_db_arg(show)

    export = sub.add_parser("export", help="export a stored run as parquet or csv files")
    export.add_argument("run", help="run id or 'latest'")
    export.add_argument("--format", "-f", choices=("parquet", "csv"), default="parquet",
                        help="file format (default parquet)")
    export.add_argument("--out", "-o", default=None, metavar="DIR",
                        help="directory (default out/run<ID>)")
    add_db_arg(export)

    report = sub.add_parser("report", help="write the self-contained HTML report of a run")
    report.add_argument("run", help="run id or 'latest'")
    report.add_argument("--out", "-o", default=None, metavar="PATH",
                        help="HTML file (default out/report-run<ID>.html)")
    add_db_arg(report)

    comp = sub.add_parser("compare", help="compare two runs or scenarios")
    comp.add_argument("a", help="run id, 'latest' or a scenario name (run now and stored)")
    comp.add_argument("b", help="run id, 'latest' or a scenario name (run now and stored)")
    add_run_args(comp, positional=False)
    comp.add_argument("--report", default=None, metavar="PATH",
                      help="also write an HTML comparison to PATH")
    add_db_arg(comp)

    val = sub.add_parser("validate", help="reproduce each mechanism's formal result through "
                                          "the engine and print the table")
    val.add_argument("--markdown", action="store_true", help="also write docs/validation.md")
    val.add_argument("--fast", action="store_true", help="only the fast cases")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``loyaltytrap`` console script."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:
        return int(e.code or 0)
    try:
        return COMMANDS[args.command](args)
    except (ScenarioError, UsageError, StoreError) as e:
        err_console.print(f"[bold red]error:[/] {e}", highlight=False)
        return 2
    except KeyboardInterrupt:
        err_console.print("[yellow]interrupted[/] (stored results are unaffected; the "
                          "unfinished run is marked interrupted)")
        return 130


if __name__ == "__main__":
    sys.exit(main())

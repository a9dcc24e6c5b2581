"""The command line: parse, call the library, print. Nothing here that Python users lack."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

import pandas as pd
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from .scenario import ScenarioError, load_scenario
from .simulate import iter_batches, summarize

console = Console()
err_console = Console(stderr=True)

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


def add_run_args(p: argparse.ArgumentParser) -> None:
    """Options shared by every command that runs a scenario."""
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
    p.add_argument("--batch", type=positive_int("--batch", 1, 100_000), default=256,
                   help="members simulated together (memory vs speed; results do not depend "
                        "on it)")


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
        t.add_row(r.indicator, r.unit, r.how, *(f"{x:,.3g}" for x in (r.p10, r.p50, r.p90)))
    return t


def cmd_run(args: argparse.Namespace) -> int:
    """Run a scenario ensemble and print its summary."""
    import xarray as xr

    sc = load_scenario(args.scenario, args.overrides)
    days = args.days or sc.meta.horizon_days
    total = args.members * days
    parts = []
    with progress_bar(total, f"{sc.name}: {args.members} members x {days} days") as bar:
        task = bar.add_task("run", total=total)
        for ds, _events, _draws in iter_batches(sc, args.members, args.seed, days, args.batch,
                                                 progress=lambda k: bar.advance(task, k)):
            parts.append(ds)
    ds = xr.concat(parts, dim="member") if len(parts) > 1 else parts[0]
    console.print(summary_table(
        f"{sc.name} ({sc.content_hash[:12]}), seed {args.seed}, {args.members} members, "
        f"{days} days from {sc.meta.start_date}: p10 / p50 / p90 across members", summarize(ds)))
    return 0


COMMANDS["run"] = cmd_run


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = argparse.ArgumentParser(
        prog="loyaltytrap",
        description="Simulate the loyalty trap: a chain of command that punishes candour.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a scenario ensemble and print its summary")
    add_run_args(run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``loyaltytrap`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except (ScenarioError, UsageError) as e:
        err_console.print(f"[bold red]error:[/] {e}", highlight=False)
        return 2
    except KeyboardInterrupt:
        err_console.print("[yellow]interrupted[/]")
        return 130


if __name__ == "__main__":
    sys.exit(main())

"""Where does a run spend its time? A breakdown by sub-step of the day, and cProfile's top.

    python benchmarks/profile_engine.py [--members 1] [--days 1095] [--top 25] [--kernel]

The breakdown wraps (in this process only) every function the engine's ``step`` calls and the
parts of ``simulate`` around it (indicator recording, event table, dataset), then runs
``simulate`` once. cProfile then runs it again and prints the functions with the most own time.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.kernel import SCENARIO, kernel_scenario
from loyaltytrap import engine, events, kernels, simulate
from loyaltytrap.scenario import Scenario, load_scenario

TIMES: dict[str, float] = defaultdict(float)
CALLS: dict[str, int] = defaultdict(int)


def timed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` with its wall time added to ``TIMES[name]``."""
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            TIMES[name] += time.perf_counter() - t0
            CALLS[name] += 1
    return wrapper


def instrument() -> None:
    """Wrap the engine's sub-steps and simulate's recording in timers (this process only)."""
    skip = {"step", "run_batch", "init_state", "Params", "State", "EventLog", "EventBatch"}
    for name in dir(engine):
        fn = getattr(engine, name)
        if callable(fn) and not isinstance(fn, type) and name not in skip \
                and getattr(fn, "__module__", "").startswith("loyaltytrap"):
            setattr(engine, name, timed(f"step: {name}", fn))
    # the compiled twins, looked up on the kernels module at every call (timed inside the
    # sub-step that calls them: their time is part of it, shown apart)
    for name in (n for n in kernels.__all__ if n not in ("HAVE_NUMBA", "enabled")):
        setattr(kernels, name, timed(f"  kernel: {name}", getattr(kernels, name)))
    engine.Streams.uniform = timed("step: Streams.uniform", engine.Streams.uniform)
    engine.step = timed("engine.step (total)", engine.step)
    simulate._Recorder.__call__ = timed("simulate: record indicators",
                                        simulate._Recorder.__call__)
    events.EventLog.frame = timed("simulate: event table (EventLog.frame)",
                                  events.EventLog.frame)
    events.EventLog.add = timed("simulate: EventLog.add", events.EventLog.add)
    simulate._dataset = timed("simulate: build xarray dataset", simulate._dataset)


def _run(sc: Scenario, members: int, days: int) -> None:
    """The run every part profiles: ``members`` in one batch."""
    simulate.simulate(sc, members=members, days=days, batch=max(members, 1))


def breakdown(sc: Scenario, members: int, days: int, cold: bool = False) -> str:
    """Run once instrumented and tabulate the time per part.

    Unless ``cold``, a run of the same size comes first, untimed: a process's first run of a
    size grows its heap and faults its pages in (a 64-member kernel run 2.03 s first, then
    1.50-1.58 s; docs/performance.md), and the benchmark times the best of several runs in
    one process, so the breakdown is taken in the state the benchmark measures."""
    if cold:
        simulate.simulate(sc, members=min(members, 2), days=5)  # compiles, nothing more
    else:
        _run(sc, members, days)
    TIMES.clear()
    CALLS.clear()
    t0 = time.perf_counter()
    _run(sc, members, days)
    total = time.perf_counter() - t0
    lines = [f"simulate({sc.name}, members={members}, days={days}): {total:.3f} s wall",
             f"{'part':<48}{'seconds':>9}{'share':>8}{'calls':>8}{'us/call':>10}"]
    for name, t in sorted(TIMES.items(), key=lambda kv: -kv[1]):
        lines.append(f"{name:<48}{t:9.3f}{100 * t / total:7.1f}%{CALLS[name]:8d}"
                     f"{1e6 * t / CALLS[name]:10.1f}")
    return "\n".join(lines)


def profile(sc: Scenario, members: int, days: int, top: int) -> str:
    """cProfile's functions with the most own time."""
    pr = cProfile.Profile()
    pr.enable()
    _run(sc, members, days)
    pr.disable()
    out = io.StringIO()
    pstats.Stats(pr, stream=out).sort_stats("tottime").print_stats(top)
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    """Parse options, print the breakdown and the profile."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--members", type=int, default=1)
    ap.add_argument("--days", type=int, default=None, help="default: the scenario's horizon")
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--kernel", action="store_true", help="the hierarchy kernel, not the "
                                                           "default scenario")
    ap.add_argument("--no-cprofile", action="store_true")
    ap.add_argument("--cold", action="store_true", help="time the process's first run of "
                    "this size (a page-faulting heap), not a second one; with --no-cprofile "
                    "(the cProfile run is a run of the size)")
    a = ap.parse_args(argv)
    sc = kernel_scenario() if a.kernel else load_scenario(SCENARIO)
    days = a.days or sc.meta.horizon_days
    if not a.no_cprofile:  # uninstrumented first, so the wrappers do not show in it
        print(profile(sc, a.members, days, a.top))
    instrument()
    print(breakdown(sc, a.members, days, a.cold))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Measure this machine: how fast the engine runs, against its targets and against Mesa.

    python benchmarks/run.py                 # every part: 1,000 members on every core (~3 min)
    python benchmarks/run.py --quick         # tiny sizes, a smoke run (~30 s)
    python benchmarks/run.py --members 200 --workers 1  # a smaller ensemble, one process

Parts (``--skip`` any of them):

- ``bandwidth``: streaming memory bandwidth of one core (numpy copy and STREAM triad, on arrays
  far larger than the caches), and by working-set size (:mod:`benchmarks.bandwidth`: compiled
  read and in-place scale on 256 KiB, one kernel member's state, the kernel batch's state
  and the triad's array size), so that the kernel's traffic is set against the bandwidth at
  its own state's size (a cache that holds it) as well as against main memory's;
- ``single``: wall time of one default run (kremlin-2026, one member, its 1,095 days), seeds
  0-2, each the best of ``--single-repeats`` runs, the median over the seeds;
- ``batch``: cost per member-day against the batch size (how many members run together);
- ``ensemble``: wall time of a default ensemble collected in memory by ``simulate``
  (``--members``, 1,000 by default, on ``--workers`` processes, by default one per core,
  which record straight into the ensemble's shared arrays; below 1,000 members the
  1,000-member time is extrapolated linearly, batches being independent) and its peak
  memory;

and the hierarchy kernel (:mod:`benchmarks.kernel`) in four implementations, run in
alternating rounds (``--repeats``; each implementation once a round, the order reversed every
other round) so that their ratios compare runs made under the same conditions, each the best
of its rounds:

- ``kernel``: officer-steps per second of the engine, through ``simulate`` and through the
  bare engine loop, and the compulsory bytes per second that implies (state read and written
  once a day, uniforms drawn);
- ``mesa``: officer-steps per second of the Mesa 3 peer on the same kernel and tree, and the
  engine's ratio to it (also round by round);
- ``fused``: officer-steps per second of the kernel as one fused compiled loop
  (:mod:`benchmarks.compiled_kernel`: one member's days in one call, its state in place, the
  seven statistics collected daily, nothing else), on the kernel's members, tree and days: the
  bound on what the engine's officer passes could reach on this core, and its ratio to Mesa;
- ``event``: the same for the kernel as an event-driven compiled loop
  (:mod:`benchmarks.event_kernel`: work only where a problem arrives, news is held or a stock
  becomes visible; fear and buried stocks in closed form between): the bound of a sparse
  design of the officer layer, which the engine is not.

Prints a table and writes ``benchmarks/results/latest.json`` and a dated copy. No figure is
asserted: the targets are reported as met or not.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import importlib
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import psutil
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from benchmarks import bandwidth, history
from benchmarks.kernel import SCENARIO, kernel_scenario, member_params
from loyaltytrap.engine import Params, init_state, run_batch
from loyaltytrap.rng import Streams
from loyaltytrap.scenario import Scenario, draw_parameters, load_scenario
from loyaltytrap.simulate import simulate

ROOT = Path(__file__).resolve().parents[1]
PARTS = ("bandwidth", "single", "batch", "ensemble", "kernel", "mesa", "fused", "event")
COMPARED = ("kernel", "mesa", "fused", "event")  # the parts measured in alternating rounds
TARGETS = {
    "single_run_s": 0.25,  # one default run, seconds (at most)
    "ensemble_1000_s": 60.0,  # 1,000-member default ensemble, seconds (at most)
    "mesa_ratio": 200.0,  # engine officer-steps/s over Mesa's (at least)
}
console = Console()


# --- measuring helpers ------------------------------------------------------------------------

class PeakRSS:
    """Peak resident memory of this process and its workers while a block runs: the sum of
    their RSS sampled every 20 ms (a page shared between processes, such as the parent's
    pages a forked worker has not written, counts in each) and the sum of their PSS (a shared
    page split between the processes that map it: counted once), sampled every 250 ms or,
    when a sample takes longer, after 50 times what the last one took.

    Reading a process's PSS walks its page tables: 27 ms for a process that maps the
    1,000-member ensemble's 1.5 GiB. Sampled every 250 ms, the three processes' PSS took a
    third of a core at the end of a run, and the 1,000-member ensemble took 64.6-67.6 s
    against 53.2-57.5 s with the sampling below (alternated runs); sampling at most 2 % of a
    core's time keeps the sampler out of the figure it watches (8-9 PSS samples in such a
    run). Reading RSS costs ~12 us a process; finding the worker processes 1.3 ms (every
    process's stat is read), so they are looked up every half second, not at every sample."""

    PSS_INTERVAL = 0.25  # seconds between PSS samples, at least
    PSS_SHARE = 0.02  # of one core, at most
    CHILDREN_EVERY = 0.5  # seconds between looking up the worker processes

    def __init__(self) -> None:
        self.proc = psutil.Process()
        self.peak = 0
        self.peak_pss = 0
        self.pss_samples = 0
        self._children: list[psutil.Process] = []
        self._children_at = 0.0
        self._stop = threading.Event()

    def _procs(self) -> list[psutil.Process]:
        # finding the children reads every process's stat (1.3 ms here): the list is kept
        # and looked up again every CHILDREN_EVERY seconds, not at every 20 ms sample
        now = time.perf_counter()
        if now >= self._children_at:
            self._children = self.proc.children(recursive=True)
            self._children_at = now + self.CHILDREN_EVERY
        return [self.proc, *self._children]

    def _rss(self) -> int:
        """Resident memory of this process and its worker processes."""
        total = 0
        for p in self._procs():
            with suppress(psutil.Error):  # a worker may exit meanwhile
                total += p.memory_info().rss
        return total

    def _pss(self) -> int:
        """Proportional set size of this process and its worker processes."""
        total = 0
        for p in self._procs():
            with suppress(psutil.Error, AttributeError):  # pss: Linux only
                total += p.memory_full_info().pss
        return total

    def _sample(self) -> None:
        next_pss = 0.0
        while not self._stop.is_set():
            self.peak = max(self.peak, self._rss())
            now = time.perf_counter()
            if now >= next_pss:
                self.peak_pss = max(self.peak_pss, self._pss())
                cost = time.perf_counter() - now
                next_pss = now + max(self.PSS_INTERVAL, cost / self.PSS_SHARE)
                self.pss_samples += 1
            self._stop.wait(0.02)

    @contextmanager
    def watch(self) -> Iterator[PeakRSS]:
        """Sample during the ``with`` block."""
        self.peak = self.proc.memory_info().rss
        self.peak_pss = 0
        self.pss_samples = 0
        self._children_at = 0.0  # look the workers up at the first sample
        t = threading.Thread(target=self._sample, daemon=True)
        t.start()
        try:
            yield self
        finally:
            self._stop.set()
            t.join()
            self._stop.clear()
            self.peak = max(self.peak, self._rss())
            self.peak_pss = max(self.peak_pss, self._pss())


def timed_runs(repeats: int, bar: Progress, label: str, total: int,
               run: Callable[[Callable[[int], None]], Any]) -> list[float]:
    """Wall times of ``repeats`` calls of ``run(advance)``, each behind its own progress bar
    of ``total`` steps (``advance(k)`` moves it on)."""
    times = []
    for _ in range(repeats):
        task = bar.add_task(label, total=total)
        try:
            t0 = time.perf_counter()
            run(lambda k, task=task: bar.advance(task, k))
            times.append(time.perf_counter() - t0)
        finally:  # a run that fails leaves no bar behind
            bar.remove_task(task)
    return times


def cpu_seconds() -> float:
    """CPU time (user + system) of this process and its finished workers. On a shared machine
    it is steadier than wall time: compare ``part_cpu_s`` with ``part_wall_s``."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def steal_seconds() -> float:
    """CPU time the hypervisor gave to others while this machine's vCPUs wanted to run, summed
    over the vCPUs since boot (``/proc/stat``'s steal column; 0 where it is not counted)."""
    return float(getattr(psutil.cpu_times(), "steal", 0.0))


def mib(n_bytes: float) -> float:
    """Bytes in MiB."""
    return n_bytes / 2**20


def progress_bar() -> Progress:
    """A rich progress bar with elapsed and remaining time."""
    return Progress(TextColumn("{task.description:<34}"), BarColumn(),
                    TextColumn("{task.percentage:>5.1f}%"), TimeElapsedColumn(),
                    TimeRemainingColumn(), console=console, transient=True)


def array_bytes(record: Any) -> int:
    """Bytes of every numpy array reachable through (nested) dataclass fields of ``record``."""
    if isinstance(record, np.ndarray):
        return record.nbytes
    if dataclasses.is_dataclass(record) and not isinstance(record, type):
        return sum(array_bytes(getattr(record, f.name)) for f in dataclasses.fields(record))
    return 0


def compulsory_bytes_per_member_day(scenario: Scenario) -> dict[str, int]:
    """Least memory traffic of one member-day: the whole state read and written once, plus the
    uniforms drawn (float32). Real traffic is higher (temporaries); this is the floor."""
    records, _ = draw_parameters(scenario, np.arange(1), 0)
    params = Params.from_records(records)
    state = init_state(params, Streams(0, np.arange(1)))
    # the uniforms a day draws: every stream asked for on the second day of a short run (a
    # stream nobody reads, such as the sign-off's in the kernel, is not drawn)
    streams = Streams(0, np.arange(1))
    run_batch(params, streams, 2)
    per_day = [d.block.shape[2] if d.block is not None else d.out.shape[1]
               for d in streams._daily.values() if d.day >= 1]  # not the initial draws
    if not streams._daily:  # the NumPy draws (no Numba): every daily block
        per_day = [block.shape[2] for (stream, tag), (_, block, _) in streams._blocks.items()
                   if tag != "init"]
    uniforms = 4 * int(sum(per_day))
    state_b = array_bytes(state)
    return {"state_bytes": state_b, "uniform_bytes": uniforms, "total": 2 * state_b + uniforms}


# --- the parts ----------------------------------------------------------------------------------

def measure_bandwidth(n: int, repeats: int) -> dict[str, Any]:
    """STREAM-like copy and triad with numpy on one core (best of ``repeats``), bytes/s.

    Bytes are counted as STREAM counts them (copy 16 B, triad 24 B per element); numpy runs the
    triad in two passes (``a = s * c; a += b``), so its true traffic is higher than counted.
    """
    a, b, c = np.zeros(n), np.ones(n), np.full(n, 2.0)
    np.copyto(a, b)  # touch every page before timing
    copy_t, triad_t = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        np.copyto(a, c)
        copy_t.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        np.multiply(c, 3.0, out=a)
        np.add(a, b, out=a)
        triad_t.append(time.perf_counter() - t0)
    return {
        "elements": n, "array_mib": mib(8 * n), "repeats": repeats,
        "copy_bytes_per_s": 16 * n / min(copy_t),
        "triad_bytes_per_s": 24 * n / min(triad_t),
    }


BATCH_STATE = "the kernel batch's state"  # the ladder's size the kernel's traffic is set against


def measure_ladder(kernel_members: int, stream_elements: int, repeats: int = 5
                   ) -> dict[str, Any]:
    """Bandwidth of one core by working-set size (:func:`benchmarks.bandwidth.ladder`): 256
    KiB (within L2), one kernel member's state, the kernel batch's state (``kernel_members``
    members) and the triad's array."""
    state = compulsory_bytes_per_member_day(kernel_scenario())["state_bytes"]
    sizes = {"256 KiB": 2**18, "one member's state": state,
             BATCH_STATE: state * kernel_members,
             "the triad's array": 8 * stream_elements}
    return {"sizes_bytes": sizes, "rates": bandwidth.ladder(sizes, repeats)}


def warm_up(bar: Progress, quick: bool = False) -> dict[str, Any]:
    """Compile every kernel the timed parts run, before any is timed, in this process (the
    ensemble's workers are forked from it and inherit the compiled code).

    Numba compiles a kernel on its first call with each new kind of argument and caches the
    result next to the source (``__pycache__``); on a fresh clone nothing is cached, and the
    first calls take about a minute in all (one member and several need different versions:
    a column of a one-member array is contiguous, of a larger one it is not). The default
    scenario over its whole horizon, one member and a shrinking batch of four (regimes fall),
    and the kernel on one and two members, reach what the timed parts run. The time it takes
    is recorded: it is what a user's first run after installing costs."""
    days = 30 if quick else None
    runs = [(SCENARIO, 1, 0, days), (SCENARIO, 4, 1, days), ("kernel", 1, 0, 20),
            ("kernel", 2, 0, 20)]
    task = bar.add_task("warm-up: compiling the kernels", total=len(runs))
    t0 = time.perf_counter()
    for scenario, members, seed, d in runs:
        sc = kernel_scenario() if scenario == "kernel" else load_scenario(scenario)
        simulate(sc, members=members, seed=seed, days=d, batch=members)
        bar.advance(task)
    bar.remove_task(task)
    return {"seconds": time.perf_counter() - t0, "runs": [list(map(str, r)) for r in runs]}


def measure_single(repeats: int, seed: int, seeds: int = 3) -> dict[str, Any]:
    """Wall time of ``simulate(kremlin-2026, members=1)`` over its whole horizon, for
    ``seeds`` seeds: each seed timed ``repeats`` times and its best time kept (what the run
    costs without the machine's other load), the median over the seeds reported."""
    sc = load_scenario(SCENARIO)
    horizon = sc.meta.horizon_days
    simulate(sc, members=1, seed=seed, days=10)  # warm up imports and caches
    times: list[list[float]] = [[] for _ in range(seeds)]
    simulated = [horizon] * seeds
    for _ in range(repeats):
        for i in range(seeds):
            t0 = time.perf_counter()
            res = simulate(sc, members=1, seed=seed + i)
            times[i].append(time.perf_counter() - t0)
            # a regime that falls stops being simulated: count the days actually stepped
            fell = np.flatnonzero(res.dataset["collapsed"].values[0] > 0)
            simulated[i] = int(fell[0]) + 1 if len(fell) else horizon
    best = [min(t) for t in times]
    full = [b * horizon / d for b, d in zip(best, simulated, strict=True)]
    return {"days": horizon, "repeats": repeats, "seeds": [seed + i for i in range(seeds)],
            "times_s": times, "best_s": best, "days_simulated": simulated,
            "min_s": min(best), "median_s": statistics.median(best),
            "full_horizon_median_s": statistics.median(full)}


def measure_batch_sweep(sizes: list[int], days: int, seed: int, bar: Progress) -> dict[str, Any]:
    """Cost of a member-day of the default scenario for several batch sizes."""
    sc = load_scenario(SCENARIO)
    rows = []
    for e in sizes:
        task = bar.add_task(f"batch size {e}", total=e * days)
        t0 = time.perf_counter()
        simulate(sc, members=e, seed=seed, days=days, batch=e,
                 progress=lambda k, task=task: bar.advance(task, k))
        t = time.perf_counter() - t0
        bar.remove_task(task)
        rows.append({"batch": e, "seconds": t, "ms_per_member_day": 1e3 * t / (e * days)})
    return {"days": days, "rows": rows}


def measure_ensemble(
    members: int, batch: int, seed: int, bar: Progress, workers: int = 1
) -> dict[str, Any]:
    """Wall time and peak memory of a default ensemble collected in memory by ``simulate``
    (float64 indicators, the events with their sentences), with ``workers`` > 1 on its
    process pool (:func:`loyaltytrap.simulate.pool_members`: each worker records its batches
    straight into the ensemble's shared arrays; the same numbers as one process)."""
    sc = load_scenario(SCENARIO)
    days = sc.meta.horizon_days
    if workers > 1:
        batch = min(batch, -(-members // workers))  # at least one batch per worker
    task = bar.add_task(f"default ensemble, {members} members", total=members * days)
    watch = PeakRSS()
    with watch.watch():
        t0 = time.perf_counter()
        res = simulate(sc, members=members, seed=seed, days=days, batch=batch, workers=workers,
                       progress=lambda k: bar.advance(task, k))
        t = time.perf_counter() - t0
    bar.remove_task(task)
    return {
        "members": members, "days": days, "batch": batch, "workers": workers, "seconds": t,
        "seconds_per_member": t / members,
        "ensemble_1000_s": t * 1000 / members,
        "extrapolated": members < 1000,
        "peak_rss_mib": mib(watch.peak),
        "peak_pss_mib": mib(watch.peak_pss),
        "pss_samples": watch.pss_samples,
        "dataset_mib": mib(res.dataset.nbytes),
        "event_rows": len(res.events),
        "collected": "simulate(workers=...): float64 indicators, events with sentences",
    }


# --- the kernel's implementations, compared in alternating rounds ----------------------------

LOOPS = {"fused": "compiled_kernel", "event": "event_kernel"}  # part -> module of benchmarks


@dataclasses.dataclass
class Contender:
    """One implementation of the kernel: ``run(advance)`` runs it once over ``steps``
    officer-steps, behind a progress bar of ``total`` steps."""

    part: str  # the results' key: kernel, mesa, fused or event
    name: str  # the run's name within the part (the engine has two: simulate and loop)
    label: str
    total: int
    steps: int
    run: Callable[[Callable[[int], None]], Any]

    @property
    def key(self) -> str:
        return f"{self.part}.{self.name}"


def kernel_contenders(parts: set[str], members: int, days: int, mesa_members: int,
                      mesa_days: int, seed: int
                      ) -> tuple[list[Contender], dict[str, Any], dict[str, str]]:
    """The kernel's implementations to compare, on the default tree, each set up (and
    compiled) before anything is timed, and what each part records besides its times: the
    engine through ``simulate`` and through its bare loop (no indicators recorded, no event
    table built), the Mesa 3 peer, and the two compiled loops of :mod:`benchmarks` (the fused
    loop, one member at a time in place, the dense design with nothing around it, which
    the bare loop now matches; the event-driven one, the bound of a sparse design). A part
    whose setup fails is left out, its error returned by part
    (the others are still compared)."""
    sc = kernel_scenario()
    params = member_params(sc, max(members, mesa_members), seed)
    n = params[0].n_officers
    size = {"members": members, "days": days, "officers": n, "officer_steps": members * n * days}
    out: list[Contender] = []
    info: dict[str, Any] = {}
    errors: dict[str, str] = {}

    def setup_engine() -> None:
        records, _ = draw_parameters(sc, np.arange(members), seed)
        engine_params = Params.from_records(records)
        info["kernel"] = {**size, "bytes_per_member_day": compulsory_bytes_per_member_day(sc)}
        out.extend([
            Contender("kernel", "simulate", "engine kernel via simulate", members * days,
                      size["officer_steps"],
                      lambda advance: simulate(sc, members=members, seed=seed, days=days,
                                               batch=members, progress=advance)),
            Contender("kernel", "loop", "engine kernel, bare loop", members * days,
                      size["officer_steps"],
                      lambda advance: run_batch(engine_params, Streams(seed, np.arange(members)),
                                                days, progress=advance)),
        ])

    def setup_mesa() -> None:
        import mesa

        from benchmarks.mesa_peer import HierarchyKernel

        def run_mesa(advance: Callable[[int], None]) -> None:
            for m, p in enumerate(params[:mesa_members]):
                model = HierarchyKernel(p, rng=[seed, m])
                for _ in range(mesa_days):
                    model.step()
                    advance(1)

        steps = mesa_members * n * mesa_days
        info["mesa"] = {"mesa_version": mesa.__version__, "members": mesa_members,
                        "days": mesa_days, "officers": n, "officer_steps": steps}
        out.append(Contender("mesa", "mesa", "Mesa peer", mesa_members * mesa_days, steps,
                             run_mesa))

    def setup_loop(part: str, label: str) -> None:
        module = importlib.import_module(f"benchmarks.{LOOPS[part]}")
        module.run_days(params[0], 2, seed, 0)  # compile (or load) before timing

        def run_loop(advance: Callable[[int], None], module: Any = module) -> None:
            for m, p in enumerate(params[:members]):
                module.run_days(p, days, seed, m)
                advance(days)

        info[part] = dict(size)
        out.append(Contender(part, part, label, members * days, size["officer_steps"],
                             run_loop))

    setups: dict[str, Callable[[], None]] = {
        "kernel": setup_engine, "mesa": setup_mesa,
        "fused": lambda: setup_loop("fused", "fused compiled loop"),
        "event": lambda: setup_loop("event", "event-driven compiled loop")}
    for part in COMPARED:
        if part in parts:
            try:
                setups[part]()
            except Exception as e:  # report it, compare the others
                errors[part] = f"{type(e).__name__}: {e}"
                info.pop(part, None)
                out[:] = [c for c in out if c.part != part]
    return out, info, errors


def compare_kernels(contenders: list[Contender], info: dict[str, Any], rounds: int,
                    bar: Progress, errors: dict[str, str] | None = None) -> dict[str, Any]:
    """Officer-steps per second of each contender, the best of ``rounds`` runs, taken in
    alternating rounds: every contender runs once a round, the order reversed every other
    round, so that a ratio compares runs made minutes apart at most on a machine whose speed
    drifts by tens of per cent (a contender's first run also grows its heap and faults its
    pages in; the best run is what it costs). Returns the parts' results (``info`` with the
    times added) and, under ``comparison``, the order of the runs and, where the engine and
    Mesa both ran, their ratio round by round, and the errors: a part whose setup failed
    (``errors``, as :func:`kernel_contenders` returns them) or whose run fails is left out,
    the others compared without it."""
    errors = dict(errors or {})
    times: dict[str, list[float]] = {c.key: [] for c in contenders}
    order = []
    for k in range(rounds):
        this = contenders if k % 2 == 0 else contenders[::-1]
        order.append([c.key for c in this])
        for c in this:
            if c.part in errors:
                continue
            try:
                times[c.key] += timed_runs(1, bar, c.label, c.total, c.run)
            except Exception as e:  # report it, go on with the others
                errors[c.part] = f"{type(e).__name__}: {e}"
    contenders = [c for c in contenders if c.part not in errors]
    parts = {p: dict(v) for p, v in info.items() if p not in errors}
    for c in contenders:
        res, t = parts[c.part], times[c.key]
        if c.part == "kernel":  # simulate_s and loop_s, their times, their rates
            res[f"{c.name}_s"], res[f"{c.name}_times_s"] = min(t), t
            res["officer_steps_per_s" + ("_loop" if c.name == "loop" else "")] = \
                c.steps / min(t)
        else:
            res["seconds"], res["times_s"] = min(t), t
            res["officer_steps_per_s"] = c.steps / min(t)
    comparison: dict[str, Any] = {"rounds": rounds, "order": order}
    if errors:
        comparison["errors"] = errors
    if "kernel" in parts:
        k = parts["kernel"]
        member_days_per_s = k["members"] * k["days"] / k["loop_s"]
        k["compulsory_bytes_per_s"] = k["bytes_per_member_day"]["total"] * member_days_per_s
        if "mesa" in parts:
            m = parts["mesa"]
            comparison["engine_x_mesa_by_round"] = [
                (k["officer_steps"] / ts) / (m["officer_steps"] / tm)
                for ts, tm in zip(k["simulate_times_s"], m["times_s"], strict=True)]
    return {**parts, "comparison": comparison}


def python_probe(repeats: int = 3) -> float:
    """Seconds a fixed piece of pure-Python work takes (2,000 objects, method calls, a dict;
    its data stays in the core's caches), the best of ``repeats``: how fast the interpreter
    runs right now, taken before every part so that a run records whether the core slowed
    during it. It was first recorded on 2 December in a slow phase (24-28 ms); its usual value
    builds up as runs are stored. In that phase the compiled loops, whose state stays in the
    core's caches, ran at about half their usual speed and Mesa at 31 % (:func:`phase`)."""

    class Officer:
        def __init__(self, fear: float) -> None:
            self.fear = fear

        def calm(self, k: float) -> float:
            self.fear *= k
            return self.fear

    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        corps = [Officer(0.5 + 1e-6 * i) for i in range(2_000)]
        seen: dict[int, float] = {}
        for day in range(40):
            for i, o in enumerate(corps):
                seen[i] = o.calm(0.999) + day
        best = min(best, time.perf_counter() - t0)
    return best


def same_cpu(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether two runs' ``machine`` records name the same CPU: the same model name and the
    same identity (vendor, family, model, stepping, cache: :func:`cpu_identity`). The model
    name alone does not tell hosts apart (a Zen 3 and a Zen 4 guest both read "AMD EPYC"),
    so a run recorded before the identity was (2026-12-02) matches nothing."""
    return (a.get("cpu") == b.get("cpu") and a.get("cpu_id") is not None
            and a.get("cpu_id") == b.get("cpu_id"))


def stored_runs(out: Path, machine: dict[str, Any]) -> list[dict[str, Any]]:
    """The dated results stored in ``out`` (:func:`benchmarks.history.load`, files that are
    not results passed over) that ran on the same CPU as ``machine`` (:func:`same_cpu`)."""
    return [res for res in history.load(out, skip_bad=True)
            if same_cpu(res.get("machine", {}), machine)]


SLOW = 0.7  # a figure below this share of its usual value marks a slow phase


def _probe_of(res: dict[str, Any]) -> float | None:
    # the median of a run's interpreter probes (one before each part, a number of seconds;
    # the run's own phase check keeps the probe's comparison, a table, under the same name)
    probes = [v["python_probe_s"] for v in res.values()
              if isinstance(v, dict) and isinstance(v.get("python_probe_s"), int | float)]
    return statistics.median(probes) if probes else None


def _sized(part: str, value: str, *size: str) -> Callable[[dict[str, Any], dict[str, Any]],
                                                          float | None]:
    # reads res[part][value] where the part ran at this run's sizes
    def read(res: dict[str, Any], now: dict[str, Any]) -> float | None:
        got, ref = res.get(part), now.get(part)
        if not isinstance(got, dict) or not isinstance(ref, dict):
            return None
        return got.get(value) if all(got.get(k) == ref.get(k) for k in size) else None
    return read


# figure -> (how to read it off a result at this run's sizes, whether higher is faster)
PHASE_FIGURES: dict[str, tuple[Callable[[dict[str, Any], dict[str, Any]], float | None],
                               bool]] = {
    "python_probe_s": (lambda res, now: _probe_of(res), False),
    "triad_bytes_per_s": (_sized("bandwidth", "triad_bytes_per_s", "elements"), True),
    "mesa_officer_steps_per_s": (_sized("mesa", "officer_steps_per_s", "members", "days",
                                        "officers"), True),
}


def phase(r: dict[str, Any], out: Path,
          runs: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """This run's speed against what this machine usually does: for the interpreter probe
    (the median of the probes before the parts), the triad bandwidth and Mesa's
    officer-steps per second, the median of the same figure over the results stored in
    ``out`` from the same CPU (:func:`same_cpu`) at the same sizes, and this run's speed as a
    share of it (1 = usual, below 1 = slower). The machine runs slow for a while after it
    boots and in phases when its host is busy (docs/performance.md): a run in such a phase
    misses targets that a usual run meets. ``runs``: the stored runs if already read
    (:func:`stored_runs`)."""
    if runs is None:
        runs = stored_runs(out, r["machine"])
    ph: dict[str, Any] = {}
    for name, (read, faster) in PHASE_FIGURES.items():
        value = read(r, r)
        before = [v for v in (read(res, r) for res in runs) if v]
        if not value or not before:
            continue
        u = statistics.median(before)
        ph[name] = {"value": value, "usual": u, "stored_runs": len(before),
                    "speed": value / u if faster else u / value}
    ph["slow"] = any(v["speed"] < SLOW for v in ph.values() if isinstance(v, dict))
    return ph


PHASE_LABELS = {"python_probe_s": "interpreter probe (pure Python)",
                "triad_bytes_per_s": "memory bandwidth, triad",
                "mesa_officer_steps_per_s": "Mesa peer's officer-steps/s"}


def describe_phase(ph: dict[str, Any]) -> str:
    """The phase's figures in a line: each speed as a share of the usual one."""
    return "; ".join(f"{PHASE_LABELS[k]} at {100 * v['speed']:.0f} % of its usual speed"
                     for k, v in ph.items() if isinstance(v, dict))


# --- report ---------------------------------------------------------------------------------------

def cpuinfo(text: str | None = None) -> dict[str, str]:
    """The first processor's fields in ``/proc/cpuinfo`` (keys in lower case); empty where
    the file cannot be read."""
    if text is None:
        try:
            text = Path("/proc/cpuinfo").read_text()
        except OSError:
            return {}
    info: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            break  # the first processor only
        key, _, value = line.partition(":")
        info[key.strip().lower()] = value.strip()
    return info


def cpu_identity(info: dict[str, str]) -> str | None:
    """What tells one CPU model from another where the model name does not: vendor, family,
    model, stepping and the cache size the kernel reports (a guest's model name can be as
    bare as "AMD EPYC"). None where /proc/cpuinfo gives none of them."""
    keys = ("vendor_id", "cpu family", "model", "stepping", "cache size")
    if not any(k in info for k in keys):
        return None
    return ", ".join(f"{k} {info.get(k, '?')}" for k in keys)


def _number(text: str | None) -> float | None:
    # a /proc/cpuinfo figure, None where absent or unreadable (JSON has no NaN)
    try:
        return float(text) if text else None
    except ValueError:
        return None


def machine() -> dict[str, Any]:
    """What ran the benchmark."""
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                                capture_output=True, text=True, check=False).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=ROOT, capture_output=True, text=True,
                               check=False).stdout.strip()
    except OSError:
        commit, dirty = "", ""
    commit = (commit + (" (+ uncommitted changes)" if dirty else "")) if commit else "unknown"
    info = cpuinfo()
    return {
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "host": platform.node(), "cpu": info.get("model name") or platform.processor(),
        "cpu_id": cpu_identity(info), "cpu_mhz": _number(info.get("cpu mhz")),
        "cores": os.cpu_count(),
        "memory_gib": psutil.virtual_memory().total / 2**30,
        "load_average": os.getloadavg(),
        # this machine runs slow for a while after it boots (docs/performance.md)
        "uptime_s": time.time() - psutil.boot_time(), "python": platform.python_version(),
        "numpy": np.__version__, "platform": platform.platform(), "commit": commit,
        "loyaltytrap": str(Path(run_batch.__code__.co_filename).parent),
    }


def verdicts(r: dict[str, Any]) -> dict[str, Any]:
    """Each target, where we stand, and whether it is met."""
    out: dict[str, Any] = {}
    if "single" in r:
        v = r["single"]["median_s"]
        out["single_run_s"] = {"target": f"<= {TARGETS['single_run_s']}", "value": v,
                               "met": v <= TARGETS["single_run_s"]}
    if "ensemble" in r:
        v = r["ensemble"]["ensemble_1000_s"]
        out["ensemble_1000_s"] = {"target": f"<= {TARGETS['ensemble_1000_s']}", "value": v,
                                  "met": v <= TARGETS["ensemble_1000_s"],
                                  "extrapolated": r["ensemble"]["extrapolated"]}
    if "kernel" in r and "mesa" in r:
        v = r["kernel"]["officer_steps_per_s"] / r["mesa"]["officer_steps_per_s"]
        r["mesa"]["engine_ratio"] = v
        r["mesa"]["engine_ratio_loop"] = (r["kernel"]["officer_steps_per_s_loop"]
                                          / r["mesa"]["officer_steps_per_s"])
        out["mesa_ratio"] = {"target": f">= {TARGETS['mesa_ratio']}", "value": v,
                             "met": v >= TARGETS["mesa_ratio"]}
    for loop in ("fused", "event"):
        if loop in r and "mesa" in r:
            r[loop]["mesa_ratio"] = (r[loop]["officer_steps_per_s"]
                                     / r["mesa"]["officer_steps_per_s"])
        if loop in r and "kernel" in r:
            r[loop]["engine_share"] = (r["kernel"]["officer_steps_per_s"]
                                       / r[loop]["officer_steps_per_s"])
    if "kernel" in r and "bandwidth" in r:
        v = r["kernel"]["compulsory_bytes_per_s"] / r["bandwidth"]["triad_bytes_per_s"]
        r["kernel"]["fraction_of_triad"] = v  # stated, not a target: how far from the bound
        by_size = r["bandwidth"].get("by_size")
        if by_size:  # the bound were the batch's state kept in cache (read, written over once)
            rate = by_size["rates"][BATCH_STATE]["scale_bytes_per_s"]
            k = r["kernel"]
            k["fraction_of_batch_bandwidth"] = k["compulsory_bytes_per_s"] / rate
    return out


def print_report(r: dict[str, Any]) -> None:
    """The figures as a table."""
    cpu_id = r["machine"].get("cpu_id")
    t = Table(title=f"loyaltytrap benchmarks ({r['machine']['cpu']}"
                    f"{f' ({cpu_id})' if cpu_id else ''}, "
                    f"{r['machine']['cores']} cores, commit {r['machine']['commit']})")
    t.add_column("measure")
    t.add_column("value", justify="right")
    t.add_column("target", justify="right")

    def row(name: str, value: str, key: str | None = None) -> None:
        v = r["targets"].get(key) if key else None
        tgt = "" if v is None else f"{v['target']} {'met' if v['met'] else 'NOT met'}"
        t.add_row(name, value, tgt)

    if r["machine"].get("uptime_s") is not None:
        row("machine up since boot, at the start", f"{r['machine']['uptime_s'] / 60:.0f} min")
    for name, v in r.get("phase", {}).items():
        if isinstance(v, dict):
            row(f"machine's speed now, {PHASE_LABELS[name]}: share of its usual (median of "
                f"{v['stored_runs']} stored runs on this CPU)", f"{100 * v['speed']:.0f} %")
    if "phase" in r and not any(isinstance(v, dict) for v in r["phase"].values()):
        row("machine's speed now: no stored run of this CPU at these sizes to compare with "
            "(the phase is not known)", "")
    if r.get("phase", {}).get("slow"):
        row(f"[bold red]a slow phase of the machine[/bold red] (a speed below "
            f"{100 * SLOW:.0f} % of its usual): the figures below are not its usual ones", "")
    if "warm_up" in r:
        row("warm-up: compiling the kernels (a fresh clone's first run; cached after)",
            f"{r['warm_up']['seconds']:.1f} s")
    if "bandwidth" in r:
        b = r["bandwidth"]
        row("memory bandwidth, copy (1 core)", f"{b['copy_bytes_per_s'] / 1e9:.2f} GB/s")
        row("memory bandwidth, triad (1 core)", f"{b['triad_bytes_per_s'] / 1e9:.2f} GB/s")
        for name, size in b.get("by_size", {}).get("sizes_bytes", {}).items():
            v = b["by_size"]["rates"][name]
            row(f"  by working set: {name} ({size / 2**20:.2f} MiB), compiled read / "
                "in-place scale", f"{v['read_bytes_per_s'] / 1e9:.1f} / "
                f"{v['scale_bytes_per_s'] / 1e9:.1f} GB/s")
    if "single" in r:
        s = r["single"]
        row(f"single default run ({s['days']} days), median over seeds of the best of "
            f"{s['repeats']}", f"{s['median_s']:.3f} s",
            "single_run_s")
        if "days_simulated" in s:
            row(f"  days simulated (regimes that fell stop): "
                f"{', '.join(str(d) for d in s['days_simulated'])}; per 1,095 simulated days",
                f"{s['full_horizon_median_s']:.3f} s")
    if "kernel" in r:
        k = r["kernel"]
        row(f"engine kernel, simulate ({k['members']}x{k['officers']}x{k['days']})",
            f"{k['officer_steps_per_s'] / 1e6:.2f} M officer-steps/s")
        row("engine kernel, bare loop", f"{k['officer_steps_per_s_loop'] / 1e6:.2f} M "
            "officer-steps/s")
        row("engine kernel, compulsory traffic",
            f"{k['compulsory_bytes_per_s'] / 1e9:.3f} GB/s")
        if "fraction_of_triad" in k:
            row("  as a share of the triad bandwidth (main memory's bound; stated, not a "
                "target)", f"{100 * k['fraction_of_triad']:.1f} %")
        if "fraction_of_batch_bandwidth" in k:
            row("  as a share of the in-place scale bandwidth at the batch's state size (the "
                "bound were its state kept in cache)",
                f"{100 * k['fraction_of_batch_bandwidth']:.1f} %")
    if "batch" in r:
        for b in r["batch"]["rows"]:
            row(f"default scenario, batch of {b['batch']}",
                f"{b['ms_per_member_day']:.3f} ms/member-day")
    if "ensemble" in r:
        e = r["ensemble"]
        row(f"default ensemble, {e['members']} members, batch {e['batch']}, "
            f"{e.get('workers', 1)} worker(s)", f"{e['seconds']:.1f} s")
        row("  1,000 members" + (" (extrapolated)" if e["extrapolated"] else ""),
            f"{e['ensemble_1000_s']:.0f} s", "ensemble_1000_s")
        row("  peak memory (RSS summed over the processes)", f"{e['peak_rss_mib']:.0f} MiB")
        if e.get("peak_pss_mib"):
            row("  peak memory (PSS: shared pages counted once)",
                f"{e['peak_pss_mib']:.0f} MiB")
    if "mesa" in r:
        m = r["mesa"]
        row(f"Mesa {m['mesa_version']} peer ({m['members']}x{m['officers']}x{m['days']})",
            f"{m['officer_steps_per_s'] / 1e3:.0f} k officer-steps/s")
        if "engine_ratio" in m:
            row("  engine / Mesa", f"{m['engine_ratio']:.1f} x", "mesa_ratio")
            by_round = r.get("comparison", {}).get("engine_x_mesa_by_round")
            if by_round:
                row("  engine / Mesa, round by round",
                    ", ".join(f"{x:.0f}" for x in by_round) + " x")
            row("  engine bare loop / Mesa", f"{m['engine_ratio_loop']:.1f} x")
    for loop, title in (("fused", "fused compiled loop, the dense design with nothing around it"),
                        ("event", "event-driven compiled loop, the bound of a sparse design")):
        if loop in r:
            f = r[loop]
            row(f"{title} ({f['members']}x{f['officers']}x{f['days']})",
                f"{f['officer_steps_per_s'] / 1e6:.2f} M officer-steps/s")
            if "mesa_ratio" in f:
                row(f"  {loop} loop / Mesa", f"{f['mesa_ratio']:.1f} x")
            if "engine_share" in f:
                row(f"  engine (simulate) / {loop} loop", f"{100 * f['engine_share']:.0f} %")
    stolen = {k: v["part_steal_s"] for k, v in r.items()
              if isinstance(v, dict) and "part_steal_s" in v}
    if stolen:
        cores = r["machine"]["cores"] or 1
        row("CPU time stolen by the host (all vCPUs), ensemble / all parts",
            f"{stolen.get('ensemble', 0.0):.1f} / {sum(stolen.values()):.1f} s")
        if "ensemble" in stolen:
            row("  as a share of the ensemble's vCPU time",
                f"{100 * stolen['ensemble'] / (cores * r['ensemble']['part_wall_s']):.1f} %")
    row("process peak memory (ru_maxrss)", f"{r['peak_rss_mib']:.0f} MiB")
    console.print(t)


def write(r: dict[str, Any], out: Path) -> Path:
    """Write ``latest.json`` and a dated copy; return the dated path."""
    out.mkdir(parents=True, exist_ok=True)
    text = json.dumps(r, indent=2, default=float)
    (out / "latest.json").write_text(text + "\n")
    stamp = dt.datetime.now().strftime("%Y-%m-%dT%H%M%S")
    dated = out / f"{stamp}.json"
    dated.write_text(text + "\n")
    return dated


def main(argv: list[str] | None = None) -> int:
    """Parse options, run the parts, print and write the results."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--members", type=int, default=1000,
                    help="default-ensemble members (the 1,000-member time is extrapolated "
                         "below 1,000)")
    ap.add_argument("--batch", type=int, default=64, help="ensemble batch size (simulate's)")
    ap.add_argument("--workers", type=int, default=min(os.cpu_count() or 1, 8),
                    help="processes for the ensemble (simulate's workers; "
                         "default: one per core, at most 8)")
    ap.add_argument("--kernel-members", type=int, default=64)
    ap.add_argument("--kernel-days", type=int, default=365)
    ap.add_argument("--mesa-members", type=int, default=1)
    ap.add_argument("--mesa-days", type=int, default=None, help="default: --kernel-days")
    ap.add_argument("--single-repeats", type=int, default=5,
                    help="timed runs of each of the 3 seeds (the best of them is kept)")
    ap.add_argument("--repeats", type=int, default=3,
                    help="rounds of the kernel's comparison (engine, Mesa, the two compiled "
                         "loops, each once a round; the best of each is kept)")
    ap.add_argument("--batch-sizes", default="8,32,64,128,256",
                    help="comma-separated batch sizes of the sweep")
    ap.add_argument("--batch-days", type=int, default=60)
    ap.add_argument("--stream-elements", type=int, default=2**26,
                    help="doubles per array (3 arrays; keep them well above the caches)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--skip", default="", help="comma-separated parts to skip: " + ",".join(PARTS))
    ap.add_argument("--quick", action="store_true", help="tiny sizes (a smoke run)")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    a = ap.parse_args(argv)
    if a.quick:
        a.members, a.kernel_members, a.kernel_days = 4, 4, 30
        a.mesa_days, a.single_repeats, a.batch_sizes, a.batch_days = 10, 1, "4,16", 10
        a.repeats = 1
        a.stream_elements = 2**20
    for name in ("members", "batch", "workers", "kernel_members", "kernel_days", "mesa_members",
                 "single_repeats", "repeats", "batch_days", "stream_elements"):
        if getattr(a, name) < 1:
            ap.error(f"--{name.replace('_', '-')} {getattr(a, name)}: must be at least 1")
    skip = {s for s in a.skip.split(",") if s}
    if skip - set(PARTS):
        ap.error(f"unknown parts {sorted(skip - set(PARTS))}; parts: {', '.join(PARTS)}")
    r: dict[str, Any] = {"machine": machine(), "options": {
        k: (str(v) if isinstance(v, Path) else v) for k, v in vars(a).items()}}
    compared = [p for p in COMPARED if p not in skip]

    def compare(bar: Progress) -> dict[str, Any]:
        contenders, info, errors = kernel_contenders(
            set(compared), a.kernel_members, a.kernel_days, a.mesa_members,
            a.mesa_days or a.kernel_days, a.seed)
        return compare_kernels(contenders, info, a.repeats, bar, errors)

    steps: list[tuple[str, Callable[[Progress], dict[str, Any]]]] = [
        ("bandwidth", lambda bar: {"bandwidth": {
            **measure_bandwidth(a.stream_elements, 5),
            "by_size": measure_ladder(a.kernel_members, a.stream_elements)}}),
        ("single", lambda bar: {"single": measure_single(a.single_repeats, a.seed)}),
        ("batch", lambda bar: {"batch": measure_batch_sweep(
            [int(x) for x in a.batch_sizes.split(",")], a.batch_days, a.seed, bar)}),
        ("ensemble", lambda bar: {"ensemble": measure_ensemble(a.members, a.batch, a.seed, bar,
                                                               a.workers)}),
        # the engine, Mesa and the two compiled loops in alternating rounds (compare_kernels)
        ("comparison", compare),
    ]
    steps = [(name, fn) for name, fn in steps
             if name not in skip and (name != "comparison" or compared)]
    with progress_bar() as bar:
        t0 = time.perf_counter()
        r["warm_up"] = warm_up(bar, a.quick)  # JIT compilation stays out of every timing
        console.log(f"warm-up (compiling what is not cached yet) done in "
                    f"{time.perf_counter() - t0:.1f} s")
        overall = bar.add_task("benchmark parts", total=len(steps))
        warned = False
        before = stored_runs(a.out, r["machine"])  # read once: this run is not in it
        for name, fn in steps:
            bar.update(overall, description=f"benchmark parts: {name}")
            probe = python_probe()
            t0, c0, s0 = time.perf_counter(), cpu_seconds(), steal_seconds()
            try:
                got = fn(bar)
            except Exception as e:  # report the failure, keep the other parts
                r.setdefault("errors", {})[name] = f"{type(e).__name__}: {e}"
                console.log(f"[red]{name} failed[/red]: {type(e).__name__}: {e}")
            else:
                r.update(got)
                for part, err in got.get("comparison", {}).get("errors", {}).items():
                    r.setdefault("errors", {})[part] = err  # a part left out of the rounds
                    console.log(f"[red]{part} failed[/red]: {err}")
                wall, cpu = time.perf_counter() - t0, cpu_seconds() - c0
                stolen = steal_seconds() - s0
                target = r["comparison"] if name == "comparison" else r[name]
                target["part_wall_s"], target["part_cpu_s"] = wall, cpu
                target["part_steal_s"] = stolen
                target["python_probe_s"] = probe
                console.log(f"{name} done in {wall:.1f} s wall, {cpu:.1f} s CPU, "
                            f"{stolen:.1f} s stolen by the host")
                if not warned and (now := phase(r, a.out, before))["slow"]:  # say so at once
                    warned = True
                    console.log("[bold red]the machine runs slower than usual[/bold red] ("
                                + describe_phase(now) + "): the figures of this run will "
                                "not be its usual ones; a later run may be faster")
            bar.advance(overall)
    r["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    r["targets"] = verdicts(r)
    r["phase"] = phase(r, a.out, before)
    print_report(r)
    dated = write(r, a.out)
    console.print(f"wrote {a.out / 'latest.json'} and {dated}")
    return 1 if r.get("errors") else 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Running a scenario: draw parameters, run members in batches, collect a labelled result.

``simulate`` is the Python entry point the CLI calls. Members run in batches (``batch``
members at a time) so that memory stays bounded; because every random stream is keyed by the
member's global index, a member's trajectory does not depend on the batch size.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import mmap
import operator
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from .engine import Params, State, run_batch
from .indicators import (
    BY_NAME,
    HEADLINE,
    INDICATORS,
    Indicator,
    OfficerSums,
    officer_sums,
    use_officer_sums,
)
from .mechanisms.world import DOMAINS
from .rng import Streams
from .scenario import Scenario, draw_parameters, load_scenario


@dataclass
class RunResult:
    """What a run returns.

    dataset: daily indicators, dims (member, day[, level | domain])
    events: the event log (day, member, mechanism, event, officer, level, value, value2,
        label, details)
    draws: the parameter values each member drew (member x "section.parameter")
    """

    scenario: Scenario
    seed: int
    dataset: xr.Dataset
    events: pd.DataFrame
    draws: pd.DataFrame

    @property
    def members(self) -> int:
        """Number of ensemble members."""
        return int(self.dataset.sizes["member"])

    @property
    def days(self) -> int:
        """Number of simulated days."""
        return int(self.dataset.sizes["day"])


class _Recorder:
    """Collects every indicator after every day into preallocated arrays, member-major
    (``[E, days, ...]``, the layout of the dataset: finishing copies nothing).

    Indicators are evaluated a block of days at a time: each day keeps references to the
    per-member state fields (those without an officer axis) and takes the day's officer sums,
    and every ``BLOCK_DAYS`` days each indicator runs once on those days stacked along the
    member axis (one row per member-day; a field is concatenated when first read). An
    indicator is a row-wise function of the state and the tree, so the values are those of a
    day-by-day evaluation, bit for bit; officer-level fields are not kept (an indicator
    reads them through :func:`~loyaltytrap.indicators.officer_sums`), and one that read
    them directly fails loudly."""

    BLOCK_DAYS = 128

    def __init__(self, E: int, days: int, levels: int,
                 out: dict[str, np.ndarray] | None = None) -> None:
        self.day = 0
        self.days = days
        self.by_day: dict[str, np.ndarray] = {}
        for ind in INDICATORS:
            # every entry is written by a flush or held by finish: no fill needed
            shape = (E, days, *_extra_shape(ind, levels))
            if out is None:
                self.by_day[ind.name] = np.empty(shape)
                continue
            arr = out[ind.name]  # the caller's rows (a pool's shared memory)
            if arr.shape != shape or arr.dtype != np.float64 or not arr.flags.c_contiguous:
                raise ValueError(f"indicator {ind.name}: the array given to record into is "
                                 f"{arr.dtype} {arr.shape}; allowed: C-contiguous float64 "
                                 f"{shape}")
            self.by_day[ind.name] = arr
        self.last = np.full(E, -1)  # last day recorded for each batch row
        self._fields: list[tuple[str, list[str]]] | None = None  # per-member fields by record
        self._getters: list[Callable[[State], tuple[np.ndarray, ...]]] = []
        self._pending: list[tuple[int, np.ndarray, list[np.ndarray], OfficerSums]] = []
        self._template: tuple[State, Params] | None = None

    def __call__(self, state: State, params: Params, rows: np.ndarray) -> None:
        if self._fields is None:
            self._split_fields(state)
        assert self._fields is not None
        arrays = [get(state) for get in self._getters]  # a tuple of fields per record
        self._pending.append((self.day, rows, arrays, officer_sums(state, params)))
        self._template = (state, params)
        self.last[rows] = self.day
        self.day += 1
        if len(self._pending) == self.BLOCK_DAYS:
            self._flush()

    def _split_fields(self, state: State) -> None:
        """Sort each record's array fields into per-member ones (stacked) and officer-level
        ones (declared by the record's ``officer_fields``: not stacked)."""
        self._fields = []
        for rec in dataclasses.fields(state):
            value = getattr(state, rec.name)
            if not dataclasses.is_dataclass(value):
                continue
            officer = tuple(getattr(value, "officer_fields", ()))
            names = [f.name for f in dataclasses.fields(value) if f.name not in officer
                     and isinstance(getattr(value, f.name), np.ndarray)
                     and getattr(value, f.name).ndim >= 1]
            self._fields.append((rec.name, names))
            # one call per record that returns its fields as a tuple (attrgetter runs in C)
            if len(names) > 1:
                self._getters.append(operator.attrgetter(*(f"{rec.name}.{f}" for f in names)))
            elif names:
                one = operator.attrgetter(f"{rec.name}.{names[0]}")
                self._getters.append(lambda s, one=one: (one(s),))
            else:  # one getter per record, in the order of _fields
                self._getters.append(lambda s: ())

    def _flush(self) -> None:
        """Evaluate every indicator on the days pending and write them in place."""
        if not self._pending:
            return
        assert self._fields is not None and self._template is not None
        state, params = self._template
        pending, self._pending = self._pending, []
        records: dict[str, Any] = {}
        for i, (r, names) in enumerate(self._fields):
            columns = zip(*(p[2][i] for p in pending), strict=True)  # a field's days
            records[r] = _Stacked(getattr(state, r), dict(zip(names, columns, strict=True)))
        stack = _StackedState(state, records)
        sums = OfficerSums(*(np.concatenate([getattr(p[3], f.name) for p in pending])
                             for f in dataclasses.fields(OfficerSums)))
        use_officer_sums(stack, sums)
        flat = np.concatenate([rows * self.days + day for day, rows, _, _ in pending])
        for ind in INDICATORS:
            arr = self.by_day[ind.name]
            arr.reshape(-1, *arr.shape[2:])[flat] = ind.fn(stack, params)
        use_officer_sums(None)

    def finish(self) -> dict[str, np.ndarray]:
        """Every indicator ``[E, days, ...]``. The indicators of members that stopped (their
        regime fell) are held at their last recorded value: a fallen regime's state is frozen
        from its collapse day on."""
        self._flush()
        # the run may end early (all fell): the days after a row's last are held
        stopped = np.flatnonzero(self.last < self.days - 1)
        for arr in self.by_day.values():
            for row in stopped:
                last = self.last[row]
                arr[row, last + 1:] = arr[row, last] if last >= 0 else np.nan
        return dict(self.by_day)


class _Stacked:
    """A state record's per-member fields over several days, each concatenated along the
    member axis when an indicator first reads it (most fields no indicator reads)."""

    def __init__(self, record: Any, columns: dict[str, tuple[np.ndarray, ...]]) -> None:
        self._record = record
        self._columns = columns

    def __getattr__(self, name: str) -> Any:
        columns = self.__dict__["_columns"]
        if name in columns:
            value = np.concatenate(columns[name])
            setattr(self, name, value)  # found directly from now on
            return value
        if name in getattr(self._record, "officer_fields", ()):
            raise AttributeError(f"{name} has an officer axis: indicators read it through "
                                 "indicators.officer_sums")
        return getattr(self._record, name)


class _StackedState:
    """A :class:`~loyaltytrap.engine.State` look-alike whose records are :class:`_Stacked`."""

    def __init__(self, state: State, records: dict[str, _Stacked]) -> None:
        self.__dict__.update(records)
        self.day = state.day


_HEAP_KEPT = [False]


def keep_heap() -> None:
    """Once per process, where the C library is glibc: keep the memory of the arrays a day
    frees in the heap for the next day's (every day allocates its state anew) instead of
    unmapping it and faulting it in again: allocations up to 32 MiB from the heap, freed heap
    kept up to 1 GiB, the heap grown 64 MiB at a time. For 64-member batches: a third fewer
    page faults, a few per cent less time (within this machine's noise). The store still
    returns memory to the system after each write (``malloc_trim``)."""
    if _HEAP_KEPT[0]:
        return
    _HEAP_KEPT[0] = True
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-3, 32 * 2**20)  # M_MMAP_THRESHOLD
        libc.mallopt(-1, 2**30)  # M_TRIM_THRESHOLD
        libc.mallopt(-2, 64 * 2**20)  # M_TOP_PAD: grow the heap in steps of 64 MiB
    except (OSError, AttributeError):  # not glibc: nothing to tune
        pass


def _extra_shape(ind: Indicator, levels: int) -> tuple[int, ...]:
    if ind.extra_dim is None:
        return ()
    if ind.coords is not None:
        return (len(ind.coords),)
    return {"level": (levels,), "domain": (len(DOMAINS),)}[ind.extra_dim]


def run_members(
    scenario: Scenario,
    members: np.ndarray,
    seed: int,
    days: int,
    progress: Callable[[int], None] | None = None,
    details: bool = True,
) -> tuple[xr.Dataset, pd.DataFrame, pd.DataFrame]:
    """Run the listed global member ids together as one batch (``details=False``: the event
    table without its sentences, for the store, which renders them on read)."""
    data, params, log, draws = _run(scenario, members, seed, days, progress)
    return _dataset(data, members, days, params, scenario), log.frame(members, details), draws


def _run(
    scenario: Scenario, members: np.ndarray, seed: int, days: int,
    progress: Callable[[int], None] | None = None, out: dict[str, np.ndarray] | None = None,
) -> tuple[dict[str, np.ndarray], Params, Any, pd.DataFrame]:
    """One batch: its indicators (written into ``out`` if given), parameters, event log and
    parameter draws."""
    keep_heap()
    records, flat = draw_parameters(scenario, members, seed)
    params = Params.from_records(records)
    streams = Streams(seed, members)
    rec = _Recorder(len(members), days, params.tree.levels, out)
    _, log = run_batch(params, streams, days, on_day=rec, progress=progress)
    return rec.finish(), params, log, pd.DataFrame({"member": members, **flat})


# in a pool's worker: the ensemble's indicators, in memory shared with the parent
_SHARED: dict[str, np.ndarray] = {}


def _attach(arrays: dict[str, np.ndarray]) -> None:
    """A forked worker's initializer: the shared arrays it records into."""
    _SHARED.clear()
    _SHARED.update(arrays)


def _run_shared(scenario: Scenario, members: np.ndarray, seed: int, days: int, row: int
                ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A pool's batch: its indicators written into the shared rows from ``row`` on, its
    events (with their sentences) and draws returned."""
    out = {name: arr[row:row + len(members)] for name, arr in _SHARED.items()}
    _, _, log, draws = _run(scenario, members, seed, days, out=out)
    return log.frame(members, True), draws


def shared_indicators(members: int, days: int, levels: int) -> dict[str, np.ndarray]:
    """Every indicator's ``[members, days, ...]`` float64 array, all in one anonymous shared
    mapping, which processes forked afterwards write into (the arrays keep it alive)."""
    shapes = {ind.name: (members, days, *_extra_shape(ind, levels)) for ind in INDICATORS}
    offsets, total = {}, 0
    for name, shape in shapes.items():
        offsets[name] = total
        total += -(-int(np.prod(shape)) * 8 // 64) * 64  # each array on a cache line
    buf = mmap.mmap(-1, max(total, 1))  # MAP_SHARED | MAP_ANONYMOUS
    return {name: np.frombuffer(buf, np.float64, int(np.prod(shape)), offsets[name])
            .reshape(shape) for name, shape in shapes.items()}


def pool_members(
    scenario: Scenario, members: int, seed: int, days: int, batch: int = 64, workers: int = 2,
    progress: Callable[[int], None] | None = None,
) -> tuple[xr.Dataset, pd.DataFrame, pd.DataFrame]:
    """Members 0 .. ``members - 1`` in batches on a pool of ``workers`` forked processes,
    collected as one dataset: each worker records its batch's indicators straight into the
    ensemble's arrays (memory shared with this process), so that nothing is pickled back
    or concatenated but the event tables. The same numbers as one process running the
    batches one after another (every stream is keyed by the member's global index)."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed

    ids = np.arange(members)
    if "fork" not in mp.get_all_start_methods():  # no fork here: one process, the same numbers
        return _collect(iter_batches(scenario, members, seed, days, batch, progress=progress))
    params = Params.from_records(draw_parameters(scenario, ids[:1], seed)[0])
    data = shared_indicators(members, days, params.tree.levels)
    rows = list(range(0, members, batch))
    parts: dict[int, tuple[pd.DataFrame, pd.DataFrame]] = {}
    ex = ProcessPoolExecutor(min(workers, len(rows)), mp_context=mp.get_context("fork"),
                             initializer=_attach, initargs=(data,))
    try:
        futures = {ex.submit(_run_shared, scenario, ids[r:r + batch], seed, days, r): r
                   for r in rows}
        for fut in as_completed(futures):
            r = futures[fut]
            parts[r] = fut.result()
            if progress is not None:
                progress(len(ids[r:r + batch]) * days)
    except BaseException:  # a batch failed, or Ctrl-C: the batches not started never start
        ex.shutdown(wait=True, cancel_futures=True)
        raise
    ex.shutdown(wait=True)
    ds = _dataset(data, ids, days, params, scenario)
    events = pd.concat([parts[r][0] for r in rows], ignore_index=True)
    draws = pd.concat([parts[r][1] for r in rows], ignore_index=True)
    return ds, events, draws


def _dataset(
    data: dict[str, np.ndarray], members: np.ndarray, days: int, params: Params,
    scenario: Scenario,
) -> xr.Dataset:
    start = scenario.meta.start_date
    coords: dict[str, object] = {
        "member": members,
        "day": np.arange(1, days + 1),
        # the dates of days 1..days as a daily range built at once (3.7 -> 0.2 ms for three
        # years), in the unit and without the frequency that converting them one by one gives
        "date": ("day", pd.DatetimeIndex(
            pd.date_range(start + dt.timedelta(days=1), periods=days, freq="D").as_unit(
                pd.to_datetime([start]).unit), freq=None)),
        "level": np.arange(params.tree.levels),
        "domain": list(DOMAINS),
    }
    for ind in INDICATORS:
        if ind.coords is not None and ind.extra_dim is not None:
            coords[ind.extra_dim] = list(ind.coords)
    variables = {}
    for name, arr in data.items():
        ind = BY_NAME[name]
        dims = ("member", "day") + ((ind.extra_dim,) if ind.extra_dim else ())
        variables[name] = xr.Variable(dims, arr, attrs={
            "unit": ind.unit, "mechanism": ind.mechanism, "description": ind.description,
        })
    return xr.Dataset(variables, coords=coords, attrs={
        "scenario": scenario.name, "scenario_hash": scenario.content_hash,
    })


def iter_batches(
    scenario: Scenario,
    members: int,
    seed: int,
    days: int | None = None,
    batch: int = 64,
    first_member: int = 0,
    progress: Callable[[int], None] | None = None,
    details: bool = True,
) -> Iterator[tuple[xr.Dataset, pd.DataFrame, pd.DataFrame]]:
    """Run ``members`` members in batches, yielding each batch's results as it finishes."""
    days = scenario.meta.horizon_days if days is None else days
    ids = np.arange(first_member, first_member + members)
    for start in range(0, members, batch):
        yield run_members(scenario, ids[start:start + batch], seed, days, progress, details)


def simulate(
    scenario: Scenario | str,
    members: int = 100,
    seed: int = 0,
    days: int | None = None,
    overrides: list[str] | tuple[str, ...] = (),
    batch: int = 64,
    progress: Callable[[int], None] | None = None,
    workers: int = 1,
) -> RunResult:
    """Run a scenario (name, path or loaded) for an ensemble and return everything in memory
    (``workers`` > 1: the batches on that many forked processes, :func:`pool_members`; the
    same results)."""
    if isinstance(workers, bool) or not isinstance(workers, int | np.integer) or workers < 1:
        raise ValueError(f"workers = {workers!r}: allowed: an integer >= 1")
    sc = load_scenario(scenario, overrides) if isinstance(scenario, str) else (
        scenario.with_overrides(overrides) if overrides else scenario)
    if workers > 1 and members > batch:
        days = sc.meta.horizon_days if days is None else days
        ds, events, draws = pool_members(sc, members, seed, days, batch, workers, progress)
        return RunResult(sc, seed, ds, events, draws)
    return RunResult(sc, seed, *_collect(iter_batches(sc, members, seed, days, batch,
                                                      progress=progress)))


def _collect(batches: Iterator[tuple[xr.Dataset, pd.DataFrame, pd.DataFrame]]
             ) -> tuple[xr.Dataset, pd.DataFrame, pd.DataFrame]:
    """Batches run one after another, put together: the dataset along the member axis, the
    events and the draws one after another."""
    parts = list(batches)
    ds = xr.concat([p[0] for p in parts], dim="member") if len(parts) > 1 else parts[0][0]
    events = pd.concat([p[1] for p in parts], ignore_index=True)
    draws = pd.concat([p[2] for p in parts], ignore_index=True)
    return ds, events, draws


def summarize(ds: xr.Dataset, names: tuple[str, ...] = HEADLINE) -> pd.DataFrame:
    """p10 / p50 / p90 across members of each headline indicator (last day, or the mean over
    the run for daily rates)."""
    rows = []
    for name in names:
        ind = BY_NAME[name]
        da = ds[name]
        if ind.summary == "mean":
            per_member = da.mean("day", skipna=True).values
            how = "mean over days"
        else:
            per_member = da.isel(day=-1).values
            how = "last day"
        per_member = per_member[np.isfinite(per_member)]
        q = np.percentile(per_member, [10, 50, 90]) if len(per_member) else [np.nan] * 3
        rows.append({"indicator": name, "unit": ind.unit, "how": how,
                     "p10": q[0], "p50": q[1], "p90": q[2]})
    return pd.DataFrame(rows)

"""Executors: who runs the batches of an ensemble. The model never knows which one did.

- ``local``: in this process, one batch after another (:func:`loyaltytrap.simulate.iter_batches`);
- ``process``: a pool of worker processes on this machine (:func:`loyaltytrap.store.pool_batches`);
- ``dask``: a Dask cluster, by default a ``LocalCluster`` the project starts on 127.0.0.1 with
  one single-threaded worker process per core asked for, or an existing scheduler (``address``)
  when a sweep outgrows one machine.

Every executor yields the batches in member order, holds at most ``workers + 1`` finished
batches, and gives the same results: every random stream is keyed by the member's global
index, never by the worker.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

EXECUTORS = ("local", "process", "dask")

Batch = tuple[xr.Dataset, pd.DataFrame, pd.DataFrame]


def _run_batch_f32(scenario: Any, members: np.ndarray, seed: int, days: int) -> Batch:
    """One batch in a worker, indicators sent back as float32 and events without their
    sentences (what the store keeps)."""
    from .simulate import run_members

    ds, events, draws = run_members(scenario, members, seed, days, details=False)
    return ds.astype(np.float32, keep_attrs=True), events, draws


def dask_batches(
    scenario: Any, members: int, seed: int, days: int | None = None, batch: int = 64,
    workers: int = 2, address: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> Iterator[Batch]:
    """Run the batches on a Dask cluster (a local one unless ``address`` names a scheduler)
    and yield them in member order."""
    from dask.distributed import Client, LocalCluster

    days = scenario.meta.horizon_days if days is None else days
    ids = np.arange(members)
    chunks = [ids[s:s + batch] for s in range(0, members, batch)]
    cluster = None
    if address is None:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               host="127.0.0.1", dashboard_address=None)
    client = Client(address or cluster)
    try:
        pending: list[tuple[int, Any]] = []
        nxt = 0
        while nxt < len(chunks) or pending:
            while nxt < len(chunks) and len(pending) < workers + 1:
                pending.append((len(chunks[nxt]), client.submit(
                    _run_batch_f32, scenario, chunks[nxt], seed, days, pure=False)))
                nxt += 1
            n, fut = pending.pop(0)
            out = fut.result()
            fut.release()
            if progress is not None:
                progress(n * days)
            yield out
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def batches(
    executor: str, scenario: Any, members: int, seed: int, days: int | None = None,
    batch: int = 64, workers: int = 2, address: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> Iterator[Batch]:
    """The batches of an ensemble from the named executor (``progress`` gets member-days)."""
    if executor == "local":
        from .simulate import iter_batches

        return iter_batches(scenario, members, seed, days, batch, progress=progress,
                            details=False)
    if executor == "process":
        from .store import pool_batches

        return pool_batches(scenario, members, seed, days, batch, workers, progress)
    if executor == "dask":
        return dask_batches(scenario, members, seed, days, batch, workers, address, progress)
    raise ValueError(f"executor = {executor!r}: allowed: {', '.join(EXECUTORS)}")

"""Every executor gives the same results: streams are keyed by member, never by worker."""

from __future__ import annotations

import mmap

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from loyaltytrap.executors import batches
from loyaltytrap.scenario import Scenario
from loyaltytrap.simulate import simulate


def _collect(executor: str, sc: Scenario, **kw: object):
    parts = list(batches(executor, sc, members=4, seed=5, days=40, batch=2, **kw))
    members = np.concatenate([p[0]["member"].values for p in parts])
    total = np.concatenate([p[0]["true_total"].values for p in parts])
    events = sum(len(p[1]) for p in parts)
    return members, total, events


def test_dask_local_cluster_matches_in_process(small: Scenario) -> None:
    pytest.importorskip("dask.distributed")
    m_local, t_local, e_local = _collect("local", small)
    m_dask, t_dask, e_dask = _collect("dask", small, workers=2)
    np.testing.assert_array_equal(m_local, m_dask)
    np.testing.assert_allclose(t_local, t_dask, rtol=1e-6)  # dask sends float32 back
    assert e_local == e_dask


def test_unknown_executor_is_refused(small: Scenario) -> None:
    with pytest.raises(ValueError, match="allowed: local, process, dask"):
        list(batches("spark", small, members=1, seed=0, days=2))


def test_simulate_on_a_pool_records_into_shared_memory_the_same_numbers(small: Scenario) -> None:
    """``simulate(workers=2)``: batches on forked processes, each recording into the
    ensemble's shared arrays; the dataset (every indicator, coordinate and attribute), the
    events with their sentences and the draws are those of one process, exactly."""
    kw = dict(members=5, seed=3, days=60, batch=2)
    one = simulate(small, **kw)
    pooled = simulate(small, workers=2, **kw)
    xr.testing.assert_identical(one.dataset, pooled.dataset)
    pd.testing.assert_frame_equal(one.events, pooled.events)
    pd.testing.assert_frame_equal(one.draws, pooled.draws)
    assert len(one.events) > 0 and one.dataset.sizes["member"] == 5
    # the arrays live in the shared mapping and stay valid after the pool has gone
    base = pooled.dataset["true_total"].values
    while isinstance(base, np.ndarray) and base.base is not None:
        base = base.base
    assert isinstance(base, memoryview) and isinstance(base.obj, mmap.mmap)


@pytest.mark.parametrize("workers", [0, -1, 1.5, "2", True])
def test_simulate_refuses_bad_workers(small: Scenario, workers: object) -> None:
    with pytest.raises(ValueError, match=r"workers = .*: allowed: an integer >= 1"):
        simulate(small, members=2, days=2, workers=workers)  # type: ignore[arg-type]


def test_a_recorder_refuses_arrays_of_the_wrong_shape() -> None:
    from loyaltytrap.indicators import INDICATORS
    from loyaltytrap.simulate import _Recorder, shared_indicators

    out = shared_indicators(3, 10, 4)
    _Recorder(3, 10, 4, out)  # the right shapes
    with pytest.raises(ValueError, match=r"allowed: C-contiguous float64 \(2, 10"):
        _Recorder(2, 10, 4, out)
    assert all(out[i.name].shape[:2] == (3, 10) for i in INDICATORS)


def test_a_failing_batch_on_the_pool_stops_the_run_with_its_error(
        small: Scenario, monkeypatch: pytest.MonkeyPatch) -> None:
    """A batch that fails in a worker fails the run with its own error, and the batches not
    started yet are not run (the forked workers inherit the patched function and the
    counter)."""
    import multiprocessing as mp
    import time

    import loyaltytrap.simulate as sim

    run = sim._run
    started = mp.get_context("fork").Value("i", 0)

    def failing(scenario, members, seed, days, progress=None, out=None):
        with started.get_lock():
            started.value += 1
        if members[0] == 2:
            raise RuntimeError(f"batch from member {members[0]} failed")
        time.sleep(0.2)
        return run(scenario, members, seed, days, progress, out)

    monkeypatch.setattr(sim, "_run", failing)
    with pytest.raises(RuntimeError, match=r"batch from member 2 failed"):
        simulate(small, members=40, seed=1, days=20, batch=2, workers=2)
    assert 2 <= started.value < 20  # of the 20 batches, those queued when it failed

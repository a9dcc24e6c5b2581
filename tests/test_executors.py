"""Every executor gives the same results: streams are keyed by member, never by worker."""

from __future__ import annotations

import numpy as np
import pytest

from loyaltytrap.executors import batches
from loyaltytrap.scenario import Scenario


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

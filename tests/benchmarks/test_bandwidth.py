"""The bandwidth ladder: what it passes over and how it counts bytes (no speed is asserted)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("numba")

from benchmarks import bandwidth


def test_the_compiled_passes_read_and_write_every_element() -> None:
    a = np.arange(1000, dtype=float)
    assert bandwidth._read(a, 3) == pytest.approx(3 * a.sum())
    b = np.full(1000, 2.0)
    bandwidth._scale(b, 1)  # one pass: every element written, scaled down by 1e-9
    np.testing.assert_array_equal(b, 2.0 * (1 - 1e-9))
    bandwidth._scale(b, 2)  # down and up again: the values stay near where they were
    np.testing.assert_allclose(b, 2.0, rtol=1e-8)


def test_rates_count_the_bytes_of_one_array() -> None:
    r = bandwidth.rates(100_000, repeats=2, seconds=1e-4)
    assert r["array_bytes"] == 100_000
    assert r["passes"] >= 1
    assert r["read_bytes_per_s"] > 0 and r["scale_bytes_per_s"] > 0
    assert bandwidth.rates(8, repeats=1)["array_bytes"] == 512 * 8  # at least 512 elements
    assert set(bandwidth.ladder({"a": 4096, "b": 8192}, repeats=1)) == {"a", "b"}

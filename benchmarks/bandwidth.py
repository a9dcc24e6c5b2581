"""Memory bandwidth of one core by working-set size: where the engine's state lives.

The STREAM-like figures of :func:`benchmarks.run.measure_bandwidth` stream arrays far larger
than the caches, so they are the bound of data that lives in main memory. A batch of the kernel
holds its state in a few MiB (64 members: about 11.5 MB), which the last-level cache can
hold, and a member alone fits in L2; so a batch whose state stayed in the cache would be
bound by the bandwidth at the batch's own size (in a run, part of it comes back from memory:
the real bound lies between the two). This module measures it with compiled loops (Numba:
what the engine's kernels are), each pass over one array:

- read: the sum of an array (8 bytes an element), in any order the compiler likes
  (``fastmath``, so that it vectorises), so that the adders are not the limit;
- scale in place: ``a = s * a`` (16 bytes an element, STREAM's count: one read, one write),
  the traffic of a day's state read and written over once (the engine's ``reuse``), with the
  working set of one array.

Each timing covers passes enough to last about 2 ms; the best of ``repeats`` is kept.
"""

from __future__ import annotations

import time
from typing import Any

import numba
import numpy as np


@numba.njit(fastmath=True, cache=True)
def _read(a: np.ndarray, passes: int) -> float:  # pragma: no cover - compiled
    s = 0.0
    for _ in range(passes):
        for i in range(a.size):
            s += a[i]
    return s


@numba.njit(fastmath=True, cache=True)
def _scale(a: np.ndarray, passes: int) -> None:  # pragma: no cover - compiled
    for p in range(passes):
        s = 1.0 + 1e-9 if p % 2 else 1.0 - 1e-9  # the values stay near 1
        for i in range(a.size):
            a[i] = s * a[i]


def rates(n_bytes: int, repeats: int = 5, seconds: float = 0.002) -> dict[str, float]:
    """Read and in-place scale bandwidth (bytes/s) of one core on an array of ``n_bytes``."""
    n = max(int(n_bytes) // 8, 512)
    a = np.ones(n)
    _read(a, 1)  # compile (or load), and touch every page
    _scale(a, 1)
    t0 = time.perf_counter()
    _read(a, 1)
    one = max(time.perf_counter() - t0, 1e-7)
    passes = max(1, int(seconds / one))
    best = {"read": np.inf, "scale": np.inf}
    for _ in range(repeats):
        t0 = time.perf_counter()
        _read(a, passes)
        best["read"] = min(best["read"], time.perf_counter() - t0)
        t0 = time.perf_counter()
        _scale(a, passes)
        best["scale"] = min(best["scale"], time.perf_counter() - t0)
    return {"array_bytes": 8 * n, "passes": passes,
            "read_bytes_per_s": 8 * n * passes / best["read"],
            "scale_bytes_per_s": 16 * n * passes / best["scale"]}


def ladder(sizes: dict[str, int], repeats: int = 5) -> dict[str, dict[str, Any]]:
    """:func:`rates` at each named size (bytes of one array)."""
    return {name: rates(size, repeats) for name, size in sizes.items()}

"""A kernel's results as the rows of a few blocks.

Numba boxes every array a compiled function returns into a new NumPy array (about 0.4 us
each), and a day's kernels return dozens; a block of same-shaped results is one allocation and
one boxing, and the caller takes its rows as views (0.15 us each).
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True)
def rows(arrays):  # pragma: no cover - compiled
    """The arrays of a homogeneous tuple (same dtype, shape and layout) stacked as the rows
    of one new C-ordered block ``[len(arrays), *shape]``."""
    out = np.empty((len(arrays), *arrays[0].shape), dtype=arrays[0].dtype)
    for i in range(len(arrays)):
        out[i] = arrays[i]
    return out

"""Compiled conversion of raw generator output to float32 uniforms (for :mod:`loyaltytrap.rng`).

NumPy's ``Generator.random(dtype=np.float32)`` turns each 32-bit half of the bit generator's
64-bit output (low half first) into ``(bits >> 8) * 2**-24``. :func:`fill_uniforms` does the
same from ``BitGenerator.random_raw`` in one pass, so the uniforms are the same numbers, drawn
about twice as fast (the float path of NumPy calls the bit generator once per number).
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True)
def fill_uniforms(raw, block, row):  # pragma: no cover - compiled
    """Write the uniforms of ``raw`` (uint64 ``[B * S / 2]``) into ``block[:, row, :]``
    (float32 ``[B, rows, S]``), day-major, in the order NumPy draws them."""
    B, _, S = block.shape
    halves = raw.view(np.uint32)
    scale = np.float32(1.0 / 16777216.0)
    i = 0
    for d in range(B):
        for j in range(S):
            block[d, row, j] = np.float32(halves[i] >> np.uint32(8)) * scale
            i += 1

"""Compiled daily draw of float32 uniforms (for :class:`loyaltytrap.rng.Streams`).

NumPy's ``Generator.random(dtype=np.float32)`` turns each 32-bit half of the bit generator's
64-bit output (low half first, the high half kept for the next number) into
``(bits >> 8) * 2**-24``. :func:`draw_uniforms` does the same for a batch of members in one
call, stepping each member's PCG64 through the address of its state with PCG64's own C step
function (NumPy's documented route for compiled code: ``BitGenerator.ctypes``), so the numbers
are exactly NumPy's, drawn a day at a time into memory that is still in cache when the day's
passes read them.
"""

from __future__ import annotations

import numba
import numpy as np

# PCG64's step function (the same C function for every PCG64; the state is its argument)
PCG64_NEXT64 = np.random.PCG64().ctypes.next_uint64


@numba.njit(cache=True)
def draw_uniforms(next64, addresses, has, half, out):  # pragma: no cover - compiled
    """Fill ``out`` (float32 ``[E, S]``) with each member's next ``S`` float32 uniforms from
    the PCG64 states at ``addresses`` (uint64 ``[E]``); ``has``/``half`` (bool/uint32 ``[E]``)
    hold the unused high half of the last 64-bit output, as NumPy's generator does."""
    E, S = out.shape
    scale = np.float32(1.0 / 16777216.0)
    eight = np.uint32(8)
    for e in range(E):
        state = addresses[e]
        j = 0
        if has[e]:
            out[e, 0] = np.float32(half[e] >> eight) * scale
            has[e] = False
            j = 1
        while j + 1 < S:
            r = next64(state)
            out[e, j] = np.float32(np.uint32(r & 0xFFFFFFFF) >> eight) * scale
            out[e, j + 1] = np.float32(np.uint32(r >> 32) >> eight) * scale
            j += 2
        if j < S:
            r = next64(state)
            out[e, j] = np.float32(np.uint32(r & 0xFFFFFFFF) >> eight) * scale
            has[e] = True
            half[e] = np.uint32(r >> 32)

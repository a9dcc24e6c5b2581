"""Compiled draws of float32 uniforms (for :class:`loyaltytrap.rng.Streams`): NumPy's own
numbers, from each member's PCG64 stepped in compiled code.

NumPy's ``Generator.random(dtype=np.float32)`` turns each 32-bit half of PCG64's 64-bit
output (low half first, the high half kept for the next number) into ``(bits >> 8) *
2**-24``. PCG64 (NumPy's default bit generator, the XSL-RR output of a 128-bit LCG) is
stepped here on a copy of the generator's state (:func:`pcg64_state`: state, increment and
the kept half), with the 128-bit multiply written as one LLVM ``i128`` multiplication, so the
numbers are NumPy's, bit for bit (tested), without a call through a C function pointer per
number.
"""

from __future__ import annotations

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

# PCG64's multiplier (PCG_DEFAULT_MULTIPLIER_128 of NumPy's pcg64.h)
_MULTIPLIER = 0x2360ED051FC65DA44385DF649FCCF645
_MASK64 = (1 << 64) - 1
# columns of a state row: the 128-bit state (high, low word), the increment (high, low), and
# NumPy's buffered half (has one, its bits)
HI, LO, INC_HI, INC_LO, HAS, HALF = range(6)


def pcg64_state(g: np.random.Generator) -> list[int]:
    """A generator's PCG64 state as a row of :data:`HI` ... :data:`HALF` (uint64 words)."""
    s = g.bit_generator.state
    if s["bit_generator"] != "PCG64":
        raise TypeError(f"uniform streams are PCG64 generators, not {s['bit_generator']}")
    st, inc = s["state"]["state"], s["state"]["inc"]
    return [st >> 64, st & _MASK64, inc >> 64, inc & _MASK64, int(s["has_uint32"]),
            int(s["uinteger"])]


@intrinsic
def _lcg_step(typingctx, hi, lo, inc_hi, inc_lo):  # pragma: no cover - compiled
    # (hi, lo) * multiplier + (inc_hi, inc_lo) mod 2**128, as two uint64 words
    u64 = types.uint64
    sig = types.UniTuple(u64, 2)(u64, u64, u64, u64)

    def codegen(context, builder, signature, args):
        i64, i128 = ir.IntType(64), ir.IntType(128)

        def wide(h, low):
            return builder.or_(builder.shl(builder.zext(h, i128), ir.Constant(i128, 64)),
                               builder.zext(low, i128))

        r = builder.add(builder.mul(wide(args[0], args[1]), ir.Constant(i128, _MULTIPLIER)),
                        wide(args[2], args[3]))
        return context.make_tuple(builder, signature.return_type, [
            builder.trunc(builder.lshr(r, ir.Constant(i128, 64)), i64), builder.trunc(r, i64)])

    return sig, codegen


@numba.njit(inline="always")
def _output(hi, lo):  # pragma: no cover - compiled
    # PCG's XSL-RR: (hi ^ lo) rotated right by the state's top 6 bits
    x = hi ^ lo
    rot = hi >> np.uint64(58)
    return (x >> rot) | (x << ((np.uint64(64) - rot) & np.uint64(63)))


@numba.njit(inline="always")
def _float32(bits):  # pragma: no cover - compiled
    return np.float32(np.uint32(bits) >> np.uint32(8)) * np.float32(1.0 / 16777216.0)


@numba.njit(cache=True)
def _fill(st, e, out):  # pragma: no cover - compiled
    # member e's next out.shape[0] float32 uniforms, as Generator.random(float32) draws them
    S = out.shape[0]
    m32 = np.uint64(0xFFFFFFFF)
    hi, lo, ihi, ilo = st[e, HI], st[e, LO], st[e, INC_HI], st[e, INC_LO]
    j = 0
    if st[e, HAS]:
        out[0] = _float32(st[e, HALF])
        st[e, HAS] = 0
        j = 1
    while j + 1 < S:
        hi, lo = _lcg_step(hi, lo, ihi, ilo)
        r = _output(hi, lo)
        out[j] = _float32(r & m32)
        out[j + 1] = _float32(r >> np.uint64(32))
        j += 2
    if j < S:
        hi, lo = _lcg_step(hi, lo, ihi, ilo)
        r = _output(hi, lo)
        out[j] = _float32(r & m32)
        st[e, HAS] = 1
        st[e, HALF] = r >> np.uint64(32)
    st[e, HI] = hi
    st[e, LO] = lo


@numba.njit(cache=True)
def draw_uniforms(st, out):  # pragma: no cover - compiled
    """Fill ``out`` (float32 ``[E, S]``) with each member's next ``S`` uniforms from its state
    row in ``st`` (uint64 ``[E, 6]``, advanced in place)."""
    for e in range(out.shape[0]):
        _fill(st, e, out[e])


@numba.njit(cache=True)
def draw_uniform_days(st, out):  # pragma: no cover - compiled
    """Fill ``out`` (float32 ``[B, E, S]``) with B days of each member's uniforms, day-major
    (``out[d]`` is day d's ``[E, S]``, each member's numbers in its stream's order)."""
    B, E, S = out.shape
    row = np.empty(B * S, dtype=np.float32)
    for e in range(E):
        _fill(st, e, row)
        for d in range(B):
            for j in range(S):
                out[d, e, j] = row[d * S + j]

"""Compiled draws of float32 uniforms (for :class:`loyaltytrap.rng.Streams`): NumPy's own
numbers, from each member's PCG64 stepped in compiled code.

NumPy's ``Generator.random(dtype=np.float32)`` turns each 32-bit half of PCG64's 64-bit
output (low half first, the high half kept for the next number) into ``(bits >> 8) *
2**-24``. PCG64 (NumPy's default bit generator, the XSL-RR output of a 128-bit LCG) is
stepped here on a copy of the generator's state (:func:`pcg64_state`: state, increment and
the kept half), with the 128-bit multiply written as one LLVM ``i128`` multiplication, so the
numbers are NumPy's, bit for bit (tested), without a call through a C function pointer per
number.

A kernel that reads only some of a day's numbers (the sitreps, the sign-off, the purge draw,
the severities of new problems) is given the day's first states instead and a jump table,
and computes each number it reads at its position (:func:`uniform_at`); the states then jump
a day ahead (:func:`skip_uniforms`). The numbers read are the ones drawn (tested).
"""

from __future__ import annotations

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic, overload

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
def _mul_add128(typingctx, ah, al, bh, bl, ch, cl):  # pragma: no cover - compiled
    # (ah, al) * (bh, bl) + (ch, cl) mod 2**128, as two uint64 words
    u64 = types.uint64
    sig = types.UniTuple(u64, 2)(u64, u64, u64, u64, u64, u64)

    def codegen(context, builder, signature, args):
        i64, i128 = ir.IntType(64), ir.IntType(128)

        def wide(h, low):
            return builder.or_(builder.shl(builder.zext(h, i128), ir.Constant(i128, 64)),
                               builder.zext(low, i128))

        r = builder.add(builder.mul(wide(args[0], args[1]), wide(args[2], args[3])),
                        wide(args[4], args[5]))
        return context.make_tuple(builder, signature.return_type, [
            builder.trunc(builder.lshr(r, ir.Constant(i128, 64)), i64), builder.trunc(r, i64)])

    return sig, codegen


_MULT_HI = np.uint64(_MULTIPLIER >> 64)
_MULT_LO = np.uint64(_MULTIPLIER & _MASK64)


@numba.njit(inline="always")
def _lcg_step(hi, lo, inc_hi, inc_lo):  # pragma: no cover - compiled
    # (hi, lo) * multiplier + (inc_hi, inc_lo) mod 2**128, as two uint64 words
    return _mul_add128(_MULT_HI, _MULT_LO, hi, lo, inc_hi, inc_lo)


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


# Uniforms read where they are needed. Step k of an LCG is an affine map of its state:
# s_k = a**k s_0 + (1 + a + ... + a**(k-1)) inc (mod 2**128), so a table of a**k and of the
# geometric sums (shared by every generator: the increment is a factor) gives the number at
# any position of a day from the day's first state with two 128-bit multiplications, and the
# next day's first state with one jump. A kernel given such a day (its first states and the
# table: Streams.lazy_uniform) reads only the numbers it uses; the rest are never computed,
# and every number read is the one the dense draw would have put there.
A_HI, A_LO, G_HI, G_LO = range(4)  # columns of a jump table row


@numba.njit(cache=True)
def jump_table(K):  # pragma: no cover - compiled
    """Rows k = 0 ... K of a**k and 1 + a + ... + a**(k-1) (mod 2**128) for PCG64's
    multiplier a, as uint64 words (:data:`A_HI` ... :data:`G_LO`)."""
    out = np.empty((K + 1, 4), dtype=np.uint64)
    zero, one = np.uint64(0), np.uint64(1)
    ah, al, gh, gl = zero, one, zero, zero
    out[0, A_HI], out[0, A_LO], out[0, G_HI], out[0, G_LO] = ah, al, gh, gl
    for k in range(1, K + 1):
        # a**k = a**(k-1) * a; G_k = G_(k-1) * a + 1 (the multiplier's words as an LCG step
        # with a zero increment, then a one)
        ah, al = _lcg_step(ah, al, zero, zero)
        gh, gl = _lcg_step(gh, gl, zero, one)
        out[k, A_HI], out[k, A_LO], out[k, G_HI], out[k, G_LO] = ah, al, gh, gl
    return out


@numba.njit(inline="always")
def _state_after(st, e, jt, k):  # pragma: no cover - compiled
    # member e's state k steps on from its row of st
    ih, il = _mul_add128(jt[k, G_HI], jt[k, G_LO], st[e, INC_HI], st[e, INC_LO],
                         np.uint64(0), np.uint64(0))
    return _mul_add128(jt[k, A_HI], jt[k, A_LO], st[e, HI], st[e, LO], ih, il)


@numba.njit(inline="always")
def uniform_at(st, jt, e, j):  # pragma: no cover - compiled
    """Member e's number j of the day whose first states are ``st`` (``[E, 6]``, as
    :func:`draw_uniforms` would find them) with the jump table ``jt``: the float32
    :func:`draw_uniforms` puts at ``out[e, j]``."""
    h = np.int64(st[e, HAS])
    if h != 0 and j == 0:
        return _float32(st[e, HALF])
    p = j - h
    hi, lo = _state_after(st, e, jt, p // 2 + 1)
    r = _output(hi, lo)
    return _float32(r & np.uint64(0xFFFFFFFF)) if p % 2 == 0 else _float32(r >> np.uint64(32))


@numba.njit(cache=True)
def skip_uniforms(st, jt, S):  # pragma: no cover - compiled
    """Advance each row of ``st`` past its next ``S`` uniforms (``S // 2 + 1`` rows of ``jt``
    at least), as :func:`draw_uniforms` of ``S`` numbers a member leaves it."""
    if S == 0:
        return
    for e in range(st.shape[0]):
        p = S - np.int64(st[e, HAS])  # the numbers after the kept half, if any
        if p % 2 == 0:
            st[e, HI], st[e, LO] = _state_after(st, e, jt, p // 2)
            st[e, HAS] = 0  # the kept half's bits stay, unread, as NumPy leaves them
        else:
            hi, lo = _state_after(st, e, jt, p // 2 + 1)
            st[e, HI], st[e, LO] = hi, lo
            st[e, HAS] = 1
            st[e, HALF] = _output(hi, lo) >> np.uint64(32)


def uniform_source(u):  # pragma: no cover - replaced in compiled code
    """A day's uniforms ``u`` for a kernel's loops: ``(dense, st, jt, lazy)``, where number j
    of member e is ``dense[e, j]`` (``u`` an array ``[E, S]``, or ``[E, R, N]`` read as ``[E,
    R * N]``) or, ``lazy``, ``uniform_at(st, jt, e, j)`` (``u`` a day read where needed,
    :meth:`loyaltytrap.rng.Streams.lazy_uniform`)."""
    raise NotImplementedError("uniform_source is for compiled kernels")


@overload(uniform_source)
def _uniform_source(u):  # pragma: no cover - compiled
    if isinstance(u, types.Array) and u.ndim == 2:
        return lambda u: (u, np.empty((0, 6), np.uint64), np.empty((0, 4), np.uint64), False)
    if isinstance(u, types.Array) and u.ndim == 3:
        return lambda u: (np.ascontiguousarray(u).reshape(u.shape[0], u.shape[1] * u.shape[2]),
                          np.empty((0, 6), np.uint64), np.empty((0, 4), np.uint64), False)
    return lambda u: (np.empty((0, 0), np.float32), u[0], u[1], True)


@numba.njit
def uniform_of(dense, st, jt, lazy, e, j):  # pragma: no cover - compiled
    """Member e's number j of a day's uniforms as :func:`uniform_source` gave them.

    Not inlined by Numba (``inline="always"``): a function of arrays inlined into a loop
    over the officers made the purge draw 40 times slower (measured); called, and only where
    a number is needed, it costs about 7 ns a number read (LLVM may still inline it)."""
    return uniform_at(st, jt, e, j) if lazy else dense[e, j]

"""SciPy's special functions for compiled code: the C functions behind ``scipy.special``
(exported by ``scipy.special.cython_special``), so that a kernel computes what the plain
version's ``scipy.special`` call computes, bit for bit.

A kernel takes a function's address as an integer argument and calls it through
:func:`call_ndtri` or :func:`call_pdtr` (an indirect call in the compiled code). Numba caches a
kernel that receives the address, not one that closes over it (it changes from process to
process); an integer argument costs the call ~0.05 us to type where a ctypes function cost
~1.4 us, at every call of the kernel.
"""

from __future__ import annotations

import ctypes

from llvmlite import ir
from numba.core import types
from numba.extending import intrinsic
from scipy.special import cython_special


def _address(name: str) -> int:
    capsule = cython_special.__pyx_capi__[name]
    get_name = ctypes.pythonapi.PyCapsule_GetName
    get_name.restype, get_name.argtypes = ctypes.c_char_p, [ctypes.py_object]
    get_pointer = ctypes.pythonapi.PyCapsule_GetPointer
    get_pointer.restype = ctypes.c_void_p
    get_pointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
    return int(get_pointer(capsule, get_name(capsule)))


# the addresses of the C functions (every cython_special function takes a last int,
# skip_dispatch, passed as 0)
PDTR = _address("pdtr")  # P(X <= k) for X ~ Poisson(m): double pdtr(double k, double m, int)
NDTRI = _address("ndtri")  # the standard normal quantile: double ndtri(double p, int)


def _indirect(builder: ir.IRBuilder, address: ir.Value, args: list[ir.Value]) -> ir.Value:
    """Call the ``double f(double, ..., int)`` at ``address`` with ``args`` and 0."""
    i32 = ir.IntType(32)
    fnty = ir.FunctionType(ir.DoubleType(), [ir.DoubleType()] * len(args) + [i32])
    fn = builder.inttoptr(address, fnty.as_pointer())
    return builder.call(fn, [*args, ir.Constant(i32, 0)])


@intrinsic
def call_ndtri(typingctx, address, p):  # type: ignore[no-untyped-def]  # pragma: no cover
    """``scipy.special.ndtri(p)`` through the address :data:`NDTRI` (compiled code only)."""
    sig = types.float64(types.int64, types.float64)

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        return _indirect(builder, args[0], [args[1]])

    return sig, codegen


@intrinsic
def call_pdtr(typingctx, address, k, m):  # type: ignore[no-untyped-def]  # pragma: no cover
    """``scipy.special.pdtr(k, m)`` through the address :data:`PDTR` (compiled code only)."""
    sig = types.float64(types.int64, types.float64, types.float64)

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        return _indirect(builder, args[0], [args[1], args[2]])

    return sig, codegen

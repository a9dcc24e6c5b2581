"""SciPy's special functions for compiled code: the C functions behind ``scipy.special``
(exported by ``scipy.special.cython_special``), called through ctypes, so that a kernel
computes what the plain version's ``scipy.special`` call computes, bit for bit.

A kernel takes them as arguments (Numba caches a function that receives a ctypes function,
not one that closes over its address, which changes from process to process).
"""

from __future__ import annotations

import ctypes

from scipy.special import cython_special


def _capi(name: str, *argtypes: type) -> ctypes._CFuncPtr:
    capsule = cython_special.__pyx_capi__[name]
    get_name = ctypes.pythonapi.PyCapsule_GetName
    get_name.restype, get_name.argtypes = ctypes.c_char_p, [ctypes.py_object]
    get_pointer = ctypes.pythonapi.PyCapsule_GetPointer
    get_pointer.restype = ctypes.c_void_p
    get_pointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
    address = get_pointer(capsule, get_name(capsule))
    # every cython_special function takes a last int (skip_dispatch, 0)
    return ctypes.CFUNCTYPE(ctypes.c_double, *argtypes, ctypes.c_int)(address)


# P(X <= k) for X ~ Poisson(m): pdtr(k, m, 0)
PDTR = _capi("pdtr", ctypes.c_double, ctypes.c_double)
# the standard normal quantile: ndtri(p, 0)
NDTRI = _capi("ndtri", ctypes.c_double)

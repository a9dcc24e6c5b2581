"""The events' sentences written as bytes (twin of the Arrow joins of
:func:`loyaltytrap.events.sentences_arrow`).

A kind's template is its literal pieces and, between them, its fields. Each field comes ready
in one of three forms (:data:`INT`, :data:`FIXED`, :data:`TEXT`): an integer written in
decimal, a number written with a fixed count of decimals from its sign and its exact rounded
digits (:func:`loyaltytrap.events._fixed_point`, which rounds as ``format`` does), or a string
of a pool of UTF-8 strings taken by code. The bytes are counted first, row by row (so that
every kind's rows can be written straight into their places in one buffer of the whole
table), then written: one pass each, compiled.
"""

from __future__ import annotations

import numba
import numpy as np

INT, FIXED, TEXT = 0, 1, 2  # a field's form


@numba.njit(inline="always")
def _digits(v):  # pragma: no cover - compiled
    # how many decimal digits a non-negative integer has (1 for 0); unsigned, so that each
    # division by ten is a multiplication (signed floor division corrects for the sign)
    u = np.uint64(v)
    ten = np.uint64(10)
    n = 1
    while u >= ten:
        u //= ten
        n += 1
    return n


@numba.njit(inline="always")
def _put_int(data, at, v, width):  # pragma: no cover - compiled
    # v >= 0 in decimal, left-padded with zeros to width digits; the position after it
    end = at + width
    u = np.uint64(v)
    ten = np.uint64(10)
    for i in range(end - 1, at - 1, -1):
        d = u // ten
        data[i] = np.uint8(u - d * ten) + np.uint8(48)
        u = d
    return end


@numba.njit(inline="always")
def _field_length(mode, neg, q, places, scale, pool_off):  # pragma: no cover - compiled
    if mode == TEXT:
        return pool_off[q + 1] - pool_off[q]
    if mode == INT:
        if q < 0:
            return 1 + _digits(-q)
        return _digits(q)
    n = _digits(q // scale) + neg
    return n + 1 + places if places else n


@numba.njit(cache=True)
def text_lengths(rows, lit_off, mode, neg, q, places, pool_off, lengths):  # pragma: no cover
    """The byte length of each row's sentence, written at ``lengths[rows[i]]``: the literal
    pieces (``lit_off``, F + 2 offsets for F fields) and the fields ``[F, r]``."""
    F = mode.shape[0]
    lit = lit_off[F + 1] - lit_off[0]
    for i in range(rows.shape[0]):
        n = lit
        for f in range(F):
            n += _field_length(mode[f], neg[f, i], q[f, i], places[f], 10 ** places[f],
                               pool_off)
        lengths[rows[i]] = n


@numba.njit(cache=True)
def write_text(data, offsets, rows, lits, lit_off, mode, neg, q, places, pool,
               pool_off):  # pragma: no cover - compiled
    """Each row's sentence written at ``data[offsets[rows[i]]:]`` (see
    :func:`text_lengths`)."""
    F = mode.shape[0]
    scales = np.empty(F, np.int64)
    for f in range(F):
        scales[f] = 10 ** places[f]
    for i in range(rows.shape[0]):
        at = offsets[rows[i]]
        for f in range(F + 1):
            for j in range(lit_off[f], lit_off[f + 1]):
                data[at] = lits[j]
                at += 1
            if f == F:
                break
            v = q[f, i]
            m = mode[f]
            if m == TEXT:
                for j in range(pool_off[v], pool_off[v + 1]):
                    data[at] = pool[j]
                    at += 1
            elif m == INT:
                if v < 0:
                    data[at] = 45  # "-"
                    at += 1
                    v = -v
                at = _put_int(data, at, v, _digits(v))
            else:
                if neg[f, i]:
                    data[at] = 45
                    at += 1
                scale = scales[f]
                whole = v // scale
                at = _put_int(data, at, whole, _digits(whole))
                if places[f]:
                    data[at] = 46  # "."
                    at = _put_int(data, at + 1, v % scale, places[f])

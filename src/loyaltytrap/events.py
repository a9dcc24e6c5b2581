"""The event log: what happened, to whom, and why, one row per event.

Step functions return :class:`EventBatch` objects (columns over the members concerned); the
engine stamps the day and collects them. Each event kind has a sentence template, so a row
reads as a link in a chain of causes (fear -> scrubbed reports -> surprise -> scapegoat ->
more fear).
"""

from __future__ import annotations

import functools
import string
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

# event kind -> (mechanism id, sentence template over the row's fields). Mechanism modules
# add their own kinds with register_templates() when they are imported.
TEMPLATES: dict[str, tuple[str, str]] = {
    "surfaced": ("M2", "news buried by officer {officer} (level {level}) surfaced: {value:.0f} "
                       "problems hidden for {value2:.0f} days on average"),
    "surprise": ("M11", "the leader is surprised: {value:.0f} problems he did not know of "
                        "became visible (his picture had {value2:.0f})"),
    "response": ("M11", "the leader answers the surprise with {label}"),
    "purge": ("M3", "officer {officer} (level {level}) purged for {label}; competence "
                    "{value:.2f}, replaced by one of competence {value2:.2f}"),
    "fear_spread": ("M3", "purges at level {level} raise fear there to {value:.2f} "
                          "(from {value2:.2f})"),
    "reruns": ("M4", "{value:.0f} failed manoeuvres rerun while orders waited {value2:.1f} "
                     "days on average ({label})"),
}



def register_templates(templates: dict[str, tuple[str, str]]) -> None:
    """Add event kinds: ``{kind: (mechanism id, template over officer, level, value, value2,
    label)}``."""
    TEMPLATES.update(templates)


COLUMNS = ["day", "member", "mechanism", "event", "officer", "level", "value", "value2",
           "label", "details"]


@dataclass
class EventBatch:
    """Events of one kind on one day, one entry per affected member (and officer)."""

    event: str
    member: np.ndarray
    officer: np.ndarray | None = None
    level: np.ndarray | None = None
    value: np.ndarray | None = None
    value2: np.ndarray | None = None
    label: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.member)


@dataclass
class EventLog:
    """Events collected over a run of a batch of members (rows are batch rows until
    :meth:`frame` maps them to global member ids)."""

    batches: list[tuple[int, EventBatch]] = field(default_factory=list)

    def add(self, day: int, batches: list[EventBatch]) -> None:
        """Keep the non-empty batches of a day."""
        self.batches.extend((day, b) for b in batches if len(b))

    def frame(self, member_ids: np.ndarray, details: bool = True) -> pd.DataFrame:
        """The log as a table (day, member, mechanism, event, officer, level, value, value2,
        label, details), ordered by member, then day. ``details=False`` leaves out the
        sentences (the store renders them when it reads the events back)."""
        columns = COLUMNS if details else COLUMNS[:-1]
        if not self.batches:
            return pd.DataFrame({c: pd.Series(dtype=_dtype(c)) for c in columns})
        # one concatenation per column (building a frame per batch is slow); a missing column
        # of a batch is a slice of one filler array
        batches = [b for _, b in self.batches]
        n = np.array([len(b.member) for b in batches])
        most = int(n.max())
        fill_int, fill_nan = np.full(most, -1, np.int64), np.full(most, np.nan)
        fill_str = np.full(most, "", dtype=object)
        sizes = n.tolist()

        def column(name: str, fill: np.ndarray) -> np.ndarray:
            parts = [getattr(b, name) for b in batches]
            return np.concatenate([fill[:k] if x is None else x
                                   for x, k in zip(parts, sizes, strict=True)])

        kinds = list(dict.fromkeys(b.event for b in batches))  # the kinds, first seen first
        index = {k: i for i, k in enumerate(kinds)}
        kind = np.repeat(np.array([index[b.event] for b in batches], np.int64), n)
        officer = column("officer", fill_int).astype(np.int64)
        level = column("level", fill_int).astype(np.int64)
        value = column("value", fill_nan).astype(np.float64)
        value2 = column("value2", fill_nan).astype(np.float64)
        label = np.concatenate([fill_str[:k] if b.label is None else np.asarray(b.label, object)
                                for b, k in zip(batches, sizes, strict=True)])
        day = np.repeat([d for d, _ in self.batches], n).astype(np.int32)
        member = member_ids[np.concatenate([b.member for b in batches])].astype(np.int64)
        order = np.lexsort((day, member))  # by member, then day; stable
        day, member, kind, officer, level, value, value2, label = (
            x[order] for x in (day, member, kind, officer, level, value, value2, label))
        # the text columns: each distinct string converted once
        label_codes, label_values = pd.factorize(label)
        label_text = label_values.tolist()
        if (label_codes < 0).any() or not all(type(x) is str for x in label_text):
            # a label that is not a string (None, NaN, a number): every row as str() writes it
            label_codes, label_values = pd.factorize(label.astype(str))
            label_text = label_values.tolist()
        df = pd.DataFrame({
            "day": day, "member": member,
            "mechanism": text_column([TEMPLATES[k][0] for k in kinds], kind),
            "event": text_column(kinds, kind),
            "officer": officer, "level": level, "value": value, "value2": value2,
            "label": text_column(label_text, label_codes),
        })
        if details:  # one sentence per row
            df["details"] = text_column(sentences_arrow(
                np.array(kinds, dtype=object)[kind], officer, level, value, value2,
                np.array(label_text, dtype=object)[label_codes]))
        return df


_TEXT = pd.Series(["text"]).dtype  # what pandas makes of strings (pandas 3: str; before: object)


def text_column(values: Any, codes: np.ndarray | None = None) -> Any:
    """A column of strings as pandas would infer it from them (``values[codes]`` if codes
    are given), built without pandas checking every row: the distinct strings converted once
    and taken by code, and a column of many different strings (the sentences: a list, or an
    Arrow string array as :func:`sentences_arrow` writes them) handed to Arrow whole where
    pandas keeps strings in Arrow."""
    if not isinstance(values, list):  # an Arrow array of strings (no nulls)
        if getattr(_TEXT, "storage", None) == "pyarrow" and codes is None:
            return pd.array(values, dtype=_TEXT)
        values = values.to_pylist()
    if np.dtype(object) == _TEXT:
        out = np.array(values, dtype=object)
        return out if codes is None else out[codes]
    if codes is not None:
        return pd.array(np.array(values, dtype=object), dtype=_TEXT).take(codes)
    if getattr(_TEXT, "storage", None) == "pyarrow":
        import pyarrow as pa

        return pd.array(pa.array(values, type=pa.large_string()), dtype=_TEXT)
    return pd.array(np.array(values, dtype=object), dtype=_TEXT)


FIELDS = ("officer", "level", "value", "value2", "label")
_EXACT_INT = 2.0**53  # below it every double is m * 2**-s with an integer m < 2**53


def _whole_numbers(x: np.ndarray) -> list[str] | None:
    """``format(v, ".0f")`` of each value of a float column (see :func:`_fixed_point`), or
    None where a value needs the row-by-row rendering (a sign, NaN, inf, 2**53 and
    beyond)."""
    fixed = _fixed_point(x, 0)
    if fixed is None or fixed[0].any():
        return None
    return list(map(str, fixed[1].tolist()))


_PLACES = {".0f": 0, ".1f": 1, ".2f": 2}  # the fixed-point specs Arrow writes (exactly)


@functools.lru_cache(maxsize=256)
def _pieces(template: str) -> tuple[list[str], list[tuple[str, int | None]]] | None:
    """The template as its literal pieces and, between them, the fields it names, each with
    its decimal places (a ``.0f``, ``.1f`` or ``.2f`` spec) or None (no spec); None if a
    field has any other spec or a conversion, or names anything but :data:`FIELDS`."""
    literals, named = [""], []
    for lit, f, spec, conv in string.Formatter().parse(template):
        literals[-1] += lit  # an escaped brace comes as a piece of its own
        if f is None:
            continue
        if f not in FIELDS or conv is not None or (spec and spec not in _PLACES):
            return None
        named.append((f, _PLACES[spec] if spec else None))
        literals.append("")
    return literals, named


def _fixed_point(x: np.ndarray, places: int) -> tuple[np.ndarray, np.ndarray] | None:
    """``format(v, f".{places}f")`` of each value as its sign bit and the integer
    ``round(|v| * 10**places)``, rounded as format rounds: the exact binary value, half to
    even. None if a value is NaN, infinite or ``|v| * 10**places`` reaches 2**53. Exact
    integer arithmetic: ``|v| = m * 2**-s`` with an integer mantissa ``m < 2**53``, and
    ``m * 10**places`` (below 2**60 for two places) is shifted right with its remainder
    compared with half the divisor."""
    scale = 10**places
    a = np.abs(x)
    if not np.all(a < _EXACT_INT / scale):  # NaN fails the test too
        return None
    frac, exp = np.frexp(a)  # a = frac * 2**exp, frac in [0.5, 1) (0 for 0)
    num = (frac * 2.0**53).astype(np.int64) * scale  # a * scale = num * 2**-shift
    shift = 53 - exp.astype(np.int64)  # >= 0, as a < 2**53
    small = shift > 62  # a * scale < 2**60 / 2**63: rounds to 0
    shift = np.where(small, 1, shift)
    q = num >> shift
    r = num - (q << shift)
    half = np.left_shift(1, shift - 1, where=shift > 0, out=np.zeros_like(shift))
    up = (shift > 0) & ((r > half) | ((r == half) & (q % 2 == 1)))
    q = np.where(small, 0, q + up)
    return np.signbit(x), q


def _pool() -> Any:
    """Arrow's memory for the sentences: the C library's heap, which :func:`keep_heap
    <loyaltytrap.simulate.keep_heap>` keeps from one day's arrays to the next (Arrow's own
    pool maps fresh memory for a large table, and a page fault costs several microseconds
    in a VM)."""
    import pyarrow as pa

    return pa.system_memory_pool()


def _piece(text: str) -> Any:
    # a literal piece of a sentence, as Arrow joins it with the columns' strings
    import pyarrow as pa

    return pa.scalar(text, type=pa.large_string())


def _arrow_text(x: np.ndarray, places: int | None) -> Any:
    """A column as the strings a template writes of it with no spec (integers, strings) or
    with ``places`` decimals (numbers :func:`_fixed_point` can write), as an Arrow array;
    None for anything else (floats with no spec, booleans, a value that is not a string,
    NaN, ...)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    pool = _pool()
    if places is None:
        if x.dtype.kind in "iu":
            return pc.cast(pa.array(x), pa.large_string(), memory_pool=pool)
        if x.dtype.kind == "O" and all(type(v) is str for v in x.tolist()):
            return pa.array(x.tolist(), type=pa.large_string())
        return None
    if x.dtype.kind not in "iuf":
        return None
    # format writes an int as the float it converts to
    fixed = _fixed_point(np.asarray(x, dtype=np.float64), places)
    if fixed is None:
        return None
    negative, q = fixed
    scale = 10**places
    text = pc.cast(pa.array(q // scale), pa.large_string(), memory_pool=pool)
    if places:
        decimals = pc.utf8_lpad(pc.cast(pa.array(q % scale), pa.large_string(),
                                        memory_pool=pool),
                                width=places, padding="0", memory_pool=pool)
        text = pc.binary_join_element_wise(text, decimals, _piece("."), memory_pool=pool)
    if negative.any():  # Python writes the sign of a negative value, even of one that rounds
        signed = pc.binary_join_element_wise(_piece("-"), text, _piece(""),  # to 0
                                             memory_pool=pool)
        text = pc.if_else(pa.array(negative), signed, text, memory_pool=pool)
    return text


def _joined(template: str, columns: dict[str, np.ndarray]) -> Any:
    """Every row's sentence of one kind as an Arrow array, the fields' strings and the
    template's literal pieces joined in Arrow; None if a field needs Python's formatting."""
    import pyarrow.compute as pc

    plan = _pieces(template)
    if plan is None or not plan[1]:
        return None
    literals, named = plan
    parts = [_piece(literals[0])]
    for (f, places), lit in zip(named, literals[1:], strict=True):
        text = _arrow_text(columns[f], places)
        if text is None:
            return None
        parts += [text, _piece(lit)]
    return pc.binary_join_element_wise(*parts, _piece(""), memory_pool=_pool())


@functools.lru_cache(maxsize=256)
def _writer(template: str) -> tuple[Callable[..., str], list[str], list[str]] | None:
    """The template as a compiled f-string, the fields it names (its arguments, in order)
    and those it renders only as ``.0f``, which it takes ready-made as strings (see
    :func:`_whole_numbers`); None if the template reads anything but :data:`FIELDS` by name
    (then ``str.format`` writes it, row by row)."""
    pieces = list(string.Formatter().parse(template))
    named = [(f, spec or "", conv) for _, f, spec, conv in pieces if f is not None]
    if any(f not in FIELDS or "{" in spec for f, spec, _ in named):
        return None
    fields = list(dict.fromkeys(f for f, _, _ in named))
    whole = [f for f in fields if all(spec == ".0f" and conv is None
                                      for g, spec, conv in named if g == f)]
    text = "".join(
        lit.replace("{", "{{").replace("}", "}}")
        + ("" if f is None else "{" + f + (f"!{conv}" if conv else "")
           + ("" if f in whole or not spec else f":{spec}") + "}")
        for lit, f, spec, conv in pieces)
    fn = eval(f"lambda {', '.join(fields)}: f{text!r}")  # the template's own f-string
    return fn, fields, whole


def sentences(
    event: Sequence[str] | np.ndarray, officer: np.ndarray, level: np.ndarray,
    value: np.ndarray, value2: np.ndarray, label: np.ndarray,
    templates: dict[str, tuple[str, str]] | None = None,
) -> list[str]:
    """Each row's sentence: its kind's template (:data:`TEMPLATES` unless given) over the
    row's officer, level, value, value2 and label, exactly as ``template.format`` writes it
    (tested); see :func:`sentences_arrow`."""
    return sentences_arrow(event, officer, level, value, value2, label, templates).to_pylist()


def sentences_arrow(
    event: Sequence[str] | np.ndarray, officer: np.ndarray, level: np.ndarray,
    value: np.ndarray, value2: np.ndarray, label: np.ndarray,
    templates: dict[str, tuple[str, str]] | None = None,
) -> Any:
    """:func:`sentences` as an Arrow ``large_string`` array, written kind by kind: where
    every field of a kind's template is a whole number or a string, its digits and the
    template's pieces are joined in Arrow; otherwise the template runs as an f-string, with
    whole-number columns turned into digits at once."""
    import pyarrow as pa
    import pyarrow.compute as pc

    templates = TEMPLATES if templates is None else templates
    columns = {"officer": np.asarray(officer), "level": np.asarray(level),
               "value": np.asarray(value), "value2": np.asarray(value2),
               "label": np.asarray(label, dtype=object)}
    codes, kinds = pd.factorize(np.asarray(event, dtype=object))
    from . import kernels

    if kernels.enabled():
        return _written(codes, kinds.tolist(), columns, templates)
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(kinds) + 1))
    parts = []  # each kind's sentences, its rows in order: the rows in ``order``
    for k, kind in enumerate(kinds.tolist()):
        rows = order[bounds[k]:bounds[k + 1]]
        template = templates[kind][1]
        joined = _joined(template, {f: x[rows] for f, x in columns.items()})
        parts.append(joined if joined is not None else pa.array(
            _formatted(template, columns, rows), type=pa.large_string()))
    if not parts:
        return pa.array([], type=pa.large_string())
    back = np.empty(len(order), dtype=np.int64)
    back[order] = np.arange(len(order))
    return pc.take(pa.concat_arrays(parts, memory_pool=_pool()), pa.array(back),
                   memory_pool=_pool())


def _utf8(strings: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Strings as one UTF-8 buffer and the offsets of each (int64, one more than strings)."""
    import pyarrow as pa

    a = pa.array(strings, type=pa.large_string())
    _, off, data = a.buffers()
    offsets = np.frombuffer(off, np.int64)[:len(strings) + 1]
    return offsets, (np.frombuffer(data, np.uint8) if data is not None and offsets[-1]
                     else np.zeros(1, np.uint8))


def _forms(template: str, columns: dict[str, np.ndarray], rows: np.ndarray
           ) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """A kind's rows as :mod:`loyaltytrap.kernels.text` writes them: the template's literal
    pieces, and for each of its fields the form, the sign bits, the integers (a value, exact
    digits or a code into the pool of strings) and the decimal places, with the pool. Where
    the template or a field needs Python's formatting, its sentences are the only field,
    each a string of the pool."""
    from .kernels.text import TEXT

    plan = _pieces(template)
    pool: list[str] = []
    forms = None if plan is None else _field_forms(plan[1], columns, rows, pool)
    if plan is not None and forms is not None:
        return plan[0], *_stacked(forms, len(rows)), pool
    # Python's formatting: each row's sentence is a string of the pool
    whole = [(TEXT, np.zeros(len(rows), np.bool_), np.arange(len(rows), dtype=np.int64), 0)]
    return ["", ""], *_stacked(whole, len(rows)), _formatted(template, columns, rows)


def _field_forms(named: list[tuple[str, int | None]], columns: dict[str, np.ndarray],
                 rows: np.ndarray, pool: list[str]
                 ) -> list[tuple[int, np.ndarray, np.ndarray, int]] | None:
    """Each named field's (form, sign bits, integers, places) on ``rows`` (strings added to
    ``pool``), or None if one needs Python's formatting (see :func:`_arrow_text`)."""
    from .kernels.text import FIXED, INT, TEXT

    r = len(rows)
    forms = []
    for f, places in named:
        x = columns[f][rows]
        if places is None and (x.dtype.kind == "i" or (x.dtype.kind == "u" and (
                not r or int(x.max()) < 2**63))):
            forms.append((INT, np.zeros(r, np.bool_), x.astype(np.int64), 0))
        elif places is None and x.dtype.kind == "O" and all(type(v) is str for v in x.tolist()):
            codes, uniques = pd.factorize(x)
            forms.append((TEXT, np.zeros(r, np.bool_), codes.astype(np.int64) + len(pool), 0))
            pool += uniques.tolist()
        elif places is not None and x.dtype.kind in "iuf" and (
                fixed := _fixed_point(np.asarray(x, dtype=np.float64), places)) is not None:
            forms.append((FIXED, fixed[0], fixed[1], places))
        else:
            return None
    return forms


def _stacked(forms: list[tuple[int, np.ndarray, np.ndarray, int]], r: int
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    return (np.array([m for m, _, _, _ in forms], np.int64),
            np.array([n for _, n, _, _ in forms], np.bool_).reshape(len(forms), r),
            np.array([q for _, _, q, _ in forms], np.int64).reshape(len(forms), r),
            np.array([p for _, _, _, p in forms], np.int64))


def _written(codes: np.ndarray, kinds: list[str], columns: dict[str, np.ndarray],
             templates: dict[str, tuple[str, str]]) -> Any:
    """:func:`sentences_arrow` written as bytes by the compiled writer
    (:mod:`loyaltytrap.kernels.text`): every row's length counted kind by kind, then each
    kind's rows written into their places in one buffer, in the rows' order."""
    import pyarrow as pa

    from .kernels.text import text_lengths, write_text

    n = len(codes)
    if not n:
        return pa.array([], type=pa.large_string())
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(kinds) + 1))
    lengths = np.empty(n, np.int64)
    plans = []
    for k, kind in enumerate(kinds):
        rows = order[bounds[k]:bounds[k + 1]]
        literals, mode, neg, q, places, pool = _forms(templates[kind][1], columns, rows)
        lit_off, lits = _utf8(literals)
        pool_off, pool_bytes = _utf8(pool)
        plan = (rows, lits, lit_off, mode, neg, q, places, pool_bytes, pool_off)
        text_lengths(rows, lit_off, mode, neg, q, places, pool_off, lengths)
        plans.append(plan)
    offsets = np.zeros(n + 1, np.int64)
    np.cumsum(lengths, out=offsets[1:])
    data = np.empty(max(int(offsets[-1]), 1), np.uint8)
    for rows, lits, lit_off, mode, neg, q, places, pool_bytes, pool_off in plans:
        write_text(data, offsets, rows, lits, lit_off, mode, neg, q, places, pool_bytes,
                   pool_off)
    return pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data))


def _formatted(template: str, columns: dict[str, np.ndarray], rows: np.ndarray) -> list[str]:
    # the rows' sentences in Python: the template as an f-string, or str.format row by row
    writer = _writer(template)
    if writer is None:
        return [template.format(**dict(zip(FIELDS, r, strict=True))) for r in zip(
            *(columns[f][rows].tolist() for f in FIELDS), strict=True)]
    fn, fields, whole = writer
    args = []
    for f in fields:
        x = columns[f][rows]
        digits = _whole_numbers(x) if f in whole and x.dtype.kind == "f" else None
        if f in whole and digits is None:  # row by row, as format does it
            digits = [format(v, ".0f") for v in x.tolist()]
        args.append(digits if digits is not None else x.tolist())
    return list(map(fn, *args)) if args else [fn()] * len(rows)


def _dtype(col: str) -> str:
    return {"day": "int32", "member": "int64", "officer": "int64", "level": "int64",
            "value": "float64", "value2": "float64"}.get(col, "object")

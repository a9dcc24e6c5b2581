"""Parameter records: declared once per mechanism, filled from a scenario file.

Each mechanism declares a frozen dataclass whose fields are made with :func:`param` (a number
with a unit and the range the model accepts) or :func:`option` (a named choice). The scenario
loader validates a file against these declarations; the sampler fills the record with one value
per ensemble member (an ``[E]`` float array) or, for structural parameters that set array shapes,
with one Python number shared by every member.

Parameter records are inert data: no validation or computation happens in them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np

T = TypeVar("T")


@dataclass(frozen=True)
class ParamSpec:
    """What the model accepts for one numeric parameter."""

    unit: str
    lo: float | None = None
    hi: float | None = None
    integer: bool = False
    structural: bool = False  # fixed across members: it sets array shapes or the calendar
    doc: str = ""

    def allowed(self) -> str:
        """Human-readable statement of the allowed values."""
        kind = "an integer" if self.integer else "a number"
        if self.lo is not None and self.hi is not None:
            rng = f"between {_fmt(self.lo)} and {_fmt(self.hi)}"
        elif self.lo is not None:
            rng = f">= {_fmt(self.lo)}"
        elif self.hi is not None:
            rng = f"<= {_fmt(self.hi)}"
        else:
            rng = ""
        fixed = " (fixed, not a distribution: it sets array shapes)" if self.structural else ""
        return f"{kind} {rng}{fixed}".strip()

    def admits(self, x: float) -> bool:
        """True when ``x`` lies in the accepted range (and is integral where required)."""
        if not np.isfinite(x):
            return False
        if self.integer and float(x) != int(x):
            return False
        if self.lo is not None and x < self.lo:
            return False
        return not (self.hi is not None and x > self.hi)


@dataclass(frozen=True)
class OptionSpec:
    """A named, non-numeric choice of a mechanism (no provenance: it is a model switch)."""

    choices: tuple[str, ...]
    default: str
    doc: str = ""


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def param(
    unit: str,
    lo: float | None = None,
    hi: float | None = None,
    *,
    integer: bool = False,
    structural: bool = False,
    doc: str = "",
) -> Any:
    """Declare a numeric parameter field (its value always comes from a scenario file)."""
    spec = ParamSpec(unit, lo, hi, integer, structural, doc)
    return field(metadata={"spec": spec})


def option(choices: tuple[str, ...], default: str, doc: str = "") -> Any:
    """Declare an option field with a default choice."""
    return field(default=default, metadata={"option": OptionSpec(choices, default, doc)})


def param_specs(record: type) -> dict[str, ParamSpec]:
    """Numeric parameter declarations of a parameter record class, in declaration order."""
    return {
        f.name: f.metadata["spec"]
        for f in dataclasses.fields(record)
        if "spec" in f.metadata
    }


def option_specs(record: type) -> dict[str, OptionSpec]:
    """Option declarations of a parameter record class."""
    return {
        f.name: f.metadata["option"]
        for f in dataclasses.fields(record)
        if "option" in f.metadata
    }


@dataclass(frozen=True)
class Common:
    """Fields every mechanism record carries first."""

    enabled: bool


def col(x: np.ndarray | float) -> np.ndarray | float:
    """A per-member parameter ``[E]`` as a column ``[E, 1]`` for broadcasting over officers."""
    return x[:, None] if isinstance(x, np.ndarray) else x


def per_member(x: np.ndarray | float, E: int) -> np.ndarray:
    """A per-member parameter (``[E]`` array or a number) as its own float64 ``[E]`` array."""
    if isinstance(x, np.ndarray) and x.shape == (E,) and x.dtype == np.float64:
        return x.copy()  # the common case, without broadcasting's overhead
    return np.broadcast_to(np.asarray(x, dtype=np.float64), (E,)).copy()


def member_array(x: np.ndarray | float, E: int) -> np.ndarray:
    """A per-member input ``[E]`` as a float64 ``[E]`` array for a compiled kernel: the array
    itself when it is one already (not copied: kernels do not write their inputs)."""
    if isinstance(x, np.ndarray) and x.shape == (E,) and x.dtype == np.float64 \
            and x.flags.c_contiguous:
        return x
    return np.ascontiguousarray(np.broadcast_to(np.asarray(x, dtype=np.float64), (E,)))


def state_record(cls: type[T]) -> type[T]:
    """Decorator (above ``@dataclass(frozen=True)``) for a record the engine makes anew every
    day: its generated ``__init__``, which goes through ``object.__setattr__`` once per field
    (what a frozen dataclass must do), is replaced by one with the same signature that writes
    the instance's ``__dict__`` directly, and :func:`replace` copies it the same way. The
    record is still frozen (assignment raises), compares, prints and pickles as before. A
    single run makes some twenty records a day; their construction was a tenth of its time.
    Records with ``__post_init__``, ``init=False`` fields or default factories are refused."""
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    if hasattr(cls, "__post_init__") or any(
            not f.init or f.default_factory is not dataclasses.MISSING for f in fields):
        raise TypeError(f"{cls.__name__}: state_record takes plain fields only")
    names = [f.name for f in fields]
    defaults = {f"_default_{f.name}": f.default for f in fields
                if f.default is not dataclasses.MISSING}
    params = [f.name if f.default is dataclasses.MISSING else f"{f.name}=_default_{f.name}"
              for f in fields if not f.kw_only]
    kw_only = [f.name if f.default is dataclasses.MISSING else f"{f.name}=_default_{f.name}"
               for f in fields if f.kw_only]
    signature = ", ".join(["self", *params, *(["*", *kw_only] if kw_only else [])])
    body = "".join(f"    d[{n!r}] = {n}\n" for n in names)
    namespace: dict[str, Any] = dict(defaults)
    exec(f"def __init__({signature}):\n    d = self.__dict__\n{body}", namespace)
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__doc__ = cls.__init__.__doc__
    init.__annotations__ = dict(cls.__init__.__annotations__)
    cls.__init__ = init  # type: ignore[misc]
    cls._state_fields = frozenset(names)  # type: ignore[attr-defined]
    return cls


def replace(record: Any, **changes: Any) -> Any:
    """A copy of a frozen record with some fields changed."""
    known = getattr(type(record), "_state_fields", None)
    if known is None:
        return dataclasses.replace(record, **changes)
    if not known.issuperset(changes):
        unknown = sorted(set(changes) - known)
        raise TypeError(f"{type(record).__name__} has no field(s) {unknown}")
    out = object.__new__(type(record))
    d = out.__dict__
    d.update(record.__dict__)
    d.update(changes)
    return out


def packed(record: Any, key: str, build: Callable[[], T]) -> T:
    """A value derived from a frozen parameter record (``build()``), built once per record and
    kept with it: compiled kernels read their parameters packed into arrays, and packing
    them every day cost more than the kernels' own work for a single member. A copy made by
    :func:`replace` (or ``dataclasses.replace``) starts without it."""
    cache = record.__dict__.setdefault("_packed", {})  # frozen: fields only, not __dict__
    out = cache.get(key)
    if out is None:
        out = cache[key] = build()
    return out

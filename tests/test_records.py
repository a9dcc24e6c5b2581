"""State records built without the frozen dataclass's per-field ``object.__setattr__``
(:func:`loyaltytrap.params.state_record`) behave as the dataclass they replace."""

from __future__ import annotations

import dataclasses
import inspect
import pickle

import numpy as np
import pytest

from loyaltytrap.engine import State
from loyaltytrap.mechanisms.money import MoneyState
from loyaltytrap.params import replace, state_record


@state_record
@dataclasses.dataclass(frozen=True)
class _Record:
    a: np.ndarray
    b: float = 2.0
    c: str = dataclasses.field(default="x", kw_only=True)


@dataclasses.dataclass(frozen=True)
class _Plain:  # the same record, left as the dataclass made it
    a: np.ndarray
    b: float = 2.0
    c: str = dataclasses.field(default="x", kw_only=True)


def test_same_signature_defaults_and_keyword_only_fields() -> None:
    assert str(inspect.signature(_Record)) == str(inspect.signature(_Plain))
    r = _Record(np.zeros(2))
    assert (r.b, r.c) == (2.0, "x")
    assert _Record(np.zeros(2), 3.0, c="y").c == "y"
    with pytest.raises(TypeError):
        _Record(np.zeros(2), 3.0, "y")  # c is keyword-only
    with pytest.raises(TypeError):
        _Record()  # a is required


def test_still_frozen_comparable_printable_and_picklable() -> None:
    r = _Record(np.arange(3.0), 1.5, c="z")
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.b = 4.0  # type: ignore[misc]
    assert repr(r).startswith("_Record(a=array([0., 1., 2.]), b=1.5, c='z')")
    back = pickle.loads(pickle.dumps(r))
    assert back.b == 1.5 and back.c == "z" and np.array_equal(back.a, r.a)
    assert _Record(r.a, 1.5, c="z") == r


def test_replace_copies_and_checks_names() -> None:
    r = _Record(np.zeros(2))
    s = replace(r, b=7.0)
    assert (s.b, r.b, s.c) == (7.0, 2.0, "x") and s.a is r.a
    assert dataclasses.replace(r, b=7.0) == s
    with pytest.raises(TypeError, match="no field"):
        replace(r, d=1)


def test_engine_records_are_state_records() -> None:
    for cls in (State, MoneyState):
        assert cls._state_fields == {f.name for f in dataclasses.fields(cls)}


def test_refuses_what_it_cannot_reproduce() -> None:
    with pytest.raises(TypeError, match="plain fields"):
        @state_record
        @dataclasses.dataclass(frozen=True)
        class _Bad:
            a: list = dataclasses.field(default_factory=list)

"""Event sentences written a kind at a time (events.sentences) are those ``str.format``
writes row by row."""

from __future__ import annotations

import numpy as np
import pandas as pd

import loyaltytrap.engine  # noqa: F401 - registers every mechanism's templates
from loyaltytrap import events
from loyaltytrap.store import render_details

EDGES = np.array([0.0, -0.0, 0.5, 1.5, 2.5, -0.4, -2.5, 3.4999999999999996, 1e-320, np.nan,
                  np.inf, -np.inf, 1e300, 2.0**53, 2.0**53 - 1, 0.125, 0.005, 99.95])


def _rows(n: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    kinds = np.array(sorted(events.TEMPLATES))
    value = np.concatenate([EDGES, rng.exponential(30.0, n - len(EDGES))])
    value2 = np.concatenate([rng.normal(0.0, 3.0, n - len(EDGES)), EDGES[::-1]])
    return {
        "event": kinds[rng.integers(0, len(kinds), n)],
        "officer": rng.integers(-1, 1400, n), "level": rng.integers(-1, 8, n),
        "value": rng.permutation(value), "value2": rng.permutation(value2),
        "label": np.array([rng.choice(["", "fear {0}", "a } b", "x"]) for _ in range(n)],
                          dtype=object),
    }


def _by_row(r: dict[str, np.ndarray], templates: dict[str, tuple[str, str]]) -> list[str]:
    return [templates[e][1].format(officer=o, level=lv, value=v, value2=v2, label=lb)
            for e, o, lv, v, v2, lb in zip(*(r[c].tolist() for c in (
                "event", "officer", "level", "value", "value2", "label")), strict=True)]


def test_every_template_writes_what_format_writes() -> None:
    for seed in range(3):
        r = _rows(4000, seed)
        assert events.sentences(r["event"], r["officer"], r["level"], r["value"],
                                r["value2"], r["label"]) == _by_row(r, events.TEMPLATES)


def test_unusual_templates_fall_back_to_format() -> None:
    templates = {"a": ("M0", "{value!r} and {{braces}} and {label}"),
                 "b": ("M0", "{value:>8.0f}|{value:.0f}|{officer:03d}"),
                 "c": ("M0", "no fields at all"), "d": ("M0", "{value.real:.1f}")}
    r = _rows(400, 7)
    r["event"] = np.array(["a", "b", "c", "d"])[np.arange(400) % 4]
    assert events.sentences(r["event"], r["officer"], r["level"], r["value"], r["value2"],
                            r["label"], templates) == _by_row(r, templates)


def test_store_renders_known_and_unknown_kinds() -> None:
    r = _rows(50, 3)
    df = pd.DataFrame({k: v for k, v in r.items()})
    assert render_details(df, events.TEMPLATES) == _by_row(r, events.TEMPLATES)
    df.loc[3, "event"], df.loc[4, "label"] = "gone", None  # a kind no longer known
    out = render_details(df, events.TEMPLATES)
    assert out[3] == f"gone ({df.loc[3, 'label']})"
    assert out[5:] == _by_row(r, events.TEMPLATES)[5:]

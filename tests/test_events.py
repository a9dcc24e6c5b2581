"""Event sentences written a kind at a time (events.sentences) are those ``str.format``
writes row by row."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import loyaltytrap.engine  # noqa: F401 - registers every mechanism's templates
from loyaltytrap import events, kernels
from loyaltytrap.store import render_details

EDGES = np.array([0.0, -0.0, 0.5, 1.5, 2.5, -0.4, -2.5, 3.4999999999999996, 1e-320, np.nan,
                  np.inf, -np.inf, 1e300, 2.0**53, 2.0**53 - 1, 0.125, 0.005, 99.95])


@pytest.fixture(autouse=True, params=["numba", "numpy"])
def writer(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test twice: sentences written by the compiled writer (kernels.text) and by the
    Arrow joins (the kernels switched off)."""
    if request.param == "numba" and not kernels.HAVE_NUMBA:
        pytest.skip("numba not installed")
    monkeypatch.setenv("LOYALTYTRAP_KERNEL", request.param)
    return request.param


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


def test_whole_number_and_text_kinds_joined_in_arrow_write_what_format_writes() -> None:
    # values every .0f field can take as digits (ties, the smallest double, 2**53 - 1), so
    # the kinds whose fields are all whole numbers or strings are joined in Arrow
    r = _rows(3000, 11)
    whole = np.array([0.0, 0.5, 1.5, 2.5, 3.4999999999999996, 1e-320, 2.0**53 - 1, 99.95, 7.0])
    rng = np.random.default_rng(5)
    r["value"] = np.concatenate([whole, rng.exponential(30.0, 3000 - len(whole))])
    r["value2"] = rng.permutation(r["value"])
    r["label"] = np.array(["ü ∑", "{value}", "", "a } b", *map(str, r["label"][4:])],
                          dtype=object)  # str, as the frame's labels are (not numpy's str_)
    columns = {f: r[f][r["event"] == "surfaced"] for f in events.FIELDS}
    assert events._joined(events.TEMPLATES["surfaced"][1], columns) is not None
    assert events._joined(events.TEMPLATES["purge"][1], columns) is not None  # .2f too
    assert events._joined(events.TEMPLATES["bottleneck"][1], columns) is None  # .0%: Python's
    assert events.sentences(r["event"], r["officer"], r["level"], r["value"], r["value2"],
                            r["label"]) == _by_row(r, events.TEMPLATES)
    templates = {"a": ("M0", "{label}"), "b": ("M0", "{level}{officer}{{x}}"),
                 "c": ("M0", "{value:.0f}: {label}, {value:.0f} {officer:.0f}")}
    r["event"] = np.array(["a", "b", "c"])[np.arange(3000) % 3]
    assert events.sentences(r["event"], r["officer"], r["level"], r["value"], r["value2"],
                            r["label"], templates) == _by_row(r, templates)


def test_fixed_point_digits_written_in_arrow_are_formats() -> None:
    # exact ties (k / 8 at two places), near ties (k / 200), the smallest doubles, powers of
    # two over the whole range Arrow takes, negatives that round to zero, integers
    rng = np.random.default_rng(2)
    x = np.concatenate([
        np.array([0.0, -0.0, 0.5, 1.5, 2.5, -0.4, -2.5, 0.125, 0.375, 2.675, 0.005, 0.015,
                  99.95, 99.995, 1e-320, -1e-320, 5e-324, 2.0**52 + 0.5, 2.0**53 / 100 - 1]),
        rng.exponential(30.0, 5000), -rng.exponential(3.0, 5000), rng.uniform(0, 1, 5000),
        rng.integers(0, 10**6, 2000) / 8, rng.integers(-10**6, 10**6, 2000) / 200,
        2.0 ** rng.integers(-1074, 46, 3000)])
    for places in (0, 1, 2):
        y = x[np.abs(x) < 2.0**53 / 10**places]
        assert events._arrow_text(y, places).to_pylist() == [format(v, f".{places}f")
                                                             for v in y.tolist()]
    ints = np.array([0, 7, -3, 2**40])
    assert events._arrow_text(ints, 2).to_pylist() == [format(v, ".2f") for v in ints.tolist()]
    for beyond in (np.nan, np.inf, 2.0**53):  # left to Python
        assert events._arrow_text(np.array([1.0, beyond]), 0) is None


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


def test_text_columns_are_what_pandas_infers() -> None:
    words = ["surfaced", "purge", "", "ü ∑", "surfaced"]
    codes = np.array([0, 3, 2, 2, 1, 0, 4])
    for got, values in ((events.text_column(words, codes), [words[c] for c in codes]),
                        (events.text_column(words), words)):
        want = pd.Series(values)
        got_s = pd.Series(got)
        assert got_s.dtype == want.dtype and type(got_s.array) is type(want.array)
        pd.testing.assert_series_equal(got_s, want)


def test_frame_rows_and_labels_as_str_writes_them() -> None:
    log = events.EventLog()
    log.add(3, [events.EventBatch("purge", np.array([1, 0]), officer=np.array([5, 7]),
                                  level=np.array([2, 1]), value=np.array([0.5, 0.25]),
                                  value2=np.array([0.4, 0.2]),
                                  label=np.array(["candour", None], dtype=object))])
    log.add(1, [events.EventBatch("surfaced", np.array([1]), officer=np.array([9]),
                                  level=np.array([3]), value=np.array([4.0]),
                                  value2=np.array([2.0])),
                events.EventBatch("response", np.array([0]), label=np.array([np.nan]))])
    df = log.frame(np.array([10, 11]))
    assert df["member"].tolist() == [10, 10, 11, 11] and df["day"].tolist() == [1, 3, 1, 3]
    assert df["event"].tolist() == ["response", "purge", "surfaced", "purge"]
    assert df["mechanism"].tolist() == ["M11", "M3", "M2", "M3"]
    assert df["label"].tolist() == ["nan", "None", "", "candour"]  # as astype(str) writes them
    assert df["details"].tolist()[0] == "the leader answers the surprise with nan"
    assert df["details"].tolist()[3].startswith("officer 5 (level 2) purged for candour")
    for col in ("mechanism", "event", "label", "details"):
        assert df[col].dtype == pd.Series(["x"]).dtype

"""The HTML report and the comparison of two runs, on a tiny chain of command."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from loyaltytrap import stats
from loyaltytrap.report import _Run, narrative, write_comparison, write_report
from loyaltytrap.scenario import Scenario
from loyaltytrap.store import Store

COLLAPSING = ("stability.base_hazard=0.05",)


@pytest.fixture(scope="module")
def store(small: Scenario, tmp_path_factory: pytest.TempPathFactory) -> Store:
    """Two tiny stored runs: the small tree, and the same with a high collapse hazard."""
    st = Store(tmp_path_factory.mktemp("db") / "report.duckdb")
    st.record(small, members=6, seed=0, days=60, batch=3)
    st.record(small.with_overrides(COLLAPSING), members=6, seed=1, days=60, batch=3)
    yield st
    st.close()


def _images(text: str) -> list[str]:
    return re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', text)


def test_report_sections_and_embedded_figures(store: Store, tmp_path: Path) -> None:
    path = write_report(store, 2, tmp_path / "r.html")
    text = path.read_text()
    for h in ("The run", "Headline indicators", "The truth beside the leader", "Purges",
              "Survival of the regime", "One member", "Parameters and their provenance"):
        assert f"<h2>{h}" in text.replace("&#x27;", "'"), h
    assert "Why it collapsed on day" in text
    assert len(_images(text)) >= 6
    assert all(len(b) > 1000 for b in _images(text))
    # self-contained: no external URL anywhere in an attribute
    assert not re.search(r'(src|href)="(https?:)?//', text)
    # provenance: a sourced parameter with its citation, an assumption with its range
    assert "sourced" in text and "assumption" in text and "range [" in text


def test_story_without_collapse_has_no_why(store: Store) -> None:
    run = _Run(store, 1)
    text = narrative(run, stats.representative_member(store, 1))
    assert "Why it collapsed" not in text and "still standing" in text
    assert "Member " in text


def test_compare_two_runs(store: Store, tmp_path: Path) -> None:
    df = stats.compare(store, 1, 2)
    assert {"fear_mean", "true_total"} <= set(df["indicator"])
    ok = df.dropna(subset=["diff_lo"])
    assert (ok["diff_lo"] <= ok["diff"]).all() and (ok["diff"] <= ok["diff_hi"]).all()
    same = stats.compare(store, 1, 1)
    assert np.allclose(same["diff"].dropna(), 0)
    text = write_comparison(store, 1, 2, tmp_path / "c.html").read_text()
    assert "Fan charts, overlaid" in text and "<h2>Survival" in text
    assert len(_images(text)) == 2


def test_diff_of_means_interval() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.normal(0, 1, 400), rng.normal(1, 1, 400)
    d, lo, hi = stats.diff_of_means(a, b)
    assert lo < 1 < hi and abs(d - 1) < 0.2 and hi - lo < 0.4

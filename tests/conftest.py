"""Shared fixtures: a small chain of command that runs fast through the real engine."""

from __future__ import annotations

import pytest

from loyaltytrap.scenario import Scenario, load_scenario

SMALL = ("hierarchy.levels=4", "hierarchy.branching=3")


@pytest.fixture(scope="session")
def small() -> Scenario:
    """The default scenario on a 4-level, 3-ary tree (40 officers, 27 units)."""
    return load_scenario("kremlin-2026", SMALL)

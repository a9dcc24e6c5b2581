"""Shared fixtures: a small chain of command that runs fast through the real engine."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import pytest

from loyaltytrap.engine import Params, State, init_state, step
from loyaltytrap.rng import Streams
from loyaltytrap.scenario import Scenario, draw_parameters, load_scenario

SMALL = ("hierarchy.levels=4", "hierarchy.branching=3")


@pytest.fixture(scope="session")
def small() -> Scenario:
    """The default scenario on a 4-level, 3-ary tree (40 officers, 27 units)."""
    return load_scenario("kremlin-2026", SMALL)


def _daily_states(sc: Scenario, days: int, members: int = 4,
                  seed: int = 1) -> Iterator[tuple[State, Params]]:
    """The state of a batch after each of ``days`` days, through the real engine."""
    records, _ = draw_parameters(sc, np.arange(members), seed)
    params = Params.from_records(records)
    streams = Streams(seed, np.arange(members))
    state = init_state(params, streams)
    for _ in range(days):
        state, _ev = step(state, params, streams)
        yield state, params


@pytest.fixture(scope="session")
def daily_states() -> Callable[..., Iterator[tuple[State, Params]]]:
    """``daily_states(scenario, days, members=4, seed=1)``: (state, params) after each day."""
    return _daily_states

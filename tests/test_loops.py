"""The causal loops of the source are traceable in a run's event log."""

from __future__ import annotations

import pandas as pd
import pytest

from loyaltytrap.scenario import Scenario
from loyaltytrap.simulate import simulate


@pytest.fixture(scope="module")
def events(small: Scenario) -> pd.DataFrame:
    # a small chain under more pressure, so that the loops close often in a short run
    sc = small.with_overrides(["leader.response_scapegoat=0.9", "leader.response_fix=0.05",
                               "world.front_problem_rate=0.04", "world.supply_problem_rate=0.03",
                               "world.equipment_problem_rate=0.03", "leader.surprise_floor=2"])
    return simulate(sc, members=6, seed=3, days=500).events


def test_fear_scrub_surprise_scapegoat_fear(events: pd.DataFrame) -> None:
    """fear -> buried reports surface -> the leader is surprised -> a scapegoat is purged ->
    fear rises: all on one member-day, in that order."""
    found = False
    for (_m, _d), g in events.groupby(["member", "day"], sort=False):
        kinds = list(g["event"])
        if not ("surfaced" in kinds and "surprise" in kinds):
            continue
        resp = g[g["event"] == "response"]
        if resp.empty or resp["label"].iloc[0] != "scapegoat":
            continue
        target = resp["officer"].iloc[0]
        purge = g[(g["event"] == "purge") & (g["officer"] == target)]
        fear = g[g["event"] == "fear_spread"]
        if purge.empty or fear.empty:
            continue
        assert purge["label"].iloc[0].startswith("scapegoat")
        assert (fear["value"] > fear["value2"]).all()  # fear rose
        order = [kinds.index(k) for k in ("surfaced", "surprise", "response", "purge",
                                          "fear_spread")]
        assert order == sorted(order)
        found = True
        break
    assert found, "no complete fear -> surprise -> scapegoat -> fear chain in the log"

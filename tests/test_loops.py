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


@pytest.fixture(scope="module")
def war(small: Scenario) -> pd.DataFrame:
    """The full coupled model (a small chain of command, the whole war economy)."""
    return simulate(small, members=8, seed=11, days=900).events


def _first(ev: pd.DataFrame, kind: str, after: int = -1, **match: object) -> pd.Series | None:
    rows = ev[(ev["event"] == kind) & (ev["day"] > after)]
    for k, v in match.items():
        rows = rows[rows[k].astype(str).str.contains(str(v), regex=False)]
    return None if rows.empty else rows.iloc[0]


def test_scarce_money_slows_signoffs_and_feeds_scapegoats(war: pd.DataFrame) -> None:
    """scarce money -> risk aversion refuses fixes -> sign-offs climb, orders wait and units
    rerun failed manoeuvres -> failures surface -> a scapegoat is purged."""
    found = False
    for _m, ev in war.groupby("member"):
        refused = _first(ev, "fixes_refused")
        if refused is None:
            continue
        reruns = ev[(ev["event"] == "reruns") & (ev["day"] >= refused["day"])]
        ra = reruns["label"].str.extract(r"risk aversion ([0-9.]+)")[0].astype(float)
        late = reruns[ra > 0.5]
        if late.empty:
            continue
        surprise = _first(ev, "surprise", after=int(late.iloc[0]["day"]))
        if surprise is None:
            continue
        scapegoat = _first(ev, "purge", after=int(surprise["day"]) - 1, label="scapegoat")
        if scapegoat is not None:
            found = True
            break
    assert found, "no money -> refusals -> late orders -> surprise -> scapegoat chain"


def test_strikes_cost_tools_and_output_and_weaken_the_front(war: pd.DataFrame) -> None:
    """strikes -> capacity and machine tools lost -> the struck plant's component binds its
    line -> the front runs out of parts."""
    from loyaltytrap.mechanisms.industry import COMPONENTS, PLANTS

    made_at = {PLANTS[c[2]]: c[0] for c in COMPONENTS}
    found = False
    for _m, ev in war.groupby("member"):
        for _, strike in ev[ev["event"] == "strike"].iterrows():
            if strike["value2"] <= 0:  # no machine tools lost
                continue
            comp = made_at[strike["label"]]
            neck = _first(ev, "bottleneck", after=int(strike["day"]) - 1, label=comp)
            if neck is None:
                continue
            front = _first(ev, "slack_exhausted", after=int(neck["day"]) - 1)
            if front is not None:
                found = True
                break
        if found:
            break
    assert found, "no strike -> lost tools -> bottleneck -> exhausted front chain"


def test_strikes_and_reserves_unnerve_elites_into_instability(war: pd.DataFrame) -> None:
    """strikes and falling reserves -> elite anxiety -> withdrawals -> the regime falls for
    elite defection (or its banks run)."""
    found = False
    for _m, ev in war.groupby("member"):
        low = _first(ev, "reserves_low")
        strike = _first(ev, "strike")
        if low is None or strike is None:
            continue
        start = int(min(low["day"], strike["day"]))
        withdraw = ev[(ev["event"] == "elites_withdraw") & (ev["day"] >= start)]
        if withdraw.empty:
            continue
        end = _first(ev, "bank_run", after=int(withdraw.iloc[0]["day"]) - 1)
        end = end if end is not None else _first(ev, "collapse", label="elite defection")
        if end is not None and end["day"] >= withdraw.iloc[0]["day"]:
            found = True
            break
    assert found, "no strikes/reserves -> withdrawals -> bank run / elite collapse chain"


def test_lost_allies_starve_the_imported_parts(war: pd.DataFrame) -> None:
    """allies lost -> less circumvention -> fewer imported parts -> an imported component
    binds its line."""
    found = False
    for _m, ev in war.groupby("member"):
        lost = _first(ev, "ally_lost")
        if lost is None:
            continue
        for comp in ("guidance", "drone electronics"):
            if _first(ev, "bottleneck", after=int(lost["day"]) - 1, label=comp) is not None:
                found = True
        if found:
            break
    assert found, "no ally lost -> imported component binds chain"

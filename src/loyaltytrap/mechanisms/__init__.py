"""The registry of mechanisms: each has an id (M1-M12), a scenario section and a parameter
record. The engine lists their sub-steps in causal order; this registry is what the scenario
loader, the documentation and the contract tests iterate over."""

from __future__ import annotations

from dataclasses import dataclass

from .allies import AlliesParams
from .elites import ElitesParams
from .front import FrontParams
from .hierarchy import HierarchyParams
from .industry import IndustryParams
from .leader import LeaderParams
from .money import MoneyParams
from .purges import PurgeParams
from .reporting import ReportingParams
from .signoff import SignoffParams
from .stability import StabilityParams
from .strikes import StrikesParams
from .world import WorldParams


@dataclass(frozen=True)
class Mechanism:
    """One registered mechanism."""

    id: str
    key: str
    title: str
    params: type


MECHANISMS: tuple[Mechanism, ...] = (
    Mechanism("W", "world", "Problem generation at unit level (the seam to the war)",
              WorldParams),
    Mechanism("M1", "hierarchy", "Command hierarchy", HierarchyParams),
    Mechanism("M2", "reporting", "Upward reporting and sanitization", ReportingParams),
    Mechanism("M3", "purges", "Purges and the fear loop", PurgeParams),
    Mechanism("M4", "signoff", "Sign-off escalation and late orders", SignoffParams),
    Mechanism("M5", "money", "Money: reserves and risk aversion", MoneyParams),
    Mechanism("M6", "industry", "Industry, bill of materials and machine tools",
              IndustryParams),
    Mechanism("M7", "strikes", "Deep strikes and the repair race", StrikesParams),
    Mechanism("M8", "front", "The front", FrontParams),
    Mechanism("M9", "elites", "Elites and the banks", ElitesParams),
    Mechanism("M10", "allies", "Allies and sanctions circumvention", AlliesParams),
    Mechanism("M11", "leader", "The leader", LeaderParams),
    Mechanism("M12", "stability", "Regime stability and collapse", StabilityParams),
)

BY_KEY: dict[str, Mechanism] = {m.key: m for m in MECHANISMS}

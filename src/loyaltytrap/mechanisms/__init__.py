"""The registry of mechanisms: each has an id (M1-M12), a scenario section and a parameter
record. The engine lists their sub-steps in causal order; this registry is what the scenario
loader, the documentation and the contract tests iterate over."""

from __future__ import annotations

from dataclasses import dataclass

from .hierarchy import HierarchyParams
from .leader import LeaderParams
from .purges import PurgeParams
from .reporting import ReportingParams
from .signoff import SignoffParams
from .stability import StabilityParams
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
    Mechanism("M11", "leader", "The leader", LeaderParams),
    Mechanism("M12", "stability", "Regime stability and collapse", StabilityParams),
)

BY_KEY: dict[str, Mechanism] = {m.key: m for m in MECHANISMS}

"""The hierarchy kernel: the part of the model that the peers (Mesa, pure Python) reimplement.

The kernel is the default scenario with decisions, the leader, scapegoats and liability purges
switched off (:data:`KERNEL_OVERRIDES`): problems arise at the units, sitreps climb the chain or
are buried, buried stocks worsen and surface, candid officers are purged, fear spreads and
decays. This module holds what every implementation shares: the scenario, one member's
parameters as plain floats, the ensemble statistics and the test of agreement between two
ensembles.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, fields

import numpy as np

from loyaltytrap.mechanisms import MECHANISMS
from loyaltytrap.scenario import Scenario, draw_parameters, load_scenario
from loyaltytrap.simulate import simulate

SCENARIO = "kremlin-2026"
KERNEL_MECHANISMS = ("world", "hierarchy", "reporting", "purges")
KERNEL_OVERRIDES: tuple[str, ...] = (
    "signoff.enabled=false",
    "signoff.capacity_per_day=0",
    "signoff.expiry_hazard=0",
    "signoff.rerun_hazard=0",
    "leader.enabled=false",
    "purges.scapegoat_purge_prob=0",
    "purges.liability_hazard=0",
    # every other registered mechanism (money, front, regime stability, ...) is switched off
    *(f"{m.key}.enabled=false" for m in MECHANISMS
      if m.key not in (*KERNEL_MECHANISMS, "signoff", "leader")),
)
# Harsher candour purges: every purge path (vacancies, replacements, fear spread) runs often,
# so that a mistake in it shows in a small ensemble.
HARSH_OVERRIDES: tuple[str, ...] = (
    "purges.candour_purge_prob=0.2",
    "purges.candour_exposure_decay=0.7",
    "purges.vacancy_days=10",
)

# Ensemble statistics compared between implementations (value after the last day).
METRICS: tuple[str, ...] = (
    "reaching_top_share",  # share, cumulative news relayed to the leader / problems arisen
    "fear_mean",  # share, mean fear of the officer corps
    "purged_total",  # count, officers purged so far
    "vacant_posts",  # count, posts held by an acting deputy
    "hidden_problems",  # problems, news buried in the chain
    "surfaced_total",  # problems, buried news that surfaced so far
    "arisen_total",  # problems, new problems so far
)


def kernel_scenario(
    levels: int | None = None, branching: int | None = None, extra: tuple[str, ...] = ()
) -> Scenario:
    """The default scenario reduced to the kernel, optionally on a smaller tree."""
    size = []
    if levels is not None:
        size.append(f"hierarchy.levels={levels}")
    if branching is not None:
        size.append(f"hierarchy.branching={branching}")
    return load_scenario(SCENARIO, (*KERNEL_OVERRIDES, *size, *extra))


@dataclass(frozen=True)
class KernelParams:
    """One member's kernel parameters as plain Python numbers (what the peers read)."""

    levels: int
    branching: int
    front_problem_rate: float
    supply_problem_rate: float
    equipment_problem_rate: float
    severity_mean: float
    competence_mean: float
    competence_sd: float
    loyalty_mean: float
    loyalty_sd: float
    candour_mean: float
    candour_sd: float
    initial_fear: float
    scrub_sensitivity: float
    visibility_threshold: float
    severity_growth: float
    candour_purge_prob: float
    candour_exposure_decay: float
    jailed_share: float
    disappeared_share: float
    vacancy_days: float
    replacement_competence_drop: float
    replacement_loyalty: float
    replacement_candour: float
    replacement_sd: float
    fear_spread_level: float
    fear_spread_all: float
    fear_decay: float
    fear_baseline: float

    @property
    def level_sizes(self) -> list[int]:
        """Officers per level, top first."""
        return [self.branching**lvl for lvl in range(self.levels)]

    @property
    def n_officers(self) -> int:
        """Number of officers."""
        return sum(self.level_sizes)

    @property
    def vacancy_length(self) -> int:
        """Days a purged post stays vacant (as the engine rounds it: at least one)."""
        return max(round(self.vacancy_days), 1)


def member_params(scenario: Scenario, members: int, seed: int) -> list[KernelParams]:
    """Each member's kernel parameters, drawn exactly as the engine draws them."""
    records, _ = draw_parameters(scenario, np.arange(members), seed)
    rep = records["reporting"]
    if rep.hop_delay_days != 1 or rep.mode != "behavioural" or not rep.enabled:
        raise ValueError("the kernel peers implement behavioural reporting with a one-day hop")
    for key, rec in records.items():
        if rec.enabled != (key in KERNEL_MECHANISMS):
            raise ValueError(f"the kernel peers need [{key}] "
                             + ("enabled" if key in KERNEL_MECHANISMS else "switched off"))
    sources = [records[k] for k in ("world", "hierarchy", "reporting", "purges")]
    out = []
    for m in range(members):
        kw = {}
        for f in fields(KernelParams):
            rec = next(r for r in sources if hasattr(r, f.name))
            v = getattr(rec, f.name)
            kw[f.name] = int(v) if f.name in ("levels", "branching") else float(v[m])
        out.append(KernelParams(**kw))
    return out


def engine_ensemble(
    scenario: Scenario, members: int, seed: int, days: int
) -> dict[str, np.ndarray]:
    """Run the engine and read :data:`METRICS` off the last day, ``{metric: [members]}``."""
    ds = simulate(scenario, members=members, seed=seed, days=days).dataset
    last = ds.isel(day=-1)
    top = last["reaching_top_share"].values
    return {
        "reaching_top_share": top,
        "fear_mean": last["fear_mean"].values,
        "purged_total": last["purged_total"].values,
        "vacant_posts": last["vacant_posts"].values,
        "hidden_problems": last["hidden_problems"].values,
        "surfaced_total": ds["surfaced"].sum("day").values,
        "arisen_total": ds["true_total"].isel(day=-1).values,  # nothing is resolved in the kernel
    }


PeerRun = Callable[[KernelParams, int, int, int], dict[str, float]]


def peer_ensemble(
    run_member: PeerRun,
    params: list[KernelParams],
    days: int,
    seed: int,
    progress: Callable[[], None] | None = None,
) -> dict[str, np.ndarray]:
    """Run a peer implementation (``run_member(p, days, seed, member)``) for every member."""
    rows = []
    for m, p in enumerate(params):
        rows.append(run_member(p, days, seed, m))
        if progress is not None:
            progress()
    return {name: np.array([r[name] for r in rows], dtype=float) for name in METRICS}


# Absolute tolerance added to the statistical interval of each metric (units of the metric).
ATOL: dict[str, float] = {
    "reaching_top_share": 0.01,
    "fear_mean": 0.002,
    "purged_total": 0.25,
    "vacant_posts": 0.25,
    "hidden_problems": 0.5,
    "surfaced_total": 1.0,
    "arisen_total": 1.0,
}


@dataclass(frozen=True)
class Agreement:
    """Difference of two ensemble means of one metric and whether it lies within the interval."""

    metric: str
    mean_a: float
    mean_b: float
    diff: float
    se: float
    bound: float
    ok: bool

    @property
    def zscore(self) -> float:
        """The difference in standard errors."""
        return abs(self.diff) / self.se if self.se > 0 else (0.0 if self.diff == 0 else math.inf)

    def line(self, a: str, b: str) -> str:
        """One printable line."""
        mark = "ok  " if self.ok else "FAIL"
        return (f"{mark} {self.metric:<20} {a}={self.mean_a:10.4f}  {b}={self.mean_b:10.4f}  "
                f"diff={self.diff:+9.4f}  se={self.se:8.4f} ({self.zscore:4.1f} se)  "
                f"bound={self.bound:8.4f}")


def compare(
    a: dict[str, np.ndarray], b: dict[str, np.ndarray], z: float = 4.0
) -> list[Agreement]:
    """Ensemble means of ``a`` and ``b`` agree if ``|mean a - mean b| <= z * se + atol``.

    Member i of both ensembles has the same parameters (same scenario, seed and member id) and
    independent dynamics, so the standard error is that of the paired differences.
    """
    out = []
    for name in METRICS:
        x, y = np.asarray(a[name], float), np.asarray(b[name], float)
        d = x - y
        se = float(d.std(ddof=1) / math.sqrt(len(d))) if len(d) > 1 else math.inf
        bound = z * se + ATOL[name]
        out.append(Agreement(name, float(x.mean()), float(y.mean()), float(d.mean()), se,
                             bound, bool(abs(d.mean()) <= bound)))
    return out

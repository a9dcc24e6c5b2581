"""Validation: each mechanism, configured so that it alone acts, reproduces a known result.

Every case runs the real engine (``simulate``) on ``kremlin-2026`` with overrides that switch
off what the case does not test; the expected value comes from the literature (or is derived
from it, and says so). Stochastic cases compare the ensemble mean with its standard error:

    verdict = pass  if |simulated - expected| <= max(Z * SE, abs_tol)

with Z = 4 (a false alarm about once in 16,000 checks for a normal mean) and ``abs_tol`` a
stated floor for the discreteness of the engine (days, whole requests), never tuned to pass.

    python -m loyaltytrap.validate [--markdown] [--fast]
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr

from .simulate import simulate

Z = 4.0
DOC = Path(__file__).resolve().parents[2] / "docs" / "validation.md"

# switch off everything that is not under test (the war economy and politics too)
WAR = ("money.enabled=false", "industry.enabled=false", "strikes.enabled=false",
       "front.enabled=false", "elites.enabled=false", "allies.enabled=false")
ISOLATE = ("purges.enabled=false", "leader.enabled=false", "stability.enabled=false", *WAR)


@dataclass(frozen=True)
class Outcome:
    """What a case measured."""

    expected: float
    simulated: float
    se: float
    abs_tol: float

    @property
    def tolerance(self) -> float:
        """The band the simulated value must fall in."""
        return max(Z * self.se, self.abs_tol)

    @property
    def passed(self) -> bool:
        """Within tolerance."""
        return bool(abs(self.simulated - self.expected) <= self.tolerance)


@dataclass(frozen=True)
class Case:
    """One validation case."""

    id: str
    mechanism: str
    anchor: str
    source: str
    parameters: str
    derived: str  # "" when the expected value is published as is; else how it is derived
    run: Callable[[], Outcome]
    slow: bool = False


def _run(overrides: list[str], members: int, days: int, seed: int = 20261101) -> xr.Dataset:
    return simulate("kremlin-2026", members=members, seed=seed, days=days,
                    overrides=overrides).dataset


def _mean_se(x: np.ndarray) -> tuple[float, float]:
    x = np.asarray(x, float)
    x = x[np.isfinite(x)]
    return float(x.mean()), float(x.std(ddof=1) / math.sqrt(len(x))) if len(x) > 1 else 0.0


# --- M2: Williamson's control loss ------------------------------------------------------------

def _williamson(levels: int, q: float) -> Callable[[], Outcome]:
    def run() -> Outcome:
        ds = _run([f"hierarchy.levels={levels}", "hierarchy.branching=3",
                   "reporting.mode=fixed", f"reporting.fixed_pass_through={q}",
                   "reporting.hop_delay_days=0", "reporting.visibility_threshold=1e9",
                   "world.front_problem_rate=0.1", "world.supply_problem_rate=0.1",
                   "world.equipment_problem_rate=0.1", *ISOLATE], members=30, days=365)
        m, se = _mean_se(ds["reaching_top_share"].isel(day=-1).values)
        return Outcome(q**levels, m, se, 0.002)
    return run


# --- M4: queues in series ---------------------------------------------------------------------

def tandem_latency(k: int, p: float, c: float) -> float:
    """Mean latency (days) of a request through ``k`` single-server sign-off levels in series
    with Bernoulli(p) arrivals and Bernoulli(c) service per day, in the engine's slot order
    (arrival, then service; a passed request joins the next level for the next day).

    Derived: the queue left after service is a birth-death chain with ratio
    rho = p (1 - c) / ((1 - p) c), so its stationary mean is rho / (1 - rho); by Little's law
    (Little 1961) the days a request waits at one level are that mean over p. The departures of
    a discrete-time Geo/Geo/1 queue are again Bernoulli(p) (Hsu and Burke 1976, the
    discrete analogue of Burke 1956), so the k levels are independent copies, plus k - 1 days
    of transit between levels. As p, c -> 0 per day this tends to the continuous-time
    k / (mu - lambda) of k M/M/1 queues in tandem (Jackson 1957).
    """
    rho = p * (1 - c) / ((1 - p) * c)
    return k * rho / ((1 - rho) * p) + (k - 1)


def _queues(k: int, p: float, c: float) -> Callable[[], Outcome]:
    def run() -> Outcome:
        ds = _run([f"hierarchy.levels={k}", "hierarchy.branching=1",
                   "hierarchy.competence_mean=1", "hierarchy.competence_sd=0",
                   "signoff.escalate_base=1", "signoff.escalate_fear=0",
                   "signoff.escalate_money=0", f"signoff.capacity_per_day={c}",
                   "signoff.staff_scaling=1",
                   "signoff.expiry_hazard=0", "signoff.rerun_hazard=0",
                   f"world.front_problem_rate={p}", "world.supply_problem_rate=0",
                   "world.equipment_problem_rate=0", "reporting.enabled=false", *ISOLATE],
                  members=60, days=1095)
        owned = ds["decided_by_level"].sum("level")
        per_member = ((ds["decision_latency_days"].fillna(0) * owned).sum("day")
                      / owned.sum("day")).values
        m, se = _mean_se(per_member)
        return Outcome(tandem_latency(k, p, c), m, se, 0.05)
    return run


def _little(k: int, p: float, c: float) -> Callable[[], Outcome]:
    def run() -> Outcome:
        ds = _run([f"hierarchy.levels={k}", "hierarchy.branching=1",
                   "hierarchy.competence_mean=1", "hierarchy.competence_sd=0",
                   "signoff.escalate_base=1", "signoff.escalate_fear=0",
                   "signoff.escalate_money=0", f"signoff.capacity_per_day={c}",
                   "signoff.staff_scaling=1",
                   "signoff.expiry_hazard=0", "signoff.rerun_hazard=0",
                   f"world.front_problem_rate={p}", "world.supply_problem_rate=0",
                   "world.equipment_problem_rate=0", "reporting.enabled=false", *ISOLATE],
                  members=60, days=1095)
        owned = ds["decided_by_level"].sum("level")
        lat = ((ds["decision_latency_days"].fillna(0) * owned).sum("day") / owned.sum("day"))
        lam = owned.mean("day")  # throughput = arrival rate in steady state
        # a request is in some queue at the end of every day from its arrival to its decision
        # (transit days included), so the day-end backlog is lambda times the full latency
        backlog = ds["decision_backlog"].mean("day")
        ratio = (backlog / (lam * lat)).values
        m, se = _mean_se(ratio)
        return Outcome(1.0, m, se, 0.02)
    return run


# --- M3: loyalty for competence --------------------------------------------------------------

def _egorov_sonin() -> Outcome:
    finals = []
    for threat in (0.1, 0.9):
        ds = _run(["hierarchy.levels=4", "hierarchy.branching=3", f"leader.threat={threat}",
                   "purges.liability_hazard=0.05", "purges.liability_max_level=3",
                   "purges.candour_purge_prob=0", "purges.scapegoat_purge_prob=0",
                   "leader.response_scapegoat=0", "stability.enabled=false", *WAR],
                  members=30, days=730)
        finals.append(ds["competence_mean"].isel(day=-1).values)
    diff = finals[0] - finals[1]  # low threat minus high threat: should be > 0
    m, se = _mean_se(diff)
    # direction only: expected sign +1, simulated sign of the mean difference beyond Z SE
    sign = 1.0 if m - Z * se > 0 else (-1.0 if m + Z * se < 0 else 0.0)
    return Outcome(1.0, sign, 0.0, 0.0)


# --- M12: exponential survival at constant stress -------------------------------------------

def _survival() -> Outcome:
    fear, h0, k, days = 0.5, 2e-4, 4.0, 730
    ds = _run(["hierarchy.levels=3", "hierarchy.branching=2", "purges.enabled=false",
               f"hierarchy.initial_fear={fear}", "stability.weight_military=0",
               "stability.weight_fiscal=0", "stability.weight_elite=0",
               "stability.weight_information=0", "stability.weight_command=1",
               f"stability.base_hazard={h0}", f"stability.stress_sensitivity={k}",
               "stability.collapse_threshold=0", "world.enabled=false", *WAR],
              members=1000, days=days)
    alive = 1.0 - ds["collapsed"].isel(day=-1).values
    expected = math.exp(-h0 * math.exp(k * fear) * days)
    se = math.sqrt(expected * (1 - expected) / len(alive))
    return Outcome(expected, float(alive.mean()), se, 0.0)


CASES: tuple[Case, ...] = (
    Case("M2-williamson-4", "M2", "hierarchical control loss: share reaching the top = q^L",
         "Williamson, O. E. (1967) Hierarchical control and optimum firm size, J. Political "
         "Economy 75(2)", "q = 0.7, L = 4 levels, 3-ary tree, same-day relay, 30 members x "
         "365 days", "", _williamson(4, 0.7)),
    Case("M2-williamson-6", "M2", "hierarchical control loss: share reaching the top = q^L",
         "Williamson (1967)", "q = 0.5, L = 6 levels, 3-ary tree, 30 members x 365 days", "",
         _williamson(6, 0.5), slow=True),
    Case("M4-tandem-3", "M4", "mean latency through k sign-off levels in series",
         "Little (1961); Hsu and Burke (1976); Jackson (1957)",
         "k = 3 levels (a chain), arrivals p = 0.3/day, service c = 0.6/day, 60 x 1095 days",
         "derived: k rho / ((1 - rho) p) + (k - 1), rho = p(1-c)/((1-p)c)",
         _queues(3, 0.3, 0.6)),
    Case("M4-tandem-5", "M4", "mean latency through k sign-off levels in series",
         "Little (1961); Hsu and Burke (1976); Jackson (1957)",
         "k = 5 levels, p = 0.2/day, c = 0.3/day, 60 x 1095 days",
         "derived: k rho / ((1 - rho) p) + (k - 1), rho = p(1-c)/((1-p)c)",
         _queues(5, 0.2, 0.3), slow=True),
    Case("M4-little", "M4", "Little's law L = lambda W for the sign-off backlog",
         "Little, J. D. C. (1961) A proof for the queuing formula L = lambda W, Operations "
         "Research 9(3)", "k = 4 levels, p = 0.25/day, c = 0.5/day; ratio of backlog to "
         "lambda x waiting days", "expected ratio 1", _little(4, 0.25, 0.5)),
    Case("M3-egorov-sonin", "M3", "a more threatened leader ends with less competent officers",
         "Egorov, G. and Sonin, K. (2011) Dictators and their viziers, J. European Economic "
         "Association 9(5); Prendergast, C. (1993) A theory of yes men, AER 83(4)",
         "threat 0.1 vs 0.9, liability purges only, 30 members x 730 days",
         "direction only: +1 if competence(low threat) > competence(high threat) beyond 4 SE",
         _egorov_sonin),
    Case("M12-survival", "M12", "constant hazard gives exponential survival exp(-h t)",
         "standard survival analysis (constant-hazard exponential law)",
         "stress = fear 0.5 fixed, h = 2e-4 exp(4 x 0.5) per day, 1,000 members x 730 days", "",
         _survival),
)


def run_cases(fast_only: bool = False) -> list[tuple[Case, Outcome]]:
    """Run every case (or only the fast ones)."""
    return [(c, c.run()) for c in CASES if not (fast_only and c.slow)]


def _fmt(x: float) -> str:
    return f"{x:.4g}"


def markdown(results: list[tuple[Case, Outcome]]) -> str:
    """The validation table as markdown."""
    lines = [
        "# Validation",
        "",
        "Generated by `loyaltytrap validate --markdown` (or `python -m loyaltytrap.validate "
        "--markdown`); do not edit by hand. Each case runs the real engine on `kremlin-2026` "
        "with only the mechanism under test acting. Stochastic cases pass when "
        f"|simulated - expected| <= max({Z:g} x SE, floor), SE the standard error of the "
        "ensemble mean; the floor covers the engine's whole days and requests.",
        "",
        "| case | anchor | source | parameters | expected | simulated | tolerance | verdict |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for c, o in results:
        exp = _fmt(o.expected) + (f" ({c.derived})" if c.derived else "")
        lines.append(f"| {c.id} | {c.anchor} | {c.source} | {c.parameters} | {exp} | "
                     f"{_fmt(o.simulated)} | ±{_fmt(o.tolerance)} | "
                     f"{'pass' if o.passed else 'FAIL'} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Run the validation suite, print the table, optionally write docs/validation.md."""
    ap = argparse.ArgumentParser(prog="loyaltytrap validate", description=__doc__)
    ap.add_argument("--markdown", action="store_true", help="write docs/validation.md")
    ap.add_argument("--fast", action="store_true", help="only the fast cases")
    args = ap.parse_args(argv)
    from rich.console import Console
    from rich.table import Table

    results = run_cases(args.fast)
    t = Table(title="Validation: special cases through the engine", title_justify="left")
    for col in ("case", "source", "expected", "simulated", "tolerance", "verdict"):
        t.add_column(col, no_wrap=col != "source")
    for c, o in results:
        short = c.source.split(") ")[0] + ")" if ") " in c.source else c.source
        t.add_row(c.id, short, _fmt(o.expected) + (" *" if c.derived else ""),
                  _fmt(o.simulated), f"±{_fmt(o.tolerance)}",
                  "[green]pass[/]" if o.passed else "[red]FAIL[/]")
    Console().print(t)
    print("* derived rather than published: see docs/validation.md")
    if args.markdown:
        DOC.write_text(markdown(results))
        print(DOC)
    return 0 if all(o.passed for _, o in results) else 1


if __name__ == "__main__":
    sys.exit(main())

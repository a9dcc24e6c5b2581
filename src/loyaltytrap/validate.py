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
import re
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


def _tandem_run(k: int, p: float, c: float) -> xr.Dataset:
    """The chain of command as k single-server sign-off levels in series: a chain (branching
    1) where every level below the top passes every request up, fixes always work, nothing
    expires or reruns, and only the front generates requests."""
    return _run([f"hierarchy.levels={k}", "hierarchy.branching=1",
                 "hierarchy.competence_mean=1", "hierarchy.competence_sd=0",
                 "signoff.escalate_base=1", "signoff.escalate_fear=0",
                 "signoff.escalate_money=0", f"signoff.capacity_per_day={c}",
                 "signoff.staff_scaling=1", "signoff.expiry_hazard=0", "signoff.rerun_hazard=0",
                 f"world.front_problem_rate={p}", "world.supply_problem_rate=0",
                 "world.equipment_problem_rate=0", "reporting.enabled=false", *ISOLATE],
                members=60, days=1095)


def _queues(k: int, p: float, c: float) -> Callable[[], Outcome]:
    def run() -> Outcome:
        ds = _tandem_run(k, p, c)
        owned = ds["decided_by_level"].sum("level")
        per_member = ((ds["decision_latency_days"].fillna(0) * owned).sum("day")
                      / owned.sum("day")).values
        m, se = _mean_se(per_member)
        return Outcome(tandem_latency(k, p, c), m, se, 0.05)
    return run


def _little(k: int, p: float, c: float) -> Callable[[], Outcome]:
    def run() -> Outcome:
        ds = _tandem_run(k, p, c)
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


# --- the war economy: each case switches on only the mechanisms it needs ------------------

# a two-level chain with no problems, reports, sign-offs, purges, leader or regime: the war
# mechanisms run alone (no sign-off delay reaches the repairs: D = 0)
QUIET = ("hierarchy.levels=2", "hierarchy.branching=2", "world.enabled=false",
         "reporting.enabled=false", "signoff.enabled=false", "purges.enabled=false",
         "leader.enabled=false", "stability.enabled=false")


def _only(*on: str) -> list[str]:
    """Overrides that leave only the war mechanisms ``on`` (by key) acting."""
    return [*QUIET, *(w for w in WAR if w.split(".")[0] not in on)]


def _bisect(flips: Callable[[float], bool], lo: float, hi: float, width: float) -> float:
    """Midpoint of the bracket [lo, hi] (``flips`` False at lo, True at hi) once narrower than
    ``width``: each call of ``flips`` is one engine run."""
    if flips(lo) or not flips(hi):
        return math.nan  # the bracket does not hold the switch: the case fails visibly
    while hi - lo > width:
        mid = 0.5 * (lo + hi)
        lo, hi = (lo, mid) if flips(mid) else (mid, hi)
    return 0.5 * (lo + hi)


# M6: Leontief

def _leontief() -> Outcome:
    headroom, damage = 1.25, 0.5
    ds = _run([*_only("industry", "strikes"), f"industry.component_headroom={headroom}",
               "strikes.strikes_per_plant_per_year=0", "strikes.other_strikes_per_day=0",
               f"strikes.initial_engine_damage={damage}", "strikes.repair_days_full=3650"],
              members=2, days=60)
    share = ds["line_output_share"].sel(line="ballistic missiles").values
    binding = ds["binding_component"].sel(line="ballistic missiles").values
    expected = headroom * (1 - damage)  # the engines: the scarcest component of the missile
    worst = share.flat[np.argmax(np.abs(share - expected))]
    # the argmin must be the engine (component 1) on every day, or the case fails
    return Outcome(expected, float(worst if np.all(binding == 1) else math.nan), 0.0, 1e-12)


def _series_yield(k: int, d: float) -> Callable[[], Outcome]:
    def run() -> Outcome:
        ds = _run([*_only("industry"), "industry.design_for_yield=none",
                   "industry.component_headroom=1", f"industry.drone_parts_per_unit={k}",
                   f"industry.grey_defect_rate={d}", "industry.defect_slope=0"],
                  members=40, days=365)
        share = ds["line_output_share"].sel(line="drones").mean("day").values
        m, se = _mean_se(share)
        return Outcome((1 - d) ** k, m, se, 0.0)
    return run


# M7: availability of a plant under strikes and repairs

def strike_availability(strikes_per_year: float, repair_days: int) -> float:
    """Availability of a plant hit with constant hazard lambda = strikes_per_year / 365 per day,
    fully destroyed by a hit and rebuilt in ``repair_days`` days (no sign-off delay, repairs
    fully funded), on the engine's daily clock.

    Derived: MTBF / (MTBF + MTTR) (the alternating renewal process; e.g. Barlow and Proschan
    1975, ch. 7). On the daily clock a plant is checked for a hit once a day, so the whole days
    up before a hit are geometric with mean MTBF = exp(-lambda) / (1 - exp(-lambda)) (about
    1/lambda - 1/2); a plant hit on day t is back on day t + R, MTTR = R.
    """
    lam = strikes_per_year / 365.0
    mtbf = math.exp(-lam) / -math.expm1(-lam)
    return mtbf / (mtbf + repair_days)


def _availability(strikes_per_year: float, repair_days: int, members: int, days: int,
                  burn_in: int) -> Callable[[], Outcome]:
    def run() -> Outcome:
        # only the engine plant is reachable (1,400 km; the others at 3,000 km, reach 2,000 km)
        ds = _run([*_only("strikes"), f"strikes.strikes_per_plant_per_year={strikes_per_year}",
                   "strikes.engine_plant_priority=1", "strikes.deep_plant_depth_km=1400",
                   "strikes.typical_plant_depth_km=3000", "strikes.strike_reach_km=2000",
                   "strikes.capacity_damage_per_strike=1", "strikes.tool_damage_per_strike=0",
                   "strikes.initial_engine_damage=0", f"strikes.repair_days_full={repair_days}",
                   "strikes.other_strikes_per_day=0"], members=members, days=days)
        cap = ds["plant_capacity"].sel(plant="missile engines").isel(day=slice(burn_in, None))
        m, se = _mean_se(cap.mean("day").values)
        return Outcome(strike_availability(strikes_per_year, repair_days), m, se, 0.0)
    return run


# M8: Lanchester

def _front(law: str, R0: float, B0: float, alpha: float, beta: float, days: int
           ) -> xr.Dataset:
    return _run([*_only("front"), f"front.law={law}", f"front.own_force={R0}",
                 f"front.opponent_force={B0}", f"front.alpha={alpha}", f"front.beta={beta}",
                 "front.supply_weight=0", "front.equipment_weight=0",
                 "front.competence_weight=0", "front.timeliness_weight=0",
                 "front.truth_weight=0", "front.daily_noise_sd=0",
                 "front.own_replacements=0", "front.opponent_replacements=0",
                 "front.reserves=0"], members=1, days=days)


def _lanchester_invariant(law: str, R0: float, B0: float, alpha: float, beta: float
                          ) -> Callable[[], Outcome]:
    def run() -> Outcome:
        ds = _front(law, R0, B0, alpha, beta, days=200)
        R, B = ds["own_force"].values.ravel(), ds["opponent_force"].values.ravel()
        p = 2 if law == "square" else 1
        inv = alpha * R**p - beta * B**p
        expected = alpha * R0**p - beta * B0**p
        worst = inv[np.argmax(np.abs(inv - expected))]
        # rounding of 200 closed-form days: a billionth of the terms' size
        return Outcome(expected, float(worst), 0.0, 1e-9 * (alpha * R0**p + beta * B0**p))
    return run


def _lanchester_survivors() -> Outcome:
    R0, B0, alpha, beta = 300.0, 200.0, 0.01, 0.02
    ds = _front("square", R0, B0, alpha, beta, days=200)  # the opponent is gone by day ~125
    R, B = ds["own_force"].values.ravel(), ds["opponent_force"].values.ravel()
    left = float(R[-1]) if B[-1] == 0 else math.nan
    return Outcome(math.sqrt(R0**2 - beta / alpha * B0**2), left, 0.0, 1e-9 * R0)


# M9: Granovetter and Diamond-Dybvig

CALM = ("elites.initial_anxiety=0", "elites.anxiety_per_strike=0",
        "elites.anxiety_per_reserve_fall=0", "elites.anxiety_per_surprise=0")


def _elites(extra: list[str], members: int = 1) -> xr.Dataset:
    return _run([*_only("elites"), *CALM, *extra], members=members, days=1)


def _riot(perturbed: bool) -> Callable[[], Outcome]:
    def run() -> Outcome:
        M = 100
        extra = [f"elites.n_elites={M}", "elites.threshold_draw=grid"]
        if perturbed:  # the agent of threshold 1/M gets 2/M instead
            extra += ["elites.perturbed_agent=1", f"elites.perturbed_threshold={2 / M}"]
        ds = _elites(extra)
        out = float(ds["elite_out_share"].isel(day=-1).values.ravel()[0]) * M
        return Outcome(1.0 if perturbed else float(M), out, 0.0, 0.0)
    return run


def granovetter_equilibrium(sd: float, mean: float = 25.0, n: float = 100.0) -> float:
    """Equilibrium number of rioters out of ``n`` with normal thresholds (in persons):
    iterate r <- n Phi((r - mean) / sd) from r = 0 (Granovetter 1978)."""
    from scipy.special import ndtr
    r = 0.0
    for _ in range(100_000):
        r_next = n * float(ndtr((r - mean) / sd))
        if abs(r_next - r) < 1e-12:
            break
        r = r_next
    return r


def _granovetter_critical() -> Outcome:
    M = 5000  # agents: the normal quantiles (i + 0.5)/M trace the distribution closely

    def riot(sd_persons: float) -> bool:
        ds = _elites([f"elites.n_elites={M}", "elites.threshold_draw=quantiles",
                      "elites.threshold_mean=0.25", f"elites.threshold_sd={sd_persons / 100}"])
        return float(ds["elite_out_share"].isel(day=-1).values.ravel()[0]) > 0.5

    crit = _bisect(riot, 10.0, 15.0, 1e-3)
    # floor: the published value has one decimal (+-0.05), the bisection leaves +-0.0005
    return Outcome(12.2, crit, 0.0, 0.0505)


def diamond_dybvig_threshold(r1: float, R: float) -> float:
    """Share of early withdrawals beyond which waiting no longer pays in Diamond and Dybvig's
    (1983) bank: the patient get R (1 - r1 f) / (1 - f), which falls below r1 once
    f > (R - r1) / (r1 (R - 1))."""
    return (R - r1) / (r1 * (R - 1))


def _diamond_dybvig(r1: float, R: float) -> Callable[[], Outcome]:
    def run() -> Outcome:
        def runs(w: float) -> bool:  # every elite agent withdraws at once; they hold w
            ds = _elites(["elites.n_elites=2", "elites.threshold_mean=0",
                          "elites.threshold_sd=0", "elites.bank_model=diamond_dybvig",
                          f"elites.promised_return={r1}", f"elites.long_return={R}",
                          "elites.state_backstop=0", f"elites.elite_deposit_share={w}"])
            return bool(ds["bank_run"].isel(day=-1).values.ravel()[0] > 0)

        f = _bisect(runs, 0.0, 1.0, 1e-6)
        return Outcome(diamond_dybvig_threshold(r1, R), f, 0.0, 5e-7)  # half the last bracket
    return run


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
         _survival, slow=True),
    Case("M6-leontief", "M6", "a line makes what its scarcest component allows (Leontief "
         "fixed-coefficient bill of materials)",
         "Leontief, W. (1936) Quantitative input and output relations in the economic system "
         "of the United States, Rev. Economics and Statistics 18(3)",
         "missiles: engine plant at half capacity, design rates 1.25 x nominal, no strikes or "
         "repairs within 60 days, 2 members; worst member-day of the output share, and the "
         "engine must bind every day; floor 1e-12: deterministic, float rounding only",
         "derived: min(1, 1.25 x airframe, 1.25 x 0.5 engine, guidance) = 0.625",
         _leontief),
    Case("M6-series-yield", "M6", "k defect-prone parts in series yield (1 - d)^k working units",
         "series-system reliability, the product rule (Barlow, R. E. and Proschan, F. (1965) "
         "Mathematical Theory of Reliability, Wiley)",
         "drones: k = 3 imported parts, d = 0.4 (the source's grey-market rate), no design "
         "allowance for defects, 40 members x 365 days; floor 0: sampled orders vary the "
         "defective share of the parts used by sd ~0.005, a Jensen term "
         "k(k-1)/2 (1-d)^(k-2) var(d) ~ 4e-5, a tenth of the SE", "", _series_yield(3, 0.4)),
    Case("M7-availability", "M7", "a plant struck and rebuilt is up MTBF / (MTBF + MTTR) of "
         "the time", "Barlow, R. E. and Proschan, F. (1965) Mathematical Theory of Reliability, "
         "Wiley (alternating renewal process, steady-state availability)",
         "engine plant only, 24 hits a year (constant hazard), a hit destroys it, rebuilt in "
         "R = 10 days, no sign-off delay, money not binding; 100 members x 1,095 days, first "
         "180 dropped; floor 0: the day-by-day chain from an undamaged start is within 1e-12 "
         "of the stationary value after 180 days",
         "derived: daily clock, MTBF = exp(-l)/(1 - exp(-l)), l = 24/365, MTTR = R",
         _availability(24.0, 10, members=100, days=1095, burn_in=180)),
    Case("M7-availability-slow", "M7", "a plant struck and rebuilt is up MTBF / (MTBF + MTTR) "
         "of the time", "Barlow and Proschan (1965)",
         "as M7-availability with 6 hits a year, R = 30 days; 400 members x 3,650 days, first "
         "365 dropped (chain within 1e-12 of stationary); floor 0",
         "derived: daily clock, MTBF = exp(-l)/(1 - exp(-l)), l = 6/365, MTTR = R",
         _availability(6.0, 30, members=400, days=3650, burn_in=365), slow=True),
    Case("M8-lanchester-square", "M8", "square law: alpha R^2 - beta B^2 stays constant",
         "Lanchester, F. W. (1916) Aircraft in Warfare: the Dawn of the Fourth Arm, Constable, "
         "ch. V (the N-square law)",
         "R0 = 300, B0 = 200 thousand, alpha = 0.01, beta = 0.02 per day, effectiveness "
         "weights 0, no noise, replacements or reserves; worst of 200 days; floor 1e-9 of the "
         "terms: rounding of the closed-form days", "",
         _lanchester_invariant("square", 300.0, 200.0, 0.01, 0.02)),
    Case("M8-lanchester-survivors", "M8", "square law: the winner keeps "
         "sqrt(R0^2 - beta/alpha B0^2)", "Lanchester (1916); Taylor, J. G. (1983) Lanchester "
         "Models of Warfare, Operations Research Society of America",
         "as M8-lanchester-square; own force once the opponent is gone (day ~125 of 200); "
         "floor 1e-9 R0: rounding", "from the invariant at B = 0", _lanchester_survivors),
    Case("M8-lanchester-linear", "M8", "linear law: alpha R - beta B stays constant",
         "Lanchester (1916); Taylor (1983)",
         "R0 = 300, B0 = 100 thousand, alpha = 1e-4, beta = 2e-4 per thousand per day, as "
         "above otherwise; worst of 200 days; floor 1e-9 of the terms", "",
         _lanchester_invariant("linear", 300.0, 100.0, 1e-4, 2e-4)),
    Case("M9-granovetter-riot", "M9", "thresholds 0, 1/N, 2/N, ...: everyone riots",
         "Granovetter, M. (1978) Threshold models of collective behavior, American J. "
         "Sociology 83(6)", "N = 100 agents on the grid i/N, no anxiety; agents out after a "
         "day; floor 0: a deterministic count", "", _riot(False)),
    Case("M9-granovetter-perturbed", "M9", "the agent of threshold 1/N given 2/N instead: only "
         "the instigator riots", "Granovetter (1978)",
         "as M9-granovetter-riot with agent 1 at 2/N; floor 0: a deterministic count", "",
         _riot(True)),
    Case("M9-granovetter-critical", "M9", "normal thresholds, mean 25 of 100: the equilibrium "
         "jumps from a few to all at a critical standard deviation",
         "Granovetter (1978), about 12.2",
         "5,000 agents at the normal quantiles (i + 0.5)/M, mean 0.25; the engine's switch "
         "found by bisection (1e-3) on the sd, in persons of 100; iterating r <- 100 "
         "Phi((r - 25)/sd) from 0 gives 12.22; floor 0.05 (the published decimal) + 5e-4",
         "", _granovetter_critical),
    Case("M9-diamond-dybvig", "M9", "the share of early withdrawals beyond which waiting no "
         "longer pays", "Diamond, D. W. and Dybvig, P. H. (1983) Bank runs, deposit insurance, "
         "and liquidity, J. Political Economy 91(3)",
         "bank_model = diamond_dybvig, r1 = 1.1, R = 1.5, no state backstop; the elite (all "
         "out at once) holds the share w; the engine's run switch found by bisection (1e-6) "
         "on w; floor 5e-7: half the last bracket",
         "derived: DD's payoff to waiting R(1 - r1 f)/(1 - f) = r1 at f = (R - r1)/(r1(R - 1))",
         _diamond_dybvig(1.1, 1.5)),
)


def run_cases(fast_only: bool = False) -> list[tuple[Case, Outcome]]:
    """Run every case (or only the fast ones)."""
    return [(c, c.run()) for c in CASES if not (fast_only and c.slow)]


def short_source(source: str) -> str:
    """'Williamson, O. E. (1967) Hierarchical ...; Little (1961)' -> 'Williamson 1967; Little
    1961' (first author and year of each citation, for the terminal)."""
    out = []
    for part in source.split(";"):
        words = re.findall(r"[A-Z][A-Za-z-]+", part)
        year = re.search(r"\b(1[89]\d\d|20\d\d)\b", part)
        if words:
            out.append(words[0] + (f" {year.group(1)}" if year else ""))
    return "; ".join(out) or source


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
        short = short_source(c.source)
        t.add_row(c.id, short, _fmt(o.expected) + (" *" if c.derived else ""),
                  _fmt(o.simulated), f"±{_fmt(o.tolerance)}",
                  "[green]pass[/]" if o.passed else "[red]FAIL[/]")
    Console(width=max(Console().width, 130)).print(t)
    print("* derived rather than published: see docs/validation.md")
    if args.markdown:
        DOC.write_text(markdown(results))
        print(DOC)
    return 0 if all(o.passed for _, o in results) else 1


if __name__ == "__main__":
    sys.exit(main())

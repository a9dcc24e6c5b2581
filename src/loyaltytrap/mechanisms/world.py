"""The world that generates problems at unit level: the seam between the command and the war.

Problems (bad news that needs a decision) arise each day at the units, in three domains. Their
daily rate per unit is a base rate from the scenario times a *pressure* per domain. In the core
model the pressure is 1; in the coupled model the front (M8) and industry (M6) set it (losses
raise front and equipment problems, a shell shortfall raises supply problems), reruns (M4) add
front problems, and money (M5) adds its risk aversion, which drives decisions up the chain.
Everything the command sees of the war enters through here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..params import Common, col, param, state_record

DOMAINS = ("front", "supply", "equipment")
K = len(DOMAINS)


@dataclass(frozen=True, kw_only=True)
class WorldParams(Common):
    """Base rates of problems at unit level."""

    front_problem_rate: np.ndarray = param("problems per unit per day", 0, 0.3,
                                           doc="operational failures reported by a unit")
    supply_problem_rate: np.ndarray = param("problems per unit per day", 0, 0.3,
                                            doc="shortages of ammunition, fuel and parts")
    equipment_problem_rate: np.ndarray = param("problems per unit per day", 0, 0.3,
                                               doc="broken or damaged equipment")
    severity_mean: np.ndarray = param("severity units", 0.01, 100,
                                      doc="mean severity of a new problem (exponential)")
    shortage_pressure: np.ndarray = param("multiplier per unit of shortfall", 0, 20,
                                          doc="added supply-problem rate per unit of shell "
                                              "shortfall (1 - supply ratio)")


@state_record
@dataclass(frozen=True)
class Pressure:
    """What the war asks of the command today.

    problem: float64 ``[E, K]``, multiplier of each domain's base problem rate (1 = baseline)
    extra: float64 ``[E, K]``, problems per unit per day added on top (reruns, strikes)
    risk_aversion: float64 ``[E]``, share 0-1: how strongly scarce money pushes sign-offs up (M5)
    """

    problem: np.ndarray
    extra: np.ndarray
    risk_aversion: np.ndarray


def baseline_pressure(E: int) -> Pressure:
    """Pressure of the placeholder world: base rates, no money constraint."""
    return Pressure(problem=np.ones((E, K)), extra=np.zeros((E, K)), risk_aversion=np.zeros(E))


def problem_rates(p: WorldParams, pressure: Pressure) -> np.ndarray:
    """Daily probability of a new problem per unit and domain, ``[E, K]`` (capped so that the
    three domains together stay below 1)."""
    base = np.stack([p.front_problem_rate, p.supply_problem_rate, p.equipment_problem_rate], 1)
    if not p.enabled:
        base = np.zeros_like(base)
    rates = base * pressure.problem + np.where(p.enabled, pressure.extra, 0.0)
    total = rates.sum(axis=1, keepdims=True)
    scale = np.where(total > 0.95, 0.95 / np.maximum(total, 1e-12), 1.0)
    return rates * scale


def place_problems(
    edges: np.ndarray, u_arrival: np.ndarray, u_severity: np.ndarray,
    severity_mean: np.ndarray | float,
) -> tuple[np.ndarray, np.ndarray]:
    """The unit-level pass of :func:`draw_problems` (plain NumPy): domain k takes the
    arrival uniforms in [edges[k-1], edges[k]) ``[E, K]``; severities are exponential by
    inversion."""
    u = u_arrival[:, None, :]  # [E, 1, U]
    lower = np.concatenate([np.zeros((edges.shape[0], 1)), edges[:, :-1]], axis=1)
    new = ((u >= lower[:, :, None]) & (u < edges[:, :, None])).astype(np.float64)
    sev = -col(severity_mean) * np.log1p(-u_severity.astype(np.float64))
    return new, sev * new.sum(axis=1)


def draw_problems(
    p: WorldParams, pressure: Pressure, u_arrival: np.ndarray, u_severity: np.ndarray,
    place: Callable[..., tuple[np.ndarray, np.ndarray]] = place_problems,
) -> tuple[np.ndarray, np.ndarray]:
    """New problems at the units: counts ``[E, K, U]`` (0 or 1 per unit) and severities
    ``[E, U]``.

    One uniform per unit picks "no problem" or a domain (the domains partition the unit
    interval); a second gives an exponential severity by inversion. ``place`` is
    :func:`place_problems` or its compiled twin.
    """
    rates = problem_rates(p, pressure)  # [E, K]
    return place(np.cumsum(rates, axis=1), u_arrival, u_severity, p.severity_mean)

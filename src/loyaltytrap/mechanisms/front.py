"""M8 the front: Lanchester attrition, effectiveness from the rear, and three kinds of slack.

Forces (thousand troops): own R, opposing B. Within a day the kill rates are constant,

    a = alpha * eff_R * n_a,     b = beta * n_b                 (n: daily lognormal noise,
                                                                 mean 1, sd ``daily_noise_sd``)
    square law (aimed fire):     dR/dt = -b B,     dB/dt = -a R      [alpha, beta: per day]
    linear law (area fire):      dR/dt = -b R B,   dB/dt = -a R B    [per thousand troops per day]

and the day is integrated exactly, so the invariants hold to rounding:

    square:  a R^2 - b B^2 = const;  R(t) = R0 cosh(wt) - b B0 sinh(wt)/w,  w = sqrt(a b)
             (a side that reaches zero within the day stops there; the other keeps
             sqrt(B0^2 - a R0^2 / b) survivors)
    linear:  a R - b B = const = C;  R(t) = R0 / (exp(-Ct) + a R0 (1 - exp(-Ct)) / C)

(Lanchester 1916; with eff_R = 1, no noise and no replacements the module reproduces both laws.)
After the fight, ``own_replacements`` and ``opponent_replacements`` (thousand troops per day)
join the lines.

Own effectiveness is a product of factors in [0, 1], each raised to its weight (weight 0 turns
a factor off):

    eff_R = S^w_s * Q^w_e * C^w_c * T^w_t * V^w_v
    S = supplies on hand (output vs need, topped up from the parts stock), Q = share of working
    equipment, C = officer competence, T = 1 / (1 + latency / ``timeliness_tau_days``) for the
    mean decision latency in days, V = the share of the units' news reaching the leader in
    time (M2's timely share).

The source says attrition bleeds a system of time first, then parts, and finally options. The
module keeps three slack stocks and records the day each first runs out:

- time (days of defensive depth): the line gives ground while it is the weaker side,
  d time = clip(strength - 1, -1, 1) days per day, with the Lanchester strength ratio
  a R^2 / (b B^2) (square) or a R / (b B) (linear); it regains depth when stronger, up to
  the initial depth;
- parts (stocks of ammunition and parts, in days of full need): a shortfall 1 - supply_ratio
  is drawn from the stock, a surplus refills it up to the initial stock;
- options (operational reserves, thousand troops): committed to the line to replace daily
  losses above ``reserve_commit_losses``; once no depth is left every loss must be plugged
  from the reserve (threshold 0).

Outputs for the rest of the model: ``problem_pressure`` ``[E, 2]`` multiplies the base rates of
front and equipment problems (more bad news for the chain of command),

    front     = (own losses / reference_own_losses)^front_pressure_elasticity
                * (1 + exhausted_pressure * slacks exhausted)
    equipment = (1 + equipment_pressure_gain * (1 - Q)) * (1 + exhausted_pressure * [no parts])

and ``war_intensity`` ``[E]`` = (own losses / reference_own_losses)^intensity_elasticity, the
multiplier of war spending (M5). Disabled: forces and slack stay where they are, no losses,
effectiveness 1, pressures and intensity 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtri

from ..events import EventBatch, register_templates
from ..params import Common, option, param, per_member, state_record

SLACKS = ("time", "parts", "options")
FACTORS = ("supply", "equipment", "competence", "timeliness", "truth")
PRESSURE_DOMAINS = ("front", "equipment")
UNIFORMS_PER_DAY = 2  # daily noise of the own and the opposing kill rate

register_templates({
    "slack_exhausted": ("M8", "the front has run out of {label} (number {value:.0f} of the "
                              "three slacks to go); own force {value2:.0f} thousand troops"),
})


@dataclass(frozen=True, kw_only=True)
class FrontParams(Common):
    """Parameters of M8 (per-member values are ``[E]`` float arrays)."""

    law: str = option(("square", "linear"), "square",
                      doc="square: aimed fire (Lanchester's square law); linear: area fire")
    own_force: np.ndarray = param("thousand troops", 0, 1e4,
                                  doc="own troops committed to the front on day 0")
    opponent_force: np.ndarray = param("thousand troops", 0, 1e4,
                                       doc="opposing troops on day 0")
    alpha: np.ndarray = param("per day (square) or per thousand troops per day (linear)", 0, 1,
                              doc="own kill rate on the opponent at full effectiveness")
    beta: np.ndarray = param("per day (square) or per thousand troops per day (linear)", 0, 1,
                             doc="the opponent's kill rate on own troops")
    own_replacements: np.ndarray = param("thousand troops per day", 0, 100,
                                         doc="recruits reaching the own line each day")
    opponent_replacements: np.ndarray = param("thousand troops per day", 0, 100,
                                              doc="recruits reaching the opposing line")
    supply_weight: np.ndarray = param("exponent", 0, 3, doc="weight of supplies on hand")
    equipment_weight: np.ndarray = param("exponent", 0, 3, doc="weight of working equipment")
    competence_weight: np.ndarray = param("exponent", 0, 3, doc="weight of officer competence")
    timeliness_weight: np.ndarray = param("exponent", 0, 3, doc="weight of timely orders")
    truth_weight: np.ndarray = param("exponent", 0, 3,
                                     doc="weight of the leader's true picture")
    timeliness_tau_days: np.ndarray = param("days", 0.01, 365,
                                            doc="decision latency that halves timeliness")
    daily_noise_sd: np.ndarray = param("log-sd", 0, 2,
                                       doc="day-to-day spread of the kill rates (lognormal)")
    time_slack_days: np.ndarray = param("days", 0, 3650,
                                        doc="defensive depth: days the line can give ground")
    parts_slack_days: np.ndarray = param("days of full need", 0, 3650,
                                         doc="stocks of ammunition and parts")
    reserves: np.ndarray = param("thousand troops", 0, 1e4, doc="operational reserves")
    reserve_commit_losses: np.ndarray = param("thousand troops per day", 0, 100,
                                              doc="daily losses above which reserves are "
                                                  "committed while depth remains")
    reference_own_losses: np.ndarray = param("thousand troops per day", 0.001, 100,
                                             doc="own losses at which problems arise at their "
                                                 "base rates and war spending is at its base")
    front_pressure_elasticity: np.ndarray = param("elasticity", 0, 3,
                                                  doc="front problems per unit change of losses")
    equipment_pressure_gain: np.ndarray = param("per share of broken equipment", 0, 10,
                                                doc="added equipment problems when equipment "
                                                    "is broken")
    exhausted_pressure: np.ndarray = param("share per exhausted slack", 0, 10,
                                           doc="added problems once a slack is used up")
    intensity_elasticity: np.ndarray = param("elasticity", 0, 3,
                                             doc="war spending per unit change of losses")


@state_record
@dataclass(frozen=True)
class FrontState:
    """The front.

    own, opp: float64 ``[E]`` forces, thousand troops
    own_loss, opp_loss: float64 ``[E]`` losses today, thousand troops
    own_loss_total, opp_loss_total: float64 ``[E]`` cumulative losses, thousand troops
    committed: float64 ``[E]`` reserves committed to the line today, thousand troops
    slack: float64 ``[E, 3]`` remaining time (days), parts (days of need), options (thousand
        troops)
    slack0: float64 ``[E, 3]`` initial slack, same units
    exhausted_day: float64 ``[E, 3]`` day each slack first ran out (NaN: not yet)
    factors: float64 ``[E, 5]`` effectiveness factors today (supply, equipment, competence,
        timeliness, truth), each in [0, 1] before weighting
    effectiveness: float64 ``[E]`` own effectiveness eff_R (0-1)
    strength_ratio: float64 ``[E]`` Lanchester fighting strength own / opposing (1 = even)
    problem_pressure: float64 ``[E, 2]`` multipliers of front and equipment problem rates
    war_intensity: float64 ``[E]`` multiplier of war spending (1 = reference losses)
    """

    own: np.ndarray
    opp: np.ndarray
    own_loss: np.ndarray
    opp_loss: np.ndarray
    own_loss_total: np.ndarray
    opp_loss_total: np.ndarray
    committed: np.ndarray
    slack: np.ndarray
    slack0: np.ndarray
    exhausted_day: np.ndarray
    factors: np.ndarray
    effectiveness: np.ndarray
    strength_ratio: np.ndarray
    problem_pressure: np.ndarray
    war_intensity: np.ndarray



def init_front(p: FrontParams, E: int) -> FrontState:
    """Day 0: forces and slack as the scenario sets them, nothing lost yet."""
    slack0 = np.stack([per_member(p.time_slack_days, E), per_member(p.parts_slack_days, E),
                       per_member(p.reserves, E)], axis=1)
    z = np.zeros(E)
    return FrontState(
        own=per_member(p.own_force, E), opp=per_member(p.opponent_force, E), own_loss=z,
        opp_loss=z.copy(),
        own_loss_total=z.copy(), opp_loss_total=z.copy(), committed=z.copy(),
        slack=slack0.copy(), slack0=slack0, exhausted_day=np.full((E, 3), np.nan),
        factors=np.ones((E, 5)), effectiveness=np.ones(E), strength_ratio=np.ones(E),
        problem_pressure=np.ones((E, 2)), war_intensity=np.ones(E),
    )


def square_law_day(
    R: np.ndarray, B: np.ndarray, a: np.ndarray, b: np.ndarray, t: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """Exact solution of dR/dt = -b B, dB/dt = -a R over ``t`` days (stops at zero)."""
    w = np.sqrt(a * b)
    wt = w * t
    # sinh(wt)/w -> t as w -> 0 (pure linear drain when one side cannot shoot)
    sh = np.where(wt > 1e-8, np.sinh(wt) / np.maximum(w, 1e-300), t)
    ch = np.cosh(wt)
    R1 = R * ch - b * B * sh
    B1 = B * ch - a * R * sh
    # a side wiped out within the day: the invariant a R^2 - b B^2 gives the other's survivors
    inv = a * R**2 - b * B**2
    R_left = np.sqrt(np.maximum(inv, 0.0) / np.maximum(a, 1e-300))
    B_left = np.sqrt(np.maximum(-inv, 0.0) / np.maximum(b, 1e-300))
    R_out, B_out = R1 < 0.0, B1 < 0.0
    R2 = np.where(R_out, 0.0, np.where(B_out, R_left, R1))
    B2 = np.where(B_out, 0.0, np.where(R_out, B_left, B1))
    return np.maximum(R2, 0.0), np.maximum(B2, 0.0)


def _logistic(x: np.ndarray, k: np.ndarray, c: np.ndarray, t: float) -> np.ndarray:
    """Solution of dx/dt = k x - c x^2 at ``t``: x / (exp(-kt) + c x (1 - exp(-kt)) / k)."""
    kt = k * t
    phi = np.where(np.abs(kt) > 1e-12, -np.expm1(-kt) / np.where(k == 0, 1.0, k), t)
    return x / (np.exp(-kt) + c * x * phi)


def linear_law_day(
    R: np.ndarray, B: np.ndarray, a: np.ndarray, b: np.ndarray, t: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """Exact solution of dR/dt = -b R B, dB/dt = -a R B over ``t`` days."""
    C = a * R - b * B  # conserved
    # dR/dt = C R - a R^2 and dB/dt = -C B - b B^2 (logistic equations)
    return _logistic(R, C, a, t), _logistic(B, -C, b, t)


def effectiveness_factors(
    p: FrontParams,
    supply_on_hand: np.ndarray,
    equipment_ok: np.ndarray,
    competence: np.ndarray,
    decision_latency_days: np.ndarray,
    truth: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """The five factors ``[E, 5]`` (each clipped to [0, 1]) and eff_R ``[E]``."""
    latency = np.nan_to_num(decision_latency_days, nan=0.0)  # nothing decided: no delay
    timeliness = 1.0 / (1.0 + np.maximum(latency, 0.0) / p.timeliness_tau_days)
    f = np.clip(np.stack([supply_on_hand, equipment_ok, competence, timeliness, truth], 1),
                0.0, 1.0)
    E = f.shape[0]
    w = np.stack([per_member(x, E) for x in (p.supply_weight, p.equipment_weight,
                                             p.competence_weight, p.timeliness_weight,
                                             p.truth_weight)], axis=1)
    # 0**0 = 1: a factor with weight 0 has no effect even at 0
    return f, np.prod(np.where(w > 0, f ** w, 1.0), axis=1)


def fight(
    s: FrontState,
    p: FrontParams,
    day: int,
    supply_ratio: np.ndarray,
    equipment_ok: np.ndarray,
    competence: np.ndarray,
    decision_latency_days: np.ndarray,
    truth: np.ndarray,
    u: np.ndarray,
) -> tuple[FrontState, list[EventBatch]]:
    """One day at the front: draw stocks, fight, commit reserves, give or regain ground.

    Inputs ``[E]``: ``supply_ratio`` ammunition and parts output over need (M6, >= 0),
    ``equipment_ok`` share of working equipment, ``competence`` officer corps mean,
    ``decision_latency_days`` mean decision latency (M4; NaN read as 0), ``truth`` the
    share of news reaching the leader in time (M2's timely share, 0-1). ``u`` uniforms
    ``[E, UNIFORMS_PER_DAY]``.
    """
    E = s.own.shape[0]
    if not p.enabled:
        z = np.zeros(E)
        return FrontState(
            own=s.own, opp=s.opp, own_loss=z, opp_loss=z.copy(),
            own_loss_total=s.own_loss_total, opp_loss_total=s.opp_loss_total,
            committed=z.copy(), slack=s.slack, slack0=s.slack0, exhausted_day=s.exhausted_day,
            factors=np.ones((E, 5)), effectiveness=np.ones(E), strength_ratio=s.strength_ratio,
            problem_pressure=np.ones((E, 2)), war_intensity=np.ones(E),
        ), []
    time_s, parts_s, opt_s = s.slack[:, 0], s.slack[:, 1], s.slack[:, 2]

    # parts: the stock covers a shortfall and is refilled by a surplus
    supply = np.maximum(np.asarray(supply_ratio, float), 0.0)
    drawn = np.minimum(np.maximum(1.0 - supply, 0.0), parts_s)
    refill = np.maximum(supply - 1.0, 0.0)
    parts_new = np.minimum(parts_s - drawn + refill, np.maximum(s.slack0[:, 1], parts_s))
    factors, eff = effectiveness_factors(p, supply + drawn, equipment_ok, competence,
                                         decision_latency_days, truth)

    # the fight, integrated exactly over the day with today's kill rates
    sd = per_member(p.daily_noise_sd, E)
    z = ndtri(np.clip(u[:, :2].astype(np.float64), 1e-12, 1.0 - 1e-12))
    noise = np.exp(sd[:, None] * z - 0.5 * sd[:, None] ** 2)
    a = per_member(p.alpha, E) * eff * noise[:, 0]
    b = per_member(p.beta, E) * noise[:, 1]
    law = square_law_day if p.law == "square" else linear_law_day
    R1, B1 = law(s.own, s.opp, a, b)
    own_loss, opp_loss = s.own - R1, s.opp - B1

    # options: reserves plug losses above the threshold (every loss once no depth is left)
    threshold = np.where(time_s > 0.0, per_member(p.reserve_commit_losses, E), 0.0)
    committed = np.minimum(opt_s, np.maximum(own_loss - threshold, 0.0))
    own = R1 + committed + p.own_replacements
    opp = B1 + p.opponent_replacements

    # time: the weaker side gives ground, the stronger regains it
    power = 2.0 if p.law == "square" else 1.0
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        strength = np.where(b * opp > 0, a * own**power / (b * opp**power), np.inf)
    time_new = np.clip(time_s + np.clip(strength - 1.0, -1.0, 1.0), 0.0,
                       np.maximum(s.slack0[:, 0], time_s))
    slack = np.stack([time_new, parts_new, opt_s - committed], axis=1)

    out = slack <= 1e-9
    new = out & np.isnan(s.exhausted_day)
    exhausted_day = np.where(new, float(day), s.exhausted_day)
    # order of running out: slacks gone before today, then today's in the order time, parts,
    # options
    order = (~np.isnan(s.exhausted_day)).sum(axis=1, keepdims=True) + np.cumsum(new, axis=1)

    ref = per_member(p.reference_own_losses, E)
    loss_ratio = np.maximum(own_loss, 0.0) / ref
    n_out = out.sum(axis=1)
    xp = per_member(p.exhausted_pressure, E)
    front_p = loss_ratio ** p.front_pressure_elasticity * (1.0 + xp * n_out)
    equip_p = (1.0 + p.equipment_pressure_gain * (1.0 - factors[:, 1])) * (1.0 + xp * out[:, 1])
    intensity = loss_ratio ** p.intensity_elasticity

    m, k = np.nonzero(new)
    events = [EventBatch("slack_exhausted", m, value=order[m, k].astype(float),
                         value2=own[m], label=np.array(SLACKS, dtype=object)[k])] if len(m) else []
    return after_day(
        s, own=own, opp=opp, own_loss=own_loss, opp_loss=opp_loss, committed=committed,
        slack=slack, exhausted_day=exhausted_day, factors=factors, effectiveness=eff,
        strength_ratio=strength, problem_pressure=np.stack([front_p, equip_p], axis=1),
        war_intensity=intensity,
    ), events


def after_day(
    s: FrontState, *, own_loss: np.ndarray, opp_loss: np.ndarray, **today: np.ndarray
) -> FrontState:
    """The state after a day: today's values (every field but the totals and ``slack0``)
    and the losses they add to the totals."""
    return FrontState(
        own_loss=own_loss, opp_loss=opp_loss, own_loss_total=s.own_loss_total + own_loss,
        opp_loss_total=s.opp_loss_total + opp_loss, slack0=s.slack0, **today,
    )


def slack_used(s: FrontState) -> np.ndarray:
    """Share of each slack used up ``[E, 3]`` (0 untouched, 1 exhausted)."""
    return np.where(s.slack0 > 0, 1.0 - s.slack / np.maximum(s.slack0, 1e-300), 1.0)


def military_stress(s: FrontState) -> np.ndarray:
    """A share in [0, 1] for M12: mean share of slack used up ``[E]``."""
    return np.clip(slack_used(s).mean(axis=1), 0.0, 1.0)


def first_exhausted(s: FrontState) -> np.ndarray:
    """Index into SLACKS of the slack that ran out first ``[E]`` (-1: none yet)."""
    d = np.where(np.isnan(s.exhausted_day), np.inf, s.exhausted_day)
    return np.where(np.isfinite(d).any(axis=1), np.argmin(d, axis=1), -1)


def indicators() -> list[dict]:
    """Daily indicators of M8."""
    return [
        dict(name="own_force", unit="thousand troops", description="own troops at the front",
             fn=lambda s: s.own, extra_dim=None, coords=None, headline=True, summary="final"),
        dict(name="opponent_force", unit="thousand troops", description="opposing troops",
             fn=lambda s: s.opp, extra_dim=None, coords=None, headline=False, summary="final"),
        dict(name="force_ratio", unit="ratio", description="own over opposing troops",
             fn=lambda s: s.own / np.maximum(s.opp, 1e-12), extra_dim=None, coords=None,
             headline=True, summary="final"),
        dict(name="own_losses", unit="thousand troops per day", description="own losses today",
             fn=lambda s: s.own_loss, extra_dim=None, coords=None, headline=True,
             summary="mean"),
        dict(name="opponent_losses", unit="thousand troops per day",
             description="opposing losses today", fn=lambda s: s.opp_loss, extra_dim=None,
             coords=None, headline=False, summary="mean"),
        dict(name="readiness", unit="share (0-1)",
             description="own effectiveness: product of the weighted factors",
             fn=lambda s: s.effectiveness, extra_dim=None, coords=None, headline=True,
             summary="mean"),
        dict(name="effectiveness_factors", unit="share (0-1)",
             description="supply on hand, working equipment, competence, timeliness, truth",
             fn=lambda s: s.factors, extra_dim="factor", coords=list(FACTORS),
             headline=False, summary="mean"),
        dict(name="strength_ratio", unit="ratio", description="Lanchester fighting strength, "
             "own over opposing (above 1 the line regains depth)",
             fn=lambda s: s.strength_ratio, extra_dim=None, coords=None, headline=False,
             summary="mean"),
        dict(name="slack_left", unit="share of initial",
             description="time (depth), parts (stocks) and options (reserves) left",
             fn=lambda s: 1.0 - slack_used(s), extra_dim="slack", coords=list(SLACKS),
             headline=True, summary="final"),
        dict(name="slack_exhausted_day", unit="day", description="day each slack first ran "
             "out (NaN: not yet)", fn=lambda s: s.exhausted_day, extra_dim="slack",
             coords=list(SLACKS), headline=False, summary="final"),
        dict(name="first_slack_exhausted", unit="code", description="slack that ran out first "
             "(-1 none, 0 time, 1 parts, 2 options)",
             fn=lambda s: first_exhausted(s).astype(float), extra_dim=None, coords=None,
             headline=False, summary="final"),
        dict(name="reserves_committed", unit="thousand troops per day",
             description="operational reserves committed to the line today",
             fn=lambda s: s.committed, extra_dim=None, coords=None, headline=False,
             summary="mean"),
        dict(name="front_pressure", unit="multiplier", description="multiplier of front and "
             "equipment problem rates", fn=lambda s: s.problem_pressure,
             extra_dim="pressure_domain", coords=list(PRESSURE_DOMAINS), headline=False,
             summary="mean"),
        dict(name="war_intensity", unit="multiplier", description="multiplier of war spending",
             fn=lambda s: s.war_intensity, extra_dim=None, coords=None, headline=False,
             summary="mean"),
    ]

"""Compiled M8 front (twin of :func:`loyaltytrap.mechanisms.front.fight`)."""

from __future__ import annotations

import numba
import numpy as np

from ..events import EventBatch
from ..mechanisms import front
from ..mechanisms.front import FrontParams, FrontState
from ..params import member_array, packed, per_member
from .blocks import rows
from .special import NDTRI, call_ndtri


@numba.njit(cache=True)
def _fight(own0, opp0, slack0_, slack_init, exhausted0, own_loss_total0, opp_loss_total0,
           supply_ratio, equipment_ok, competence, latency, truth, u, weights, pm, square, day,
           ndtri):  # pragma: no cover - compiled
    # plain ``fight`` member by member, in its order of operations (the daily noise drawn
    # here from the uniforms by scipy's ndtri)
    E = own0.shape[0]
    (tau, noise_sd, alpha, beta, commit_losses, own_repl, opp_repl, ref_losses, xp, front_el,
     equip_gain, intensity_el) = (pm[0], pm[1], pm[2], pm[3], pm[4], pm[5], pm[6], pm[7],
                                  pm[8], pm[9], pm[10], pm[11])
    z = np.empty((E, 2))
    for e in range(E):
        for i in range(2):
            z[e, i] = call_ndtri(ndtri, min(max(np.float64(u[e, i]), 1e-12), 1.0 - 1e-12))
    own = np.empty(E)
    opp = np.empty(E)
    own_loss = np.empty(E)
    opp_loss = np.empty(E)
    committed = np.empty(E)
    slack = np.empty((E, 3))
    exhausted = np.empty((E, 3))
    order = np.zeros((E, 3))
    new = np.zeros((E, 3), dtype=np.bool_)
    factors = np.empty((E, 5))
    eff = np.empty(E)
    strength = np.empty(E)
    pressure = np.empty((E, 2))
    intensity = np.empty(E)
    f = np.empty(5)
    for e in range(E):
        time_s = slack0_[e, 0]
        parts_s = slack0_[e, 1]
        opt_s = slack0_[e, 2]
        supply = max(supply_ratio[e], 0.0)
        drawn = min(max(1.0 - supply, 0.0), parts_s)
        refill = max(supply - 1.0, 0.0)
        parts_new = min(parts_s - drawn + refill, max(slack_init[e, 1], parts_s))
        lat = latency[e]
        if np.isnan(lat):
            lat = 0.0
        f[0] = supply + drawn
        f[1] = equipment_ok[e]
        f[2] = competence[e]
        f[3] = 1.0 / (1.0 + max(lat, 0.0) / tau[e])
        f[4] = truth[e]
        ef = 1.0
        for i in range(5):
            fi = min(max(f[i], 0.0), 1.0)
            factors[e, i] = fi
            ef = ef * (fi ** weights[e, i] if weights[e, i] > 0 else 1.0)
        eff[e] = ef
        n0 = np.exp(noise_sd[e] * z[e, 0] - 0.5 * noise_sd[e] ** 2)
        n1 = np.exp(noise_sd[e] * z[e, 1] - 0.5 * noise_sd[e] ** 2)
        a = alpha[e] * ef * n0
        b = beta[e] * n1
        R = own0[e]
        B = opp0[e]
        if square:
            w = np.sqrt(a * b)
            wt = w * 1.0
            sh = np.sinh(wt) / max(w, 1e-300) if wt > 1e-8 else 1.0
            ch = np.cosh(wt)
            R1 = R * ch - b * B * sh
            B1 = B * ch - a * R * sh
            inv = a * R ** 2 - b * B ** 2
            R_left = np.sqrt(max(inv, 0.0) / max(a, 1e-300))
            B_left = np.sqrt(max(-inv, 0.0) / max(b, 1e-300))
            R_out = R1 < 0.0
            B_out = B1 < 0.0
            R2 = 0.0 if R_out else (R_left if B_out else R1)
            B2 = 0.0 if B_out else (B_left if R_out else B1)
            R1 = max(R2, 0.0)
            B1 = max(B2, 0.0)
        else:
            C = a * R - b * B
            kt = C * 1.0
            phi = -np.expm1(-kt) / (1.0 if C == 0 else C) if abs(kt) > 1e-12 else 1.0
            R1n = R / (np.exp(-kt) + a * R * phi)
            kt = -C * 1.0
            phi = -np.expm1(-kt) / (1.0 if -C == 0 else -C) if abs(kt) > 1e-12 else 1.0
            B1 = B / (np.exp(-kt) + b * B * phi)
            R1 = R1n
        ol = R - R1
        own_loss[e] = ol
        opp_loss[e] = B - B1
        threshold = commit_losses[e] if time_s > 0.0 else 0.0
        cm = min(opt_s, max(ol - threshold, 0.0))
        committed[e] = cm
        o = R1 + cm + own_repl[e]
        q = B1 + opp_repl[e]
        own[e] = o
        opp[e] = q
        power = 2.0 if square else 1.0
        st = a * o ** power / (b * q ** power) if b * q > 0 else np.inf
        strength[e] = st
        time_new = min(max(time_s + min(max(st - 1.0, -1.0), 1.0), 0.0),
                       max(slack_init[e, 0], time_s))
        slack[e, 0] = time_new
        slack[e, 1] = parts_new
        slack[e, 2] = opt_s - cm
        gone = 0.0
        for k in range(3):
            if not np.isnan(exhausted0[e, k]):
                gone += 1.0
        n_out = 0.0
        run = 0.0
        for k in range(3):
            out = slack[e, k] <= 1e-9
            if out:
                n_out += 1.0
            nw = out and np.isnan(exhausted0[e, k])
            new[e, k] = nw
            exhausted[e, k] = float(day) if nw else exhausted0[e, k]
            if nw:
                run += 1.0
            order[e, k] = gone + run
        loss_ratio = max(ol, 0.0) / ref_losses[e]
        pressure[e, 0] = loss_ratio ** front_el[e] * (1.0 + xp[e] * n_out)
        parts_out = 1.0 if slack[e, 1] <= 1e-9 else 0.0
        pressure[e, 1] = ((1.0 + equip_gain[e] * (1.0 - factors[e, 1]))
                          * (1.0 + xp[e] * parts_out))
        intensity[e] = loss_ratio ** intensity_el[e]
    # after_day's totals, and how many slacks ran out today; the [E] results in one block
    # (kernels.blocks)
    by_member = rows((own, opp, own_loss, opp_loss, own_loss_total0 + own_loss,
                      opp_loss_total0 + opp_loss, committed, eff, strength, intensity))
    n_new = 0
    for e in range(E):
        for i in range(3):
            n_new += new[e, i]
    return by_member, slack, exhausted, order, new, factors, pressure, n_new


def fight(
    s: FrontState, p: FrontParams, day: int, supply_ratio: np.ndarray,
    equipment_ok: np.ndarray, competence: np.ndarray, decision_latency_days: np.ndarray,
    truth: np.ndarray, u: np.ndarray,
) -> tuple[FrontState, list[EventBatch]]:
    """Compiled :func:`loyaltytrap.mechanisms.front.fight`."""
    E = s.own.shape[0]
    if not p.enabled:
        return front.fight(s, p, day, supply_ratio, equipment_ok, competence,
                           decision_latency_days, truth, u)
    weights, pm = packed(p, f"front:{E}", lambda: (
        np.stack([per_member(x, E) for x in (
            p.supply_weight, p.equipment_weight, p.competence_weight, p.timeliness_weight,
            p.truth_weight)], axis=1),
        np.stack([per_member(x, E) for x in (
            p.timeliness_tau_days, p.daily_noise_sd, p.alpha, p.beta, p.reserve_commit_losses,
            p.own_replacements, p.opponent_replacements, p.reference_own_losses,
            p.exhausted_pressure, p.front_pressure_elasticity, p.equipment_pressure_gain,
            p.intensity_elasticity)])))
    by_member, slack, exhausted, order, new, factors, pressure, n_new = _fight(
        s.own, s.opp, s.slack, s.slack0, s.exhausted_day, s.own_loss_total, s.opp_loss_total,
        member_array(supply_ratio, E), member_array(equipment_ok, E),
        member_array(competence, E), member_array(decision_latency_days, E),
        member_array(truth, E), u, weights, pm, p.law == "square", int(day), NDTRI)
    (own, opp, own_loss, opp_loss, own_loss_total, opp_loss_total, committed, eff, strength,
     intensity) = by_member
    events: list[EventBatch] = []
    if n_new:
        mm, k = np.nonzero(new)
        events = [EventBatch("slack_exhausted", mm, value=order[mm, k], value2=own[mm],
                             label=np.array(front.SLACKS, dtype=object)[k])]
    return FrontState(  # what front.after_day makes of the day, its totals taken above
        own=own, opp=opp, own_loss=own_loss, opp_loss=opp_loss, own_loss_total=own_loss_total,
        opp_loss_total=opp_loss_total, committed=committed, slack=slack, slack0=s.slack0,
        exhausted_day=exhausted, factors=factors, effectiveness=eff, strength_ratio=strength,
        problem_pressure=pressure, war_intensity=intensity,
    ), events

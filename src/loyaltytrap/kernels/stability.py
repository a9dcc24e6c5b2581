"""Compiled M12 regime stability (twin of
:func:`loyaltytrap.mechanisms.stability.assess_stability`) and of two of the stresses it reads,
:func:`loyaltytrap.mechanisms.front.military_stress` and
:func:`loyaltytrap.mechanisms.elites.elite_stress`."""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from ..events import EventBatch
from ..mechanisms import stability
from ..mechanisms.elites import ElitesState
from ..mechanisms.front import FrontState
from ..mechanisms.hierarchy import Tree
from ..mechanisms.reporting import ReportState
from ..mechanisms.stability import StabilityParams, StabilityState
from ..params import packed, per_member
from .leader import _pairwise_sum


@numba.njit(cache=True)
def _clip01(x):  # pragma: no cover - compiled
    # np.clip(x, 0.0, 1.0): NaN stays NaN
    if x < 0.0:
        return 0.0
    if x > 1.0:
        return 1.0
    return x


@numba.njit(cache=True)
def _measure(stress0, w0, w1, w2, w3, w4):  # pragma: no cover - compiled
    # the stresses clipped to [0, 1], the stability and the weighted stress, as the plain
    # version sums them (from 0, in the order of STRESSES)
    E, S = stress0.shape
    stress = np.empty((E, S))
    stab = np.empty(E)
    total = np.empty(E)
    w = np.empty(S)
    for e in range(E):
        w[0] = w0[e]
        w[1] = w1[e]
        w[2] = w2[e]
        w[3] = w3[e]
        w[4] = w4[e]
        c_sum = 0.0
        w_sum = 0.0
        for i in range(S):
            x = _clip01(stress0[e, i])
            stress[e, i] = x
            c_sum += w[i] * x
            w_sum += w[i]
        if not (w_sum >= 1e-12 or np.isnan(w_sum)):  # np.maximum, NaN first
            w_sum = 1e-12
        total[e] = c_sum / w_sum
        stab[e] = 1.0 - total[e]
    return stress, stab, total


@numba.njit(cache=True)
def _assess(stress0, w0, w1, w2, w3, w4, base_hazard, sensitivity, threshold, threshold_days,
            threat_floor, u, day, below0, collapsed0, collapse_day0,
            cause0):  # pragma: no cover - compiled
    # plain ``assess_stability`` member by member, in its order of operations
    stress, stab, total = _measure(stress0, w0, w1, w2, w3, w4)
    E, S = stress.shape
    below = np.empty(E)
    collapsed = np.empty(E, dtype=np.bool_)
    collapse_day = np.empty(E, dtype=np.int64)
    cause = np.empty(E, dtype=np.int8)
    threat = np.empty(E)
    contrib = np.empty(S)
    n_new = 0
    for e in range(E):
        t = total[e]
        b = below0[e] + 1.0 if stab[e] < threshold[e] else 0.0
        below[e] = b
        hazard = _clip01(base_hazard[e] * np.exp(sensitivity[e] * t))
        falls = np.float64(u[e, 0]) < hazard or b >= threshold_days[e]
        new = falls and not collapsed0[e]
        collapsed[e] = collapsed0[e] or new
        if new:
            n_new += 1
            contrib[0] = w0[e] * stress[e, 0]
            contrib[1] = w1[e] * stress[e, 1]
            contrib[2] = w2[e] * stress[e, 2]
            contrib[3] = w3[e] * stress[e, 3]
            contrib[4] = w4[e] * stress[e, 4]
            k = 0  # np.argmax: the first maximum (or the first NaN)
            if not np.isnan(contrib[0]):
                for i in range(1, S):
                    if np.isnan(contrib[i]):
                        k = i
                        break
                    if contrib[i] > contrib[k]:
                        k = i
            cause[e] = k
            collapse_day[e] = day
        else:
            cause[e] = cause0[e]
            collapse_day[e] = collapse_day0[e]
        threat[e] = threat_floor[e] + (1.0 - threat_floor[e]) * t
    return stress, stab, total, below, collapsed, collapse_day, cause, threat, n_new


def assess_stability(
    s: StabilityState, p: StabilityParams, day: int, stress: np.ndarray, u: np.ndarray
) -> tuple[StabilityState, list[EventBatch]]:
    """Compiled :func:`loyaltytrap.mechanisms.stability.assess_stability`."""
    E = stress.shape[0]
    pmv = packed(p, f"stability:{E}", lambda: tuple(per_member(getattr(p, n), E) for n in (
        "weight_military", "weight_fiscal", "weight_elite", "weight_information",
        "weight_command", "base_hazard", "stress_sensitivity", "collapse_threshold",
        "threshold_days", "threat_floor")))
    w = pmv[:5]
    if not p.enabled:  # stability measured, nothing else moves
        clipped, stab, _total = _measure(stress, *w)
        return StabilityState(stab, clipped, s.below_days, s.collapsed, s.collapse_day,
                              s.cause, s.threat), []
    clipped, stab, total, below, collapsed, collapse_day, cause, threat, n_new = _assess(
        stress, *pmv, u, int(day), s.below_days, s.collapsed,
        s.collapse_day, s.cause)
    events = (stability.collapse_events(collapsed & ~s.collapsed, stab, total, cause)
              if n_new else [])
    return StabilityState(stab, clipped, below, collapsed, collapse_day, cause, threat), events


@numba.njit(cache=True)
def _military_stress(slack, slack0):  # pragma: no cover - compiled
    E, S = slack.shape
    out = np.empty(E)
    for e in range(E):
        used = 0.0
        for i in range(S):
            s0 = slack0[e, i]
            if s0 > 0:
                d = s0 if (s0 >= 1e-300 or np.isnan(s0)) else 1e-300
                used += 1.0 - slack[e, i] / d
            else:
                used += 1.0
        out[e] = _clip01(used / S)
    return out


def military_stress(s: FrontState) -> np.ndarray:
    """Compiled :func:`loyaltytrap.mechanisms.front.military_stress`."""
    return _military_stress(s.slack, s.slack0)


@numba.njit(cache=True)
def _elite_stress(out, withdrawal_share, liquidity, bank_run):  # pragma: no cover - compiled
    E, M = out.shape
    res = np.empty(E)
    for e in range(E):
        if bank_run[e]:
            res[e] = 1.0
            continue
        liq = liquidity[e]
        if not (liq >= 1e-12 or np.isnan(liq)):
            liq = 1e-12
        use = _clip01(withdrawal_share[e] / liq)
        n = 0
        for i in range(M):
            if out[e, i]:
                n += 1
        share = n / M
        res[e] = share if (share >= use or np.isnan(share)) else use
    return res


def elite_stress(s: ElitesState) -> np.ndarray:
    """Compiled :func:`loyaltytrap.mechanisms.elites.elite_stress`."""
    return _elite_stress(s.out, s.withdrawal_share, s.liquidity, s.bank_run)


@numba.njit(cache=True)
def _regime_stress(slack, slack0, reserve_fall, out, withdrawal_share, liquidity, bank_run,
                   pass_ema, fear_mean):  # pragma: no cover - compiled
    # engine.regime_stress: the five stresses [E, 5]
    E = reserve_fall.shape[0]
    mil = _military_stress(slack, slack0)
    eli = _elite_stress(out, withdrawal_share, liquidity, bank_run)
    stress = np.empty((E, 5))
    for e in range(E):
        stress[e, 0] = mil[e]
        stress[e, 1] = reserve_fall[e]
        stress[e, 2] = eli[e]
        stress[e, 3] = 1.0 - _clip01(pass_ema[e])
        stress[e, 4] = fear_mean[e]
    return stress


def regime_stress(
    front: FrontState, reserve_fall: np.ndarray, elites: ElitesState, reports: ReportState,
    fear_mean: np.ndarray,
) -> np.ndarray:
    """Compiled :func:`loyaltytrap.engine.regime_stress`."""
    return _regime_stress(front.slack, front.slack0, reserve_fall, elites.out,
                          elites.withdrawal_share, elites.liquidity, elites.bank_run,
                          reports.pass_ema, fear_mean)


@numba.njit(cache=True)
def _front_inputs(unresolved, n_units, competence, owned, owned_age,
                  pass_ema):  # pragma: no cover - compiled
    # engine.front_inputs, member by member (NumPy's pairwise sums)
    E, N = competence.shape
    frames = np.empty((64, 3), dtype=np.int64)
    left = np.empty(64)
    ok = np.empty(E)
    comp = np.empty(E)
    latency = np.empty(E)
    truth = np.empty(E)
    for e in range(E):
        ok[e] = 1.0 - _clip01(unresolved[e, 2] / n_units)
        comp[e] = _pairwise_sum(competence[e], frames, left) / N
        n = _pairwise_sum(owned[e], frames, left)
        latency[e] = owned_age[e] / max(n, 1e-12) if n > 0 else np.nan
        truth[e] = _clip01(pass_ema[e])
    return ok, comp, latency, truth


def front_inputs(state: Any, tree: Tree) -> tuple[np.ndarray, ...]:
    """Compiled :func:`loyaltytrap.engine.front_inputs`."""
    d = state.decisions
    return _front_inputs(state.reports.unresolved, float(tree.n_units),
                         state.officers.competence, d.owned, d.owned_age,
                         state.reports.pass_ema)

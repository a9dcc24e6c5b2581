"""Compiled M9: the elite agents (twin of :func:`loyaltytrap.mechanisms.elites.move_agents`)
and the whole day (twin of :func:`loyaltytrap.mechanisms.elites.unnerve_elites`)."""

from __future__ import annotations

import numba
import numpy as np
from scipy.special import ndtri

from ..events import EventBatch
from ..mechanisms import elites
from ..mechanisms.elites import ElitesParams, ElitesState
from ..params import member_array, packed, per_member


@numba.njit(cache=True)
def _elite_agents(threshold, sensitivity, anxiety0, out0, news,
                  decay):  # pragma: no cover - compiled
    E, M = anxiety0.shape
    anxiety = np.empty_like(anxiety0)
    out = np.empty_like(out0)
    share_out = np.empty(E)
    out_today = np.empty(E)
    hoarding = np.empty(E)
    theta = np.empty(M)
    t = np.empty(M)
    hist = np.empty(M, dtype=np.int64)
    for e in range(E):
        c = 0
        for i in range(M):
            a0 = anxiety0[e, i]
            x = sensitivity[e, i] * news[e]
            a = a0 * (1.0 - decay[e]) - np.expm1(-x) * (1.0 - a0)
            a = min(max(a, 0.0), 1.0)
            anxiety[e, i] = a
            theta[i] = max(threshold[e, i] - a, 0.0)
            if out0[e, i]:
                t[i] = -np.inf
                c += 1
            else:
                t[i] = theta[i]
        # least fixed point of the cascade reached from the share already out: the first
        # k >= c where fewer than k + 1 agents have t <= k / M (the plain version's sorted
        # t[k] > k / M), from a histogram of the smallest k each agent's t is <= k / M
        for k in range(M):
            hist[k] = 0
        for i in range(M):
            if not out0[e, i]:
                j = int(np.ceil(t[i] * M))
                while j > 0 and t[i] <= (j - 1) / M:
                    j -= 1
                while j < M and t[i] > j / M:
                    j += 1
                if j < M:
                    hist[j] += 1
        k_star = M
        n_le = c
        for k in range(M):
            n_le += hist[k]
            if k >= c and n_le <= k:
                k_star = k
                break
        level = k_star / M
        n_out = 0
        n_new = 0
        h = 0.0
        for i in range(M):
            o = out0[e, i] or theta[i] <= level
            out[e, i] = o
            if o:
                n_out += 1
                h += 1.0
                if not out0[e, i]:
                    n_new += 1
            else:
                h += anxiety[e, i]
        share_out[e] = n_out / M
        out_today[e] = n_new
        hoarding[e] = h / M
    return anxiety, out, share_out, out_today, hoarding


def move_agents(
    s: ElitesState, news: np.ndarray, decay: np.ndarray
) -> tuple[np.ndarray, ...]:
    """Compiled :func:`loyaltytrap.mechanisms.elites.move_agents`."""
    return _elite_agents(s.threshold, s.sensitivity, s.anxiety, s.out,
                         np.ascontiguousarray(news, dtype=np.float64),
                         np.ascontiguousarray(decay, dtype=np.float64))


# rows of the packed parameter matrix
(_NOISE, _PER_STRIKE, _PER_FALL, _PER_SURPRISE, _DECAY, _HOARD, _DEPOSIT, _BACKSTOP,
 _PROMISED, _LONG, _LIQUIDITY) = range(11)


@numba.njit(cache=True)
def _unnerve(threshold, sensitivity, anxiety0, out0, diverted_total0, bank_run0, run_day0,
             strikes_inside, reserve_fall, surprises, rumour, pm, diamond_dybvig,
             day):  # pragma: no cover - compiled
    # plain unnerve_elites (enabled), member by member in its order of operations: the
    # news of the day, the agents, hoarding and the banks' test
    E = anxiety0.shape[0]
    news = np.empty(E)
    for e in range(E):
        rf = min(max(reserve_fall[e], 0.0), 1.0)
        news[e] = (pm[_PER_STRIKE, e] * strikes_inside[e] + pm[_PER_FALL, e] * rf
                   + pm[_PER_SURPRISE, e] * surprises[e]) * rumour[e]
    anxiety, out, share_out, out_today, hoarding = _elite_agents(
        threshold, sensitivity, anxiety0, out0, news, pm[_DECAY])
    diverted = np.empty(E)
    diverted_total = np.empty(E)
    withdrawal = np.empty(E)
    liquidity = np.empty(E)
    bank_run = np.empty(E, dtype=np.bool_)
    new_run = np.zeros(E, dtype=np.bool_)
    run_day = np.empty_like(run_day0)
    n_events = 0
    for e in range(E):
        d = pm[_HOARD, e] * hoarding[e]
        diverted[e] = d
        diverted_total[e] = diverted_total0[e] + d
        w = pm[_DEPOSIT, e] * share_out[e]
        withdrawal[e] = w
        backstop = pm[_BACKSTOP, e] * (1.0 - min(max(reserve_fall[e], 0.0), 1.0))
        if diamond_dybvig:
            r1 = pm[_PROMISED, e]
            liquidity[e] = (1.0 + backstop) / r1
            left = (1.0 + backstop) - r1 * w
            if w < 1.0:
                r2 = pm[_LONG, e] * max(left, 0.0) / max(1.0 - w, 1e-300)
            else:
                r2 = np.inf if left >= 0 else 0.0
            run = r2 < r1
        else:
            liquidity[e] = pm[_LIQUIDITY, e] + backstop
            run = w > liquidity[e]
        nr = run and not bank_run0[e]
        new_run[e] = nr
        bank_run[e] = bank_run0[e] or nr
        run_day[e] = day if nr else run_day0[e]
        n_events += (out_today[e] > 0) + nr
    return (anxiety, out, share_out, out_today, diverted, diverted_total, withdrawal, liquidity,
            bank_run, new_run, run_day, n_events)


def unnerve_elites(
    s: ElitesState, p: ElitesParams, day: int, strikes_inside: np.ndarray,
    reserve_fall: np.ndarray, surprises: np.ndarray, u: np.ndarray,
) -> tuple[ElitesState, list[EventBatch]]:
    """Compiled :func:`loyaltytrap.mechanisms.elites.unnerve_elites`."""
    E = s.anxiety.shape[0]
    if not p.enabled:
        return elites.unnerve_elites(s, p, day, strikes_inside, reserve_fall, surprises, u)
    pm = packed(p, f"elites:{E}", lambda: np.stack([per_member(getattr(p, n), E) for n in (
        "anxiety_noise_sd", "anxiety_per_strike", "anxiety_per_reserve_fall",
        "anxiety_per_surprise", "anxiety_decay", "hoard_max_usd_bn_per_day",
        "elite_deposit_share", "state_backstop", "promised_return", "long_return",
        "bank_liquidity")]))
    # the rumour's noise by NumPy's exp, as the plain version takes it (Numba's exp can
    # round the last bit differently)
    sd = pm[_NOISE]
    rumour = np.exp(sd * ndtri(np.clip(u[:, 0].astype(np.float64), 1e-12, 1.0 - 1e-12))
                    - 0.5 * sd**2)
    (anxiety, out, share_out, out_today, diverted, diverted_total, withdrawal, liquidity,
     bank_run, new_run, run_day, n_events) = _unnerve(
        s.threshold, s.sensitivity, s.anxiety, s.out, s.diverted_total, s.bank_run, s.run_day,
        member_array(strikes_inside, E), member_array(reserve_fall, E),
        member_array(surprises, E), rumour, pm, p.bank_model == "diamond_dybvig", int(day))
    events = elites.day_events(out_today, share_out, new_run, withdrawal,
                               liquidity) if n_events else []
    return ElitesState(
        threshold=s.threshold, sensitivity=s.sensitivity, anxiety=anxiety, out=out,
        out_today=out_today, diverted=diverted, diverted_total=diverted_total,
        withdrawal_share=withdrawal, liquidity=liquidity, bank_run=bank_run, run_day=run_day,
    ), events

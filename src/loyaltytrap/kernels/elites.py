"""Compiled M9 elite agents (twin of :func:`loyaltytrap.mechanisms.elites.move_agents`)."""

from __future__ import annotations

import numba
import numpy as np

from ..mechanisms.elites import ElitesState


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

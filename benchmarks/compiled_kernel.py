"""The hierarchy kernel as one compiled loop: the speed a fused, in-place implementation reaches.

A third independent implementation of the kernel (after the Mesa peer and the pure-Python
reference), written for speed and nothing else: one member at a time, all its days inside one
Numba call, the state of its 1,365 officers in a few flat arrays updated in place (some 230 kB,
resident in the core's L2 cache), one fused pass over the officers a day, Numba's own generator,
and the seven statistics of :data:`benchmarks.kernel.METRICS` collected every day (what the
Mesa peer's ``DataCollector`` collects). It has no scenario, no parameter records, no
indicators beyond those seven, no events, no ensemble axis and no provenance: it is the bound
on what the engine's officer passes could reach on this core, not a substitute for the engine.

The day follows the reference (:mod:`benchmarks.reference_kernel`): problems at the units;
yesterday's forwarded news arrives, buried stocks worsen; every officer holding news buries it
or forwards it (level 0 to the leader); a stock at the visibility threshold surfaces; fear
fades, ended vacancies are filled, candid serving officers may be purged and replaced; fear
spreads from the day's purges. Within the fused pass an officer's steps run in that order, and
nothing an officer does reaches another officer the same day (news forwarded arrives
tomorrow), so fusing the passes changes no result's distribution; the ensemble statistics are
checked against the other implementations (:mod:`benchmarks.check_mesa_equivalence`).
"""

from __future__ import annotations

from dataclasses import astuple

import numba
import numpy as np

from .kernel import METRICS, KernelParams


@numba.njit(inline="always")
def _clip01(x):  # pragma: no cover - compiled
    return 0.0 if x < 0.0 else 1.0 if x > 1.0 else x


@numba.njit(cache=True)
def _tree(levels, branching):  # pragma: no cover - compiled
    # the chain of command, level by level, top first: the levels' sizes and first officers,
    # each officer's level and superior (-1 for the top)
    L = int(levels)
    b = int(branching)
    sizes = np.empty(L, dtype=np.int64)
    offset = np.empty(L, dtype=np.int64)
    n = 0
    for lvl in range(L):
        sizes[lvl] = b**lvl
        offset[lvl] = n
        n += sizes[lvl]
    level = np.empty(n, dtype=np.int64)
    parent = np.full(n, -1, dtype=np.int64)
    for lvl in range(L):
        for j in range(sizes[lvl]):
            i = offset[lvl] + j
            level[i] = lvl
            if lvl > 0:
                parent[i] = offset[lvl - 1] + j // b
    return L, n, sizes, offset, level, parent


@numba.njit(cache=True)
def _exposure(L, purge_prob, purge_decay):  # pragma: no cover - compiled
    # the candour purge's probability at each level
    exposure = np.empty(L)
    for lvl in range(L):
        exposure[lvl] = purge_prob * purge_decay**lvl
    return exposure


@numba.njit(cache=True)
def _officers(n, comp_mean, comp_sd, loy_mean, loy_sd, cand_mean,
              cand_sd):  # pragma: no cover - compiled
    # the first holders' competence, loyalty and candour, officer by officer (from Numba's
    # generator, seeded by the caller)
    comp = np.empty(n)
    loy = np.empty(n)
    cand = np.empty(n)
    for i in range(n):
        comp[i] = _clip01(np.random.normal(comp_mean, comp_sd))
        loy[i] = _clip01(np.random.normal(loy_mean, loy_sd))
        cand[i] = _clip01(np.random.normal(cand_mean, cand_sd))
    return comp, loy, cand


@numba.njit(cache=True)
def _run(p, days, seed):  # pragma: no cover - compiled
    (levels, branching, r_front, r_supply, r_equip, severity_mean, comp_mean, comp_sd,
     loy_mean, loy_sd, cand_mean, cand_sd, initial_fear, sens, vis, growth, purge_prob,
     purge_decay, jailed_share, disappeared_share, vacancy_days, comp_drop, repl_loy,
     repl_cand, repl_sd, spread_level, spread_all, fear_decay, fear_base) = p
    np.random.seed(seed)
    L, n, _, offset, level, parent = _tree(levels, branching)
    first_unit = offset[L - 1]
    vacancy = max(int(np.rint(vacancy_days)), 1)
    exposure = _exposure(L, purge_prob, purge_decay)
    e1 = r_front
    e2 = e1 + r_supply
    e3 = e2 + r_equip
    g1 = 1.0 + growth
    comp, loy, cand = _officers(n, comp_mean, comp_sd, loy_mean, loy_sd, cand_mean, cand_sd)
    fear = np.full(n, initial_fear)
    status = np.zeros(n, dtype=np.int8)
    vacant_until = np.zeros(n, dtype=np.int64)
    # news held today, news forwarded today (arriving tomorrow), news buried: per domain,
    # then severity and day-sum of ages (as the engine and the Mesa peer keep them)
    news = np.zeros((n, 5))
    incoming = np.zeros((n, 5))
    hidden = np.zeros((n, 5))
    purged_at = np.zeros(L, dtype=np.int64)
    out = np.empty((days, 7))
    arisen = 0.0
    relayed = 0.0
    surfaced = 0.0
    purged = 0.0
    for day in range(days):
        # the units' new problems
        for i in range(first_unit, n):
            u = np.random.random()
            if u < e3:
                k = 0 if u < e1 else 1 if u < e2 else 2
                news[i, k] += 1.0
                news[i, 3] += -severity_mean * np.log(1.0 - np.random.random())
                arisen += 1.0
        purged_at[:] = 0
        fear_sum = 0.0
        vacant = 0.0
        hidden_sum = 0.0
        for i in range(n):
            # yesterday's news arrives; what is buried worsens; everything ages a day
            h0, h1, h2 = hidden[i, 0], hidden[i, 1], hidden[i, 2]
            hidden[i, 3] *= g1
            hidden[i, 4] += (h0 + h1) + h2
            c0, c1, c2 = incoming[i, 0], incoming[i, 1], incoming[i, 2]
            x0, x1, x2 = news[i, 0] + c0, news[i, 1] + c1, news[i, 2] + c2
            xs = news[i, 3] + incoming[i, 3]
            xa = news[i, 4] + incoming[i, 4] + ((c0 + c1) + c2)
            for k in range(5):
                incoming[i, k] = 0.0
                news[i, k] = 0.0
            # bury it all, or forward it all
            held = (x0 + x1) + x2
            candid = False
            if held > 0.0:
                if np.random.random() < min(1.0, sens * fear[i] * (1.0 - cand[i])):
                    h0 += x0
                    h1 += x1
                    h2 += x2
                    hidden[i, 3] += xs
                    hidden[i, 4] += xa
                else:
                    candid = True
                    j = parent[i]
                    if j < 0:
                        relayed += held
                    else:
                        incoming[j, 0] += x0
                        incoming[j, 1] += x1
                        incoming[j, 2] += x2
                        incoming[j, 3] += xs
                        incoming[j, 4] += xa
            # the smoke is visible: the stock surfaces entirely
            if hidden[i, 3] >= vis:
                surfaced += (h0 + h1) + h2
                h0 = h1 = h2 = 0.0
                hidden[i, 3] = 0.0
                hidden[i, 4] = 0.0
            hidden[i, 0], hidden[i, 1], hidden[i, 2] = h0, h1, h2
            hidden_sum += (h0 + h1) + h2
            # fear fades; an acting deputy whose vacancy ended now serves
            f = fear_base + (fear[i] - fear_base) * (1.0 - fear_decay)
            if status[i] != 0 and vacant_until[i] <= day:
                status[i] = 0
            # a candid serving officer may be purged, and a deputy takes over
            if candid and status[i] == 0 and np.random.random() < exposure[level[i]]:
                purged_at[level[i]] += 1
                u = np.random.random()
                status[i] = 1 if u < jailed_share else (
                    2 if u < jailed_share + disappeared_share else 3)
                comp[i] = _clip01(np.random.normal(comp[i] - comp_drop, repl_sd))
                loy[i] = _clip01(np.random.normal(repl_loy, repl_sd))
                cand[i] = _clip01(np.random.normal(repl_cand, repl_sd))
                vacant_until[i] = day + vacancy
            fear[i] = f
            fear_sum += f
            vacant += status[i] != 0
        total = 0
        for lvl in range(L):
            total += purged_at[lvl]
        purged += total
        if total > 0:  # fear spreads from today's purges
            keep_all = (1.0 - spread_all) ** total
            fear_sum = 0.0
            for i in range(n):
                keep = (1.0 - spread_level) ** purged_at[level[i]] * keep_all
                fear[i] += (1.0 - fear[i]) * (1.0 - keep)
                fear_sum += fear[i]
        out[day, 0] = relayed / arisen if arisen > 0 else np.nan
        out[day, 1] = fear_sum / n
        out[day, 2] = purged
        out[day, 3] = vacant
        out[day, 4] = hidden_sum
        out[day, 5] = surfaced
        out[day, 6] = arisen
    return out


def params_tuple(p: KernelParams) -> tuple[float, ...]:
    """One member's parameters as the compiled loop takes them (every field of
    KernelParams, in its order)."""
    return tuple(float(v) for v in astuple(p))


def member_seed(seed: int, member: int, salt: int) -> int:
    """A member's seed for Numba's generator from (seed, member) and the loop's own salt, as
    the other peers derive their streams."""
    return int(np.random.SeedSequence([seed, member, salt]).generate_state(1)[0] >> 1)


def last_day(days: np.ndarray) -> dict[str, float]:
    """The last day's statistics of a ``[days, 7]`` run, by name."""
    return dict(zip(METRICS, (float(v) for v in days[-1]), strict=True))


def run_days(p: KernelParams, days: int, seed: int, member: int) -> np.ndarray:
    """The seven statistics of every day, ``[days, 7]`` in the order of METRICS."""
    return _run(params_tuple(p), days, member_seed(seed, member, 0x6B65))


def run_member(p: KernelParams, days: int, seed: int, member: int) -> dict[str, float]:
    """Run one member ``days`` days and return the last day's statistics."""
    return last_day(run_days(p, days, seed, member))

"""An independent pure-Python reference of the hierarchy kernel: plain lists, plain loops, the
``random`` module, no numpy and no framework.

Officers are numbered level by level, top first; officer ``i`` at level ``l`` (``l > 0``)
reports to ``offset[l-1] + (i - offset[l]) // branching``. The day follows
:func:`loyaltytrap.engine.step` under the kernel overrides (see :mod:`benchmarks.kernel`).
Written from the equations in the mechanism docstrings, separately from the Mesa peer, so that
a slip in one of the two shows up as a disagreement.
"""

from __future__ import annotations

import math
import random

from .kernel import KernelParams

K = 3  # domains: front, supply, equipment


def _clip01(x: float) -> float:
    return 0.0 if x < 0.0 else 1.0 if x > 1.0 else x


def run_member(p: KernelParams, days: int, seed: int, member: int) -> dict[str, float]:
    """Run one member ``days`` days and return the last day's indicators."""
    rnd = random.Random(f"reference:{seed}:{member}")
    sizes = p.level_sizes
    n = sum(sizes)
    offset = [sum(sizes[:lvl]) for lvl in range(p.levels)]
    level = [lvl for lvl in range(p.levels) for _ in range(sizes[lvl])]
    parent = [-1] * n
    for i in range(n):
        if level[i] > 0:
            parent[i] = offset[level[i] - 1] + (i - offset[level[i]]) // p.branching
    first_unit = offset[-1]

    comp = [_clip01(rnd.gauss(p.competence_mean, p.competence_sd)) for _ in range(n)]
    loy = [_clip01(rnd.gauss(p.loyalty_mean, p.loyalty_sd)) for _ in range(n)]
    cand = [_clip01(rnd.gauss(p.candour_mean, p.candour_sd)) for _ in range(n)]
    fear = [p.initial_fear] * n
    status = [0] * n
    vacant_until = [0] * n

    # news held (per domain), in flight to each officer, and buried at each officer
    inbox = [[0] * K for _ in range(n)]
    inbox_sev = [0.0] * n
    inflight = [[0] * K for _ in range(n)]
    inflight_sev = [0.0] * n
    hidden = [[0] * K for _ in range(n)]
    hidden_sev = [0.0] * n

    edges = [p.front_problem_rate]
    edges.append(edges[0] + p.supply_problem_rate)
    edges.append(edges[1] + p.equipment_problem_rate)
    growth = 1.0 + p.severity_growth
    arisen = relayed = surfaced = purged = 0
    exposure = [p.candour_purge_prob * p.candour_exposure_decay**lvl for lvl in range(p.levels)]

    for day in range(days):
        # 1. problems at the units
        for i in range(first_unit, n):
            u = rnd.random()
            for k in range(K):
                if u < edges[k]:
                    inbox[i][k] += 1
                    inbox_sev[i] += -p.severity_mean * math.log(1.0 - rnd.random())
                    arisen += 1
                    break
        # 2. arrivals, then every officer buries or forwards what it holds
        for i in range(n):
            hidden_sev[i] *= growth
            for k in range(K):
                inbox[i][k] += inflight[i][k]
                inflight[i][k] = 0
            inbox_sev[i] += inflight_sev[i]
            inflight_sev[i] = 0.0
        candid = [False] * n
        for i in range(n):
            amount = sum(inbox[i])
            if amount == 0:
                continue
            if rnd.random() < min(1.0, p.scrub_sensitivity * fear[i] * (1.0 - cand[i])):
                for k in range(K):
                    hidden[i][k] += inbox[i][k]
                hidden_sev[i] += inbox_sev[i]
            else:
                candid[i] = True
                j = parent[i]
                if j < 0:
                    relayed += amount
                else:
                    for k in range(K):
                        inflight[j][k] += inbox[i][k]
                    inflight_sev[j] += inbox_sev[i]
            inbox[i] = [0] * K
            inbox_sev[i] = 0.0
        for i in range(n):
            if hidden_sev[i] >= p.visibility_threshold:
                surfaced += sum(hidden[i])
                hidden[i] = [0] * K
                hidden_sev[i] = 0.0
        # 3. fear fades, vacancies end, candid officers are purged, fear spreads
        purged_at = [0] * p.levels
        for i in range(n):
            fear[i] = p.fear_baseline + (fear[i] - p.fear_baseline) * (1.0 - p.fear_decay)
            if status[i] != 0 and vacant_until[i] <= day:
                status[i] = 0
        for i in range(n):
            if candid[i] and status[i] == 0 and rnd.random() < exposure[level[i]]:
                purged_at[level[i]] += 1
                u = rnd.random()
                status[i] = 1 if u < p.jailed_share else (
                    2 if u < p.jailed_share + p.disappeared_share else 3)
                comp[i] = _clip01(rnd.gauss(comp[i] - p.replacement_competence_drop,
                                            p.replacement_sd))
                loy[i] = _clip01(rnd.gauss(p.replacement_loyalty, p.replacement_sd))
                cand[i] = _clip01(rnd.gauss(p.replacement_candour, p.replacement_sd))
                vacant_until[i] = day + p.vacancy_length
        total_today = sum(purged_at)
        purged += total_today
        if total_today:
            keep_all = (1.0 - p.fear_spread_all) ** total_today
            for i in range(n):
                keep = (1.0 - p.fear_spread_level) ** purged_at[level[i]] * keep_all
                fear[i] += (1.0 - fear[i]) * (1.0 - keep)

    return {
        "reaching_top_share": relayed / arisen if arisen else math.nan,
        "fear_mean": sum(fear) / n,
        "purged_total": float(purged),
        "vacant_posts": float(sum(s != 0 for s in status)),
        "hidden_problems": float(sum(sum(h) for h in hidden)),
        "surfaced_total": float(surfaced),
        "arisen_total": float(arisen),
    }

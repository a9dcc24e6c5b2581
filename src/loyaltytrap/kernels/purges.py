"""Compiled M3 purges (twin of :func:`loyaltytrap.mechanisms.purges.purge_officers`).

Two compiled passes around the members' sparse draws: the first decays fear, fills the posts
whose vacancy has run out, draws each officer's cause (as :func:`draw_causes` does) and adds
the leader's scapegoat, returning the purged (member, officer) pairs in row-major order; the
replacements' attributes then come from each member's sparse stream exactly as the plain
version asks for them, and the second pass writes the replacements, counts the day, spreads
fear and takes the level means the events report.
"""

from __future__ import annotations

from collections.abc import Callable

import numba
import numpy as np
from scipy.special import ndtri

from ..events import EventBatch
from ..mechanisms.hierarchy import DISAPPEARED, JAILED, REMOVED, SERVING, OfficerState, Tree
from ..mechanisms.purges import (
    SCAPEGOAT,
    PurgeParams,
    PurgeState,
    purge_events,
    quiet_day,
)
from ..params import col
from ..rng import Streams
from .leader import _pairwise_sum
from .uniforms import uniform_of, uniform_source

# rows of the per-member parameter matrix ``[len(_PARAMS) + 1, E]`` (the last row: threat)
_PARAMS = ("fear_baseline", "fear_decay", "liability_hazard", "liability_competence",
           "jailed_share", "disappeared_share", "replacement_competence_drop",
           "replacement_sd", "replacement_loyalty", "replacement_candour", "vacancy_days",
           "fear_spread_level", "fear_spread_all")
(_BASE, _DECAY, _HAZARD, _LIAB_COMP, _JAILED, _DISAPPEARED, _DROP, _SD, _LOYALTY, _CANDOUR,
 _VACANCY, _SPREAD_LEVEL, _SPREAD_ALL, _THREAT) = range(len(_PARAMS) + 1)


@numba.njit(inline="always")
def _read(status, e0, e1, e2):  # pragma: no cover - compiled
    # whether an officer's uniform can put him under an edge of the cascade below: a serving
    # officer, an edge above 0 (else he falls through whatever it is, and a day read where
    # needed does not compute it)
    return (status == SERVING) & ((e0 > 0.0) | (e1 > 0.0) | (e2 > 0.0))  # no branches


@numba.njit(cache=True)
def _decay_in_place(fear, base, keep):  # pragma: no cover - compiled
    # fear decays toward its base, written over itself (_draw_purges' pass, on a row)
    for n in range(fear.shape[0]):
        fear[n] = base + (fear[n] - base) * keep


@numba.njit(cache=True)
def _return_in_place(status, vacant, day):  # pragma: no cover - compiled
    # a vacant post serves again from the day its vacancy ends, written over itself
    for n in range(status.shape[0]):
        s_ = status[n]
        status[n] = SERVING if s_ != SERVING and vacant[n] <= day else s_


@numba.njit(cache=True)
def _draw_purges(fear0, status0, vacant0, competence, candid, surfaced, u, target, pm,
                 cand_exp, scape_exp, max_level, day, offsets, sizes,
                 inplace=False):  # pragma: no cover - compiled
    # _purge_draw member by member, then the scapegoat; the purged pairs in row-major order.
    # u >= 0 makes "no cause" the fall-through of the cascade, so an officer's uniform is
    # read only where an edge is above 0 (_read), and where a level's probabilities cannot
    # sum above 1 the normalisation divides by 1 (exactly the probabilities), so only such
    # levels divide.
    # With ``inplace`` fear and status are written over yesterday's (returned as the same
    # arrays: the caller must not need yesterday's again).
    E, N = fear0.shape
    L = sizes.shape[0]
    fear = fear0 if inplace else fear0.copy()
    status = status0 if inplace else status0.copy()
    cause = np.empty((E, N), dtype=np.int8)
    counts = np.zeros(E, dtype=np.int64)
    ud, ust, ujt, lazy = uniform_source(u)
    for e in range(E):
        base = pm[_BASE, e]
        keep = 1.0 - pm[_DECAY, e]
        _decay_in_place(fear[e], base, keep)
        _return_in_place(status[e], vacant0[e], day)
        st = status[e]
        liab = pm[_HAZARD, e] * pm[_THREAT, e]
        liab_comp = pm[_LIAB_COMP, e]
        cnt = 0
        for lvl in range(L):
            lo = offsets[lvl]
            hi = lo + sizes[lvl]
            pc_l = cand_exp[e, lvl]
            ps_l = scape_exp[e, lvl]
            pl_l = liab if lvl <= max_level else 0.0
            sv = st[lo:hi]
            cd = candid[e, lo:hi]
            sf = surfaced[e, lo:hi]
            co = competence[e, lo:hi]
            ca = cause[e, lo:hi]
            if (pc_l + ps_l) + pl_l <= 1.0:
                # first, branch-free, who can be purged at all (marked -2 in the causes); then
                # their uniforms, and the cause each falls under
                n_read = 0
                if pl_l == 0.0:  # no liability here: competence is not read
                    for j in range(hi - lo):
                        e0 = pc_l if cd[j] else 0.0
                        e1 = e0 + (ps_l if sf[j] > 0 else 0.0)
                        r = np.int8(_read(sv[j], e0, e1, 0.0))
                        n_read += r
                        ca[j] = np.int8(-1) - r  # -2: to be read
                else:
                    for j in range(hi - lo):
                        e0 = pc_l if cd[j] else 0.0
                        e1 = e0 + (ps_l if sf[j] > 0 else 0.0)
                        e2 = e1 + (pl_l if co[j] > liab_comp else 0.0)
                        r = np.int8(_read(sv[j], e0, e1, e2))
                        n_read += r
                        ca[j] = np.int8(-1) - r  # -2: to be read
                if n_read == 0:
                    continue
                for j in range(hi - lo):
                    if ca[j] != -2:
                        continue
                    e0 = pc_l if cd[j] else 0.0
                    e1 = e0 + (ps_l if sf[j] > 0 else 0.0)
                    e2 = e1 + (pl_l if co[j] > liab_comp else 0.0)
                    x = np.float64(uniform_of(ud, ust, ujt, lazy, e, lo + j))
                    c = 2 if x < e2 else -1
                    c = 1 if x < e1 else c
                    c = 0 if x < e0 else c
                    ca[j] = c
                    cnt += c >= 0
            else:
                for j in range(hi - lo):
                    c = -1
                    if sv[j] == SERVING:
                        pc = pc_l if cd[j] else 0.0
                        ps = ps_l if sf[j] > 0 else 0.0
                        pl = pl_l if co[j] > liab_comp else 0.0
                        norm = max(pc + ps + pl, 1.0)
                        e0 = pc / norm
                        e1 = e0 + ps / norm
                        e2 = e1 + pl / norm
                        x = (np.float64(uniform_of(ud, ust, ujt, lazy, e, lo + j))
                             if _read(SERVING, e0, e1, e2) else 1.0)
                        if x < e0:
                            c = 0
                        elif x < e1:
                            c = 1
                        elif x < e2:
                            c = 2
                    ca[j] = c
                    cnt += c >= 0
        t = target[e]
        if t >= 0:  # the commander the leader blames, whatever else befalls him
            if t >= N:
                raise IndexError("scapegoat target out of range")
            if cause[e, t] < 0:
                cnt += 1
            cause[e, t] = SCAPEGOAT
        counts[e] = cnt
    M = counts.sum()
    member = np.empty(M, dtype=np.int64)
    officer = np.empty(M, dtype=np.int64)
    which = np.empty(M, dtype=np.int64)
    i = 0
    for e in range(E):
        if counts[e] == 0:
            continue
        ca = cause[e]
        for n in range(N):
            if ca[n] >= 0:
                member[i] = e
                officer[i] = n
                which[i] = ca[n]
                i += 1
    return fear, status, member, officer, which


@numba.njit(cache=True)
def _replace(comp0, loy0, cand0, vacant0, status, fear, member, officer, which, draws, z, pm,
             total0, fates0, by_level0, day, offsets, sizes,
             inplace=False):  # pragma: no cover - compiled
    # the rest of plain ``purge_officers`` in its order of operations: replacements, counts,
    # the fear spread (in place in ``fear``, and ``status`` takes the fates) and the level
    # means of fear before and after it, NumPy's pairwise sums
    E = comp0.shape[0]
    L = sizes.shape[0]
    M = member.shape[0]
    # (with ``inplace`` the replacements are written over yesterday's attributes)
    comp = comp0 if inplace else comp0.copy()
    loy = loy0 if inplace else loy0.copy()
    cand = cand0 if inplace else cand0.copy()
    vacant = vacant0 if inplace else vacant0.copy()
    today = np.zeros((E, 3))
    fates = fates0.copy()
    n_level = np.zeros((E, L))
    level = np.empty(M, dtype=np.int64)
    old = np.empty(M)
    new = np.empty(M)
    kind = np.empty(M, dtype=np.int64)
    lvl = 0
    for i in range(M):
        e = member[i]
        n = officer[i]
        while n >= offsets[lvl] + sizes[lvl]:  # the pairs come in order within a member
            lvl += 1
        while n < offsets[lvl]:
            lvl -= 1
        level[i] = lvl
        fu = draws[i, 0]
        js = pm[_JAILED, e]
        if fu < js:
            fate = JAILED
        elif fu < js + pm[_DISAPPEARED, e]:
            fate = DISAPPEARED
        else:
            fate = REMOVED
        sd = pm[_SD, e]
        oc = comp0[e, n]
        old[i] = oc
        x = (oc - pm[_DROP, e]) + sd * z[i, 0]
        x = x if x > 0.0 else 0.0  # np.clip
        x = x if x < 1.0 else 1.0
        new[i] = x
        comp[e, n] = x
        x = pm[_LOYALTY, e] + sd * z[i, 1]
        x = x if x > 0.0 else 0.0
        loy[e, n] = x if x < 1.0 else 1.0
        x = pm[_CANDOUR, e] + sd * z[i, 2]
        x = x if x > 0.0 else 0.0
        cand[e, n] = x if x < 1.0 else 1.0
        status[e, n] = fate
        vacant[e, n] = day + np.int64(max(np.rint(pm[_VACANCY, e]), 1.0))
        c = which[i]
        kind[i] = 3 * c + fate - 1
        today[e, c] += 1.0
        fates[e, fate - 1] += 1.0
        n_level[e, lvl] += 1.0
    H = 0
    for e in range(E):
        for lv in range(L):
            if n_level[e, lv] > 0:
                H += 1
    hit_m = np.empty(H, dtype=np.int64)
    hit_l = np.empty(H, dtype=np.int64)
    before = np.empty(H)
    after = np.empty(H)
    frames = np.empty((64, 3), dtype=np.int64)
    left = np.empty(64)
    h = 0
    for e in range(E):
        n_all = (today[e, 0] + today[e, 1]) + today[e, 2]
        if n_all == 0.0:
            continue
        h0 = h
        for lv in range(L):
            if n_level[e, lv] > 0:
                lo = offsets[lv]
                hit_m[h] = e
                hit_l[h] = lv
                before[h] = _pairwise_sum(fear[e, lo:lo + sizes[lv]], frames, left) / sizes[lv]
                h += 1
        ka = (1.0 - pm[_SPREAD_ALL, e]) ** n_all
        kl = 1.0 - pm[_SPREAD_LEVEL, e]
        for lv in range(L):
            keep = kl ** n_level[e, lv] * ka
            f = fear[e, offsets[lv]:offsets[lv] + sizes[lv]]
            for j in range(sizes[lv]):
                x = f[j]
                f[j] = x + (1.0 - x) * (1.0 - keep)
        for k in range(h0, h):
            lo = offsets[hit_l[k]]
            size = sizes[hit_l[k]]
            after[k] = _pairwise_sum(fear[e, lo:lo + size], frames, left) / size
    total = total0 + today
    by_level = by_level0 + n_level
    return (comp, loy, cand, vacant, today, total, fates, by_level, level, old, new, kind, hit_m,
            hit_l, after, before)


_TREES: dict[Tree, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}


def _tree_arrays(tree: Tree) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Offsets and sizes of the levels (int64) and the levels ``[1, L]``, once per tree."""
    out = _TREES.get(tree)
    if out is None:
        out = (np.asarray(tree.offsets, np.int64), np.asarray(tree.level_sizes, np.int64),
               np.arange(tree.levels)[None, :])
        _TREES[tree] = out
    return out


def _exposure(prob: np.ndarray | float, decay: np.ndarray | float, lv: np.ndarray,
              E: int) -> np.ndarray:
    # as the compiled draw_causes computes it (NumPy's power: Numba's rounds differently)
    x = col(prob) * col(decay) ** lv
    return x if x.shape[0] == E else np.broadcast_to(x, (E, x.shape[1]))


def purge_officers(
    s: PurgeState,
    p: PurgeParams,
    tree: Tree,
    o: OfficerState,
    day: int,
    candid: np.ndarray,
    surfaced: np.ndarray,
    scapegoat_target: np.ndarray,
    threat: np.ndarray,
    u: np.ndarray,
    streams: Streams,
    draw: Callable[..., tuple[np.ndarray, ...]] | None = None,
    spread: Callable[..., np.ndarray] | None = None,
) -> tuple[OfficerState, PurgeState, list[EventBatch]]:
    """Compiled :func:`loyaltytrap.mechanisms.purges.purge_officers` (``draw`` and ``spread``
    are ignored: the compiled draw and spread are built in)."""
    E = candid.shape[0]
    if not p.enabled:  # no purges, and fear stays where it is
        return o, quiet_day(s, E), []
    offsets, sizes, lv = _tree_arrays(tree)
    pm = np.empty((len(_PARAMS) + 1, E))
    for i, name in enumerate(_PARAMS):
        pm[i] = getattr(p, name)
    pm[_THREAT] = threat
    fear, status, member, officer, which = _draw_purges(
        o.fear, o.status, o.vacant_until, o.competence, candid, surfaced, u, scapegoat_target,
        pm, _exposure(p.candour_purge_prob, p.candour_exposure_decay, lv, E),
        _exposure(p.scapegoat_purge_prob, p.scapegoat_exposure_decay, lv, E),
        int(p.liability_max_level), int(day), offsets, sizes)
    return replace_purged(s, o, fear, status, member, officer, which, pm, day, offsets, sizes,
                          streams)


def replace_purged(
    s: PurgeState, o: OfficerState, fear: np.ndarray, status: np.ndarray, member: np.ndarray,
    officer: np.ndarray, which: np.ndarray, pm: np.ndarray, day: int, offsets: np.ndarray,
    sizes: np.ndarray, streams: Streams, reuse: bool = False,
) -> tuple[OfficerState, PurgeState, list[EventBatch]]:
    """The second half of the compiled purge day, after :func:`_draw_purges` (``fear`` and
    ``status`` as it left them, the purged ``member``, ``officer`` pairs and the cause
    ``which`` of each, its parameter matrix ``pm``): the replacements' attributes from each
    member's sparse stream, the counts, the fear spread and the events. With ``reuse`` the
    replacements are written over ``o``'s attributes (``o`` is not valid after)."""
    if len(member) == 0:
        return (OfficerState(o.competence, o.loyalty, o.candour, fear, status, o.vacant_until),
                quiet_day(s, fear.shape[0]), [])
    draws = streams.sparse("purges", member, 4)  # as the plain version asks: same numbers
    z = ndtri(np.clip(draws[:, 1:], 1e-7, 1 - 1e-7))  # clipped_normal's normal deviates
    (comp, loy, cand, vacant, today, total, fates, by_level, level, old, new, kind, hit_m, hit_l,
     after, before) = _replace(
        o.competence, o.loyalty, o.candour, o.vacant_until, status, fear, member, officer,
        which, draws, z, pm, s.total, s.fates, s.by_level, int(day), offsets, sizes,
        bool(reuse))
    return (
        OfficerState(comp, loy, cand, fear, status, vacant),
        PurgeState(today, total, fates, by_level),
        purge_events(member, officer, level, old, new, kind, hit_m, hit_l, after, before),
    )

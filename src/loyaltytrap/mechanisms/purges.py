"""M3 purges and the fear loop.

Three causes of purge, each drawn per officer per day from one uniform (the causes partition
the unit interval, so an officer is purged at most once a day):

- candour: an officer who forwarded bad news today is purged with
  ``candour_purge_prob * candour_exposure_decay**level`` (Popov, jailed after reporting
  artillery shortages): the nearer the top the messenger, the more exposed;
- scapegoat: an officer whose buried news surfaced today is purged with
  ``scapegoat_purge_prob * scapegoat_exposure_decay**level`` (a failure exposed at a higher
  command draws more attention); the commander the leader blames for a surprise (M11) always
  is (the security apparatus hunting scapegoats in the defence sector);
- political liability: an effective commander (competence above ``liability_competence``, at
  level ``liability_max_level`` or above) is removed at ``liability_hazard * threat`` per day
  (Surovikin).

A purged officer is jailed, disappears or is removed (shares ``jailed_share``,
``disappeared_share``, the rest removed); the post stays vacant for ``vacancy_days`` under an
acting deputy, who is the replacement: selected for loyalty, so less competent and less candid
(competence falls by ``replacement_competence_drop``; Egorov and Sonin 2011, Prendergast 1993).

Fear decays toward ``fear_baseline`` by ``fear_decay`` per day and jumps after purges:

    fear_j += (1 - fear_j) * (1 - (1 - fear_spread_level)**n_level(j) * (1 - fear_spread_all)**n)

where n_level(j) is the number of purges at officer j's level today and n all purges today.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..events import EventBatch
from ..params import Common, col, param, state_record
from ..rng import Streams
from .hierarchy import (
    DISAPPEARED,
    JAILED,
    REMOVED,
    SERVING,
    OfficerState,
    Tree,
    clipped_normal,
)

CANDOUR, SCAPEGOAT, LIABILITY = 0, 1, 2
CAUSES = ("candour", "scapegoat", "political liability")
FATES = ("jailed", "disappeared", "removed")
# the label of a purge event, indexed by ``3 * cause + fate - 1``
PURGE_LABELS = np.array([f"{c} ({f})" for c in CAUSES for f in FATES], dtype=object)


@dataclass(frozen=True, kw_only=True)
class PurgeParams(Common):
    """Parameters of M3."""

    candour_purge_prob: np.ndarray = param("probability per candid sitrep", 0, 1,
                                           doc="the candour penalty at level 0")
    candour_exposure_decay: np.ndarray = param("factor per level", 0, 1,
                                               doc="how much less exposed a messenger is one "
                                                   "level further down")
    scapegoat_purge_prob: np.ndarray = param("probability per surfaced command", 0, 1,
                                             doc="chance the officer whose buried news "
                                                 "surfaced is purged")
    scapegoat_exposure_decay: np.ndarray = param("factor per level", 0, 1,
                                                 doc="how much less exposed a command one "
                                                     "level further down is to a scapegoat "
                                                     "hunt")
    liability_hazard: np.ndarray = param("probability per day at full threat", 0, 0.1,
                                         doc="removal of effective senior commanders")
    liability_competence: np.ndarray = param("share (0-1)", 0, 1,
                                             doc="competence above which a commander is a "
                                                 "political liability")
    liability_max_level: int = param("level", 0, 8, integer=True, structural=True,
                                     doc="lowest level (largest index) exposed to liability "
                                         "purges")
    jailed_share: np.ndarray = param("share (0-1)", 0, 1, doc="purged officers jailed")
    disappeared_share: np.ndarray = param("share (0-1)", 0, 1,
                                          doc="purged officers who disappear")
    vacancy_days: np.ndarray = param("days", 0, 365, doc="time a post stays vacant")
    replacement_competence_drop: np.ndarray = param("share (0-1)", 0, 1,
                                                    doc="mean competence a loyal replacement "
                                                        "lacks against the purged officer")
    replacement_loyalty: np.ndarray = param("share (0-1)", 0, 1,
                                            doc="mean loyalty of replacements")
    replacement_candour: np.ndarray = param("share (0-1)", 0, 1,
                                            doc="mean candour of replacements")
    replacement_sd: np.ndarray = param("share (0-1)", 0, 0.5,
                                       doc="spread of replacement attributes")
    fear_spread_level: np.ndarray = param("share per purge", 0, 1,
                                          doc="fear added at the purged officer's level")
    fear_spread_all: np.ndarray = param("share per purge", 0, 1,
                                        doc="fear added everywhere")
    fear_decay: np.ndarray = param("share per day", 0, 1,
                                   doc="daily decay of fear toward the baseline")
    fear_baseline: np.ndarray = param("share (0-1)", 0, 1, doc="fear with no purges")


@state_record
@dataclass(frozen=True)
class PurgeState:
    """Purge counts.

    today: float64 ``[E, 3]`` purges today by cause (candour, scapegoat, liability)
    total: float64 ``[E, 3]`` cumulative purges by cause
    fates: float64 ``[E, 3]`` cumulative purged officers jailed, disappeared, removed
    by_level: float64 ``[E, L]`` cumulative purges per level
    """

    today: np.ndarray
    total: np.ndarray
    fates: np.ndarray
    by_level: np.ndarray


def init_purges(E: int, tree: Tree) -> PurgeState:
    """Nobody purged yet."""
    z = np.zeros
    return PurgeState(today=z((E, 3)), total=z((E, 3)), fates=z((E, 3)),
                      by_level=z((E, tree.levels)))


def purge_probabilities(
    p: PurgeParams,
    tree: Tree,
    o: OfficerState,
    candid: np.ndarray,
    surfaced: np.ndarray,
    threat: np.ndarray,
) -> np.ndarray:
    """Daily chance of each cause for each officer, ``[E, 3, N]``."""
    _E, _N = candid.shape
    serving = o.status == SERVING
    lv = tree.level_of()[None, :]
    exposure = col(p.candour_exposure_decay) ** lv
    pc = np.where(candid & serving, col(p.candour_purge_prob) * exposure, 0.0)
    ps = np.where((surfaced > 0) & serving,
                  col(p.scapegoat_purge_prob) * col(p.scapegoat_exposure_decay) ** lv, 0.0)
    eligible = serving & (lv <= p.liability_max_level)
    eligible &= o.competence > col(p.liability_competence)
    pl = np.where(eligible, col(p.liability_hazard) * col(threat), 0.0)
    probs = np.stack([pc, ps, pl], axis=1)
    total = probs.sum(axis=1, keepdims=True)
    return probs / np.maximum(total, 1.0)  # keep the partition inside [0, 1]


def draw_causes(
    p: PurgeParams,
    tree: Tree,
    o: OfficerState,
    day: int,
    candid: np.ndarray,
    surfaced: np.ndarray,
    threat: np.ndarray,
    u: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The officer-level pass of a day (plain NumPy): fear decays toward its baseline, posts
    whose vacancy has run out are filled, and each officer's purge cause is drawn from ``u``
    ``[E, N]``. Returns (fear, status, cause), cause int8 ``[E, N]`` (-1 none)."""
    fear = col(p.fear_baseline) + (o.fear - col(p.fear_baseline)) * (1.0 - col(p.fear_decay))
    status = np.where((o.status != SERVING) & (o.vacant_until <= day), SERVING, o.status)
    o = OfficerState(o.competence, o.loyalty, o.candour, fear, status.astype(np.int8),
                     o.vacant_until)
    probs = purge_probabilities(p, tree, o, candid, surfaced, threat)
    e0 = probs[:, 0]
    e1 = e0 + probs[:, 1]
    e2 = e1 + probs[:, 2]
    # the causes partition [0, 1): the lowest interval holding u wins
    cause = np.where(u < e0, 0, np.where(u < e1, 1, np.where(u < e2, 2, -1))).astype(np.int8)
    return fear, status.astype(np.int8), cause


def spread_fear(
    p: PurgeParams, tree: Tree, fear: np.ndarray, n_level: np.ndarray, n_all: np.ndarray
) -> np.ndarray:
    """Fear after today's purges (plain NumPy): ``n_level`` ``[E, L]`` purges per level and
    ``n_all`` ``[E]`` in all raise fear at the purged officers' levels and a little
    everywhere."""
    keep = (1.0 - col(p.fear_spread_level)) ** n_level[:, tree.level_of()]
    keep = keep * (1.0 - col(p.fear_spread_all)) ** n_all[:, None]
    return fear + (1.0 - fear) * (1.0 - keep)


def quiet_day(s: PurgeState, E: int) -> PurgeState:
    """The counts of a day without purges."""
    return PurgeState(np.zeros((E, 3)), s.total, s.fates, s.by_level)


def purge_events(
    member: np.ndarray,
    officer: np.ndarray,
    level: np.ndarray,
    old_comp: np.ndarray,
    new_comp: np.ndarray,
    kind: np.ndarray,
    hit_m: np.ndarray,
    hit_l: np.ndarray,
    fear_after: np.ndarray,
    fear_before: np.ndarray,
) -> list[EventBatch]:
    """The events of a day with purges: one per purged officer (``kind`` ``3 * cause + fate -
    1`` names cause and fate) and one per member and level with purges, the level's mean fear
    after and before they spread it."""
    return [
        EventBatch("purge", member, officer=officer, level=level, value=old_comp,
                   value2=new_comp, label=PURGE_LABELS[kind]),
        EventBatch("fear_spread", hit_m, level=hit_l, value=fear_after, value2=fear_before),
    ]


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
    draw: Callable[..., tuple[np.ndarray, ...]] = draw_causes,
    spread: Callable[..., np.ndarray] = spread_fear,
) -> tuple[OfficerState, PurgeState, list[EventBatch]]:
    """Draw today's purges, replace the purged, and spread and decay fear.

    ``u`` is ``[E, N]`` uniforms; ``scapegoat_target`` ``[E]`` the officer the leader blames
    (-1 none); replacement attributes come from each member's sparse stream. ``draw`` and
    ``spread`` are :func:`draw_causes` and :func:`spread_fear` or their compiled twins
    (:mod:`loyaltytrap.kernels`).
    """
    E = candid.shape[0]
    if not p.enabled:  # no purges, and fear stays where it is
        return o, quiet_day(s, E), []
    fear, status, cause = draw(p, tree, o, day, candid, surfaced, threat, u)
    o = OfficerState(o.competence, o.loyalty, o.candour, fear, status, o.vacant_until)
    rows = np.arange(E)
    blamed = scapegoat_target >= 0
    tgt = np.where(blamed, scapegoat_target, 0)
    cause[rows[blamed], tgt[blamed]] = SCAPEGOAT
    member, officer = np.nonzero(cause >= 0)  # row-major: ordered by member, then officer
    if len(member) == 0:
        return o, quiet_day(s, E), []

    draws = streams.sparse("purges", member, 4)
    fate_u = draws[:, 0]
    js, ds = p.jailed_share, p.disappeared_share
    js_m = js[member] if isinstance(js, np.ndarray) else js
    ds_m = ds[member] if isinstance(ds, np.ndarray) else ds
    fate = np.where(fate_u < js_m, JAILED, np.where(fate_u < js_m + ds_m, DISAPPEARED, REMOVED))

    def at(x: np.ndarray | float) -> np.ndarray | float:
        return x[member] if isinstance(x, np.ndarray) else x

    old_comp = o.competence[member, officer]
    new_comp = clipped_normal(old_comp - at(p.replacement_competence_drop),
                              at(p.replacement_sd), draws[:, 1])
    new_loy = clipped_normal(at(p.replacement_loyalty), at(p.replacement_sd), draws[:, 2])
    new_cand = clipped_normal(at(p.replacement_candour), at(p.replacement_sd), draws[:, 3])
    comp, loy, cand = o.competence.copy(), o.loyalty.copy(), o.candour.copy()
    comp[member, officer] = new_comp
    loy[member, officer] = new_loy
    cand[member, officer] = new_cand
    status = o.status.copy()
    status[member, officer] = fate
    vacant = o.vacant_until.copy()
    vacant[member, officer] = day + np.maximum(np.round(at(p.vacancy_days)), 1).astype(np.int32)

    lv_of = tree.level_of()
    c = cause[member, officer]
    lv = lv_of[officer]
    today = np.zeros((E, 3))
    np.add.at(today, (member, c), 1.0)
    fates = s.fates.copy()
    np.add.at(fates, (member, fate - 1), 1.0)
    n_level = np.zeros((E, tree.levels))
    np.add.at(n_level, (member, lv), 1.0)

    # fear spreads: to peers at the purged officer's level, and a little to everyone
    fear_before = o.fear
    fear = spread(p, tree, fear_before, n_level, today.sum(axis=1))

    hit_m, hit_l = np.nonzero(n_level > 0)
    lv_fear_before = np.array([fear_before[m, tree.level_slice(lv_)].mean()
                               for m, lv_ in zip(hit_m, hit_l, strict=True)])
    lv_fear_after = np.array([fear[m, tree.level_slice(lv_)].mean()
                              for m, lv_ in zip(hit_m, hit_l, strict=True)])
    kind = 3 * c.astype(np.int64) + fate - 1
    events = purge_events(member, officer, lv, old_comp, new_comp, kind, hit_m, hit_l,
                          lv_fear_after, lv_fear_before)
    by_level = s.by_level + n_level
    return (
        OfficerState(comp, loy, cand, fear, status.astype(np.int8), vacant),
        PurgeState(today, s.total + today, fates, by_level),
        events,
    )

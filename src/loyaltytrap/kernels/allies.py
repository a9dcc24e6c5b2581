"""Compiled M10 allies (twin of :func:`loyaltytrap.mechanisms.allies.lose_allies`)."""

from __future__ import annotations

import numba
import numpy as np

from ..events import EventBatch
from ..mechanisms import allies
from ..mechanisms.allies import AlliesParams, AlliesState
from ..params import packed, per_member

_HAZARDS = tuple(f"{k}_hazard" for k in allies.KEYS)
_WEIGHTS = tuple(f"{k}_weight" for k in allies.KEYS)
_NO_Z = np.empty(0)  # the polling errors when nobody votes today


@numba.njit(cache=True)
def _lose(status0, status_init, lost0, lost_day0, held0, won0, margin0, capacity0, u, hazards,
          weights, other, election_day, lead, sd, recovery, drone_share, sensitivity, day,
          z):  # pragma: no cover - compiled
    # plain ``lose_allies`` member by member, in its order of operations. ``z`` (the polling
    # errors, SciPy's ndtri) is needed only where a member votes today: if it is empty then,
    # need_z says so and the caller runs the day again with it
    E, A = status0.shape
    H, IR = allies.HUNGARY, allies.IRAN
    fblock = np.empty((2, E, A))  # status, lost_day
    bblock = np.zeros((2, E, A), dtype=np.bool_)  # lost, lost today
    rows = np.empty((5, E))  # capacity, supply_index, defect_shift, drone_parts, margin
    flags = np.zeros((4, E), dtype=np.bool_)  # election held, opposition won; vote, won today
    n_events = 0
    need_z = False
    for e in range(E):
        vote = not held0[e] and day >= election_day[e]
        won = False
        margin = margin0[e]
        if vote:
            n_events += 1
            if z.shape[0] == 0:
                need_z = True
            else:
                margin = lead[e] + sd[e] * z[e]
                won = margin > 0.0
        acc = 0.0
        for k in range(A):
            lost_today = not lost0[e, k] and np.float64(u[e, k]) < -np.expm1(-hazards[k][e])
            if k == H:
                lost_today = lost_today or (won and not lost0[e, H])
            before = status0[e, k]
            st = before + recovery[e] * np.maximum(status_init[e, k] - before, 0.0)
            if lost_today:
                st = 0.0
                n_events += 1
            fblock[0, e, k] = st
            fblock[1, e, k] = float(day) if lost_today else lost_day0[e, k]
            bblock[0, e, k] = lost0[e, k] or lost_today
            bblock[1, e, k] = lost_today
            # NumPy sums the row of weighted statuses left to right
            acc = weights[k][e] * st if k == 0 else acc + weights[k][e] * st
        cap = other[e] + acc
        index = cap / np.maximum(capacity0[e], 1e-300) if capacity0[e] > 0 else 1.0
        shift = sensitivity[e] * np.minimum(np.maximum(1.0 - index, 0.0), 1.0)
        s0 = status_init[e, IR]
        iran = fblock[0, e, IR] / np.maximum(s0, 1e-300) if s0 > 0 else 1.0
        drones = 1.0 - drone_share[e] * np.minimum(np.maximum(1.0 - iran, 0.0), 1.0)
        rows[0, e] = cap
        rows[1, e] = index
        rows[2, e] = shift
        rows[3, e] = drones
        rows[4, e] = margin
        flags[0, e] = held0[e] or vote
        flags[1, e] = won0[e] or won
        flags[2, e] = vote
        flags[3, e] = won
    return fblock, bblock, rows, flags, n_events, need_z


def lose_allies(
    s: AlliesState, p: AlliesParams, day: int, u: np.ndarray
) -> tuple[AlliesState, list[EventBatch]]:
    """Compiled :func:`loyaltytrap.mechanisms.allies.lose_allies`."""
    if not p.enabled:
        return allies.lose_allies(s, p, day, u)
    E = s.status.shape[0]
    pmv = packed(p, f"allies:{E}", lambda: (
        tuple([per_member(getattr(p, n), E) for n in _HAZARDS]),
        tuple([per_member(getattr(p, n), E) for n in _WEIGHTS]),
        *(per_member(getattr(p, n), E) for n in (
            "other_channels", "hungary_election_day", "hungary_opposition_lead",
            "hungary_poll_error_sd", "recovery_rate", "iran_drone_parts_share",
            "defect_sensitivity"))))
    args = (
        s.status, s.status0, s.lost, s.lost_day, s.election_held, s.opposition_won,
        s.election_margin, s.capacity0, u, *pmv, int(day))
    fblock, bblock, rows, flags, n_events, need_z = _lose(*args, _NO_Z)
    if need_z:  # Hungary votes today
        fblock, bblock, rows, flags, n_events, need_z = _lose(*args, allies.polling_z(u))
    # the new fields are views of the kernel's blocks (a few allocations, not 13)
    status, lost_day = fblock
    lost, lost_today = bblock
    capacity, index, shift, drones, margin = rows
    held, opposition_won, vote, won = flags
    events = allies.day_events(p, s.status, lost_today, index, vote, margin,
                               won) if n_events else []
    return AlliesState(
        status=status, status0=s.status0, lost=lost, lost_day=lost_day, election_held=held,
        opposition_won=opposition_won, election_margin=margin, capacity=capacity,
        capacity0=s.capacity0, supply_index=index, defect_shift=shift, drone_parts=drones,
    ), events

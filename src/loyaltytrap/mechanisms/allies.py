"""M10 allies and sanctions circumvention: five external levers that can snap.

Each named ally k (Venezuela, Cuba, Hungary, Iran, Belarus) has a status s_k in [0, 1], the
help it still gives (``<ally>_status`` on day 0). On any day an ally not yet lost is lost with
probability 1 - exp(-``<ally>_hazard``) (hazard per day); a lost ally's status drops to 0. The
source gives the reasons to expect losses, not their rates: Venezuela cannot help, Cuba is near
its breaking point, Iran is destabilised (its drone parts at risk), Belarus is of doubtful use.

Hungary is also lost through a dated event: on day ``hungary_election_day`` the opposition,
ahead by ``hungary_opposition_lead`` points in the polls (about 10 in the source), wins if the
realised lead is positive. With a normal polling error of sd ``hungary_poll_error_sd`` points,

    realised lead = lead + sd * z,     P(the ally is lost) = Phi(lead / sd).

A lost ally can come back only through ``recovery_rate`` (share of the gap to its day-0 status
regained per day); with it at 0 every status is non-increasing.

Circumvention capacity (share of the pre-loss channels, 0-1):

    capacity = other_channels + sum_k <ally>_weight * s_k

and what the rest of the model reads (relative to day 0):

    supply_index   = capacity / capacity_0            multiplier of grey-market parts supply (M6)
    defect_shift   = defect_sensitivity * (1 - supply_index)   added to the grey-market defect
                     rate (M6; worse sources once the good channels are gone)
    drone_parts    = 1 - iran_drone_parts_share * (1 - s_Iran / s_Iran,0)   share of drone parts
                     still arriving

Disabled: statuses stay at day 0, nobody is lost, no election; supply_index 1, defect_shift 0,
drone_parts 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr, ndtri

from ..events import EventBatch, register_templates
from ..params import Common, param, per_member, state_record

ALLIES = ("Venezuela", "Cuba", "Hungary", "Iran", "Belarus")
KEYS = tuple(a.lower() for a in ALLIES)
HUNGARY, IRAN = KEYS.index("hungary"), KEYS.index("iran")
A = len(ALLIES)
UNIFORMS_PER_DAY = A + 1  # one loss draw per ally, one for the Hungarian election

register_templates({
    "ally_lost": ("M10", "{label} is lost as an ally (it still gave {value:.0%} of its help); "
                         "circumvention now at {value2:.0%} of its day-0 capacity"),
    "election": ("M10", "Hungarian election: {label} (opposition lead {value:+.1f} points; "
                        "chance of defeat was {value2:.0%})"),
})


@dataclass(frozen=True, kw_only=True)
class AlliesParams(Common):
    """Parameters of M10 (per-member values are ``[E]`` float arrays)."""

    venezuela_status: np.ndarray = param("share (0-1)", 0, 1, doc="help Venezuela gives")
    venezuela_hazard: np.ndarray = param("per day", 0, 1, doc="daily hazard of losing it")
    venezuela_weight: np.ndarray = param("share of circumvention", 0, 1,
                                         doc="capacity it carries at full status")
    cuba_status: np.ndarray = param("share (0-1)", 0, 1, doc="help Cuba gives")
    cuba_hazard: np.ndarray = param("per day", 0, 1, doc="daily hazard of losing it")
    cuba_weight: np.ndarray = param("share of circumvention", 0, 1,
                                    doc="capacity it carries at full status")
    hungary_status: np.ndarray = param("share (0-1)", 0, 1, doc="help Hungary gives")
    hungary_hazard: np.ndarray = param("per day", 0, 1,
                                       doc="daily hazard of losing it apart from the election")
    hungary_weight: np.ndarray = param("share of circumvention", 0, 1,
                                       doc="capacity it carries at full status")
    iran_status: np.ndarray = param("share (0-1)", 0, 1, doc="help Iran gives")
    iran_hazard: np.ndarray = param("per day", 0, 1, doc="daily hazard of losing it")
    iran_weight: np.ndarray = param("share of circumvention", 0, 1,
                                    doc="capacity it carries at full status")
    belarus_status: np.ndarray = param("share (0-1)", 0, 1, doc="help Belarus gives")
    belarus_hazard: np.ndarray = param("per day", 0, 1, doc="daily hazard of losing it")
    belarus_weight: np.ndarray = param("share of circumvention", 0, 1,
                                       doc="capacity it carries at full status")
    other_channels: np.ndarray = param("share of circumvention", 0, 1,
                                       doc="capacity through channels not named (never lost)")
    hungary_election_day: np.ndarray = param("days after the start", 0, 36500,
                                             doc="day of the Hungarian election")
    hungary_opposition_lead: np.ndarray = param("percentage points", -50, 50,
                                                doc="the opposition's lead in the polls")
    hungary_poll_error_sd: np.ndarray = param("percentage points", 0.1, 30,
                                              doc="sd of the error of the polled lead")
    recovery_rate: np.ndarray = param("share per day", 0, 1,
                                      doc="share of a lost status regained per day")
    iran_drone_parts_share: np.ndarray = param("share (0-1)", 0, 1,
                                               doc="drone parts that come through Iran")
    defect_sensitivity: np.ndarray = param("defect share per share of capacity lost", 0, 1,
                                           doc="rise of the grey-market defect rate when "
                                               "circumvention is lost")


@state_record
@dataclass(frozen=True)
class AlliesState:
    """The allies (A = 5, in the order of ALLIES).

    status: float64 ``[E, A]`` help each ally still gives (0-1)
    status0: float64 ``[E, A]`` help on day 0
    lost: bool ``[E, A]`` the ally has been lost
    lost_day: float64 ``[E, A]`` day it was lost (NaN: not lost)
    election_held: bool ``[E]``; opposition_won: bool ``[E]``
    election_margin: float64 ``[E]`` realised opposition lead, points (NaN before the vote)
    capacity: float64 ``[E]`` circumvention capacity (share, 0-1); capacity0 on day 0
    supply_index: float64 ``[E]`` capacity / capacity0 (multiplier of grey-market parts)
    defect_shift: float64 ``[E]`` added grey-market defect rate (share)
    drone_parts: float64 ``[E]`` share of drone parts still arriving (0-1)
    """

    status: np.ndarray
    status0: np.ndarray
    lost: np.ndarray
    lost_day: np.ndarray
    election_held: np.ndarray
    opposition_won: np.ndarray
    election_margin: np.ndarray
    capacity: np.ndarray
    capacity0: np.ndarray
    supply_index: np.ndarray
    defect_shift: np.ndarray
    drone_parts: np.ndarray



def per_ally(p: AlliesParams, what: str, E: int) -> np.ndarray:
    """``<ally>_<what>`` of every ally as ``[E, A]`` (what: status, hazard or weight)."""
    return np.stack([per_member(getattr(p, f"{k}_{what}"), E) for k in KEYS], axis=1)


def circumvention(p: AlliesParams, status: np.ndarray) -> np.ndarray:
    """Circumvention capacity ``[E]``: other channels plus the weighted statuses."""
    E = status.shape[0]
    return per_member(p.other_channels, E) + (per_ally(p, "weight", E) * status).sum(axis=1)


def defeat_probability(p: AlliesParams, E: int) -> np.ndarray:
    """Chance the Hungarian government loses the election ``[E]``: Phi(lead / sd)."""
    return ndtr(per_member(p.hungary_opposition_lead, E) / per_member(p.hungary_poll_error_sd, E))


def _outputs(p: AlliesParams, status: np.ndarray, status0: np.ndarray,
             capacity0: np.ndarray) -> tuple[np.ndarray, ...]:
    E = status.shape[0]
    cap = circumvention(p, status)
    index = np.where(capacity0 > 0, cap / np.maximum(capacity0, 1e-300), 1.0)
    shift = per_member(p.defect_sensitivity, E) * np.clip(1.0 - index, 0.0, 1.0)
    iran = np.where(status0[:, IRAN] > 0,
                    status[:, IRAN] / np.maximum(status0[:, IRAN], 1e-300), 1.0)
    drones = 1.0 - per_member(p.iran_drone_parts_share, E) * np.clip(1.0 - iran, 0.0, 1.0)
    return cap, index, shift, drones


def init_allies(p: AlliesParams, E: int) -> AlliesState:
    """Day 0: every ally at its scenario status, no vote yet."""
    status0 = per_ally(p, "status", E)
    cap0 = circumvention(p, status0)
    cap, index, shift, drones = _outputs(p, status0, status0, cap0)
    return AlliesState(
        status=status0.copy(), status0=status0, lost=np.zeros((E, A), bool),
        lost_day=np.full((E, A), np.nan), election_held=np.zeros(E, bool),
        opposition_won=np.zeros(E, bool), election_margin=np.full(E, np.nan),
        capacity=cap, capacity0=cap0, supply_index=index, defect_shift=shift,
        drone_parts=drones,
    )


def lose_allies(
    s: AlliesState, p: AlliesParams, day: int, u: np.ndarray
) -> tuple[AlliesState, list[EventBatch]]:
    """One day: allies may be lost, Hungary votes on its day, lost help may slowly return.

    ``u`` uniforms ``[E, UNIFORMS_PER_DAY]``: columns 0-4 the loss draws of the allies in the
    order of ALLIES, column 5 the polling error of the election.
    """
    E = s.status.shape[0]
    if not p.enabled:
        return s, []
    u = np.asarray(u, dtype=np.float64)
    hazard = per_ally(p, "hazard", E)
    lost_today = ~s.lost & (u[:, :A] < -np.expm1(-hazard))

    vote = ~s.election_held & (day >= per_member(p.hungary_election_day, E))
    z = polling_z(u)
    margin = per_member(p.hungary_opposition_lead, E) + per_member(p.hungary_poll_error_sd, E) * z
    won = vote & (margin > 0.0)
    lost_today[:, HUNGARY] |= won & ~s.lost[:, HUNGARY]

    before = s.status
    rec = per_member(p.recovery_rate, E)[:, None]
    status = before + rec * np.maximum(s.status0 - before, 0.0)
    status = np.where(lost_today, 0.0, status)
    lost = s.lost | lost_today
    cap, index, shift, drones = _outputs(p, status, s.status0, s.capacity0)

    events = day_events(p, before, lost_today, index, vote, margin, won)
    return AlliesState(
        status=status, status0=s.status0, lost=lost,
        lost_day=np.where(lost_today, float(day), s.lost_day),
        election_held=s.election_held | vote, opposition_won=s.opposition_won | won,
        election_margin=np.where(vote, margin, s.election_margin),
        capacity=cap, capacity0=s.capacity0, supply_index=index, defect_shift=shift,
        drone_parts=drones,
    ), events


def polling_z(u: np.ndarray) -> np.ndarray:
    """The standard normal polling error ``[E]`` of the election from the day's uniforms."""
    return ndtri(np.clip(np.asarray(u[:, A], dtype=np.float64), 1e-12, 1.0 - 1e-12))


def day_events(
    p: AlliesParams, before: np.ndarray, lost_today: np.ndarray, index: np.ndarray,
    vote: np.ndarray, margin: np.ndarray, won: np.ndarray,
) -> list[EventBatch]:
    """The day's events: the allies lost today (``before``: their status the day before) and
    the election where it was held (``margin``: the realised lead, read where ``vote``)."""
    events = []
    m, k = np.nonzero(lost_today)
    if len(m):
        events.append(EventBatch("ally_lost", m, value=before[m, k], value2=index[m],
                                 label=np.array(ALLIES, dtype=object)[k]))
    mv = np.flatnonzero(vote)
    if len(mv):
        events.append(EventBatch(
            "election", mv, value=margin[mv], value2=defeat_probability(p, len(vote))[mv],
            label=np.where(won[mv], "the opposition wins", "the government holds")
            .astype(object)))
    return events


def indicators() -> list[dict]:
    """Daily indicators of M10."""
    def ind(name: str, unit: str, description: str, fn: object, extra_dim: str | None = None,
            headline: bool = False, summary: str = "final") -> dict:
        return dict(name=name, unit=unit, description=description, fn=fn, extra_dim=extra_dim,
                    coords=list(ALLIES) if extra_dim else None, headline=headline,
                    summary=summary)

    return [
        ind("ally_status", "share (0-1)", "help each ally still gives", lambda s: s.status,
            "ally"),
        ind("allies_lost", "count", "allies lost so far",
            lambda s: s.lost.sum(axis=1).astype(float), headline=True),
        ind("circumvention_capacity", "share (0-1)", "sanctions circumvention capacity",
            lambda s: s.capacity, headline=True),
        ind("circumvention_index", "multiplier", "capacity relative to day 0 (multiplies "
            "grey-market parts supply)", lambda s: s.supply_index),
        ind("grey_defect_shift", "share", "rise of the grey-market defect rate from lost "
            "channels", lambda s: s.defect_shift),
        ind("drone_parts_supply", "share (0-1)", "share of drone parts still arriving "
            "(Iran's channel)", lambda s: s.drone_parts, headline=True),
        ind("hungary_opposition_won", "0/1", "the Hungarian opposition has won the election",
            lambda s: s.opposition_won.astype(float)),
    ]

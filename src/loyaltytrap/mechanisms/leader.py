"""M11 the leader: sees only the filtered picture, is surprised, answers with a rule.

The leader's picture is the news relayed by level 0 plus whatever surfaced (M2). A surprise
is a sudden close of the gap between perceived and true: on a day when news that the chain
had buried surfaces and its amount is at least ``surprise_threshold`` times the picture he
held (and at least ``surprise_floor`` problems). Each surprise gets one response, drawn by the
rule in the parameters: a scapegoat purge (the commander at ``scapegoat_level`` above the
command where the news surfaced), an urgent fix from the top (``fix_share`` of the surfaced
problems resolved at once, bypassing the sign-off chain), or nothing.

``threat`` is how threatened the leader feels (0-1); it scales the purges of effective
commanders as political liabilities (M3). The regime model (M12) raises it as stability falls.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..events import EventBatch
from ..params import Common, param, state_record
from .hierarchy import Tree

SCAPEGOAT, FIX, IGNORE = 0, 1, 2
RESPONSES = ("scapegoat", "fix", "ignore")


@dataclass(frozen=True, kw_only=True)
class LeaderParams(Common):
    """Parameters of M11."""

    surprise_threshold: np.ndarray = param("share of the perceived load", 0, 100,
                                           doc="surfaced news relative to the picture that "
                                               "counts as a surprise")
    surprise_floor: np.ndarray = param("problems", 0, 1e6,
                                       doc="smallest amount of surfaced news that can surprise")
    response_scapegoat: np.ndarray = param("probability", 0, 1,
                                           doc="chance a surprise is answered with a purge")
    response_fix: np.ndarray = param("probability", 0, 1,
                                     doc="chance a surprise is answered with a fix")
    fix_share: np.ndarray = param("share (0-1)", 0, 1,
                                  doc="share of the surfaced problems an ordered fix resolves")
    scapegoat_level: int = param("level", 0, 8, integer=True, structural=True,
                                 doc="level of the commander blamed for a surprise")
    threat: np.ndarray = param("share (0-1)", 0, 1,
                               doc="how threatened the leader feels at the start")


@state_record
@dataclass(frozen=True)
class LeaderState:
    """The leader's reactions.

    surprise: bool ``[E]`` a surprise today
    response: int8 ``[E]`` today's response (-1 none, 0 scapegoat, 1 fix, 2 ignore)
    target: int64 ``[E]`` officer to purge as scapegoat today (-1 none)
    fix_resolved: float64 ``[E]`` problems resolved today by an ordered fix
    threat: float64 ``[E]`` how threatened the leader feels (0-1)
    surprises_total: float64 ``[E]``; responses_total: float64 ``[E, 3]``
    """

    surprise: np.ndarray
    response: np.ndarray
    target: np.ndarray
    fix_resolved: np.ndarray
    threat: np.ndarray
    surprises_total: np.ndarray
    responses_total: np.ndarray


def init_leader(p: LeaderParams, E: int) -> LeaderState:
    """No surprise yet."""
    return LeaderState(
        surprise=np.zeros(E, bool), response=np.full(E, -1, np.int8),
        target=np.full(E, -1, np.int64), fix_resolved=np.zeros(E),
        threat=np.broadcast_to(p.threat, (E,)).astype(float),
        surprises_total=np.zeros(E), responses_total=np.zeros((E, 3)),
    )


def react_to_surprises(
    s: LeaderState,
    p: LeaderParams,
    tree: Tree,
    known_before: np.ndarray,
    surfaced: np.ndarray,
    threat: np.ndarray,
    u: np.ndarray,
) -> tuple[LeaderState, list[EventBatch]]:
    """Detect today's surprise and draw the response. ``known_before`` ``[E]`` is the picture
    before today's news, ``surfaced`` ``[E, N]`` the news that surfaced at each command,
    ``u`` uniforms ``[E, 1]``."""
    E = surfaced.shape[0]
    amount = surfaced.sum(axis=1)
    surprise = (amount >= np.maximum(p.surprise_threshold * known_before, p.surprise_floor))
    surprise &= amount > 0
    if not p.enabled:
        surprise = np.zeros(E, bool)
    r = u[:, 0]
    response = np.where(
        r < p.response_scapegoat, SCAPEGOAT,
        np.where(r < p.response_scapegoat + p.response_fix, FIX, IGNORE),
    ).astype(np.int8)
    response = np.where(surprise, response, -1).astype(np.int8)
    worst = np.argmax(surfaced, axis=1)
    level = min(p.scapegoat_level, tree.levels - 1)
    target = np.where(response == SCAPEGOAT, tree.ancestor_at(worst, level), -1)
    fix_resolved = np.where(response == FIX, p.fix_share * amount, 0.0)
    counts = np.stack([response == k for k in range(3)], axis=1).astype(float)
    events = surprise_events(surprise, amount, known_before, target, response)
    return LeaderState(
        surprise=surprise, response=response, target=target.astype(np.int64),
        fix_resolved=fix_resolved, threat=threat,
        surprises_total=s.surprises_total + surprise, responses_total=s.responses_total + counts,
    ), events


def surprise_events(
    surprise: np.ndarray, amount: np.ndarray, known_before: np.ndarray, target: np.ndarray,
    response: np.ndarray,
) -> list[EventBatch]:
    """The day's surprises and the responses to them (both batches, empty on a calm day)."""
    rows = np.flatnonzero(surprise)
    return [
        EventBatch("surprise", rows, value=amount[rows], value2=known_before[rows]),
        EventBatch("response", rows, officer=target[rows],
                   label=np.array(RESPONSES, dtype=object)[response[rows]]),
    ]

"""M4 sign-off escalation and late orders.

Every problem needs a decision (a fix, a repair, an order). Requests start at the unit and
wait in the queue of the officer holding them. Each day an officer works through up to
``capacity_per_day * staff_scaling**(L - 1 - level)`` requests (a unit commander settles
``capacity_per_day``; each echelon up has a staff ``staff_scaling`` times larger; randomised
rounding of the capacity; a vacant post works at ``vacancy_capacity`` of it). For the
requests it takes up, it either owns the decision or passes it up to its superior to spread
the blame:

    p_escalate_i = clip(escalate_base + escalate_fear * fear_i
                        + escalate_money * risk_aversion, 0, 1)        (level 0 always owns)

Passed requests join the superior's queue the next day, so each level climbed adds a day of
transit plus the queueing delay at that level: k levels in series behave as k queues in
tandem. A decision owned by officer i works with probability competence_i; a failed fix
goes back into the same queue. A request that waits too long is overtaken by events at
``expiry_hazard`` per day: the problem ends as a loss (a position given up, equipment written
off), not as a fix. While front requests wait, units rerun the manoeuvres that already failed:
each unit with a waiting front request (Poisson occupancy of the units) reruns at
``rerun_hazard`` per day, and every rerun is a fresh front problem.

Requests are counts per officer (all ``[E, N]``) with a day-sum of their ages; the order of
service within a queue is random, which leaves mean waiting times (and Little's law) exact.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..params import Common, col, param, replace, state_record
from .hierarchy import SERVING, Tree


@dataclass(frozen=True, kw_only=True)
class SignoffParams(Common):
    """Parameters of M4."""

    capacity_per_day: np.ndarray = param("decisions per officer per day", 0, 100,
                                         doc="requests an officer can take up in a day")
    staff_scaling: np.ndarray = param("factor per level", 1, 4,
                                      doc="how much more a headquarters one level up settles")
    vacancy_capacity: np.ndarray = param("share (0-1)", 0, 1,
                                         doc="capacity of an acting deputy in a vacant post")
    escalate_base: np.ndarray = param("probability", 0, 1,
                                      doc="chance of passing a request up with no fear")
    escalate_fear: np.ndarray = param("probability per unit of fear", 0, 1,
                                      doc="added chance of passing up per unit of fear")
    escalate_money: np.ndarray = param("probability per unit of risk aversion", 0, 1,
                                       doc="added chance of passing up when money is scarce")
    rerun_hazard: np.ndarray = param("reruns per waiting unit per day", 0, 1,
                                     doc="how often a unit waiting for orders repeats a "
                                         "failed manoeuvre")
    expiry_hazard: np.ndarray = param("share per day", 0, 1,
                                      doc="waiting requests overtaken by events (written off "
                                          "as losses)")


@state_record
@dataclass(frozen=True)
class DecisionState:
    """Decision requests in the chain of command.

    queue: float64 ``[E, N]``, requests waiting at each officer (whole numbers)
    queue_age: float64 ``[E, N]``, day-sum of their ages
    owned: float64 ``[E, L]``, requests owned (decided) at each level today
    owned_age: float64 ``[E]``, day-sum of the ages of today's owned requests (latency)
    fixed: float64 ``[E]``, decisions taken today that worked
    expired: float64 ``[E]``, requests overtaken by events today (problems ended as losses)
    reruns: float64 ``[E]``, failed manoeuvres rerun today while waiting for orders
    escalated: float64 ``[E]``, requests passed up today
    latency_p90: float64 ``[E]``, 90th percentile of today's decision latency (NaN: none)
    decided_total, fixed_total, expired_total, reruns_total: float64 ``[E]``, cumulative
    """

    queue: np.ndarray
    queue_age: np.ndarray
    owned: np.ndarray
    owned_age: np.ndarray
    fixed: np.ndarray
    expired: np.ndarray
    reruns: np.ndarray
    escalated: np.ndarray
    latency_p90: np.ndarray
    decided_total: np.ndarray
    fixed_total: np.ndarray
    expired_total: np.ndarray
    reruns_total: np.ndarray

    # fields with an officer axis after the member axis
    officer_fields: ClassVar[tuple[str, ...]] = ("queue", "queue_age")


def init_decisions(E: int, tree: Tree) -> DecisionState:
    """Empty queues on day 0."""
    z = np.zeros
    return DecisionState(
        queue=z((E, tree.n)), queue_age=z((E, tree.n)), owned=z((E, tree.levels)),
        owned_age=z(E),
        fixed=z(E), expired=z(E), reruns=z(E), escalated=z(E), latency_p90=np.full(E, np.nan),
        decided_total=z(E), fixed_total=z(E), expired_total=z(E), reruns_total=z(E),
    )


def escalation_probability(
    p: SignoffParams, fear: np.ndarray, risk_aversion: np.ndarray, tree: Tree
) -> np.ndarray:
    """Chance that an officer passes the requests it takes up to its superior, ``[E, N]``."""
    if not p.enabled:
        return np.zeros_like(fear)
    pe = col(p.escalate_base) + col(p.escalate_fear) * fear
    pe = pe + col(p.escalate_money) * col(risk_aversion)
    pe = np.clip(pe, 0.0, 1.0)
    pe[:, tree.level_slice(0)] = 0.0  # the top has nobody to pass to
    return pe


def stochastic_round(x: np.ndarray, u: np.ndarray) -> np.ndarray:
    """An integer with mean ``x``: floor(x + u) for u uniform in [0, 1)."""
    return np.floor(x + u)


def queue_pass(
    s: DecisionState,
    p: SignoffParams,
    tree: Tree,
    new_requests: np.ndarray,
    fear: np.ndarray,
    competence: np.ndarray,
    status: np.ndarray,
    risk_aversion: np.ndarray,
    u: np.ndarray,
) -> tuple[np.ndarray, ...]:
    """The officer-level pass of a day (plain NumPy): returns the queues, their age sums and
    today's owned, owned age, passed, working and expired requests, all ``[E, N]``."""
    queue = s.queue.copy()
    age = s.queue_age + s.queue  # everyone waiting ages a day
    queue[:, tree.units] += new_requests

    above = (tree.levels - 1 - tree.level_of())[None, :]
    cap = col(p.capacity_per_day) * col(p.staff_scaling) ** above
    cap = cap * np.where(status == SERVING, 1.0, col(p.vacancy_capacity))
    taken = np.minimum(queue, stochastic_round(cap, u[:, 0]))
    mean_age = np.where(queue > 0, age / np.maximum(queue, 1e-12), 0.0)
    taken_age = taken * mean_age
    p_esc = escalation_probability(p, fear, risk_aversion, tree)
    # counts become fractional once resolved problems are settled pro rata: never pass,
    # fix or write off more than there is
    passed = np.minimum(stochastic_round(taken * p_esc, u[:, 1]), taken)
    owned = taken - passed
    if not p.enabled:
        passed = np.zeros_like(taken)
        owned = taken
    passed_age = passed * mean_age
    owned_age = owned * mean_age
    works = np.minimum(stochastic_round(owned * competence, u[:, 2]), owned)
    # failed fixes return to the same queue (their age keeps running)
    queue = queue - taken + (owned - works)
    age = age - taken_age + (owned - works) * mean_age
    for lvl in range(tree.levels - 1, 0, -1):
        sl, up = tree.level_slice(lvl), tree.level_slice(lvl - 1)
        queue[:, up] += tree.sum_to_parents(passed[:, sl], lvl)
        age[:, up] += tree.sum_to_parents(passed_age[:, sl], lvl)

    # overtaken by events: some waiting requests end as losses
    mean_age = np.where(queue > 0, age / np.maximum(queue, 1e-12), 0.0)
    expired = np.minimum(stochastic_round(queue * col(p.expiry_hazard), u[:, 3]), queue)
    queue = queue - expired
    age = np.maximum(age - expired * mean_age, 0.0)
    return queue, age, owned, owned_age, passed, works, expired


def decide(
    s: DecisionState,
    p: SignoffParams,
    tree: Tree,
    new_requests: np.ndarray,
    fear: np.ndarray,
    competence: np.ndarray,
    status: np.ndarray,
    risk_aversion: np.ndarray,
    u: np.ndarray,
) -> tuple[np.ndarray, ...]:
    """The officer-level day of decisions (plain NumPy) and what the day sums to: returns
    the queues and their age sums ``[E, N]``, the requests owned at each level ``[E, L]``,
    and per member ``[E]`` the age sum of the owned requests, the fixes that worked, the
    requests written off and passed up, and the 90th percentile of today's latency (each
    officer's batch counted at its mean age)."""
    queue, age, owned, owned_age, passed, works, expired = queue_pass(
        s, p, tree, new_requests, fear, competence, status, risk_aversion, u)
    owned_by_level = np.stack(
        [owned[:, tree.level_slice(lv)].sum(axis=1) for lv in range(tree.levels)], axis=1
    )
    return (queue, age, owned_by_level, owned_age.sum(axis=1), works.sum(axis=1),
            expired.sum(axis=1), passed.sum(axis=1), latency_quantile(owned, owned_age, 0.9))


Decide = Callable[..., tuple[np.ndarray, ...]]


def sign_off(
    s: DecisionState,
    p: SignoffParams,
    tree: Tree,
    new_requests: np.ndarray,
    front_share: np.ndarray,
    fear: np.ndarray,
    competence: np.ndarray,
    status: np.ndarray,
    risk_aversion: np.ndarray,
    u: np.ndarray,
    u_member: np.ndarray,
    officer_day: Decide = decide,
) -> DecisionState:
    """One day of decisions: new requests join the unit queues, officers take up what their
    capacity allows, own or escalate it, owned fixes work or return, waiting units rerun.

    ``new_requests`` is ``[E, U]`` per unit; ``front_share`` ``[E]`` the share of unresolved
    problems that are front problems; ``u`` uniforms ``[E, 4, N]`` (capacity, escalation,
    success, expiry) and ``u_member`` ``[E, 1]`` (reruns). ``officer_day`` is
    :func:`decide` or its compiled twin (:mod:`loyaltytrap.kernels`).
    """
    queue, age, owned_by_level, owned_age, fixed, expired, escalated, p90 = officer_day(
        s, p, tree, new_requests, fear, competence, status, risk_aversion, u)
    U = tree.n_units
    waiting_front = queue.sum(axis=1) * front_share
    units_waiting = U * (1.0 - np.exp(-waiting_front / U))
    reruns = stochastic_round(units_waiting * p.rerun_hazard, u_member[:, 0])
    if not p.enabled:
        reruns = np.zeros_like(reruns)
    return DecisionState(
        queue=queue, queue_age=age, owned=owned_by_level, owned_age=owned_age, fixed=fixed,
        expired=expired, reruns=reruns, escalated=escalated, latency_p90=p90,
        decided_total=s.decided_total + owned_by_level.sum(axis=1),
        fixed_total=s.fixed_total + fixed, expired_total=s.expired_total + expired,
        reruns_total=s.reruns_total + reruns,
    )


def settle(s: DecisionState, n: np.ndarray) -> DecisionState:
    """Take ``n`` ``[E]`` requests out of the queues, in proportion to each queue (problems
    resolved outside the chain, by an order from the top)."""
    if not np.any(n > 0):  # the usual day: nothing settled from the top
        return s
    tot = s.queue.sum(axis=1)
    keep = np.where(tot > 1e-12, 1.0 - np.minimum(n, tot) / np.maximum(tot, 1e-12), 1.0)
    return replace(s, queue=s.queue * keep[:, None], queue_age=s.queue_age * keep[:, None])


def latency_quantile(n: np.ndarray, a: np.ndarray, q: float) -> np.ndarray:
    """Quantile ``q`` of a day's decision latency across decided requests, ``[E]`` days, from
    the requests ``n`` and their age sums ``a`` decided by each officer ``[E, N]`` (each
    officer's batch counted at its mean age; NaN when nothing was decided)."""
    lat = np.where(n > 0, a / np.maximum(n, 1e-12), 0.0)
    order = np.argsort(lat, axis=1, kind="stable")  # ties in a fixed order
    lat_s = np.take_along_axis(lat, order, axis=1)
    cum = np.cumsum(np.take_along_axis(n, order, axis=1), axis=1)
    tot = cum[:, -1:]
    idx = np.argmax(cum >= q * tot, axis=1)
    out = lat_s[np.arange(len(idx)), idx]
    return np.where(tot[:, 0] > 0, out, np.nan)


def levels_climbed_mean(s: DecisionState, tree: Tree) -> np.ndarray:
    """Mean number of levels today's owned decisions climbed from the units, ``[E]``."""
    climbed = (tree.levels - 1) - np.arange(tree.levels)
    tot = s.owned.sum(axis=1)
    return np.where(tot > 0, (s.owned * climbed).sum(axis=1) / np.maximum(tot, 1e-12), np.nan)

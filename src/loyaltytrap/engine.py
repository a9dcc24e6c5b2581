"""The engine: state, the causal order of a day, and the loop over days.

A :class:`State` holds one frozen record per mechanism, every array with the ensemble axis
first. :func:`step` is the whole model on one screen: the sub-steps of a day in causal order,
each a pure function of the state it reads. Time, recording and the event log live here and
nowhere else.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .events import EventBatch, EventLog
from .mechanisms.hierarchy import (
    HierarchyParams,
    OfficerState,
    Tree,
    build_tree,
    init_officers,
)
from .mechanisms.leader import LeaderParams, LeaderState, init_leader, react_to_surprises
from .mechanisms.purges import PurgeParams, PurgeState, init_purges, purge_officers
from .mechanisms.reporting import (
    ReportingParams,
    ReportState,
    init_reports,
    remove_resolved,
    sanitize_reports,
)
from .mechanisms.signoff import DecisionState, SignoffParams, init_decisions, settle, sign_off
from .mechanisms.stability import StabilityParams, StabilityState, assess_stability, init_stability
from .mechanisms.world import K, Pressure, WorldParams, baseline_pressure, draw_problems
from .rng import Streams


@dataclass(frozen=True)
class Params:
    """Every mechanism's parameter record for a batch of members, and the shared tree."""

    world: WorldParams
    hierarchy: HierarchyParams
    reporting: ReportingParams
    purges: PurgeParams
    signoff: SignoffParams
    leader: LeaderParams
    stability: StabilityParams
    tree: Tree

    @classmethod
    def from_records(cls, records: dict[str, Any]) -> Params:
        """Assemble from the records drawn by :func:`loyaltytrap.scenario.draw_parameters`."""
        return cls(tree=build_tree(records["hierarchy"]), **records)


@dataclass(frozen=True)
class State:
    """The whole model state of a batch of E members on ``day``."""

    day: int
    officers: OfficerState
    reports: ReportState
    decisions: DecisionState
    purges: PurgeState
    leader: LeaderState
    stability: StabilityState
    pressure: Pressure

    @property
    def members(self) -> int:
        """Batch size E."""
        return self.officers.fear.shape[0]


def init_state(params: Params, streams: Streams) -> State:
    """Day 0: the officer corps drawn, no problems, no purges."""
    E, tree = len(streams.members), params.tree
    u = streams.uniform("hierarchy", "init", 0, 3 * tree.n).reshape(E, 3, tree.n)
    return State(
        day=0,
        officers=init_officers(params.hierarchy, tree, u),
        reports=init_reports(E, tree, params.reporting.hop_delay_days),
        decisions=init_decisions(E, tree),
        purges=init_purges(E, tree),
        leader=init_leader(params.leader, E),
        stability=init_stability(params.stability, E,
                                 np.broadcast_to(params.leader.threat, (E,))),
        pressure=baseline_pressure(E),
    )


def world_pressure(state: State, params: Params) -> Pressure:
    """What the war asks of the command today. Placeholder world: base rates, plus a front
    problem for every manoeuvre rerun yesterday (M4)."""
    E = state.members
    extra = np.zeros((E, K))
    extra[:, 0] = state.decisions.reruns / params.tree.n_units
    return Pressure(problem=np.ones((E, K)), extra=extra, risk_aversion=np.zeros(E))


def split_by_domain(total: np.ndarray, unresolved: np.ndarray) -> np.ndarray:
    """Share ``total`` ``[E]`` over domains in proportion to the unresolved load ``[E, K]``."""
    tot = unresolved.sum(axis=1, keepdims=True)
    share = np.where(tot > 1e-12, unresolved / np.maximum(tot, 1e-12), 1.0 / K)
    return total[:, None] * share


def step(state: State, params: Params, streams: Streams) -> tuple[State, list[EventBatch]]:
    """One day, sub-steps in causal order."""
    t, tree, E, N = state.day, params.tree, state.members, params.tree.n
    U = tree.n_units
    o = state.officers

    # 1. the war generates problems at the units (placeholder world; M5-M8 set the pressure)
    pressure = world_pressure(state, params)
    new, sev = draw_problems(
        params.world, pressure,
        streams.uniform("world", "arrival", t, U), streams.uniform("world", "severity", t, U),
    )
    # 2. M2: sitreps climb the chain or are buried; buried news surfaces once visible
    known_before = state.reports.known.sum(axis=1)
    reports = sanitize_reports(state.reports, params.reporting, tree, t, new, sev,
                               o.fear, o.candour, streams.uniform("reporting", "sitrep", t, N))
    # 3. M4: requests for decisions queue, climb to whoever dares own them, fixes work or not
    front_share = reports.unresolved[:, 0] / np.maximum(reports.unresolved.sum(axis=1), 1e-12)
    u_dec = streams.uniform("signoff", "queue", t, 4 * N).reshape(E, 4, N)
    decisions = sign_off(state.decisions, params.signoff, tree, new.sum(axis=1), front_share,
                         o.fear, o.competence, o.status, pressure.risk_aversion, u_dec,
                         streams.uniform("signoff", "reruns", t, 1))
    # 4. M11: a sudden close of the gap surprises the leader, who answers by his rule
    leader, ev_leader = react_to_surprises(
        state.leader, params.leader, tree, known_before, reports.surfaced, state.leader.threat,
        streams.uniform("leader", "response", t, 1),
    )
    decisions = settle(decisions, leader.fix_resolved)
    fixed = decisions.fixed + decisions.expired + leader.fix_resolved
    buried_fix = params.reporting.buried_fix_factor if params.reporting.enabled else 1.0
    reports = remove_resolved(reports, split_by_domain(fixed, reports.unresolved), buried_fix)
    # 5. M3: candour, scapegoats and liabilities are purged; fear spreads and decays
    officers, purges, ev_purge = purge_officers(
        state.purges, params.purges, tree, o, t, reports.candid, reports.surfaced,
        leader.target, leader.threat, streams.uniform("purges", "draw", t, N), streams,
    )
    # 6. M12: the loops meet; the regime holds or falls, and the leader's threat follows
    stability, ev_regime = assess_stability(
        state.stability, params.stability, t, regime_stress(state, reports, officers),
        streams.uniform("stability", "collapse", t, 1),
    )
    if params.stability.enabled:
        leader = dataclasses.replace(leader, threat=stability.threat)

    events = [*_surfacing_events(reports, tree), *ev_leader, *ev_purge,
              *_rerun_events(decisions), *ev_regime]
    new = State(t + 1, officers, reports, decisions, purges, leader, stability, pressure)
    fallen = state.stability.collapsed
    if fallen.any():  # a fallen regime's trajectory ends on its collapse day
        new = freeze_members(fallen, new, state)
        events = [drop_members(b, fallen) for b in events]
    return new, events


def regime_stress(state: State, reports: ReportState, officers: OfficerState) -> np.ndarray:
    """Today's stresses ``[E, 5]`` (military, fiscal, elite, information, command) in [0, 1]."""
    E = state.members
    stress = np.zeros((E, 5))
    t = reports.unresolved.sum(axis=1)
    stress[:, 3] = (t - reports.known.sum(axis=1)) / np.maximum(t, 1.0)
    stress[:, 4] = officers.fear.mean(axis=1)
    return stress


def freeze_members(mask: np.ndarray, new: Any, old: Any) -> Any:
    """``new`` with the members in ``mask`` ``[E]`` kept as in ``old`` (every array field,
    recursively; arrays carry the ensemble axis first). The day counter advances."""
    if isinstance(new, np.ndarray):
        m = mask.reshape((-1,) + (1,) * (new.ndim - 1))
        return np.where(m, old, new)
    if dataclasses.is_dataclass(new):
        changes = {f.name: freeze_members(mask, getattr(new, f.name), getattr(old, f.name))
                   for f in dataclasses.fields(new) if f.name != "day"}
        return dataclasses.replace(new, **changes)
    return new


def drop_members(batch: EventBatch, mask: np.ndarray) -> EventBatch:
    """The events of a batch that do not belong to the members in ``mask``."""
    keep = ~mask[batch.member]
    return EventBatch(**{f.name: (v[keep] if isinstance(v, np.ndarray) else v)
                         for f in dataclasses.fields(batch)
                         for v in [getattr(batch, f.name)]})


def _surfacing_events(reports: ReportState, tree: Tree) -> list[EventBatch]:
    m, n = np.nonzero(reports.surfaced > 0)
    if len(m) == 0:
        return []
    mean_age = reports.surfaced_age[m, n] / np.maximum(reports.surfaced[m, n], 1e-12)
    return [EventBatch("surfaced", m, officer=n, level=tree.level_of()[n],
                       value=reports.surfaced[m, n], value2=mean_age)]


def _rerun_events(d: DecisionState) -> list[EventBatch]:
    m = np.flatnonzero(d.reruns > 0)
    wait = d.queue_age.sum(axis=1) / np.maximum(d.queue.sum(axis=1), 1e-12)
    return [EventBatch("reruns", m, value=d.reruns[m], value2=wait[m])] if len(m) else []


Recorder = Callable[[State, Params], None]


def run_batch(
    params: Params,
    streams: Streams,
    days: int,
    on_day: Recorder | None = None,
    progress: Callable[[int], None] | None = None,
) -> tuple[State, EventLog]:
    """Advance a batch of members ``days`` days, calling ``on_day`` after each day."""
    state = init_state(params, streams)
    log = EventLog()
    for _ in range(days):
        day = state.day
        state, events = step(state, params, streams)
        log.add(day, events)
        if on_day is not None:
            on_day(state, params)
        if progress is not None:
            progress(len(streams.members))
    return state, log

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

from . import kernels
from .events import EventBatch, EventLog
from .mechanisms.allies import AlliesParams, AlliesState, init_allies, lose_allies
from .mechanisms.elites import ElitesParams, ElitesState, elite_stress, init_elites, unnerve_elites
from .mechanisms.front import FrontParams, FrontState, fight, init_front, military_stress
from .mechanisms.hierarchy import (
    HierarchyParams,
    OfficerState,
    Tree,
    build_tree,
    init_officers,
)
from .mechanisms.industry import IndustryParams, IndustryState, init_industry, produce
from .mechanisms.leader import LeaderParams, LeaderState, init_leader, react_to_surprises
from .mechanisms.money import MoneyParams, MoneyState, allocate, init_money, spend
from .mechanisms.purges import PurgeParams, PurgeState, init_purges, purge_officers
from .mechanisms.reporting import (
    ReportingParams,
    ReportState,
    init_reports,
    remove_resolved,
    sanitize_reports,
    timely_share,
)
from .mechanisms.signoff import (
    DecisionState,
    SignoffParams,
    init_decisions,
    levels_climbed_mean,
    settle,
    sign_off,
)
from .mechanisms.stability import StabilityParams, StabilityState, assess_stability, init_stability
from .mechanisms.strikes import StrikesParams, StrikesState, init_strikes, strike_and_repair
from .mechanisms.world import K, Pressure, WorldParams, baseline_pressure, draw_problems
from .params import replace, state_record
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
    money: MoneyParams
    industry: IndustryParams
    strikes: StrikesParams
    front: FrontParams
    elites: ElitesParams
    allies: AlliesParams
    stability: StabilityParams
    tree: Tree

    @classmethod
    def from_records(cls, records: dict[str, Any]) -> Params:
        """Assemble from the records drawn by :func:`loyaltytrap.scenario.draw_parameters`."""
        return cls(tree=build_tree(records["hierarchy"]), **records)


@state_record
@dataclass(frozen=True)
class State:
    """The whole model state of a batch of E members on ``day``."""

    day: int
    officers: OfficerState
    reports: ReportState
    decisions: DecisionState
    purges: PurgeState
    leader: LeaderState
    money: MoneyState
    industry: IndustryState
    strikes: StrikesState
    front: FrontState
    elites: ElitesState
    allies: AlliesState
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
        money=init_money(params.money, E),
        industry=init_industry(params.industry, E),
        strikes=init_strikes(params.strikes, E),
        front=init_front(params.front, E),
        elites=init_elites(params.elites, E,
                           streams.uniform("elites", "init", 0, 2 * params.elites.n_elites)),
        allies=init_allies(params.allies, E),
        stability=init_stability(params.stability, E,
                                 np.broadcast_to(params.leader.threat, (E,))),
        pressure=baseline_pressure(E),
    )


def world_pressure(
    state: State, params: Params, front_pressure: np.ndarray, supply_ratio: np.ndarray,
    risk_aversion: np.ndarray,
) -> Pressure:
    """What the war asks of the command today: the front's losses raise front and equipment
    problems (M8), shortages of shells raise supply problems (M6), yesterday's reruns (M4) are
    fresh front problems, and scarce money (M5) makes everyone pass decisions up."""
    E = state.members
    problem = np.ones((E, K))
    problem[:, 0] = front_pressure[:, 0]
    problem[:, 1] = 1.0 + params.world.shortage_pressure * np.clip(1.0 - supply_ratio, 0, 1)
    problem[:, 2] = front_pressure[:, 1]
    extra = np.zeros((E, K))
    extra[:, 0] = state.decisions.reruns / params.tree.n_units
    return Pressure(problem=problem, extra=extra, risk_aversion=risk_aversion)


def equipment_ok(reports: ReportState, tree: Tree) -> np.ndarray:
    """Share of units without an unresolved equipment problem ``[E]`` (at most one each)."""
    return 1.0 - np.clip(reports.unresolved[:, 2] / tree.n_units, 0.0, 1.0)


def decision_latency(d: DecisionState) -> np.ndarray:
    """Mean age of the requests decided on the last day ``[E]`` (NaN if none)."""
    n = d.owned.sum(axis=1)
    return np.where(n > 0, d.owned_age / np.maximum(n, 1e-12), np.nan)


def front_inputs(state: State, tree: Tree) -> tuple[np.ndarray, ...]:
    """What the front (M8) reads of the chain of command as it stood yesterday, ``[E]`` each:
    the share of units with working equipment, the officers' mean competence, the mean
    latency of the decisions taken (NaN: none) and the timely share of the news reaching the
    leader (the truth of his picture)."""
    return (equipment_ok(state.reports, tree), state.officers.competence.mean(axis=1),
            decision_latency(state.decisions), timely_share(state.reports))


def regime_stress(
    front: FrontState, reserve_fall: np.ndarray, elites: ElitesState, reports: ReportState,
    fear_mean: np.ndarray,
) -> np.ndarray:
    """The five stresses M12 reads ``[E, 5]``: military (slack used up), fiscal (the share of
    the initial reserves spent, ``reserve_fall``, 0-1), elite, information (1 - the timely
    share) and command (the officers' mean fear ``fear_mean``)."""
    return np.stack([military_stress(front), reserve_fall, elite_stress(elites),
                     1.0 - timely_share(reports), fear_mean], axis=1)


def gap_share(reports: ReportState) -> np.ndarray:
    """Share of unresolved problems the leader does not know of ``[E]``."""
    t = reports.unresolved.sum(axis=1)
    return (t - reports.known.sum(axis=1)) / np.maximum(t, 1.0)


def split_by_domain(total: np.ndarray, unresolved: np.ndarray) -> np.ndarray:
    """Share ``total`` ``[E]`` over domains in proportion to the unresolved load ``[E, K]``."""
    tot = unresolved.sum(axis=1, keepdims=True)
    share = np.where(tot > 1e-12, unresolved / np.maximum(tot, 1e-12), 1.0 / K)
    return total[:, None] * share


def step(state: State, params: Params, streams: Streams,
         reuse: bool = False) -> tuple[State, list[EventBatch]]:
    """One day, sub-steps in causal order. ``state`` is left as it was unless ``reuse``: then
    the compiled command day may write today's officer-level state (reports, queues,
    officers) over its arrays (:func:`run_batch`, which never reads a day's state again;
    not on a day that freezes a fallen member)."""
    t, tree = state.day, params.tree
    fast = kernels.enabled()  # the compiled twins of the officer-level passes
    fallen = state.stability.collapsed
    reuse = reuse and not np.count_nonzero(fallen)  # fallen members are kept as they were
    u_if = streams.uniform_if  # a mechanism switched off reads no uniforms: none are drawn

    # 1. M10: allies fall away, and with them the routes around sanctions
    allies, ev_allies = (kernels.lose_allies if fast else lose_allies)(
        state.allies, params.allies, t, u_if(params.allies.enabled, "allies", "draw", t, 6))
    circumvention = allies.supply_index
    # 2. M5: yesterday's requests for repairs and parts meet the budget: the war is paid, the
    #    elites' hoard is lost, risk aversion refuses what might fail, the rest is granted
    requests = np.stack([state.industry.request_usd_bn.sum(axis=1),
                         state.strikes.request_usd_bn], axis=1)
    money, ev_money = (kernels.spend if fast else spend)(
        state.money, params.money, t, state.front.war_intensity, requests.sum(axis=1),
        state.elites.diverted, u_if(params.money.enabled, "money", "draw", t, 1))
    granted = (kernels.allocate if fast else allocate)(money.granted, requests)
    # 3. M7: strikes hit plants and machine tools; repairs wait for money, parts and a
    #    sign-off as slow as the chain's slow decisions (yesterday's 90th percentile)
    strikes, ev_strikes = (kernels.strike_and_repair if fast else strike_and_repair)(
        state.strikes, params.strikes, t, state.decisions.latency_p90, granted[:, 1],
        circumvention, u_if(params.strikes.enabled, "strikes", "draw", t, 8),
    )
    # 4. M6: the lines make what their scarcest component allows
    industry, ev_industry = (kernels.produce if fast else produce)(
        state.industry, params.industry, t, strikes.capacity, strikes.tools, circumvention,
        granted[:, 0], u_if(params.industry.enabled, "industry", "draw", t, 1))
    # 5. M8: the front bleeds, as effective as its supplies, equipment, officers, orders and
    #    picture of the truth allow (the chain of command as it stood yesterday); a front
    #    switched off reads none of it, nor its day's numbers (not drawn)
    if params.front.enabled:
        inputs = (kernels.front_inputs if fast else front_inputs)(state, tree)
    else:
        inputs = (np.ones(state.members),) * 4  # never read
    front, ev_front = (kernels.fight if fast else fight)(
        state.front, params.front, t, industry.supply_ratio, *inputs,
        u_if(params.front.enabled, "front", "draw", t, 2),
    )
    # 6-10. the command: problems arise at the units, sitreps climb the chain or are buried
    #    (M2), decisions queue and climb (M4), the leader is surprised and answers (M11),
    #    purges (M3); one compiled call with the kernels (kernels.command_day)
    if fast:
        officers, reports, decisions, leader, purges, pressure, ev_command, fear_mean = \
            kernels.command_day(state, params, front.problem_pressure, industry.supply_ratio,
                                money.risk_aversion, streams, reuse)
    else:
        officers, reports, decisions, leader, purges, pressure, ev_command, fear_mean = \
            command_day(state, params, front.problem_pressure, industry.supply_ratio,
                        money.risk_aversion, streams)
    # 11. M9: strikes inside the borders, the shrinking cushion and the leader's surprises
    #     unnerve the elites; they hoard, withdraw, and may run the banks
    reserve_fall = np.clip(1.0 - money.reserves / np.maximum(money.initial_reserves, 1e-12),
                           0.0, 1.0)
    elites, ev_elites = (kernels.unnerve_elites if fast else unnerve_elites)(
        state.elites, params.elites, t, strikes.strikes_today, reserve_fall,
        leader.surprise.astype(float), u_if(params.elites.enabled, "elites", "draw", t, 1),
    )
    # 12. M12: the loops meet; the regime holds or falls, and the leader's threat follows
    stress = (kernels.regime_stress if fast else regime_stress)(
        front, reserve_fall, elites, reports, fear_mean)
    stability, ev_regime = (kernels.assess_stability if fast else assess_stability)(
        state.stability, params.stability, t, stress,
        u_if(params.stability.enabled, "stability", "collapse", t, 1),
    )
    if params.stability.enabled:
        leader = replace(leader, threat=stability.threat)

    events = [*ev_allies, *ev_money, *ev_strikes, *ev_industry, *ev_front, *ev_command,
              *ev_elites, *ev_regime]
    new = State(t + 1, officers, reports, decisions, purges, leader, money, industry, strikes,
                front, elites, allies, stability, pressure)
    if np.count_nonzero(fallen):  # a fallen regime's trajectory ends on its collapse day
        new = freeze_members(fallen, new, state)
        events = [drop_members(b, fallen) for b in events]
    return new, events


def command_day(
    state: State, params: Params, front_pressure: np.ndarray, supply_ratio: np.ndarray,
    risk_aversion: np.ndarray, streams: Streams,
) -> tuple[OfficerState, ReportState, DecisionState, LeaderState, PurgeState, Pressure,
           list[EventBatch], np.ndarray]:
    """Sub-steps 6-10 of a day, the chain of command's: returns the officers, reports,
    decisions, leader, purges and the war's pressure after them, their events and the
    officers' mean fear ``[E]``. ``front_pressure`` ``[E, 2]`` (front, equipment),
    ``supply_ratio`` ``[E]`` and ``risk_aversion`` ``[E]`` are today's, from M8, M6, M5."""
    t, tree, E, N = state.day, params.tree, state.members, params.tree.n
    U = tree.n_units
    o = state.officers
    # 6. the war generates problems at the units
    pressure = world_pressure(state, params, front_pressure, supply_ratio, risk_aversion)
    new, sev = draw_problems(params.world, pressure, streams.uniform("world", "arrival", t, U),
                             streams.uniform("world", "severity", t, U))
    # 7. M2: sitreps climb the chain or are buried; buried news surfaces once visible
    known_before = state.reports.known.sum(axis=1)
    reports = sanitize_reports(state.reports, params.reporting, tree, t, new, sev,
                               o.fear, o.candour, streams.uniform("reporting", "sitrep", t, N))
    # 8. M4: requests for decisions queue, climb to whoever dares own them, fixes work or not
    front_share = reports.unresolved[:, 0] / np.maximum(reports.unresolved.sum(axis=1), 1e-12)
    u_dec = streams.uniform("signoff", "queue", t, 4 * N).reshape(E, 4, N)
    decisions = sign_off(state.decisions, params.signoff, tree, new.sum(axis=1), front_share,
                         o.fear, o.competence, o.status, pressure.risk_aversion, u_dec,
                         streams.uniform_if(params.signoff.enabled, "signoff", "reruns", t, 1))
    # 9. M11: a sudden close of the gap surprises the leader, who answers by his rule
    leader, ev_leader = react_to_surprises(
        state.leader, params.leader, tree, known_before, reports.surfaced, state.leader.threat,
        streams.uniform_if(params.leader.enabled, "leader", "response", t, 1),
    )
    decisions = settle(decisions, leader.fix_resolved)
    fixed = decisions.fixed + decisions.expired + leader.fix_resolved
    buried_fix = params.reporting.buried_fix_factor if params.reporting.enabled else 1.0
    reports = remove_resolved(reports, split_by_domain(fixed, reports.unresolved), buried_fix)
    # 10. M3: candour, scapegoats and liabilities are purged; fear spreads and decays
    officers, purges, ev_purge = purge_officers(
        state.purges, params.purges, tree, o, t, reports.candid, reports.surfaced,
        leader.target, leader.threat, streams.uniform("purges", "draw", t, N), streams)
    fear_mean = officers.fear.mean(axis=1)
    events = [*_surfacing_events(reports, tree), *ev_leader, *ev_purge,
              *_rerun_events(decisions, pressure.risk_aversion, fear_mean, tree)]
    return officers, reports, decisions, leader, purges, pressure, events, fear_mean


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
    # row-major positions (flatnonzero is ~8x faster than a 2-D nonzero on [E, N])
    m, n = np.divmod(np.flatnonzero(reports.surfaced > 0), reports.surfaced.shape[1])
    if len(m) == 0:
        return []
    mean_age = reports.surfaced_age[m, n] / np.maximum(reports.surfaced[m, n], 1e-12)
    return [EventBatch("surfaced", m, officer=n, level=tree.level_of()[n],
                       value=reports.surfaced[m, n], value2=mean_age)]


def _rerun_events(
    d: DecisionState, risk_aversion: np.ndarray, fear: np.ndarray, tree: Tree
) -> list[EventBatch]:
    m = np.flatnonzero(d.reruns > 0)
    if not len(m):
        return []
    wait = (d.queue_age.sum(axis=1) / np.maximum(d.queue.sum(axis=1), 1e-12))[m]
    climbed = np.nan_to_num(levels_climbed_mean(d, tree)[m])
    label = np.array([f"risk aversion {r:.2f}, fear {f:.2f}, decisions climbing {c:.1f} levels"
                      for r, f, c in zip(np.broadcast_to(risk_aversion, fear.shape)[m].tolist(),
                                         fear[m].tolist(), climbed.tolist(), strict=True)],
                     dtype=object)
    return [EventBatch("reruns", m, value=d.reruns[m], value2=wait, label=label)]


Recorder = Callable[[State, Params, np.ndarray], None]


def take_members(obj: Any, keep: np.ndarray) -> Any:
    """``obj`` (a state or parameter record, recursively) with only the members in ``keep``
    (a boolean ``[E]`` mask): every array field is indexed on its first, ensemble axis;
    numbers, options and the tree are shared."""
    if isinstance(obj, np.ndarray):
        return obj[keep] if obj.ndim else obj
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type | Tree):
        changes = {f.name: take_members(getattr(obj, f.name), keep)
                   for f in dataclasses.fields(obj)}
        return dataclasses.replace(obj, **changes)
    return obj


def run_batch(
    params: Params,
    streams: Streams,
    days: int,
    on_day: Recorder | None = None,
    progress: Callable[[int], None] | None = None,
) -> tuple[State, EventLog]:
    """Advance a batch of members ``days`` days, calling ``on_day(state, params, rows)`` after
    each day with the batch rows the state holds. The state given to ``on_day`` is valid
    until the next day: its officer-level arrays (reports, queues, officers) are then written
    over (step's ``reuse``), so an ``on_day`` that keeps them copies them.

    A member whose regime has collapsed is frozen from then on (its trajectory ends on its
    collapse day), so it leaves the batch: the days after cost nothing, and the rows still
    running keep their own streams. The returned state holds the members still running (or,
    if every regime fell before the horizon, those that fell last).
    """
    E = len(streams.members)
    state = init_state(params, streams)
    log = EventLog()
    rows = np.arange(E)  # batch rows of the members still running
    for t in range(days):
        day = state.day
        state, events = step(state, params, streams, reuse=True)
        if len(rows) < E:  # event rows are positions in the running set
            events = [dataclasses.replace(b, member=rows[b.member]) for b in events]
        log.add(day, events)
        if on_day is not None:
            on_day(state, params, rows)
        if progress is not None:
            progress(E)
        fallen = state.stability.collapsed
        if np.count_nonzero(fallen) and t + 1 < days:
            keep = ~fallen
            if not keep.any():  # every regime has fallen: nothing left to simulate
                if progress is not None:
                    progress(E * (days - t - 1))
                break
            rows = rows[keep]
            state = take_members(state, keep)
            params = take_members(params, keep)
            streams = streams.take(keep)
    return state, log

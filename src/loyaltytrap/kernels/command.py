"""The compiled command day: sub-steps 6-10 of :func:`loyaltytrap.engine.step` in two calls
(twin of :func:`loyaltytrap.engine.command_day`).

The war's pressure on the command, new problems at the units, the sitreps (M2), the sign-off
day with its reruns (M4), the leader's surprises (M11), the fixes taken out of every
compartment, and the purge draw (M3) run in one compiled call that chains the kernels of
:mod:`loyaltytrap.kernels.officers`, :mod:`~loyaltytrap.kernels.leader` and
:mod:`~loyaltytrap.kernels.purges` and does the engine's glue between them, number for number
as the plain version does it (NumPy's pairwise sums where NumPy sums eight numbers or more).
The replacements of the purged officers need their sparse draws, which come from each
member's own generator between the two calls; the second call replaces them, spreads fear
and takes the sums the day's events and indicators read. Parameters are packed once per
batch (:func:`loyaltytrap.params.packed`).
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from ..events import EventBatch
from ..mechanisms import leader as leader_m
from ..mechanisms.hierarchy import OfficerState
from ..mechanisms.leader import LeaderState
from ..mechanisms.purges import PurgeState, quiet_day
from ..mechanisms.reporting import ReportState
from ..mechanisms.signoff import DecisionState
from ..mechanisms.world import Pressure
from ..params import member_array, packed, per_member
from ..rng import jump_table
from .blocks import rows
from .leader import _no_surprise, _pairwise_sum, _react
from .officers import _place_sparse, _signoff, _sitreps
from .purges import _PARAMS as _PURGE_PARAMS
from .purges import _THREAT, _draw_purges, _exposure, replace_purged


@numba.njit(cache=True)
def _command(
    # the state
    inflight0, inflight_sev0, inflight_age0, hidden0, hidden_sev0, hidden_age0, known0,
    unresolved0, pass_ema0, arisen0, relayed0, keep_o0, keep_h0, candid0, surfaced0,
    surfaced_age0,
    queue0, queue_age0, decided_total0, fixed_total0, expired_total0, reruns_total0, reruns0,
    surprises_total0, responses_total0, threat,
    fear0, competence, candour, status0, vacant0,
    # today's inputs from the war
    front_pressure, supply_ratio, risk_aversion,
    # uniforms
    u_arrival, u_severity, u_sitrep, u_queue, u_reruns, u_leader, u_purges,
    # parameters
    world_on, base_rates, shortage, severity_mean,
    sens, p_const, behavioural, growth, vis, window, D, slot, buried_fix,
    cap_level, vacancy_cap, esc_base, esc_fear, esc_money, expiry, signoff_on, rerun_hazard,
    leader_on, lp_threshold, lp_floor, lp_scapegoat, lp_fix, lp_fix_share, parent, level_of,
    scapegoat_level,
    purges_on, purge_pm, cand_exp, scape_exp, liability_max_level,
    offsets, sizes, day, inplace,
):  # pragma: no cover - compiled
    E, K, N = hidden0.shape
    L = sizes.shape[0]
    U = sizes[L - 1]
    frames = np.empty((64, 3), dtype=np.int64)
    left = np.empty(64)

    # 6. what the war asks of the command (engine.world_pressure, world.problem_rates)
    problem = np.ones((E, K))
    extra = np.zeros((E, K))
    edges = np.empty((E, K))
    r = np.empty(K)
    for e in range(E):
        x = 1.0 - supply_ratio[e]
        x = 0.0 if x < 0.0 else x  # np.clip (NaN stays NaN)
        x = 1.0 if x > 1.0 else x
        problem[e, 0] = front_pressure[e, 0]
        problem[e, 1] = 1.0 + shortage[e] * x
        problem[e, 2] = front_pressure[e, 1]
        extra[e, 0] = reruns0[e] / U
        tot = 0.0
        for k in range(K):
            r[k] = base_rates[e, k] * problem[e, k] + (extra[e, k] if world_on else 0.0)
            tot += r[k]
        scale = 0.95 / max(tot, 1e-12) if tot > 0.95 else 1.0
        c = 0.0
        for k in range(K):
            c = c + r[k] * scale if k > 0 else r[k] * scale
            edges[e, k] = c
    arrivals = _place_sparse(edges, u_arrival, u_severity, severity_mean)

    # 7. sitreps
    known_before = np.empty(E)
    for e in range(E):
        known_before[e] = (known0[e, 0] + known0[e, 1]) + known0[e, 2]
    (inflight, inflight_sev, inflight_age, hidden, hidden_sev, hidden_age, known,
     unresolved, received, scrubbed, candid, surfaced, to_top, to_top_age, surfaced_age,
     arisen, relayed, pass_ema) = _sitreps(
        inflight0, inflight_sev0, inflight_age0, hidden0, hidden_sev0, hidden_age0, known0,
        unresolved0, arrivals, fear0, candour, sens, p_const, behavioural, u_sitrep, growth,
        vis, window, offsets, sizes, D, slot, pass_ema0, arisen0, relayed0, keep_o0, keep_h0,
        inplace, candid0, surfaced0, surfaced_age0)

    # 8. sign-off (signoff.sign_off)
    # one request per new problem (at most one a unit: the dense sum of its three counts)
    new_req = np.zeros((E, U))
    start, unit, kind, amount = arrivals[0], arrivals[1], arrivals[2], arrivals[3]
    for e in range(E):
        for i in range(start[e], start[e + 1]):
            if kind[i] >= 0:
                new_req[e, unit[i]] = amount[i]
    money = np.empty(E)
    for e in range(E):
        money[e] = esc_money[e] * risk_aversion[e]
    queue, queue_age, owned, owned_age, fixed, expired, escalated, p90 = _signoff(
        queue0, queue_age0, new_req, cap_level, vacancy_cap, status0, esc_base, esc_fear,
        money, fear0, competence, expiry, u_queue, offsets, sizes, signoff_on, 0.9, inplace)
    reruns = np.zeros(E)
    decided_total = np.empty(E)
    for e in range(E):
        tu = unresolved[e, 0] + unresolved[e, 1] + unresolved[e, 2]
        front_share = unresolved[e, 0] / max(tu, 1e-12)
        waiting_front = _pairwise_sum(queue[e], frames, left) * front_share
        units_waiting = U * (1.0 - np.exp(-waiting_front / U))
        if signoff_on:
            reruns[e] = np.floor(units_waiting * rerun_hazard[e] + np.float64(u_reruns[e, 0]))
        decided_total[e] = decided_total0[e] + _pairwise_sum(owned[e], frames, left)

    # 9. the leader, and what his fixes and the chain's decisions resolve
    if leader_on:
        (surprise, response, target, fix_resolved, surprises_total, responses_total, amount,
         n_surprises) = _react(surfaced, known_before, lp_threshold, lp_floor, lp_scapegoat,
                               lp_fix, lp_fix_share, u_leader, parent, level_of,
                               scapegoat_level, surprises_total0, responses_total0)
    else:
        surprise, response, target, fix_resolved, surprises_total, responses_total = \
            _no_surprise(surprises_total0, responses_total0)
        amount = np.zeros(E)
        n_surprises = 0
    # signoff.settle: an ordered fix takes requests out of the queues pro rata
    any_fix = False
    for e in range(E):
        any_fix = any_fix or fix_resolved[e] > 0
    if any_fix:
        for e in range(E):
            tot = _pairwise_sum(queue[e], frames, left)
            n = fix_resolved[e]
            keep = 1.0 - min(n, tot) / max(tot, 1e-12) if tot > 1e-12 else 1.0
            for i in range(N):
                queue[e, i] = queue[e, i] * keep
                queue_age[e, i] = queue_age[e, i] * keep
    # reporting.remove_resolved of engine.split_by_domain(fixes and write-offs)
    resolved = np.empty((E, K))
    any_resolved = False
    for e in range(E):
        done = fixed[e] + expired[e] + fix_resolved[e]
        tot = (unresolved[e, 0] + unresolved[e, 1]) + unresolved[e, 2]
        for k in range(K):
            share = unresolved[e, k] / max(tot, 1e-12) if tot > 1e-12 else 1.0 / K
            x = done * share
            # np.minimum (NaN propagates)
            resolved[e, k] = x if (x < unresolved[e, k] or np.isnan(x)) else unresolved[e, k]
            if resolved[e, k] != 0.0:  # NaN counts, as in ndarray.any
                any_resolved = True
    keep_o = np.ones((E, K))
    keep_h = np.ones((E, K))
    if any_resolved:
        for e in range(E):
            f = buried_fix[e]
            for k in range(K):
                hid = _pairwise_sum(hidden[e, k], frames, left)
                other = unresolved[e, k] - hid
                x = resolved[e, k] / max(other + f * hid, 1e-12)
                take_o = min(max(x, 0.0), 1.0)
                y = (resolved[e, k] - take_o * other) / max(hid, 1e-12)
                take_h = min(max(y, 0.0), 1.0)
                removed = take_o * other + take_h * hid
                known[e, k] = known[e, k] * (1.0 - take_o)
                unresolved[e, k] = unresolved[e, k] - removed
                keep_o[e, k] = 1.0 - take_o
                keep_h[e, k] = 1.0 - take_h

    # 10. the purge draw (kernels.purges), the leader's scapegoat included
    if purges_on:
        pm = purge_pm.copy()
        for e in range(E):
            pm[_THREAT, e] = threat[e]
        fear, status, member, officer, which = _draw_purges(
            fear0, status0, vacant0, competence, candid, surfaced, u_purges, target, pm,
            cand_exp, scape_exp, liability_max_level, day, offsets, sizes, inplace)
    else:
        pm = purge_pm
        fear, status = fear0, status0
        member = np.empty(0, dtype=np.int64)
        officer = np.empty(0, dtype=np.int64)
        which = np.empty(0, dtype=np.int64)
    # the per-member numbers in three blocks (kernels.blocks)
    per = rows((known_before, to_top, to_top_age, arisen, relayed, pass_ema, owned_age, fixed,
                expired, escalated, p90, reruns, decided_total, fixed_total0 + fixed,
                expired_total0 + expired, reruns_total0 + reruns, fix_resolved,
                surprises_total, amount))
    by_domain = rows((problem, extra, known, unresolved, keep_o, keep_h))
    by_level = rows((received, scrubbed, owned))
    return (per, by_domain, by_level, inflight, inflight_sev, inflight_age, hidden,
            hidden_sev, hidden_age, candid, surfaced, surfaced_age, queue, queue_age,
            surprise, response, target, responses_total, n_surprises, fear, status, member,
            officer, which, pm)


@numba.njit(cache=True)
def _after_command(fear, queue, queue_age, reruns, owned, surfaced, surfaced_age, level_of,
                   climbed_by_level):  # pragma: no cover - compiled
    # what the day's events and the regime's stress read: mean fear per member, and for the
    # members with reruns the mean wait in the queues and the levels decisions climbed
    E, N = fear.shape
    L = owned.shape[1]
    frames = np.empty((64, 3), dtype=np.int64)
    left = np.empty(64)
    fear_mean = np.empty(E)
    n_rr = 0
    for e in range(E):
        fear_mean[e] = _pairwise_sum(fear[e], frames, left) / N
        n_rr += reruns[e] > 0
    rr = np.empty(n_rr, dtype=np.int64)
    wait = np.empty(n_rr)
    climbed = np.empty(n_rr)
    row = np.empty(L)
    i = 0
    for e in range(E):
        if not reruns[e] > 0:
            continue
        rr[i] = e
        wait[i] = (_pairwise_sum(queue_age[e], frames, left)
                   / max(_pairwise_sum(queue[e], frames, left), 1e-12))
        for lvl in range(L):
            row[lvl] = owned[e, lvl] * climbed_by_level[lvl]
        tot = _pairwise_sum(owned[e], frames, left)
        w = _pairwise_sum(row, frames, left)
        climbed[i] = w / max(tot, 1e-12) if tot > 0 else 0.0  # nan_to_num of NaN: 0
        i += 1
    n_sf = 0
    for e in range(E):
        for n in range(N):
            n_sf += surfaced[e, n] > 0
    sm = np.empty(n_sf, dtype=np.int64)
    sn = np.empty(n_sf, dtype=np.int64)
    sl = np.empty(n_sf, dtype=np.int64)
    sv = np.empty(n_sf)
    sa = np.empty(n_sf)
    i = 0
    for e in range(E):
        for n in range(N):
            if surfaced[e, n] > 0:
                sm[i] = e
                sn[i] = n
                sl[i] = level_of[n]
                sv[i] = surfaced[e, n]
                sa[i] = surfaced_age[e, n] / max(surfaced[e, n], 1e-12)
                i += 1
    return fear_mean, rr, wait, climbed, sm, sn, sl, sv, sa


def _pack(params: Any, E: int) -> dict[str, Any]:
    """The command day's parameters for a batch of E members, once per parameter set."""
    tree, w, r, s, ld, pu = (params.tree, params.world, params.reporting, params.signoff,
                             params.leader, params.purges)
    L = tree.levels
    above = (L - 1 - np.arange(L))[None, :]

    def col(x: Any) -> Any:
        return x[:, None] if isinstance(x, np.ndarray) else x

    base = np.stack([per_member(w.front_problem_rate, E), per_member(w.supply_problem_rate, E),
                     per_member(w.equipment_problem_rate, E)], axis=1)
    lv = np.arange(L)[None, :]
    cap_level = np.ascontiguousarray(np.broadcast_to(
        col(s.capacity_per_day) * col(s.staff_scaling) ** above, (E, L)), dtype=np.float64)
    purge_pm = np.zeros((len(_PURGE_PARAMS) + 1, E))
    for i, name in enumerate(_PURGE_PARAMS):
        purge_pm[i] = getattr(pu, name)
    return dict(
        world_on=bool(w.enabled), base_rates=base if w.enabled else np.zeros_like(base),
        shortage=per_member(w.shortage_pressure, E), severity_mean=per_member(w.severity_mean, E),
        sens=per_member(r.scrub_sensitivity, E),
        p_const=(1.0 - per_member(r.fixed_pass_through, E)) if r.enabled else np.zeros(E),
        behavioural=bool(r.enabled and r.mode == "behavioural"),
        growth=per_member(r.severity_growth, E), vis=per_member(r.visibility_threshold, E),
        window=per_member(r.picture_window_days, E), D=int(r.hop_delay_days),
        buried_fix=per_member(r.buried_fix_factor if r.enabled else 1.0, E),
        cap_level=cap_level,
        vacancy_cap=per_member(s.vacancy_capacity, E), esc_base=per_member(s.escalate_base, E),
        esc_fear=per_member(s.escalate_fear, E), esc_money=per_member(s.escalate_money, E),
        expiry=per_member(s.expiry_hazard, E), signoff_on=bool(s.enabled),
        rerun_hazard=per_member(s.rerun_hazard, E),
        leader_on=bool(ld.enabled), lp_threshold=per_member(ld.surprise_threshold, E),
        lp_floor=per_member(ld.surprise_floor, E),
        lp_scapegoat=per_member(ld.response_scapegoat, E),
        lp_fix=per_member(ld.response_fix, E), lp_fix_share=per_member(ld.fix_share, E),
        parent=tree.parent(), level_of=tree.level_of(),
        scapegoat_level=min(ld.scapegoat_level, L - 1),
        purges_on=bool(pu.enabled), purge_pm=purge_pm,
        cand_exp=np.ascontiguousarray(_exposure(pu.candour_purge_prob,
                                                pu.candour_exposure_decay, lv, E)),
        scape_exp=np.ascontiguousarray(_exposure(pu.scapegoat_purge_prob,
                                                 pu.scapegoat_exposure_decay, lv, E)),
        liability_max_level=int(pu.liability_max_level),
        offsets=np.asarray(tree.offsets, np.int64), sizes=np.asarray(tree.level_sizes, np.int64),
        climbed_by_level=((L - 1) - np.arange(L)).astype(np.float64),
        # the sign-off's uniforms are read only where a post can take a request up or a
        # request can expire; where no member can do either (the kernel of the benchmarks),
        # its stream is not drawn: no other stream depends on it, so nothing else changes
        queue_draws=bool(np.any(cap_level > 0) or np.any(per_member(s.expiry_hazard, E) > 0)),
    )


_ARGS = ("world_on", "base_rates", "shortage", "severity_mean", "sens", "p_const",
         "behavioural", "growth", "vis", "window")
_ARGS2 = ("buried_fix", "cap_level", "vacancy_cap", "esc_base", "esc_fear", "esc_money",
          "expiry", "signoff_on", "rerun_hazard", "leader_on", "lp_threshold", "lp_floor",
          "lp_scapegoat", "lp_fix", "lp_fix_share", "parent", "level_of", "scapegoat_level",
          "purges_on", "purge_pm", "cand_exp", "scape_exp", "liability_max_level", "offsets",
          "sizes")


def _packed_args(params: Any, E: int) -> dict[str, Any]:
    pk = _pack(params, E)
    pk["args"] = tuple(pk[k] for k in _ARGS)  # _command's parameters, in its order
    pk["args2"] = tuple(pk[k] for k in _ARGS2)
    if not pk["queue_draws"]:  # what the sign-off is given instead: never read (a day read
        # where needed, as the drawn one is, so that _command is compiled once)
        pk["no_draws"] = (np.zeros((E, 6), np.uint64), jump_table(4 * params.tree.n))
    return pk


_RESPONSES = np.array(leader_m.RESPONSES, dtype=object)


def command_day(
    state: Any, params: Any, front_pressure: np.ndarray, supply_ratio: np.ndarray,
    risk_aversion: np.ndarray, streams: Any, reuse: bool = False,
) -> tuple[OfficerState, ReportState, Any, Any, PurgeState, Pressure, list[EventBatch]]:
    """Compiled :func:`loyaltytrap.engine.command_day`: returns the officers, reports,
    decisions, leader, purges and pressure after sub-steps 6-10, and their events. With
    ``reuse`` the day writes its officer-level state over ``state``'s: the news in flight,
    the buried stocks, candid and surfaced, the queues, fear, status and the replacements'
    attributes (``state.reports``, ``state.decisions`` and ``state.officers`` are not valid
    after)."""
    t, tree = state.day, params.tree
    E, N, U = state.members, tree.n, tree.n_units
    pk = packed(params, f"command:{E}", lambda: _packed_args(params, E))
    rp, dc, ld, o, pg = state.reports, state.decisions, state.leader, state.officers, state.purges
    D = pk["D"]
    u = streams.uniform
    lazy = streams.lazy_uniform  # the streams the day reads only in places
    u_queue = lazy("signoff", "queue", t, 4 * N) if pk["queue_draws"] else pk["no_draws"]
    def w(a: np.ndarray) -> np.ndarray:
        # an array the day may write over (reuse): the compiled day takes it writable (a
        # read-only one, never written without reuse, is copied), so it is compiled once
        return a if a.flags.writeable else a.copy()

    out = _command(
        w(rp.inflight), w(rp.inflight_sev), w(rp.inflight_age), w(rp.hidden), w(rp.hidden_sev),
        w(rp.hidden_age), rp.known, rp.unresolved, rp.pass_ema, rp.arisen_total,
        rp.relayed_total, rp.keep_inflight, rp.keep_hidden, w(rp.candid), w(rp.surfaced),
        w(rp.surfaced_age), w(dc.queue), w(dc.queue_age), dc.decided_total, dc.fixed_total,
        dc.expired_total, dc.reruns_total, dc.reruns, ld.surprises_total, ld.responses_total,
        ld.threat, w(o.fear), o.competence, o.candour, w(o.status), o.vacant_until,
        np.ascontiguousarray(front_pressure), member_array(supply_ratio, E),
        member_array(risk_aversion, E),
        u("world", "arrival", t, U), lazy("world", "severity", t, U),
        lazy("reporting", "sitrep", t, N), u_queue,
        streams.uniform_if(pk["signoff_on"], "signoff", "reruns", t, 1),
        streams.uniform_if(pk["leader_on"], "leader", "response", t, 1),
        lazy("purges", "draw", t, N), *pk["args"], D, t % D if D > 0 else 0, *pk["args2"],
        int(t), bool(reuse))
    (per, by_domain, by_level, inflight, inflight_sev, inflight_age, hidden, hidden_sev,
     hidden_age, candid, surfaced, surfaced_age, queue, queue_age, surprise, response, target,
     responses_total, n_surprises, fear, status, member, officer, which, pm) = out
    (known_before, to_top, to_top_age, arisen, relayed, pass_ema, owned_age, fixed, expired,
     escalated, p90, reruns, decided_total, fixed_total, expired_total, reruns_total,
     fix_resolved, surprises_total, amount) = per
    problem, extra, known, unresolved, keep_o, keep_h = by_domain
    received, scrubbed, owned = by_level
    pressure = Pressure(problem=problem, extra=extra, risk_aversion=risk_aversion)
    reports = ReportState(
        inflight=inflight, inflight_sev=inflight_sev, inflight_age=inflight_age, hidden=hidden,
        hidden_sev=hidden_sev, hidden_age=hidden_age, known=known, unresolved=unresolved,
        received=received, scrubbed=scrubbed, candid=candid, surfaced=surfaced, to_top=to_top,
        to_top_age=to_top_age, surfaced_age=surfaced_age, arisen_total=arisen,
        relayed_total=relayed, pass_ema=pass_ema, keep_inflight=keep_o, keep_hidden=keep_h)
    decisions = DecisionState(
        queue=queue, queue_age=queue_age, owned=owned, owned_age=owned_age, fixed=fixed,
        expired=expired, reruns=reruns, escalated=escalated, latency_p90=p90,
        decided_total=decided_total, fixed_total=fixed_total, expired_total=expired_total,
        reruns_total=reruns_total)
    leader = LeaderState(surprise=surprise, response=response, target=target,
                         fix_resolved=fix_resolved, threat=ld.threat,
                         surprises_total=surprises_total, responses_total=responses_total)
    ev_leader = leader_m.surprise_events(surprise, amount, known_before, target,
                                         response) if n_surprises else []
    # 10 (cont.): the purged are replaced from each member's sparse stream
    if pk["purges_on"]:
        officers, purges, ev_purge = replace_purged(pg, o, fear, status, member, officer, which,
                                                    pm, t, pk["offsets"], pk["sizes"], streams,
                                                    reuse)
    else:  # no purges, and fear stays where it is
        officers, purges, ev_purge = o, quiet_day(pg, E), []
    fear_mean, rr, wait, climbed, sm, sn, sl, sv, sa = _after_command(
        officers.fear, queue, queue_age, reruns, owned, surfaced, surfaced_age, pk["level_of"],
        pk["climbed_by_level"])
    events = [EventBatch("surfaced", sm, officer=sn, level=sl, value=sv, value2=sa)] \
        if len(sm) else []
    events += ev_leader + ev_purge
    if len(rr):
        label = np.array([f"risk aversion {r:.2f}, fear {f:.2f}, decisions climbing {c:.1f} "
                          "levels" for r, f, c in zip(risk_aversion[rr].tolist(),
                                                      fear_mean[rr].tolist(), climbed.tolist(),
                                                      strict=True)], dtype=object)
        events.append(EventBatch("reruns", rr, value=reruns[rr], value2=wait, label=label))
    return officers, reports, decisions, leader, purges, pressure, events, fear_mean


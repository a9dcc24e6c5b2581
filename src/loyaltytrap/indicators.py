"""Daily indicators: pure functions of the state, kept apart from the dynamics.

Each :class:`Indicator` names what it measures, its unit, its extra dimension (none, level or
domain) and the function that reads it off a :class:`~loyaltytrap.engine.State`. The engine
calls every indicator after every day; the results become the run's dataset.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import kernels
from .engine import Params, State
from .mechanisms import allies, elites, front, industry, money, stability, strikes
from .mechanisms.hierarchy import SERVING, OfficerState, Tree
from .mechanisms.reporting import ReportState, timely_share
from .mechanisms.signoff import levels_climbed_mean
from .params import state_record


@dataclass(frozen=True)
class Indicator:
    """One daily measurement of every member."""

    name: str
    unit: str
    mechanism: str
    description: str
    fn: Callable[[State, Params], np.ndarray]
    extra_dim: str | None = None  # "level", "domain" or a dimension named by ``coords``
    headline: bool = False
    summary: str = "final"  # how a run sums up: value on the last day, or mean over days
    coords: tuple[str, ...] | None = None  # labels of the extra dimension (not level/domain)


def from_mechanism(state_field: str, mechanism: str, defs: list[dict]) -> tuple[Indicator, ...]:
    """Indicators declared by a mechanism module (``indicators()``: dicts with name, unit,
    description, fn of the mechanism's own state, and optionally extra_dim, coords, headline,
    summary), read off ``State.<state_field>``."""
    out = []
    for d in defs:
        fn = d["fn"]
        out.append(Indicator(
            name=d["name"], unit=d["unit"], mechanism=mechanism, description=d["description"],
            fn=(lambda s, p, fn=fn: fn(getattr(s, state_field))),
            extra_dim=d.get("extra_dim"), headline=bool(d.get("headline", False)),
            summary=d.get("summary", "final"),
            coords=tuple(d["coords"]) if d.get("coords") is not None else None,
        ))
    return tuple(out)


@state_record
@dataclass(frozen=True)
class OfficerSums:
    """Sums over the officers of a day's state, per member, taken in one pass (a dozen
    indicators read them).

    fear, competence, candour: float64 ``[E, L]`` sums per level
    loyalty, vacant, surfaced, surfaced_age, queue, top_queue, hidden: float64 ``[E]`` sums
        over all officers (vacant: posts not held by a serving officer; top_queue: requests
        waiting at levels 0-1; hidden: buried news, all domains)
    """

    fear: np.ndarray
    competence: np.ndarray
    candour: np.ndarray
    loyalty: np.ndarray
    vacant: np.ndarray
    surfaced: np.ndarray
    surfaced_age: np.ndarray
    queue: np.ndarray
    top_queue: np.ndarray
    hidden: np.ndarray


def officer_sums_plain(
    o: OfficerState, r: ReportState, queue: np.ndarray, tree: Tree
) -> tuple[np.ndarray, np.ndarray]:
    """The sums of :class:`OfficerSums` (plain NumPy): ``[3, E, L]`` level sums of fear,
    competence and candour, and ``[7, E]`` loyalty, vacant, surfaced, surfaced_age, queue,
    top_queue and hidden."""
    off = list(tree.offsets)
    by_level = np.stack([np.add.reduceat(x, off, axis=1)
                         for x in (o.fear, o.competence, o.candour)])
    top = sum(tree.level_sizes[:2])
    totals = np.stack([o.loyalty.sum(axis=1), (o.status != SERVING).sum(axis=1),
                       r.surfaced.sum(axis=1), r.surfaced_age.sum(axis=1), queue.sum(axis=1),
                       queue[:, :top].sum(axis=1),
                       (r.hidden * r.keep_hidden[:, :, None]).sum(axis=(1, 2))]).astype(float)
    return by_level, totals


_LAST: list[Any] = [None]  # (the last state summed, its sums), replaced as one object


def officer_sums(s: State, p: Params) -> OfficerSums:
    """The :class:`OfficerSums` of a state (computed once per state: the indicators of a day
    share them)."""
    last = _LAST[0]
    if last is not None and last[0] is s:
        return last[1]
    fn = kernels.officer_sums if kernels.enabled() else officer_sums_plain
    by_level, t = fn(s.officers, s.reports, s.decisions.queue, p.tree)
    out = OfficerSums(*by_level, *t)
    _LAST[0] = (s, out)
    return out


def use_officer_sums(s: Any, sums: OfficerSums | None = None) -> None:
    """Make :func:`officer_sums` of ``s`` return ``sums`` (sums taken elsewhere, e.g. the
    recorder's days stacked along the member axis); ``None`` forgets."""
    _LAST[0] = None if s is None else (s, sums)


def _level_mean(x: np.ndarray, p: Params) -> np.ndarray:
    return x / np.asarray(p.tree.level_sizes, dtype=float)


def _ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.where(b > 1e-12, a / np.maximum(b, 1e-12), np.nan)


def _gap_share(s: State, _: Params) -> np.ndarray:
    # below one unresolved problem the share is not meaningful: measure against at least 1
    t = s.reports.unresolved.sum(axis=1)
    return (t - s.reports.known.sum(axis=1)) / np.maximum(t, 1.0)


def _report_delay(s: State, p: Params) -> np.ndarray:
    r, o = s.reports, officer_sums(s, p)
    return _ratio(r.to_top_age + o.surfaced_age, r.to_top + o.surfaced)


def _surfaced_delay(s: State, p: Params) -> np.ndarray:
    o = officer_sums(s, p)
    return _ratio(o.surfaced_age, o.surfaced)


INDICATORS: tuple[Indicator, ...] = (
    Indicator("true_problems", "problems", "M2", "unresolved problems by domain (the truth)",
              lambda s, p: s.reports.unresolved, "domain"),
    Indicator("perceived_problems", "problems", "M2",
              "unresolved problems the leader knows of, by domain", lambda s, p: s.reports.known,
              "domain"),
    Indicator("true_total", "problems", "M2", "all unresolved problems",
              lambda s, p: s.reports.unresolved.sum(axis=1), headline=True),
    Indicator("perceived_total", "problems", "M2", "unresolved problems the leader knows of",
              lambda s, p: s.reports.known.sum(axis=1), headline=True),
    Indicator("gap_share", "share", "M2", "share of unresolved problems the leader does not "
              "know of", _gap_share, headline=True),
    Indicator("hidden_problems", "problems", "M2", "news buried somewhere in the chain",
              lambda s, p: officer_sums(s, p).hidden),
    Indicator("suppressed_share", "share", "M2", "share of the news reaching a level that "
              "was buried there today", lambda s, p: _ratio(s.reports.scrubbed,
                                                            s.reports.received), "level"),
    Indicator("reaching_top_share", "share", "M2", "cumulative share of new problems relayed "
              "to the leader by the chain (not counting what surfaced)",
              lambda s, p: _ratio(s.reports.relayed_total, s.reports.arisen_total),
              headline=True),
    Indicator("timely_share", "share", "M2", "share of the units' news the chain passes to "
              "the leader in time: product over levels of the share not buried, averaged over "
              "reporting.picture_window_days",
              lambda s, p: timely_share(s.reports), headline=True),
    Indicator("report_delay_days", "days", "M2", "mean age of the news reaching the leader "
              "today (relayed or surfaced)", _report_delay, headline=True, summary="mean"),
    Indicator("surfaced_delay_days", "days", "M2", "mean age of the news that surfaced today",
              _surfaced_delay),
    Indicator("surfaced", "problems", "M2", "buried news that became visible today",
              lambda s, p: officer_sums(s, p).surfaced),
    Indicator("surprise", "0/1", "M11", "the leader was surprised today",
              lambda s, p: s.leader.surprise.astype(float)),
    Indicator("surprises_total", "count", "M11", "surprises so far",
              lambda s, p: s.leader.surprises_total, headline=True),
    Indicator("response", "code", "M11", "response to today's surprise (-1 none, 0 scapegoat, "
              "1 fix, 2 ignore)", lambda s, p: s.leader.response.astype(float)),
    Indicator("fear_mean", "share", "M3", "mean fear of the officer corps",
              lambda s, p: officer_sums(s, p).fear.sum(axis=1) / p.tree.n, headline=True),
    Indicator("fear_by_level", "share", "M3", "mean fear per level",
              lambda s, p: _level_mean(officer_sums(s, p).fear, p), "level"),
    Indicator("purges_candour", "count", "M3", "officers purged today for candour",
              lambda s, p: s.purges.today[:, 0]),
    Indicator("purges_scapegoat", "count", "M3", "officers purged today as scapegoats",
              lambda s, p: s.purges.today[:, 1]),
    Indicator("purges_liability", "count", "M3", "officers purged today as political "
              "liabilities", lambda s, p: s.purges.today[:, 2]),
    Indicator("purged_total", "count", "M3", "officers purged so far",
              lambda s, p: s.purges.total.sum(axis=1), headline=True),
    Indicator("jailed_total", "count", "M3", "purged officers jailed so far",
              lambda s, p: s.purges.fates[:, 0]),
    Indicator("disappeared_total", "count", "M3", "purged officers disappeared so far",
              lambda s, p: s.purges.fates[:, 1]),
    Indicator("removed_total", "count", "M3", "purged officers removed so far",
              lambda s, p: s.purges.fates[:, 2]),
    Indicator("top_purged_total", "count", "M3", "purges so far at levels 0-2 (the generals)",
              lambda s, p: s.purges.by_level[:, :3].sum(axis=1), headline=True),
    Indicator("vacant_posts", "count", "M3", "posts held by an acting deputy",
              lambda s, p: officer_sums(s, p).vacant),
    Indicator("competence_mean", "share", "M3", "mean competence of the officer corps",
              lambda s, p: officer_sums(s, p).competence.sum(axis=1) / p.tree.n,
              headline=True),
    Indicator("competence_by_level", "share", "M1", "mean competence per level",
              lambda s, p: _level_mean(officer_sums(s, p).competence, p), "level"),
    Indicator("candour_by_level", "share", "M1", "mean candour per level",
              lambda s, p: _level_mean(officer_sums(s, p).candour, p), "level"),
    Indicator("loyalty_mean", "share", "M3", "mean loyalty of the officer corps",
              lambda s, p: officer_sums(s, p).loyalty / p.tree.n),
    Indicator("candour_mean", "share", "M3", "mean candour of the officer corps",
              lambda s, p: officer_sums(s, p).candour.sum(axis=1) / p.tree.n),
    Indicator("decision_latency_days", "days", "M4", "mean age of the requests decided today",
              lambda s, p: _ratio(s.decisions.owned_age, s.decisions.owned.sum(axis=1)),
              headline=True, summary="mean"),
    Indicator("decision_latency_p90_days", "days", "M4", "90th percentile of the latency of "
              "the requests decided today (batches of one officer counted at their mean)",
              lambda s, p: s.decisions.latency_p90, summary="mean"),
    Indicator("levels_climbed", "levels", "M4", "mean levels today's decisions climbed",
              lambda s, p: levels_climbed_mean(s.decisions, p.tree), headline=True, summary="mean"),
    Indicator("decided_by_level", "count", "M4", "requests decided at each level today",
              lambda s, p: s.decisions.owned, "level"),
    Indicator("decision_backlog", "requests", "M4", "requests waiting for a decision",
              lambda s, p: officer_sums(s, p).queue, headline=True),
    Indicator("top_backlog", "requests", "M4", "requests waiting at levels 0-1",
              lambda s, p: officer_sums(s, p).top_queue),
    Indicator("escalated", "requests", "M4", "requests passed up today",
              lambda s, p: s.decisions.escalated),
    Indicator("fixed", "problems", "M4", "problems fixed today through the chain",
              lambda s, p: s.decisions.fixed),
    Indicator("written_off", "problems", "M4", "requests overtaken by events today (losses)",
              lambda s, p: s.decisions.expired),
    Indicator("written_off_total", "problems", "M4", "problems ended as losses so far",
              lambda s, p: s.decisions.expired_total, headline=True),
    Indicator("reruns", "count", "M4", "failed manoeuvres rerun today",
              lambda s, p: s.decisions.reruns),
    Indicator("reruns_total", "count", "M4", "failed manoeuvres rerun so far",
              lambda s, p: s.decisions.reruns_total, headline=True),
)

INDICATORS += from_mechanism("money", "M5", money.indicators())
INDICATORS += from_mechanism("industry", "M6", industry.indicators())
INDICATORS += from_mechanism("strikes", "M7", strikes.indicators())
INDICATORS += from_mechanism("front", "M8", front.indicators())
INDICATORS += from_mechanism("elites", "M9", elites.indicators())
INDICATORS += from_mechanism("allies", "M10", allies.indicators())
INDICATORS += from_mechanism("stability", "M12", stability.indicators())

BY_NAME: dict[str, Indicator] = {i.name: i for i in INDICATORS}
HEADLINE: tuple[str, ...] = tuple(i.name for i in INDICATORS if i.headline)

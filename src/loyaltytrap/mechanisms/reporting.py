"""M2 upward reporting and sanitization.

Every officer sends one situation report (sitrep) upward each day. If it holds bad news (new
problems of its own unit or news relayed from below), the officer either forwards all of it or
sanitizes the sitrep, burying the news at its own level. The chance of sanitizing rises with
fear and falls with candour:

    p_scrub_i = min(1, scrub_sensitivity * fear_i * (1 - candour_i))        (behavioural mode)
    p_scrub_i = 1 - fixed_pass_through                                      (fixed mode)

so that with a fixed pass-through share q per level the expected share of news reaching the
leader from the units across L levels is q**L (Williamson 1967, hierarchical control loss).

Buried news does not go away. Each command's hidden stock worsens (its severity grows by
``severity_growth`` per day) and once it passes ``visibility_threshold`` it can no longer be
hidden: the whole stock surfaces to the leader at once ("when the smoke is visible"). Those
jumps of the leader's picture are what M11 calls surprises.

Each hop up the chain takes ``hop_delay_days`` (0: the whole chain relays the same day).
The leader's *perceived* problem load per domain is kept beside the *true* one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..params import Common, col, option, param, replace, state_record
from .hierarchy import Tree
from .world import K


@dataclass(frozen=True, kw_only=True)
class ReportingParams(Common):
    """Parameters of M2."""

    mode: str = option(("behavioural", "fixed"), "behavioural",
                       doc="behavioural: scrub by fear and candour; fixed: same pass-through "
                           "share for every officer (the Williamson special case)")
    scrub_sensitivity: np.ndarray = param("per unit of fear", 0, 10,
                                          doc="scales p_scrub = s * fear * (1 - candour)")
    fixed_pass_through: np.ndarray = param("share (0-1)", 0, 1,
                                           doc="pass-through share per level in fixed mode")
    hop_delay_days: int = param("days", 0, 7, integer=True, structural=True,
                                doc="days a sitrep takes to climb one level")
    visibility_threshold: np.ndarray = param("severity units", 0.1, 1e9,
                                             doc="hidden severity at one command that can no "
                                                 "longer be hidden")
    severity_growth: np.ndarray = param("share per day", 0, 0.5,
                                        doc="daily growth of the severity of buried problems")
    picture_window_days: np.ndarray = param("days", 1, 365,
                                            doc="window over which the timely share of news "
                                                "reaching the leader is averaged")
    buried_fix_factor: np.ndarray = param("relative chance", 0, 1,
                                          doc="how likely a fix lands on a problem whose news "
                                              "was buried, relative to any other problem")


@state_record
@dataclass(frozen=True)
class ReportState:
    """Where every unresolved problem's news is at the end of a day. Counts are problems
    (float64, may be fractional after proportional removal of resolved problems); ages are
    sums of days. What an officer holds before its sitrep is a temporary of the day: every
    officer forwards or buries all of it.

    hidden: ``[E, K, N]`` news buried by each officer, by domain
    hidden_sev: ``[E, N]`` severity units buried per officer
    hidden_age: ``[E, N]`` day-sums of the news buried
    inflight: ``[E, D, K, P]`` news on its way to officer n, slot ``day % D`` (D = hop delay),
        for the P officers above the units (``Tree.n_superiors``, numbered first): news
        climbs from subordinates, and a unit commander has none, so nothing is ever on its
        way to one
    inflight_sev, inflight_age: ``[E, D, P]``
    known: ``[E, K]`` unresolved problems the leader knows of (the perceived picture)
    unresolved: ``[E, K]`` all unresolved problems (the true picture)
    received, scrubbed: ``[E, L]`` news reaching / buried at each level today
    candid: bool ``[E, N]`` the officer forwarded bad news today (exposed to a candour purge)
    surfaced: ``[E, N]`` news that became visible at each command today
    to_top, to_top_age: ``[E]`` news relayed to the leader by level 0 today and its day-sum
    surfaced_age: ``[E, N]`` day-sum of the news that surfaced at each command today
    arisen_total, relayed_total: ``[E]`` cumulative new problems and news relayed to the top
    pass_ema: ``[E]`` the chain's pass-through, prod over levels of (1 - share buried there)
        today, averaged exponentially over ``picture_window_days``: the share of the units'
        news that would reach the leader in time (Williamson's control loss, measured)
    keep_inflight, keep_hidden: ``[E, K]`` the share of each domain's news in flight / buried
        that today's fixes leave (:func:`remove_resolved`). It is applied to the officers'
        compartments by the next day's sitreps, which read them anyway (one pass over the
        officers instead of two); until then ``hidden``, ``inflight`` and their severity and
        age sums are as the sitreps left them. 1 when nothing is pending; :func:`settled`
        applies it.
    """

    inflight: np.ndarray
    inflight_sev: np.ndarray
    inflight_age: np.ndarray
    hidden: np.ndarray
    hidden_sev: np.ndarray
    hidden_age: np.ndarray
    known: np.ndarray
    unresolved: np.ndarray
    received: np.ndarray
    scrubbed: np.ndarray
    candid: np.ndarray
    surfaced: np.ndarray
    to_top: np.ndarray
    to_top_age: np.ndarray
    surfaced_age: np.ndarray
    arisen_total: np.ndarray
    relayed_total: np.ndarray
    pass_ema: np.ndarray
    keep_inflight: np.ndarray
    keep_hidden: np.ndarray

    # fields with an officer axis after the member axis
    officer_fields: ClassVar[tuple[str, ...]] = (
        "inflight", "inflight_sev", "inflight_age", "hidden", "hidden_sev", "hidden_age",
        "candid", "surfaced", "surfaced_age")


def init_reports(E: int, tree: Tree, hop_delay: int) -> ReportState:
    """No news anywhere on day 0."""
    N, L, D, P = tree.n, tree.levels, hop_delay, tree.n_superiors
    z = np.zeros
    return ReportState(
        inflight=z((E, D, K, P)), inflight_sev=z((E, D, P)), inflight_age=z((E, D, P)),
        hidden=z((E, K, N)), hidden_sev=z((E, N)), hidden_age=z((E, N)),
        known=z((E, K)), unresolved=z((E, K)),
        received=z((E, L)), scrubbed=z((E, L)), candid=np.zeros((E, N), bool),
        surfaced=z((E, N)), to_top=z(E), to_top_age=z(E), surfaced_age=z((E, N)),
        arisen_total=z(E), relayed_total=z(E), pass_ema=np.ones(E),
        keep_inflight=np.ones((E, K)), keep_hidden=np.ones((E, K)),
    )


def scrub_probability(p: ReportingParams, fear: np.ndarray, candour: np.ndarray) -> np.ndarray:
    """Chance that an officer sanitizes a sitrep holding bad news, ``[E, N]``."""
    if not p.enabled:
        return np.zeros_like(fear)
    if p.mode == "fixed":
        return np.broadcast_to(1.0 - col(p.fixed_pass_through), fear.shape)
    return np.clip(col(p.scrub_sensitivity) * fear * (1.0 - candour), 0.0, 1.0)


def sanitize_reports(
    s: ReportState,
    p: ReportingParams,
    tree: Tree,
    day: int,
    new: np.ndarray,
    new_sev: np.ndarray,
    fear: np.ndarray,
    candour: np.ndarray,
    u_sitrep: np.ndarray,
) -> ReportState:
    """One day of sitreps: new problems enter at the units, every officer forwards or buries
    what it holds, buried stocks worsen and surface once visible."""
    s = settled(s)  # yesterday's fixes leave the compartments first
    D = p.hop_delay_days
    E, N, L = fear.shape[0], tree.n, tree.levels
    inbox, inbox_sev, inbox_age = np.zeros((E, K, N)), np.zeros((E, N)), np.zeros((E, N))
    hidden, hidden_sev = s.hidden.copy(), s.hidden_sev * (1.0 + col(p.severity_growth))
    # everything already in the system ages one day
    hidden_age = s.hidden_age + s.hidden.sum(axis=1)
    inflight, inflight_sev = s.inflight.copy(), s.inflight_sev.copy()
    inflight_age = s.inflight_age + s.inflight.sum(axis=2)
    if D > 0:  # news due today reaches its officer (one above the units)
        slot, sup = day % D, slice(0, tree.n_superiors)
        inbox[:, :, sup] += inflight[:, slot]
        inbox_sev[:, sup] += inflight_sev[:, slot]
        inbox_age[:, sup] += inflight_age[:, slot]
        inflight[:, slot] = 0.0
        inflight_sev[:, slot] = 0.0
        inflight_age[:, slot] = 0.0
    units = tree.units
    inbox[:, :, units] += new
    inbox_sev[:, units] += new_sev
    unresolved = s.unresolved + new.sum(axis=2)

    p_scrub = scrub_probability(p, fear, candour)
    received, scrubbed = np.zeros((E, L)), np.zeros((E, L))
    candid = np.zeros(fear.shape, dtype=bool)
    to_top = np.zeros((E, K))
    to_top_age = np.zeros(E)
    for lvl in range(L - 1, -1, -1):  # bottom-up, so that with D = 0 news climbs in one day
        sl = tree.level_slice(lvl)
        news = inbox[:, :, sl]
        amount = news.sum(axis=1)
        has = amount > 1e-12
        scrub = has & (u_sitrep[:, sl] < p_scrub[:, sl])
        fwd = has & ~scrub
        candid[:, sl] = fwd
        received[:, lvl] = amount.sum(axis=1)
        scrubbed[:, lvl] = np.where(scrub, amount, 0.0).sum(axis=1)
        hidden[:, :, sl] += np.where(scrub[:, None, :], news, 0.0)
        hidden_sev[:, sl] += np.where(scrub, inbox_sev[:, sl], 0.0)
        hidden_age[:, sl] += np.where(scrub, inbox_age[:, sl], 0.0)
        f_news = np.where(fwd[:, None, :], news, 0.0)
        f_sev = np.where(fwd, inbox_sev[:, sl], 0.0)
        f_age = np.where(fwd, inbox_age[:, sl], 0.0)
        inbox[:, :, sl] = 0.0
        inbox_sev[:, sl] = 0.0
        inbox_age[:, sl] = 0.0
        if lvl == 0:
            to_top += f_news.sum(axis=2)
            to_top_age += f_age.sum(axis=1)
            continue
        up = tree.level_slice(lvl - 1)
        up_news = tree.sum_to_parents(f_news, lvl, axis=2)
        up_sev = tree.sum_to_parents(f_sev, lvl)
        up_age = tree.sum_to_parents(f_age, lvl)
        if D == 0:
            inbox[:, :, up] += up_news
            inbox_sev[:, up] += up_sev
            inbox_age[:, up] += up_age
        else:
            slot = day % D
            inflight[:, slot, :, up] += up_news
            inflight_sev[:, slot, up] += up_sev
            inflight_age[:, slot, up] += up_age

    # today's pass-through of the whole chain (levels that saw no news pass everything)
    pass_through = np.prod(1.0 - scrubbed / np.maximum(received, 1e-12), axis=1)

    # the smoke is visible: a command's hidden stock above the threshold surfaces entirely
    visible = hidden_sev >= col(p.visibility_threshold)
    surfaced = np.where(visible, hidden.sum(axis=1), 0.0)
    surfaced_k = np.where(visible[:, None, :], hidden, 0.0).sum(axis=2)
    surfaced_age = np.where(visible, hidden_age, 0.0)
    hidden = np.where(visible[:, None, :], 0.0, hidden)
    hidden_sev = np.where(visible, 0.0, hidden_sev)
    hidden_age = np.where(visible, 0.0, hidden_age)

    return ReportState(
        inflight=inflight, inflight_sev=inflight_sev, inflight_age=inflight_age,
        hidden=hidden, hidden_sev=hidden_sev, hidden_age=hidden_age,
        known=s.known + to_top + surfaced_k, unresolved=unresolved,
        received=received, scrubbed=scrubbed, candid=candid, surfaced=surfaced,
        to_top=to_top.sum(axis=1), to_top_age=to_top_age, surfaced_age=surfaced_age,
        arisen_total=s.arisen_total + new.sum(axis=(1, 2)),
        relayed_total=s.relayed_total + to_top.sum(axis=1),
        pass_ema=s.pass_ema + (pass_through - s.pass_ema) / p.picture_window_days,
        keep_inflight=s.keep_inflight, keep_hidden=s.keep_hidden,
    )


def timely_share(s: ReportState) -> np.ndarray:
    """Share of the units' news the chain passes to the leader in time, ``[E]``: the product
    over levels of the share not buried there, averaged over ``picture_window_days``. How
    true a picture the leader has to decide on (1 with nothing buried)."""
    return np.clip(s.pass_ema, 0.0, 1.0)


def shrink_reports(s: ReportState, keep_o: np.ndarray, keep_h: np.ndarray) -> ReportState:
    """The officer pass of :func:`remove_resolved` (plain NumPy): every compartment of domain
    k keeps ``keep_o[:, k]`` (``keep_h`` for buried news) of its problems ``[E, K]``; each
    officer's severity and age sums shrink with its counts. The inboxes are empty once the
    day's sitreps are sent (every officer forwards or buries all it holds), so only the news
    in flight and the buried news shrink."""
    def node_factor(counts: np.ndarray, shrunk: np.ndarray) -> np.ndarray:
        tot = counts.sum(axis=-2)
        return np.where(tot > 1e-12, shrunk.sum(axis=-2) / np.maximum(tot, 1e-12), 1.0)

    ko, kh = keep_o[:, :, None], keep_h[:, :, None]
    hidden, inflight = s.hidden * kh, s.inflight * ko[:, None]
    f_hid, f_fl = node_factor(s.hidden, hidden), node_factor(s.inflight, inflight)
    return replace(
        s, inflight=inflight, inflight_sev=s.inflight_sev * f_fl,
        inflight_age=s.inflight_age * f_fl, hidden=hidden, hidden_sev=s.hidden_sev * f_hid,
        hidden_age=s.hidden_age * f_hid)


def settled(
    s: ReportState,
    shrink: Callable[[ReportState, np.ndarray, np.ndarray], ReportState] = shrink_reports,
) -> ReportState:
    """``s`` with the pending removals (``keep_inflight``, ``keep_hidden``) applied to the
    officers' compartments by ``shrink`` (:func:`shrink_reports` or its compiled twin)."""
    if (s.keep_inflight == 1.0).all() and (s.keep_hidden == 1.0).all():
        return s
    out = shrink(s, s.keep_inflight, s.keep_hidden)
    ones = np.ones_like(s.keep_hidden)
    return replace(out, keep_inflight=ones, keep_hidden=ones.copy())


def remove_resolved(
    s: ReportState, resolved: np.ndarray, buried_fix_factor: np.ndarray | float = 1.0,
    shrink: Callable[[ReportState, np.ndarray, np.ndarray], ReportState] = shrink_reports,
) -> ReportState:
    """Take ``resolved`` problems ``[E, K]`` out of every place their news may be.

    Which problems a fix resolves is not tracked one by one. A problem whose news was buried
    is ``buried_fix_factor`` times as likely to be the one fixed as any other (buried
    problems are not addressed); within each group every problem is equally likely, so each
    compartment of a domain shrinks by a common factor. The leader hears of fixes of problems
    he knew of, and of no others. Severity and age sums shrink with their counts, when the
    next sitreps apply the shares kept (``keep_inflight``, ``keep_hidden``); ``shrink``
    (:func:`shrink_reports` or its compiled twin) applies removals still pending first.
    """
    resolved = np.minimum(resolved, s.unresolved)
    if not resolved.any():  # nothing resolved today: every compartment stays as it is
        return s
    s = settled(s, shrink)
    hid = s.hidden.sum(axis=2)  # [E, K]
    other = s.unresolved - hid
    f = buried_fix_factor[:, None] if isinstance(buried_fix_factor, np.ndarray) else (
        buried_fix_factor)
    x = resolved / np.maximum(other + f * hid, 1e-12)
    take_o = np.clip(x, 0.0, 1.0)
    take_h = np.clip((resolved - take_o * other) / np.maximum(hid, 1e-12), 0.0, 1.0)
    removed = take_o * other + take_h * hid
    return replace(s, known=s.known * (1.0 - take_o), unresolved=s.unresolved - removed,
                   keep_inflight=1.0 - take_o, keep_hidden=1.0 - take_h)

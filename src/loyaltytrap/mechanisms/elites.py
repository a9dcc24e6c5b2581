"""M9 elites and the banks: anxiety, hoarding, a threshold cascade of withdrawals, a bank run.

Each member holds M elite agents (``n_elites``, structural). Agent i has a Granovetter threshold
theta_i (the share of the elite that must already have pulled out before it does; a normal
with ``threshold_mean`` and ``threshold_sd``, clipped to [0, 1]), a sensitivity s_i (uniform on
[1 - ``sensitivity_spread``, 1 + ``sensitivity_spread``]) and an anxiety a_i in [0, 1].

Anxiety rises with strikes inside the borders, the share of the reserve cushion already spent
and the leader's surprises (the source: strikes at home and a shrinking cushion unnerve the
elites), and decays otherwise:

    x_i = s_i * n * (anxiety_per_strike * strikes + anxiety_per_reserve_fall * reserve_fall
                     + anxiety_per_surprise * surprises)                  [hazard units per day]
    a_i <- a_i (1 - anxiety_decay) + (1 - a_i) (1 - exp(-x_i))

with n a daily lognormal factor of mean 1 and log-sd ``anxiety_noise_sd`` (rumours), common to
a member's elite. Anxiety lowers an agent's threshold one for one, theta_eff_i = max(theta_i -
a_i, 0). An agent pulls out (withdraws its deposits and turns from the war to its own survival;
for good) once the share of the elite already out is at least theta_eff_i. Within a day the
cascade runs to its fixed point (Granovetter 1978): from the share c already out, the share out
is the least k/M >= c with

    theta_eff_(k) > k / M        (theta_eff sorted ascending, 0-based; k = M if none)

which is where the iteration share <- #{theta_eff <= share} / M stops. With thresholds 0, 1/M,
2/M, ... everyone goes; replace the agent of threshold 1/M by one of 2/M and only the
instigator goes (Granovetter's riot example).

How the thresholds are set (``threshold_draw``): ``random`` (the default) draws each agent's
threshold from the member's stream; ``quantiles`` places them deterministically at the normal
quantiles (i + 0.5) / M (a smooth, noise-free picture of the same distribution, for
Granovetter's critical spread); ``grid`` sets theta_i = i / M, i = 0..M-1 (his uniform riot;
``threshold_mean`` and ``threshold_sd`` are then unused). If ``perturbed_agent`` >= 0, that
agent's threshold is then replaced by ``perturbed_threshold`` (his one-person perturbation);
-1 leaves every threshold as drawn.

Anxious elites hoard: the war effort loses

    diverted = hoard_max_usd_bn_per_day * mean_i(h_i),   h_i = 1 if out, else a_i   [USD bn/day]

The banks (Diamond and Dybvig 1983): elites hold ``elite_deposit_share`` of all deposits, in
equal parts; the banks can pay out ``bank_liquidity`` of deposits plus a state backstop that
shrinks with the reserves,

    withdrawal_share = elite_deposit_share * share out
    liquidity        = bank_liquidity + state_backstop * (1 - reserve_fall)

and a run happens (once, then the flag stays) when withdrawal_share > liquidity
(``bank_model = "liquidity"``, the default).

With ``bank_model = "diamond_dybvig"`` the banks are Diamond and Dybvig's (1983): every deposit
of 1 was put in a long asset worth 1 if liquidated early and ``long_return`` R if held; an early
withdrawal is paid the promised ``promised_return`` r1 (R > r1 > 1). With the state's backstop
the banks hold A = 1 + state_backstop * (1 - reserve_fall) per deposit at the early date; after
paying a share w of deposits early, what is left earns R and is shared by those who wait:

    r2 = R * (A - r1 w) / (1 - w)          (0 once r1 w >= A)
    liquidity = A / r1                     (the share of deposits the banks can pay out)

and a run happens when r2 < r1: waiting no longer pays, so the depositors who could wait
withdraw too (``bank_liquidity`` is unused). Disabled: nothing changes (anxiety, withdrawals and
the run flag stay as they are), nothing is diverted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtri

from ..events import EventBatch, register_templates
from ..params import Common, col, option, param, per_member, state_record

UNIFORMS_PER_DAY = 1  # the daily rumour factor of a member's elite
INIT_UNIFORMS_PER_ELITE = 2  # threshold and sensitivity of each agent
_GOLDEN = 0.6180339887498949

register_templates({
    "elites_withdraw": ("M9", "{value:.0f} members of the elite pull their money out and turn "
                              "to their own survival ({value2:.1%} of the elite now out)"),
    "bank_run": ("M9", "bank run: withdrawals reach {value:.1%} of deposits against liquidity "
                       "of {value2:.1%}"),
})


@dataclass(frozen=True, kw_only=True)
class ElitesParams(Common):
    """Parameters of M9 (per-member values are ``[E]`` float arrays)."""

    n_elites: int = param("agents", 2, 5000, integer=True, structural=True,
                          doc="elite agents per member")
    threshold_mean: np.ndarray = param("share (0-1)", 0, 1,
                                       doc="mean share of the elite that must be out before "
                                           "an agent pulls out")
    threshold_sd: np.ndarray = param("share (0-1)", 0, 1, doc="spread of the thresholds")
    sensitivity_spread: np.ndarray = param("share (0-1)", 0, 1,
                                           doc="half-width of the agents' sensitivity around 1")
    initial_anxiety: np.ndarray = param("share (0-1)", 0, 1, doc="anxiety on day 0")
    anxiety_decay: np.ndarray = param("share per day", 0, 1,
                                      doc="daily decay of anxiety with no news")
    anxiety_per_strike: np.ndarray = param("hazard per strike", 0, 10,
                                           doc="anxiety added by a strike inside the borders")
    anxiety_per_reserve_fall: np.ndarray = param("hazard per day per share lost", 0, 10,
                                                 doc="anxiety added each day per share of the "
                                                     "reserve cushion already spent")
    anxiety_per_surprise: np.ndarray = param("hazard per surprise", 0, 10,
                                             doc="anxiety added by a surprise of the leader")
    anxiety_noise_sd: np.ndarray = param("log-sd", 0, 2,
                                         doc="day-to-day spread of the news' effect (rumours)")
    hoard_max_usd_bn_per_day: np.ndarray = param("USD bn per day", 0, 10,
                                                 doc="diversion from the war effort if the "
                                                     "whole elite hoards")
    elite_deposit_share: np.ndarray = param("share (0-1)", 0, 1,
                                            doc="share of bank deposits the elite holds")
    bank_liquidity: np.ndarray = param("share of deposits", 0, 1,
                                       doc="deposits the banks can pay out at once")
    state_backstop: np.ndarray = param("share of deposits", 0, 1,
                                       doc="liquidity the state can add with full reserves")
    promised_return: np.ndarray = param("ratio", 1, 3,
                                        doc="what an early withdrawal is paid per unit "
                                            "deposited (Diamond-Dybvig r1)")
    long_return: np.ndarray = param("ratio", 1, 5,
                                    doc="what the banks' long asset pays per unit if held "
                                        "(Diamond-Dybvig R)")
    perturbed_agent: int = param("agent index", -1, 4999, integer=True, structural=True,
                                 doc="agent whose threshold is replaced (-1: none)")
    perturbed_threshold: np.ndarray = param("share (0-1)", 0, 1,
                                            doc="the replaced agent's threshold")
    threshold_draw: str = option(("random", "quantiles", "grid"), "random",
                                 doc="random: drawn from the normal; quantiles: at the normal "
                                     "quantiles (i + 0.5)/M; grid: i/M (Granovetter's riot)")
    bank_model: str = option(("liquidity", "diamond_dybvig"), "liquidity",
                             doc="liquidity: a run when withdrawals exceed liquidity; "
                                 "diamond_dybvig: a run when waiting no longer pays")


@state_record
@dataclass(frozen=True)
class ElitesState:
    """The elite and the banks (M agents per member).

    threshold: float64 ``[E, M]`` Granovetter thresholds, share of the elite (0-1)
    sensitivity: float64 ``[E, M]`` multiplier of the news' effect on anxiety
    anxiety: float64 ``[E, M]`` share (0-1)
    out: bool ``[E, M]`` the agent has pulled out (withdrawn, turned to survival)
    out_today: float64 ``[E]`` agents who pulled out today
    diverted: float64 ``[E]`` hoarding diverted from the war effort today, USD bn per day
    diverted_total: float64 ``[E]`` cumulative, USD bn
    withdrawal_share: float64 ``[E]`` share of bank deposits withdrawn by the elite
    liquidity: float64 ``[E]`` share of deposits the banks can pay out
    bank_run: bool ``[E]`` a run has happened
    run_day: int64 ``[E]`` day of the run (-1 none)
    """

    threshold: np.ndarray
    sensitivity: np.ndarray
    anxiety: np.ndarray
    out: np.ndarray
    out_today: np.ndarray
    diverted: np.ndarray
    diverted_total: np.ndarray
    withdrawal_share: np.ndarray
    liquidity: np.ndarray
    bank_run: np.ndarray
    run_day: np.ndarray



def init_elites(p: ElitesParams, E: int, u: np.ndarray | None = None) -> ElitesState:
    """Day 0: thresholds and sensitivities drawn, nobody out yet.

    ``u`` ``[E, INIT_UNIFORMS_PER_ELITE * M]`` uniforms (thresholds, then sensitivities); with
    None, stratified quantiles (i + 0.5) / M for the thresholds and a golden-ratio sequence for
    the sensitivities (deterministic, uncorrelated with the thresholds).
    """
    M = p.n_elites
    if u is None:
        q = np.broadcast_to((np.arange(M) + 0.5) / M, (E, M))
        v = np.broadcast_to(((np.arange(M) + 0.5) * _GOLDEN) % 1.0, (E, M))
    else:
        u = np.asarray(u, dtype=np.float64)
        q, v = np.clip(u[:, :M], 1e-12, 1 - 1e-12), u[:, M:2 * M]
    if p.threshold_draw == "quantiles":
        q = np.broadcast_to((np.arange(M) + 0.5) / M, (E, M))
    mean, sd = col(per_member(p.threshold_mean, E)), col(per_member(p.threshold_sd, E))
    theta = np.clip(mean + sd * ndtri(q), 0.0, 1.0)
    if p.threshold_draw == "grid":
        theta = np.broadcast_to(np.arange(M) / M, (E, M)).copy()
    if 0 <= p.perturbed_agent < M:
        theta[:, p.perturbed_agent] = per_member(p.perturbed_threshold, E)
    spread = col(per_member(p.sensitivity_spread, E))
    sens = 1.0 + spread * (2.0 * v - 1.0)
    z = np.zeros(E)
    liquidity = bank_liquidity(p, np.zeros(E))
    return ElitesState(
        threshold=theta, sensitivity=np.asarray(sens, dtype=np.float64),
        anxiety=np.broadcast_to(col(per_member(p.initial_anxiety, E)), (E, M)).copy(),
        out=np.zeros((E, M), bool), out_today=z, diverted=z.copy(), diverted_total=z.copy(),
        withdrawal_share=z.copy(), liquidity=liquidity, bank_run=np.zeros(E, bool),
        run_day=np.full(E, -1, np.int64),
    )


def bank_liquidity(p: ElitesParams, reserve_fall: np.ndarray) -> np.ndarray:
    """Share of deposits the banks can pay out ``[E]`` given the share of the reserves spent."""
    E = np.shape(reserve_fall)[0]
    backstop = per_member(p.state_backstop, E) * (1.0 - np.clip(reserve_fall, 0.0, 1.0))
    if p.bank_model == "diamond_dybvig":
        return (1.0 + backstop) / per_member(p.promised_return, E)
    return per_member(p.bank_liquidity, E) + backstop


def bank_run_now(p: ElitesParams, withdrawal: np.ndarray, reserve_fall: np.ndarray
                 ) -> np.ndarray:
    """Whether the withdrawals ``[E]`` (share of deposits) start a run today ``[E]``: beyond
    liquidity, or (Diamond-Dybvig) once those who wait would get less than r1."""
    if p.bank_model != "diamond_dybvig":
        return withdrawal > bank_liquidity(p, reserve_fall)
    E = withdrawal.shape[0]
    r1, R = per_member(p.promised_return, E), per_member(p.long_return, E)
    # A = 1 + backstop per unit deposited; paying r1 w early leaves A - r1 w to earn R
    assets = 1.0 + per_member(p.state_backstop, E) * (1.0 - np.clip(reserve_fall, 0.0, 1.0))
    left = assets - r1 * withdrawal
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = np.where(withdrawal < 1.0, R * np.maximum(left, 0.0)
                      / np.maximum(1.0 - withdrawal, 1e-300), np.where(left >= 0, np.inf, 0.0))
    return r2 < r1


def cascade(theta_eff: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Fixed point of a Granovetter threshold cascade ``[E, M]`` (bool: out).

    Agents already ``out`` stay out; agent i joins once the share out is >= ``theta_eff[i]``.
    Returns the least fixed point reached from the current share (what iterating
    share <- #{theta_eff <= share} / M gives).
    """
    M = theta_eff.shape[1]
    t = np.sort(np.where(out, -np.inf, theta_eff), axis=1)
    k = np.arange(M)
    c = out.sum(axis=1, keepdims=True)
    stop = (t > k / M) & (k >= c)
    k_star = np.where(stop.any(axis=1), np.argmax(stop, axis=1), M)
    return out | (theta_eff <= (k_star / M)[:, None])


def move_agents(
    s: ElitesState, news: np.ndarray, decay: np.ndarray
) -> tuple[np.ndarray, ...]:
    """The agent-level pass of a day (plain NumPy): today's news ``[E]`` moves each agent's
    anxiety, which decays by ``decay`` ``[E]``; the withdrawal cascade runs. Returns anxiety
    and out ``[E, M]``, and per member ``[E]`` the share out, the agents out today and the
    mean hoarding (1 for an agent out, its anxiety otherwise)."""
    x = s.sensitivity * col(news)
    anxiety = s.anxiety * (1.0 - col(decay)) - np.expm1(-x) * (1.0 - s.anxiety)
    anxiety = np.clip(anxiety, 0.0, 1.0)
    out = cascade(np.maximum(s.threshold - anxiety, 0.0), s.out)
    share_out = out.mean(axis=1)
    out_today = (out & ~s.out).sum(axis=1).astype(float)
    return anxiety, out, share_out, out_today, np.where(out, 1.0, anxiety).mean(axis=1)


def unnerve_elites(
    s: ElitesState,
    p: ElitesParams,
    day: int,
    strikes_inside: np.ndarray,
    reserve_fall: np.ndarray,
    surprises: np.ndarray,
    u: np.ndarray,
    agents: Callable[..., tuple[np.ndarray, ...]] = move_agents,
) -> tuple[ElitesState, list[EventBatch]]:
    """One day: news moves anxiety, the withdrawal cascade runs, hoarding, the banks' test.

    Inputs ``[E]``: ``strikes_inside`` strikes inside the borders today (count),
    ``reserve_fall`` share of the initial reserves already spent (0-1), ``surprises`` leader
    surprises today (count). ``u`` uniforms ``[E, UNIFORMS_PER_DAY]``. ``agents`` is
    :func:`move_agents` or its compiled twin (:mod:`loyaltytrap.kernels`).
    """
    E = s.anxiety.shape[0]
    if not p.enabled:
        z = np.zeros(E)
        return ElitesState(s.threshold, s.sensitivity, s.anxiety, s.out, z, z.copy(),
                           s.diverted_total, s.withdrawal_share, s.liquidity, s.bank_run,
                           s.run_day), []
    sd = per_member(p.anxiety_noise_sd, E)
    z = ndtri(np.clip(u[:, 0].astype(np.float64), 1e-12, 1.0 - 1e-12))
    rumour = np.exp(sd * z - 0.5 * sd**2)
    news = (p.anxiety_per_strike * np.asarray(strikes_inside, float)
            + p.anxiety_per_reserve_fall * np.clip(reserve_fall, 0.0, 1.0)
            + p.anxiety_per_surprise * np.asarray(surprises, float)) * rumour
    anxiety, out, share_out, out_today, hoarding = agents(
        s, per_member(news, E), per_member(p.anxiety_decay, E))
    diverted = p.hoard_max_usd_bn_per_day * hoarding
    withdrawal = per_member(p.elite_deposit_share, E) * share_out
    liquidity = bank_liquidity(p, per_member(reserve_fall, E))
    new_run = bank_run_now(p, withdrawal, per_member(reserve_fall, E)) & ~s.bank_run

    events = day_events(out_today, share_out, new_run, withdrawal, liquidity)
    return ElitesState(
        threshold=s.threshold, sensitivity=s.sensitivity, anxiety=anxiety, out=out,
        out_today=out_today, diverted=diverted, diverted_total=s.diverted_total + diverted,
        withdrawal_share=withdrawal, liquidity=liquidity, bank_run=s.bank_run | new_run,
        run_day=np.where(new_run, day, s.run_day),
    ), events


def day_events(out_today: np.ndarray, share_out: np.ndarray, new_run: np.ndarray,
               withdrawal: np.ndarray, liquidity: np.ndarray) -> list[EventBatch]:
    """The day's events ``[E]``: agents pulling out (how many, the share out) and bank runs
    (the withdrawals against liquidity)."""
    m_out = np.flatnonzero(out_today > 0)
    m_run = np.flatnonzero(new_run)
    events = []
    if len(m_out):
        events.append(EventBatch("elites_withdraw", m_out, value=out_today[m_out],
                                 value2=share_out[m_out]))
    if len(m_run):
        events.append(EventBatch("bank_run", m_run, value=withdrawal[m_run],
                                 value2=liquidity[m_run]))
    return events


def cohesion(s: ElitesState) -> np.ndarray:
    """Elite cohesion ``[E]``: mean over agents of (1 - anxiety) for those still in, 0 out."""
    return np.where(s.out, 0.0, 1.0 - s.anxiety).mean(axis=1)


def elite_stress(s: ElitesState) -> np.ndarray:
    """A share in [0, 1] for M12 ``[E]``: the larger of the share out and the withdrawals'
    use of liquidity; 1 after a bank run."""
    use = np.clip(s.withdrawal_share / np.maximum(s.liquidity, 1e-12), 0.0, 1.0)
    return np.where(s.bank_run, 1.0, np.maximum(s.out.mean(axis=1), use))


def indicators() -> list[dict]:
    """Daily indicators of M9."""
    def ind(name: str, unit: str, description: str, fn: object, headline: bool = False,
            summary: str = "final") -> dict:
        return dict(name=name, unit=unit, description=description, fn=fn, extra_dim=None,
                    coords=None, headline=headline, summary=summary)

    return [
        ind("elite_anxiety", "share (0-1)", "mean anxiety of the elite",
            lambda s: s.anxiety.mean(axis=1), headline=True, summary="mean"),
        ind("elite_cohesion", "share (0-1)", "mean (1 - anxiety) of the elite still in, 0 for "
            "those out", cohesion, headline=True),
        ind("elite_out_share", "share (0-1)", "share of the elite that has pulled out "
            "(defected to its own survival)", lambda s: s.out.mean(axis=1), headline=True),
        ind("hoarding_diverted", "USD bn per day", "hoarding diverted from the war effort",
            lambda s: s.diverted, summary="mean"),
        ind("hoarding_diverted_total", "USD bn", "hoarding diverted so far",
            lambda s: s.diverted_total),
        ind("withdrawal_share", "share of deposits", "deposits withdrawn by the elite",
            lambda s: s.withdrawal_share, headline=True),
        ind("bank_liquidity", "share of deposits", "what the banks can pay out (own liquidity "
            "plus the state's backstop)", lambda s: s.liquidity),
        ind("bank_run", "0/1", "a bank run has happened", lambda s: s.bank_run.astype(float),
            headline=True),
    ]

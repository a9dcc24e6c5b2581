"""M12 regime stability and collapse.

The loops of the model meet here. Each day the engine measures five stresses, each a share in
[0, 1] read off the other mechanisms:

    military     front: force lost and slack (time, parts, options) used up     (M8)
    fiscal       reserves spent and runway short                                (M5)
    elite        elites defected or withdrawing, a bank run                      (M9)
    information  the leader's blindness: share of problems he does not know of   (M2, M11)
    command      fear in the officer corps and the purge rate                    (M3)

The stability index is one minus their weighted mean,

    stress = sum_i w_i * c_i / sum_i w_i,        stability = 1 - stress,

and the regime collapses on a day with probability

    h = base_hazard * exp(stress_sensitivity * stress)        (per day)

or at once when stability stays below ``collapse_threshold`` for ``threshold_days`` days
running. The cause of a collapse is the stress with the largest weighted contribution that day
(military defeat, fiscal exhaustion, elite defection, blindness, or a command breakdown).
After a collapse the engine freezes that member: its trajectory ends on the collapse day.

The leader's sense of threat follows the stress: threat = threat_floor + (1 - threat_floor) *
stress, which drives the purges of effective commanders (M3; Egorov and Sonin 2011: a more
threatened ruler keeps less competent, more loyal servants).

With every stress at zero the survival probability after t days is exp(-base_hazard * t);
with constant stress c it is exp(-h(c) t) (a constant-hazard, exponential survival law).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..events import EventBatch, register_templates
from ..params import Common, param, state_record

STRESSES = ("military", "fiscal", "elite", "information", "command")
CAUSES = ("military defeat", "fiscal exhaustion", "elite defection", "blindness",
          "command breakdown")

register_templates({
    "collapse": ("M12", "the regime collapses ({label}); stability {value:.2f}, "
                        "stress {value2:.2f}"),
})

UNIFORMS_PER_DAY = 1


@dataclass(frozen=True, kw_only=True)
class StabilityParams(Common):
    """Parameters of M12."""

    weight_military: np.ndarray = param("weight", 0, 10, doc="weight of the front's stress")
    weight_fiscal: np.ndarray = param("weight", 0, 10, doc="weight of fiscal stress")
    weight_elite: np.ndarray = param("weight", 0, 10, doc="weight of elite stress")
    weight_information: np.ndarray = param("weight", 0, 10,
                                           doc="weight of the leader's blindness")
    weight_command: np.ndarray = param("weight", 0, 10, doc="weight of command stress")
    base_hazard: np.ndarray = param("probability per day", 0, 0.1,
                                    doc="daily chance of collapse with no stress")
    stress_sensitivity: np.ndarray = param("per unit of stress", 0, 50,
                                           doc="how steeply the hazard rises with stress")
    collapse_threshold: np.ndarray = param("stability (0-1)", 0, 1,
                                           doc="stability below which the regime cannot hold")
    threshold_days: np.ndarray = param("days", 1, 365,
                                       doc="days below the threshold before it falls")
    threat_floor: np.ndarray = param("share (0-1)", 0, 1,
                                     doc="the leader's threat with no stress")


@state_record
@dataclass(frozen=True)
class StabilityState:
    """Regime state.

    stability: float64 ``[E]`` 1 - weighted stress (0-1)
    stress: float64 ``[E, 5]`` today's stresses (military, fiscal, elite, information, command)
    below_days: float64 ``[E]`` days running below the collapse threshold
    collapsed: bool ``[E]`` the regime has fallen
    collapse_day: int64 ``[E]`` day of the collapse (-1 none)
    cause: int8 ``[E]`` index into CAUSES (-1 none)
    threat: float64 ``[E]`` the leader's sense of threat (0-1)
    """

    stability: np.ndarray
    stress: np.ndarray
    below_days: np.ndarray
    collapsed: np.ndarray
    collapse_day: np.ndarray
    cause: np.ndarray
    threat: np.ndarray


def init_stability(p: StabilityParams, E: int, threat: np.ndarray) -> StabilityState:
    """A standing regime with no stress; the leader's threat as the scenario starts it."""
    return StabilityState(
        stability=np.ones(E), stress=np.zeros((E, len(STRESSES))), below_days=np.zeros(E),
        collapsed=np.zeros(E, bool), collapse_day=np.full(E, -1, np.int64),
        cause=np.full(E, -1, np.int8), threat=np.asarray(threat, float).copy(),
    )


def weights(p: StabilityParams, E: int) -> np.ndarray:
    """Stress weights ``[E, 5]``."""
    w = [p.weight_military, p.weight_fiscal, p.weight_elite, p.weight_information,
         p.weight_command]
    return np.stack([np.broadcast_to(np.asarray(x, float), (E,)) for x in w], axis=1)


def assess_stability(
    s: StabilityState, p: StabilityParams, day: int, stress: np.ndarray, u: np.ndarray
) -> tuple[StabilityState, list[EventBatch]]:
    """Today's stability, the leader's threat and whether the regime falls.

    ``stress`` ``[E, 5]`` in [0, 1]; ``u`` uniforms ``[E, 1]``. Disabled: stability is
    still measured, the threat stays where it is and the regime never falls.
    """
    E = stress.shape[0]
    stress = np.clip(stress, 0.0, 1.0)
    w = weights(p, E)
    contrib = w * stress
    total = contrib.sum(axis=1) / np.maximum(w.sum(axis=1), 1e-12)
    stability = 1.0 - total
    if not p.enabled:
        return StabilityState(stability, stress, s.below_days, s.collapsed, s.collapse_day,
                              s.cause, s.threat), []
    below = np.where(stability < p.collapse_threshold, s.below_days + 1.0, 0.0)
    hazard = np.clip(p.base_hazard * np.exp(p.stress_sensitivity * total), 0.0, 1.0)
    falls = (u[:, 0] < hazard) | (below >= p.threshold_days)
    new = falls & ~s.collapsed
    cause = np.where(new, np.argmax(contrib, axis=1), s.cause).astype(np.int8)
    collapse_day = np.where(new, day, s.collapse_day)
    threat = p.threat_floor + (1.0 - p.threat_floor) * total
    events = collapse_events(new, stability, total, cause)
    return StabilityState(stability, stress, below, s.collapsed | new, collapse_day, cause,
                          threat), events


def collapse_events(
    new: np.ndarray, stability: np.ndarray, total: np.ndarray, cause: np.ndarray
) -> list[EventBatch]:
    """The collapses of the day (members in ``new`` ``[E]``), none on a day without one."""
    rows = np.flatnonzero(new)
    return [EventBatch("collapse", rows, value=stability[rows], value2=total[rows],
                       label=np.array(CAUSES, dtype=object)[cause[rows]])] if len(rows) else []


def indicators() -> list[dict]:
    """Daily indicators of M12."""
    return [
        dict(name="stability", unit="index (0-1)", description="1 - weighted stress",
             fn=lambda s: s.stability, headline=True),
        dict(name="stress", unit="share", description="stresses by source", fn=lambda s: s.stress,
             extra_dim="stressor", coords=list(STRESSES)),
        dict(name="collapsed", unit="0/1", description="the regime has fallen",
             fn=lambda s: s.collapsed.astype(float), headline=True),
        dict(name="collapse_cause", unit="code", description="index of the collapse cause "
             "(-1 standing; " + ", ".join(f"{i} {c}" for i, c in enumerate(CAUSES)) + ")",
             fn=lambda s: s.cause.astype(float)),
        dict(name="threat", unit="share", description="the leader's sense of threat",
             fn=lambda s: s.threat),
    ]

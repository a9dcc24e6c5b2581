"""The event log: what happened, to whom, and why, one row per event.

Step functions return :class:`EventBatch` objects (columns over the members concerned); the
engine stamps the day and collects them. Each event kind has a sentence template, so a row
reads as a link in a chain of causes (fear -> scrubbed reports -> surprise -> scapegoat ->
more fear).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

# event kind -> (mechanism id, sentence template over the row's fields). Mechanism modules
# add their own kinds with register_templates() when they are imported.
TEMPLATES: dict[str, tuple[str, str]] = {
    "surfaced": ("M2", "news buried by officer {officer} (level {level}) surfaced: {value:.0f} "
                       "problems hidden for {value2:.0f} days on average"),
    "surprise": ("M11", "the leader is surprised: {value:.0f} problems he did not know of "
                        "became visible (his picture had {value2:.0f})"),
    "response": ("M11", "the leader answers the surprise with {label}"),
    "purge": ("M3", "officer {officer} (level {level}) purged for {label}; competence "
                    "{value:.2f}, replaced by one of competence {value2:.2f}"),
    "fear_spread": ("M3", "purges at level {level} raise fear there to {value:.2f} "
                          "(from {value2:.2f})"),
    "reruns": ("M4", "{value:.0f} failed manoeuvres rerun while orders waited {value2:.1f} "
                     "days on average ({label})"),
}



def register_templates(templates: dict[str, tuple[str, str]]) -> None:
    """Add event kinds: ``{kind: (mechanism id, template over officer, level, value, value2,
    label)}``."""
    TEMPLATES.update(templates)


COLUMNS = ["day", "member", "mechanism", "event", "officer", "level", "value", "value2",
           "label", "details"]


@dataclass
class EventBatch:
    """Events of one kind on one day, one entry per affected member (and officer)."""

    event: str
    member: np.ndarray
    officer: np.ndarray | None = None
    level: np.ndarray | None = None
    value: np.ndarray | None = None
    value2: np.ndarray | None = None
    label: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.member)


@dataclass
class EventLog:
    """Events collected over a run of a batch of members (rows are batch rows until
    :meth:`frame` maps them to global member ids)."""

    batches: list[tuple[int, EventBatch]] = field(default_factory=list)

    def add(self, day: int, batches: list[EventBatch]) -> None:
        """Keep the non-empty batches of a day."""
        self.batches.extend((day, b) for b in batches if len(b))

    def frame(self, member_ids: np.ndarray, details: bool = True) -> pd.DataFrame:
        """The log as a table (day, member, mechanism, event, officer, level, value, value2,
        label, details), ordered by member, then day. ``details=False`` leaves out the
        sentences (the store renders them when it reads the events back)."""
        columns = COLUMNS if details else COLUMNS[:-1]
        if not self.batches:
            return pd.DataFrame({c: pd.Series(dtype=_dtype(c)) for c in columns})
        # one concatenation per column (building a frame per batch is slow)
        n = [len(b) for _, b in self.batches]
        cat = np.concatenate
        event = np.repeat([b.event for _, b in self.batches], n)
        officer = cat([_or(b.officer, len(b), -1) for _, b in self.batches]).astype(np.int64)
        level = cat([_or(b.level, len(b), -1) for _, b in self.batches]).astype(np.int64)
        value = cat([_or(b.value, len(b), np.nan) for _, b in self.batches]).astype(np.float64)
        value2 = cat([_or(b.value2, len(b), np.nan) for _, b in self.batches]).astype(
            np.float64)
        label = cat([np.asarray(_or(b.label, len(b), ""), dtype=object)
                     for _, b in self.batches]).astype(str)
        df = pd.DataFrame({
            "day": np.repeat([d for d, _ in self.batches], n).astype(np.int32),
            "member": member_ids[cat([b.member for _, b in self.batches])].astype(np.int64),
            "mechanism": np.repeat([TEMPLATES[b.event][0] for _, b in self.batches], n),
            "event": event, "officer": officer, "level": level, "value": value,
            "value2": value2, "label": label,
        })
        if details:  # one sentence per row, formatted from plain Python values
            df["details"] = [
                TEMPLATES[e][1].format(officer=o, level=lv, value=v, value2=v2, label=lb)
                for e, o, lv, v, v2, lb in zip(event.tolist(), officer.tolist(),
                                               level.tolist(), value.tolist(), value2.tolist(),
                                               label.tolist(), strict=True)
            ]
        return df.sort_values(["member", "day"], kind="stable").reset_index(drop=True)


def _or(x: np.ndarray | None, n: int, fill: object) -> np.ndarray:
    return np.asarray(x) if x is not None else np.full(n, fill)


def _dtype(col: str) -> str:
    return {"day": "int32", "member": "int64", "officer": "int64", "level": "int64",
            "value": "float64", "value2": "float64"}.get(col, "object")

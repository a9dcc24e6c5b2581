"""M1 command hierarchy: the tree of officers and their attributes.

Officers are numbered level by level, top first: level 0 holds the chief of the general staff,
the last level holds unit commanders. A regular tree with ``branching`` subordinates per officer
puts every officer's subordinates in one contiguous block, so moving a quantity one level up is
a reshape and a sum. The leader (M11) sits above level 0 and is not an officer.

With M1 switched off the command is flat: the same number of units report straight to the
leader and every officer has the level means (no heterogeneity).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import ClassVar

import numpy as np
from scipy.special import ndtri

from ..params import Common, col, param, state_record

SERVING, JAILED, DISAPPEARED, REMOVED = 0, 1, 2, 3
STATUS_NAMES = ("serving", "jailed", "disappeared", "removed")


@dataclass(frozen=True, kw_only=True)
class HierarchyParams(Common):
    """Parameters of M1 (per-member values are ``[E]`` float arrays)."""

    levels: int = param("levels", 2, 9, integer=True, structural=True,
                        doc="officer levels from the general staff (0) down to unit commanders")
    branching: int = param("subordinates per officer", 1, 8, integer=True, structural=True,
                           doc="direct subordinates of each officer")
    competence_mean: np.ndarray = param("share (0-1)", 0, 1, doc="mean officer competence")
    competence_sd: np.ndarray = param("share (0-1)", 0, 0.5, doc="spread of competence")
    loyalty_mean: np.ndarray = param("share (0-1)", 0, 1, doc="mean loyalty to the leader")
    loyalty_sd: np.ndarray = param("share (0-1)", 0, 0.5, doc="spread of loyalty")
    candour_mean: np.ndarray = param("share (0-1)", 0, 1,
                                     doc="mean disposition to report bad news despite fear")
    candour_sd: np.ndarray = param("share (0-1)", 0, 0.5, doc="spread of candour")
    initial_fear: np.ndarray = param("share (0-1)", 0, 1, doc="fear of every officer on day 0")


@dataclass(frozen=True)
class Tree:
    """Shape of the chain of command (shared by every member)."""

    level_sizes: tuple[int, ...]

    @property
    def levels(self) -> int:
        """Number of officer levels."""
        return len(self.level_sizes)

    @property
    def n(self) -> int:
        """Number of officers."""
        return sum(self.level_sizes)

    @cached_property
    def offsets(self) -> tuple[int, ...]:
        """Index of the first officer of each level."""
        out, acc = [], 0
        for s in self.level_sizes:
            out.append(acc)
            acc += s
        return tuple(out)

    @property
    def units(self) -> slice:
        """Officers of the bottom level (unit commanders)."""
        return self.level_slice(self.levels - 1)

    @property
    def n_units(self) -> int:
        """Number of unit commanders."""
        return self.level_sizes[-1]

    @property
    def n_superiors(self) -> int:
        """Number of officers above the unit commanders (the ones with subordinates: they
        come first in the numbering)."""
        return self.n - self.n_units

    def level_slice(self, level: int) -> slice:
        """Officers of one level."""
        o = self.offsets[level]
        return slice(o, o + self.level_sizes[level])

    def level_of(self) -> np.ndarray:
        """Level of every officer, ``[N]`` int (read-only, computed once)."""
        return self._level_of

    @cached_property
    def _level_of(self) -> np.ndarray:
        out = np.repeat(np.arange(self.levels), self.level_sizes)
        out.flags.writeable = False
        return out

    def parent(self) -> np.ndarray:
        """Parent of every officer, ``[N]`` int (-1 for level 0: they report to the leader;
        read-only, computed once)."""
        return self._parent

    @cached_property
    def _parent(self) -> np.ndarray:
        par = np.full(self.n, -1, dtype=np.int64)
        for lvl in range(1, self.levels):
            b = self.level_sizes[lvl] // self.level_sizes[lvl - 1]
            pos = np.arange(self.level_sizes[lvl])
            par[self.level_slice(lvl)] = self.offsets[lvl - 1] + pos // b
        par.flags.writeable = False
        return par

    def ancestor_at(self, officer: np.ndarray, level: int) -> np.ndarray:
        """The ancestor at ``level`` of each officer (itself when already at or above it)."""
        officer = np.asarray(officer, dtype=np.int64)
        par = self.parent()
        lv = self.level_of()
        out = officer.copy()
        for _ in range(self.levels):
            up = lv[out] > level
            out = np.where(up, par[out], out)
        return out

    def sum_to_parents(self, x: np.ndarray, level: int, axis: int = 1) -> np.ndarray:
        """Sum a quantity of the officers of ``level`` (officer axis ``axis``, the last axis
        of ``x`` from there on) over each parent: ``n_l`` -> ``n_{l-1}`` officers."""
        n_up = self.level_sizes[level - 1]
        b = self.level_sizes[level] // n_up
        return x.reshape(*x.shape[:axis], n_up, b).sum(axis=axis + 1)


def build_tree(p: HierarchyParams) -> Tree:
    """The tree of the scenario: ``levels`` levels of ``branching``-ary fan-out, or flat if off."""
    if not p.enabled:
        return Tree((p.branching ** (p.levels - 1),))
    return Tree(tuple(p.branching**lvl for lvl in range(p.levels)))


@state_record
@dataclass(frozen=True)
class OfficerState:
    """Officer attributes, every array ``[E, N]`` (members x officers).

    competence: float64, share 0-1 (how often a decision taken by the officer works)
    loyalty: float64, share 0-1 (what the leader selects replacements for)
    candour: float64, share 0-1 (disposition to report bad news despite fear)
    fear: float64, share 0-1 (expected personal cost of bad news)
    status: int8, 0 serving, 1 jailed, 2 disappeared, 3 removed: the fate of the last holder
        of the post while an acting deputy fills it
    vacant_until: int32, day the post is filled again (status returns to serving)
    """

    competence: np.ndarray
    loyalty: np.ndarray
    candour: np.ndarray
    fear: np.ndarray
    status: np.ndarray
    vacant_until: np.ndarray

    # fields with an officer axis after the member axis (every one here)
    officer_fields: ClassVar[tuple[str, ...]] = (
        "competence", "loyalty", "candour", "fear", "status", "vacant_until")


def clipped_normal(mean: np.ndarray | float, sd: np.ndarray | float, u: np.ndarray) -> np.ndarray:
    """Normal draws by inversion of uniforms ``u``, clipped to [0, 1]."""
    z = ndtri(np.clip(u, 1e-7, 1 - 1e-7))
    return np.clip(mean + sd * z, 0.0, 1.0)


def init_officers(p: HierarchyParams, tree: Tree, u: np.ndarray) -> OfficerState:
    """Draw the officer corps: ``u`` holds uniforms ``[E, 3, N]``."""
    E, N = u.shape[0], tree.n
    heterogeneous = 1.0 if p.enabled else 0.0
    comp = clipped_normal(col(p.competence_mean), col(p.competence_sd) * heterogeneous, u[:, 0])
    loy = clipped_normal(col(p.loyalty_mean), col(p.loyalty_sd) * heterogeneous, u[:, 1])
    cand = clipped_normal(col(p.candour_mean), col(p.candour_sd) * heterogeneous, u[:, 2])
    fear = np.broadcast_to(col(p.initial_fear), (E, N)).astype(np.float64)
    return OfficerState(
        competence=comp,
        loyalty=loy,
        candour=cand,
        fear=fear.copy(),
        status=np.zeros((E, N), dtype=np.int8),
        vacant_until=np.zeros((E, N), dtype=np.int32),
    )


def level_mean(x: np.ndarray, tree: Tree) -> np.ndarray:
    """Mean of an officer quantity per level: ``[E, N]`` -> ``[E, L]``."""
    return np.stack([x[:, tree.level_slice(lv)].mean(axis=1) for lv in range(tree.levels)], axis=1)

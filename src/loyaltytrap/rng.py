"""Random streams from a seed tree keyed by (root seed, member, mechanism).

Every ensemble member owns one ``numpy.random.Generator`` per mechanism, seeded with
``SeedSequence([root_seed, member, stream])`` (NumPy's guide to parallel random number
generation; a list entropy, never ``seed + id``). A member's draws therefore depend only on its
own index and state, never on how many members share a batch or which worker runs it.

Mechanisms consume uniforms in fixed-shape daily blocks (:meth:`Streams.uniform`), so the
number of draws a member takes does not depend on its state; rarer draws whose count does
depend on state (the attributes of a replacement officer) come from :meth:`Streams.sparse`,
still from that member's own generator.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

# Stable stream ids: appending a mechanism must not reshuffle the streams of the others.
STREAM_IDS: dict[str, int] = {
    "sampling": 0,
    "hierarchy": 1,
    "reporting": 2,
    "purges": 3,
    "signoff": 4,
    "money": 5,
    "industry": 6,
    "strikes": 7,
    "front": 8,
    "elites": 9,
    "allies": 10,
    "leader": 11,
    "stability": 12,
    "world": 13,
}

BLOCK_DAYS = 16  # days of uniforms drawn per generator call (amortises Python overhead)


def _fill_uniforms() -> Callable[[np.ndarray, np.ndarray, int], None] | None:
    """The compiled converter of raw draws to uniforms, or None to draw through NumPy."""
    from . import kernels

    return kernels.fill_uniforms if kernels.enabled() else None


def stream_key(name: str) -> list[int]:
    """Seed-tree key words of a stream name ``"mechanism"`` or ``"mechanism:tag"``.

    The tag is hashed with FNV-1a (stable across processes; Python's ``hash`` is salted).
    """
    base, _, tag = name.partition(":")
    h = 2166136261
    for ch in tag.encode():
        h = ((h ^ ch) * 16777619) & 0xFFFFFFFF
    return [STREAM_IDS[base], h]


def member_generator(root_seed: int, member: int, stream: str) -> np.random.Generator:
    """The generator of one member for one stream."""
    key = [int(root_seed), int(member), *stream_key(stream)]
    return np.random.default_rng(np.random.SeedSequence(key))


class Streams:
    """All random streams of a batch of members (global member ids ``members``)."""

    def __init__(self, root_seed: int, members: np.ndarray) -> None:
        self.root_seed = int(root_seed)
        self.members = np.asarray(members, dtype=np.int64)
        self._gens: dict[str, list[np.random.Generator]] = {}
        # (stream, tag) -> (first day, uniforms [BLOCK_DAYS, rows, size], the rows of this
        # batch in them or None for all): day-major, so that a day's draws are contiguous
        self._blocks: dict[tuple[str, str], tuple[int, np.ndarray, np.ndarray | None]] = {}

    def generators(self, stream: str) -> list[np.random.Generator]:
        """One generator per member for ``stream`` (created on first use)."""
        gens = self._gens.get(stream)
        if gens is None:
            gens = [member_generator(self.root_seed, int(m), stream) for m in self.members]
            self._gens[stream] = gens
        return gens

    def uniform(self, stream: str, tag: str, day: int, size: int) -> np.ndarray:
        """Uniforms in [0, 1) of shape ``[E, size]`` for ``day`` (float32).

        Each (stream, tag) must be asked for every day with the same ``size``; blocks of
        ``BLOCK_DAYS`` days are drawn per member at once.
        """
        key = (stream, tag)
        start = day - day % BLOCK_DAYS
        cached = self._blocks.get(key)
        if cached is None or cached[0] != start:
            gens = self.generators(stream + ":" + tag)
            block = np.empty((BLOCK_DAYS, len(gens), size), dtype=np.float32)
            fill = _fill_uniforms()
            if fill is None:
                one = np.empty((BLOCK_DAYS, size), dtype=np.float32)  # reused: no allocation
                for i, g in enumerate(gens):
                    g.random(dtype=np.float32, out=one)
                    block[:, i, :] = one
            else:  # the same numbers from the raw 64-bit output (BLOCK_DAYS is even)
                for i, g in enumerate(gens):
                    fill(g.bit_generator.random_raw(BLOCK_DAYS * size // 2), block, i)
            cached = (start, block, None)
            self._blocks[key] = cached
        _, block, rows = cached
        return block[day - start] if rows is None else block[day - start, rows]

    def take(self, keep: np.ndarray) -> Streams:
        """The streams of the members in ``keep`` (boolean ``[E]``), with their generators and
        the uniform blocks already drawn, so that their sequences continue unchanged."""
        out = Streams(self.root_seed, self.members[keep])
        idx = np.flatnonzero(keep)
        out._gens = {k: [g[i] for i in idx] for k, g in self._gens.items()}
        out._blocks = {k: (start, block, idx if rows is None else rows[idx])
                       for k, (start, block, rows) in self._blocks.items()}
        return out

    def sparse(self, stream: str, member_rows: np.ndarray, size: int) -> np.ndarray:
        """``size`` uniforms (float64) for each listed batch row, from that member's generator.

        Rows must be listed in increasing order of the event they serve, so that the order in
        which a member consumes its stream is fixed by its own state alone.
        """
        gens = self.generators(stream + ":sparse")
        out = np.empty((len(member_rows), size))
        for i, row in enumerate(member_rows):
            out[i] = gens[int(row)].random(size)
        return out

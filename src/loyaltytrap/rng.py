"""Random streams from a seed tree keyed by (root seed, member, mechanism).

Every ensemble member owns one ``numpy.random.Generator`` per mechanism, seeded with
``SeedSequence([root_seed, member, stream])`` (NumPy's guide to parallel random number
generation; a list entropy, never ``seed + id``). A member's draws therefore depend only on its
own index and state, never on how many members share a batch or which worker runs it.

Mechanisms consume uniforms in fixed-shape daily blocks (:meth:`Streams.uniform`), so the
number of draws a member takes does not depend on its state (a mechanism switched off draws
none: :meth:`Streams.uniform_if`); rarer draws whose count does
depend on state (the attributes of a replacement officer) come from :meth:`Streams.sparse`,
still from that member's own generator. A compiled kernel that reads a daily block only in
places may take it as :meth:`Streams.lazy_uniform`: the same numbers, computed only where read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

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


# a stream of at most SMALL_SIZE uniforms a member-day, or of at most SMALL_DAY a day for the
# whole batch when first asked for (one member's officer streams), is drawn BLOCK_DAYS days at
# a time: one call instead of sixteen, the block (at most 512 kB) still in cache when its days
# are read; larger streams are drawn a day at a time, in cache when the day's passes read them
SMALL_SIZE = 16
SMALL_DAY = 8192


def _compiled_draw() -> tuple[Callable[..., Any], ...] | None:
    """The compiled draws (a day, and a block of days) and the reader of a generator's
    state, or None to draw through NumPy (no Numba, or the kernels switched off)."""
    from . import kernels

    if not kernels.enabled():
        return None
    from .kernels.uniforms import pcg64_state, skip_uniforms

    return kernels.draw_uniforms, kernels.draw_uniform_days, pcg64_state, skip_uniforms


_JUMPS: dict[int, np.ndarray] = {}


def jump_table(size: int) -> np.ndarray:
    """The jump table (:func:`loyaltytrap.kernels.uniforms.jump_table`) for days of ``size``
    uniforms a member, one per process for each size."""
    K = size // 2 + 1
    table = _JUMPS.get(K)
    if table is None:
        from .kernels import uniforms

        table = _JUMPS[K] = uniforms.jump_table(K)
    return table


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


# NumPy's SeedSequence (numpy/random/bit_generator.pyx) and PCG64's seeding
# (numpy/random/src/pcg64/pcg64.c), for starting states without a Generator object
_INIT_A, _MULT_A, _INIT_B, _MULT_B = 0x43B0D7E5, 0x931E8875, 0x8B51F9DD, 0x58F38DED
_MIX_L, _MIX_R, _XSHIFT, _POOL = 0xCA01F9DD, 0x4973F715, 16, 4
_PCG_MULT = 0x2360ED051FC65DA44385DF649FCCF645
_MASK128 = (1 << 128) - 1


def _words(n: int) -> list[int]:
    """The uint32 words SeedSequence makes of a non-negative int (least significant first)."""
    out = [n & 0xFFFFFFFF]
    n >>= 32
    while n:
        out.append(n & 0xFFFFFFFF)
        n >>= 32
    return out


def _hashmix(value: np.ndarray, h: list[int]) -> np.ndarray:
    value = value ^ np.uint32(h[0])
    h[0] = (h[0] * _MULT_A) & 0xFFFFFFFF
    value = value * np.uint32(h[0])
    return value ^ (value >> np.uint32(_XSHIFT))


def _mix(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    r = np.uint32(_MIX_L) * x - np.uint32(_MIX_R) * y
    return r ^ (r >> np.uint32(_XSHIFT))


def seed_states(root_seed: int, members: np.ndarray, stream: str) -> np.ndarray:
    """The PCG64 states (uint64 ``[E, 6]``, as :func:`loyaltytrap.kernels.uniforms.pcg64_state`
    reads them) of :func:`member_generator` for each member, computed for all members at once
    without building a Generator each (NumPy's seeding, word for word, vectorised over the
    members; measured at 64 members: 21 us a member through a Generator, 4.6 us here)."""
    members = np.asarray(members, dtype=np.int64)
    if int(root_seed) < 0 or (len(members) and (members.min() < 0 or members.max() >> 32)):
        raise ValueError("seed_states takes a non-negative root seed and member ids < 2**32")
    # the entropy [root_seed, member, stream id, tag hash]: every part but the member's word
    # is the same for all members
    head = _words(int(root_seed))
    sid, tag = stream_key(stream)
    cols = ([np.full(len(members), w, np.uint32) for w in head] + [members.astype(np.uint32)]
            + [np.full(len(members), w, np.uint32) for w in [*_words(sid), *_words(tag)]])
    with np.errstate(over="ignore"):
        h = [_INIT_A]
        zero = np.zeros(len(members), np.uint32)
        pool = [_hashmix(cols[i] if i < len(cols) else zero, h) for i in range(_POOL)]
        for src in range(_POOL):
            for dst in range(_POOL):
                if src != dst:
                    pool[dst] = _mix(pool[dst], _hashmix(pool[src], h))
        for src in range(_POOL, len(cols)):
            for dst in range(_POOL):
                pool[dst] = _mix(pool[dst], _hashmix(cols[src], h))
        words = np.empty((len(members), 8), np.uint32)  # generate_state(4, uint64)
        hb = _INIT_B
        for i in range(8):
            v = pool[i % _POOL] ^ np.uint32(hb)
            hb = (hb * _MULT_B) & 0xFFFFFFFF
            v = v * np.uint32(hb)
            words[:, i] = v ^ (v >> np.uint32(_XSHIFT))
    val = words.view(np.uint64).tolist()  # little-endian pairs: 4 uint64 a member
    out = np.zeros((len(members), 6), np.uint64)
    for e, (s0, s1, i0, i1) in enumerate(val):
        inc = ((((i0 << 64) | i1) << 1) | 1) & _MASK128  # pcg_setseq_128_srandom_r
        st = (((inc + ((s0 << 64) | s1)) & _MASK128) * _PCG_MULT + inc) & _MASK128
        out[e, :4] = (st >> 64, st & 0xFFFFFFFFFFFFFFFF, inc >> 64, inc & 0xFFFFFFFFFFFFFFFF)
    return out


@dataclass
class _LazyDraws:
    """Where the members' generators of one (stream, tag) read where needed stand: each
    generator's PCG64 state at the start of the day after ``day`` (``st``), the jump table of
    days of ``size`` numbers, and the last day handed out (its first states and the table)."""

    st: np.ndarray
    jt: np.ndarray
    size: int
    day: int = -1
    out: tuple[np.ndarray, np.ndarray] | None = None

    def take(self, idx: np.ndarray) -> _LazyDraws:
        """The draws of the rows ``idx``."""
        out = None if self.out is None else (self.out[0][idx], self.jt)
        return _LazyDraws(self.st[idx], self.jt, self.size, self.day, out)


@dataclass
class _DailyDraws:
    """Where the members' generators of one (stream, tag) stand, for the compiled draws: each
    generator's PCG64 state (``st``, uint64 ``[E, 6]``, see
    :func:`loyaltytrap.kernels.uniforms.pcg64_state`), the last day drawn and its uniforms,
    and for a small stream the block of days drawn with it (``block`` ``[BLOCK_DAYS, E,
    size]`` from day ``block_start``)."""

    st: np.ndarray
    blocked: bool = False  # drawn a block of days at a time (decided when first asked)
    day: int = -1
    out: np.ndarray | None = None
    block: np.ndarray | None = None
    block_start: int = 0

    def take(self, idx: np.ndarray) -> _DailyDraws:
        """The draws of the rows ``idx``."""
        if self.block is not None:
            # C order again (fancy indexing on the second axis leaves it permuted): a day of
            # it is then the same kind of array for the kernels as before, not a new one to
            # compile for
            block = np.ascontiguousarray(self.block[:, idx])
            out = block[self.day - self.block_start] if self.day >= 0 else None
            return _DailyDraws(self.st[idx], self.blocked, self.day, out, block,
                               self.block_start)
        return _DailyDraws(self.st[idx], self.blocked, self.day,
                           None if self.out is None else self.out[idx])


class Streams:
    """All random streams of a batch of members (global member ids ``members``)."""

    def __init__(self, root_seed: int, members: np.ndarray) -> None:
        self.root_seed = int(root_seed)
        self.members = np.asarray(members, dtype=np.int64)
        self._gens: dict[str, list[np.random.Generator]] = {}
        # without the compiled draw: (stream, tag) -> (first day, uniforms [BLOCK_DAYS,
        # rows, size], the rows of this batch in them or None for all), day-major
        self._blocks: dict[tuple[str, str], tuple[int, np.ndarray, np.ndarray | None]] = {}
        # with it: (stream, tag) -> the generators' PCG64 states and the last draws
        self._daily: dict[tuple[str, str], _DailyDraws] = {}
        # read where needed (lazy_uniform): (stream, tag) -> the generators' states
        self._lazy: dict[tuple[str, str], _LazyDraws] = {}
        self._draw = _compiled_draw()
        self._unread: dict[tuple[int, int], np.ndarray] = {}  # uniform_if's blocks of zeros

    def generators(self, stream: str) -> list[np.random.Generator]:
        """One generator per member for ``stream`` (created on first use)."""
        gens = self._gens.get(stream)
        if gens is None:
            gens = [member_generator(self.root_seed, int(m), stream) for m in self.members]
            self._gens[stream] = gens
        return gens

    def _states(self, stream: str) -> np.ndarray:
        """The members' PCG64 states for ``stream`` at its start, for the compiled draws:
        computed from the seed tree (:func:`seed_states`), or read off the generators when
        they exist or the ids are outside what it takes."""
        assert self._draw is not None
        if stream not in self._gens and self.root_seed >= 0 and (
                not len(self.members) or (self.members.min() >= 0
                                          and not self.members.max() >> 32)):
            return seed_states(self.root_seed, self.members, stream)
        return np.array([self._draw[2](g) for g in self.generators(stream)], dtype=np.uint64)

    def uniform(self, stream: str, tag: str, day: int, size: int) -> np.ndarray:
        """Uniforms in [0, 1) of shape ``[E, size]`` for ``day`` (float32): each member's next
        ``size`` numbers of ``Generator.random(dtype=np.float32)`` on its (stream, tag)
        generator.

        Each (stream, tag) must be asked for every day with the same ``size`` and days in
        increasing order (a day nobody asks for is drawn and dropped). With the compiled
        kernels a day is drawn when asked, by one compiled call over the members that steps
        each generator through its state's address, so that the numbers are in cache when
        used; without them, blocks of ``BLOCK_DAYS`` days are drawn per member through NumPy.
        The numbers are the same either way.
        """
        key = (stream, tag)
        if key in self._lazy:
            raise ValueError(f"the uniforms of {key} are read where needed (lazy_uniform)")
        if self._draw is not None:
            return self._uniform_daily(key, day, size)
        start = day - day % BLOCK_DAYS
        cached = self._blocks.get(key)
        if cached is None or cached[0] != start:
            gens = self.generators(stream + ":" + tag)
            block = np.empty((BLOCK_DAYS, len(gens), size), dtype=np.float32)
            one = np.empty((BLOCK_DAYS, size), dtype=np.float32)  # reused: no allocation
            for i, g in enumerate(gens):
                g.random(dtype=np.float32, out=one)
                block[:, i, :] = one
            cached = (start, block, None)
            self._blocks[key] = cached
        _, block, rows = cached
        return block[day - start] if rows is None else block[day - start, rows]

    def uniform_if(self, on: bool, stream: str, tag: str, day: int, size: int) -> np.ndarray:
        """:meth:`uniform` for a mechanism that reads its uniforms only when it is switched
        on; switched off, nothing is drawn and the day's block is zeros (read-only, never
        read). Every (stream, tag) is a generator of its own, so no other stream moves."""
        if on:
            return self.uniform(stream, tag, day, size)
        key = (len(self.members), size)
        out = self._unread.get(key)
        if out is None:
            out = self._unread[key] = np.zeros(key, dtype=np.float32)
            out.flags.writeable = False
        return out

    def _uniform_daily(self, key: tuple[str, str], day: int, size: int) -> np.ndarray:
        assert self._draw is not None
        draw_day, draw_days, _, _ = self._draw
        d = self._daily.get(key)
        if d is None:
            st = self._states(key[0] + ":" + key[1])
            d = _DailyDraws(st, blocked=size <= SMALL_SIZE or len(st) * size <= SMALL_DAY)
            self._daily[key] = d
        elif day == d.day:
            return d.out
        if day < d.day:
            raise ValueError(f"uniforms of {key} asked for day {day} after day {d.day}")
        E = len(d.st)
        if d.blocked:  # a block of days in one call (days nobody asks for included)
            block = d.block
            if block is None or day >= d.block_start + BLOCK_DAYS:
                while block is None or day >= d.block_start + BLOCK_DAYS:
                    if block is not None:
                        d.block_start += BLOCK_DAYS
                    block = np.empty((BLOCK_DAYS, E, size), dtype=np.float32)
                    draw_days(d.st, block)
                d.block = block
            out = block[day - d.block_start]
        else:  # a day at a time, in cache when the day's passes read it
            for _ in range(day - d.day):  # days nobody asked for are drawn and dropped
                out = np.empty((E, size), dtype=np.float32)
                draw_day(d.st, out)
        d.day = day
        d.out = out
        return out

    def lazy_uniform(self, stream: str, tag: str, day: int,
                     size: int) -> tuple[np.ndarray, np.ndarray] | np.ndarray:
        """The uniforms :meth:`uniform` would give, for a compiled kernel that reads only
        some of them: the members' generator states at the start of ``day`` and the jump
        table (:func:`loyaltytrap.kernels.uniforms.uniform_at` computes number j of member e
        from them, the float32 :meth:`uniform` puts at ``[e, j]``). Nothing is drawn:
        the states jump a day ahead. Without the compiled kernels, :meth:`uniform`'s array.

        The same rules as :meth:`uniform`, and a (stream, tag) is read one way or the other,
        never both.
        """
        key = (stream, tag)
        if self._draw is None:
            return self.uniform(stream, tag, day, size)
        if key in self._daily:
            raise ValueError(f"the uniforms of {key} are drawn (uniform), not read lazily")
        skip = self._draw[3]
        d = self._lazy.get(key)
        if d is None:
            d = _LazyDraws(self._states(stream + ":" + tag), jump_table(size), size)
            self._lazy[key] = d
        if size != d.size:
            raise ValueError(f"uniforms of {key} asked for {size} a member-day, not {d.size}")
        if day == d.day:
            assert d.out is not None
            return d.out
        if day < d.day:
            raise ValueError(f"uniforms of {key} asked for day {day} after day {d.day}")
        for _ in range(day - d.day - 1):  # days nobody asked for
            skip(d.st, d.jt, size)
        first = d.st.copy()
        skip(d.st, d.jt, size)
        d.day = day
        d.out = (first, d.jt)
        return d.out

    def take(self, keep: np.ndarray) -> Streams:
        """The streams of the members in ``keep`` (boolean ``[E]``), with their generators and
        the uniforms already drawn, so that their sequences continue unchanged."""
        out = Streams(self.root_seed, self.members[keep])
        idx = np.flatnonzero(keep)
        out._gens = {k: [g[i] for i in idx] for k, g in self._gens.items()}
        out._blocks = {k: (start, block, idx if rows is None else rows[idx])
                       for k, (start, block, rows) in self._blocks.items()}
        out._daily = {k: d.take(idx) for k, d in self._daily.items()}
        out._lazy = {k: d.take(idx) for k, d in self._lazy.items()}
        out._draw = self._draw
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

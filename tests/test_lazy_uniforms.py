"""Uniforms read where they are needed are the numbers the dense draws give, and the kernels
that read them so compute exactly what they compute from the drawn days (the sitreps and the
placement of new problems too: ``test_command_day_kernel_matches_numpy`` runs the compiled
command day, which reads its four streams so, against the plain one, which draws them)."""

from __future__ import annotations

import os

import numpy as np
import pytest

from loyaltytrap import kernels
from loyaltytrap.rng import Streams, stream_key
from loyaltytrap.scenario import Scenario

pytestmark = pytest.mark.skipif(not kernels.HAVE_NUMBA, reason="numba not installed")

if kernels.HAVE_NUMBA:
    import numba

    from loyaltytrap.kernels.uniforms import uniform_of, uniform_source

    @numba.njit(cache=False)
    def _every_number(u, E, S):  # pragma: no cover - compiled
        # each member's S numbers of the day, one read at a time
        ud, st, jt, lazy = uniform_source(u)
        out = np.empty((E, S), np.float32)
        for e in range(E):
            for j in range(S):
                out[e, j] = uniform_of(ud, st, jt, lazy, e, j)
        return out

    @numba.njit(cache=False)
    def _some_numbers(u, e_of, j_of):  # pragma: no cover - compiled
        ud, st, jt, lazy = uniform_source(u)
        out = np.empty(e_of.shape[0], np.float32)
        for i in range(e_of.shape[0]):
            out[i] = uniform_of(ud, st, jt, lazy, e_of[i], j_of[i])
        return out


MEMBERS = np.array([0, 7, 2])
# a size of 1 and odd sizes leave half a 64-bit output kept for the next day; 13 and 41 are
# drawn a block of days at a time by uniform(), 3,000 a day at a time
SIZES = (1, 2, 13, 41, 3000)


@pytest.mark.parametrize("size", SIZES)
def test_a_day_read_where_needed_holds_the_drawn_numbers(size: int) -> None:
    drawn, lazy = Streams(3, MEMBERS), Streams(3, MEMBERS)
    days = (0, 1, 2, 5, 6, 6, 17, 18, 40)  # days skipped, a day asked twice
    for d in days:
        want = drawn.uniform("reporting", "sitrep", d, size)
        got = lazy.lazy_uniform("reporting", "sitrep", d, size)
        assert isinstance(got, tuple)
        np.testing.assert_array_equal(_every_number(got, 3, size), want, err_msg=f"day {d}")
        assert _every_number(want, 3, size).tobytes() == want.tobytes()  # the dense reader
    keep = np.array([True, False, True])
    drawn, lazy = drawn.take(keep), lazy.take(keep)  # the batch shrinks: sequences go on
    np.testing.assert_array_equal(
        _every_number(lazy.lazy_uniform("reporting", "sitrep", 40, size), 2, size),
        drawn.uniform("reporting", "sitrep", 40, size))
    for d in (41, 45):
        np.testing.assert_array_equal(
            _every_number(lazy.lazy_uniform("reporting", "sitrep", d, size), 2, size),
            drawn.uniform("reporting", "sitrep", d, size))


def test_numbers_read_out_of_order_and_as_rows_of_a_post() -> None:
    # the sign-off reads post n's four numbers at n, N + n, 2N + n and 3N + n, in any order
    N = 40
    drawn, lazy = Streams(8, MEMBERS), Streams(8, MEMBERS)
    for d in (0, 3):
        dense = drawn.uniform("signoff", "queue", d, 4 * N)
        day = lazy.lazy_uniform("signoff", "queue", d, 4 * N)
        rng = np.random.default_rng(d)
        e_of, j_of = rng.integers(0, 3, 500), rng.integers(0, 4 * N, 500)
        np.testing.assert_array_equal(_some_numbers(day, e_of, j_of), dense[e_of, j_of])
        as_rows = dense.reshape(3, 4, N)  # a [E, R, N] array is read as [E, R * N]
        np.testing.assert_array_equal(_some_numbers(as_rows, e_of, j_of), dense[e_of, j_of])


def test_a_stream_is_read_one_way_only_and_in_order() -> None:
    s = Streams(1, MEMBERS)
    s.lazy_uniform("purges", "draw", 4, 10)
    with pytest.raises(ValueError, match="read where needed"):
        s.uniform("purges", "draw", 5, 10)
    with pytest.raises(ValueError, match="after day 4"):
        s.lazy_uniform("purges", "draw", 3, 10)
    with pytest.raises(ValueError, match="not 10"):
        s.lazy_uniform("purges", "draw", 4, 11)  # even the day already handed out
    s.uniform("world", "arrival", 0, 10)
    with pytest.raises(ValueError, match="not read lazily"):
        s.lazy_uniform("world", "arrival", 1, 10)


@pytest.mark.parametrize("root", [0, 5, 2**32 - 1, 2**32, 2**70 + 3])
def test_starting_states_are_numpys_seeding(root: int) -> None:
    # the seed tree's words, numbers of one, two and three words (past the pool of four: the
    # entropy mixed in after it), member ids up to 2**32 - 1, streams with and without a tag
    from loyaltytrap.kernels.uniforms import pcg64_state
    from loyaltytrap.rng import member_generator, seed_states

    members = np.array([0, 1, 2, 63, 1000, 2**32 - 1])
    for stream in ("purges:draw", "world:arrival", "sampling", "purges:sparse"):
        want = [pcg64_state(member_generator(root, int(m), stream)) for m in members]
        np.testing.assert_array_equal(seed_states(root, members, stream),
                                      np.array(want, dtype=np.uint64))
    with pytest.raises(ValueError, match="member ids"):
        seed_states(root, np.array([2**32]), "purges:draw")


def test_streams_outside_the_seed_trees_words_still_draw_numpys_numbers() -> None:
    # a member id past 2**32 is seeded through NumPy's generators: the same numbers
    big = np.array([3, 2**33])
    s = Streams(9, big)
    day = s.uniform("world", "arrival", 0, 7)
    for row, m in enumerate(big):
        g = np.random.default_rng(np.random.SeedSequence(
            [9, int(m), *stream_key("world:arrival")]))
        np.testing.assert_array_equal(day[row], g.random(7, dtype=np.float32))


def _days(seed: int, E: int, size: int, day: int) -> tuple[np.ndarray, tuple]:
    """One day of a stream, drawn and read where needed."""
    return (Streams(seed, np.arange(E)).uniform("purges", "draw", day, size),
            Streams(seed, np.arange(E)).lazy_uniform("purges", "draw", day, size))


def _same(a: tuple, b: tuple) -> None:
    for x, y in zip(a, b, strict=True):
        if isinstance(x, tuple):
            _same(x, y)
        else:
            assert np.asarray(x).tobytes() == np.asarray(y).tobytes()


@pytest.mark.parametrize("harsh", [False, True])
def test_the_purge_draw_reads_only_what_it_needs(small: Scenario, harsh: bool,
                                                 daily_states) -> None:
    # harsh: the probabilities of a level can sum above 1 (the normalised cascade), with
    # liability at the top levels; otherwise the default's
    from loyaltytrap.kernels.purges import _PARAMS, _THREAT, _draw_purges, _exposure, _tree_arrays

    extra = ["purges.candour_purge_prob=0.9", "purges.scapegoat_purge_prob=0.9",
             "purges.candour_exposure_decay=1"] if harsh else ["purges.candour_purge_prob=0.3"]
    extra += ["purges.liability_hazard=0.1", "purges.liability_competence=0"]
    *_, (state, params) = daily_states(small.with_overrides(extra), 50, members=12, seed=4)
    rng = np.random.default_rng(5)
    p, o = params.purges, state.officers
    E, N = state.members, params.tree.n
    offsets, sizes, lv = _tree_arrays(params.tree)
    pm = np.empty((len(_PARAMS) + 1, E))
    for i, name in enumerate(_PARAMS):
        pm[i] = getattr(p, name)
    pm[_THREAT] = 1.0
    candid = rng.random((E, N)) < 0.3
    surfaced = (rng.random((E, N)) < 0.2) * rng.random((E, N))
    target = np.where(np.arange(E) % 3 == 1, np.arange(E) % N, -1)
    dense, lazy = _days(6, E, N, 51)
    out = {}
    for name, u in (("drawn", dense), ("lazy", lazy)):
        out[name] = _draw_purges(
            o.fear, o.status, o.vacant_until, o.competence, candid, surfaced, u, target, pm,
            _exposure(p.candour_purge_prob, p.candour_exposure_decay, lv, E),
            _exposure(p.scapegoat_purge_prob, p.scapegoat_exposure_decay, lv, E),
            int(p.liability_max_level), 51, offsets, sizes)
    _same(out["drawn"], out["lazy"])
    assert len(np.unique(out["drawn"][4])) == 3  # every cause drawn, not just a few purges


def test_the_sign_off_reads_only_what_it_needs(small: Scenario, daily_states) -> None:
    from loyaltytrap.kernels.officers import _signoff

    sc = small.with_overrides(["signoff.expiry_hazard=0.05"])
    *_, (state, params) = daily_states(sc, 150, members=5, seed=3)
    rng = np.random.default_rng(1)
    s, t = params.signoff, params.tree
    E, N, U, L = state.members, t.n, t.n_units, t.levels
    o = state.officers
    above = (L - 1 - np.arange(L))[None, :]
    cap = np.ascontiguousarray(np.broadcast_to(
        np.asarray(s.capacity_per_day).reshape(-1, 1) * np.asarray(s.staff_scaling).reshape(
            -1, 1) ** above, (E, L)), dtype=np.float64)

    def col(x: object) -> np.ndarray:
        return np.broadcast_to(np.asarray(x, dtype=np.float64), (E,)).copy()

    new_req = (rng.random((E, U)) < 0.2) * 1.0
    dense, lazy = _days(2, E, 4 * N, 151)
    out = [_signoff(
        state.decisions.queue, state.decisions.queue_age, new_req, cap,
        col(s.vacancy_capacity), o.status, col(s.escalate_base), col(s.escalate_fear),
        col(s.escalate_money) * 0.5, o.fear, o.competence, col(s.expiry_hazard), u,
        np.asarray(t.offsets, np.int64), np.asarray(t.level_sizes, np.int64), True, 0.9)
        for u in (dense.reshape(E, 4, N), lazy)]
    _same(out[0], out[1])
    fixed, expired, escalated = out[0][4], out[0][5], out[0][6]
    assert fixed.sum() > 0 and expired.sum() > 0 and escalated.sum() > 0  # all four drawn


def test_compiled_code_is_dropped_when_a_kernel_source_changes(tmp_path) -> None:
    # Numba's cache checks only the cached function's own file: a change in a file whose
    # functions are compiled into it must clear the cache
    src, cache = tmp_path / "src", tmp_path / "src" / "__pycache__"
    src.mkdir()
    a, b = src / "a.py", src / "b.py"
    a.write_text("X = 1\n")
    b.write_text("Y = 2\n")
    cache.mkdir()
    (cache / "a.f-1.py311.nbi").write_bytes(b"index")
    (cache / "a.f-1.py311.1.nbc").write_bytes(b"code")
    (cache / "a.cpython-311.pyc").write_bytes(b"bytecode")
    assert kernels.drop_stale_caches([a, b], cache)  # no digest yet: compiled from what?
    assert sorted(p.name for p in cache.iterdir()) == ["a.cpython-311.pyc",
                                                        "loyaltytrap-sources.sha256"]
    (cache / "a.f-1.py311.nbi").write_bytes(b"index")  # compiled again from these sources
    assert not kernels.drop_stale_caches([b, a], cache)  # unchanged: kept
    assert (cache / "a.f-1.py311.nbi").exists()
    b.write_text("Y = 3\n")  # the other file changed
    assert kernels.drop_stale_caches([a, b], cache)
    assert not (cache / "a.f-1.py311.nbi").exists()
    assert not kernels.drop_stale_caches([a, b], cache)


def test_the_package_keeps_the_digest_of_its_kernel_sources() -> None:
    from pathlib import Path

    here = Path(kernels.__file__).resolve().parent
    names = {p.name for p in kernels._kernel_sources()}
    assert {"command.py", "purges.py", "uniforms.py", "hierarchy.py", "params.py"} <= names
    cache = here / "__pycache__"
    if os.access(here, os.W_OK):  # an installed copy may be read-only: then nothing is kept
        assert not kernels.drop_stale_caches(kernels._kernel_sources(), cache)

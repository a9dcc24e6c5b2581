"""Compiled kernels (Numba) for the hot passes of a day.

Every pass over the officers and every [E]-level mechanism has a plain NumPy version in its
mechanism module and a compiled twin here, computed from the same uniforms in one loop per
member instead of many NumPy calls and passes over ``[E, N]`` / ``[E, K, N]`` temporaries, with
its parameters packed once per batch (:func:`loyaltytrap.params.packed`):

- the chain of command's day, sub-steps 6-10 of the engine's step (:func:`command_day`: the
  kernels below chained in one compiled call, with the engine's glue between them);
- M2 sitreps (:func:`sanitize_reports`), bottom-up, with the scrub probability inside;
- M4 the sign-off day (:func:`decide`): capacity, escalation, fixes, write-offs, the day's sums
  and the latency quantile;
- M3 the purge day (:func:`purge_officers`: the draw, the replacements, the counts, the fear
  spread and its events), and its draw and fear spread alone (:func:`draw_causes`,
  :func:`spread_fear`);
- M2 the removal of resolved problems (:func:`shrink_reports`);
- the placement of new problems at the units (:func:`place_problems`);
- the officer sums the indicators read (:func:`officer_sums`);
- the [E]-level mechanisms: M5 the treasury (:func:`spend`, :func:`allocate`), M6 production
  (:func:`produce`), M7 strikes and repairs (:func:`strike_and_repair`), M8 the front
  (:func:`fight`), M9 the elites' day and its agents (:func:`unnerve_elites`,
  :func:`move_agents`), M10 the allies
  (:func:`lose_allies`), M11 the leader's surprises (:func:`react_to_surprises`), M12 the
  regime's stability and its stress inputs (:func:`assess_stability`,
  :func:`military_stress`, :func:`elite_stress`, :func:`regime_stress`), and what the front
  reads of the chain of command (:func:`front_inputs`);
- the draws of each member's uniforms, a day or a block of days at a time
  (:func:`draw_uniforms`, :func:`draw_uniform_days`), or for the command day's sparse
  readers only the numbers read (:mod:`loyaltytrap.kernels.uniforms`).

``tests/test_kernels*.py`` check each against its plain version, and a whole run with and
without them. The engine uses them when Numba is installed and ``LOYALTYTRAP_KERNEL`` is not
``numpy``. They run on one thread: members are spread over processes instead (measured:
Numba's ``parallel=True`` was slower on this 2-core machine; see docs/performance.md).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path

try:  # Numba is optional: without it the plain NumPy versions run
    import numba  # noqa: F401

    HAVE_NUMBA = True
except ImportError:  # pragma: no cover - exercised only where numba is missing
    HAVE_NUMBA = False


def enabled() -> bool:
    """True when the compiled kernels are available and not switched off."""
    return HAVE_NUMBA and os.environ.get("LOYALTYTRAP_KERNEL", "numba") != "numpy"


def drop_stale_caches(sources: Iterable[Path], cache: Path) -> bool:
    """Delete Numba's cached machine code in ``cache`` (``*.nbi``, ``*.nbc``) unless it was
    compiled from these ``sources`` exactly (a digest of them kept beside it); True when
    deleted.

    Numba checks only the source file of the function it caches, not the files of the
    functions compiled into it: after a change to ``purges.py``, the command day of
    ``command.py`` would load its cached code with the old purge draw in it. Kernels read
    constants and call functions across these files, so any change to one of them
    recompiles all. A cache that cannot be written is left alone.
    """
    h = hashlib.sha256()
    for f in sorted(sources):
        h.update(f.name.encode())
        h.update(f.read_bytes())
    digest = h.hexdigest()
    stamp = cache / "loyaltytrap-sources.sha256"
    try:
        if stamp.read_text() == digest:
            return False
    except OSError:
        pass
    try:
        for f in [*cache.glob("*.nbi"), *cache.glob("*.nbc")]:
            f.unlink()
        cache.mkdir(exist_ok=True)
        stamp.write_text(digest)
    except OSError:
        return False
    return True


def _kernel_sources() -> list[Path]:
    """The files the kernels are compiled from: this package, the mechanisms (their
    constants), the parameters and the streams."""
    here = Path(__file__).resolve().parent
    root = here.parent
    return [*here.glob("*.py"), *(root / "mechanisms").glob("*.py"), root / "params.py",
            root / "rng.py"]


if HAVE_NUMBA:
    drop_stale_caches(_kernel_sources(), Path(__file__).resolve().parent / "__pycache__")

    from .allies import lose_allies
    from .command import command_day
    from .elites import move_agents, unnerve_elites
    from .front import fight
    from .industry import produce
    from .leader import react_to_surprises
    from .money import allocate, spend
    from .officers import (
        decide,
        draw_causes,
        officer_sums,
        place_problems,
        sanitize_reports,
        shrink_reports,
        spread_fear,
    )
    from .purges import purge_officers
    from .stability import (
        assess_stability,
        elite_stress,
        front_inputs,
        military_stress,
        regime_stress,
    )
    from .strikes import strike_and_repair
    from .uniforms import draw_uniform_days, draw_uniforms

__all__ = [
    "HAVE_NUMBA",
    "allocate",
    "assess_stability",
    "command_day",
    "decide",
    "draw_causes",
    "draw_uniform_days",
    "draw_uniforms",
    "drop_stale_caches",
    "elite_stress",
    "enabled",
    "fight",
    "front_inputs",
    "lose_allies",
    "military_stress",
    "move_agents",
    "officer_sums",
    "place_problems",
    "produce",
    "purge_officers",
    "react_to_surprises",
    "regime_stress",
    "sanitize_reports",
    "shrink_reports",
    "spend",
    "spread_fear",
    "strike_and_repair",
    "unnerve_elites",
]

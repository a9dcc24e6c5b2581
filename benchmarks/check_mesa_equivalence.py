"""Do the engine, the Mesa peer, the pure-Python reference and the two compiled loops run the
same kernel?

The five implementations use different random streams, so their trajectories differ; what
must agree are ensemble statistics. Each runs the same members (same parameter draws) of the
kernel scenario on a small tree; for every metric of :data:`benchmarks.kernel.METRICS` the
mean of the paired differences must lie within ``z`` standard errors plus a small absolute
tolerance. Two settings are checked: the kernel as calibrated, and the kernel with harsh candour
purges (so that vacancies, replacements and fear spread are exercised often).

    python benchmarks/check_mesa_equivalence.py [--members 30] [--days 200] [--levels 4]
        [--branching 3] [--seed 0] [--z 4]

Exits 1 if any comparison fails.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from benchmarks import compiled_kernel, event_kernel, reference_kernel
from benchmarks.kernel import (
    HARSH_OVERRIDES,
    Agreement,
    compare,
    engine_ensemble,
    kernel_scenario,
    member_params,
    peer_ensemble,
)

SETTINGS: dict[str, tuple[str, ...]] = {"kernel": (), "harsh purges": HARSH_OVERRIDES}


@dataclass(frozen=True)
class Check:
    """The comparisons of one setting between two implementations."""

    setting: str
    a: str
    b: str
    rows: list[Agreement]

    @property
    def ok(self) -> bool:
        """Every metric agrees."""
        return all(r.ok for r in self.rows)


def run_checks(
    members: int = 30,
    days: int = 200,
    levels: int = 4,
    branching: int = 3,
    seed: int = 0,
    z: float = 4.0,
    with_mesa: bool = True,
    verbose: bool = False,
) -> list[Check]:
    """Run every implementation on every setting and compare them pairwise."""
    impls: dict[str, object] = {"reference": reference_kernel.run_member,
                                "fused": compiled_kernel.run_member,
                                "event": event_kernel.run_member}
    if with_mesa:
        from benchmarks import mesa_peer

        impls["mesa"] = mesa_peer.run_member
    checks = []
    for setting, extra in SETTINGS.items():
        sc = kernel_scenario(levels, branching, extra)
        params = member_params(sc, members, seed)
        t0 = time.perf_counter()
        results: dict[str, dict[str, np.ndarray]] = {
            "engine": engine_ensemble(sc, members, seed, days)}
        times = {"engine": time.perf_counter() - t0}
        for name, fn in impls.items():
            t0 = time.perf_counter()
            results[name] = peer_ensemble(fn, params, days, seed)  # type: ignore[arg-type]
            times[name] = time.perf_counter() - t0
        if verbose:
            print(f"[{setting}] {members} members x {days} days, "
                  + ", ".join(f"{k} {v:.1f} s" for k, v in times.items()))
        names = list(results)
        for i, a in enumerate(names):
            for b in names[i + 1:]:
                checks.append(Check(setting, a, b, compare(results[a], results[b], z)))
    return checks


def main(argv: list[str] | None = None) -> int:
    """Parse options, run the checks, print a table, return the exit code."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--members", type=int, default=30)
    ap.add_argument("--days", type=int, default=200)
    ap.add_argument("--levels", type=int, default=4)
    ap.add_argument("--branching", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--z", type=float, default=4.0, help="standard errors allowed")
    ap.add_argument("--no-mesa", action="store_true",
                    help="engine, reference and the compiled loops only")
    a = ap.parse_args(argv)
    checks = run_checks(a.members, a.days, a.levels, a.branching, a.seed, a.z,
                        with_mesa=not a.no_mesa, verbose=True)
    for c in checks:
        print(f"\n[{c.setting}] {c.a} vs {c.b}: {'agree' if c.ok else 'DISAGREE'}")
        for r in c.rows:
            print("  " + r.line(c.a, c.b))
    failed = [c for c in checks if not c.ok]
    print(f"\n{len(checks) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())

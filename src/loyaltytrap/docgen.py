"""Generated documentation: the parameter table of a scenario, written from the scenario file
itself so that it is never written by hand twice.

    python -m loyaltytrap.docgen            # rewrites docs/parameters.md
    python -m loyaltytrap.docgen --check    # exit 1 if docs/parameters.md is out of date
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .scenario import Scenario, load_scenario

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def parameter_table(scenario: Scenario) -> str:
    """Markdown table of every parameter with its value, unit and provenance."""
    rows = scenario.provenance_rows()
    n_src = sum(r["provenance"] == "sourced" for r in rows)
    lines = [
        f"# Parameters of `{scenario.name}`",
        "",
        "Generated from `scenarios/` by `python -m loyaltytrap.docgen`; do not edit by hand.",
        "",
        f"{len(rows)} parameters: {n_src} sourced (the figure they rest on, from the cited "
        f"source), {len(rows) - n_src} assumptions (a rationale and a plausible range). "
        "A value written `U(a, b)`, `Tri(a, mode, b)` or `TN(mean, sd; a, b)` is drawn once "
        "per ensemble member (uniform, triangular, truncated normal).",
        "",
        "Sources:",
        "",
    ]
    for key, src in scenario.sources.items():
        lines.append(f"- `{key}`: {src.get('title', '')}" + (
            f" ({src['note']})" if src.get("note") else ""))
    lines += [
        "",
        "| mechanism | parameter | value | unit | provenance | evidence |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        if r["provenance"] == "sourced":
            evidence = f"{r['source']}: {r['figure']}"
        else:
            evidence = r["rationale"] + (f" (range {r['range']})" if r["range"] else "")
        lines.append("| " + " | ".join(_cell(x) for x in (
            r["mechanism"], f"`{r['section']}.{r['parameter']}`", r["value"], r["unit"],
            r["provenance"], evidence)) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write (or check) docs/parameters.md."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--check", action="store_true", help="fail if the file is out of date")
    ap.add_argument("--scenario", default="kremlin-2026")
    args = ap.parse_args(argv)
    text = parameter_table(load_scenario(args.scenario))
    path = DOCS / "parameters.md"
    if args.check:
        if not path.exists() or path.read_text() != text:
            print(f"{path} is out of date: run python -m loyaltytrap.docgen", file=sys.stderr)
            return 1
        return 0
    path.write_text(text)
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Check a scenario fragment (scenarios/parts/<key>.toml, or its section once merged into the
default scenario) against a parameter record."""

from __future__ import annotations

import tomllib
from pathlib import Path

from loyaltytrap.params import param_specs
from loyaltytrap.scenario import ParamEntry

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
PARTS = SCENARIOS / "parts"
DEFAULT = SCENARIOS / "kremlin-2026.toml"  # where fragments go once merged


def check_fragment(key: str, record: type) -> None:
    """Every declared parameter has a valid table with the declared unit, inside the range."""
    part = PARTS / f"{key}.toml"
    table = tomllib.loads((part if part.exists() else DEFAULT).read_text())[key]
    specs = param_specs(record)
    assert table["enabled"] is True
    given = {k for k, v in table.items() if isinstance(v, dict)}
    assert given == set(specs), given ^ set(specs)
    for name, spec in specs.items():
        entry = ParamEntry(**table[name])
        assert entry.unit == spec.unit, (name, entry.unit, spec.unit)
        assert not spec.structural or entry.kind == "fixed", name
        for x in entry.support():
            assert spec.admits(x), (name, x, spec.allowed())
        if entry.provenance == "sourced":
            assert entry.source == "kremlin-loyalty", name

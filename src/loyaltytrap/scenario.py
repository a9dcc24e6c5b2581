"""Scenario files: load, extend, override, validate, and draw parameters per member.

A scenario is a TOML file under ``scenarios/``. Each mechanism has a section with ``enabled``,
its options, and one table per parameter giving its value (fixed or a distribution), its unit
and its provenance:

    [hierarchy.levels]
    value = 6
    unit = "levels"
    provenance = "assumption"
    rationale = "general staff, groups of forces, armies, divisions, regiments, battalions"
    range = [4, 8]

    [money.reserves_usd_bn]
    dist = "uniform"          # fixed | uniform | triangular | truncnormal
    low = 52.0
    high = 55.0
    unit = "USD bn"
    provenance = "sourced"
    source = "kremlin-loyalty"
    figure = "liquid wealth fund about $55 bn; a second passage says $52 bn"

A scenario may ``extends = "other-scenario"``; a parameter table in the child replaces the
parent's whole (so its provenance is restated). Overrides from the command line
(``--set hierarchy.levels=7``) become fixed values with provenance ``override``.
Every problem is reported as a :class:`ScenarioError` naming the file, the field, the value and
what is allowed.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import hashlib
import json
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator
from scipy.stats import truncnorm

from .mechanisms import BY_KEY, MECHANISMS
from .params import ParamSpec, option_specs, param_specs
from .rng import member_generator

SCENARIO_DIR = Path(__file__).resolve().parents[2] / "scenarios"


class ScenarioError(ValueError):
    """A scenario (file or override) that the model cannot accept; the message says where,
    what was given and what is allowed."""


class ParamEntry(BaseModel):
    """One parameter of a scenario file: value or distribution, unit and provenance."""

    model_config = ConfigDict(extra="forbid")

    value: float | None = None
    dist: Literal["fixed", "uniform", "triangular", "truncnormal"] | None = None
    low: float | None = None
    high: float | None = None
    mode: float | None = None
    mean: float | None = None
    sd: float | None = None
    unit: str
    provenance: Literal["sourced", "assumption", "override"]
    source: str | None = None
    figure: str | None = None
    rationale: str | None = None
    range: tuple[float, float] | None = None
    note: str | None = None

    @model_validator(mode="after")
    def _check(self) -> ParamEntry:
        d = self.kind
        need = {
            "fixed": ("value",),
            "uniform": ("low", "high"),
            "triangular": ("low", "mode", "high"),
            "truncnormal": ("mean", "sd", "low", "high"),
        }[d]
        missing = [k for k in need if getattr(self, k) is None]
        if missing:
            raise ValueError(f"a {d} parameter needs {', '.join(missing)}")
        if d != "fixed" and self.value is not None:
            raise ValueError("give either value or a distribution, not both")
        if d in ("uniform", "triangular", "truncnormal") and not self.low <= self.high:
            raise ValueError(f"low ({self.low}) must not exceed high ({self.high})")
        if d == "triangular" and not self.low <= self.mode <= self.high:
            raise ValueError(f"mode ({self.mode}) must lie between low and high")
        if d == "truncnormal" and not self.sd > 0:
            raise ValueError(f"sd ({self.sd}) must be positive")
        if self.provenance == "sourced" and not (self.source and self.figure):
            raise ValueError("a sourced parameter needs source (citation) and figure")
        if self.provenance == "assumption" and not (self.rationale and self.range):
            raise ValueError("an assumption needs a rationale and a plausible range [lo, hi]")
        if self.range is not None and self.range[0] > self.range[1]:
            raise ValueError(f"range {list(self.range)} must be [low, high]")
        return self

    @property
    def kind(self) -> str:
        """fixed, uniform, triangular or truncnormal."""
        return self.dist or "fixed"

    def support(self) -> tuple[float, float]:
        """Smallest and largest value the parameter can take."""
        if self.kind == "fixed":
            return float(self.value), float(self.value)  # type: ignore[arg-type]
        return float(self.low), float(self.high)  # type: ignore[arg-type]

    def central(self) -> float:
        """A representative value (fixed value, mode or mean)."""
        k = self.kind
        if k == "fixed":
            return float(self.value)  # type: ignore[arg-type]
        if k == "triangular":
            return float(self.mode)  # type: ignore[arg-type]
        if k == "truncnormal":
            return float(self.mean)  # type: ignore[arg-type]
        return (float(self.low) + float(self.high)) / 2  # type: ignore[arg-type]

    def describe(self) -> str:
        """The value or distribution in a few characters."""
        k = self.kind
        g = _g
        if k == "fixed":
            return g(self.value)
        if k == "uniform":
            return f"U({g(self.low)}, {g(self.high)})"
        if k == "triangular":
            return f"Tri({g(self.low)}, {g(self.mode)}, {g(self.high)})"
        return f"TN({g(self.mean)}, {g(self.sd)}; {g(self.low)}, {g(self.high)})"


def _g(x: float | None) -> str:
    return f"{x:g}" if x is not None else "?"


class Meta(BaseModel):
    """The [scenario] table."""

    model_config = ConfigDict(extra="forbid")

    name: str
    title: str = ""
    description: str = ""
    extends: str | None = None
    start_date: dt.date
    horizon_days: int


@dataclass(frozen=True)
class Section:
    """One mechanism's validated section."""

    enabled: bool
    options: dict[str, str]
    params: dict[str, ParamEntry]


@dataclass(frozen=True)
class Scenario:
    """A validated scenario (after ``extends`` and overrides)."""

    meta: Meta
    sections: dict[str, Section]
    sources: dict[str, dict[str, str]]
    path: str
    overrides: tuple[str, ...]
    raw: dict[str, Any]

    @property
    def name(self) -> str:
        """The scenario's name."""
        return self.meta.name

    @property
    def content_hash(self) -> str:
        """SHA-256 of the resolved scenario (what was actually simulated)."""
        blob = json.dumps(self.raw, sort_keys=True, default=str).encode()
        return hashlib.sha256(blob).hexdigest()

    def with_overrides(self, overrides: list[str] | tuple[str, ...]) -> Scenario:
        """A copy with ``section.field=value`` overrides applied and validated."""
        raw = copy.deepcopy(self.raw)
        for ov in overrides:
            _apply_override(raw, ov, self.path)
        return _validate(raw, self.path, (*self.overrides, *overrides))

    def provenance_rows(self) -> list[dict[str, Any]]:
        """One row per parameter: mechanism, name, value, unit, provenance and its evidence."""
        rows = []
        for m in MECHANISMS:
            sec = self.sections[m.key]
            for name, e in sec.params.items():
                src = self.sources.get(e.source or "", {}).get("title", e.source or "")
                rows.append({
                    "mechanism": m.id, "section": m.key, "parameter": name,
                    "value": e.describe(), "unit": e.unit, "provenance": e.provenance,
                    "source": src, "figure": e.figure or "",
                    "rationale": e.rationale or e.note or "",
                    "range": f"[{_g(e.range[0])}, {_g(e.range[1])}]" if e.range else "",
                })
        return rows


def find_scenario(name_or_path: str, relative_to: Path | None = None) -> Path:
    """Resolve a scenario name (``kremlin-2026``) or a path to its file."""
    p = Path(name_or_path)
    candidates = [p, p.with_suffix(".toml")]
    if relative_to is not None:
        candidates += [relative_to / p, (relative_to / p).with_suffix(".toml")]
    candidates += [SCENARIO_DIR / p, (SCENARIO_DIR / p).with_suffix(".toml")]
    for c in candidates:
        if c.is_file():
            return c
    known = ", ".join(sorted(x.stem for x in SCENARIO_DIR.glob("*.toml")))
    raise ScenarioError(f"scenario {name_or_path!r} not found (known scenarios: {known})")


def _read(path: Path, seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """The raw table of a file with its ``extends`` chain merged in."""
    path = path.resolve()
    if path in seen:
        chain = " -> ".join(x.name for x in (*seen, path))
        raise ScenarioError(f"{path}: scenario.extends makes a cycle ({chain})")
    try:
        raw = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as e:
        raise ScenarioError(f"{path}: not valid TOML: {e}") from None
    parent_name = raw.get("scenario", {}).get("extends")
    if not parent_name:
        return raw
    try:
        parent_path = find_scenario(str(parent_name), relative_to=path.parent)
    except ScenarioError as e:
        raise ScenarioError(f"{path}: scenario.extends = {parent_name!r}: {e}") from None
    return _merge(_read(parent_path, (*seen, path)), raw)


def _is_param_table(x: Any) -> bool:
    return isinstance(x, dict) and "provenance" in x


def _merge(parent: dict[str, Any], child: dict[str, Any]) -> dict[str, Any]:
    """Child over parent: section keys merge, a parameter table replaces the parent's."""
    out = copy.deepcopy(parent)
    for k, v in child.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict) and not _is_param_table(v):
            out[k] = _merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def load_scenario(name_or_path: str, overrides: list[str] | tuple[str, ...] = ()) -> Scenario:
    """Load, resolve ``extends``, apply overrides and validate a scenario."""
    path = find_scenario(name_or_path)
    raw = _read(path)
    raw.setdefault("scenario", {})
    raw["scenario"].pop("extends", None)
    for ov in overrides:
        _apply_override(raw, ov, str(path))
    return _validate(raw, str(path), tuple(overrides))


def _parse_scalar(text: str) -> Any:
    t = text.strip()
    if t.lower() in ("true", "false"):
        return t.lower() == "true"
    try:
        return int(t)
    except ValueError:
        pass
    try:
        return float(t)
    except ValueError:
        return t


def _apply_override(raw: dict[str, Any], ov: str, path: str) -> None:
    if "=" not in ov:
        raise ScenarioError(f"--set {ov!r}: expected section.field=value, e.g. "
                            "hierarchy.levels=7")
    key, text = ov.split("=", 1)
    parts = key.strip().split(".")
    if len(parts) != 2:
        raise ScenarioError(f"--set {ov!r}: expected section.field=value "
                            "(sections: scenario, " + ", ".join(BY_KEY) + ")")
    sec, name = parts
    value = _parse_scalar(text)
    if sec == "scenario":
        raw.setdefault("scenario", {})[name] = value
        return
    if sec not in BY_KEY:
        raise ScenarioError(f"--set {ov!r}: unknown section {sec!r}; allowed: "
                            + ", ".join(BY_KEY))
    table = raw.setdefault(sec, {})
    if name == "enabled" or name in option_specs(BY_KEY[sec].params):
        table[name] = value
        return
    specs = param_specs(BY_KEY[sec].params)
    if name not in specs:
        allowed = ", ".join(["enabled", *option_specs(BY_KEY[sec].params), *specs])
        raise ScenarioError(f"--set {ov!r}: {sec} has no field {name!r}; allowed: {allowed}")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ScenarioError(f"--set {ov!r}: {sec}.{name} = {text!r} is not a number; "
                            f"allowed: {specs[name].allowed()}")
    old = table.get(name, {}) if isinstance(table.get(name), dict) else {}
    was = ParamEntry.model_construct(**old).describe() if old else "unset"
    table[name] = {
        "value": value, "unit": old.get("unit", specs[name].unit), "provenance": "override",
        "note": f"set from the command line (scenario had {was}; "
                f"provenance {old.get('provenance', 'none')})",
    }


def _loc(e: dict[str, Any]) -> str:
    return ".".join(str(x) for x in e["loc"])


def _validate(raw: dict[str, Any], path: str, overrides: tuple[str, ...]) -> Scenario:
    meta_raw = raw.get("scenario")
    if not isinstance(meta_raw, dict):
        raise ScenarioError(f"{path}: missing [scenario] table (name, start_date, horizon_days)")
    try:
        meta = Meta(**meta_raw)
    except ValidationError as e:
        first = e.errors()[0]
        val = meta_raw.get(first["loc"][0], "missing") if first["loc"] else ""
        raise ScenarioError(f"{path}: scenario.{_loc(first)} = {val!r}: {first['msg']}") from None
    if not 1 <= meta.horizon_days <= 36500:
        raise ScenarioError(f"{path}: scenario.horizon_days = {meta.horizon_days}: "
                            "allowed: an integer between 1 and 36500")
    allowed_top = {"scenario", "sources", *BY_KEY}
    for k in raw:
        if k not in allowed_top:
            raise ScenarioError(f"{path}: unknown section [{k}]; allowed: "
                                + ", ".join(sorted(allowed_top)))
    sources = raw.get("sources", {})
    sections: dict[str, Section] = {}
    for m in MECHANISMS:
        table = raw.get(m.key)
        if not isinstance(table, dict):
            raise ScenarioError(f"{path}: missing section [{m.key}] ({m.id} {m.title})")
        sections[m.key] = _validate_section(m.key, m.params, table, path, sources)
    _cross_checks(sections, path)
    return Scenario(meta, sections, sources, path, overrides, raw)


def _validate_section(
    key: str, record: type, table: dict[str, Any], path: str, sources: dict[str, Any]
) -> Section:
    specs, opts = param_specs(record), option_specs(record)
    enabled = table.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ScenarioError(f"{path}: {key}.enabled = {enabled!r}: allowed: true or false")
    options: dict[str, str] = {}
    for name, ospec in opts.items():
        v = table.get(name, ospec.default)
        if v not in ospec.choices:
            raise ScenarioError(f"{path}: {key}.{name} = {v!r}: allowed: "
                                + ", ".join(repr(c) for c in ospec.choices))
        options[name] = v
    for name in table:
        if name not in specs and name not in opts and name != "enabled":
            allowed = ", ".join(["enabled", *opts, *specs])
            raise ScenarioError(f"{path}: {key}.{name} is not a field of [{key}]; "
                                f"allowed: {allowed}")
    params: dict[str, ParamEntry] = {}
    for name, spec in specs.items():
        if name not in table:
            raise ScenarioError(f"{path}: {key}.{name} is missing ({spec.unit}; "
                                f"allowed: {spec.allowed()})")
        entry_raw = table[name]
        if not isinstance(entry_raw, dict):
            raise ScenarioError(
                f"{path}: {key}.{name} = {entry_raw!r}: expected a table with value (or dist), "
                "unit and provenance"
            )
        try:
            entry = ParamEntry(**entry_raw)
        except ValidationError as e:
            first = e.errors()[0]
            where = f"{key}.{name}" + (f".{_loc(first)}" if first["loc"] else "")
            val = entry_raw.get(first["loc"][0]) if first["loc"] else entry_raw
            msg = first["msg"].removeprefix("Value error, ")
            raise ScenarioError(f"{path}: {where} = {val!r}: {msg}") from None
        _check_against_spec(entry, spec, f"{path}: {key}.{name}")
        if entry.provenance == "sourced" and entry.source not in sources:
            raise ScenarioError(f"{path}: {key}.{name}.source = {entry.source!r}: allowed: "
                                "a key of [sources] (" + ", ".join(sources) + ")")
        params[name] = entry
    return Section(enabled, options, params)


def _check_against_spec(entry: ParamEntry, spec: ParamSpec, where: str) -> None:
    if spec.structural and entry.kind != "fixed":
        raise ScenarioError(f"{where} = {entry.describe()}: allowed: {spec.allowed()}")
    lo, hi = entry.support()
    for x in (lo, hi):
        if not spec.admits(x):
            raise ScenarioError(f"{where} = {entry.describe()}: {x:g} is outside what the "
                                f"model accepts; allowed: {spec.allowed()}")


def _cross_checks(sections: dict[str, Section], path: str) -> None:
    pur = sections["purges"].params
    if pur["jailed_share"].support()[1] + pur["disappeared_share"].support()[1] > 1 + 1e-9:
        raise ScenarioError(f"{path}: purges.jailed_share + purges.disappeared_share can "
                            "exceed 1; allowed: shares whose largest values sum to at most 1")
    lea = sections["leader"].params
    if lea["response_scapegoat"].support()[1] + lea["response_fix"].support()[1] > 1 + 1e-9:
        raise ScenarioError(f"{path}: leader.response_scapegoat + leader.response_fix can "
                            "exceed 1; allowed: probabilities whose largest values sum to <= 1")


# --- drawing parameters per member ---------------------------------------------------------

def _ppf(e: ParamEntry, u: np.ndarray) -> np.ndarray:
    """Inverse CDF of a parameter's distribution at uniforms ``u``."""
    k = e.kind
    if k == "fixed":
        return np.full(u.shape, float(e.value))  # type: ignore[arg-type]
    lo, hi = float(e.low), float(e.high)  # type: ignore[arg-type]
    if k == "uniform":
        return lo + u * (hi - lo)
    if k == "triangular":
        c = float(e.mode)  # type: ignore[arg-type]
        if hi == lo:
            return np.full(u.shape, lo)
        f = (c - lo) / (hi - lo)
        left = lo + np.sqrt(u * (hi - lo) * (c - lo))
        right = hi - np.sqrt((1 - u) * (hi - lo) * (hi - c))
        return np.where(u < f, left, right)
    mu, sd = float(e.mean), float(e.sd)  # type: ignore[arg-type]
    return truncnorm.ppf(u, (lo - mu) / sd, (hi - mu) / sd, loc=mu, scale=sd)


def parameter_order(scenario: Scenario) -> list[tuple[str, str]]:
    """(section, parameter) in the fixed order draws are taken."""
    return [(m.key, n) for m in MECHANISMS for n in scenario.sections[m.key].params]


def draw_parameters(
    scenario: Scenario, members: np.ndarray, seed: int
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Fill every mechanism's parameter record with one draw per member.

    Returns the records by section key and the flat draws ``{"section.name": [E]}``. Each
    member takes one uniform per parameter (fixed ones too), in :func:`parameter_order`, from
    its own ``sampling`` stream, so a member's draws do not depend on the batch.
    """
    order = parameter_order(scenario)
    members = np.asarray(members, dtype=np.int64)
    u = np.stack([member_generator(seed, int(m), "sampling").random(len(order))
                  for m in members]) if len(members) else np.zeros((0, len(order)))
    flat: dict[str, np.ndarray] = {}
    for j, (sec, name) in enumerate(order):
        flat[f"{sec}.{name}"] = _ppf(scenario.sections[sec].params[name], u[:, j])
    records: dict[str, Any] = {}
    for m in MECHANISMS:
        sec = scenario.sections[m.key]
        specs = param_specs(m.params)
        kwargs: dict[str, Any] = {"enabled": sec.enabled, **sec.options}
        for name, spec in specs.items():
            v = flat[f"{m.key}.{name}"]
            kwargs[name] = round(float(v[0]) if len(v) else sec.params[name].central()) \
                if spec.structural else v
        records[m.key] = m.params(**kwargs)
    return records, flat


def record_fields(record: Any) -> list[str]:
    """Field names of a parameter record."""
    return [f.name for f in dataclasses.fields(record)]

"""Scenario files: validation with clear errors, extends, overrides, draws per member."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from loyaltytrap.scenario import ScenarioError, draw_parameters, load_scenario

BASE = Path(__file__).resolve().parents[1] / "scenarios" / "kremlin-2026.toml"


def _child(tmp_path: Path, body: str, name: str = "child") -> Path:
    p = tmp_path / f"{name}.toml"
    p.write_text(f'[scenario]\nname = "{name}"\nextends = "{BASE}"\n' + body)
    return p


def _error(path_or_name: str, overrides: tuple[str, ...] = ()) -> str:
    with pytest.raises(ScenarioError) as e:
        load_scenario(path_or_name, overrides)
    return str(e.value)


def test_default_and_counterfactual_load_with_provenance() -> None:
    sc = load_scenario("kremlin-2026")
    ct = load_scenario("candour-tolerant")
    assert sc.meta.start_date.isoformat() == "2026-11-01"
    assert ct.sections["purges"].params["candour_purge_prob"].central() == 0
    assert ct.sections["hierarchy"].params == sc.sections["hierarchy"].params  # inherited
    assert sc.content_hash != ct.content_hash
    for row in sc.provenance_rows():
        assert row["provenance"] in ("sourced", "assumption")


def test_bad_value_in_a_file_names_file_field_value_and_allowed(tmp_path: Path) -> None:
    p = _child(tmp_path, '[hierarchy.candour_mean]\nvalue = 1.7\nunit = "share (0-1)"\n'
                         'provenance = "assumption"\nrationale = "x"\nrange = [0, 1]\n')
    msg = _error(str(p))
    assert str(p) in msg and "hierarchy.candour_mean" in msg and "1.7" in msg
    assert "between 0 and 1" in msg


@pytest.mark.parametrize(("body", "expected"), [
    ('[hierarchy.levels]\nvalue = 6\nunit = "levels"\nprovenance = "sourced"\n',
     "needs source (citation) and figure"),
    ('[hierarchy.levels]\nvalue = 6\nunit = "levels"\nprovenance = "assumption"\n',
     "needs a rationale and a plausible range"),
    ('[hierarchy.levels]\ndist = "uniform"\nlow = 4\nhigh = 7\nunit = "levels"\n'
     'provenance = "assumption"\nrationale = "x"\nrange = [4, 7]\n', "fixed, not a distribution"),
    ('[hierarchy.competence_mean]\ndist = "triangular"\nlow = 0.2\nmode = 0.9\nhigh = 0.5\n'
     'unit = "share (0-1)"\nprovenance = "assumption"\nrationale = "x"\nrange = [0, 1]\n',
     "mode (0.9) must lie between low and high"),
    ('[hierarchy]\nwidth = 3\n', "hierarchy.width is not a field of [hierarchy]"),
    ('[hierarchy]\nenabled = "yes"\n', "allowed: true or false"),
    ('[reporting]\nmode = "random"\n', "allowed: 'behavioural', 'fixed'"),
    ('[nonsense]\nenabled = true\n', "unknown section [nonsense]"),
    ('[hierarchy.levels]\nvalue = 6\nunit = "levels"\nprovenance = "sourced"\n'
     'source = "nowhere"\nfigure = "x"\n', "a key of [sources]"),
])
def test_invalid_files_are_refused_clearly(tmp_path: Path, body: str, expected: str) -> None:
    assert expected in _error(str(_child(tmp_path, body)))


def test_extends_cycle_and_missing_parent(tmp_path: Path) -> None:
    a = tmp_path / "a.toml"
    b = tmp_path / "b.toml"
    a.write_text('[scenario]\nname = "a"\nextends = "b.toml"\n')
    b.write_text('[scenario]\nname = "b"\nextends = "a.toml"\n')
    assert "cycle" in _error(str(a))
    c = tmp_path / "c.toml"
    c.write_text('[scenario]\nname = "c"\nextends = "nowhere"\n')
    assert "scenario.extends = 'nowhere'" in _error(str(c))
    assert "not valid TOML" in _error(str(_child(tmp_path, "[hierarchy\n")))


def test_overrides_replace_values_and_record_provenance() -> None:
    sc = load_scenario("kremlin-2026", ["hierarchy.levels=5", "purges.enabled=false",
                                        "reporting.mode=fixed"])
    e = sc.sections["hierarchy"].params["levels"]
    assert e.central() == 5 and e.provenance == "override" and "had 6" in (e.note or "")
    assert not sc.sections["purges"].enabled
    assert sc.sections["reporting"].options["mode"] == "fixed"
    assert sc.overrides == ("hierarchy.levels=5", "purges.enabled=false", "reporting.mode=fixed")
    for bad, expected in [("hierarchy.levels", "expected section.field=value"),
                          ("hierarchy.depth=3", "hierarchy has no field 'depth'"),
                          ("hierarchy.levels=many", "is not a number"),
                          ("army.levels=3", "unknown section 'army'"),
                          ("hierarchy.levels=0", "between 2 and 9")]:
        assert expected in _error("kremlin-2026", (bad,)), bad


def test_distributions_are_drawn_per_member_and_independent_of_the_batch() -> None:
    sc = load_scenario("kremlin-2026")
    _, flat8 = draw_parameters(sc, np.arange(8), seed=3)
    _, flat3 = draw_parameters(sc, np.arange(5, 8), seed=3)
    reserves = flat8["money.reserves_usd_bn"]
    assert reserves.min() >= 52 and reserves.max() <= 55 and reserves.std() > 0  # uniform
    cand = flat8["hierarchy.candour_mean"]
    assert cand.min() >= 0.3 and cand.max() <= 0.65  # triangular support
    assert (flat8["hierarchy.levels"] == 6).all()  # fixed
    for k in flat8:
        np.testing.assert_array_equal(flat8[k][5:], flat3[k])

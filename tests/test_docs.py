"""Generated documents stay in step with the code and the scenario files."""

from __future__ import annotations

from loyaltytrap import docgen
from loyaltytrap.mechanisms import MECHANISMS
from loyaltytrap.params import param_specs
from loyaltytrap.scenario import load_scenario


def test_parameter_table_is_up_to_date() -> None:
    assert docgen.main(["--check"]) == 0, "run: python -m loyaltytrap.docgen"


def test_model_doc_names_every_parameter_of_every_mechanism() -> None:
    text = (docgen.DOCS / "model.md").read_text()
    for m in MECHANISMS:
        assert f"## {m.id} " in text, f"docs/model.md lacks a section for {m.id}"
        for name in param_specs(m.params):
            assert f"{m.key}.{name}" in text, f"docs/model.md does not mention {m.key}.{name}"


def test_every_parameter_has_provenance() -> None:
    sc = load_scenario("kremlin-2026")
    for row in sc.provenance_rows():
        if row["provenance"] == "sourced":
            assert row["source"] and row["figure"], row
        else:
            assert row["provenance"] == "assumption", row
            assert row["rationale"] and row["range"], row

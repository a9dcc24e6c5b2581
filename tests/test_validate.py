"""The validation suite: fast cases pass through the engine, and docs/validation.md is in step."""

from __future__ import annotations

from loyaltytrap import validate


def test_fast_cases_pass_and_docs_are_in_step() -> None:
    results = validate.run_cases(fast_only=True)
    assert results, "no fast validation case"
    failed = [c.id for c, o in results if not o.passed]
    assert not failed, f"validation cases failed: {failed}"
    doc = validate.DOC.read_text()
    expected_rows = validate.markdown(results).splitlines()
    for row in expected_rows:
        if row.startswith("| ") and not row.startswith("| case"):
            assert row in doc, f"docs/validation.md is out of date (run loyaltytrap validate " \
                               f"--markdown): {row[:60]}"
    for case in validate.CASES:
        assert f"| {case.id} |" in doc, f"{case.id} missing from docs/validation.md"


def test_tandem_formula_limits() -> None:
    # one level, vanishing rates: the continuous-time M/M/1 sojourn 1 / (mu - lambda)
    p, c = 1e-4, 2e-4
    assert abs(validate.tandem_latency(1, p, c) * (c - p) - 1) < 1e-3
    # k levels in tandem add up, plus a day of transit between levels
    assert abs(validate.tandem_latency(3, 0.3, 0.6) - 3 * validate.tandem_latency(1, 0.3, 0.6)
               - 2) < 1e-12

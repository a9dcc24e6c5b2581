"""The validation suite: fast cases pass through the engine, and docs/validation.md is in step."""

from __future__ import annotations

import math

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


def test_derived_expected_values() -> None:
    from loyaltytrap.mechanisms.strikes import availability

    # the daily-clock MTBF tends to 1 / lambda - 1/2 days; availability as in M7's helper
    lam = 6 / 365
    mtbf = math.exp(-lam) / -math.expm1(-lam)
    assert abs(mtbf - (1 / lam - 0.5)) < 0.01
    assert validate.strike_availability(6, 30) == availability(mtbf, 30)
    # Diamond-Dybvig: at f* the patient's payoff R (1 - r1 f) / (1 - f) equals r1
    r1, R = 1.1, 1.5
    f = validate.diamond_dybvig_threshold(r1, R)
    assert abs(R * (1 - r1 * f) / (1 - f) - r1) < 1e-12
    # Granovetter: a few rioters just below the critical spread, nearly all just above
    assert validate.granovetter_equilibrium(12.2) < 10
    assert validate.granovetter_equilibrium(12.25) > 99

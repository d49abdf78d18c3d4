"""A trial's ``suites`` attribute is a summary: the first failure of each (scenario,
invariant), at most six, and the total; the detail stays in the trial's suite summary."""

from __future__ import annotations

from tuner.simulator.outputs import ATTR_FAILURES, SuiteVerdict


def test_the_attribute_keeps_one_failure_per_scenario_and_invariant_and_the_total() -> None:
    failures = [f"FAIL vol_x2 seed {2000 + i}: max_drawdown_usd: observed {700 + i} USD vs limit 400.00 USD"
                for i in range(4)]
    failures += ["FAIL vol_x2 seed 2000: max_loss_overshoot: observed 0.12 vs limit 0.1",
                 "FAIL jumps_x3 seed 2001: max_drawdown_usd: observed 1095.01 USD vs limit 600.00 USD",
                 "wide_spreads: repeats differ (determinism)"]
    attr = SuiteVerdict("adversarial_regression_v1", False, 4, failures).as_attr()
    assert attr["failures"] == [failures[0], failures[4], failures[5], failures[6]]
    assert attr["failures_total"] == 7 and attr["passed"] is False and attr["failed_checks"] == 4


def test_at_most_six_failures_are_stored() -> None:
    failures = [f"FAIL s{i} seed 1: min_final_pnl_usd: observed -1 USD vs limit 0 USD" for i in range(20)]
    attr = SuiteVerdict("x", False, 20, failures).as_attr()
    assert attr["failures"] == failures[:ATTR_FAILURES] and attr["failures_total"] == 20
    assert SuiteVerdict("x", True, 0).as_attr() == {"passed": True, "failed_checks": 0, "failures": [],
                                                    "failures_total": 0}

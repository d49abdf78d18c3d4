"""Metrics from a Monte Carlo summary, with the one-sided bounds."""

from __future__ import annotations

import math

import pytest

from tuner.record import metrics_from_summary, objective_values
from tuner.simulator.summary import SummaryError


def summary(k: int = 0, n: int = 50, mean: float = 100.0, std: float | None = 20.0) -> dict:
    q = {"p01": 1, "p05": 2, "p50": 3, "p95": 4, "p99": 5}
    dist = {"mean": mean, "std": std, "min": -1, "max": 1, "p05": 0, "p50": 0, "p95": 0}
    return {
        "aggregate": {"pnl": dist, "max_drawdown": dict(dist, mean=50.0), "kill_count": k, "kill_rate": k / n,
                      "maker_volume_tao": {"mean": 1.0}, "hedge_volume_tao": {"mean": 2.0}, "fees_usd": {"mean": 3.0},
                      "max_abs_q_tao": {"mean": 4.0, "max": 5.0}},
        "tail_risk": {"alpha": 0.95, "pnl_quantiles": q, "pnl_var_cvar": {"var": -10, "cvar": -20},
                      "max_drawdown_quantiles": q, "max_drawdown_var_cvar": {"var": 300, "cvar": 400},
                      "kill_probability": {"point_estimate": k / n, "kill_count": k, "total_runs": n,
                                           "ci_lower": 0.0, "ci_upper": 0.07135, "ci_level": 0.95}},
    }


def test_known_bounds() -> None:
    m = metrics_from_summary(summary(0, 50), 0.05)
    assert m["kill_ucb"] == pytest.approx(0.05133, abs=5e-6)
    m = metrics_from_summary(summary(0, 100, mean=100.0, std=20.0), 0.05)
    assert m["pnl_lcb"] == pytest.approx(96.71, abs=5e-3)
    assert objective_values(m) == (100.0, m["kill_ucb"], 400.0)


def test_null_std_gives_nan_lcb() -> None:
    assert math.isnan(metrics_from_summary(summary(std=None), 0.05)["pnl_lcb"])


@pytest.mark.parametrize("bad", [{"tail_risk": {}}, {"aggregate": {"pnl": {"mean": "x"}}}])
def test_missing_or_malformed_fields_are_integrity_errors(bad: dict) -> None:
    s = summary()
    for key, value in bad.items():
        s[key] = {**s[key], **value} if value else value
    with pytest.raises(SummaryError):
        metrics_from_summary(s, 0.05)


def test_impossible_kill_count_is_rejected() -> None:
    with pytest.raises(SummaryError):
        metrics_from_summary(summary(k=60, n=50), 0.05)

"""Metrics of a candidate, read from its ``mc_summary.json``, with the one-sided
confidence bounds the study optimizes and the promoter gates on.

The bounds are computed here and only here (at the budgets' ``alpha``); the Rust
summary's two-sided Wilson interval is kept for display.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tuner.bounds import normal_lcb, wilson_upper

__all__ = ["SummaryError", "metrics_from_summary", "read_summary", "objective_values"]


class SummaryError(Exception):
    """``mc_summary.json`` is missing, unreadable or lacks a field: an integrity failure."""


def read_summary(path: Path) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except FileNotFoundError as exc:
        raise SummaryError(f"{path}: missing") from exc
    except (OSError, ValueError) as exc:
        raise SummaryError(f"{path}: unreadable ({exc})") from exc
    if not isinstance(data, dict):
        raise SummaryError(f"{path}: not a JSON object")
    return data


def _get(data: Mapping[str, Any], dotted: str) -> Any:
    node: Any = data
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            raise SummaryError(f"mc_summary.json: missing field {dotted}")
        node = node[part]
    return node


def _num(data: Mapping[str, Any], dotted: str) -> float:
    value = _get(data, dotted)
    if value is None:
        return math.nan  # the simulator writes non-finite statistics as null
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SummaryError(f"mc_summary.json: field {dotted} is not a number: {value!r}")
    return float(value)


def metrics_from_summary(summary: Mapping[str, Any], alpha: float) -> dict[str, float | int]:
    """Every statistic later steps need, flat, plus ``pnl_lcb`` and ``kill_ucb`` at ``alpha``.

    Raises :class:`SummaryError` when a field is missing or malformed.
    """
    n = int(_num(summary, "tail_risk.kill_probability.total_runs"))
    k = int(_num(summary, "tail_risk.kill_probability.kill_count"))
    pnl_mean = _num(summary, "aggregate.pnl.mean")
    pnl_std = _num(summary, "aggregate.pnl.std")
    if n <= 0 or not 0 <= k <= n:
        raise SummaryError(f"mc_summary.json: kill count {k} of {n} runs is impossible")
    return {
        "pnl_mean": pnl_mean,
        "pnl_stdev": pnl_std,
        "pnl_lcb": normal_lcb(pnl_mean, pnl_std, n, alpha),
        "pnl_min": _num(summary, "aggregate.pnl.min"),
        "pnl_p05": _num(summary, "tail_risk.pnl_quantiles.p05"),
        "pnl_p50": _num(summary, "tail_risk.pnl_quantiles.p50"),
        "pnl_p95": _num(summary, "tail_risk.pnl_quantiles.p95"),
        "pnl_var": _num(summary, "tail_risk.pnl_var_cvar.var"),
        "pnl_cvar": _num(summary, "tail_risk.pnl_var_cvar.cvar"),
        "dd_mean": _num(summary, "aggregate.max_drawdown.mean"),
        "dd_max": _num(summary, "aggregate.max_drawdown.max"),
        "dd_var": _num(summary, "tail_risk.max_drawdown_var_cvar.var"),
        "dd_cvar": _num(summary, "tail_risk.max_drawdown_var_cvar.cvar"),
        "kill_k": k,
        "kill_n": n,
        "kill_rate": k / n,
        "kill_ucb": wilson_upper(k, n, alpha),
        "kill_ci95_lower": _num(summary, "tail_risk.kill_probability.ci_lower"),
        "kill_ci95_upper": _num(summary, "tail_risk.kill_probability.ci_upper"),
        "maker_volume_tao_mean": _num(summary, "aggregate.maker_volume_tao.mean"),
        "hedge_volume_tao_mean": _num(summary, "aggregate.hedge_volume_tao.mean"),
        "fees_usd_mean": _num(summary, "aggregate.fees_usd.mean"),
        "max_abs_q_tao_mean": _num(summary, "aggregate.max_abs_q_tao.mean"),
        "max_abs_q_tao_max": _num(summary, "aggregate.max_abs_q_tao.max"),
    }


def objective_values(metrics: Mapping[str, float | int]) -> tuple[float, float, float]:
    """The study's objectives, in the order of ``identifiers.METRIC_NAMES``."""
    return (float(metrics["pnl_mean"]), float(metrics["kill_ucb"]), float(metrics["dd_cvar"]))

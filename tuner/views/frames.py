"""A study as a pandas DataFrame with flat columns, for notebooks and scripts.

One row per trial (every state): ``number``, ``state``, ``feasible``, ``failed_checks``,
``reason`` (why the trial is infeasible or failed, as ``tuner.show`` says it),
``pareto_rank`` (among feasible trials, 1 = the front; empty otherwise),
``candidate_id``, the objectives (``pnl_mean``, ``kill_ucb``, ``dd_cvar``), the other
bounds and statistics (``pnl_lcb``, ``pnl_stdev``, ``kill_k``, ``kill_n``, ``kill_rate``,
``dd_var``, ``pnl_var``, ``pnl_cvar``...), ``pass_<tier>`` for every tier of the budgets
(on the trial's own search evidence, bounds at the budgets' alpha), the parameters by
their ``PARAPHINA_*`` names, ``interrupted``, ``retry_of``, ``retried_as``, ``trial_dir`` and the start
and end times.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from optuna.trial import FrozenTrial

from tuner.config.budgets import Budgets
from tuner.names import KNOB_NAMES, METRIC_NAMES
from tuner.record import superseded_numbers
from tuner.views.assess import assess

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["FRAME_METRICS", "trials_frame"]

#: Statistics copied from a trial's metrics, after the objectives.
FRAME_METRICS = (
    "pnl_lcb", "pnl_stdev", "pnl_min", "pnl_p05", "pnl_p50", "pnl_p95", "pnl_var", "pnl_cvar",
    "dd_mean", "dd_max", "dd_var", "kill_k", "kill_n", "kill_rate",
    "maker_volume_tao_mean", "hedge_volume_tao_mean", "fees_usd_mean", "max_abs_q_tao_mean", "max_abs_q_tao_max",
)


def trials_frame(trials: Sequence[FrozenTrial], budgets: Budgets) -> pd.DataFrame:
    """Every trial as one row (see the module documentation for the columns)."""
    import pandas as pd  # noqa: PLC0415  (pandas costs a quarter second at start-up)

    superseded = superseded_numbers(trials)
    rows: list[dict[str, Any]] = []
    for a in assess(trials, budgets):
        v = a.view
        row: dict[str, Any] = {
            "number": v.number,
            "state": v.state,
            "feasible": v.feasible,
            "failed_checks": v.failed_checks,
            "reason": a.reason,
            "pareto_rank": a.pareto_rank,
            "candidate_id": v.candidate_id,
            "profile": v.profile,
        }
        for name in METRIC_NAMES:
            row[name] = (v.values or {}).get(name)
        for name in FRAME_METRICS:
            row[name] = v.metric(name) if name in v.metrics else None
        for tier, failures in a.tiers.items():
            row[f"pass_{tier}"] = not failures
        for knob in KNOB_NAMES:
            row[knob] = v.params.get(knob)
        row.update(
            interrupted=v.interrupted,
            superseded=v.number in superseded,
            retry_of=v.retry_of,
            retried_as=a.retried_as,
            trial_dir=v.trial_dir,
            datetime_start=v.datetime_start,
            datetime_complete=v.datetime_complete,
        )
        rows.append(row)
    columns = (["number", "state", "feasible", "failed_checks", "reason", "pareto_rank", "candidate_id", "profile",
                *METRIC_NAMES, *FRAME_METRICS, *(f"pass_{t}" for t in budgets.tiers), *KNOB_NAMES,
                "interrupted", "superseded", "retry_of", "retried_as", "trial_dir", "datetime_start", "datetime_complete"])
    frame = pd.DataFrame(rows, columns=columns)
    return frame.astype({"pareto_rank": "Int64", "failed_checks": "Int64", "retry_of": "Int64", "retried_as": "Int64"})

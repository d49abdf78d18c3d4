"""A small study written straight into SQLite with the records the objective writes,
built so that the views' hard cases are all there: an infeasible trial that dominates
every feasible one, a feasible trial only that infeasible one dominates, an
interrupted trial and its retry, a failed trial and a dominated feasible trial.

No simulator runs, so tests of what a user sees (dashboard, plots, terminal) start in
well under a second.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import optuna
from optuna.trial import TrialState

from tuner.config.paths import DEFAULT_SEARCH_SPACE
from tuner.config.search_space import load_search_space
from tuner.names import METRIC_NAMES, candidate_id
from tuner.record import CONSTRAINT_KEY, LEGACY_CONSTRAINTS_KEY, RETRY_OF_KEY, Attr, metrics_from_summary, objective_values

ALPHA = 0.05
RUNS = 200

#: number -> (pnl_mean, pnl_std, kills, dd_cvar, failed checks or None for a FAIL trial, extra)
TRIALS: dict[int, tuple[float, float, int, float, int | None]] = {
    0: (300.0, 40.0, 0, 100.0, 2),     # infeasible, dominates everything
    1: (200.0, 40.0, 1, 200.0, 0),     # feasible, dominated only by trial 0
    2: (100.0, 30.0, 0, 50.0, 0),      # feasible, on the feasible front
    3: (0.0, 0.0, 0, 0.0, None),       # interrupted (FAIL), retried as trial 5
    4: (150.0, 40.0, 3, 400.0, 0),     # feasible, dominated by trial 1 (rank 2)
    5: (120.0, 30.0, 2, 300.0, 1),     # the retry of trial 3: infeasible
    6: (0.0, 0.0, 0, 0.0, None),       # a failed command (integrity failure)
}
INFEASIBLE = {0, 5}
FEASIBLE_FRONT = {1, 2}
#: The trials optuna-dashboard 0.21's own front (which ignores constraints) calls best.
DASHBOARD_UNCORRECTED_BEST = {0, 2}


def _summary(pnl: float, std: float, kills: int, dd: float) -> dict[str, Any]:
    return {
        "aggregate": {
            "pnl": {"mean": pnl, "std": std, "min": pnl - 3 * std},
            "max_drawdown": {"mean": dd / 2, "max": dd * 1.5},
            "maker_volume_tao": {"mean": 1000.0}, "hedge_volume_tao": {"mean": 500.0},
            "fees_usd": {"mean": 12.5}, "max_abs_q_tao": {"mean": 20.0, "max": 40.0},
        },
        "tail_risk": {
            "kill_probability": {"total_runs": RUNS, "kill_count": kills, "ci_lower": 0.0, "ci_upper": 0.05},
            "pnl_quantiles": {"p05": pnl - 2 * std, "p50": pnl, "p95": pnl + 2 * std},
            "pnl_var_cvar": {"var": -(pnl - 2 * std), "cvar": -(pnl - 2.5 * std)},
            "max_drawdown_var_cvar": {"var": dd * 0.8, "cvar": dd},
        },
    }


def make_study(root: Path, name: str = "fake") -> Path:
    """Writes study ``name`` into ``root/studies/<name>.db``; returns the database path."""
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    db = root / "studies" / f"{name}.db"
    db.parent.mkdir(parents=True, exist_ok=True)
    study = optuna.create_study(study_name=name, storage=f"sqlite:///{db}",
                                directions=["maximize", "minimize", "minimize"])
    study.set_metric_names(list(METRIC_NAMES))
    study.set_user_attr("settings", {"mc_runs": RUNS, "mc_ticks": 600, "seed": 42, "alpha": ALPHA,
                                     "sampler": "nsga2", "population": 4})
    study.set_user_attr("study_dir", str(root / "studies" / name))
    space = load_search_space(DEFAULT_SEARCH_SPACE)
    dists = space.distributions()
    sampler = optuna.samplers.RandomSampler(seed=7)
    for number, (pnl, std, kills, dd, checks) in TRIALS.items():
        params = {k: sampler.sample_independent(study, None, k, d) for k, d in dists.items()}  # type: ignore[arg-type]
        overlay = space.overlay(params)
        cid = candidate_id(overlay)
        attrs: dict[str, Any] = {Attr.CANDIDATE_ID: cid, Attr.WORKER: "host:1",
                                 Attr.TRIAL_DIR: str(root / "studies" / name / "trials" / f"trial_{number:04d}_{cid}")}
        system: dict[str, Any] = {}
        constraints = None
        values = None
        state = TrialState.COMPLETE
        if checks is None:
            state = TrialState.FAIL
            if number == 3:
                attrs[Attr.INTERRUPTED] = True
            else:
                attrs[Attr.FAILURE] = {"reason": "command failed",
                                       "command": "monte_carlo exited with status 101",
                                       "stderr_tail": "thread 'main' panicked"}
        else:
            metrics = metrics_from_summary(_summary(pnl, std, kills, dd), ALPHA)
            values = list(objective_values(metrics))
            suites = {
                "research_v1": {"passed": checks == 0, "failed_checks": min(checks, 1),
                                "failures": ["flash_crash: max drawdown 1812.5 > 1500"] if checks else []},
                "adversarial_regression_v1": {"passed": checks < 2, "failed_checks": max(checks - 1, 0),
                                              "failures": ["spoof_burst: kill switch fired at tick 88"]
                                              if checks >= 2 else []},
            }
            attrs.update({
                Attr.PNL_LCB: metrics["pnl_lcb"], Attr.KILL_COUNT: metrics["kill_k"],
                Attr.SUITES_PASSED: checks == 0, Attr.EVIDENCE_VERIFIED: True, Attr.METRICS: metrics,
                Attr.OVERLAY: overlay, Attr.SUITES: suites,
                Attr.EVIDENCE: {"mc_summary_sha256": "0" * 64, "root_sha256sums_sha256": "1" * 64},
                Attr.RUN: {"mc_runs": RUNS, "mc_ticks": 600, "seed": 42,
                           "commands": [{"argv": ["target/release/monte_carlo", "--runs", str(RUNS), "--output-dir",
                                                  f"my studies/{name}/trials/trial_{number:04d}_{cid}/mc"],
                                         "exit": 0, "seconds": 1.25, "timed_out": False}],
                           "seconds": 2.5, "binary_seconds": 2.0},
            })
            constraints = {CONSTRAINT_KEY: float(checks)}
            system[LEGACY_CONSTRAINTS_KEY] = [float(checks)]
        if number == 5:
            system[RETRY_OF_KEY] = 3
            system["retry_history"] = [3]
        study.add_trial(optuna.trial.create_trial(
            state=state, values=values, params=params, distributions=dists, user_attrs=attrs,
            system_attrs=system, constraints=constraints))
    return db

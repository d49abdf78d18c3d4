"""Study outputs in the study directory: ``trials.jsonl`` (every trial, every state),
``pareto.json`` and ``pareto.csv`` (feasible trials with their Pareto rank; rank 1 is
the front), self-contained Plotly plots under ``plots/``, and a root evidence pack.

Everything here reads the study database; the files are views of it, rewritten whole
(atomically) each time.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import optuna
import pandas as pd
from optuna.trial import FrozenTrial

from tuner import recovery
from tuner._faults import checkpoint
from tuner.budgets import Budgets
from tuner.identifiers import KNOB_NAMES, METRIC_NAMES, trial_dir_name
from tuner.objective import is_feasible
from tuner.runner import binary, run_command
from tuner.selection import Candidate, pareto_ranks, winner_order_key

__all__ = [
    "PARETO_COLUMNS",
    "candidate_from_trial",
    "feasible_candidates",
    "trial_record",
    "write_atomic",
    "write_study_outputs",
]

PARETO_COLUMNS = [
    "pareto_rank", "candidate_id", "trial_number", "trial_id", "profile", "pnl_mean", "pnl_stdev",
    "pnl_lcb", "kill_rate", "kill_k", "kill_n", "kill_ucb", "dd_cvar", "evidence_verified",
]

def write_atomic(path: Path, text: str) -> None:
    """Writes through a temporary file in the same directory and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _iso(t: dt.datetime | None) -> str | None:
    return t.isoformat() if t else None


def json_safe(value: Any) -> Any:
    """``value`` with non-finite floats as None (JSON has no NaN), keys as strings."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def trial_record(t: FrozenTrial) -> dict[str, Any]:
    """One line of ``trials.jsonl``."""
    return json_safe(
        {
            "number": t.number,
            "state": t.state.name,
            "values": dict(zip(METRIC_NAMES, t.values)) if t.values else None,
            "constraints": t.constraints,
            "params": t.params,
            "user_attrs": t.user_attrs,
            "retry_of": t.system_attrs.get("failed_trial"),
            "datetime_start": _iso(t.datetime_start),
            "datetime_complete": _iso(t.datetime_complete),
        }
    )


def as_number(value: Any) -> float:
    """A stored statistic as a float; anything that is not a real number (booleans
    included) as NaN, so every rule that reads it fails closed."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return math.nan
    return float(value)


def candidate_from_trial(t: FrozenTrial, evidence_verified: bool | None = None) -> Candidate:
    """The promoter's view of a trial: statistics from its user attributes (the database
    is the source of truth), missing ones as NaN so every rule fails closed."""
    m = t.user_attrs.get("metrics") or {}
    suites = t.user_attrs.get("suites") or {}
    return Candidate(
        candidate_id=str(t.user_attrs.get("candidate_id", "")),
        trial_number=t.number,
        pnl_mean=as_number(m.get("pnl_mean")),
        pnl_std=as_number(m.get("pnl_stdev")),
        pnl_lcb=as_number(m.get("pnl_lcb")),
        kill_k=as_number(m.get("kill_k")),
        kill_n=as_number(m.get("kill_n")),
        kill_ucb=as_number(m.get("kill_ucb")),
        dd_cvar=as_number(m.get("dd_cvar")),
        evidence_verified=(t.user_attrs.get("evidence_verified") is True) if evidence_verified is None else evidence_verified,
        suites_passed={k: bool(v.get("passed")) if isinstance(v, dict) else False for k, v in suites.items()},
    )


def feasible_candidates(trials: Sequence[FrozenTrial]) -> list[tuple[FrozenTrial, Candidate, int]]:
    """Feasible COMPLETE trials, with their candidate view and Pareto rank (1 = front),
    in rank then winner order."""
    feas = [t for t in trials if is_feasible(t)]
    cands = [candidate_from_trial(t) for t in feas]
    ranks = pareto_ranks(cands)
    rows = list(zip(feas, cands, ranks))
    rows.sort(key=lambda r: (r[2], winner_order_key(r[1])))
    return rows


def _pareto_rows(trials: Sequence[FrozenTrial]) -> list[dict[str, Any]]:
    rows = []
    for t, c, rank in feasible_candidates(trials):
        m = t.user_attrs.get("metrics") or {}
        overlay = t.user_attrs.get("overlay") or {}
        row: dict[str, Any] = {
            "pareto_rank": rank,
            "candidate_id": c.candidate_id,
            "trial_number": t.number,
            "trial_id": trial_dir_name(t.number, c.candidate_id),
            "profile": overlay.get("PARAPHINA_RISK_PROFILE"),
            "pnl_mean": c.pnl_mean,
            "pnl_stdev": c.pnl_std,
            "pnl_lcb": c.pnl_lcb,
            "kill_rate": as_number(m.get("kill_rate")),
            "kill_k": int(c.kill_k) if math.isfinite(c.kill_k) else None,
            "kill_n": int(c.kill_n) if math.isfinite(c.kill_n) else None,
            "kill_ucb": c.kill_ucb,
            "dd_cvar": c.dd_cvar,
            "evidence_verified": bool(c.evidence_verified),
        }
        for knob in KNOB_NAMES:
            row[knob] = overlay.get(knob)
        rows.append(row)
    return rows


def write_study_outputs(
    study: optuna.Study,
    study_dir: Path,
    budgets: Budgets,
    *,
    plots: bool = True,
    evidence: bool = True,
) -> list[Path]:
    """Writes the study's outputs into ``study_dir``; returns the paths written."""
    from tuner.plots import write_plots

    trials = study.get_trials(deepcopy=False)
    written: list[Path] = []
    study_dir.mkdir(parents=True, exist_ok=True)

    path = study_dir / "trials.jsonl"
    write_atomic(path, "".join(json.dumps(trial_record(t), sort_keys=True) + "\n" for t in trials))
    written.append(path)
    checkpoint("reports.outputs")

    rows = _pareto_rows(trials)
    settings = study.user_attrs.get("settings") or {}
    doc = {
        "study_name": study.study_name,
        "seed": settings.get("seed"),
        "alpha": budgets.alpha,
        "mc_runs": settings.get("mc_runs"),
        "mc_ticks": settings.get("mc_ticks"),
        "generated_at": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "finished_trials": len(recovery.counted_trials(trials)),
        "candidates": rows,
    }
    path = study_dir / "pareto.json"
    write_atomic(path, json.dumps(json_safe(doc), indent=2) + "\n")
    written.append(path)

    frame = pd.DataFrame(rows, columns=PARETO_COLUMNS + list(KNOB_NAMES))
    path = study_dir / "pareto.csv"
    write_atomic(path, frame.to_csv(index=False))
    written.append(path)

    if plots:
        written += write_plots(study, study_dir / "plots", budgets)
    if evidence:
        written.append(_root_pack(study_dir))
    return written


def _root_pack(study_dir: Path) -> Path:
    """A root evidence pack over the study directory (nested packs excluded), verified."""
    write = run_command([binary("sim_eval"), "write-evidence-pack", study_dir], timeout=600)
    if not write.ok:
        print(f"warning: root evidence pack of {study_dir} not written: {write.stderr_tail.strip()[-300:]}",
              file=sys.stderr)
    else:
        check = run_command([binary("sim_eval"), "verify-evidence-tree", study_dir], timeout=600)
        if not check.ok:
            print(f"warning: the evidence of {study_dir} does not verify (another worker still writing?):\n"
                  f"{(check.stdout + check.stderr_tail).strip()[-1500:]}", file=sys.stderr)
    return study_dir / "evidence_pack"

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
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import FrozenTrial

from tuner._faults import checkpoint
from tuner._io import dumps_json, json_safe, write_atomic
from tuner.config.budgets import Budgets
from tuner.names import KNOB_NAMES, METRIC_NAMES, PROFILE_KNOB, trial_dir_name
from tuner.promotion.decision import Candidate, candidate_from_trial, pareto_ranks, winner_order_key
from tuner.record import RETRY_OF_KEY, Attr, StudyAttr, as_number, counted_trials, is_feasible, is_repeat
from tuner.session.settings import StudySettings
from tuner.simulator import client
from tuner.views.plots import write_plots

__all__ = ["PARETO_COLUMNS", "feasible_candidates", "pareto_rows", "trial_record", "write_study_outputs"]

PARETO_COLUMNS = [
    "pareto_rank", "candidate_id", "trial_number", "trial_id", "profile", "pnl_mean", "pnl_stdev",
    "pnl_lcb", "kill_rate", "kill_k", "kill_n", "kill_ucb", "dd_cvar", "evidence_verified",
]

def _iso(t: dt.datetime | None) -> str | None:
    return t.isoformat() if t else None


def trial_record(t: FrozenTrial) -> dict[str, Any]:
    """One line of ``trials.jsonl``."""
    return json_safe(
        {
            "number": t.number,
            "state": t.state.name,
            "values": dict(zip(METRIC_NAMES, t.values, strict=False)) if t.values else None,
            "constraints": t.constraints,
            "params": t.params,
            "user_attrs": t.user_attrs,
            "retry_of": t.system_attrs.get(RETRY_OF_KEY),
            "datetime_start": _iso(t.datetime_start),
            "datetime_complete": _iso(t.datetime_complete),
        }
    )


def feasible_candidates(trials: Sequence[FrozenTrial]) -> list[tuple[FrozenTrial, Candidate, int]]:
    """Feasible COMPLETE trials, one per candidate (repeats left out), with their
    candidate view and Pareto rank (1 = front), in rank then winner order."""
    feas = [t for t in trials if is_feasible(t) and not is_repeat(t)]
    cands = [candidate_from_trial(t) for t in feas]
    ranks = pareto_ranks(cands)
    rows = list(zip(feas, cands, ranks, strict=False))
    rows.sort(key=lambda r: (r[2], winner_order_key(r[1])))
    return rows


def pareto_rows(trials: Sequence[FrozenTrial]) -> list[dict[str, Any]]:
    """The rows of ``pareto.csv``: feasible trials with their Pareto rank, in rank then
    winner order."""
    rows = []
    for t, c, rank in feasible_candidates(trials):
        m = t.user_attrs.get(Attr.METRICS) or {}
        overlay = t.user_attrs.get(Attr.OVERLAY) or {}
        row: dict[str, Any] = {
            "pareto_rank": rank,
            "candidate_id": c.candidate_id,
            "trial_number": t.number,
            "trial_id": trial_dir_name(t.number, c.candidate_id),
            "profile": overlay.get(PROFILE_KNOB),
            "pnl_mean": c.pnl_mean,
            "pnl_stdev": c.pnl_stdev,
            "pnl_lcb": c.pnl_lcb,
            "kill_rate": as_number(m.get("kill_rate")),
            "kill_k": int(c.kill_k) if c.kill_k is not None and math.isfinite(c.kill_k) else None,
            "kill_n": int(c.kill_n) if c.kill_n is not None and math.isfinite(c.kill_n) else None,
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
    promoted_dir: Path | None = None,
    self_contained_plots: bool | None = None,
) -> list[Path]:
    """Writes the study's outputs into ``study_dir``; returns the paths written. The
    plots mark the winners recorded in ``promoted_dir`` (default
    ``configs/presets/promoted``); ``self_contained_plots`` as
    :func:`tuner.views.plots.write_plots` says."""
    import pandas as pd  # noqa: PLC0415  (pandas costs a quarter second at start-up)

    trials = study.get_trials(deepcopy=False)
    written: list[Path] = []
    study_dir.mkdir(parents=True, exist_ok=True)

    path = study_dir / "trials.jsonl"
    write_atomic(path, "".join(json.dumps(trial_record(t), sort_keys=True) + "\n" for t in trials))
    written.append(path)
    checkpoint("reports.outputs")

    rows = pareto_rows(trials)
    settings = StudySettings.stored(study)
    doc = {
        "study_name": study.study_name,
        "seed": settings.get("seed"),
        "alpha": budgets.alpha,
        "mc_runs": settings.get("mc_runs"),
        "mc_ticks": settings.get("mc_ticks"),
        "generated_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "finished_trials": len(counted_trials(trials)),
        "candidates": rows,
    }
    overfitting = study.user_attrs.get(StudyAttr.OVERFITTING)
    if overfitting is not None:  # the last promotion's finalists (tuner.promotion.promoter)
        doc["overfitting"] = overfitting
    path = study_dir / "pareto.json"
    write_atomic(path, dumps_json(doc))
    written.append(path)

    frame = pd.DataFrame(rows, columns=PARETO_COLUMNS + list(KNOB_NAMES))
    path = study_dir / "pareto.csv"
    write_atomic(path, frame.to_csv(index=False))
    written.append(path)

    if plots:
        written += write_plots(study, study_dir / "plots", budgets, promoted_dir=promoted_dir,
                               self_contained=self_contained_plots)
    if evidence:
        written.append(_root_pack(study_dir))
    return written


def _root_pack(study_dir: Path) -> Path:
    """A root evidence pack over the study directory (nested packs excluded), verified."""
    write = client.write_pack(study_dir)
    if not write.ok:
        # The previous pack would stay, stale: never report it as written.
        why = " ".join(write.stderr_tail.split())[-300:] or write.describe()
        raise OSError(f"root evidence pack of {study_dir} not written ({why})")
    else:
        check = client.verify_tree(study_dir)
        if not check.ok:
            print(f"warning: the evidence of {study_dir} does not verify (another worker still writing?):\n"
                  f"{(check.result.stdout + check.result.stderr_tail).strip()[-1500:]}", file=sys.stderr)
    return study_dir / "evidence_pack"

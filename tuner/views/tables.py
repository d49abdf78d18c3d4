"""Terminal views of a study: the trial table, one trial whole, the front table."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from typing import Any

from optuna.trial import FrozenTrial

from tuner.names import METRIC_NAMES, PROFILE_KNOB
from tuner.record import Attr, TrialView, as_number, is_feasible
from tuner.views.outputs import trial_record

__all__ = ["SORT_KEYS", "front_table", "show_trial", "trial_row", "trial_table"]

SORT_KEYS = ("number", "pnl_mean", "kill_ucb", "dd_cvar", "pnl_lcb")


def trial_row(t: FrozenTrial, superseded: set[int]) -> dict[str, Any]:
    values = dict(zip(METRIC_NAMES, t.values, strict=False)) if t.values else {}
    state = t.state.name
    if t.number in superseded:
        state += " (retried)"
    elif t.user_attrs.get(Attr.INTERRUPTED) is True:
        state += " (interrupted)"
    return {
        "number": t.number,
        "state": state,
        "feasible": is_feasible(t) if t.state.name == "COMPLETE" else None,
        "pnl_mean": values.get("pnl_mean"),
        "kill_ucb": values.get("kill_ucb"),
        "dd_cvar": values.get("dd_cvar"),
        "pnl_lcb": t.user_attrs.get(Attr.PNL_LCB),
        "profile": t.params.get(PROFILE_KNOB),
        "candidate_id": t.user_attrs.get(Attr.CANDIDATE_ID),
    }


def _fmt(v: Any, spec: str) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    return format(v, spec)


def trial_table(rows: list[dict[str, Any]]) -> str:
    head = f"{'trial':>5}  {'state':<18} {'feasible':<8} {'pnl_mean':>9} {'kill_ucb':>8} {'dd_cvar':>8} {'pnl_lcb':>9}  {'profile':<12} candidate"
    lines = [head]
    for r in rows:
        feas = "-" if r["feasible"] is None else ("yes" if r["feasible"] else "no")
        lines.append(
            f"{r['number']:>5}  {r['state']:<18} {feas:<8} {_fmt(r['pnl_mean'], '9.2f')} {_fmt(r['kill_ucb'], '8.4f')} "
            f"{_fmt(r['dd_cvar'], '8.1f')} {_fmt(r['pnl_lcb'], '9.2f')}  {r['profile'] or '-'!s:<12} {r['candidate_id'] or '-'}"
        )
    return "\n".join(lines)


def show_trial(t: FrozenTrial) -> str:
    rec = trial_record(t)
    ua = rec["user_attrs"]
    out = [f"trial {t.number}: {t.state.name}" + (f", retry of trial {rec['retry_of']}" if rec["retry_of"] is not None else "")]
    out.append(f"  candidate  {ua.get(Attr.CANDIDATE_ID, '-')}")
    out.append(f"  directory  {ua.get(Attr.TRIAL_DIR, '-')}")
    out.append(f"  started    {rec['datetime_start']}   finished {rec['datetime_complete']}")
    if rec["values"]:
        out.append("  objectives " + ", ".join(f"{k} {v}" for k, v in rec["values"].items()))
    if rec["constraints"]:
        feas = "feasible" if is_feasible(t) else "INFEASIBLE"
        out.append(f"  constraints {rec['constraints']} ({feas})")
    out.append("  parameters")
    for k, v in (ua.get(Attr.OVERLAY) or t.params).items():
        out.append(f"    {k}={v}")
    if ua.get(Attr.METRICS):
        out.append("  metrics")
        for k, v in ua[Attr.METRICS].items():
            out.append(f"    {k:24s} {v}")
    if ua.get(Attr.SUITES):
        out.append("  suites")
        for name, s in ua[Attr.SUITES].items():
            verdict = "passed" if s.get("passed") else f"FAILED ({s.get('failed_checks')} checks)"
            out.append(f"    {name}: {verdict}")
            for f in s.get("failures", []):
                out.append(f"      - {f}")
    out.append(f"  evidence   {'verified' if ua.get(Attr.EVIDENCE_VERIFIED) else 'not verified'}"
               + (f" {ua[Attr.EVIDENCE]}" if ua.get(Attr.EVIDENCE) else ""))
    if ua.get(Attr.FAILURE):
        out.append(f"  failure    {json.dumps(ua[Attr.FAILURE])}")
    run = ua.get(Attr.RUN) or {}
    if run.get("commands") or ua.get(Attr.COMMANDS):
        out.append("  commands")
        for c in run.get("commands") or ua.get(Attr.COMMANDS):
            out.append(f"    [{c.get('exit')}] {c.get('seconds')} s  {' '.join(c.get('argv', []))}")
    if run:
        out.append(f"  seeds      {run.get('seeds')}; {run.get('mc_runs')} runs x {run.get('mc_ticks')} ticks; "
                   f"{run.get('seconds')} s ({run.get('binary_seconds')} s in binaries)")
    return "\n".join(out)


def front_table(trials: Iterable[FrozenTrial]) -> str:
    """The study's closing table of its feasible Pareto front, best ``pnl_mean`` first."""
    views = sorted((TrialView.of(t) for t in trials),
                   key=lambda v: (-(v.values or {})["pnl_mean"], (v.values or {})["dd_cvar"], (v.values or {})["kill_ucb"], v.number))
    rows = ["  trial  candidate      profile       pnl_mean   pnl_lcb  kill_ucb   dd_cvar"]
    for v in views:
        values = v.values or {}
        rows.append(
            f"  {v.number:5d}  {v.candidate_id or '?':12s}  "
            f"{v.params.get(PROFILE_KNOB, '?')!s:12s} {values['pnl_mean']:9.2f} "
            f"{as_number(v.user_attrs.get(Attr.PNL_LCB)):9.2f} {values['kill_ucb']:9.4f} {values['dd_cvar']:9.1f}"
        )
    return "\n".join(rows)

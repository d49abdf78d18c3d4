"""``python -m tuner.show``: a study in the terminal.

``--study NAME`` lists its trials as a table (number, state, feasibility, the three
objectives, pnl_lcb, profile, candidate id); ``--sort KEY`` orders them, ``--front``
keeps the feasible Pareto front, ``--json`` prints JSON for scripts. ``--trial N``
shows one trial whole: parameters, every metric, suite verdicts, evidence status,
commands and paths.
"""

from __future__ import annotations

import json
import math
import sys
from typing import Any

from optuna.trial import FrozenTrial

from tuner import recovery
from tuner.cli import ArgumentParser, quiet_optuna, run_main
from tuner.errors import InputError
from tuner.identifiers import METRIC_NAMES, validate_study_name
from tuner.objective import is_feasible
from tuner.reports import trial_record
from tuner.storage import default_storage_url, parse_storage

__all__ = ["main", "trial_row"]

PROG = "python -m tuner.show"
SORT_KEYS = ("number", "pnl_mean", "kill_ucb", "dd_cvar", "pnl_lcb")


def trial_row(t: FrozenTrial, superseded: set[int]) -> dict[str, Any]:
    values = dict(zip(METRIC_NAMES, t.values)) if t.values else {}
    state = t.state.name
    if t.number in superseded:
        state += " (retried)"
    elif t.user_attrs.get("interrupted") is True:
        state += " (interrupted)"
    return {
        "number": t.number,
        "state": state,
        "feasible": is_feasible(t) if t.state.name == "COMPLETE" else None,
        "pnl_mean": values.get("pnl_mean"),
        "kill_ucb": values.get("kill_ucb"),
        "dd_cvar": values.get("dd_cvar"),
        "pnl_lcb": t.user_attrs.get("pnl_lcb"),
        "profile": t.params.get("PARAPHINA_RISK_PROFILE"),
        "candidate_id": t.user_attrs.get("candidate_id"),
    }


def _fmt(v: Any, spec: str) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    return format(v, spec)


def _table(rows: list[dict[str, Any]]) -> str:
    head = f"{'trial':>5}  {'state':<18} {'feasible':<8} {'pnl_mean':>9} {'kill_ucb':>8} {'dd_cvar':>8} {'pnl_lcb':>9}  {'profile':<12} candidate"
    lines = [head]
    for r in rows:
        feas = "-" if r["feasible"] is None else ("yes" if r["feasible"] else "no")
        lines.append(
            f"{r['number']:>5}  {r['state']:<18} {feas:<8} {_fmt(r['pnl_mean'], '9.2f')} {_fmt(r['kill_ucb'], '8.4f')} "
            f"{_fmt(r['dd_cvar'], '8.1f')} {_fmt(r['pnl_lcb'], '9.2f')}  {str(r['profile'] or '-'):<12} {r['candidate_id'] or '-'}"
        )
    return "\n".join(lines)


def _show_trial(t: FrozenTrial) -> str:
    rec = trial_record(t)
    ua = rec["user_attrs"]
    out = [f"trial {t.number}: {t.state.name}" + (f", retry of trial {rec['retry_of']}" if rec["retry_of"] is not None else "")]
    out.append(f"  candidate  {ua.get('candidate_id', '-')}")
    out.append(f"  directory  {ua.get('trial_dir', '-')}")
    out.append(f"  started    {rec['datetime_start']}   finished {rec['datetime_complete']}")
    if rec["values"]:
        out.append("  objectives " + ", ".join(f"{k} {v}" for k, v in rec["values"].items()))
    if rec["constraints"]:
        feas = "feasible" if is_feasible(t) else "INFEASIBLE"
        out.append(f"  constraints {rec['constraints']} ({feas})")
    out.append("  parameters")
    for k, v in (ua.get("overlay") or t.params).items():
        out.append(f"    {k}={v}")
    if ua.get("metrics"):
        out.append("  metrics")
        for k, v in ua["metrics"].items():
            out.append(f"    {k:24s} {v}")
    if ua.get("suites"):
        out.append("  suites")
        for name, s in ua["suites"].items():
            verdict = "passed" if s.get("passed") else f"FAILED ({s.get('failed_checks')} checks)"
            out.append(f"    {name}: {verdict}")
            for f in s.get("failures", []):
                out.append(f"      - {f}")
    out.append(f"  evidence   {'verified' if ua.get('evidence_verified') else 'not verified'}"
               + (f" {ua['evidence']}" if ua.get("evidence") else ""))
    if ua.get("failure"):
        out.append(f"  failure    {json.dumps(ua['failure'])}")
    run = ua.get("run") or {}
    if run.get("commands") or ua.get("commands"):
        out.append("  commands")
        for c in run.get("commands") or ua.get("commands"):
            out.append(f"    [{c.get('exit')}] {c.get('seconds')} s  {' '.join(c.get('argv', []))}")
    if run:
        out.append(f"  seeds      {run.get('seeds')}; {run.get('mc_runs')} runs x {run.get('mc_ticks')} ticks; "
                   f"{run.get('seconds')} s ({run.get('binary_seconds')} s in binaries)")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    p = ArgumentParser(prog=PROG, description="List a study's trials, or show one trial whole.")
    p.add_argument("--study", metavar="NAME", required=True)
    p.add_argument("--storage", metavar="URL", help="Optuna storage (default sqlite:///studies/<study>.db)")
    p.add_argument("--trial", metavar="N", type=int, help="show trial N whole")
    p.add_argument("--front", action="store_true", help="only the feasible Pareto front")
    p.add_argument("--sort", choices=SORT_KEYS, default="number", help="sort key (default number)")
    p.add_argument("--reverse", action="store_true", help="reverse the sort order")
    p.add_argument("--json", action="store_true", help="JSON instead of a table")
    args = p.parse_args(argv)
    quiet_optuna()
    name = validate_study_name(args.study)
    spec = parse_storage(args.storage or default_storage_url(name))
    if spec.sqlite_path is not None and not spec.sqlite_path.exists():
        raise InputError(f"--storage {spec.redacted}: no such database file")
    from tuner.study import open_study

    study = open_study(name, spec, None, create=False)
    trials = study.get_trials(deepcopy=False)
    if args.trial is not None:
        match = [t for t in trials if t.number == args.trial]
        if not match:
            raise InputError(f"--trial {args.trial}: no such trial in study {name} (trials 0..{len(trials) - 1})")
        print(json.dumps(trial_record(match[0]), indent=2) if args.json else _show_trial(match[0]))
        return 0
    superseded = recovery.superseded_numbers(trials)
    if args.front:
        front = {t.number for t in study.best_trials if is_feasible(t)}
        trials = [t for t in trials if t.number in front]
    rows = [trial_row(t, superseded) for t in trials]
    key = args.sort

    def sort_key(r: dict[str, Any]) -> tuple[int, float]:
        v = r[key]
        return (1, 0.0) if v is None else (0, float(v))

    rows.sort(key=sort_key, reverse=args.reverse)
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print(_table(rows))
        print(f"{len(rows)} trial(s); {len(recovery.counted_trials(study.get_trials(deepcopy=False)))} finished in study {name}",
              file=sys.stderr)
    return 0


if __name__ == "__main__":
    run_main(PROG, main)

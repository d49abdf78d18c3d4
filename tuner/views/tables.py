"""Terminal views of a study: the trial table, one trial whole, the front table.

Numbers are rounded for reading and carry their units; times carry their time zone;
every trial says whether it is feasible and, if not, why; an interrupted trial names
the trial that retried it. The exact values are in ``--json`` (and in the pasteable
re-run command of ``--trial N``).
"""

from __future__ import annotations

import datetime as dt
import math
import shlex
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from optuna.trial import FrozenTrial

from tuner.config.budgets import Budgets
from tuner.names import KNOB_NAMES, METRIC_NAMES, OBJECTIVES, PROFILE_KNOB, format_knob_value, trial_dir_name
from tuner.record import CONSTRAINT_KEY, METRIC_DOCS, Attr, EvidenceKey, TrialView, as_number
from tuner.session.settings import search_first_seed
from tuner.simulator import client
from tuner.stats.streams import SEED_SPACE
from tuner.views.assess import Assessment
from tuner.views.outputs import trial_record

__all__ = [
    "SORT_KEYS", "front_table", "local_time", "rerun_command", "show_trial", "tier_legend", "trial_json",
    "trial_row", "trial_table",
]

SORT_KEYS = ("number", "pareto_rank", "pnl_mean", "pnl_lcb", "kill_ucb", "dd_cvar")
_DIRECTION = {o.name: o.direction for o in OBJECTIVES}


def local_time(t: dt.datetime | None) -> str:
    """``2026-12-02 15:48:28 +0900 (JST)``: Optuna's naive local time with its zone."""
    if t is None:
        return "-"
    aware = t.astimezone() if t.tzinfo is None else t
    return aware.strftime("%Y-%m-%d %H:%M:%S %z (%Z)")


def _iso(t: dt.datetime | None) -> str | None:
    if t is None:
        return None
    return (t.astimezone() if t.tzinfo is None else t).isoformat()


def _n(v: Any, spec: str) -> str:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    return format(v, spec)


def _tier_codes(tiers: Iterable[str]) -> dict[str, str]:
    """Tier -> a short code for the table (initials, longer when two would collide)."""
    names = list(tiers)
    for width in range(1, max((len(n) for n in names), default=1) + 1):
        codes = {n: n[:width].upper() for n in names}
        if len(set(codes.values())) == len(names):
            return codes
    return {n: n for n in names}


def tier_legend(budgets: Budgets) -> str:
    """The footer line that explains the table's tier codes."""
    codes = _tier_codes(budgets.tiers)
    return ("tiers passed on search evidence: " + ", ".join(f"{c} = {t}" for t, c in codes.items())
            + f" (bounds at alpha {budgets.alpha:g}; the promoter re-verifies before it writes)")


def trial_row(a: Assessment) -> dict[str, Any]:
    """One trial for ``tuner.show``'s list and its ``--json``: exact values, links, params."""
    v = a.view
    values = v.values or {}
    return {
        "number": v.number,
        "state": v.state,
        "feasible": v.feasible if v.state == "COMPLETE" else None,
        "pareto_rank": a.pareto_rank,
        "pnl_mean": values.get("pnl_mean"),
        "pnl_lcb": v.metric("pnl_lcb") if "pnl_lcb" in v.metrics else None,
        "kill_ucb": values.get("kill_ucb"),
        "kill_k": v.metrics.get("kill_k"),
        "kill_n": v.metrics.get("kill_n"),
        "dd_cvar": values.get("dd_cvar"),
        "tiers_passed": a.passed_tiers,
        "failed_checks": v.failed_checks,
        "reason": a.reason,
        "interrupted": v.interrupted,
        "retry_of": v.retry_of,
        "retried_as": a.retried_as,
        "profile": v.profile,
        "candidate_id": v.candidate_id,
        "params": {k: v.params[k] for k in KNOB_NAMES if k in v.params} or dict(v.overlay),
        "datetime_start": _iso(v.datetime_start),
        "datetime_complete": _iso(v.datetime_complete),
    }


def _note(r: Mapping[str, Any]) -> str:
    parts = []
    if r["reason"]:
        parts.append(("infeasible: " if r["state"] == "COMPLETE" else "") + r["reason"])
    if r["retried_as"] is not None:
        parts.append(f"retried as trial {r['retried_as']}")
    if r["retry_of"] is not None:
        parts.append(f"retry of trial {r['retry_of']}")
    return "; ".join(parts)


def trial_table(rows: Sequence[Mapping[str, Any]], tiers: Sequence[str], width: int | None = None) -> str:
    """The list view: one line per trial with units under the header; a trial's note
    (why it is infeasible or failed, retry links) on the line below it. Lines are cut
    to ``width`` when given."""
    codes = _tier_codes(tiers)
    tw = max(len(" ".join(codes.values())), 5)
    head = (f"{'trial':>5} {'state':<8} {'rank':>4} {'pnl_mean':>9} {'pnl_lcb':>9} {'kill_ucb':>8} "
            f"{'dd_cvar':>8} {'tiers':<{tw}} {'profile':<12} candidate")
    units = f"{'':>5} {'':<8} {'':>4} {'USD':>9} {'USD':>9} {'prob.':>8} {'USD':>8}"
    lines = [head, units]
    for r in rows:
        passed = " ".join(codes[t] if t in r["tiers_passed"] else "-" * len(codes[t]) for t in tiers)
        lines.append(
            f"{r['number']:>5} {r['state']:<8} {_n(r['pareto_rank'], 'd'):>4} {_n(r['pnl_mean'], ',.2f'):>9} "
            f"{_n(r['pnl_lcb'], ',.2f'):>9} {_n(r['kill_ucb'], '.4f'):>8} {_n(r['dd_cvar'], ',.1f'):>8} "
            f"{passed if r['state'] == 'COMPLETE' else '':<{tw}} {r['profile'] or '-':<12} {r['candidate_id'] or '-'}")
        note = _note(r)
        if note:
            lines.append(f"{'':>5} ↳ {note}")
    if width is not None:
        lines = [line if len(line) <= width else line[:max(width - 1, 0)] + "…" for line in lines]
    return "\n".join(line.rstrip() for line in lines)


def rerun_command(v: TrialView, settings: Mapping[str, Any], out_dir: Path | None = None) -> str | None:
    """A shell command that re-runs the trial's Monte Carlo with its overlay, seeds, runs
    and ticks (in a clean environment, as the study ran it); None when the trial has no
    parameters."""
    overlay_map = dict(v.overlay)
    if not overlay_map and all(k in v.params for k in KNOB_NAMES):
        # A trial that failed before it stored its overlay: the overlay follows from its params.
        overlay_map = {k: format_knob_value(k, v.params[k]) for k in KNOB_NAMES}
    if not overlay_map:
        return None
    run = v.run
    runs, ticks = (run.get(k, settings.get(k)) for k in ("mc_runs", "mc_ticks"))
    seed = run.get("seed", search_first_seed(settings) if isinstance(settings.get("seed"), int) else None)
    if not all(isinstance(x, int) for x in (runs, ticks, seed)):
        return None
    out = out_dir or Path(f"rerun_{trial_dir_name(v.number, v.candidate_id or 'unknown')}")
    argv = [str(a) for a in client.monte_carlo_argv(runs=runs, ticks=ticks, seed=seed, output_dir=out / "mc")]
    overlay = [f"{k}={overlay_map[k]}" for k in KNOB_NAMES if k in overlay_map]
    overlay += [f"{k}={x}" for k, x in overlay_map.items() if k not in KNOB_NAMES]
    return shlex.join(["env", "-i", *overlay, *argv])


def _digest(d: Any) -> str:
    return f"{d[:12]}…" if isinstance(d, str) and len(d) > 12 else str(d)


def show_trial(a: Assessment, budgets: Budgets, settings: Mapping[str, Any]) -> str:
    """One trial whole, for people (``tuner.show --trial N``)."""
    v = a.view
    values = v.values or {}
    out = [f"trial {v.number}: " + (f"COMPLETE, {a.verdict}" if v.state == "COMPLETE" else a.verdict)]
    out.append(f"  candidate    {v.candidate_id or '-'} (profile {v.profile or '-'})")
    out.append(f"  directory    {v.trial_dir or '-'}")
    took = ""
    if v.datetime_start and v.datetime_complete:
        took = f" ({(v.datetime_complete - v.datetime_start).total_seconds():,.1f} s)"
    out.append(f"  started      {local_time(v.datetime_start)}")
    out.append(f"  finished     {local_time(v.datetime_complete)}{took}")
    if values:
        objs = [f"{name} {_n(values[name], '.4f' if name == 'kill_ucb' else ',.2f')}"
                + (" USD" if name != "kill_ucb" else "") + f" ({_DIRECTION[name]})" for name in METRIC_NAMES]
        out.append("  objectives   " + " · ".join(objs))
        out.append(f"  bounds       pnl_lcb {_n(v.metric('pnl_lcb'), ',.2f')} USD · kill_ucb "
                   f"{_n(v.metric('kill_ucb'), '.4f')} ({_n(v.metrics.get('kill_k'), 'd')} of "
                   f"{_n(v.metrics.get('kill_n'), 'd')} runs killed), one-sided at alpha {budgets.alpha:g}")
        out.append(f"  Pareto rank  {a.pareto_rank if a.pareto_rank else '- (only feasible trials are ranked)'}")
        if not a.feasible:
            out.append("  tiers        none passed (infeasible)")
        for tier, failures in a.tiers.items() if a.feasible else ():
            out.append(f"  {tier:<12} " + ("passes (search evidence)" if not failures else "fails: " + "; ".join(failures)))
    if v.constraints:
        checks = v.failed_checks
        out.append(f"  constraint   {CONSTRAINT_KEY} = {checks if checks is not None else '-'} failed suite checks "
                   "(feasible when 0)")
    out.append("  parameters")
    params = dict(v.overlay) or {k: str(x) for k, x in v.params.items()}
    for k, x in params.items():
        shown = x if k == PROFILE_KNOB else _n(as_number(_float(x)), ".4g")
        out.append(f"    {k:<28} {shown}")
    if v.metrics:
        out.append(f"  metrics over {_n(v.metrics.get('kill_n'), 'd')} Monte Carlo runs")
        for k, x in v.metrics.items():
            unit, what = METRIC_DOCS.get(k, ("", ""))
            spec = ",.2f" if unit in ("USD", "TAO") else (".4f" if unit in ("probability", "fraction") else "d")
            text = _n(x, spec) if not (spec == "d" and isinstance(x, float)) else _n(x, ",.2f")
            out.append(f"    {k:<22} {text:>12} {unit:<11} {what}")
    if v.suites:
        out.append("  suites")
        for name, s in v.suites.items():
            verdict = "passed" if s.passed else f"FAILED ({s.failed_checks} check{'' if s.failed_checks == 1 else 's'})"
            out.append(f"    {name}: {verdict}")
            out += [f"      - {f}" for f in s.failures]
            total = (v.user_attrs.get(Attr.SUITES) or {}).get(name, {}).get("failures_total")
            if isinstance(total, int) and total > len(s.failures):
                out.append(f"      ({total - len(s.failures)} more in the trial's suite/{name}/suite_summary.json)")
    ev = v.evidence
    digests = ", ".join(f"{k.removesuffix('_sha256')} sha256 {_digest(d)}" for k, d in ev.items()
                        if k.endswith("_sha256"))
    if ev.get(EvidenceKey.LAYOUT):
        digests += f"; {ev[EvidenceKey.LAYOUT]} layout"
    out.append(f"  evidence     {'verified' if v.evidence_verified else 'not verified'}" + (f" ({digests})" if ev else ""))
    if v.failure:
        f = v.failure
        out.append(f"  failure      {f.get('reason', '-')}")
        for key in ("command", "path"):
            if f.get(key):
                out.append(f"    {key}: {f[key]}")
        for key in ("stderr_tail", "stdout_tail"):
            tail = [ln for ln in str(f.get(key) or "").splitlines() if ln.strip()][-5:]
            if tail:
                out.append(f"    {key.replace('_tail', '')} (last lines):")
                out += [f"      {ln}" for ln in tail]
    commands = v.run.get("commands") or v.user_attrs.get(Attr.COMMANDS) or []
    if commands:
        out.append("  commands run")
        for c in commands:
            out.append(f"    [exit {c.get('exit')}, {_n(c.get('seconds'), ',.2f')} s] {shlex.join(map(str, c.get('argv', [])))}")
    if v.run:
        seeds = v.run.get("seeds") or {}
        first, count = seeds.get("first", v.run.get("seed")), seeds.get("count", v.run.get("mc_runs"))
        span = f"seeds {first}..{(first + count - 1) % SEED_SPACE} (run i uses seed + i)" if isinstance(first, int) and isinstance(
            count, int) else "seeds -"
        out.append(f"  run          {span}; {v.run.get('mc_runs')} runs x {v.run.get('mc_ticks')} ticks; "
                   f"{_n(v.run.get('seconds'), ',.1f')} s ({_n(v.run.get('binary_seconds'), ',.1f')} s in the binaries)")
    cmd = rerun_command(v, settings)
    if cmd:
        out.append("  re-run this candidate's Monte Carlo (same overlay, seeds, runs, ticks; clean environment):")
        out.append(f"    {cmd}")
    return "\n".join(out)


def _float(x: Any) -> Any:
    try:
        return float(x)
    except (TypeError, ValueError):
        return x


def trial_json(t: FrozenTrial, a: Assessment, settings: Mapping[str, Any]) -> dict[str, Any]:
    """``tuner.show --trial N --json``: the trial's ``trials.jsonl`` line with times in
    ISO 8601 with their offset, plus the assessment and the re-run command."""
    rec = trial_record(t)
    rec.update(datetime_start=_iso(t.datetime_start), datetime_complete=_iso(t.datetime_complete),
               feasible=a.feasible, pareto_rank=a.pareto_rank, verdict=a.verdict, reason=a.reason,
               retried_as=a.retried_as, tiers={k: list(f) for k, f in a.tiers.items()},
               rerun_command=rerun_command(a.view, settings))
    return rec


def front_table(trials: Iterable[FrozenTrial]) -> str:
    """The study's closing table of its feasible Pareto front, best ``pnl_mean`` first."""
    views = sorted((TrialView.of(t) for t in trials),
                   key=lambda v: (-(v.values or {})["pnl_mean"], (v.values or {})["dd_cvar"], (v.values or {})["kill_ucb"], v.number))
    rows = ["  trial  candidate     profile        pnl_mean    pnl_lcb  kill_ucb    dd_cvar",
            "                                           USD        USD     prob.        USD"]
    for v in views:
        values = v.values or {}
        rows.append(
            f"  {v.number:5d}  {v.candidate_id or '?':12s}  "
            f"{v.params.get(PROFILE_KNOB, '?')!s:12s} {values['pnl_mean']:10,.2f} "
            f"{as_number(v.user_attrs.get(Attr.PNL_LCB)):10,.2f} {values['kill_ucb']:9.4f} {values['dd_cvar']:10,.1f}"
        )
    return "\n".join(rows)

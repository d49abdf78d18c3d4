"""``python -m tuner.promote``: budget tiers over a study's Pareto front, promoted
presets and their provenance records.

Candidates are the feasible trials of the study's Pareto front (``study.best_trials``).
For each tier of the budgets file, a candidate passes when ``kill_ucb <= max_kill_ucb``,
``dd_cvar <= max_dd_cvar``, ``pnl_lcb >= min_pnl_lcb_usd`` (one-sided bounds at the
budgets' alpha, recomputed here from the stored statistics), its evidence verified and
both suites passed; anything missing or NaN fails. The winner is the passing candidate
with the highest ``pnl_mean``, then the lowest ``dd_cvar``, the lowest ``kill_ucb``,
the smallest ``candidate_id``. Before it is written, its trial directory is verified
again (``sim_eval verify-evidence-tree`` and the digests recorded in the database); a
candidate whose evidence no longer verifies is skipped, with the reason, for the next.

Per tier with a winner: ``<out>/<tier>/phaseA_<study>_<UTC YYYYMMDD_HHMMSS>.env`` and
``<out>/<tier>/PROMOTION_RECORD.json`` (schema version 3), both written atomically, the
record last: it is the commit point (see :func:`promote`). Promoters take turns.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import math
import os
import subprocess
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import FrozenTrial

from tuner._faults import checkpoint
from tuner.bounds import normal_lcb, wilson_upper, z_one_sided
from tuner.budgets import Budgets, Tier, load_budgets
from tuner.cli import ArgumentParser, quiet_optuna, run_main
from tuner.errors import InputError
from tuner.evidence import sha256_file
from tuner.identifiers import SUITE_NAMES, candidate_id, validate_study_name
from tuner.objective import env_file_text, is_feasible
from tuner.paths import DEFAULT_BUDGETS, DEFAULT_PROMOTED_DIR, REPO_ROOT
from tuner.reports import as_number, candidate_from_trial, json_safe, write_atomic, write_study_outputs
from tuner.runner import binary, ensure_binaries, run_command
from tuner.sampler import make_sampler
from tuner.selection import Candidate, select_winner
from tuner.storage import StorageSpec, default_storage_url, parse_storage

__all__ = ["RECORD_SCHEMA_VERSION", "Verification", "main", "promote", "read_env_file", "verify_trial"]

PROG = "python -m tuner.promote"
RECORD_SCHEMA_VERSION = 3
RECORD_FILE = "PROMOTION_RECORD.json"
PENDING_FILE = ".PROMOTION_RECORD.json.pending"
LOCK_FILE = ".promote.lock"


@dataclass(frozen=True)
class Verification:
    """Whether a trial's evidence verifies now, and why not."""

    verified: bool
    reachable: bool
    detail: str


def trial_directory(t: FrozenTrial, study_dir: Path | None) -> Path | None:
    """Where a trial's evidence is: the path recorded by its worker, or the same
    directory name under ``study_dir`` (a shared filesystem mounted elsewhere)."""
    recorded = t.user_attrs.get("trial_dir")
    if not isinstance(recorded, str):
        return None
    path = Path(recorded)
    if path.is_dir():
        return path
    if study_dir is not None:
        alt = study_dir / "trials" / path.name
        if alt.is_dir():
            return alt
    return None


def verify_trial(t: FrozenTrial, study_dir: Path | None) -> Verification:
    """Re-verifies a trial directory: every evidence pack, and the digests the worker
    recorded in the database (so a pack rewritten after the fact is caught too)."""
    tdir = trial_directory(t, study_dir)
    if tdir is None:
        return Verification(False, False, f"trial directory {t.user_attrs.get('trial_dir')!s} is not reachable from this host")
    check = run_command([binary("sim_eval"), "verify-evidence-tree", tdir], timeout=600)
    if not check.ok:
        lines = [ln for ln in (check.stdout + "\n" + check.stderr_tail).splitlines() if ln.startswith("FAIL") or "problem" in ln]
        return Verification(False, True, f"{tdir}: evidence does not verify: " + "; ".join(lines[:3])[:500])
    recorded = t.user_attrs.get("evidence") or {}
    for rel, key in (("mc/mc_summary.json", "mc_summary_sha256"), ("evidence_pack/SHA256SUMS", "root_sha256sums_sha256")):
        want = recorded.get(key)
        try:
            got = sha256_file(tdir / rel)
        except OSError as exc:
            return Verification(False, True, f"{tdir / rel}: unreadable ({exc.strerror})")
        if want != got:
            return Verification(False, True, f"{tdir / rel}: digest {got[:12]}… differs from the one recorded at trial time ({str(want)[:12]}…)")
    return Verification(True, True, f"{tdir}: verified")


def _bounded(c: Candidate, alpha: float) -> Candidate:
    """The candidate with its bounds recomputed at ``alpha`` (NaN when a statistic is)."""
    k, n = as_number(c.kill_k), as_number(c.kill_n)
    kill_ucb = wilson_upper(int(k), int(n), alpha) if math.isfinite(k) and math.isfinite(n) and n > 0 else math.nan
    mean, std = as_number(c.pnl_mean), as_number(c.pnl_std)
    pnl_lcb = normal_lcb(mean, std, int(n), alpha) if math.isfinite(n) and n > 0 else math.nan
    return replace(c, kill_ucb=kill_ucb, pnl_lcb=pnl_lcb)


def read_env_file(path: Path) -> dict[str, str]:
    """The ``export NAME=value`` lines of a promoted preset (comments skipped)."""
    overlay: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if not line.startswith("export ") or "=" not in line:
            raise InputError(f"{path}: not an export line: {line[:80]!r}")
        name, value = line[len("export "):].split("=", 1)
        overlay[name] = value
    return overlay


def _git_commit() -> dict[str, Any]:
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO_ROOT,
                               capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return {"git_commit": None, "git_dirty": None}
    if head.returncode != 0:
        return {"git_commit": None, "git_dirty": None}
    return {"git_commit": head.stdout.strip(), "git_dirty": bool(dirty.stdout.strip())}


def _record(
    *, study: optuna.Study, spec: StorageSpec, tier: Tier, budgets: Budgets, t: FrozenTrial, c: Candidate,
    env_path: Path, env_sha256: str, promoted_at: dt.datetime, verification: Verification, allow_unverified: bool,
    tdir: Path | None,
) -> dict[str, Any]:
    m = dict(t.user_attrs.get("metrics") or {})
    settings = study.user_attrs.get("settings") or {}
    run = t.user_attrs.get("run") or {}
    suites = t.user_attrs.get("suites") or {}
    overlay = dict(t.user_attrs.get("overlay") or {})
    effective = None
    if tdir is not None:
        try:
            effective = json.loads((tdir / "mc" / "mc_summary.json").read_text(encoding="utf-8"))["config"]
        except (OSError, ValueError, KeyError):
            effective = None
    n = int(c.kill_n) if c.kill_n is not None and math.isfinite(float(c.kill_n)) else None
    return {
        "schema_version": RECORD_SCHEMA_VERSION,
        "promoted_at": promoted_at.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        "study_name": study.study_name,
        "tier": tier.name,
        **_git_commit(),
        "candidate_id": c.candidate_id,
        "candidate_hash": env_sha256,
        "env_file": env_path.name,
        "trial_id": f"trial_{t.number:04d}_{c.candidate_id}",
        "trial_number": t.number,
        "trial_dir": str(tdir) if tdir is not None else t.user_attrs.get("trial_dir"),
        "config": effective or {"runs": settings.get("mc_runs"), "ticks": settings.get("mc_ticks"),
                                "seed": settings.get("seed"), "overlay": overlay},
        "env_overlay": overlay,
        "commands_run": [" ".join(cmd["argv"]) for cmd in run.get("commands", [])],
        "seeds": list(range(int(settings.get("seed", 0)), int(settings.get("seed", 0)) + int(settings.get("mc_runs", 0)))),
        "mc_runs": settings.get("mc_runs"),
        "mc_ticks": settings.get("mc_ticks"),
        "evidence_verified": verification.verified,
        "evidence_check": verification.detail,
        "allow_unverified": allow_unverified,
        "evidence_digests": t.user_attrs.get("evidence"),
        "metrics": {
            "mean_pnl": m.get("pnl_mean"),
            "pnl_cvar": m.get("pnl_cvar"),
            "drawdown_cvar": m.get("dd_cvar"),
            "kill_prob_point": m.get("kill_rate"),
            "kill_prob_ci_upper": c.kill_ucb,
            "total_runs": n,
            **{f"study_{k}": v for k, v in sorted(m.items())},
        },
        "statistics": {
            "alpha": budgets.alpha,
            "z_one_sided": z_one_sided(budgets.alpha),
            "pnl_mean": c.pnl_mean,
            "pnl_stdev": c.pnl_std,
            "n": n,
            "pnl_lcb": c.pnl_lcb,
            "kill_k": c.kill_k,
            "kill_n": c.kill_n,
            "kill_ucb": c.kill_ucb,
            "dd_cvar": c.dd_cvar,
            "method": {"kill_ucb": "one-sided Wilson score upper bound", "pnl_lcb": "mean - z * stdev / sqrt(n), sample stdev"},
        },
        "tier_budget": {"max_kill_ucb": tier.max_kill_ucb, "max_dd_cvar": tier.max_dd_cvar,
                        "min_pnl_lcb_usd": tier.min_pnl_lcb_usd},
        "suites_passed": {
            "research": bool((suites.get("research_v1") or {}).get("passed")),
            "adversarial": bool((suites.get("adversarial_regression_v1") or {}).get("passed")),
            **{name: bool((suites.get(name) or {}).get("passed")) for name in SUITE_NAMES},
        },
        "storage": spec.redacted,
        "sampler": settings.get("sampler"),
        "sampler_seed": settings.get("seed"),
        "population": settings.get("population"),
        "optuna_version": optuna.__version__,
    }


def promote(
    study: optuna.Study,
    *,
    spec: StorageSpec,
    budgets: Budgets,
    budgets_path: Path,
    study_dir: Path | None,
    out_dir: Path | None,
    dry_run: bool,
    allow_unverified: bool,
    quiet: bool = False,
    write_outputs: bool = True,
) -> dict[str, dict[str, Any]]:
    """Applies the tiers and writes the promoted presets; returns per tier what happened.

    Promoters of the presets directory take turns (a lock on ``<out>/.promote.lock``), so
    the last one writes last and whole. In a tier directory the record is the commit
    point: it is staged as ``.PROMOTION_RECORD.json.pending``, the ``.env`` is written,
    then the staged record is renamed into place. A promoter killed in between leaves
    the staged record behind; the next promotion removes the ``.env`` it names (never
    recorded) and any temporary file, and says so.
    """
    out_dir = out_dir or DEFAULT_PROMOTED_DIR
    kwargs = dict(spec=spec, budgets=budgets, budgets_path=budgets_path, study_dir=study_dir, out_dir=out_dir,
                  dry_run=dry_run, allow_unverified=allow_unverified, quiet=quiet, write_outputs=write_outputs)
    if dry_run:
        return _promote(study, **kwargs)  # type: ignore[arg-type]
    out_dir.mkdir(parents=True, exist_ok=True)
    with open(out_dir / LOCK_FILE, "a+", encoding="utf-8") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        _roll_back_interrupted(out_dir, quiet)
        return _promote(study, **kwargs)  # type: ignore[arg-type]


def _roll_back_interrupted(out_dir: Path, quiet: bool) -> None:
    """Undoes what a promoter killed mid-tier left (its lock is ours now, so it is dead)."""
    for pending in sorted(out_dir.glob(f"*/{PENDING_FILE}")):
        tier_dir = pending.parent
        try:
            staged = json.loads(pending.read_text(encoding="utf-8"))
            name, digest = staged["env_file"], staged["candidate_hash"]
        except (OSError, ValueError, KeyError, TypeError):
            name = digest = None
        env = tier_dir / name if isinstance(name, str) and Path(name).name == name and name.endswith(".env") else None
        if env is not None and env.is_file() and sha256_file(env) == digest:
            env.unlink()
            if not quiet:
                print(f"  {tier_dir.name}: removed {env.name}, left by an interrupted promotion (never recorded)")
        pending.unlink()
    for stale in out_dir.glob("*/.*.tmp"):
        stale.unlink()


def _commit(tier_dir: Path, env_path: Path, env_text: str, record_text: str) -> None:
    """Writes a tier's preset and record; the record's rename is the commit point."""
    pending = tier_dir / PENDING_FILE
    write_atomic(pending, record_text)
    checkpoint("promote.staged")
    write_atomic(env_path, env_text)
    checkpoint("promote.env_written")
    os.replace(pending, tier_dir / RECORD_FILE)
    fd = os.open(tier_dir, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _unused_stamp(out_dir: Path, study_name: str, tiers: Any) -> tuple[dt.datetime, str]:
    """Now, to the second, such that no tier holds a preset of this study with that name
    yet (two promotions within a second would otherwise share a file name)."""
    while True:
        promoted_at = dt.datetime.now(dt.timezone.utc)
        stamp = promoted_at.strftime("%Y%m%d_%H%M%S")
        if not any((out_dir / tier / f"phaseA_{study_name}_{stamp}.env").exists() for tier in tiers):
            return promoted_at, stamp
        time.sleep(1.0 - promoted_at.microsecond / 1e6 + 0.01)


def _promote(
    study: optuna.Study,
    *,
    spec: StorageSpec,
    budgets: Budgets,
    budgets_path: Path,
    study_dir: Path | None,
    out_dir: Path,
    dry_run: bool,
    allow_unverified: bool,
    quiet: bool,
    write_outputs: bool,
) -> dict[str, dict[str, Any]]:
    front = [t for t in study.best_trials if is_feasible(t)]
    pairs = [(t, _bounded(candidate_from_trial(t), budgets.alpha)) for t in front]
    by_key = {(c.candidate_id, c.trial_number): t for t, c in pairs}
    checked: dict[int, Verification] = {}
    promoted_at, stamp = _unused_stamp(out_dir, study.study_name, budgets.tiers)
    results: dict[str, dict[str, Any]] = {}
    say = (lambda *a: None) if quiet else (lambda msg: print(msg))
    say(f"promotion of study {study.study_name}: {len(pairs)} candidate(s) on the feasible Pareto front, "
        f"alpha {budgets.alpha}, budgets {budgets_path}")
    for tier in budgets.tiers.values():
        selection = select_winner([c for _, c in pairs], tier)
        winner: tuple[FrozenTrial, Candidate, Verification] | None = None
        skipped: list[str] = []
        for c in selection.passing:
            t = by_key[(c.candidate_id, c.trial_number)]
            v = checked.get(t.number) or verify_trial(t, study_dir)
            checked[t.number] = v
            if v.verified or (not v.reachable and allow_unverified):
                winner = (t, c, v)
                break
            if not v.reachable:
                skipped.append(f"{c.candidate_id} (trial {t.number}): {v.detail}; refusing without --allow-unverified")
            else:
                skipped.append(f"{c.candidate_id} (trial {t.number}): {v.detail}")
        for s in skipped:
            say(f"  {tier.name}: skipped {s}")
        if winner is None:
            if selection.passing:
                why = "every passing candidate failed re-verification"
            elif selection.closest is not None:
                why = (f"no candidate passes; closest {selection.closest.candidate_id} (trial "
                       f"{selection.closest.trial_number}) fails: {'; '.join(selection.closest_failures)}")
            else:
                why = "no feasible candidate on the Pareto front"
            say(f"  {tier.name}: nothing promoted: {why}")
            results[tier.name] = {"promoted": False, "reason": why, "skipped": skipped}
            continue
        t, c, v = winner
        tdir = trial_directory(t, study_dir)
        overlay = dict(t.user_attrs.get("overlay") or {})
        if candidate_id(overlay) != c.candidate_id:
            raise InputError(f"trial {t.number}: stored overlay does not reproduce candidate id {c.candidate_id}")
        header = [
            f"Promoted configuration for {tier.name} tier",
            f"Study: {study.study_name}",
            f"Candidate: {c.candidate_id} (trial {t.number})",
            f"Metrics: pnl={c.pnl_mean:.4f}, pnl_lcb={c.pnl_lcb:.4f}, kill_ci={c.kill_ucb:.4f}, dd_cvar={c.dd_cvar:.2f}",
            f"Promoted at: {promoted_at.strftime('%Y-%m-%dT%H:%M:%SZ')}; record: {RECORD_FILE}",
        ]
        tier_dir = out_dir / tier.name
        env_path = tier_dir / f"phaseA_{study.study_name}_{stamp}.env"
        summary = (f"  {tier.name}: {c.candidate_id} (trial {t.number}) pnl_mean {c.pnl_mean:.2f} pnl_lcb {c.pnl_lcb:.2f} "
                   f"kill_ucb {c.kill_ucb:.4f} dd_cvar {c.dd_cvar:.1f}")
        if dry_run:
            say(summary + " [dry run: nothing written]")
            results[tier.name] = {"promoted": False, "dry_run": True, "candidate_id": c.candidate_id, "trial": t.number}
            continue
        env_text = env_file_text(overlay, header)
        record = _record(study=study, spec=spec, tier=tier, budgets=budgets, t=t, c=c, env_path=env_path,
                         env_sha256=hashlib.sha256(env_text.encode("utf-8")).hexdigest(),
                         promoted_at=promoted_at, verification=v, allow_unverified=allow_unverified, tdir=tdir)
        _commit(tier_dir, env_path, env_text, json.dumps(json_safe(record), indent=2, sort_keys=False) + "\n")
        say(summary + f" -> {env_path}")
        checkpoint("promote.tier_done")
        results[tier.name] = {"promoted": True, "candidate_id": c.candidate_id, "trial": t.number,
                              "env_file": str(env_path), "record": str(tier_dir / RECORD_FILE)}
    if write_outputs and study_dir is not None and not dry_run:
        write_study_outputs(study, study_dir, budgets)
    return results


def build_parser() -> ArgumentParser:
    p = ArgumentParser(prog=PROG, description="Promote the winners of a study's Pareto front per budget tier.")
    p.add_argument("--study", metavar="NAME", required=True, help="study name")
    p.add_argument("--storage", metavar="URL", help="Optuna storage (default sqlite:///studies/<study>.db)")
    p.add_argument("--budgets", metavar="PATH", type=Path, default=DEFAULT_BUDGETS,
                   help="budget tiers and alpha (default configs/budgets.yaml)")
    p.add_argument("--out-dir", metavar="DIR", type=Path, default=None,
                   help="where promoted presets go (default configs/presets/promoted)")
    p.add_argument("--study-dir", metavar="DIR", type=Path, default=None,
                   help="the study's artifact directory, if not where the study recorded it (shared filesystem)")
    p.add_argument("--dry-run", action="store_true", help="say what would be promoted; write nothing")
    p.add_argument("--allow-unverified", action="store_true",
                   help="promote even when a winner's trial directory cannot be reached from this host (recorded)")
    p.add_argument("-q", "--quiet", action="store_true", help="print only errors")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    quiet_optuna()
    name = validate_study_name(args.study)
    budgets = load_budgets(args.budgets)
    spec = parse_storage(args.storage or default_storage_url(name))
    if spec.sqlite_path is not None and not spec.sqlite_path.exists():
        raise InputError(f"--storage {spec.redacted}: no such database file")
    if args.out_dir is not None and args.out_dir.exists() and not args.out_dir.is_dir():
        raise InputError(f"--out-dir {args.out_dir}: not a directory")
    ensure_binaries(quiet=args.quiet)
    from tuner.study import open_study

    study = open_study(name, spec, None, create=False)
    settings = study.user_attrs.get("settings") or {}
    if settings.get("sampler"):
        study.sampler = make_sampler(settings["sampler"], seed=int(settings.get("seed", 0)),
                                     population=int(settings.get("population", 2)))
    study_dir = args.study_dir.resolve() if args.study_dir else (
        Path(study.user_attrs["study_dir"]) if study.user_attrs.get("study_dir") else None)
    promote(study, spec=spec, budgets=budgets, budgets_path=args.budgets, study_dir=study_dir,
            out_dir=args.out_dir, dry_run=args.dry_run, allow_unverified=args.allow_unverified, quiet=args.quiet)
    return 0


if __name__ == "__main__":
    run_main(PROG, main)

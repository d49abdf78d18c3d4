"""``PROMOTION_RECORD.json``: what was promoted, on which evidence, by whom and how.

Schema version 3: the original specification's fields, ``statistics`` and the extended
``metrics``, the storage URL without its password, the sampler, seed, Optuna version and
trial number (``docs/FORMATS.md``).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import shlex
import subprocess
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import FrozenTrial

from tuner.config.budgets import Budgets, Tier
from tuner.config.paths import REPO_ROOT
from tuner.names import SUITE_NAMES
from tuner.promotion.decision import Candidate
from tuner.promotion.verify import Verification
from tuner.record import Attr
from tuner.session.settings import StudySettings
from tuner.session.storage import StorageSpec
from tuner.stats.bounds import z_one_sided

__all__ = ["RECORD_FILE", "RECORD_SCHEMA_VERSION", "build_record", "git_commit"]

RECORD_SCHEMA_VERSION = 3
RECORD_FILE = "PROMOTION_RECORD.json"


def git_commit() -> dict[str, Any]:
    """The repository's commit and whether its tracked files differ from it."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO_ROOT,
                               capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return {"git_commit": None, "git_dirty": None}
    if head.returncode != 0:
        return {"git_commit": None, "git_dirty": None}
    return {"git_commit": head.stdout.strip(), "git_dirty": bool(dirty.stdout.strip())}


def build_record(
    *, study: optuna.Study, spec: StorageSpec, tier: Tier, budgets: Budgets, t: FrozenTrial, c: Candidate,
    env_path: Path, env_sha256: str, promoted_at: dt.datetime, verification: Verification, allow_unverified: bool,
    tdir: Path | None,
) -> dict[str, Any]:
    """The record of ``t`` promoted into ``tier``."""
    m = dict(t.user_attrs.get(Attr.METRICS) or {})
    settings = StudySettings.stored(study)
    run = t.user_attrs.get(Attr.RUN) or {}
    suites = t.user_attrs.get(Attr.SUITES) or {}
    overlay = dict(t.user_attrs.get(Attr.OVERLAY) or {})
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
        **git_commit(),
        "candidate_id": c.candidate_id,
        "candidate_hash": env_sha256,
        "env_file": env_path.name,
        "trial_id": f"trial_{t.number:04d}_{c.candidate_id}",
        "trial_number": t.number,
        "trial_dir": str(tdir) if tdir is not None else t.user_attrs.get(Attr.TRIAL_DIR),
        "config": effective or {"runs": settings.get("mc_runs"), "ticks": settings.get("mc_ticks"),
                                "seed": settings.get("seed"), "overlay": overlay},
        "env_overlay": overlay,
        "commands_run": [shlex.join(str(a) for a in cmd["argv"]) for cmd in run.get("commands", [])],
        "seeds": list(range(int(settings.get("seed", 0)), int(settings.get("seed", 0)) + int(settings.get("mc_runs", 0)))),
        "mc_runs": settings.get("mc_runs"),
        "mc_ticks": settings.get("mc_ticks"),
        "evidence_verified": verification.verified,
        "evidence_check": verification.detail,
        "allow_unverified": allow_unverified,
        "evidence_digests": t.user_attrs.get(Attr.EVIDENCE),
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
            "pnl_stdev": c.pnl_stdev,
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

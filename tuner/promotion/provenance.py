"""A promotion record: what was promoted, on which evidence, by whom and how.

Schema version 5 (``docs/FORMATS.md``; 5 is 4 plus the confirmation of issue 15, which
the promoter adds): one vocabulary for every metric (``pnl_mean``,
``pnl_lcb``, ``kill_ucb``, ``dd_cvar``...; the original specification's names are
listed in ``spec_aliases``), the provenance captured *when the evidence was made*
(``provenance``: commit, dirty state, digest of the diff, sha256 of both binaries,
from the trial), the promotion's alpha beside the study's, the storage URL without its
password, the sampler, seed, Optuna version and trial number.

Each promotion writes its own record (``phaseA_<study>_<UTC>.record.json`` beside its
``.env``); ``PROMOTION_RECORD.json`` is a copy of the tier's current one.
"""

from __future__ import annotations

import datetime as dt
import math
import shlex
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import FrozenTrial

from tuner.config.budgets import Budgets, Tier
from tuner.names import SUITE_NAMES
from tuner.promotion.decision import Candidate
from tuner.promotion.verify import Verification
from tuner.record import Attr
from tuner.session.settings import StudySettings
from tuner.session.storage import StorageSpec
from tuner.simulator import documents
from tuner.simulator.identity import git_state
from tuner.stats.bounds import z_one_sided
from tuner.stats.streams import SEED_SPACE

__all__ = ["RECORD_FILE", "RECORD_SCHEMA_VERSION", "SPEC_ALIASES", "build_record", "git_commit", "preset_header",
           "record_name", "report_name", "search_seeds", "trial_provenance"]

RECORD_SCHEMA_VERSION = 5
RECORD_FILE = "PROMOTION_RECORD.json"

#: The original specification's field names, and where each value is in a schema-4 record.
SPEC_ALIASES = {
    "mean_pnl": "statistics.pnl_mean",
    "pnl_cvar": "metrics.pnl_cvar",
    "drawdown_cvar": "statistics.dd_cvar",
    "kill_prob_point": "metrics.kill_rate",
    "kill_prob_ci_upper": "statistics.kill_ucb",
    "total_runs": "statistics.kill_n",
    "suites_passed.research": "suites_passed.research_v1",
    "suites_passed.adversarial": "suites_passed.adversarial_regression_v1",
}

#: The metrics a record keeps from the trial (at the study's alpha), by their one name.
_METRIC_KEYS = ("pnl_mean", "pnl_stdev", "pnl_lcb", "pnl_min", "pnl_p05", "pnl_p50", "pnl_p95", "pnl_var", "pnl_cvar",
                "dd_mean", "dd_max", "dd_var", "dd_cvar", "kill_k", "kill_n", "kill_rate", "kill_ucb")


def record_name(env_name: str) -> str:
    """The own record of the preset ``env_name`` (``X.env`` -> ``X.record.json``)."""
    return env_name[: -len(".env")] + ".record.json"


def report_name(env_name: str) -> str:
    """The report page of the preset ``env_name`` (``X.env`` -> ``X.report.html``)."""
    return env_name[: -len(".env")] + ".report.html"


def git_commit() -> dict[str, Any]:
    """The repository's commit and whether its tracked files differ from it, now."""
    state = git_state()
    return {"git_commit": state["git_commit"], "git_dirty": state["git_dirty"]}


def trial_provenance(t: FrozenTrial) -> dict[str, Any]:
    """The provenance the trial's worker recorded with its evidence; a trial of an older
    version of the tuner has none (``captured: null`` says so, nothing is guessed)."""
    recorded = t.user_attrs.get(Attr.PROVENANCE)
    if isinstance(recorded, dict):
        return {"captured": "trial", **recorded}
    return {"captured": None, "git_commit": None, "git_dirty": None, "git_diff_sha256": None,
            "binaries_sha256": None, "note": "the trial recorded no provenance (made by an older tuner)"}


def preset_header(*, tier: str, study: str, c: Candidate, promoted_at: dt.datetime, record_file: str) -> list[str]:
    """The ``#`` lines at the top of a promoted ``.env`` (the record's metric names)."""
    return [
        f"Promoted configuration for {tier} tier",
        f"Study: {study}",
        f"Candidate: {c.candidate_id} (trial {c.trial_number})",
        f"Metrics: pnl_mean={c.pnl_mean:.4f}, pnl_lcb={c.pnl_lcb:.4f}, kill_ucb={c.kill_ucb:.4f}, dd_cvar={c.dd_cvar:.2f}",
        f"Promoted at: {promoted_at.strftime('%Y-%m-%dT%H:%M:%SZ')}; record: {record_file}",
    ]


def build_record(
    *, study: optuna.Study, spec: StorageSpec, tier: Tier, budgets: Budgets, t: FrozenTrial, c: Candidate,
    env_path: Path, env_sha256: str, promoted_at: dt.datetime, verification: Verification, allow_unverified: bool,
    tdir: Path | None, budgets_path: Path | None = None,
) -> dict[str, Any]:
    """The record of ``t`` promoted into ``tier`` (the caller adds ``decision``)."""
    m = dict(t.user_attrs.get(Attr.METRICS) or {})
    settings = StudySettings.stored(study)
    run = t.user_attrs.get(Attr.RUN) or {}
    suites = t.user_attrs.get(Attr.SUITES) or {}
    overlay = dict(t.user_attrs.get(Attr.OVERLAY) or {})
    effective = None
    if tdir is not None:
        try:
            effective = documents.read_json(tdir / "mc" / "mc_summary.json")["config"]
        except (OSError, ValueError, KeyError):
            effective = None
    n = int(c.kill_n) if c.kill_n is not None and math.isfinite(float(c.kill_n)) else None
    prov = trial_provenance(t)
    study_alpha = settings.get("alpha")
    return {
        "schema_version": RECORD_SCHEMA_VERSION,
        "promoted_at": promoted_at.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        "study_name": study.study_name,
        "tier": tier.name,
        # From the trial: the state the evidence was made in, not the state now.
        "git_commit": prov.get("git_commit"),
        "git_dirty": prov.get("git_dirty"),
        "provenance": prov,
        "promoted_from": git_commit(),
        "candidate_id": c.candidate_id,
        "candidate_hash": env_sha256,
        "env_file": env_path.name,
        "record_file": record_name(env_path.name),
        "trial_id": f"trial_{t.number:04d}_{c.candidate_id}",
        "trial_number": t.number,
        "trial_dir": str(tdir) if tdir is not None else t.user_attrs.get(Attr.TRIAL_DIR),
        "config": effective or {"runs": settings.get("mc_runs"), "ticks": settings.get("mc_ticks"),
                                "seed": next(iter(search_seeds(run, settings)), None), "overlay": overlay},
        "env_overlay": overlay,
        "commands_run": [shlex.join(str(a) for a in cmd["argv"]) for cmd in run.get("commands", [])],
        "seeds": search_seeds(run, settings),
        "mc_runs": settings.get("mc_runs"),
        "mc_ticks": settings.get("mc_ticks"),
        "evidence_verified": verification.verified,
        "evidence_check": verification.detail,
        "allow_unverified": allow_unverified,
        "evidence_digests": t.user_attrs.get(Attr.EVIDENCE),
        # At the study's alpha, as the trial recorded them.
        "metrics": {"alpha": study_alpha, **{k: m.get(k) for k in _METRIC_KEYS}},
        # At the promotion's alpha (the budgets file's): what the tier was judged on.
        "statistics": {
            "alpha": budgets.alpha,
            "study_alpha": study_alpha,
            "alpha_note": (None if study_alpha == budgets.alpha else
                           f"the budgets' alpha {budgets.alpha} differs from the study's {study_alpha}: "
                           "statistics.pnl_lcb/kill_ucb are at the budgets' alpha, metrics.* at the study's"),
            "z_one_sided": z_one_sided(budgets.alpha),
            "pnl_mean": c.pnl_mean,
            "pnl_stdev": c.pnl_stdev,
            "pnl_lcb": c.pnl_lcb,
            "kill_k": c.kill_k,
            "kill_n": n,
            "kill_ucb": c.kill_ucb,
            "dd_cvar": c.dd_cvar,
            "method": {"kill_ucb": "one-sided Wilson score upper bound", "pnl_lcb": "mean - z * stdev / sqrt(n), sample stdev"},
        },
        "spec_aliases": dict(SPEC_ALIASES),
        "tier_budget": {"max_kill_ucb": tier.max_kill_ucb, "max_dd_cvar": tier.max_dd_cvar,
                        "min_pnl_lcb_usd": tier.min_pnl_lcb_usd},
        "budgets_file": str(budgets_path) if budgets_path is not None else None,
        "suites_passed": {name: bool((suites.get(name) or {}).get("passed")) for name in SUITE_NAMES},
        "storage": spec.redacted,
        "sampler": settings.get("sampler"),
        "sampler_seed": settings.get("seed"),
        "population": settings.get("population"),
        "optuna_version": optuna.__version__,
    }


def search_seeds(run: dict[str, Any], settings: dict[str, Any]) -> list[int]:
    """The trial's Monte Carlo seeds as it ran them: its recorded first seed and count
    (``run.seeds``; the study's ``search-mc`` stream), ``first + i`` wrapping at 2^64. A
    trial recorded before seed streams ran the study seed onwards, and says so."""
    raw = run.get("seeds")
    seeds: dict[str, Any] = raw if isinstance(raw, dict) else {}
    first = seeds.get("first", run.get("seed", settings.get("seed", 0)))
    count = seeds.get("count", run.get("mc_runs", settings.get("mc_runs", 0)))
    return [(int(first) + i) % SEED_SPACE for i in range(int(count))]

"""Promotion: budget tiers over a study's Pareto front, the presets and their records.

Candidates are the feasible trials of the study's Pareto front (``study.best_trials``).
For each tier of the budgets file, a candidate passes when ``kill_ucb <= max_kill_ucb``,
``dd_cvar <= max_dd_cvar``, ``pnl_lcb >= min_pnl_lcb_usd`` (one-sided bounds at the
budgets' alpha, recomputed from the stored statistics), its evidence verified and both
suites passed; anything missing or NaN fails. The winner is the passing candidate with
the highest ``pnl_mean``, then the lowest ``dd_cvar``, the lowest ``kill_ucb``, the
smallest ``candidate_id``. Before it is written, its trial directory is verified again;
a candidate whose evidence no longer verifies is skipped, with the reason, for the next.

Per tier with a winner: ``<out>/<tier>/phaseA_<study>_<UTC YYYYMMDD_HHMMSS>.env`` and
``<out>/<tier>/PROMOTION_RECORD.json``, written as :mod:`tuner.promotion.commit` says.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import FrozenTrial

from tuner._faults import checkpoint
from tuner._io import dumps_json
from tuner.config.budgets import Budgets, Tier
from tuner.config.paths import DEFAULT_PROMOTED_DIR
from tuner.errors import InputError
from tuner.names import candidate_id
from tuner.promotion.commit import commit_tier, promotion_lock, unused_stamp
from tuner.promotion.decision import Candidate, at_alpha, candidate_from_trial, select_winner
from tuner.promotion.provenance import RECORD_FILE, build_record
from tuner.promotion.verify import Verification, trial_directory, verify_trial
from tuner.record import Attr, front_members
from tuner.session.storage import StorageSpec
from tuner.simulator.envfile import env_file_text

__all__ = ["Promotion", "TierOutcome", "promote"]


@dataclass(frozen=True)
class TierOutcome:
    """What happened in one tier: the winner (written, or only named in a dry run) or
    why nothing was promoted."""

    tier: str
    promoted: bool
    dry_run: bool = False
    candidate_id: str | None = None
    trial: int | None = None
    pnl_mean: float | None = None
    pnl_lcb: float | None = None
    kill_ucb: float | None = None
    dd_cvar: float | None = None
    env_file: str | None = None
    record: str | None = None
    reason: str | None = None
    skipped: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()}


@dataclass(frozen=True)
class Promotion:
    """A promotion's decision, tier by tier (in budget order)."""

    study_name: str
    alpha: float
    candidates: int
    dry_run: bool
    tiers: dict[str, TierOutcome] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"study_name": self.study_name, "alpha": self.alpha, "candidates": self.candidates,
                "dry_run": self.dry_run, "tiers": {k: v.as_dict() for k, v in self.tiers.items()}}


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
    say: Callable[[str], None] = print,
) -> Promotion:
    """Applies the tiers and, unless ``dry_run``, writes the promoted presets; returns
    the decision per tier. Lines for the user go to ``say``."""
    out_dir = out_dir or DEFAULT_PROMOTED_DIR
    if dry_run:
        return _promote(study, spec=spec, budgets=budgets, budgets_path=budgets_path, study_dir=study_dir,
                        out_dir=out_dir, dry_run=True, allow_unverified=allow_unverified, say=say)
    with promotion_lock(out_dir, say):
        return _promote(study, spec=spec, budgets=budgets, budgets_path=budgets_path, study_dir=study_dir,
                        out_dir=out_dir, dry_run=False, allow_unverified=allow_unverified, say=say)


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
    say: Callable[[str], None],
) -> Promotion:
    front = front_members(study.best_trials)
    pairs = [(t, at_alpha(candidate_from_trial(t), budgets.alpha)) for t in front]
    by_key = {(c.candidate_id, c.trial_number): t for t, c in pairs}
    checked: dict[int, Verification] = {}
    promoted_at, stamp = unused_stamp(out_dir, study.study_name, budgets.tiers)
    outcome = Promotion(study.study_name, budgets.alpha, len(pairs), dry_run)
    say(f"promotion of study {study.study_name}: {len(pairs)} candidate(s) on the feasible Pareto front, "
        f"alpha {budgets.alpha}, budgets {budgets_path}")
    for tier in budgets.tiers.values():
        outcome.tiers[tier.name] = _tier(
            study, tier, pairs, by_key, checked, spec=spec, budgets=budgets, study_dir=study_dir, out_dir=out_dir,
            dry_run=dry_run, allow_unverified=allow_unverified, promoted_at=promoted_at, stamp=stamp, say=say,
        )
    return outcome


def _tier(
    study: optuna.Study,
    tier: Tier,
    pairs: list[tuple[FrozenTrial, Candidate]],
    by_key: dict[tuple[str, int], FrozenTrial],
    checked: dict[int, Verification],
    *,
    spec: StorageSpec,
    budgets: Budgets,
    study_dir: Path | None,
    out_dir: Path,
    dry_run: bool,
    allow_unverified: bool,
    promoted_at: dt.datetime,
    stamp: str,
    say: Callable[[str], None],
) -> TierOutcome:
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
        return TierOutcome(tier.name, promoted=False, dry_run=dry_run, reason=why, skipped=tuple(skipped))
    t, c, v = winner
    tdir = trial_directory(t, study_dir)
    overlay = dict(t.user_attrs.get(Attr.OVERLAY) or {})
    if candidate_id(overlay) != c.candidate_id:
        raise InputError(f"trial {t.number}: stored overlay does not reproduce candidate id {c.candidate_id}")
    chosen = dict(candidate_id=c.candidate_id, trial=t.number, pnl_mean=c.pnl_mean, pnl_lcb=c.pnl_lcb,
                  kill_ucb=c.kill_ucb, dd_cvar=c.dd_cvar, skipped=tuple(skipped))
    summary = (f"  {tier.name}: {c.candidate_id} (trial {t.number}) pnl_mean {c.pnl_mean:.2f} pnl_lcb {c.pnl_lcb:.2f} "
               f"kill_ucb {c.kill_ucb:.4f} dd_cvar {c.dd_cvar:.1f}")
    if dry_run:
        say(summary + " [dry run: nothing written]")
        return TierOutcome(tier.name, promoted=False, dry_run=True, **chosen)  # type: ignore[arg-type]
    header = [
        f"Promoted configuration for {tier.name} tier",
        f"Study: {study.study_name}",
        f"Candidate: {c.candidate_id} (trial {t.number})",
        f"Metrics: pnl={c.pnl_mean:.4f}, pnl_lcb={c.pnl_lcb:.4f}, kill_ci={c.kill_ucb:.4f}, dd_cvar={c.dd_cvar:.2f}",
        f"Promoted at: {promoted_at.strftime('%Y-%m-%dT%H:%M:%SZ')}; record: {RECORD_FILE}",
    ]
    tier_dir = out_dir / tier.name
    env_path = tier_dir / f"phaseA_{study.study_name}_{stamp}.env"
    env_text = env_file_text(overlay, header)
    record = build_record(study=study, spec=spec, tier=tier, budgets=budgets, t=t, c=c, env_path=env_path,
                          env_sha256=hashlib.sha256(env_text.encode("utf-8")).hexdigest(),
                          promoted_at=promoted_at, verification=v, allow_unverified=allow_unverified, tdir=tdir)
    commit_tier(tier_dir, env_path, env_text, dumps_json(record))
    say(summary + f" -> {env_path}")
    checkpoint("promote.tier_done")
    return TierOutcome(tier.name, promoted=True, env_file=str(env_path), record=str(tier_dir / RECORD_FILE),
                       **chosen)  # type: ignore[arg-type]

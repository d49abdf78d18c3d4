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
import tempfile
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
from tuner.promotion.challenge import SeedStream, compare, per_run_pnl, rerun_incumbent
from tuner.promotion.commit import TierWrite, commit_promotion, promotion_lock, unused_stamp
from tuner.promotion.decision import Candidate, at_alpha, candidate_from_trial, select_winner
from tuner.promotion.history import current_record, event
from tuner.promotion.provenance import build_record, preset_header, record_name, report_name
from tuner.promotion.verify import Verification, trial_directory, verify_trial
from tuner.record import Attr, front_members
from tuner.session.settings import StudySettings
from tuner.session.storage import StorageSpec
from tuner.simulator.envfile import env_file_text

__all__ = ["Promotion", "Report", "TierOutcome", "promote"]

#: Renders a tier's report page: (record, winner_mc=, incumbent_mc=, finalists=) -> HTML.
Report = Callable[..., str]


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
    #: the incumbent's candidate id, and the challenge against it (see tuner.promotion.challenge)
    incumbent: str | None = None
    challenge: dict[str, Any] | None = None

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
    allow_looser_alpha: bool = False,
    report: Report | None = None,
    say: Callable[[str], None] = print,
) -> Promotion:
    """Applies the tiers and, unless ``dry_run``, writes the promoted presets (all tiers
    or none); returns the decision per tier. Lines for the user go to ``say``. An alpha
    looser (larger) than the study's is an :class:`InputError` unless ``allow_looser_alpha``.
    ``report`` renders a tier's HTML page (written with its record, named in it)."""
    out_dir = out_dir or DEFAULT_PROMOTED_DIR
    study_alpha = StudySettings.stored(study).get("alpha")
    if isinstance(study_alpha, (int, float)) and budgets.alpha != study_alpha:
        if budgets.alpha > study_alpha and not allow_looser_alpha:
            raise InputError(f"--budgets {budgets_path}: alpha {budgets.alpha} is looser than the study's {study_alpha} "
                             "(bounds at a larger alpha are less certain); refused: use the study's budgets, or pass "
                             "--allow-looser-alpha to promote at it (recorded)")
        say(f"note: the budgets' alpha {budgets.alpha} differs from the study's {study_alpha}: the tiers are judged "
            f"at {budgets.alpha}; the record keeps both (statistics.alpha, metrics.alpha)")
    if dry_run:
        return _promote(study, spec=spec, budgets=budgets, budgets_path=budgets_path, study_dir=study_dir,
                        out_dir=out_dir, dry_run=True, allow_unverified=allow_unverified, report=report, say=say)
    with promotion_lock(out_dir, say):
        return _promote(study, spec=spec, budgets=budgets, budgets_path=budgets_path, study_dir=study_dir,
                        out_dir=out_dir, dry_run=False, allow_unverified=allow_unverified, report=report, say=say)


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
    report: Report | None,
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
    # Every incumbent is read before anything is decided: a corrupt one stops the promotion.
    incumbents = {name: current_record(out_dir / name) for name in budgets.tiers}
    writes: list[TierWrite] = []
    with tempfile.TemporaryDirectory(prefix="incumbent_rerun_") as scratch:
        for tier in budgets.tiers.values():
            tier_outcome, write = _tier(
                study, tier, pairs, by_key, checked, spec=spec, budgets=budgets, budgets_path=budgets_path,
                study_dir=study_dir, out_dir=out_dir, dry_run=dry_run, allow_unverified=allow_unverified,
                promoted_at=promoted_at, stamp=stamp, incumbent=incumbents[tier.name], scratch=Path(scratch),
                report=report, say=say,
            )
            outcome.tiers[tier.name] = tier_outcome
            if write is not None:
                writes.append(write)
    if not dry_run:
        checkpoint("promote.decided")
        commit_promotion(out_dir, writes, say)
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
    budgets_path: Path,
    study_dir: Path | None,
    out_dir: Path,
    dry_run: bool,
    allow_unverified: bool,
    promoted_at: dt.datetime,
    stamp: str,
    incumbent: dict[str, Any] | None,
    scratch: Path,
    report: Report | None,
    say: Callable[[str], None],
) -> tuple[TierOutcome, TierWrite | None]:
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
        kept = f"; incumbent {incumbent['candidate_id']} stays" if incumbent else ""
        say(f"  {tier.name}: nothing promoted: {why}{kept}")
        return TierOutcome(tier.name, promoted=False, dry_run=dry_run, reason=why, skipped=tuple(skipped),
                           incumbent=incumbent["candidate_id"] if incumbent else None), None
    t, c, v = winner
    tdir = trial_directory(t, study_dir)
    overlay = dict(t.user_attrs.get(Attr.OVERLAY) or {})
    if candidate_id(overlay) != c.candidate_id:
        raise InputError(f"trial {t.number}: stored overlay does not reproduce candidate id {c.candidate_id}")
    chosen = dict(candidate_id=c.candidate_id, trial=t.number, pnl_mean=c.pnl_mean, pnl_lcb=c.pnl_lcb,
                  kill_ucb=c.kill_ucb, dd_cvar=c.dd_cvar, skipped=tuple(skipped))
    summary = (f"  {tier.name}: {c.candidate_id} (trial {t.number}) pnl_mean {c.pnl_mean:.2f} pnl_lcb {c.pnl_lcb:.2f} "
               f"kill_ucb {c.kill_ucb:.4f} dd_cvar {c.dd_cvar:.1f}")
    at = promoted_at.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    tier_dir = out_dir / tier.name
    challenge = None
    incumbent_mc: Path | None = None
    if incumbent is not None:
        rerun = rerun_incumbent(incumbent, _seeds(study), scratch / tier.name, tier, budgets.alpha)
        incumbent_mc = rerun.mc_dir
        challenger_pnl = per_run_pnl(tdir / "mc") if tdir is not None and (tdir / "mc" / "mc_runs.jsonl").is_file() else {}
        verdict = compare(c, challenger_pnl, rerun, tier, budgets.alpha)
        challenge = verdict.as_dict()
        chosen["incumbent"] = incumbent["candidate_id"]
        chosen["challenge"] = challenge
        if not verdict.incumbent_passes:
            say(f"  {tier.name}: incumbent {incumbent['candidate_id']} no longer passes with the current binary: "
                f"{'; '.join(verdict.incumbent_failures)}")
        if not verdict.replace:
            why = f"incumbent {incumbent['candidate_id']} stays: " + "; ".join(verdict.reasons)
            say(summary + f" is the challenger; {why}" + (" [dry run: nothing written]" if dry_run else ""))
            lines = [event("rejected", at=at, study=study.study_name, candidate_id=c.candidate_id,
                           reasons=list(verdict.reasons), trial_number=t.number, incumbent=incumbent["candidate_id"],
                           challenge=challenge)]
            if not verdict.incumbent_passes:
                lines.append(event("incumbent_failing", at=at, study=study.study_name,
                                   candidate_id=incumbent["candidate_id"], record_file=incumbent.get("record_file"),
                                   reasons=list(verdict.incumbent_failures)))
            return (TierOutcome(tier.name, promoted=False, dry_run=dry_run, reason=why, **chosen),  # type: ignore[arg-type]
                    None if dry_run else TierWrite(tier_dir, history=lines))
        summary += f"; replaces incumbent {incumbent['candidate_id']}: {'; '.join(verdict.reasons)}"
    if dry_run:
        say(summary + " [dry run: nothing written]")
        return TierOutcome(tier.name, promoted=False, dry_run=True, **chosen), None  # type: ignore[arg-type]
    env_path = tier_dir / f"phaseA_{study.study_name}_{stamp}.env"
    own = record_name(env_path.name)
    env_text = env_file_text(overlay, preset_header(tier=tier.name, study=study.study_name, c=c,
                                                    promoted_at=promoted_at, record_file=own))
    record = build_record(study=study, spec=spec, tier=tier, budgets=budgets, t=t, c=c, env_path=env_path,
                          env_sha256=hashlib.sha256(env_text.encode("utf-8")).hexdigest(),
                          promoted_at=promoted_at, verification=v, allow_unverified=allow_unverified, tdir=tdir,
                          budgets_path=budgets_path)
    record["decision"] = {
        "incumbent": incumbent["candidate_id"] if incumbent else None,
        "incumbent_record_file": incumbent.get("record_file") if incumbent else None,
        "challenge": challenge,
        "skipped": skipped,
    }
    files = {env_path.name: env_text}
    if report is not None:
        record["report_file"] = report_name(env_path.name)
        finalists = [dict(candidate_id=p.candidate_id, trial=p.trial_number, pnl_mean=p.pnl_mean, pnl_lcb=p.pnl_lcb,
                          kill_ucb=p.kill_ucb, dd_cvar=p.dd_cvar,
                          note="promoted" if p.candidate_id == c.candidate_id else "passes, lower in winner order")
                     for p in selection.passing]
        files[record["report_file"]] = report(record, winner_mc=tdir / "mc" if tdir is not None else None,
                                              incumbent_mc=incumbent_mc, finalists=finalists)
    text = dumps_json(record)
    files[own] = text
    lines = []
    if incumbent is not None:
        lines.append(event("superseded", at=at, study=str(incumbent.get("study_name")),
                           candidate_id=incumbent["candidate_id"], record_file=incumbent.get("record_file"),
                           reasons=[f"replaced by {c.candidate_id} of study {study.study_name}"]))
    lines.append(event("promoted", at=at, study=study.study_name, candidate_id=c.candidate_id, record_file=own,
                       env_file=env_path.name, candidate_hash=record["candidate_hash"], trial_number=t.number))
    say(summary + f" -> {env_path}")
    return (TierOutcome(tier.name, promoted=True, env_file=str(env_path), record=str(tier_dir / own),
                        **chosen),  # type: ignore[arg-type]
            TierWrite(tier_dir, files=files, current=text, history=lines))


def _seeds(study: optuna.Study) -> SeedStream:
    """The seeds of the study's evidence (the incumbent is re-run on them)."""
    s = StudySettings.stored(study)
    return SeedStream(first=int(s.get("seed", 0)), runs=int(s.get("mc_runs", 0)), ticks=int(s.get("mc_ticks", 0)))

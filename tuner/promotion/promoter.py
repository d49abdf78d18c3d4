"""Promotion: budget tiers over a study's Pareto front, decided on confirmation evidence.

Candidates are the feasible trials of the study's Pareto front (``study.best_trials``).
Per tier, the finalists are the candidates that pass on search evidence
(``kill_ucb <= max_kill_ucb``, ``dd_cvar <= max_dd_cvar``, ``pnl_lcb >= min_pnl_lcb_usd``
at the budgets' alpha, evidence verified, both suites passed), at most ``K``
(``ConfirmSettings.finalists``, default 5) in winner order, each re-verified first (a
candidate whose evidence no longer verifies is skipped, with the reason, for the next).
Each finalist is confirmed on fresh seed streams (:mod:`tuner.promotion.confirm`) and the
tier is decided there only, every bound at ``alpha / K`` (Bonferroni over the finalists
considered). The winner is the passing finalist with the highest confirmation
``pnl_mean``, then the lowest drawdown CVaR bound, the lowest kill bound, the smallest
``candidate_id``. Each tier's outcome says its budget, the winner's bounds and margins,
how many finalists passed, the runner-up and "same candidate as <tier>"; an empty tier
names the candidate nearest to its budget (a normalized distance, :data:`DISTANCE`) with
each failed rule. The promotion ends with the overfitting report (search -> confirmation
degradation, PBO by CSCV), kept in the study's user attributes for ``pareto.json``.

A tier's incumbent (:mod:`tuner.promotion.challenge`) is re-run with the current binary on
the confirmation stream's seeds, the same seeds as the challenger's confirmation runs,
and the two are compared run by run.

Per tier with a winner: ``<out>/<tier>/phaseA_<study>_<UTC YYYYMMDD_HHMMSS>.env`` and
``<out>/<tier>/PROMOTION_RECORD.json``, written as :mod:`tuner.promotion.commit` says.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
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
from tuner.promotion.confirm import Confirmation, ConfirmSettings, Verdict, confirm, judge
from tuner.promotion.decision import (
    Candidate,
    Selection,
    at_alpha,
    budget_distance,
    candidate_from_trial,
    select_winner,
    winner_order_key,
)
from tuner.promotion.history import current_record, event
from tuner.promotion.provenance import build_record, preset_header, record_name, report_name
from tuner.promotion.verify import Verification, trial_directory, verify_trial
from tuner.record import Attr, StudyAttr, front_members, metrics_from_summary
from tuner.session.read import best_trials
from tuner.session.settings import StudySettings, search_first_seed
from tuner.session.storage import StorageSpec
from tuner.simulator.envfile import env_file_text
from tuner.simulator.summary import read_summary
from tuner.stats.bounds import METHODS
from tuner.stats.overfit import block_means, pbo_cscv

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
    #: Finalists confirmed for this tier, and how many passed on confirmation evidence.
    finalists: int = 0
    finalists_passed: int = 0
    #: The winner's verdict on confirmation evidence (bounds, margins, metrics); the
    #: figures above (pnl_mean, pnl_lcb, kill_ucb, dd_cvar = its CVaR upper bound) are its.
    confirmation: dict[str, Any] | None = None
    #: The winner's search-evidence statistics (what made it a finalist).
    search: dict[str, Any] | None = None
    runner_up: dict[str, Any] | None = None
    same_as: str | None = None
    #: For a tier without a winner: the candidate nearest to its budget and why it fails.
    nearest: dict[str, Any] | None = None

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
    #: How finalists were confirmed (runs, seeds, streams, methods).
    confirm: dict[str, Any] | None = None
    #: Search -> confirmation degradation and PBO over the finalists.
    overfitting: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        return _clean({"study_name": self.study_name, "alpha": self.alpha, "candidates": self.candidates,
                       "dry_run": self.dry_run, "confirmation": self.confirm, "overfitting": self.overfitting,
                       "tiers": {k: v.as_dict() for k, v in self.tiers.items()}})


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
    confirm_settings: ConfirmSettings | None = None,
    say: Callable[[str], None] = print,
) -> Promotion:
    """Applies the tiers and, unless ``dry_run``, writes the promoted presets (all tiers
    or none); returns the decision per tier. Lines for the user go to ``say``. An alpha
    looser (larger) than the study's is an :class:`InputError` unless ``allow_looser_alpha``.
    ``report`` renders a tier's HTML page (written with its record, named in it).
    ``confirm_settings`` (default: :class:`~tuner.promotion.confirm.ConfirmSettings` from
    the study's seed and ticks) says how finalists are confirmed; a dry run confirms too
    (into the study directory's ``oos/``, its metrics into the storage), it only writes
    no preset."""
    out_dir = out_dir or DEFAULT_PROMOTED_DIR
    stored = StudySettings.stored(study)
    cs = confirm_settings or ConfirmSettings(study_seed=int(stored.get("seed", 0)), ticks=int(stored.get("mc_ticks", 600)))
    cs.check_disjoint(search_first_seed(stored), int(stored.get("mc_runs", 0)))
    study_alpha = stored.get("alpha")
    if isinstance(study_alpha, (int, float)) and budgets.alpha != study_alpha:
        if budgets.alpha > study_alpha and not allow_looser_alpha:
            raise InputError(f"--budgets {budgets_path}: alpha {budgets.alpha} is looser than the study's {study_alpha} "
                             "(bounds at a larger alpha are less certain); refused: use the study's budgets, or pass "
                             "--allow-looser-alpha to promote at it (recorded)")
        say(f"note: the budgets' alpha {budgets.alpha} differs from the study's {study_alpha}: the tiers are judged "
            f"at {budgets.alpha}; the record keeps both (statistics.alpha, metrics.alpha)")
    kw: dict[str, Any] = dict(spec=spec, budgets=budgets, budgets_path=budgets_path, study_dir=study_dir,
                              out_dir=out_dir, allow_unverified=allow_unverified, report=report, cs=cs, say=say)
    if dry_run:
        return _promote(study, dry_run=True, **kw)
    with promotion_lock(out_dir, say):
        return _promote(study, dry_run=False, **kw)


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
    cs: ConfirmSettings,
    say: Callable[[str], None],
) -> Promotion:
    front = front_members(best_trials(study))
    pairs = [(t, at_alpha(candidate_from_trial(t), budgets.alpha)) for t in front]
    by_key = {(c.candidate_id, c.trial_number): t for t, c in pairs}
    ctx = _Context(study, by_key, {}, {}, {}, study_dir, cs, allow_unverified, say)
    promoted_at, stamp = unused_stamp(out_dir, study.study_name, budgets.tiers)
    outcome = Promotion(study.study_name, budgets.alpha, len(pairs), dry_run, confirm=cs.describe())
    say(f"promotion of study {study.study_name}: {len(pairs)} candidate(s) on the feasible Pareto front, "
        f"alpha {budgets.alpha}, budgets {budgets_path}")
    say(f"  confirmation: up to {cs.finalists} finalist(s) per tier re-simulated on fresh seeds "
        f"({cs.runs} Monte Carlo runs of {cs.ticks} ticks, {cs.suite_seeds} seed(s) per suite scenario); tiers are "
        "decided on that evidence only, every bound at alpha / K (Bonferroni over the tier's K finalists)")
    # Every incumbent is read before anything is decided: a corrupt one stops the promotion.
    incumbents = {name: current_record(out_dir / name) for name in budgets.tiers}
    writes: list[TierWrite] = []
    winners: dict[tuple[str, int], str] = {}
    with tempfile.TemporaryDirectory(prefix="incumbent_rerun_") as scratch:
        for tier in budgets.tiers.values():
            tier_outcome, write = _tier(
                ctx, tier, pairs, spec=spec, budgets=budgets, budgets_path=budgets_path, out_dir=out_dir,
                dry_run=dry_run, promoted_at=promoted_at, stamp=stamp, incumbent=incumbents[tier.name],
                scratch=Path(scratch), report=report, winners=winners,
            )
            outcome.tiers[tier.name] = tier_outcome
            if write is not None:
                writes.append(write)
    overfitting = _overfitting(ctx)
    outcome = replace(outcome, overfitting=overfitting)
    if overfitting is not None:
        study.set_user_attr(StudyAttr.OVERFITTING, _clean(overfitting))
        say(f"  overfitting: {overfitting['finalists']} finalist(s) confirmed; search -> confirmation mean change: "
            + ", ".join(f"{k} {v:+.4g}" for k, v in overfitting["mean_degradation"].items())
            + (f"; PBO {overfitting['pbo']['pbo']:.3f} over {overfitting['pbo']['combinations']} CSCV splits"
               if overfitting.get("pbo") else "; PBO needs at least 2 finalists"))
        writes = [_with_overfitting(w, _clean(overfitting)) for w in writes]
    if not dry_run:
        checkpoint("promote.decided")
        commit_promotion(out_dir, writes, say)
    return outcome


def _with_overfitting(write: TierWrite, overfitting: dict[str, Any]) -> TierWrite:
    """``write`` with the promotion's overfitting report in its new record (known only once
    every tier's finalists are confirmed, after the records were built)."""
    if write.current is None:
        return write
    record = json.loads(write.current)
    record["overfitting"] = overfitting
    text = dumps_json(record)
    files = {name: text if body == write.current else body for name, body in write.files.items()}
    return replace(write, files=files, current=text)


@dataclass
class _Context:
    study: optuna.Study
    by_key: dict[tuple[str, int], FrozenTrial]
    checked: dict[int, Verification]
    confirmed: dict[int, Confirmation | str]
    verdicts: dict[str, list[Verdict]]
    study_dir: Path | None
    cs: ConfirmSettings
    allow_unverified: bool
    say: Callable[[str], None]
    #: The distance of a nearest candidate is explained once per promotion.
    distance_said: bool = False

    def confirmation(self, t: FrozenTrial) -> Confirmation | str:
        """The trial's confirmation (made once per promotion, reused across tiers and from
        the storage), or why there is none."""
        if t.number not in self.confirmed:
            try:
                c = confirm(self.study, t, self.study_dir, self.cs)
                self.confirmed[t.number] = c
                how = "reused (its pack verifies with the stored digest)" if c.reused else \
                    f"on fresh seeds in {c.seconds:.1f} s"
                self.say(f"  confirmed {c.candidate_id} (trial {t.number}) {how}: {c.directory}")
            except InputError as exc:
                self.confirmed[t.number] = str(exc)
        return self.confirmed[t.number]


def _tier(
    ctx: _Context,
    tier: Tier,
    pairs: list[tuple[FrozenTrial, Candidate]],
    *,
    spec: StorageSpec,
    budgets: Budgets,
    budgets_path: Path,
    out_dir: Path,
    dry_run: bool,
    promoted_at: dt.datetime,
    stamp: str,
    incumbent: dict[str, Any] | None,
    scratch: Path,
    report: Report | None,
    winners: dict[tuple[str, int], str],
) -> tuple[TierOutcome, TierWrite | None]:
    say, study = ctx.say, ctx.study
    selection = select_winner([c for _, c in pairs], tier)
    skipped: list[str] = []
    finalists: list[tuple[FrozenTrial, Candidate, Verification]] = []
    for c in selection.passing:
        if len(finalists) >= ctx.cs.finalists:
            break
        t = ctx.by_key[(c.candidate_id, c.trial_number)]
        v = ctx.checked.get(t.number) or verify_trial(t, ctx.study_dir)
        ctx.checked[t.number] = v
        if v.verified or (not v.reachable and ctx.allow_unverified):
            finalists.append((t, c, v))
        elif not v.reachable:
            skipped.append(f"{c.candidate_id} (trial {t.number}): {v.detail}; refusing without --allow-unverified")
        else:
            skipped.append(f"{c.candidate_id} (trial {t.number}): {v.detail}")
    for s in skipped:
        say(f"  {tier.name}: skipped {s}")
    verdicts: list[tuple[FrozenTrial, Candidate, Verification, Verdict, Confirmation]] = []
    for t, c, v in finalists:
        conf = ctx.confirmation(t)
        if isinstance(conf, str):
            skipped.append(f"{c.candidate_id} (trial {t.number}): {conf}")
            say(f"  {tier.name}: skipped {skipped[-1]}")
            continue
        verdicts.append((t, c, v, judge(conf, tier, budgets.alpha, len(finalists)), conf))
    ctx.verdicts[tier.name] = [x[3] for x in verdicts]
    passing = sorted((x for x in verdicts if x[3].passed), key=lambda x: _confirmed_order(x[3]))
    common: dict[str, Any] = dict(finalists=len(finalists), finalists_passed=len(passing), skipped=tuple(skipped))
    kept = f"; incumbent {incumbent['candidate_id']} stays" if incumbent else ""
    if not passing:
        nearest = _nearest(verdicts, selection, tier)
        if verdicts and nearest is not None:
            why = (f"none of {len(verdicts)} finalist(s) passes on confirmation evidence; nearest "
                   f"{nearest['candidate_id']} (trial {nearest['trial']}, distance {nearest['distance']:.3g}) fails: "
                   + "; ".join(nearest["failures"]))
        elif selection.passing:
            why = "every candidate passing on search evidence failed re-verification or confirmation"
        elif nearest is not None:
            why = (f"no candidate passes on search evidence; nearest {nearest['candidate_id']} (trial "
                   f"{nearest['trial']}, distance {nearest['distance']:.3g}) fails: {'; '.join(nearest['failures'])}")
        else:
            why = "no feasible candidate on the Pareto front"
        say(f"  {tier.name}: nothing promoted: {why}{kept}")
        if nearest is not None and not ctx.distance_said:
            say(f"    (distance: {DISTANCE})")
            ctx.distance_said = True
        return TierOutcome(tier.name, promoted=False, dry_run=dry_run, reason=why, nearest=nearest,
                           incumbent=incumbent["candidate_id"] if incumbent else None, **common), None
    t, c, v, verdict, conf = passing[0]
    runner = passing[1][3] if len(passing) > 1 else None
    same_as = winners.get((c.candidate_id, t.number))
    winners.setdefault((c.candidate_id, t.number), tier.name)
    tdir = trial_directory(t, ctx.study_dir)
    overlay = dict(t.user_attrs.get(Attr.OVERLAY) or {})
    if candidate_id(overlay) != c.candidate_id:
        raise InputError(f"trial {t.number}: stored overlay does not reproduce candidate id {c.candidate_id}")
    m = verdict.metrics
    chosen: dict[str, Any] = dict(
        candidate_id=c.candidate_id, trial=t.number, pnl_mean=m["pnl_mean"], pnl_lcb=m["pnl_lcb"],
        kill_ucb=m["kill_ucb"], dd_cvar=m["dd_cvar_ucb"], confirmation=verdict.as_dict(),
        search={"pnl_mean": c.pnl_mean, "pnl_lcb": c.pnl_lcb, "kill_ucb": c.kill_ucb, "dd_cvar": c.dd_cvar},
        runner_up=runner.as_dict() if runner else None, same_as=same_as, **common)
    summary = (f"  {tier.name}: {c.candidate_id} (trial {t.number}) on confirmation evidence: pnl_mean "
               f"{m['pnl_mean']:.2f} pnl_lcb {m['pnl_lcb']:.2f} kill_ucb {m['kill_ucb']:.4f} "
               f"dd_cvar_ucb {m['dd_cvar_ucb']:.1f}")
    explain = _explain(tier, verdict, runner, same_as, len(passing), len(finalists))
    at = promoted_at.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    tier_dir = out_dir / tier.name
    challenge = None
    incumbent_mc: Path | None = None
    if incumbent is not None and incumbent.get("candidate_id") == c.candidate_id:
        why = f"the winner is the incumbent {c.candidate_id} itself: it stays (nothing to replace)"
        say(summary + f"; {why}")
        for line in explain:
            say(line)
        chosen["incumbent"] = incumbent["candidate_id"]
        return TierOutcome(tier.name, promoted=False, dry_run=dry_run, reason=why, **chosen), None
    if incumbent is not None:
        # Both on the confirmation stream's seeds: the challenger's confirmation runs, and
        # the incumbent re-run on the same seeds with the current binary.
        rerun = rerun_incumbent(incumbent, SeedStream(first=ctx.cs.mc_seed, runs=ctx.cs.runs, ticks=ctx.cs.ticks),
                                scratch / tier.name, tier, budgets.alpha)
        incumbent_mc = rerun.mc_dir
        verdict_ci = compare(_challenger(conf, c, budgets.alpha), per_run_pnl(conf.directory / "mc"), rerun, tier,
                             budgets.alpha)
        challenge = {**verdict_ci.as_dict(), "seeds": "the confirmation stream (confirm-mc) of this promotion",
                     "seed_first": ctx.cs.mc_seed, "runs": ctx.cs.runs, "ticks": ctx.cs.ticks}
        chosen["incumbent"] = incumbent["candidate_id"]
        chosen["challenge"] = challenge
        if not verdict_ci.incumbent_passes:
            say(f"  {tier.name}: incumbent {incumbent['candidate_id']} no longer passes with the current binary: "
                f"{'; '.join(verdict_ci.incumbent_failures)}")
        if not verdict_ci.replace:
            why = f"incumbent {incumbent['candidate_id']} stays: " + "; ".join(verdict_ci.reasons)
            say(summary + f" is the challenger; {why}" + (" [dry run: nothing written]" if dry_run else ""))
            for line in explain:
                say(line)
            lines = [event("rejected", at=at, study=study.study_name, candidate_id=c.candidate_id,
                           reasons=list(verdict_ci.reasons), trial_number=t.number, incumbent=incumbent["candidate_id"],
                           challenge=_clean(challenge))]
            if not verdict_ci.incumbent_passes:
                lines.append(event("incumbent_failing", at=at, study=study.study_name,
                                   candidate_id=incumbent["candidate_id"], record_file=incumbent.get("record_file"),
                                   reasons=list(verdict_ci.incumbent_failures)))
            return (TierOutcome(tier.name, promoted=False, dry_run=dry_run, reason=why, **chosen),
                    None if dry_run else TierWrite(tier_dir, history=lines))
        summary += f"; replaces incumbent {incumbent['candidate_id']}: {'; '.join(verdict_ci.reasons)}"
    if dry_run:
        say(summary + " [dry run: nothing written]")
        for line in explain:
            say(line)
        return TierOutcome(tier.name, promoted=False, dry_run=True, **chosen), None
    env_path = tier_dir / f"phaseA_{study.study_name}_{stamp}.env"
    own = record_name(env_path.name)
    header = preset_header(tier=tier.name, study=study.study_name, c=c, promoted_at=promoted_at, record_file=own)
    header.insert(4, f"Confirmation ({conf.kill_n} fresh runs, bounds at alpha/K {verdict.alpha:.4g}): "
                     f"pnl_mean={m['pnl_mean']:.4f}, pnl_lcb={m['pnl_lcb']:.4f}, kill_ucb={m['kill_ucb']:.4f}, "
                     f"dd_cvar_ucb={m['dd_cvar_ucb']:.2f}")
    env_text = env_file_text(overlay, header)
    record = build_record(study=study, spec=spec, tier=tier, budgets=budgets, t=t, c=c, env_path=env_path,
                          env_sha256=hashlib.sha256(env_text.encode("utf-8")).hexdigest(),
                          promoted_at=promoted_at, verification=v, allow_unverified=ctx.allow_unverified, tdir=tdir,
                          budgets_path=budgets_path)
    record["tier_budget"]["max_scenario_failure_rate"] = tier.max_scenario_failure_rate
    record["seed_streams"] = {
        "search-mc": {"first": search_first_seed(StudySettings.stored(study)),
                      "count": int(StudySettings.stored(study).get("mc_runs", 0)),
                      "rule": "run i uses seed + i, wrapping at 2^64 (the search's stream; see seeds)"},
        "search-suite": {"rule": "the seeds written in the shipped suite files"},
        **ctx.cs.streams(),
    }
    record["confirmation"] = {**verdict.as_dict(), "directory": str(conf.directory), "sha256sums": conf.digest,
                              "key": conf.key, "runs": ctx.cs.runs, "ticks": ctx.cs.ticks,
                              "suite_seeds_per_scenario": ctx.cs.suite_seeds, "finalists": len(finalists),
                              "multiplicity": METHODS["multiplicity"],
                              "methods": {k: v for k, v in METHODS.items() if k != "multiplicity"}}
    record["decision"] = {
        "decided_on": "confirmation evidence only (statistics.* are the search's, which made it a finalist)",
        "finalists": len(finalists), "finalists_passed": len(passing),
        "runner_up": runner.as_dict() if runner else None, "same_as": same_as,
        "incumbent": incumbent["candidate_id"] if incumbent else None,
        "incumbent_record_file": incumbent.get("record_file") if incumbent else None,
        "challenge": challenge,
        "skipped": skipped,
    }
    record = _clean(record)
    files = {env_path.name: env_text}
    if report is not None:
        record["report_file"] = report_name(env_path.name)
        rows = []
        for x in verdicts:
            xm = x[3].metrics
            rows.append(dict(candidate_id=x[1].candidate_id, trial=x[1].trial_number, pnl_mean=x[1].pnl_mean,
                             pnl_lcb=x[1].pnl_lcb, kill_ucb=x[1].kill_ucb, dd_cvar=x[1].dd_cvar,
                             confirm_pnl_mean=xm.get("pnl_mean"), confirm_pnl_lcb=xm.get("pnl_lcb"),
                             confirm_kill_ucb=xm.get("kill_ucb"), confirm_dd_cvar_ucb=xm.get("dd_cvar_ucb"),
                             note="promoted" if x[3] is verdict else
                             ("passes, lower in winner order" if x[3].passed else "fails: " + "; ".join(x[3].failures()))))
        files[record["report_file"]] = report(record, winner_mc=conf.directory / "mc", incumbent_mc=incumbent_mc,
                                              finalists=rows)
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
    for line in explain:
        say(line)
    return (TierOutcome(tier.name, promoted=True, env_file=str(env_path), record=str(tier_dir / own), **chosen),
            TierWrite(tier_dir, files=files, current=text, history=lines))


def _challenger(conf: Confirmation, c: Candidate, alpha: float) -> Candidate:
    """The challenger as the incumbent's re-run is judged: statistics of its confirmation
    runs at ``alpha`` by the same method (:func:`~tuner.record.metrics_from_summary`)."""
    m = metrics_from_summary(read_summary(conf.directory / "mc" / "mc_summary.json"), alpha)
    # Its suites stay the search's (as the incumbent's are its record's): the fresh-seed
    # suite gate is the confirmation's, which the challenger passed to get here.
    return replace(c, pnl_mean=float(m["pnl_mean"]), pnl_stdev=float(m["pnl_stdev"]), pnl_lcb=float(m["pnl_lcb"]),
                   kill_k=float(m["kill_k"]), kill_n=float(m["kill_n"]), kill_ucb=float(m["kill_ucb"]),
                   dd_cvar=float(m["dd_cvar"]), evidence_verified=conf.verified)


#: How the distance of an empty tier's nearest candidate is measured.
DISTANCE = ("sum over failed numeric rules of the shortfall divided by the budget limit (|limit|, 1 when 0), "
            "plus 1 per failed suite scenario or unverified evidence")


def _confirmed_order(v: Verdict) -> tuple[float, float, float, str, int]:
    """Winner order on confirmation evidence: highest mean PnL, lowest drawdown CVaR bound,
    lowest kill bound, smallest candidate id, trial number."""
    def num(x: Any) -> float:
        return float(x) if isinstance(x, (int, float)) and math.isfinite(float(x)) else math.inf
    mm = v.metrics
    return (num(-float(mm["pnl_mean"])), num(mm["dd_cvar_ucb"]), num(mm["kill_ucb"]), v.candidate_id, v.trial_number)


def _nearest(verdicts: list[Any], selection: Selection, tier: Tier) -> dict[str, Any] | None:
    """The candidate nearest to the tier's budget: among the confirmed finalists by
    :meth:`Verdict.distance`, otherwise among the front on search evidence by
    :func:`~tuner.promotion.decision.budget_distance`."""
    if verdicts:
        best = min((x[3] for x in verdicts), key=lambda v: (v.distance(), _confirmed_order(v)))
        return {"candidate_id": best.candidate_id, "trial": best.trial_number, "distance": best.distance(),
                "evidence": "confirmation", "failures": best.failures(), "measure": DISTANCE}
    if not selection.assessed:
        return None
    c, failures = min(selection.assessed, key=lambda cf: (budget_distance(cf[0], tier), winner_order_key(cf[0])))
    return {"candidate_id": c.candidate_id, "trial": c.trial_number, "distance": budget_distance(c, tier),
            "evidence": "search", "failures": list(failures), "measure": DISTANCE}


def _explain(tier: Tier, v: Verdict, runner: Verdict | None, same_as: str | None, passed: int,
             finalists: int) -> list[str]:
    scen = [g for g in v.gates if g.rule.startswith("scenario ")]
    lines = [f"    budget: kill_ucb <= {tier.max_kill_ucb:g}, dd_cvar_ucb <= {tier.max_dd_cvar:g} USD, "
             f"pnl_lcb >= {tier.min_pnl_lcb_usd:g} USD, scenario failure rate <= {tier.max_scenario_failure_rate:g}"
             f"; bounds at alpha/K = {v.alpha:.4g} (Bonferroni over {finalists} finalist(s))",
             "    confirmation: " + "; ".join(g.words() for g in v.gates if not g.rule.startswith("scenario ")),
             f"    suites: {sum(1 for g in scen if g.passed)} of {len(scen)} scenarios within the allowed failure rate "
             "on fresh seeds",
             f"    {passed} of {finalists} finalist(s) passed on confirmation evidence"
             + (f"; runner-up {runner.candidate_id} (trial {runner.trial_number}, pnl_mean "
                f"{float(runner.metrics['pnl_mean']):.2f})" if runner else "; no runner-up")]
    if same_as:
        lines.append(f"    same candidate as {same_as}")
    return lines


def _overfitting(ctx: _Context) -> dict[str, Any] | None:
    """Search -> confirmation degradation of every confirmed finalist, and the PBO by CSCV
    over the finalists x seed blocks of their confirmation runs (common seeds)."""
    confs = [(n, c) for n, c in sorted(ctx.confirmed.items()) if not isinstance(c, str)]
    if not confs:
        return None
    trials = {t.number: t for t in ctx.by_key.values()}
    rows: list[dict[str, Any]] = []
    for n, c in confs:
        sm = candidate_from_trial(trials[n])
        cm = c.metrics()
        rates = list(cm["suite_pass_rate"].values())
        rows.append({"candidate_id": c.candidate_id, "trial": n,
                     "search": {"pnl_mean": sm.pnl_mean, "dd_cvar": sm.dd_cvar, "kill_rate": _rate(sm),
                                "suite_pass_rate": 1.0},
                     "confirmation": {"pnl_mean": cm["pnl_mean"], "dd_cvar": cm["dd_cvar"], "kill_rate": cm["kill_rate"],
                                      "suite_pass_rate": float(np.mean(rates)) if rates else math.nan}})
    keys = ("pnl_mean", "dd_cvar", "kill_rate", "suite_pass_rate")

    def delta(r: dict[str, Any], k: str) -> float:
        a, b = r["confirmation"][k], r["search"][k]
        return float(a) - float(b) if a is not None and b is not None else math.nan

    mean_deg = {k: float(np.mean([delta(r, k) for r in rows])) for k in keys}
    pbo = None
    if len(confs) >= 2:
        n_runs = min(c.pnl.size for _, c in confs)
        matrix = np.column_stack([c.pnl[:n_runs] for _, c in confs])
        blocks = min(16, n_runs - n_runs % 2)
        if blocks >= 2:
            res = pbo_cscv(block_means(matrix, blocks))
            pbo = {"pbo": res.pbo, "combinations": res.combinations, "blocks": blocks, "metric": "mean PnL per block",
                   "method": "CSCV (Bailey, Borwein, Lopez de Prado & Zhu), finalists x seed blocks of the "
                             "confirmation runs (common seeds)"}
    return {"finalists": len(rows), "per_finalist": rows, "mean_degradation": mean_deg, "pbo": pbo,
            "suite_pass_rate_note": "search: 1.0 (every finalist passed both suites on the shipped seeds); "
                                    "confirmation: the fraction of scenarios without a failing fresh seed"}


def _rate(c: Candidate) -> float:
    if c.kill_k is None or not c.kill_n:
        return math.nan
    return float(c.kill_k) / float(c.kill_n)


def _clean(value: Any) -> Any:
    """NaN and infinities as null (strict JSON)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value

"""The objective: one candidate configuration, scored end to end by the real binaries.

For each trial: parameters from the search space → the ``PARAPHINA_*`` overlay and its
``candidate_id`` → ``<study dir>/trials/trial_<NNNN>_<candidate_id>/candidate.env`` →
one ``sim_eval trial`` process (the Monte Carlo batch, both suites, a root evidence pack
over the trial directory and its verification; one JSON document back) → metrics,
confidence bounds, constraints and user attributes, written in one storage transaction.

Two kinds of failure are kept apart. An *integrity* failure (a binary that crashes or
times out, evidence that does not verify, unreadable output) raises
:class:`IntegrityError`: the trial is stored FAIL with the command and its stderr
tail, and the study goes on. A *quality* failure (a suite invariant that does not
hold) gives a completed but infeasible trial: its constraint is the number of failed
scenario checks, so NSGA-II learns from it, and it never reaches the Pareto front.
A failure of the environment (the study directory cannot be written: disk full,
read-only) is neither: :class:`StudyDirError` stops the study and the trial is retried
when it resumes.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna

from tuner._faults import checkpoint
from tuner.config.paths import suites
from tuner.config.search_space import SearchSpace
from tuner.names import candidate_id, trial_dir_name
from tuner.record import (
    CONSTRAINT_KEY,
    CONSTRAINTS_PREFIX,
    LEGACY_CONSTRAINTS_KEY,
    Attr,
    EvidenceKey,
    metrics_from_summary,
    objective_values,
)
from tuner.search import reuse
from tuner.session.recovery import worker_id
from tuner.session.storage import write_trial_attrs
from tuner.simulator import client
from tuner.simulator._process import CommandResult
from tuner.simulator.envfile import env_file_text
from tuner.simulator.identity import provenance
from tuner.simulator.outputs import SuiteVerdict
from tuner.simulator.summary import SummaryError
from tuner.stats.streams import SEARCH_MC, search_seed

__all__ = ["IntegrityError", "Objective", "ObjectiveSettings", "StudyDirError"]


class IntegrityError(Exception):
    """The trial's evidence cannot be trusted: a binary failed, or verification did."""


class StudyDirError(Exception):
    """The study directory cannot be written (disk full, read-only, permissions): not
    the candidate's fault, and every later trial would fail the same way. The trial is
    flagged interrupted (retried with the same parameters on resume, not counted) and
    the study stops, instead of spending its remaining trials on failures."""


@dataclass(frozen=True)
class ObjectiveSettings:
    study_name: str
    study_dir: Path
    mc_runs: int
    mc_ticks: int
    seed: int
    alpha: float
    command_timeout: float
    mc_threads: int | None = None
    #: how much of each trial's evidence goes to disk (``sim_eval trial --evidence``)
    evidence: str = "compact"

    @property
    def mc_seed(self) -> int:
        """The first Monte Carlo seed of every candidate: the base of the study seed's
        ``search-mc`` stream (:mod:`tuner.stats.streams`), not the study seed itself, so
        studies seeded 42 and 43 share no run."""
        return search_seed(self.seed)


class Objective:
    """Callable for ``study.optimize``: returns (pnl_mean, kill_ucb, dd_cvar)."""

    def __init__(self, settings: ObjectiveSettings, space: SearchSpace) -> None:
        self.s = settings
        self.space = space
        self.worker = worker_id()

    def __call__(self, trial: optuna.Trial) -> tuple[float, ...]:
        try:
            trial.set_user_attr(Attr.WORKER, self.worker)
            return self._run(trial)
        except (KeyboardInterrupt, StudyDirError):
            # Ctrl-C, SIGTERM or an unwritable study directory: Optuna stores the trial
            # FAIL; the flag makes the next start retry it instead of counting it.
            trial.set_user_attr(Attr.INTERRUPTED, True)
            raise

    def _run(self, trial: optuna.Trial) -> tuple[float, ...]:
        started = time.monotonic()
        params = self.space.suggest(trial)
        checkpoint("objective.sampled")
        overlay = self.space.overlay(params)
        cid = candidate_id(overlay)
        stored = reuse.stored_result(trial, cid, {"mc_runs": self.s.mc_runs, "mc_ticks": self.s.mc_ticks,
                                                  "seed": self.s.mc_seed})
        if stored is not None:  # never simulated twice in a study: see tuner.search.reuse
            return reuse.take_stored_result(trial, cid, stored)
        tdir = self.s.study_dir / "trials" / trial_dir_name(trial.number, cid)
        rel = _relative(tdir)
        # Before anything runs, so a trial that dies names its directory. Commit, dirty
        # state and binary digests as they are when this evidence is made (hashed once
        # per process, not per trial).
        write_trial_attrs(trial, {Attr.CANDIDATE_ID: cid, Attr.TRIAL_DIR: str(tdir), Attr.PROVENANCE: provenance()})

        commands: list[dict[str, Any]] = []

        def run(argv: list[str | Path], *, ok_codes: tuple[int, ...] = (0,)) -> CommandResult:
            result = client.run(argv, overlay=overlay, timeout=self.s.command_timeout)
            commands.append(
                {"argv": [_relative_arg(a) for a in result.argv], "exit": result.returncode,
                 "seconds": round(result.seconds, 4), "timed_out": result.timed_out}
            )
            if result.returncode not in ok_codes:
                failure = {"reason": "command failed", "command": result.describe(), "stderr_tail": result.stderr_tail[-1000:]}
                if result.stdout.strip():
                    # The verifier reports what failed on stdout (`FAIL <pack>: <problems>`).
                    failure["stdout_tail"] = result.stdout[-1000:]
                unwritable = _unwritable(tdir)
                if unwritable is not None:
                    failure["reason"] = f"cannot write in the study directory: {unwritable}"
                trial.set_user_attr(Attr.FAILURE, failure)
                trial.set_user_attr(Attr.COMMANDS, commands)
                if unwritable is not None:
                    raise StudyDirError(f"{_relative(tdir)}: {unwritable}")
                said = _last_line(result.stderr_tail) or _last_line(
                    "\n".join(ln for ln in result.stdout.splitlines() if ln.startswith("FAIL")))
                raise IntegrityError(result.describe() + (": " + said if said else ""))
            return result

        try:
            tdir.mkdir(parents=True, exist_ok=True)
            (tdir / "candidate.env").write_text(
                env_file_text(overlay, [f"candidate {cid}, study {self.s.study_name}, trial {trial.number}"]),
                encoding="utf-8",
            )
        except OSError as exc:
            trial.set_user_attr(Attr.FAILURE, {"reason": f"cannot write in the study directory: {exc.strerror}",
                                            "path": str(tdir)})
            raise StudyDirError(f"{rel}: {exc.strerror}") from exc
        checkpoint("objective.prepared")

        names = suites()
        result = run(client.trial_argv(runs=self.s.mc_runs, ticks=self.s.mc_ticks, seed=self.s.mc_seed,
                                       suites=names, output_dir=tdir, evidence=self.s.evidence,
                                       threads=self.s.mc_threads))
        try:
            doc = client.trial_document(result, list(names))
            metrics = metrics_from_summary(doc["mc"]["summary"], self.s.alpha)
        except (ValueError, SummaryError) as exc:
            trial.set_user_attr(Attr.FAILURE, {"reason": str(exc)})
            raise IntegrityError(str(exc)) from exc

        verdicts = {name: SuiteVerdict(suite_id=str(part["suite_id"]), passed=part["passed"],
                                       failed_checks=part["failed_checks"], failures=[str(f) for f in part["failures"]])
                    for name, part in ((n, doc["suites"][n]) for n in names)}
        failed_checks = sum(v.failed_checks for v in verdicts.values())
        checkpoint("objective.attrs")
        # Every attribute and the constraint in one storage transaction: the summary in the
        # storage, the detail on disk (the trial directory's documents).
        write_trial_attrs(
            trial,
            {
                Attr.PNL_LCB: metrics["pnl_lcb"],
                Attr.KILL_COUNT: metrics["kill_k"],
                Attr.SUITES_PASSED: all(v.passed for v in verdicts.values()),
                Attr.EVIDENCE_VERIFIED: True,
                Attr.METRICS: metrics,
                Attr.OVERLAY: overlay,
                Attr.SUITES: {k: v.as_attr() for k, v in verdicts.items()},
                Attr.EVIDENCE: {
                    EvidenceKey.MC_SUMMARY: doc["mc"]["summary_sha256"],
                    EvidenceKey.ROOT_SUMS: doc["pack"]["sha256sums_sha256"],
                    EvidenceKey.MC_RUNS: doc["mc"]["runs_sha256"],
                    EvidenceKey.LAYOUT: self.s.evidence,
                },
                Attr.RUN: {
                    "mc_runs": self.s.mc_runs,
                    "mc_ticks": self.s.mc_ticks,
                    "seed": self.s.mc_seed,
                    "study_seed": self.s.seed,
                    "seeds": {"stream": SEARCH_MC, "first": self.s.mc_seed, "count": self.s.mc_runs,
                              "rule": "run i uses seed + i, wrapping at 2^64"},
                    "commands": commands,
                    "seconds": round(time.monotonic() - started, 4),
                    "binary_seconds": round(sum(c["seconds"] for c in commands), 4),
                    # the simulator's own time (its process start and exit excluded)
                    "simulator_seconds": round(float(doc["seconds"]), 4),
                    "evidence": {"files": doc["pack"]["files"], "bytes": doc["pack"]["bytes"]},
                },
            },
            # optuna-dashboard 0.21 reads only the older list format; keep both in step.
            {f"{CONSTRAINTS_PREFIX}:{CONSTRAINT_KEY}": float(failed_checks),
             LEGACY_CONSTRAINTS_KEY: [float(failed_checks)]},
        )
        checkpoint("objective.scored")
        return objective_values(metrics)


def _unwritable(tdir: Path) -> str | None:
    """Why a failed command's trial directory cannot take a small file, or None when it
    can (the command failed on its own: an integrity failure of the trial)."""
    probe = tdir / ".write_probe"
    try:
        with open(probe, "wb") as fh:
            fh.write(b"\0" * 65536)
            fh.flush()
            os.fsync(fh.fileno())
        probe.unlink()
    except OSError as exc:
        with contextlib.suppress(OSError):
            probe.unlink()
        return exc.strerror or str(exc)
    return None


def _relative(path: Path) -> Path:
    try:
        return path.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return path.resolve()


def _relative_arg(arg: str) -> str:
    p = Path(arg)
    if p.is_absolute():
        try:
            return str(p.relative_to(Path.cwd().resolve()))
        except ValueError:
            return arg
    return arg


def _last_line(text: str) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1][:300] if lines else ""

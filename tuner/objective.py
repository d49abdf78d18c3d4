"""The objective: one candidate configuration, scored end to end by the real binaries.

For each trial: parameters from the search space → the ``PARAPHINA_*`` overlay and its
``candidate_id`` → ``<study dir>/trials/trial_<NNNN>_<candidate_id>/candidate.env`` →
``monte_carlo`` → ``sim_eval verify-evidence-tree`` on its output → both suites →
a root evidence pack over the trial directory → ``sim_eval verify-evidence-tree`` on
the whole trial → metrics, confidence bounds, constraints, user attributes.

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

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from tuner._faults import checkpoint
from tuner.evidence import sha256_file
from tuner.identifiers import candidate_id, trial_dir_name
from tuner.metrics import SummaryError, metrics_from_summary, objective_values, read_summary
from tuner.paths import suites
from tuner.recovery import INTERRUPTED_ATTR, WORKER_ATTR, worker_id
from tuner.runner import CommandResult, binary, run_command
from tuner.search_space import SearchSpace
from tuner.suites import SuiteVerdict, read_suite_verdict

__all__ = [
    "CONSTRAINT_KEY", "IntegrityError", "Objective", "ObjectiveSettings", "StudyDirError", "env_file_text", "is_feasible",
]

#: Constraint name: failed scenario checks over both suites (feasible when 0).
CONSTRAINT_KEY = "suite_failures"


def is_feasible(t: FrozenTrial) -> bool:
    """Feasible = COMPLETE with every constraint ≤ 0. A COMPLETE trial without any
    constraint is not trusted (Optuna 5 would call it feasible): every run of this
    objective sets one."""
    c = t.constraints
    return t.state == TrialState.COMPLETE and bool(c) and all(v <= 0 for v in c.values())


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


def env_file_text(overlay: Mapping[str, str], header: list[str] | None = None) -> str:
    """``export NAME=value`` lines, sorted by name, that ``bash -c 'source F'`` accepts.

    Values are knob strings (numbers and profile names): nothing a shell would
    interpret, which :func:`tuner.identifiers.format_knob_value` guarantees.
    """
    lines = [f"# {h}" for h in (header or [])]
    lines += [f"export {k}={overlay[k]}" for k in sorted(overlay)]
    return "\n".join(lines) + "\n"


class Objective:
    """Callable for ``study.optimize``: returns (pnl_mean, kill_ucb, dd_cvar)."""

    def __init__(self, settings: ObjectiveSettings, space: SearchSpace) -> None:
        self.s = settings
        self.space = space
        self.worker = worker_id()

    def __call__(self, trial: optuna.Trial) -> tuple[float, float, float]:
        try:
            trial.set_user_attr(WORKER_ATTR, self.worker)
            return self._run(trial)
        except (KeyboardInterrupt, StudyDirError):
            # Ctrl-C, SIGTERM or an unwritable study directory: Optuna stores the trial
            # FAIL; the flag makes the next start retry it instead of counting it.
            trial.set_user_attr(INTERRUPTED_ATTR, True)
            raise

    def _run(self, trial: optuna.Trial) -> tuple[float, float, float]:
        started = time.monotonic()
        params = self.space.suggest(trial)
        checkpoint("objective.sampled")
        overlay = self.space.overlay(params)
        cid = candidate_id(overlay)
        tdir = self.s.study_dir / "trials" / trial_dir_name(trial.number, cid)
        rel = _relative(tdir)
        trial.set_user_attr("candidate_id", cid)
        trial.set_user_attr("trial_dir", str(tdir))

        commands: list[dict[str, Any]] = []

        def run(argv: list[str | Path], *, ok_codes: tuple[int, ...] = (0,)) -> CommandResult:
            result = run_command(argv, overlay=overlay, timeout=self.s.command_timeout)
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
                trial.set_user_attr("failure", failure)
                trial.set_user_attr("commands", commands)
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
            trial.set_user_attr("failure", {"reason": f"cannot write in the study directory: {exc.strerror}",
                                            "path": str(tdir)})
            raise StudyDirError(f"{rel}: {exc.strerror}") from exc

        mc_dir = tdir / "mc"
        mc_argv: list[str | Path] = [
            binary("monte_carlo"), "--runs", str(self.s.mc_runs), "--ticks", str(self.s.mc_ticks),
            "--seed", str(self.s.seed), "--output-dir", mc_dir, "--quiet",
        ]
        if self.s.mc_threads:
            mc_argv += ["--threads", str(self.s.mc_threads)]
        run(mc_argv)
        run([binary("sim_eval"), "verify-evidence-tree", mc_dir])

        verdicts: dict[str, SuiteVerdict] = {}
        for name, path in suites().items():
            out = tdir / "suite" / name
            # Exit 1 = an invariant failed: a verdict on the candidate, not an integrity failure.
            run([binary("sim_eval"), "suite", path, "--output-dir", out], ok_codes=(0, 1))
            try:
                verdicts[name] = read_suite_verdict(out)
            except ValueError as exc:
                trial.set_user_attr("failure", {"reason": str(exc)})
                raise IntegrityError(str(exc)) from exc

        run([binary("sim_eval"), "write-evidence-pack", tdir])
        run([binary("sim_eval"), "verify-evidence-tree", tdir])

        try:
            summary = read_summary(mc_dir / "mc_summary.json")
            metrics = metrics_from_summary(summary, self.s.alpha)
        except SummaryError as exc:
            trial.set_user_attr("failure", {"reason": str(exc)})
            raise IntegrityError(str(exc)) from exc

        failed_checks = sum(v.failed_checks for v in verdicts.values())
        suites_passed = all(v.passed for v in verdicts.values())
        trial.set_user_attr("pnl_lcb", metrics["pnl_lcb"])
        trial.set_user_attr("kill_count", metrics["kill_k"])
        trial.set_user_attr("suites_passed", suites_passed)
        trial.set_user_attr("evidence_verified", True)
        trial.set_user_attr("metrics", metrics)
        checkpoint("objective.attrs")
        trial.set_user_attr("overlay", overlay)
        trial.set_user_attr("suites", {k: v.as_attr() for k, v in verdicts.items()})
        trial.set_user_attr(
            "evidence",
            {
                "mc_summary_sha256": sha256_file(mc_dir / "mc_summary.json"),
                "root_sha256sums_sha256": sha256_file(tdir / "evidence_pack" / "SHA256SUMS"),
            },
        )
        trial.set_user_attr(
            "run",
            {
                "mc_runs": self.s.mc_runs,
                "mc_ticks": self.s.mc_ticks,
                "seed": self.s.seed,
                "seeds": {"first": self.s.seed, "count": self.s.mc_runs, "rule": "run i uses seed + i"},
                "commands": commands,
                "seconds": round(time.monotonic() - started, 4),
                "binary_seconds": round(sum(c["seconds"] for c in commands), 4),
            },
        )
        trial.set_constraint(CONSTRAINT_KEY, float(failed_checks))
        # optuna-dashboard 0.21 reads only the older list format; keep both in step.
        trial.storage.set_trial_system_attr(trial._trial_id, "constraints", [float(failed_checks)])
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
        try:
            probe.unlink()
        except OSError:
            pass
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

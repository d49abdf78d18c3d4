"""Running a study's trials in this process (or in local worker processes), until the
study holds its target of counted trials, a deadline passes or the early stop fires."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import optuna
from optuna.trial import FrozenTrial

from tuner.config.search_space import SearchSpace
from tuner.names import KNOB_NAMES
from tuner.record import counted_trials, feasible_points
from tuner.search.objective import IntegrityError, Objective, ObjectiveSettings, StudyDirError
from tuner.search.progress import Progress
from tuner.search.worker import ReservationLock, TrialTakenOver, run_worker
from tuner.session import recovery
from tuner.session.settings import StudySettings
from tuner.session.storage import StorageSpec
from tuner.stats.hypervolume import trials_since_improvement

__all__ = ["RunOptions", "StudyDirStopped", "TrialTakenOver", "run_local_workers", "run_trials"]


@dataclass(frozen=True)
class RunOptions:
    """How this process runs its share of the trials (nothing here changes results)."""

    command_timeout: float = 600.0
    mc_threads: int | None = None
    #: what each trial keeps on disk (``sim_eval trial --evidence``)
    evidence: str = "compact"
    timeout: float | None = None
    early_stop: int | None = None
    worker_index: int | None = None
    quiet: bool = False


class StudyDirStopped(Exception):
    """The study directory could not be written; the study stopped (resumable)."""


def _say(quiet: bool) -> Callable[[str], None]:
    return (lambda _msg: None) if quiet else (lambda msg: print(msg, file=sys.stderr))


def run_trials(
    study: optuna.Study,
    spec: StorageSpec,
    *,
    study_dir: Path,
    space: SearchSpace,
    target: int,
    settings: StudySettings,
    options: RunOptions,
) -> str:
    """This process's share of the trials (all of them when it works alone). Returns why
    it stopped: ``"done"``, ``"timeout"``, ``"stopped"`` (early stop) or ``"nothing"``.
    Raises ``KeyboardInterrupt`` when interrupted and :class:`StudyDirStopped` when the
    study directory cannot be written."""
    say = _say(options.quiet)
    name = study.study_name
    lock = recovery.WorkerLock.for_study(spec, name)
    alone = lock.acquire()
    reservation = ReservationLock(spec, name, study._storage)
    try:
        # Under the reservation lock: two workers starting together must not both retry
        # the same interrupted trial. With SQLite every worker runs on this host.
        reservation.acquire()
        try:
            retried = recovery.recover_interrupted(study, n_params=len(KNOB_NAMES), no_live_local_worker=alone,
                                                   single_host=spec.kind == "sqlite")
        finally:
            reservation.release()
        if retried:
            say(f"resuming: retrying interrupted trial(s) {', '.join(map(str, retried))} with the same parameters")
        done = len(counted_trials(study.get_trials(deepcopy=False)))
        remaining = max(0, target - done)
        who = f" worker {options.worker_index}:" if options.worker_index is not None else ""
        say(f"study {name}{who} ({spec.redacted}): {done} of {target} trials finished; "
            f"{'running ' + str(remaining) + ' more' if remaining else 'nothing to run'} "
            f"({settings.mc_runs} runs x {settings.mc_ticks} ticks per candidate, seed {settings.seed}, "
            f"{settings.sampler})")
        if not remaining:
            return "nothing"
        objective = Objective(
            ObjectiveSettings(
                study_name=name, study_dir=study_dir, mc_runs=settings.mc_runs, mc_ticks=settings.mc_ticks,
                seed=settings.seed, alpha=settings.alpha, command_timeout=options.command_timeout,
                mc_threads=options.mc_threads, evidence=options.evidence,
            ),
            space,
        )
        deadline = time.monotonic() + options.timeout if options.timeout else None
        try:
            why = run_worker(
                study, objective, target=target,
                lock=reservation,
                catch=(IntegrityError,),
                callbacks=[Progress(target, done, options.quiet)],
                deadline=deadline,
                stop=None if options.early_stop is None else early_stop(options.early_stop),
                on_wait=None if options.quiet else (lambda msg: print(f"study {name}: {msg}", file=sys.stderr)),
                recover=lambda: recovery.recover_interrupted(study, n_params=len(KNOB_NAMES),
                                                             no_live_local_worker=False),
            )
        except StudyDirError as exc:
            raise StudyDirStopped(str(exc)) from exc
        if why == "stopped":
            print(f"study {name}: early stop: the feasible front's hypervolume has not grown for "
                  f"{options.early_stop} finished trials", file=sys.stderr)
        if why == "timeout":
            print(f"study {name}: --timeout {options.timeout:g} s reached; resume with the same command",
                  file=sys.stderr)
        return why
    finally:
        lock.release()


def early_stop(k: int) -> Callable[[Sequence[FrozenTrial]], bool]:
    """True once the feasible front's hypervolume has not grown for ``k`` counted trials."""

    def stop(trials: Sequence[FrozenTrial]) -> bool:
        counted = counted_trials(trials)
        return len(counted) >= k and trials_since_improvement(feasible_points(counted)) >= k

    return stop


def run_local_workers(worker_argv: Sequence[str], workers: int) -> list[int]:
    """Starts ``workers`` processes of ``python -m tuner.study <worker_argv> --worker-index I
    --no-promote`` on this host against the same storage and waits for them; returns their
    exit statuses. Ctrl-C or SIGTERM stops them all (and is re-raised)."""
    procs = [
        subprocess.Popen([sys.executable, "-m", "tuner.study", *worker_argv, "--worker-index", str(i), "--no-promote"])
        for i in range(workers)
    ]
    try:
        return [p.wait() for p in procs]
    except KeyboardInterrupt:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait()
        raise

"""Interrupted trials: how they are recognised, retried and left out of the count.

A trial is *interrupted* when its worker stopped before it finished: Ctrl-C or
SIGTERM (the objective flags the trial before Optuna stores it as FAIL), SIGKILL or a
crash (the trial stays RUNNING). Interrupted trials are retried with the same
parameters, as a new trial whose system attribute ``failed_trial`` names the one it
replaces; the replaced trial is *superseded*. Neither counts toward ``--trials``.

Dead RUNNING trials are found two ways. On one host, every worker holds a shared lock
on ``<study dir>/.workers.lock``; a worker that can take it exclusively at start knows
no other local worker is alive, so RUNNING trials started on this host are dead and
are retried at once. Trials of other hosts are left to Optuna's heartbeat, whose
callback (:func:`retry_stale_trial`) retries them the same way.
"""

from __future__ import annotations

import datetime
import fcntl
import os
import socket
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, TextIO

import optuna
from optuna.trial import FrozenTrial, TrialState

from tuner._faults import checkpoint

__all__ = [
    "INTERRUPTED_ATTR",
    "WORKER_ATTR",
    "WorkerLock",
    "counted_trials",
    "interrupted_numbers",
    "logical_index",
    "recover_interrupted",
    "StaleTrialRetry",
    "superseded_numbers",
    "worker_id",
]

#: User attribute set on a trial whose worker was interrupted while running it.
INTERRUPTED_ATTR = "interrupted"
#: User attribute naming the worker (``host:pid``) that runs a trial.
WORKER_ATTR = "worker"
_RETRY_OF = "failed_trial"
_FINISHED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _host_of(worker: Any) -> str | None:
    if isinstance(worker, str) and ":" in worker:
        return worker.rsplit(":", 1)[0]
    return None


def superseded_numbers(trials: Iterable[FrozenTrial]) -> set[int]:
    """Numbers of trials that a retry replaced."""
    out: set[int] = set()
    for t in trials:
        n = t.system_attrs.get(_RETRY_OF)
        if isinstance(n, int):
            out.add(n)
    return out


def interrupted_numbers(trials: Iterable[FrozenTrial]) -> set[int]:
    """Numbers of FAIL trials flagged as interrupted (retried or still to be)."""
    return {t.number for t in trials if t.state == TrialState.FAIL and t.user_attrs.get(INTERRUPTED_ATTR) is True}


def counted_trials(trials: Sequence[FrozenTrial]) -> list[FrozenTrial]:
    """Finished trials that count toward ``--trials``: interrupted and superseded ones do not."""
    skip = superseded_numbers(trials) | interrupted_numbers(trials)
    return [t for t in trials if t.state in _FINISHED and t.number not in skip]


def logical_index(trials: Sequence[FrozenTrial], number: int) -> int:
    """Position of trial ``number`` in the study as if no interruption had happened: the
    count of earlier trials that were not interrupted. A retry sits where the trial it
    replaces sat, so the sampler's per-trial randomness (seeded from this index) is the
    same in an interrupted and an uninterrupted run."""
    skip = superseded_numbers(trials) | interrupted_numbers(trials)
    return sum(1 for t in trials if t.number < number and t.number not in skip)


def _retry(study: optuna.Study, trial: FrozenTrial, n_params: int) -> None:
    # A trial killed while its parameters were being sampled holds only some of them;
    # the retry then samples all of them afresh (from the same per-trial seed), because
    # fixing a few would shift the random stream of the others.
    params = trial.params if len(trial.params) == n_params else {}
    distributions = trial.distributions if params else {}
    # Keep the NSGA-II generation (so the retry joins the same population) but never a
    # constraint value from the dead run: Optuna would keep it and ignore the retry's own.
    system_attrs = {
        k: v
        for k, v in trial.system_attrs.items()
        if not (k == "constraints" or k.startswith("constraints:") or k in (_RETRY_OF, "retry_history"))
    }
    history = list(trial.system_attrs.get("retry_history", [])) + [trial.number]
    system_attrs[_RETRY_OF] = trial.number
    system_attrs["retry_history"] = history
    study.add_trial(
        optuna.trial.create_trial(
            state=TrialState.WAITING,
            params=params,
            distributions=distributions,
            user_attrs={"retry_of": trial.number},
            system_attrs=system_attrs,
        )
    )


class StaleTrialRetry:
    """Heartbeat callback: a trial whose worker went silent is retried with the same
    parameters (Optuna has already stored it as FAIL)."""

    def __init__(self, n_params: int) -> None:
        self.n_params = n_params

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:
        _retry(study, trial, self.n_params)


def recover_interrupted(
    study: optuna.Study, *, n_params: int, no_live_local_worker: bool, single_host: bool = False
) -> list[int]:
    """Retries every interrupted trial not retried yet; returns the numbers retried.

    ``no_live_local_worker``: this worker holds the study directory's lock alone, so a
    RUNNING trial started on this host belongs to a dead process. ``single_host``: every
    worker of the study runs on this host (SQLite), so with ``no_live_local_worker`` a
    RUNNING trial without an owner (its worker died between Optuna creating it and the
    objective's first write) is dead too, instead of waiting for it to age.
    """
    trials = study.get_trials(deepcopy=False)
    checkpoint("recovery.scanned")
    superseded = superseded_numbers(trials)
    host = socket.gethostname()
    retried: list[int] = []
    for t in trials:
        if t.number in superseded:
            continue
        if t.state == TrialState.FAIL and t.user_attrs.get(INTERRUPTED_ATTR) is True:
            _retry(study, t, n_params)
            retried.append(t.number)
        elif t.state == TrialState.RUNNING and _is_dead(t, host, no_live_local_worker, single_host):
            storage = study._storage
            storage.set_trial_user_attr(t._trial_id, INTERRUPTED_ATTR, True)
            storage.set_trial_state_values(t._trial_id, TrialState.FAIL)
            _retry(study, study._storage.get_trial(t._trial_id), n_params)
            retried.append(t.number)
    return retried


def _is_dead(t: FrozenTrial, host: str, no_live_local_worker: bool, single_host: bool) -> bool:
    worker_host = _host_of(t.user_attrs.get(WORKER_ATTR))
    if worker_host is not None:
        return no_live_local_worker and worker_host == host
    # Killed between trial creation and the objective's first write: no owner, and no
    # heartbeat either (Optuna's heartbeat starts with the objective), so Optuna would
    # keep it RUNNING forever. Every worker that can create a trial holds the study
    # directory's lock, so on a single host a worker alone there knows it is dead;
    # otherwise it is dead once it is older than the heartbeat grace period.
    if single_host and no_live_local_worker:
        return True
    from tuner.storage import GRACE_PERIOD_S

    started = t.datetime_start
    return started is not None and (datetime.datetime.now() - started).total_seconds() > 2 * GRACE_PERIOD_S


class WorkerLock:
    """Shared lock on ``<study dir>/.workers.lock`` held while a worker runs.

    :meth:`acquire` returns whether this worker was alone at start (it could take the
    lock exclusively); it then keeps a shared lock so later workers see it alive.
    """

    def __init__(self, study_dir: Path) -> None:
        self.path = study_dir / ".workers.lock"
        self._fh: TextIO | None = None

    def acquire(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = open(self.path, "a+", encoding="utf-8")
        alone = True
        try:
            fcntl.flock(self._fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            alone = False
        fcntl.flock(self._fh, fcntl.LOCK_SH)
        return alone

    def release(self) -> None:
        if self._fh is not None:
            fcntl.flock(self._fh, fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None

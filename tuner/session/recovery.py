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
from pathlib import Path
from typing import Any, TextIO

import optuna
from optuna.trial import FrozenTrial, TrialState

from tuner._faults import checkpoint
from tuner.errors import InputError
from tuner.record import LEGACY_CONSTRAINTS_KEY, RETRY_HISTORY_KEY, RETRY_OF_KEY, Attr, superseded_numbers
from tuner.session.storage import GRACE_PERIOD_S

__all__ = ["HOST_ENV", "StaleTrialRetry", "WorkerLock", "host_name", "recover_interrupted", "retry_trial", "worker_id"]

#: Environment variable naming this worker's host in the study (default: the hostname).
#: Set it when machines share a hostname (containers on one network, cloned VMs): two
#: hosts with one name would each take the other's live trials for their own dead ones.
HOST_ENV = "TUNER_HOST"


def host_name() -> str:
    """The name this worker's host goes by in the study's trial records; InputError when
    ``TUNER_HOST`` is set to something that cannot be one."""
    name = os.environ.get(HOST_ENV)
    if name is None:
        return socket.gethostname()
    if not name or ":" in name or name != name.strip() or not name.isprintable() or len(name) > 253:
        raise InputError(f"{HOST_ENV}={name!r}: expected a host name of 1 to 253 printable characters "
                         "without ':' or surrounding spaces")
    return name


def worker_id() -> str:
    return f"{host_name()}:{os.getpid()}"


def _host_of(worker: Any) -> str | None:
    if isinstance(worker, str) and ":" in worker:
        return worker.rsplit(":", 1)[0]
    return None


def retry_trial(study: optuna.Study, trial: FrozenTrial, n_params: int) -> None:
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
        if not (k == LEGACY_CONSTRAINTS_KEY or k.startswith("constraints:") or k in (RETRY_OF_KEY, RETRY_HISTORY_KEY))
    }
    history = [*list(trial.system_attrs.get(RETRY_HISTORY_KEY, [])), trial.number]
    system_attrs[RETRY_OF_KEY] = trial.number
    system_attrs[RETRY_HISTORY_KEY] = history
    study.add_trial(
        optuna.trial.create_trial(
            state=TrialState.WAITING,
            params=params,
            distributions=distributions,
            user_attrs={Attr.RETRY_OF: trial.number},
            system_attrs=system_attrs,
        )
    )


class StaleTrialRetry:
    """Heartbeat callback: a trial whose worker went silent is retried with the same
    parameters (Optuna has already stored it as FAIL)."""

    def __init__(self, n_params: int) -> None:
        self.n_params = n_params

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:
        retry_trial(study, trial, self.n_params)


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
    host = host_name()
    retried: list[int] = []
    for t in trials:
        if t.number in superseded:
            continue
        if t.state == TrialState.FAIL and t.user_attrs.get(Attr.INTERRUPTED) is True:
            retry_trial(study, t, n_params)
            retried.append(t.number)
        elif t.state == TrialState.RUNNING and _is_dead(t, host, no_live_local_worker, single_host):
            storage = study._storage
            storage.set_trial_user_attr(t._trial_id, Attr.INTERRUPTED, True)
            storage.set_trial_state_values(t._trial_id, TrialState.FAIL)
            retry_trial(study, study._storage.get_trial(t._trial_id), n_params)
            retried.append(t.number)
    return retried


def _is_dead(t: FrozenTrial, host: str, no_live_local_worker: bool, single_host: bool) -> bool:
    worker_host = _host_of(t.user_attrs.get(Attr.WORKER))
    if worker_host is not None:
        return no_live_local_worker and worker_host == host
    # Killed between trial creation and the objective's first write: no owner, and no
    # heartbeat either (Optuna's heartbeat starts with the objective), so Optuna would
    # keep it RUNNING forever. Every worker that can create a trial holds the study
    # directory's lock, so on a single host a worker alone there knows it is dead;
    # otherwise it is dead once it is older than the heartbeat grace period.
    if single_host and no_live_local_worker:
        return True
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
        self._fh = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115  (held until release())
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

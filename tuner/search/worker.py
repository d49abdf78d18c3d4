"""The worker loop: run trials until the study holds exactly ``--trials`` counted trials,
however many workers (processes, hosts) share the study.

Optuna's ``MaxTrialsCallback`` overshoots by up to one trial per extra worker, because
each worker checks the count only after its trial. Here a worker *reserves* a slot
before its trial exists: under a lock shared by all workers (a PostgreSQL advisory lock
for a server database, a lock file beside a SQLite database), it counts finished and
running trials and only then lets Optuna create the next one; the lock is released as
soon as the trial exists (first line of the objective). A slot held by a RUNNING trial
whose worker died is freed by Optuna's heartbeat (the stale trial fails and is retried
as a WAITING trial, which the next worker picks up), so workers with nothing to start
wait for that instead of leaving.
"""

from __future__ import annotations

import fcntl
import hashlib
import time
from collections.abc import Callable, Sequence
from typing import Any, TextIO

import optuna
import sqlalchemy
from optuna.trial import FrozenTrial, TrialState

from tuner._faults import checkpoint
from tuner.record import TrialIndex, study_trials
from tuner.session.storage import StorageSpec

__all__ = ["ReservationLock", "TrialTakenOver", "run_worker"]

_POLL_S = (0.2, 2.0)  # first and longest wait between looks at a full study
_TELL_AFTER_S = 15.0


class TrialTakenOver(Exception):
    """This process's running trial was declared dead and failed by another worker
    (this process was paused longer than the heartbeat grace period): its result cannot
    be stored, and the other worker retries the trial."""

    def __init__(self, number: int | None) -> None:
        super().__init__(number)
        self.number = number


def _is_takeover(exc: BaseException) -> bool:
    """Whether Optuna refused a write because the trial was already finished by someone
    else (``Cannot tell a FAIL trial.``, ``UpdateFinishedTrialError``)."""
    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None:
            return False
        if isinstance(seen, optuna.exceptions.UpdateFinishedTrialError) or (
                isinstance(seen, ValueError) and str(seen).startswith("Cannot tell a ")):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


class ReservationLock:
    """Mutual exclusion between all workers of one study while a trial is created."""

    def __init__(self, spec: StorageSpec, study_name: str, storage: optuna.storages.BaseStorage) -> None:
        self._spec = spec
        self._key = int.from_bytes(hashlib.sha256(f"tuner:{study_name}".encode()).digest()[:8], "big", signed=True)
        # Optuna wraps its RDB storage in a cache; the engine is the wrapped one's.
        rdb: Any = getattr(storage, "_backend", storage)
        self._engine = rdb.engine if spec.kind == "postgresql" else None
        self._conn: Any = None
        self._fh: TextIO | None = None
        path = spec.sqlite_path
        self._path = None if path is None else path.with_name(path.name + f".{study_name}.reserve.lock")

    def acquire(self) -> None:
        if self._engine is not None:
            # Session-level advisory lock: released with the connection if the worker dies.
            self._conn = self._engine.connect()
            self._conn.execute(sqlalchemy.text("SELECT pg_advisory_lock(:k)"), {"k": self._key})
        else:
            assert self._path is not None
            self._fh = open(self._path, "a+", encoding="utf-8")  # noqa: SIM115  (held until release())
            fcntl.flock(self._fh, fcntl.LOCK_EX)

    def release(self) -> None:
        if self._conn is not None:
            try:
                self._conn.execute(sqlalchemy.text("SELECT pg_advisory_unlock(:k)"), {"k": self._key})
            finally:
                self._conn.close()
                self._conn = None
        if self._fh is not None:
            fcntl.flock(self._fh, fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None

    @property
    def held(self) -> bool:
        return self._conn is not None or self._fh is not None


def _free_slots(index: TrialIndex, target: int) -> tuple[int, bool]:
    """(slots free, whether a retry is waiting). A WAITING trial reuses its slot."""
    return target - index.counted() - index.unfinished(TrialState.RUNNING), index.unfinished(TrialState.WAITING) > 0


def run_worker(
    study: optuna.Study,
    objective: Callable[[optuna.Trial], Any],
    *,
    target: int,
    lock: ReservationLock,
    catch: tuple[type[Exception], ...],
    callbacks: list[Callable[[optuna.Study, FrozenTrial], None]],
    deadline: float | None = None,
    stop: Callable[[Sequence[FrozenTrial]], bool] | None = None,
    on_wait: Callable[[str], None] | None = None,
    recover: Callable[[], object] | None = None,
) -> str:
    """Runs trials until ``target`` counted trials exist. Returns why it stopped:
    ``"done"``, ``"timeout"`` or ``"stopped"`` (``stop`` said so, from the trials so
    far: the same verdict for every worker and for a resumed study). While every slot
    is held by a running trial, ``recover`` is called under the lock at each poll, so a
    trial whose worker died is retried once it is known dead instead of waited for
    forever."""

    current: list[int] = []

    def gated(trial: optuna.Trial) -> Any:
        current[:] = [trial.number]
        checkpoint("worker.trial_created")
        lock.release()  # the trial exists: other workers may count it now
        return objective(trial)

    index = TrialIndex()  # the study's counts, read incrementally (a rescan grew with the study)
    waited_since: float | None = None
    told = False
    polls = 0
    while True:
        if deadline is not None and time.monotonic() >= deadline:
            return "timeout"
        optuna.storages.fail_stale_trials(study)
        lock.acquire()
        try:
            trials = study_trials(study)  # what is new, without get_trials' sort of every trial
            index.update(trials)
            if index.counted() >= target:
                return "done"
            if stop is not None and stop(trials):
                return "stopped"
            free, waiting = _free_slots(index, target)
            if free <= 0 and not waiting:
                start = False
                if recover is not None:
                    recover()
            else:
                start = True
                current.clear()
                try:
                    study.optimize(gated, n_trials=1, catch=catch, callbacks=callbacks)
                except (ValueError, RuntimeError) as exc:
                    if _is_takeover(exc):
                        raise TrialTakenOver(current[0] if current else None) from None
                    raise
                checkpoint("worker.after_trial")
        finally:
            if lock.held:
                lock.release()
        if not start:
            now = time.monotonic()
            waited_since = waited_since or now
            # Say so only when the wait is long: at a study's end it is normal and short.
            if on_wait is not None and not told and now - waited_since > _TELL_AFTER_S:
                on_wait("every remaining slot is held by a running trial; waiting for it to finish "
                        "(or for the heartbeat to declare it dead)")
                told = True
            # Back off: a slot held by a live worker frees within a trial; one held by a
            # dead worker needs the heartbeat's grace period.
            time.sleep(min(_POLL_S[1], _POLL_S[0] * 2 ** min(polls, 4)))
            polls += 1
        else:
            polls = 0
            waited_since, told = None, False

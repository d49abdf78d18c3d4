"""One process per SQLite study: an exclusive lock beside the database.

SQLite serves one writer at a time on one host; two processes running one study would
declare each other's running trial dead and break the study's reproducibility. The lock
is ``<db>.<study>.lock`` beside the database file (not in the study directory, which
another run may name differently), taken with ``flock``: the kernel releases it when
the process ends, however it ends. Several processes on one study are PostgreSQL's job.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import sqlalchemy

from tuner.errors import InputError, StorageFailed
from tuner.session.storage import StorageSpec, connection_advice, sqlite_directory

__all__ = ["StudyLock", "outputs_lock", "setup_lock"]


@contextlib.contextmanager
def setup_lock(spec: StorageSpec, study: str) -> Iterator[None]:
    """Serializes the opening of one server database's study (Optuna's schema creation,
    the study's creation, its settings and markers): workers started in the same second
    on a fresh PostgreSQL database would otherwise race in ``CREATE TABLE`` (duplicate
    ``pg_type`` rows) and in the first writes. A session advisory lock, released with
    its connection if the worker dies; nothing for SQLite (one process per study)."""
    with _advisory_lock(spec, b"tuner:setup", lost=False):
        yield


@contextlib.contextmanager
def outputs_lock(spec: StorageSpec, study: str) -> Iterator[None]:
    """Serializes the writing of one server study's outputs (``trials.jsonl``, the
    plots, the root evidence pack): hosts that finish together write the same files of
    a shared study directory, and two root packs written at once fail (their temporary
    files collide) or cover each other's half-written files. Nothing for SQLite."""
    with _advisory_lock(spec, b"tuner:outputs:" + study.encode("utf-8"), lost=True):
        yield


@contextlib.contextmanager
def _advisory_lock(spec: StorageSpec, name: bytes, *, lost: bool) -> Iterator[None]:
    """A PostgreSQL session advisory lock named by ``name`` (held while the block runs,
    released with its connection if the process dies); nothing for SQLite. A server
    that cannot be reached is an :class:`InputError` when the command starts, a
    :class:`StorageFailed` (``lost``) when it goes away during the command."""
    if spec.kind != "postgresql":
        yield
        return
    key = int.from_bytes(hashlib.sha256(name).digest()[:8], "big", signed=True)
    engine = sqlalchemy.create_engine(spec.url, poolclass=sqlalchemy.pool.NullPool,
                                      connect_args={"connect_timeout": 10})
    try:
        try:
            conn = engine.connect()
            conn.execute(sqlalchemy.text("SELECT pg_advisory_lock(:k)"), {"k": key})
        except sqlalchemy.exc.DBAPIError as exc:
            reason = " ".join(str(exc.orig).split())
            if spec.url.password:
                reason = reason.replace(spec.url.password, "***")
            if lost:
                raise StorageFailed(f"the database server could not be reached ({reason[:300]}); "
                                    f"{connection_advice()}") from None
            raise InputError(f"--storage {spec.redacted}: cannot open the database ({reason[:300]}); "
                             f"{connection_advice()}") from None
        try:
            yield
        finally:
            with contextlib.suppress(sqlalchemy.exc.DBAPIError):
                conn.execute(sqlalchemy.text("SELECT pg_advisory_unlock(:k)"), {"k": key})
            conn.close()
    finally:
        engine.dispose()


class StudyLock:
    """The lock of one SQLite study (nothing for a server database)."""

    def __init__(self, spec: StorageSpec, study: str) -> None:
        path = spec.sqlite_path
        self.path: Path | None = None if path is None else path.with_name(f"{path.name}.{study}.lock")
        self._spec = spec
        self._study = study
        self._fh: TextIO | None = None

    def acquire(self) -> None:
        """Takes the lock, or raises InputError naming the process that holds it."""
        if self.path is None:
            return
        sqlite_directory(self._spec)
        try:
            fh = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115  (held until release())
        except OSError as exc:
            raise InputError(f"--storage {self._spec.redacted}: cannot create the study's lock {self.path} "
                             f"({exc.strerror}); the database's directory must be writable") from None
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = " ".join(fh.read().split())[:200] or "another process"
            fh.close()
            raise InputError(
                f"--storage {self._spec.redacted}: study {self._study} is being run by another process ({holder}); "
                "one process per SQLite study: wait for it to finish or stop it (several workers need PostgreSQL)"
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()} on {socket.gethostname()} since "
                 f"{dt.datetime.now(dt.UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}\n")
        fh.flush()
        self._fh = fh

    def release(self) -> None:
        if self._fh is not None:
            fcntl.flock(self._fh, fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None

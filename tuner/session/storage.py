"""Study storage: URLs, passwords, and the one place an Optuna storage is created.

SQLite (the default, one file per study under ``studies/``) runs in WAL mode with
``synchronous=NORMAL``: a killed process loses no committed transaction; only a power
loss or an OS crash can drop the last ones (the database stays consistent). PostgreSQL
(``postgresql+psycopg://``) serves several worker hosts; its engine pre-pings pooled
connections (servers drop idle ones) and keeps the pool small, since every worker
process holds its own.

Passwords never leave this module in clear: every URL printed, logged or stored goes
through :func:`redact`. A password can come from the URL, from ``TUNER_DB_PASSWORD``
or from the file named by ``TUNER_DB_PASSWORD_FILE``, so it need not appear on a
command line.
"""

from __future__ import annotations

import json
import os
import sqlite3
import tempfile
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
import sqlalchemy
import sqlalchemy.dialects.postgresql
import sqlalchemy.dialects.sqlite
from optuna.trial import FrozenTrial
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from tuner.errors import InputError

__all__ = [
    "GRACE_PERIOD_S",
    "HEARTBEAT_INTERVAL_S",
    "StorageSpec",
    "connection_advice",
    "default_storage_url",
    "failure_advice",
    "make_storage",
    "parse_storage",
    "redact",
    "sqlite_directory",
    "storage_failure",
    "write_trial_attrs",
]

#: Seconds between heartbeats of a running trial, and the silence after which another
#: worker declares it dead. Generous on purpose: a too-short grace period marks live
#: trials failed (optuna issues #5470, #4234). ``TUNER_HEARTBEAT_INTERVAL`` and
#: ``TUNER_HEARTBEAT_GRACE`` override them (the tests shorten them).
_HEARTBEAT_ENV = {"TUNER_HEARTBEAT_INTERVAL": 10, "TUNER_HEARTBEAT_GRACE": 60}


def _env_seconds(name: str) -> int:
    """The variable's value, or its default when unset or not a whole number >= 1 (a bad
    value is reported by :func:`make_storage`, not at import, where it would be a traceback)."""
    text = os.environ.get(name, "")
    return int(text) if text.strip().isdigit() and int(text) >= 1 else _HEARTBEAT_ENV[name]


def _check_heartbeat_env() -> None:
    for name in _HEARTBEAT_ENV:
        text = os.environ.get(name)
        if text is not None and not (text.strip().isdigit() and int(text) >= 1):
            raise InputError(f"{name}={text!r}: expected a whole number of seconds, at least 1")


HEARTBEAT_INTERVAL_S = _env_seconds("TUNER_HEARTBEAT_INTERVAL")
GRACE_PERIOD_S = _env_seconds("TUNER_HEARTBEAT_GRACE")

PASSWORD_ENV = "TUNER_DB_PASSWORD"
PASSWORD_FILE_ENV = "TUNER_DB_PASSWORD_FILE"

_SUPPORTED = ("sqlite", "postgresql+psycopg", "postgresql")


@dataclass(frozen=True)
class StorageSpec:
    """A validated storage URL (password included) and its redacted form. ``default``:
    the URL was not given (``sqlite:///studies/<study>.db``, whose directory is created)."""

    url: URL
    default: bool = False

    @property
    def kind(self) -> str:
        return "sqlite" if self.url.get_backend_name() == "sqlite" else "postgresql"

    @property
    def redacted(self) -> str:
        return self.url.render_as_string(hide_password=True)

    @property
    def sqlite_path(self) -> Path | None:
        if self.kind != "sqlite" or not self.url.database or self.url.database == ":memory:":
            return None
        return Path(self.url.database)


def default_storage_url(study: str) -> str:
    return f"sqlite:///studies/{study}.db"


def redact(url: str) -> str:
    """The URL with any password replaced by ``***`` (unparseable text is hidden whole
    after the scheme, in case it holds a password)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        scheme = url.split("://", 1)[0] if "://" in url else "?"
        return f"{scheme}://***"


def _password_from_env() -> str | None:
    path = os.environ.get(PASSWORD_FILE_ENV)
    if path:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise InputError(f"{PASSWORD_FILE_ENV}={path}: cannot read the password file ({exc.strerror})") from exc
        return text.rstrip("\r\n")
    return os.environ.get(PASSWORD_ENV)


def parse_storage(url: str) -> StorageSpec:
    """Validates a storage URL; raises InputError naming the (redacted) URL."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as exc:
        raise InputError(
            f"--storage {redact(url)}: not a database URL; expected sqlite:///PATH or "
            "postgresql+psycopg://USER@HOST[:PORT]/DB"
        ) from exc
    if parsed.drivername not in _SUPPORTED:
        raise InputError(
            f"--storage {redact(url)}: unsupported database {parsed.drivername!r}; "
            "expected sqlite:///PATH or postgresql+psycopg://USER@HOST[:PORT]/DB"
        )
    if parsed.drivername == "postgresql":
        # SQLAlchemy 2.1 maps bare postgresql:// to psycopg 3 as well; say so explicitly.
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            raise InputError(f"--storage {url}: an in-memory database cannot hold a study; give sqlite:///PATH")
    else:
        if not parsed.host or not parsed.database:
            raise InputError(f"--storage {redact(url)}: give a host and a database: postgresql+psycopg://USER@HOST[:PORT]/DB")
        if parsed.password is None:
            password = _password_from_env()
            if password:
                parsed = parsed.set(password=password)
    return StorageSpec(parsed)


def _optuna_tables() -> frozenset[str]:
    """The tables of Optuna's schema (from the installed Optuna's own models)."""
    from optuna.storages._rdb import models  # noqa: PLC0415  (private module, read once)

    return frozenset(models.BaseModel.metadata.tables) | {"alembic_version"}


def _unwritable(path: Path) -> str | None:
    """Why SQLite could not write ``path`` (a read-only file, or a directory where its
    journal files cannot be created), found by trying; None when both are writable."""
    parent = path.parent if str(path.parent) else Path(".")
    if path.exists():
        try:
            os.close(os.open(path, os.O_RDWR))
        except OSError as exc:
            return (f"the database file is read-only ({exc.strerror}); make it writable (chmod u+w, or chattr -i) "
                    "and rerun; the study in it is intact")
    try:
        fd, probe = tempfile.mkstemp(prefix=".tuner-probe-", dir=parent)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        return (f"its directory {parent} is not writable ({exc.strerror}): SQLite creates its journal files "
                f"({path.name}-wal, {path.name}-shm) and the study's lock there; make the directory writable "
                "and rerun; the database itself is intact")
    return None


def sqlite_directory(spec: StorageSpec) -> Path:
    """The directory of a SQLite database, which must exist: a mistyped ``--storage`` must
    not create directories (and a study there). Only the default storage's
    ``studies/`` is created."""
    path = spec.sqlite_path
    assert path is not None
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        if not spec.default:
            raise InputError(f"--storage sqlite:///{path}: the directory {parent} does not exist (a typo?); "
                             "create it first if it is meant")
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"--storage sqlite:///{path}: cannot create {parent} ({exc.strerror})") from exc
    return parent


def _sqlite_prepare(spec: StorageSpec, *, create: bool, write: bool) -> None:
    path = spec.sqlite_path
    assert path is not None
    if not create and not path.exists():
        raise InputError(f"--storage sqlite:///{path}: no such database file")
    if path.exists() and path.is_dir():
        raise InputError(f"--storage sqlite:///{path}: is a directory")
    if create:
        sqlite_directory(spec)
    if create or write:
        why = _unwritable(path)
        if why:
            raise InputError(f"--storage sqlite:///{path}: {why}")
    existed = path.exists()
    try:
        con = sqlite3.connect(str(path), timeout=60)
        try:
            tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            foreign = sorted(t for t in tables if t not in _optuna_tables() and not t.startswith("sqlite_"))
            if foreign:
                shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
                raise InputError(f"--storage sqlite:///{path}: holds tables that are not Optuna's ({shown}): another "
                                 "application's database; refused, nothing was added to it; give a file of its own")
            # WAL persists in the file; set it before SQLAlchemy opens a pool.
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA schema_version").fetchone()
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        why = _unwritable(path) if existed else None
        if why:
            raise InputError(f"--storage sqlite:///{path}: {why}") from None
        raise InputError(f"--storage sqlite:///{path}: not a usable SQLite database ({exc})") from None


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=60000")
    cur.close()


StaleCallback = Callable[[optuna.Study, FrozenTrial], None]


def make_storage(
    spec: StorageSpec, *, create: bool = True, stale_trial_callback: StaleCallback | None = None
) -> optuna.storages.RDBStorage:
    """The Optuna RDB storage for ``spec``. Workers pass ``stale_trial_callback`` (what to
    do with a trial whose heartbeat stopped) to get heartbeats; readers do not.

    Raises InputError when the database cannot be reached or is not an Optuna database.
    """
    _check_heartbeat_env()
    engine_kwargs: dict[str, Any]
    if spec.kind == "sqlite":
        # A worker writes: a read-only file or directory is said before any trial runs.
        _sqlite_prepare(spec, create=create, write=stale_trial_callback is not None)
        engine_kwargs = {"connect_args": {"timeout": 60}}
    else:
        engine_kwargs = {
            "pool_pre_ping": True,
            "pool_size": 2,
            "max_overflow": 2,
            "pool_recycle": 1800,
            "connect_args": {"connect_timeout": 10},
        }
    kwargs: dict[str, Any] = {"engine_kwargs": engine_kwargs}
    if stale_trial_callback is not None:
        kwargs.update(
            heartbeat_interval=HEARTBEAT_INTERVAL_S,
            grace_period=GRACE_PERIOD_S,
            heartbeat_stale_trial_callback=stale_trial_callback,
        )
    try:
        with warnings.catch_warnings():
            # heartbeat_interval is flagged experimental.
            warnings.simplefilter("ignore")
            storage = optuna.storages.RDBStorage(spec.url.render_as_string(hide_password=False), **kwargs)
    except (sqlalchemy.exc.OperationalError, sqlalchemy.exc.DatabaseError, sqlalchemy.exc.InterfaceError) as exc:
        reason = " ".join(str(getattr(exc, "orig", exc) or exc).split())
        if spec.url.password:
            reason = reason.replace(spec.url.password, "***")
        advice = f"; {connection_advice()}" if spec.kind == "postgresql" else ""
        raise InputError(f"--storage {spec.redacted}: cannot open the database ({reason[:300]}){advice}") from None
    except (RuntimeError, ValueError) as exc:
        # Optuna raises these for a foreign or newer schema.
        raise InputError(f"--storage {spec.redacted}: not an Optuna database this version can use ({exc})") from None
    if spec.kind == "sqlite":
        sqlalchemy.event.listen(storage.engine, "connect", _on_sqlite_connect)
        storage.engine.dispose()
    return storage


_CONNECTION_WORDS = ("connection refused", "could not connect", "server closed the connection", "connection timeout",
                     "timeout expired", "terminating connection", "could not translate host name",
                     "connection is closed", "consuming input failed", "no route to host", "connection reset",
                     "the connection is lost", "server conn crashed", "ssl syscall error")


def connection_advice() -> str:
    return ("check that the database server is running and reachable from this host (host, port, firewall) "
            "and that the user and password are right")


def failure_advice(spec: StorageSpec, why: str) -> str:
    """The advice for a database error: a lost or refused server connection is not a
    full disk."""
    if spec.kind == "postgresql" and any(w in why.lower() for w in _CONNECTION_WORDS):
        return "The database server could not be reached: " + connection_advice() + "; once it is back"
    if "read-only" in why.lower() or "readonly" in why.lower():
        return "The database is read-only: make it (and its directory) writable"
    return "Free space or fix permissions"


def storage_failure(exc: BaseException) -> str | None:
    """The database error behind ``exc`` (its cause or context chain), if there is one, on
    one line: Optuna may raise a refused write wrapped (even as an AssertionError)."""
    seen: BaseException | None = exc
    for _ in range(10):
        if seen is None:
            return None
        if isinstance(seen, sqlalchemy.exc.DBAPIError):
            return " ".join(str(seen.orig).split())[:200]
        seen = seen.__cause__ or seen.__context__
    return None


def write_trial_attrs(trial: optuna.Trial, user: Mapping[str, Any], system: Mapping[str, Any] | None = None) -> None:
    """Stores a running trial's user and system attributes in one storage transaction
    on an RDB storage (SQLite, PostgreSQL): one commit, one round trip of writes, instead
    of one transaction per key (Optuna's ``set_user_attr``). Other storages get one call
    per key. The trial's in-process copy is updated as ``set_user_attr`` would.

    On SQLite and PostgreSQL it runs, inside one of Optuna's scoped sessions, the check
    Optuna makes (the trial exists and is still running) and the upsert
    ``set_trial_user_attr`` runs per key (``RDBStorage._set_trial_attr_without_commit``)
    as one multi-row statement per table; other databases get Optuna's statement per
    key. tests/test_storage.py checks on the installed Optuna that the rows read back are
    those the public calls write, so an Optuna that changes its schema fails there."""
    system = dict(system or {})
    storage = trial.storage
    backend = getattr(storage, "_backend", storage)
    tid = trial._trial_id
    if isinstance(backend, optuna.storages.RDBStorage):
        from optuna.storages._rdb import models  # noqa: PLC0415
        from optuna.storages._rdb.storage import _create_scoped_session  # noqa: PLC0415

        with _create_scoped_session(backend.scoped_session) as session:
            row = models.TrialModel.find_or_raise_by_id(tid, session)
            backend.check_trial_is_updatable(tid, row.state)
            for model, attrs in ((models.TrialUserAttributeModel, user), (models.TrialSystemAttributeModel, system)):
                if not attrs:
                    continue
                dialect = {"sqlite": sqlalchemy.dialects.sqlite, "postgresql": sqlalchemy.dialects.postgresql}.get(
                    backend.engine.name)
                if dialect is None or (backend.engine.name == "sqlite" and sqlite3.sqlite_version_info < (3, 24, 0)):
                    for key, value in attrs.items():
                        backend._set_trial_attr_without_commit(session, model, tid, key, value)
                    continue
                # One multi-row upsert per table: the statement Optuna runs per key, for every key.
                insert = dialect.insert(model).values(
                    [{"trial_id": tid, "key": key, "value_json": json.dumps(value)} for key, value in attrs.items()])
                session.execute(insert.on_conflict_do_update(
                    index_elements=[model.trial_id, model.key], set_={"value_json": insert.excluded.value_json}))
    else:
        for key, value in user.items():
            storage.set_trial_user_attr(tid, key, value)
        for key, value in system.items():
            storage.set_trial_system_attr(tid, key, value)
    cached = trial._cached_frozen_trial
    cached.user_attrs.update(user)
    cached.system_attrs.update(system)

"""Which study a study directory belongs to, and which directories may hold a study.

A study directory belongs to one (storage, study) pair: the first run writes
``<study dir>/.tuner-study.json`` (the storage URL without its password, the study name
and Optuna's study id), and every later run or promotion whose storage or study differs
is refused with one line naming both, before anything is written. A directory that
would mix a study's evidence with other files (the filesystem root, the current or the
repository directory or one of their parents, ``configs/``, a directory inside another
study's tree or holding the study's own database) is refused too.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from tuner.config.paths import REPO_ROOT
from tuner.errors import InputError
from tuner.session.storage import StorageSpec

__all__ = ["MARKER", "check_owner", "check_study_dir", "claim", "holds_study_files", "read_marker", "storage_identity"]

MARKER = ".tuner-study.json"
#: Files that show a directory holds a study's outputs even without a marker (studies
#: made before the marker existed).
_STUDY_FILES = ("trials.jsonl", ".workers.lock", "pareto.json")


def storage_identity(spec: StorageSpec) -> str:
    """The storage as a marker records it: SQLite by its absolute path, a server URL
    without its password (a password never reaches a file)."""
    path = spec.sqlite_path
    if path is not None:
        return f"sqlite:///{path.resolve()}"
    # URL.set(password=None) keeps the password (None means 'unchanged'); replace it.
    return spec.url._replace(password=None).render_as_string(hide_password=False)


def read_marker(directory: Path) -> dict[str, Any] | None:
    """The marker of ``directory``, or None when it has none. An unreadable or altered
    marker is refused (the directory's owner cannot be told)."""
    path = directory / MARKER
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        return None
    except OSError as exc:
        raise InputError(f"{path}: cannot read the study directory's ownership marker ({exc.strerror})") from None
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if not isinstance(data, dict) or not isinstance(data.get("study"), str) or not isinstance(data.get("storage"), str):
        raise InputError(f"{path}: not a study ownership marker (expected JSON with 'storage' and 'study'); "
                         "move it away only if this directory holds no other study's files")
    return data


def _describe(marker: dict[str, Any]) -> str:
    sid = marker.get("study_id")
    return f"study {marker['study']} in {marker['storage']}" + (f" (Optuna study id {sid})" if sid is not None else "")


def check_owner(directory: Path, spec: StorageSpec, name: str, study_id: int | None = None, *,
                flag: str = "--study-dir") -> dict[str, Any] | None:
    """Refuses (InputError, one line naming both) when ``directory`` belongs to another
    storage or study; returns its marker (None when it has none)."""
    marker = read_marker(directory)
    if marker is None:
        return None
    mine = {"storage": storage_identity(spec), "study": name, "study_id": study_id}
    same = _same_storage(marker["storage"], storage_identity(spec)) and marker["study"] == name
    if same and study_id is not None and marker.get("study_id") not in (None, study_id):
        same = False
    if not same:
        raise InputError(
            f"{flag} {directory}: belongs to {_describe(marker)}, not to {_describe(mine)}; "
            f"choose another {flag} (each study keeps its own directory)"
        )
    return marker


def _same_storage(recorded: str, current: str) -> bool:
    """Whether a marker's storage is the current one. A server is known by its database,
    not by the address in the URL: hosts of one study reach the server under different
    names (a DNS name, an IP address, a tunnel or a pooler on another port), and the
    study id that :func:`check_owner` compares as well tells studies of one database apart."""
    if recorded == current:
        return True
    try:
        a, b = make_url(recorded), make_url(current)
    except ArgumentError:
        return False
    if a.get_backend_name() == "sqlite" or b.get_backend_name() == "sqlite":
        return False
    return a.get_backend_name() == b.get_backend_name() and a.database == b.database


def claim(directory: Path, spec: StorageSpec, name: str, study_id: int) -> None:
    """Writes the marker if the directory has none (atomically: a concurrent worker of
    the same study either writes it or finds it), then checks it names this study."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / MARKER
    if not path.exists():
        text = json.dumps({"storage": storage_identity(spec), "study": name, "study_id": study_id},
                          sort_keys=True, indent=2) + "\n"
        tmp = directory / f".{MARKER}.{os.getpid()}.tmp"
        try:
            tmp.write_text(text, encoding="utf-8")
            with contextlib.suppress(FileExistsError):
                os.link(tmp, path)  # fails if another worker wrote it first
        finally:
            tmp.unlink(missing_ok=True)
    check_owner(directory, spec, name, study_id)


def _is_within(path: Path, other: Path) -> bool:
    return path == other or other in path.parents


def check_study_dir(directory: Path, *, flag: str, spec: StorageSpec | None = None,
                    may_create_parent: bool = True) -> None:
    """Refuses a directory that cannot safely hold a study's files. ``directory`` is
    absolute. ``may_create_parent`` False: its parent must exist (a mistyped path is not
    created)."""
    d = directory
    cwd = Path.cwd().resolve()
    if d == Path(d.anchor):
        raise InputError(f"{flag} {d}: the filesystem root cannot hold a study; give a directory of its own")
    if _is_within(cwd, d):
        raise InputError(f"{flag} {d}: is the current directory or one of its parents; give a directory of its own "
                         "(default studies/<study>)")
    if _is_within(REPO_ROOT, d):
        raise InputError(f"{flag} {d}: is the repository directory or one of its parents; give a directory of its "
                         "own (default studies/<study>)")
    if _is_within(d, REPO_ROOT / "configs"):
        raise InputError(f"{flag} {d}: is inside configs/ (the shipped configuration and presets); give a directory "
                         "of its own (default studies/<study>)")
    for parent in d.parents:
        try:
            owner = read_marker(parent)
        except InputError:
            owner = {"study": "?", "storage": "?"}
        if owner is not None or any((parent / f).is_file() for f in _STUDY_FILES):
            whose = _describe(owner) if owner is not None else "a study"
            raise InputError(f"{flag} {d}: is inside {parent}, the directory of {whose}; give a directory outside "
                             "every other study's tree")
    if spec is not None and spec.sqlite_path is not None and _is_within(spec.sqlite_path.resolve(), d):
        raise InputError(f"{flag} {d}: holds the study database {spec.sqlite_path}; its files would enter the "
                         "study's evidence; give a directory of its own (default studies/<study>)")
    if d.is_dir():
        with contextlib.suppress(OSError):
            for child in d.iterdir():
                if child.is_dir() and (child / MARKER).is_file():
                    raise InputError(f"{flag} {d}: holds the directory of another study ({child}); give a directory "
                                     "of its own")
    elif d.exists():
        raise InputError(f"{flag} {d}: not a directory")
    elif not may_create_parent and not d.parent.is_dir():
        raise InputError(f"{flag} {d}: its parent directory {d.parent} does not exist (a typo?); create it, or pass "
                         "--create-dirs to have it created")


def holds_study_files(directory: Path) -> bool:
    """Whether ``directory`` holds a study's outputs (with or without a marker)."""
    return (directory / MARKER).is_file() or any((directory / f).is_file() for f in _STUDY_FILES) or \
        (directory / "trials").is_dir()

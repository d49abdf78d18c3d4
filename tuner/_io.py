"""File helpers every writer uses: atomic whole-file writes, JSON without NaN, digests.

Every file the product writes for a reader (study outputs, presets, records) goes
through :func:`write_atomic`, so a reader never sees half a file and a killed writer
leaves the previous version in place.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["current_umask", "dumps_json", "json_safe", "sha256_file", "sha256_text", "write_atomic"]


def current_umask() -> int:
    """The process's file-mode creation mask (read without changing it where Linux allows)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # elsewhere: set and restore (not thread-safe, so the fallback only)
    os.umask(mask)
    return mask


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same directory and a
    rename; the parent directory is created when missing. The file gets the mode any
    new file of the user gets (0666 less the umask), as ``open()`` would give it, not
    the 0600 of a temporary file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~current_umask())
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def json_safe(value: Any) -> Any:
    """``value`` with non-finite floats as None (JSON has no NaN) and keys as strings."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def dumps_json(value: Any, *, indent: int | None = 2, sort_keys: bool = False) -> str:
    """``value`` as strict JSON (NaN and infinities as null) with a trailing newline."""
    return json.dumps(json_safe(value), indent=indent, sort_keys=sort_keys, allow_nan=False) + "\n"


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 16), b""):
            h.update(block)
    return h.hexdigest()


def sha256_text(text: str) -> str:
    """Hex SHA-256 of ``text`` encoded as UTF-8."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()

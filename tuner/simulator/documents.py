"""The simulator's documents as they lie on disk: plain, or gzip-compressed beside the
plain name (``mc_summary.json`` or ``mc_summary.json.gz``, as ``sim_eval trial`` writes
them in its compact layouts). A document's bytes and digest are those of the
uncompressed document whichever way it is stored, so a trial made compact and a re-run
made by the separate commands are compared byte for byte."""

from __future__ import annotations

import gzip
import hashlib
import json
import zlib
from pathlib import Path
from typing import Any

__all__ = ["GZ", "digest", "exists", "locate", "read_bytes", "read_json", "read_jsonl", "read_text"]

GZ = ".gz"


def locate(path: Path) -> Path:
    """``path`` when it exists, else ``path.gz`` when that does, else ``path`` (so the
    caller's error names the plain file)."""
    if path.exists():
        return path
    packed = path.with_name(path.name + GZ)
    return packed if packed.exists() else path


def exists(path: Path) -> bool:
    """Whether the document is stored, plain or compressed."""
    return locate(path).is_file()


def read_bytes(path: Path) -> bytes:
    """The document's uncompressed bytes. Raises ``OSError`` (``FileNotFoundError`` when
    neither form exists) or ``ValueError`` for a damaged gzip stream."""
    found = locate(path)
    data = found.read_bytes()
    if found.name.endswith(GZ):
        try:
            return gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise ValueError(f"{found}: not a complete gzip stream ({exc})") from None
    return data


def read_text(path: Path) -> str:
    return read_bytes(path).decode("utf-8")


def read_json(path: Path) -> Any:
    return json.loads(read_bytes(path))


def read_jsonl(path: Path) -> list[Any]:
    return [json.loads(line) for line in read_bytes(path).splitlines() if line.strip()]


def digest(path: Path) -> str:
    """SHA-256 (hex) of the document's uncompressed bytes."""
    return hashlib.sha256(read_bytes(path)).hexdigest()

"""What made the evidence: the repository's commit, whether its tracked files differ
from it (with the sha256 of ``git diff HEAD`` when they do) and the sha256 of both
simulator binaries.

Captured once per process (:func:`provenance`), when a study starts, and stored in
every trial it runs (``Attr.PROVENANCE``), so that a promotion record carries the
state the evidence was made in, not the state at promote time. :func:`binary_digests`
is also what ``tuner.reproduce`` compares with the recorded digests.
"""

from __future__ import annotations

import functools
import hashlib
import subprocess
from typing import Any

from tuner._io import sha256_file
from tuner.config.paths import REPO_ROOT
from tuner.simulator.build import BINARIES, binary

__all__ = ["binary_digests", "git_state", "provenance"]


def _git(*args: str) -> subprocess.CompletedProcess[bytes] | None:
    try:
        return subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None


def git_state() -> dict[str, Any]:
    """``git_commit`` (None outside a repository), ``git_dirty`` (tracked files differ
    from the commit) and ``git_diff_sha256`` (sha256 of ``git diff HEAD`` when dirty)."""
    head = _git("rev-parse", "HEAD")
    if head is None or head.returncode != 0:
        return {"git_commit": None, "git_dirty": None, "git_diff_sha256": None}
    status = _git("status", "--porcelain", "--untracked-files=no")
    dirty = None if status is None or status.returncode != 0 else bool(status.stdout.strip())
    diff_sha = None
    if dirty:
        diff = _git("diff", "HEAD", "--no-color", "--no-ext-diff")
        diff_sha = hashlib.sha256(diff.stdout).hexdigest() if diff is not None and diff.returncode == 0 else None
    return {"git_commit": head.stdout.decode().strip(), "git_dirty": dirty, "git_diff_sha256": diff_sha}


def binary_digests() -> dict[str, str | None]:
    """sha256 of each simulator binary now (None when it is missing)."""
    out: dict[str, str | None] = {}
    for name in BINARIES:
        try:
            out[name] = sha256_file(binary(name))
        except OSError:
            out[name] = None
    return out


@functools.lru_cache(maxsize=1)
def provenance() -> dict[str, Any]:
    """:func:`git_state` and :func:`binary_digests`, computed once per process (a study
    builds its binaries before its first trial and does not rebuild them)."""
    return {**git_state(), "binaries_sha256": binary_digests()}

"""The simulator binaries: where they are, and building them when they are missing or
were built from other Rust sources (a recorded digest of the sources' content, never
modification times)."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tuner.config.paths import REPO_ROOT, bin_dir
from tuner.errors import InputError

__all__ = ["BINARIES", "DIGEST_FILE", "binary", "ensure_binaries", "source_digest"]

BINARIES = ("monte_carlo", "sim_eval")
#: Beside the binaries: the :func:`source_digest` of the sources they were built from.
DIGEST_FILE = ".tuner-source-digest"


def binary(name: str) -> Path:
    """Path of the binary ``name`` (one of :data:`BINARIES`)."""
    return bin_dir() / name


def source_digest() -> str:
    """sha256 over the Rust sources that make the binaries (every ``.rs`` and ``.toml``
    under ``crates/``, ``Cargo.toml``, ``Cargo.lock``): their paths and bytes, never their
    modification times (a fresh clone has new ones, and the same sources)."""
    h = hashlib.sha256()
    files = sorted(p for p in (REPO_ROOT / "crates").rglob("*") if p.is_file() and p.suffix in {".rs", ".toml"}
                   and "target" not in p.relative_to(REPO_ROOT).parts)
    files += [REPO_ROOT / n for n in ("Cargo.toml", "Cargo.lock") if (REPO_ROOT / n).is_file()]
    for path in files:
        data = path.read_bytes()
        h.update(f"{path.relative_to(REPO_ROOT).as_posix()}\0{len(data)}\0".encode())
        h.update(data)
    return h.hexdigest()


def _recorded_digest(directory: Path) -> str | None:
    try:
        return (directory / DIGEST_FILE).read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


def _shared_target() -> str | None:
    """Where ``target/`` really is, when it is a symlink (shared with another checkout)."""
    target = REPO_ROOT / "target"
    return str(target.resolve()) if target.is_symlink() else None


def ensure_binaries(*, quiet: bool = False) -> None:
    """Builds the release binaries when one is missing, or when the digest recorded beside
    them at their build differs from the sources' (:func:`source_digest`).

    With ``TUNER_BIN_DIR`` set, the binaries there are used as they are. Raises
    :class:`InputError` when a binary is missing and cannot be built.
    """
    directory = bin_dir()
    if os.environ.get("TUNER_BIN_DIR"):
        missing = [n for n in BINARIES if not (directory / n).is_file()]
        if missing:
            raise InputError(f"TUNER_BIN_DIR={directory}: missing {', '.join(missing)}")
        return
    paths = [directory / n for n in BINARIES]
    missing = [p.name for p in paths if not p.is_file()]
    stale = False
    digest = ""
    if not missing and (REPO_ROOT / "crates").is_dir():
        digest = source_digest()
        recorded = _recorded_digest(directory)
        stale = recorded != digest
    if not missing and not stale:
        return
    reason = (f"missing {', '.join(missing)}" if missing else
              "built from other Rust sources" if _recorded_digest(directory) else "without a record of their sources")
    cargo = shutil.which("cargo")
    if cargo is None or not (REPO_ROOT / "Cargo.toml").is_file():
        if missing:
            raise InputError(
                f"simulator binaries {reason} in {directory} and cargo is not available to build them; "
                "install Rust (https://rustup.rs) or run `cargo build --release` where it is"
            )
        print(f"warning: simulator binaries are {reason}, and cargo is not available: using them as they are",
              file=sys.stderr)
        return
    digest = digest or source_digest()  # the sources this build is made from
    shared = _shared_target()
    if shared:
        # Another checkout may use these binaries: say so, every time this rebuilds them.
        print(f"note: target/ is a symlink to {shared} (shared with another checkout?): the build there replaces "
              "the binaries that checkout uses", file=sys.stderr)
    if not quiet:
        print(f"building the simulator (cargo build --release): binaries {reason}", file=sys.stderr)
    proc = subprocess.run(
        [cargo, "build", "--release", "--quiet", "-p", "paraphina"],
        cwd=REPO_ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL if quiet else None,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
    )
    if proc.returncode != 0:
        tail = " ".join(proc.stderr.strip().splitlines()[-3:])
        raise InputError(f"cargo build --release failed (exit {proc.returncode}): {tail}")
    still_missing = [p.name for p in paths if not p.is_file()]
    if still_missing:
        raise InputError(f"cargo build --release did not produce {', '.join(still_missing)} in {directory}")
    # The record that the binaries are these sources' build (compared by content, not mtimes).
    (directory / DIGEST_FILE).write_text(digest + "\n", encoding="utf-8")

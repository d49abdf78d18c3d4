"""The simulator binaries: where they are, and building them when they are missing or
older than the Rust sources."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from tuner.config.paths import REPO_ROOT, bin_dir
from tuner.errors import InputError

__all__ = ["BINARIES", "binary", "ensure_binaries"]

BINARIES = ("monte_carlo", "sim_eval")


def binary(name: str) -> Path:
    """Path of the binary ``name`` (one of :data:`BINARIES`)."""
    return bin_dir() / name


def _newest_source_mtime() -> float:
    newest = 0.0
    for root in (REPO_ROOT / "crates",):
        for path in root.rglob("*"):
            if path.is_file() and (path.suffix in {".rs", ".toml"}):
                newest = max(newest, path.stat().st_mtime)
    for name in ("Cargo.toml", "Cargo.lock"):
        p = REPO_ROOT / name
        if p.exists():
            newest = max(newest, p.stat().st_mtime)
    return newest


def ensure_binaries(*, quiet: bool = False) -> None:
    """Builds the release binaries when one is missing or older than the Rust sources.

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
    if not missing and (REPO_ROOT / "crates").is_dir():
        oldest = min(p.stat().st_mtime for p in paths)
        stale = _newest_source_mtime() > oldest
    if not missing and not stale:
        return
    reason = f"missing {', '.join(missing)}" if missing else "older than the Rust sources"
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
    # cargo leaves an up-to-date binary's mtime alone; touch so the staleness check settles.
    now = time.time()
    for p in paths:
        os.utime(p, (now, now))

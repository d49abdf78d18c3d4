"""Running the simulator binaries: never through a shell, always with a timeout, with
the process environment cleaned of stray ``PARAPHINA_*`` variables so that only the
candidate's overlay reaches the simulation.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tuner.errors import InputError
from tuner.paths import REPO_ROOT, bin_dir

__all__ = ["BINARIES", "CommandResult", "binary", "ensure_binaries", "run_command", "clean_env"]

BINARIES = ("monte_carlo", "sim_eval")
_STDERR_TAIL = 2000


@dataclass(frozen=True)
class CommandResult:
    """What one command did: its argument list, exit status (None if it timed out),
    duration, and the tails of its output."""

    argv: tuple[str, ...]
    returncode: int | None
    seconds: float
    stdout: str
    stderr_tail: str
    timed_out: bool = False
    error: str | None = None
    env_overlay: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def describe(self) -> str:
        """One line for logs and user attributes: the command and how it ended."""
        cmd = " ".join(self.argv)
        if self.error:
            return f"{cmd}: {self.error}"
        if self.timed_out:
            return f"{cmd}: timed out after {self.seconds:.1f} s"
        return f"{cmd}: exit status {self.returncode}"


def binary(name: str) -> Path:
    return bin_dir() / name


def clean_env(overlay: Mapping[str, str] | None = None) -> dict[str, str]:
    """The current environment without any ``PARAPHINA_*`` variable, plus ``overlay``.

    A user who sourced a promoted preset in their shell must not have it silently
    applied to every candidate of a study.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARAPHINA_")}
    env.update(overlay or {})
    return env


def run_command(
    argv: Sequence[str | os.PathLike[str]],
    *,
    overlay: Mapping[str, str] | None = None,
    timeout: float,
    cwd: Path | None = None,
) -> CommandResult:
    """Runs ``argv`` (no shell) with the cleaned environment plus ``overlay``.

    On timeout the whole process group is killed, so a hung binary leaves nothing
    behind. Never raises for a failing command: the result says what happened.
    """
    args = tuple(str(a) for a in argv)
    started = time.monotonic()
    try:
        proc = subprocess.Popen(
            args,
            env=clean_env(overlay),
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            text=True,
            errors="replace",
        )
    except OSError as exc:
        return CommandResult(args, None, 0.0, "", "", error=f"cannot start: {exc.strerror or exc}",
                             env_overlay=dict(overlay or {}))
    try:
        out, err = proc.communicate(timeout=timeout)
        timed_out = False
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        out, err = proc.communicate()
        timed_out = True
    except BaseException:
        # Ctrl-C or SIGTERM while waiting: do not leave the child running.
        _kill_group(proc)
        proc.wait()
        raise
    seconds = time.monotonic() - started
    return CommandResult(
        args,
        None if timed_out else proc.returncode,
        seconds,
        out,
        err[-_STDERR_TAIL:],
        timed_out=timed_out,
        env_overlay=dict(overlay or {}),
    )


def _kill_group(proc: subprocess.Popen[str]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


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

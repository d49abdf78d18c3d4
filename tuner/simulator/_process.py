"""Running the simulator binaries: never through a shell, always with a timeout, with
the process environment cleaned of stray ``PARAPHINA_*`` variables so that only the
candidate's overlay reaches the simulation.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["ChildStopped", "CommandResult", "clean_env", "run_command"]

_STDERR_TAIL = 2000


class ChildStopped(KeyboardInterrupt):
    """An interruption (Ctrl-C, SIGTERM) that stopped the running simulator command and
    its process group; the message names it."""


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
    except KeyboardInterrupt:
        # Ctrl-C or SIGTERM while waiting: do not leave the child running, and say so.
        _kill_group(proc)
        proc.wait()
        raise ChildStopped(f"stopped {Path(args[0]).name} (pid {proc.pid}), which was running") from None
    except BaseException:
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
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)

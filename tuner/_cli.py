"""What every command-line entry point shares: one-line errors, exit codes, signals.

Exit status: 0 success, 1 the command ran but its check failed (e.g. a reproduction
that differs) or a file could not be read or written (disk full, read-only), 2 bad
input (the message names the problem; nothing stored changed), 130 interrupted (Ctrl-C
or SIGTERM).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import signal
import sys
import warnings
from collections.abc import Callable
from typing import Any, NoReturn, TextIO

import optuna

from tuner.errors import InputError

__all__ = [
    "STORAGE_HELP",
    "ArgumentParser",
    "add_study_arguments",
    "positive_int",
    "quiet_optuna",
    "run_main",
    "sigterm_as_interrupt",
    "strip_flag",
]

STORAGE_HELP = ("Optuna storage: sqlite:///PATH (default sqlite:///studies/<study>.db) or "
                "postgresql+psycopg://USER@HOST[:PORT]/DB (password from TUNER_DB_PASSWORD or "
                "TUNER_DB_PASSWORD_FILE)")


class ArgumentParser(argparse.ArgumentParser):
    """argparse with a one-line error (``<prog>: error: ...``) and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {' '.join(message.split())} (see --help)\n")


def add_study_arguments(parser: argparse.ArgumentParser, *, required: bool = True, purpose: str) -> None:
    """``--study NAME`` and ``--storage URL``, as every command takes them; ``purpose``
    says what the command does with the study (``"the study to open"``)."""
    default = "" if required else "; default 'phaseA', or 'smoke' with --smoke"
    parser.add_argument("--study", metavar="NAME", required=required,
                        help=f"{purpose} (a name of letters, digits, '_', '.' and '-'; its database defaults "
                             f"to studies/NAME.db{default})")
    parser.add_argument("--storage", metavar="URL", help=STORAGE_HELP)


def positive_int(name: str, least: int = 1) -> Any:
    """An argparse ``type`` for an integer flag of at least ``least`` (one-line errors)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise InputError(f"{name} {text!r}: not an integer") from None
        if value < least:
            raise InputError(f"{name} {text}: must be at least {least}")
        return value

    return parse


def strip_flag(argv: list[str], flag: str) -> list[str]:
    """``argv`` without ``flag`` and its value (``--flag V`` or ``--flag=V``)."""
    out: list[str] = []
    skip = False
    for a in argv:
        if skip:
            skip = False
            continue
        if a == flag:
            skip = True
            continue
        if a.startswith(flag + "="):
            continue
        out.append(a)
    return out


def sigterm_as_interrupt() -> None:
    """Makes SIGTERM behave like Ctrl-C, so a stopped worker leaves the storage
    consistent (Optuna has no SIGTERM handler: the trial would stay RUNNING)."""

    def _handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _handler)


def quiet_optuna() -> None:
    """Optuna's own per-trial log lines and experimental warnings are replaced by ours."""
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    warnings.filterwarnings("ignore", category=FutureWarning, module="optuna")
    # The importance plots negate maximized objectives themselves.
    warnings.filterwarnings("ignore", message="PedAnovaImportanceEvaluator computes")


class _SilencedOnClosedPipe(io.TextIOBase):
    """A text stream that, once its reader has gone (``| head``: EPIPE), discards what is
    written instead of raising: the command finishes its work (a study and its outputs,
    every tier of a promotion) and only stops printing."""

    def __init__(self, inner: TextIO) -> None:
        self._inner = inner
        self.closed_pipe = False

    def _gone(self) -> None:
        self.closed_pipe = True
        with contextlib.suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._inner.fileno())
            os.close(devnull)

    def write(self, text: str) -> int:
        if not self.closed_pipe:
            try:
                self._inner.write(text)
                if getattr(self._inner, "line_buffering", True):
                    self._inner.flush()
            except BrokenPipeError:
                self._gone()
        return len(text)

    def flush(self) -> None:
        if not self.closed_pipe:
            try:
                self._inner.flush()
            except BrokenPipeError:
                self._gone()

    def fileno(self) -> int:
        return self._inner.fileno()

    def isatty(self) -> bool:
        return self._inner.isatty()

    def writable(self) -> bool:
        return True

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self._inner.encoding


def silence_closed_pipes() -> None:
    """stdout and stderr keep working (silently) after their reader closed the pipe."""
    if not isinstance(sys.stdout, _SilencedOnClosedPipe):
        sys.stdout = _SilencedOnClosedPipe(sys.stdout)
    if not isinstance(sys.stderr, _SilencedOnClosedPipe):
        sys.stderr = _SilencedOnClosedPipe(sys.stderr)


def run_main(prog: str, main: Callable[[], int]) -> NoReturn:
    """Runs ``main`` and turns user mistakes into ``<prog>: error: ...`` with status 2.
    A closed output pipe never ends the work: printing stops, the work goes on."""
    silence_closed_pipes()
    try:
        code = main()
    except InputError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        code = 2
    except KeyboardInterrupt as exc:
        # What was stopped (a simulator child), if anything, is in the message.
        print(f"\n{prog}: interrupted" + (f"; {exc}" if str(exc) else "") + "; it stopped before finishing",
              file=sys.stderr)
        code = 130
    except BrokenPipeError:
        # A stream not covered above: never exit 0 with work left undone.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 1
    except OSError as exc:
        # A file or directory the program needs cannot be read or written (disk full,
        # read-only, permissions): the environment's fault, said in one line.
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"{prog}: error: {where}{exc.strerror or exc}", file=sys.stderr)
        code = 1
    sys.exit(code)

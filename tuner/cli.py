"""What every command-line entry point shares: one-line errors, exit codes, signals.

Exit status: 0 success, 1 the command ran but its check failed (e.g. a reproduction
that differs) or a file could not be read or written (disk full, read-only), 2 bad
input (the message names the problem; nothing stored changed), 130 interrupted (Ctrl-C
or SIGTERM).
"""

from __future__ import annotations

import argparse
import signal
import sys
import warnings
from collections.abc import Callable
from typing import NoReturn

import optuna

from tuner.errors import InputError

__all__ = ["ArgumentParser", "run_main", "sigterm_as_interrupt", "quiet_optuna"]


class ArgumentParser(argparse.ArgumentParser):
    """argparse with a one-line error (``<prog>: error: ...``) and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {' '.join(message.split())} (see --help)\n")


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


def run_main(prog: str, main: Callable[[], int]) -> NoReturn:
    """Runs ``main`` and turns user mistakes into ``<prog>: error: ...`` with status 2."""
    try:
        code = main()
    except InputError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        code = 2
    except KeyboardInterrupt:
        code = 130
    except BrokenPipeError:
        # Output piped into `head` and the like: stop quietly, as Unix tools do.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 0
    except OSError as exc:
        # A file or directory the program needs cannot be read or written (disk full,
        # read-only, permissions): the environment's fault, said in one line.
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"{prog}: error: {where}{exc.strerror or exc}", file=sys.stderr)
        code = 1
    sys.exit(code)

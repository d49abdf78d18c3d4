"""The per-trial progress line of a running study (on stderr), cut to the terminal's width."""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Sequence
from typing import TextIO

import optuna
from optuna.trial import FrozenTrial, TrialState

from tuner.names import MAXIMIZED, METRIC_NAMES
from tuner.record import TrialIndex, TrialView, is_feasible, is_repeat, study_trials

__all__ = ["FrontTracker", "Progress", "duration", "fit", "terminal_width"]


def duration(seconds: float) -> str:
    """``42 s``, ``7 min``, ``2 h 05 min``: how long, in the units people plan with."""
    if not math.isfinite(seconds) or seconds < 0:
        return "-"
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def terminal_width(stream: TextIO | None = None) -> int | None:
    """Columns of the terminal ``stream`` (default stderr) writes to (``COLUMNS`` wins,
    as in other tools); None when it is not a terminal (a log file keeps whole lines)."""
    try:
        columns = int(os.environ.get("COLUMNS", ""))
        if columns > 0:
            return columns
    except ValueError:
        pass
    try:
        return os.get_terminal_size((stream or sys.stderr).fileno()).columns
    except (OSError, ValueError):
        return None


def fit(line: str, width: int) -> str:
    """``line`` cut to ``width`` characters (an ellipsis marks the cut)."""
    return line if len(line) <= width else line[:max(width - 1, 0)] + "…"


_PNL = METRIC_NAMES.index("pnl_mean")


class FrontTracker:
    """The feasible Pareto front of a study (``front_members(study.best_trials)``),
    kept up to date from the trials finished since the last call (``index``, a
    :class:`~tuner.record.TrialIndex`, says which) instead of recomputed from every
    trial: ``study.best_trials`` deep-copies the whole study, which cost 0.3 s per
    progress line at 600 trials and grows with the study. A finished trial's values and
    constraints never change, so each is looked at once. Trials of other workers are
    included: it reads the storage."""

    def __init__(self) -> None:
        self.index = TrialIndex()
        self._front: list[tuple[tuple[float, ...], FrozenTrial]] = []

    def update(self, trials: Sequence[FrozenTrial]) -> list[FrozenTrial]:
        """The front after ``trials`` (the study's, as ``get_trials`` returns them)."""
        self.index.update(trials)
        if self.index.started_over:  # another study, or a storage that lost trials
            self._front = []
        for t in self.index.finished_now:
            if is_feasible(t) and t.values:
                self._add(t)
        # As front_members: repeats take part in dominance (as in best_trials), are not shown.
        return [t for _, t in sorted(self._front, key=lambda item: item[1].number) if not is_repeat(t)]

    def _add(self, t: FrozenTrial) -> None:
        loss = tuple(-v if up else v for v, up in zip(t.values, MAXIMIZED, strict=True))
        if any(_dominates(other, loss) for other, _ in self._front):
            return
        self._front = [(other, f) for other, f in self._front if not _dominates(loss, other)]
        self._front.append((loss, t))


def _dominates(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    """Whether loss vector ``a`` Pareto-dominates ``b`` (no worse anywhere, better somewhere)."""
    return all(x <= y for x, y in zip(a, b, strict=True)) and a != b


class Progress:
    """Per-trial progress line: trials done of N, elapsed, ETA, best feasible pnl, front
    size, and what the trial gave. On a terminal the line fits its width (``COLUMNS``
    wins): the counters come first, so a cut takes the trial's details."""

    def __init__(self, target: int, done_at_start: int, quiet: bool) -> None:
        self.target = target
        self.done_at_start = done_at_start
        self.quiet = quiet
        self.started = time.monotonic()
        self.front = FrontTracker()

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:
        if self.quiet:
            return
        print(self.line(study, trial, terminal_width()), file=sys.stderr, flush=True)

    def line(self, study: optuna.Study, trial: FrozenTrial, width: int | None) -> str:
        """The progress line after ``trial``, cut to ``width`` (None: not cut)."""
        front = self.front.update(study_trials(study))
        done = self.front.index.counted()
        elapsed = time.monotonic() - self.started
        ran = max(done - self.done_at_start, 1)
        eta = elapsed / ran * max(self.target - done, 0)
        best = max(t.values[_PNL] for t in front) if front else None
        head = (f"[{done}/{self.target}] {duration(elapsed)} elapsed, ETA {duration(eta)}, front {len(front)}, "
                f"best feasible pnl_mean " + ("-" if best is None else f"{best:,.2f}") + f" | #{trial.number} ")
        view = TrialView.of(trial)
        if trial.state == TrialState.COMPLETE and view.values:
            checks = view.failed_checks
            kind = ("feasible" if view.feasible
                    else f"infeasible ({checks if checks is not None else '?'} suite check"
                         f"{'' if checks == 1 else 's'} failed)")
            v = view.values
            what = (f"{kind}, pnl_mean {v['pnl_mean']:,.2f} kill_ucb {v['kill_ucb']:.4f} dd_cvar {v['dd_cvar']:,.1f} "
                    f"[{view.candidate_id or '?'}]")
        else:
            failure = view.failure or {}
            what = f"{trial.state.name} {failure.get('command') or failure.get('reason', '')}".strip()
        return head + what if width is None else fit(head + what, max(width, 20))

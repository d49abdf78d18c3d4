"""The per-trial progress line of a running study (on stderr)."""

from __future__ import annotations

import sys
import time

import optuna
from optuna.trial import FrozenTrial, TrialState

from tuner.record import CONSTRAINT_KEY, TrialView, counted_trials

__all__ = ["Progress"]


class Progress:
    """Per-trial progress line: trials done of N, elapsed, ETA, best feasible pnl, front size."""

    def __init__(self, target: int, done_at_start: int, quiet: bool) -> None:
        self.target = target
        self.done_at_start = done_at_start
        self.quiet = quiet
        self.started = time.monotonic()

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:
        if self.quiet:
            return
        trials = study.get_trials(deepcopy=False)
        done = len(counted_trials(trials))
        elapsed = time.monotonic() - self.started
        ran = max(done - self.done_at_start, 1)
        eta = elapsed / ran * max(self.target - done, 0)
        front = study.best_trials
        best = max((TrialView.of(t).values or {}).get("pnl_mean", float("-inf")) for t in front) if front else None
        view = TrialView.of(trial)
        if trial.state == TrialState.COMPLETE and view.values:
            kind = ("feasible" if view.feasible
                    else f"infeasible ({int(trial.constraints.get(CONSTRAINT_KEY, 0))} suite checks failed)")
            v = view.values
            what = (f"pnl_mean {v['pnl_mean']:.2f} kill_ucb {v['kill_ucb']:.4f} dd_cvar {v['dd_cvar']:.1f} "
                    f"[{view.candidate_id or '?'}] {kind}")
        else:
            failure = view.failure or {}
            reason = failure.get("command") or failure.get("reason", "")
            what = f"{trial.state.name} {reason}"[:200]
        print(
            f"[{done}/{self.target}] trial {trial.number}: {what} | {elapsed:.0f}s elapsed, ETA {eta:.0f}s, "
            f"front {len(front)}, best feasible pnl " + ("-" if best is None else f"{best:.2f}"),
            file=sys.stderr,
            flush=True,
        )

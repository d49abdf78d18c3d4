"""The progress line's incremental front (tuner.search.progress.FrontTracker) is exactly
``front_members(study.best_trials)`` at every step, on a study with infeasible, failed,
running, repeated and tied trials (values on a coarse grid, so ties and dominance by
equal coordinates are frequent)."""

from __future__ import annotations

import random

import optuna
from optuna.trial import TrialState

from tuner.names import DIRECTIONS
from tuner.record import CONSTRAINT_KEY, Attr, front_members
from tuner.search.progress import FrontTracker


def test_the_incremental_front_is_best_trials_feasible_front_at_every_step() -> None:
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    rng = random.Random(7)
    study = optuna.create_study(directions=list(DIRECTIONS))
    tracker = FrontTracker()
    running: list[optuna.Trial] = []
    for step in range(400):
        trial = study.ask()
        running.append(trial)
        # Finish trials out of order: some stay running for a while, as another worker's would.
        while running and (rng.random() < 0.6 or len(running) > 5):
            t = running.pop(rng.randrange(len(running)))
            kind = rng.random()
            if kind < 0.08:
                study.tell(t, state=TrialState.FAIL)
                continue
            if kind < 0.14:
                t.set_user_attr(Attr.REUSED_FROM, 0)  # a repeat: never on the front
            t.set_constraint(CONSTRAINT_KEY, 0.0 if rng.random() < 0.7 else float(rng.randint(1, 3)))
            x = rng.randint(0, 8)  # more pnl_mean costs drawdown: a front of several members
            study.tell(t, [x * 10.0, rng.randint(0, 2) * 0.05, (x + rng.randint(0, 2)) * 100.0])
        got = [t.number for t in tracker.update(study.get_trials(deepcopy=False))]
        want = sorted(t.number for t in front_members(study.best_trials))
        assert got == want, f"step {step}"
    assert len(want) >= 3


def test_a_tracker_given_another_studys_shorter_list_starts_over() -> None:
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    big, small = (optuna.create_study(directions=list(DIRECTIONS)) for _ in range(2))
    for study, n in ((big, 30), (small, 3)):
        for i in range(n):
            t = study.ask()
            t.set_constraint(CONSTRAINT_KEY, 0.0)
            study.tell(t, [float(i), 0.1, 100.0])  # each one dominates the one before
    tracker = FrontTracker()
    assert [t.number for t in tracker.update(big.get_trials(deepcopy=False))] == [29]
    assert [t.number for t in tracker.update(small.get_trials(deepcopy=False))] == [2]

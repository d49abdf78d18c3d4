"""Interrupted trials and per-trial seeding, on in-memory studies with a cheap objective."""

from __future__ import annotations

import optuna
import pytest
from optuna.trial import TrialState

from tuner import record
from tuner.session import recovery
from tuner.names import DIRECTIONS
from tuner.session.sampler import make_sampler, trial_seed

optuna.logging.set_verbosity(optuna.logging.ERROR)


def objective(trial: optuna.Trial) -> tuple[float, float, float]:
    x = trial.suggest_float("x", 0, 1)
    y = trial.suggest_float("y", 0, 1)
    p = trial.suggest_categorical("p", ["a", "b", "c"])
    trial.set_constraint("c", 0.0 if x < 0.8 else 1.0)
    bonus = {"a": 0.0, "b": 0.1, "c": 0.2}[p]
    return x + bonus, y, (1 - x) * (1 - y)


def _study(sampler_name: str) -> optuna.Study:
    return optuna.create_study(directions=list(DIRECTIONS), sampler=make_sampler(sampler_name, seed=3, population=4))


def _values(study: optuna.Study) -> list[tuple[float, ...]]:
    return [tuple(t.values) for t in record.counted_trials(study.get_trials())]


@pytest.mark.parametrize("name", ["nsga2", "tpe", "random"])
def test_same_seed_same_trials(name: str) -> None:
    a, b = _study(name), _study(name)
    a.optimize(objective, n_trials=12)
    b.optimize(objective, n_trials=12)
    assert _values(a) == _values(b)


@pytest.mark.parametrize("name", ["nsga2", "random"])
def test_an_interrupted_trial_is_retried_and_later_trials_are_unchanged(name: str) -> None:
    ref = _study(name)
    ref.optimize(objective, n_trials=10)

    s = _study(name)
    s.optimize(objective, n_trials=5)
    # A worker dies in trial 5 after sampling: the trial stays RUNNING.
    dead = s.ask()
    objective(dead)
    # What Ctrl-C does: the objective flags the trial, Optuna stores it FAIL.
    s._storage.set_trial_user_attr(dead._trial_id, record.Attr.INTERRUPTED, True)
    s.tell(dead, state=TrialState.FAIL)
    assert recovery.recover_interrupted(s, n_params=3, no_live_local_worker=True) == [5]
    assert recovery.recover_interrupted(s, n_params=3, no_live_local_worker=True) == []  # once only
    s.optimize(objective, n_trials=5)
    assert len(record.counted_trials(s.get_trials())) == 10
    assert _values(s) == _values(ref)


def test_logical_index_skips_interrupted_and_superseded_trials() -> None:
    s = _study("random")
    s.optimize(objective, n_trials=3)
    t = s.ask()
    s._storage.set_trial_user_attr(t._trial_id, record.Attr.INTERRUPTED, True)
    s.tell(t, state=TrialState.FAIL)
    recovery.recover_interrupted(s, n_params=3, no_live_local_worker=True)
    trials = s.get_trials()
    assert [record.logical_index(trials, n) for n in range(5)] == [0, 1, 2, 3, 3]
    assert [t.number for t in record.counted_trials(trials)] == [0, 1, 2]


def test_a_partially_sampled_dead_trial_is_retried_without_its_partial_params() -> None:
    s = _study("random")
    t = s.ask()
    t.suggest_float("x", 0, 1)  # killed before y and p
    s._storage.set_trial_user_attr(t._trial_id, record.Attr.INTERRUPTED, True)
    s.tell(t, state=TrialState.FAIL)
    recovery.recover_interrupted(s, n_params=3, no_live_local_worker=True)
    retry = s.get_trials()[-1]
    assert retry.state == TrialState.WAITING and retry.params == {}


def test_retries_drop_stale_constraints_but_keep_the_generation() -> None:
    s = _study("nsga2")
    s.optimize(objective, n_trials=2)
    done = s.get_trials()[0]
    recovery.retry_trial(s, done, 3)
    retry = s.get_trials()[-1]
    assert not any(k.startswith("constraints") for k in retry.system_attrs)
    assert retry.system_attrs["NSGAIISampler:generation"] == done.system_attrs["NSGAIISampler:generation"]
    assert retry.system_attrs["failed_trial"] == done.number


def test_trial_seeds_differ_by_index_and_worker() -> None:
    seeds = {trial_seed(42, i, w) for i in range(50) for w in range(3)}
    assert len(seeds) == 150 and trial_seed(42, 7) == trial_seed(42, 7)

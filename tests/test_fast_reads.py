"""The fast whole-study reads (issue 19): ``tuner.session.read`` gives exactly what Optuna's
own reads give, and ``pareto_ranks`` (now a sort on the distinct objective vectors) gives
exactly what the pairwise definition by ``dominates`` gives, NaN, infinities and ties
included."""

from __future__ import annotations

import math
import random

import optuna
import pytest
from optuna.distributions import FloatDistribution

from tuner.promotion.decision import Candidate, dominates, pareto_ranks
from tuner.session.read import best_trials, read_all_trials, read_trials


def _pairwise_ranks(cands: list[Candidate]) -> list[int]:
    """The definition: rank 1 = dominated by nothing; rank k = dominated only by ranks < k."""
    ranks = [0] * len(cands)
    rank, left = 1, set(range(len(cands)))
    while left:
        front = {i for i in left if not any(dominates(cands[j], cands[i]) for j in left if j != i)}
        for i in front:
            ranks[i] = rank
        left -= front
        rank += 1
    return ranks


@pytest.mark.parametrize("seed", range(6))
def test_pareto_ranks_equal_the_pairwise_definition(seed: int) -> None:
    rng = random.Random(seed)

    def stat() -> float | None:
        r = rng.random()
        if r < 0.05:
            return math.nan
        if r < 0.08:
            return None
        if r < 0.1:
            return rng.choice([math.inf, -math.inf])
        return float(rng.randrange(4)) if r < 0.55 else rng.random()

    for _ in range(60):
        cands = [Candidate(str(i), i, stat(), 1.0, None, 0, 10, stat(), stat(), True, {})
                 for i in range(rng.randrange(40))]
        assert pareto_ranks(cands) == _pairwise_ranks(cands)


def _study(tmp_path, n: int = 40) -> optuna.Study:  # type: ignore[no-untyped-def]
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.create_study(storage=f"sqlite:///{tmp_path / 'r.db'}", directions=["maximize", "minimize", "minimize"])
    rng = random.Random(3)
    for i in range(n):
        trial = study.ask()
        trial.suggest_float("x", 0.0, 1.0)
        trial.suggest_int("k", 1, 9)
        trial.suggest_categorical("profile", ["a", "b", None])
        trial.set_user_attr("metrics", {"pnl_mean": rng.random(), "nan": math.nan, "nested": [1, {"a": None}]})
        trial.set_user_attr("candidate_id", f"c{i}")
        trial.set_user_attr("text", "ü \" \\ ,[]")
        study._storage.set_trial_intermediate_value(trial._trial_id, 1, rng.random())  # not for multi-objective
        trial.set_constraint("suite_failures", float(rng.randrange(3) == 0))
        if i % 7 == 3:
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
        elif i % 11 == 5:
            pass  # left running
        else:
            study.tell(trial, [rng.random(), rng.choice([0.0, math.inf, 0.1]), rng.random()])
    return study


def test_read_trials_equals_optunas_read(tmp_path) -> None:  # type: ignore[no-untyped-def]
    study = _study(tmp_path)
    mine, theirs = read_trials(study), study.get_trials(deepcopy=False)
    assert len(mine) == len(theirs) == 40
    for a, b in zip(mine, theirs, strict=True):
        assert repr(a.__dict__) == repr(b.__dict__)  # repr: NaN compares unequal to itself
        assert list(a.user_attrs) == list(b.user_attrs) and list(a.params) == list(b.params)
        assert list(a.system_attrs) == list(b.system_attrs)
    assert [t.number for t in best_trials(study)] == [t.number for t in study.best_trials]


def test_storages_other_than_rdb_are_read_through_optuna() -> None:
    study = optuna.create_study(directions=["maximize", "minimize", "minimize"])
    study.add_trial(optuna.trial.create_trial(values=[1.0, 0.0, 2.0], params={"x": 0.5},
                                              distributions={"x": FloatDistribution(0, 1)}))
    assert read_all_trials(study._storage, study._study_id) == study.get_trials(deepcopy=False)
    assert [t.number for t in best_trials(study)] == [0]

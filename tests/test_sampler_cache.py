"""Issue 19: the NSGA-II sampler's per-generation cache (tuner.session.sampler._Generations)
samples exactly what the uncached code path samples: main's SeededNSGAIISampler, copied
here verbatim (it rescans the study through Optuna's BaseGASampler, IntersectionSearchSpace
and a scan for repeats). Trial for trial, on SQLite (where tuner.record.study_trials reads
Optuna's cache without sorting it) and in memory; across an interruption resumed by a
new storage and sampler object (what a new process has); and with two workers whose
trials interleave, running ones included (a cache that missed another worker's trial
would assign other generations or parents). Synthetic objective, no simulator."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import optuna
import pytest
from optuna.distributions import BaseDistribution
from optuna.samplers import NSGAIISampler
from optuna.trial import FrozenTrial, TrialState

from tuner import record
from tuner.config.paths import DEFAULT_SEARCH_SPACE
from tuner.config.search_space import load_search_space
from tuner.names import DIRECTIONS
from tuner.search import reuse
from tuner.session import recovery
from tuner.session.sampler import (
    CHILD_RETRIES,
    SeededNSGAIISampler,
    _evaluated,
    _PerTrialSeeded,
    design_point,
    make_sampler,
)

optuna.logging.set_verbosity(optuna.logging.ERROR)

SPACE = load_search_space(DEFAULT_SEARCH_SPACE)
DISTS = SPACE.distributions()
POPULATION = 8


class MainNSGAII(_PerTrialSeeded, NSGAIISampler):
    """main's SeededNSGAIISampler (commit 6ad467d), verbatim: Optuna's own per-trial rescans."""

    def __init__(self, *, seed: int, worker: int = 0, space: dict[str, BaseDistribution] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(seed=seed, **kwargs)
        self._base_seed, self._worker = seed, worker
        self._space = dict(space) if space else None

    def sample_relative(self, study: optuna.Study, trial: FrozenTrial,
                        search_space: dict[str, BaseDistribution]) -> dict[str, Any]:
        generation = self.get_trial_generation(study, trial)
        parents = self.get_parent_population(study, generation)
        if not parents:
            return {}
        seen: set[tuple[Any, ...]] | None = None
        child: dict[str, Any] = {}
        for _ in range(1 + CHILD_RETRIES):
            child = self._child_generation_strategy(study, search_space, parents)
            if set(child) != set(search_space):
                return child
            if seen is None:
                seen = _evaluated(study, search_space)
            if tuple(child[n] for n in search_space) not in seen:
                return child
        return child

    def sample_independent(self, study: optuna.Study, trial: FrozenTrial, param_name: str,
                           param_distribution: BaseDistribution) -> Any:
        space = self._space
        if (space is not None and space.get(param_name) == param_distribution
                and self._index[0] == trial.number and self.get_trial_generation(study, trial) == 0):
            return design_point(self._base_seed, self._index[1], space)[param_name]
        return super().sample_independent(study, trial, param_name, param_distribution)


MainNSGAII._GENERATION_KEY = NSGAIISampler._get_generation_key()
MainNSGAII._PARENT_CACHE_KEY_PREFIX = NSGAIISampler._get_parent_cache_key_prefix()

Sampler = Callable[[int], optuna.samplers.BaseSampler]  # worker number -> sampler


def cached(worker: int = 0) -> optuna.samplers.BaseSampler:
    return make_sampler("nsga2", seed=11, worker=worker, population=POPULATION, space=DISTS)


def uncached(worker: int = 0) -> optuna.samplers.BaseSampler:
    return MainNSGAII(seed=11, worker=worker, population_size=POPULATION, space=DISTS)


def objective(trial: optuna.Trial) -> tuple[float, float, float]:
    """The product's search space, a real front, infeasible trials, and the reuse look-up
    a real trial makes (it finds none here: these trials record no run settings)."""
    p = SPACE.suggest(trial)
    cid = "|".join(str(p[k]) for k in sorted(p))
    stored = reuse.stored_result(trial, cid, {"mc_runs": 1})
    x = (p["PARAPHINA_HEDGE_BAND_BASE"] - 0.02) / 0.13
    y = (p["PARAPHINA_MM_SIZE_ETA"] - 0.5) / 1.5
    trial.set_user_attr(record.Attr.CANDIDATE_ID, cid)
    trial.set_user_attr("reused", stored.number if stored is not None else -1)
    trial.set_constraint(record.CONSTRAINT_KEY, float(x > 0.85))
    return x + (p["PARAPHINA_RISK_PROFILE"] == "balanced"), y, (1 - x) * (1 - y)


def _storage(kind: str, tmp_path: Path) -> str | None:
    return f"sqlite:///{tmp_path}/study.db" if kind == "sqlite" else None


def _open(url: str | None, sampler: optuna.samplers.BaseSampler, name: str = "s",
          storage: optuna.storages.BaseStorage | None = None) -> optuna.Study:
    """A study opened as a new process opens it: its own storage object (its own cache)."""
    return optuna.create_study(study_name=name, storage=storage or url, sampler=sampler, load_if_exists=True,
                               directions=list(DIRECTIONS))


def _trace(study: optuna.Study) -> list[tuple[Any, ...]]:
    """Per counted trial: params, generation, and the reuse look-up's answer."""
    key = NSGAIISampler._get_generation_key()
    return [(t.params, t.system_attrs.get(key), t.user_attrs.get("reused"))
            for t in record.counted_trials(study.get_trials())]


def _parents(study: optuna.Study) -> dict[str, Any]:
    """Each generation's stored parents, as positions among the counted trials (a resumed
    study numbers its trials otherwise: the interrupted trial and its retry)."""
    attrs = study._storage.get_study_system_attrs(study._study_id)
    ids = {t._trial_id: i for i, t in enumerate(record.counted_trials(study.get_trials()))}
    return {k: sorted(ids[i] for i in v) for k, v in attrs.items() if k.startswith("NSGAIISampler:parent:")}


@pytest.mark.parametrize("kind", ["sqlite", "memory"])
def test_the_cached_sampler_samples_what_the_uncached_one_samples(kind: str, tmp_path: Path) -> None:
    n = 200  # 25 generations of 8
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = _open(_storage(kind, tmp_path / "a"), cached())
    b = _open(_storage(kind, tmp_path / "b"), uncached())
    for study in (a, b):
        study.optimize(objective, n_trials=n // 2)
        for number in (3, 40, 3):  # repeated candidates: the reuse look-up finds the earliest
            study.enqueue_trial(study.trials[number].params)
        study.optimize(objective, n_trials=n // 2)
    got, want = _trace(a), _trace(b)
    assert len(got) == n
    assert got == want
    assert _parents(a) == _parents(b)
    assert max(g for _, g, _ in got if g is not None) >= 20  # many generations were sampled (enqueued: none)
    assert [p for p, _, _ in got[n // 2:n // 2 + 3]] == [got[3][0], got[40][0], got[3][0]]


def test_an_interrupted_study_resumed_by_a_new_sampler_samples_the_same(tmp_path: Path) -> None:
    n = 160
    (tmp_path / "ref").mkdir()
    ref = _open(_storage("sqlite", tmp_path / "ref"), uncached())
    ref.optimize(objective, n_trials=n)

    url = _storage("sqlite", tmp_path)
    s = _open(url, cached())
    s.optimize(objective, n_trials=61)  # mid-generation
    dead = s.ask()
    objective(dead)  # killed after sampling
    s._storage.set_trial_user_attr(dead._trial_id, record.Attr.INTERRUPTED, True)
    s.tell(dead, state=TrialState.FAIL)
    # A new process: a new storage object (a cold cache) and a new sampler.
    s = _open(url, cached())
    assert recovery.recover_interrupted(s, n_params=len(DISTS), no_live_local_worker=True) == [61]
    s.optimize(objective, n_trials=40)
    s = _open(url, cached())  # and once more, stopped between trials
    s.optimize(objective, n_trials=n - 101)
    assert _trace(s) == _trace(ref)
    assert _parents(s) == _parents(ref)


def _interleaved(url: str | None, make: Sampler, schedule: list[int], workers: int) -> optuna.Study:
    """``workers`` workers, each with its own storage object and sampler, take turns by
    ``schedule``: a worker with no open trial asks for one and samples it; one with an
    open trial finishes it. So a worker samples while another's trial is RUNNING with
    its parameters, and sees trials other workers finished since its last step."""
    storage = optuna.storages.InMemoryStorage() if url is None else None
    studies = [_open(url, make(w), storage=storage) for w in range(workers)]
    open_trials: list[optuna.Trial | None] = [None] * workers
    for w in schedule:
        study, trial = studies[w], open_trials[w]
        if trial is None:
            trial = study.ask()
            open_trials[w] = trial
            values = objective(trial)
            trial.set_user_attr("values", list(values))
        else:
            study.tell(trial, trial.user_attrs["values"])
            open_trials[w] = None
    return studies[0]


@pytest.mark.parametrize("kind", ["sqlite", "memory"])
def test_workers_sharing_a_study_see_each_others_trials(kind: str, tmp_path: Path) -> None:
    workers = 3
    rng = random.Random(5)
    schedule = [rng.randrange(workers) for _ in range(420)]
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = _interleaved(_storage(kind, tmp_path / "a"), cached, schedule, workers)
    b = _interleaved(_storage(kind, tmp_path / "b"), uncached, schedule, workers)
    got, want = _trace(a), _trace(b)
    assert len(got) > 150 and max(g for _, g, _ in got) >= 15
    assert got == want
    assert _parents(a) == _parents(b)


def test_a_plain_nsga2_sampler_continues_the_study(tmp_path: Path) -> None:
    url = _storage("sqlite", tmp_path)
    _open(url, cached()).optimize(objective, n_trials=40)
    s = _open(url, NSGAIISampler(seed=1, population_size=POPULATION))
    s.optimize(objective, n_trials=8)
    key = NSGAIISampler._get_generation_key()
    generations = [t.system_attrs[key] for t in s.get_trials()]
    assert generations[:40] == [i // POPULATION for i in range(40)]
    assert generations[40:] == [5] * 8  # the next generation, from the stored parents


def test_the_sampling_step_reads_no_whole_list_of_trials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """On an RDB storage the cached sampler never calls get_all_trials (whose cost grows
    with the study); main's path called it four to five times per trial."""
    url = _storage("sqlite", tmp_path)
    study = _open(url, cached())
    study.optimize(objective, n_trials=3 * POPULATION)
    storage = study._storage
    calls: list[str] = []
    real = storage.get_all_trials

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append("get_all_trials")
        return real(*args, **kwargs)

    monkeypatch.setattr(storage, "get_all_trials", counting)
    sampler = study.sampler
    assert isinstance(sampler, SeededNSGAIISampler)
    for _ in range(2 * POPULATION):
        trial = study.ask()  # Optuna's own queue look-up is one call: not the sampler's
        calls.clear()
        values = objective(trial)  # the sampling step and the reuse look-up
        assert calls == [], calls
        study.tell(trial, values)


def test_study_trials_is_get_trials(tmp_path: Path) -> None:
    study = _open(_storage("sqlite", tmp_path), cached())
    assert list(record.study_trials(study)) == []
    study.optimize(objective, n_trials=12)
    running = study.ask()
    view = record.study_trials(study)
    assert [t._trial_id for t in view] == [t._trial_id for t in study.get_trials(deepcopy=False)]
    assert view[-1].number == running.number and view[-1].state == TrialState.RUNNING
    assert [t.number for t in view[2:5]] == [2, 3, 4]
    with pytest.raises(IndexError):
        view[len(view)]
    memory = _open(None, cached())
    assert isinstance(record.study_trials(memory), list)

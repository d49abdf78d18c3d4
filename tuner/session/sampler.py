"""Samplers, created in one place.

NSGA-II with a fixed seed is the product's default. Optuna seeds a sampler once per
process, so a resumed study would replay the stream from its start (optuna #3255) and,
in the first generation, repeat earlier parameters. Here every trial's randomness is
derived from the study seed and the trial's *logical index* (its position had no
interruption happened, :func:`tuner.record.logical_index`), so a study killed and
resumed samples exactly what an uninterrupted one samples. Several workers on one
study each add their worker number to the seed (optuna #3162: equal seeds give equal
candidates); such a study is not bit-reproducible, a single-worker one is.

What NSGA-II does here beyond Optuna's own (the choices are measured in
docs/BENCHMARKS.md, ``benchmarks/search_quality.py``):

- Its first generation is a scrambled Sobol design over the search space instead of
  independent uniform draws: point *i* of the design (a pure function of the study
  seed and the trial's logical index) fills the space evenly, categorical knobs
  included (each choice gets an equal share of the unit interval).
- Its population is sized from the budget when ``--population`` is not given
  (:func:`population_for`), so a 100-trial study sees several generations.
- A child identical to a candidate the study already holds is drawn again (up to
  :data:`CHILD_RETRIES` times): copies of a parent are the usual source of repeated
  candidates, and a repeat teaches the search nothing.
"""

from __future__ import annotations

import copy
import importlib
import math
from collections.abc import Mapping, Sequence
from functools import cached_property, lru_cache
from typing import Any

import numpy as np
import optuna
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.samplers import NSGAIISampler, RandomSampler, TPESampler
from optuna.trial import FrozenTrial, TrialState

from tuner.errors import InputError
from tuner.record import TrialIndex, study_trials

__all__ = [
    "CHILD_RETRIES",
    "GP_EXTRA",
    "SAMPLERS",
    "design_point",
    "make_sampler",
    "population_for",
    "require_sampler",
    "sampler_available",
    "trial_seed",
]

SAMPLERS = ("nsga2", "tpe", "random", "gp")
#: NSGA-II population: a quarter of the study's total trials, at least 8 and at most 50
#: (see :func:`population_for`; chosen from benchmarks/search_quality.py).
POPULATION_SHARE, POPULATION_MIN, POPULATION_MAX = 4, 8, 50
#: How often NSGA-II draws a child again when it repeats a candidate the study holds.
CHILD_RETRIES = 10
#: The pip extra that brings GPSampler's dependencies, and what it installs.
GP_EXTRA = "gp"
GP_MODULES = ("torch", "scipy")


def population_for(trials: int) -> int:
    """The NSGA-II population for a study of ``trials`` total trials when ``--population``
    is not given: ``trials // 4``, at least 8 and at most 50. 25 trials → 8, 50 → 12,
    100 → 25, 200 and more → 50. A study stores the value it was created with; a resume
    with another ``--trials`` keeps it."""
    return max(POPULATION_MIN, min(POPULATION_MAX, trials // POPULATION_SHARE))


def trial_seed(seed: int, index: int, worker: int = 0) -> int:
    """A 32-bit seed for one trial, well mixed from (study seed, worker, logical index)."""
    return int(np.random.SeedSequence([seed, worker, index]).generate_state(1)[0])


@lru_cache(maxsize=8)
def _sobol(seed: int, dims: int, m: int) -> np.ndarray:
    from scipy.stats import qmc  # noqa: PLC0415 (scipy.stats costs 0.6 s to import: only when drawn)

    return qmc.Sobol(dims, scramble=True, seed=np.random.default_rng(seed)).random_base2(m)


def design_point(seed: int, index: int, space: Mapping[str, BaseDistribution]) -> dict[str, Any]:
    """Point ``index`` of the study's first-generation design: row ``index`` of a scrambled
    Sobol sequence (scrambling seeded by ``seed``) in the unit cube of ``space``'s
    dimensions (in its order), mapped to each distribution. A pure function of
    (seed, index, space)."""
    m = max(0, math.ceil(math.log2(index + 1)))
    u = _sobol(seed, len(space), m)[index]
    return {name: _from_unit(float(x), dist) for (name, dist), x in zip(space.items(), u, strict=True)}


def _from_unit(u: float, dist: BaseDistribution) -> Any:
    """The value at quantile ``u`` of ``dist`` (uniform in its internal scale; a grid or a
    set of choices gets equal shares of [0, 1))."""
    if isinstance(dist, CategoricalDistribution):
        return dist.choices[min(int(u * len(dist.choices)), len(dist.choices) - 1)]
    if isinstance(dist, (FloatDistribution, IntDistribution)) and dist.step is not None:
        n = round((dist.high - dist.low) / dist.step) + 1
        value = min(dist.low + min(int(u * n), n - 1) * dist.step, dist.high)
        return int(value) if isinstance(dist, IntDistribution) else float(value)
    if isinstance(dist, FloatDistribution):
        if dist.log:
            return float(min(math.exp(math.log(dist.low) + u * (math.log(dist.high) - math.log(dist.low))), dist.high))
        return float(min(dist.low + u * (dist.high - dist.low), dist.high))
    if isinstance(dist, IntDistribution):  # log-scaled int
        lo, hi = math.log(dist.low - 0.5), math.log(dist.high + 0.5)
        return int(min(max(round(math.exp(lo + u * (hi - lo))), dist.low), dist.high))
    raise TypeError(f"no first-generation design for distribution {dist!r}")


def _reseed(sampler: Any, study: optuna.Study, trial: FrozenTrial) -> int:
    """Seeds a sampler's own stream (and its inner random sampler's, when it has one)
    for this trial and returns the trial's logical index. NSGA-II's child-generation
    strategy holds the same LazyRandomState, so reseeding ``_rng`` reseeds crossover and
    mutation too."""
    trials = study_trials(study)
    index = sampler._trial_index.update(trials).logical_index(trial.number)
    sampler._seen_trials(study, trials)
    s = trial_seed(sampler._base_seed, index, sampler._worker)
    sampler._rng.rng.seed(s)
    inner = getattr(sampler, "_random_sampler", None) or getattr(sampler, "_independent_sampler", None)
    if inner is not None:
        inner._rng.rng.seed((s + 1) % 2**32)
    return index


class _PerTrialSeeded:
    """Mixin over an Optuna sampler: per-trial seeding replaces the one stream per
    process (and Optuna's reseeding from OS entropy with n_jobs > 1)."""

    _base_seed: int
    _worker: int
    _index: tuple[int, int] = (-1, -1)  #: (trial number, its logical index)

    @cached_property
    def _trial_index(self) -> TrialIndex:
        """The study's trials as the logical index needs them, read incrementally."""
        return TrialIndex()

    def before_trial(self, study: optuna.Study, trial: FrozenTrial) -> None:
        self._index = (trial.number, _reseed(self, study, trial))
        super().before_trial(study, trial)  # type: ignore[misc]

    def _seen_trials(self, study: optuna.Study, trials: Sequence[FrozenTrial]) -> None:
        """Hook: the trials :func:`_reseed` read (a subclass's caches may use them)."""

    def reseed_rng(self) -> None:
        pass


_CANDIDATE_STATES = (TrialState.COMPLETE, TrialState.FAIL, TrialState.PRUNED, TrialState.RUNNING)


def _evaluated(study: optuna.Study, names: Mapping[str, Any]) -> set[tuple[Any, ...]]:
    """The candidates (values of ``names``, in that order) of the study's trials that hold
    all of them: finished ones and those still running (another worker's). The scan
    :class:`_Generations` keeps incrementally (tests compare the two)."""
    return {tuple(t.params[n] for n in names) for t in study.get_trials(deepcopy=False, states=_CANDIDATE_STATES)
            if all(n in t.params for n in names)}


class _Generations:
    """What NSGA-II reads about a study, kept up to date from the trials that are new or
    were unfinished at the last read (a finished trial never changes), instead of
    rescanning every trial several times per trial as Optuna's ``BaseGASampler`` and
    ``IntersectionSearchSpace`` do (each through its own ``get_trials``):

    - the completed trials of each generation (in the order they were first seen
      complete, as Optuna's own per-generation cache keeps them), and the latest
      generation, from which a new trial's generation follows;
    - the completed trials by trial id (parents are stored as trial ids);
    - the intersection search space of the completed trials;
    - the candidates of finished trials, for the repeat check.

    Reset when it is given another study's trials or a shorter list."""

    def __init__(self, generation_key: str) -> None:
        self._key = generation_key
        self._reset(None, None)

    def _reset(self, study_id: int | None, first_id: int | None) -> None:
        self.study_id, self._first_id = study_id, first_id
        self._seen = 0
        self._pending: list[int] = []  #: read while unfinished: read again
        self.trials: Sequence[FrozenTrial] = []
        self.members: dict[int, list[int]] = {}  #: generation -> completed trial numbers
        self.latest = 0  #: the highest generation of a completed trial (0 when none)
        self.by_id: dict[int, FrozenTrial] = {}  #: completed trials
        self._space: dict[str, BaseDistribution] | None = None  #: intersection over completed trials
        self._finished: list[FrozenTrial] = []  #: COMPLETE, FAIL, PRUNED
        self._names: tuple[str, ...] | None = None  #: the names _candidates holds
        self._candidates: set[tuple[Any, ...]] = set()  #: of _finished, for _names

    def update(self, study_id: int, trials: Sequence[FrozenTrial]) -> _Generations:
        """Reads what changed in ``trials`` (the study's, position = number); returns self."""
        first_id = trials[0]._trial_id if len(trials) else None
        if study_id != self.study_id or len(trials) < self._seen or first_id != self._first_id:
            self._reset(study_id, first_id)
        pending: list[int] = []
        for number in [*self._pending, *range(self._seen, len(trials))]:
            t = trials[number]
            if t.number != number:
                raise ValueError(f"trial at position {number} is number {t.number}")
            if t.state == TrialState.COMPLETE:
                generation = t.system_attrs.get(self._key)
                if generation is not None:
                    self.members.setdefault(generation, []).append(number)
                    self.latest = max(self.latest, generation)
                self.by_id[t._trial_id] = t
                self._space = (dict(t.distributions) if self._space is None else
                               {n: d for n, d in self._space.items() if t.distributions.get(n) == d})
            if t.state.is_finished():
                self._finished.append(t)
                if self._names is not None and all(n in t.params for n in self._names):
                    self._candidates.add(tuple(t.params[n] for n in self._names))
            else:
                pending.append(number)
        self._pending, self._seen, self.trials = pending, len(trials), trials
        return self

    def population(self, generation: int) -> list[FrozenTrial]:
        """``BaseGASampler.get_population``: the latest generation in the order its trials
        were seen complete, an earlier one in number order (as Optuna gives them)."""
        numbers = self.members.get(generation, [])
        return [self.trials[n] for n in (numbers if generation == self.latest else sorted(numbers))]

    def search_space(self) -> dict[str, BaseDistribution]:
        """``IntersectionSearchSpace(study).calculate()`` without single-valued
        distributions: what ``NSGAIISampler.infer_relative_search_space`` returns."""
        return copy.deepcopy({n: d for n, d in sorted((self._space or {}).items()) if not d.single()})

    def candidates(self, names: Mapping[str, Any]) -> set[tuple[Any, ...]]:
        """:func:`_evaluated` for ``names``: finished trials (kept) and running ones (read now)."""
        key = tuple(names)
        if key != self._names:
            self._names = key
            self._candidates = {tuple(t.params[n] for n in key) for t in self._finished
                                if all(n in t.params for n in key)}
        running = {tuple(t.params[n] for n in key) for t in (self.trials[i] for i in self._pending)
                   if t.state == TrialState.RUNNING and all(n in t.params for n in key)}
        return self._candidates | running


class SeededNSGAIISampler(_PerTrialSeeded, NSGAIISampler):
    """NSGA-II whose randomness for each trial depends only on (seed, logical index), with
    a space-filling first generation over ``space`` (when given) and no repeated
    children (see the module's docstring).

    Its sampling step costs the same at trial 100 and at trial 10 000: what Optuna's
    NSGA-II rescans every trial for (generation membership, the parent population, the
    intersection search space, the candidates held) is kept in :class:`_Generations`,
    updated from what is new at each read of the study (so another worker's trials are
    seen as soon as the storage has them). It samples exactly what Optuna's own code path
    samples (``tests/test_sampler_cache.py``) and writes the same storage keys."""

    def __init__(self, *, seed: int, worker: int = 0, space: Mapping[str, BaseDistribution] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(seed=seed, **kwargs)
        self._base_seed, self._worker = seed, worker
        self._space = dict(space) if space else None
        self._gens = _Generations(self._get_generation_key())
        self._fresh: int | None = None  #: trial id whose sampling step already read the study
        self._generation: tuple[int, int] = (-1, -1)  #: (trial id, its generation)
        #: generation -> parent trial ids as read from the storage (they are written once)
        self._parents: dict[tuple[int, int], list[int]] = {}

    def _seen_trials(self, study: optuna.Study, trials: Sequence[FrozenTrial]) -> None:
        self._gens.update(study._study_id, trials)

    def _sync(self, study: optuna.Study) -> _Generations:
        with self._thread_lock:
            return self._gens.update(study._study_id, study_trials(study))

    def _step(self, study: optuna.Study, trial: FrozenTrial) -> _Generations:
        """The caches for this trial's sampling step: read once per step (the first call
        of the step reads the study, later calls of the same trial's step reuse it)."""
        if self._fresh == trial._trial_id and self._gens.study_id == study._study_id:
            return self._gens
        self._fresh = trial._trial_id
        return self._sync(study)

    def infer_relative_search_space(self, study: optuna.Study, trial: FrozenTrial) -> dict[str, BaseDistribution]:
        self._fresh = None  # a new sampling step: read what is new
        return self._step(study, trial).search_space()

    def get_trial_generation(self, study: optuna.Study, trial: FrozenTrial) -> int:
        generation = trial.system_attrs.get(self._get_generation_key(), None)
        if generation is not None:
            return int(generation)
        if self._generation[0] == trial._trial_id:  # decided (and stored) once per trial
            return self._generation[1]
        gens = self._step(study, trial)
        assert self._population_size is not None, "Population size must be set."
        generation = gens.latest + (len(gens.members.get(gens.latest, [])) >= self._population_size)
        study._storage.set_trial_system_attr(trial._trial_id, self._get_generation_key(), generation)
        self._generation = (trial._trial_id, generation)
        return generation

    def _current(self, study: optuna.Study) -> _Generations:
        """Within a trial's sampling step the step's read; otherwise a new one."""
        if self._fresh is not None and self._gens.study_id == study._study_id:
            return self._gens
        return self._sync(study)

    def get_population(self, study: optuna.Study, generation: int) -> list[FrozenTrial]:
        return self._current(study).population(generation)

    def get_parent_population(self, study: optuna.Study, generation: int) -> list[FrozenTrial]:
        if generation == 0:
            return []
        gens = self._current(study)
        ids = self._parents.get((study._study_id, generation))
        if ids is None:
            stored = study._storage.get_study_system_attrs(study._study_id).get(
                self._get_parent_cache_key_prefix() + str(generation))
            if stored is None:
                parents = self.select_parent(study, generation)
                study._storage.set_study_system_attr(study._study_id, self._get_parent_cache_key_prefix() + str(generation),
                                                     [t._trial_id for t in parents])
                # Not kept: another worker may have written this generation's parents in
                # the same moment (the last write is the study's); the next call reads them.
                return parents
            ids = self._parents[(study._study_id, generation)] = list(stored)
        if not all(i in gens.by_id for i in ids):  # a parent this cache has not seen complete
            gens = self._sync(study)
            if not all(i in gens.by_id for i in ids):
                wanted = set(ids)
                return [t for t in study._get_trials(deepcopy=False) if t._trial_id in wanted]
        return sorted((gens.by_id[i] for i in set(ids)), key=lambda t: t.number)

    def sample_relative(self, study: optuna.Study, trial: FrozenTrial,
                        search_space: dict[str, BaseDistribution]) -> dict[str, Any]:
        gens = self._step(study, trial)
        generation = self.get_trial_generation(study, trial)
        parents = self.get_parent_population(study, generation)
        if not parents:
            return {}
        seen: set[tuple[Any, ...]] | None = None
        child: dict[str, Any] = {}
        for _ in range(1 + CHILD_RETRIES):
            child = self._child_generation_strategy(study, search_space, parents)
            if set(child) != set(search_space):
                return child  # a parameter left out is mutated: drawn afresh by sample_independent
            if seen is None:
                seen = gens.candidates(search_space)
            if tuple(child[n] for n in search_space) not in seen:
                return child
        return child  # every retry repeated a candidate: the objective takes the stored result

    def after_trial(self, study: optuna.Study, trial: FrozenTrial, state: TrialState,
                    values: Sequence[float] | None) -> None:
        self._fresh = None  # the step is over: a later call reads the study again
        super().after_trial(study, trial, state, values)

    def sample_independent(self, study: optuna.Study, trial: FrozenTrial, param_name: str,
                           param_distribution: BaseDistribution) -> Any:
        space = self._space
        if (space is not None and space.get(param_name) == param_distribution
                and self._index[0] == trial.number and self.get_trial_generation(study, trial) == 0):
            return design_point(self._base_seed, self._index[1], space)[param_name]
        return super().sample_independent(study, trial, param_name, param_distribution)


# BaseGASampler names its storage keys after the class; keep NSGA-II's own names so the
# study stays readable by a plain NSGAIISampler (and by tools that know those keys).
SeededNSGAIISampler._GENERATION_KEY = NSGAIISampler._get_generation_key()
SeededNSGAIISampler._PARENT_CACHE_KEY_PREFIX = NSGAIISampler._get_parent_cache_key_prefix()


class SeededRandomSampler(_PerTrialSeeded, RandomSampler):
    """Random search with per-trial seeding (the baseline of the original specification)."""

    def __init__(self, *, seed: int, worker: int = 0) -> None:
        super().__init__(seed=seed)
        self._base_seed, self._worker = seed, worker


class SeededTPESampler(_PerTrialSeeded, TPESampler):
    """Optuna 5's multi-objective default, seeded per trial like the others."""

    def __init__(self, *, seed: int, worker: int = 0, **kwargs: Any) -> None:
        super().__init__(seed=seed, **kwargs)
        self._base_seed, self._worker = seed, worker


def _missing(name: str) -> list[str]:
    missing = []
    for module in GP_MODULES if name == "gp" else ():
        try:
            importlib.import_module(module)
        except ImportError:
            missing.append(module)
    return missing


def sampler_available(name: str) -> bool:
    """Whether the sampler's optional dependencies are installed."""
    return not _missing(name)


def require_sampler(name: str) -> None:
    """Raises :class:`InputError` (one line naming the pip extra) when the sampler's
    optional dependencies are not installed."""
    missing = _missing(name)
    if missing:
        raise InputError(
            f"--sampler gp needs {' and '.join(missing)} (not installed); install the extra: "
            f"pip install 'paraphina-tuner[{GP_EXTRA}]' (or pip install -e '.[{GP_EXTRA}]' in a checkout)"
        )


def _gp_sampler(seed: int, worker: int) -> optuna.samplers.BaseSampler:
    class SeededGPSampler(_PerTrialSeeded, optuna.samplers.GPSampler):
        """Optuna's GPSampler (constrained multi-objective), seeded per trial; the kernel
        fit starts afresh for every trial (Optuna caches it in the process), so a resumed
        study samples what an uninterrupted one does."""

        def before_trial(self, study: optuna.Study, trial: FrozenTrial) -> None:
            self._gprs_cache_list = None
            self._constraints_gprs_cache_list = None
            super().before_trial(study, trial)

    s = SeededGPSampler(seed=seed)
    s._base_seed, s._worker = seed, worker
    return s


def make_sampler(
    name: str,
    *,
    seed: int,
    worker: int = 0,
    population: int = POPULATION_MAX,
    space: Mapping[str, BaseDistribution] | None = None,
) -> optuna.samplers.BaseSampler:
    """The sampler called ``name`` (one of :data:`SAMPLERS`), seeded. ``space`` (the
    study's distributions, in knob order) gives NSGA-II its first-generation design;
    without it the first generation is drawn at random."""
    if name == "nsga2":
        return SeededNSGAIISampler(seed=seed, worker=worker, population_size=population, space=space)
    if name == "tpe":
        return SeededTPESampler(seed=seed, worker=worker)
    if name == "random":
        return SeededRandomSampler(seed=seed, worker=worker)
    if name == "gp":
        require_sampler(name)
        return _gp_sampler(seed, worker)
    raise ValueError(f"unknown sampler {name!r}; expected one of {', '.join(SAMPLERS)}")

"""Samplers, created in one place.

NSGA-II with a fixed seed is the product's default. Optuna seeds a sampler once per
process, so a resumed study would replay the stream from its start (optuna #3255) and,
in the first generation, repeat earlier parameters. Here every trial's randomness is
derived from the study seed and the trial's *logical index* (its position had no
interruption happened, :func:`tuner.record.logical_index`), so a study killed and
resumed samples exactly what an uninterrupted one samples. Several workers on one
study each add their worker number to the seed (optuna #3162: equal seeds give equal
candidates); such a study is not bit-reproducible, a single-worker one is.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import optuna
from optuna.samplers import NSGAIISampler, RandomSampler, TPESampler
from optuna.trial import FrozenTrial

from tuner.record import logical_index

__all__ = ["DEFAULT_POPULATION", "SAMPLERS", "make_sampler", "trial_seed"]

SAMPLERS = ("nsga2", "tpe", "random")
#: NSGA-II population per generation (chosen from benchmarks/search_quality.py: see
#: docs/BENCHMARKS.md).
DEFAULT_POPULATION = 50


def trial_seed(seed: int, index: int, worker: int = 0) -> int:
    """A 32-bit seed for one trial, well mixed from (study seed, worker, logical index)."""
    return int(np.random.SeedSequence([seed, worker, index]).generate_state(1)[0])


def _reseed(sampler: Any, study: optuna.Study, trial: FrozenTrial) -> None:
    """Seeds a sampler's own stream (and its inner random sampler's, when it has one)
    for this trial. NSGA-II's child-generation strategy holds the same LazyRandomState,
    so reseeding ``_rng`` reseeds crossover and mutation too."""
    s = trial_seed(sampler._base_seed, logical_index(study.get_trials(deepcopy=False), trial.number), sampler._worker)
    sampler._rng.rng.seed(s)
    inner = getattr(sampler, "_random_sampler", None)
    if inner is not None:
        inner._rng.rng.seed((s + 1) % 2**32)


class _PerTrialSeeded:
    """Mixin over an Optuna sampler: per-trial seeding replaces the one stream per
    process (and Optuna's reseeding from OS entropy with n_jobs > 1)."""

    _base_seed: int
    _worker: int

    def before_trial(self, study: optuna.Study, trial: FrozenTrial) -> None:
        _reseed(self, study, trial)
        super().before_trial(study, trial)  # type: ignore[misc]

    def reseed_rng(self) -> None:
        pass


class SeededNSGAIISampler(_PerTrialSeeded, NSGAIISampler):
    """NSGA-II whose randomness for each trial depends only on (seed, logical index)."""

    def __init__(self, *, seed: int, worker: int = 0, **kwargs: Any) -> None:
        super().__init__(seed=seed, **kwargs)
        self._base_seed, self._worker = seed, worker


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


def make_sampler(
    name: str,
    *,
    seed: int,
    worker: int = 0,
    population: int = DEFAULT_POPULATION,
) -> optuna.samplers.BaseSampler:
    """The sampler called ``name`` (one of :data:`SAMPLERS`), seeded."""
    if name == "nsga2":
        return SeededNSGAIISampler(seed=seed, worker=worker, population_size=population)
    if name == "tpe":
        return SeededTPESampler(seed=seed, worker=worker)
    if name == "random":
        return SeededRandomSampler(seed=seed, worker=worker)
    raise ValueError(f"unknown sampler {name!r}; expected one of {', '.join(SAMPLERS)}")

"""The default search (issue 18): NSGA-II's space-filling, seeded first generation, its
population rule, no repeated children, and the GP extra's error; in-memory studies with a
cheap objective."""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
import optuna
import pytest
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState
from scipy.stats import qmc

from tuner import record
from tuner.config.paths import DEFAULT_SEARCH_SPACE
from tuner.config.search_space import load_search_space
from tuner.errors import InputError
from tuner.names import DIRECTIONS
from tuner.session import recovery, sampler
from tuner.session.sampler import SeededNSGAIISampler, design_point, make_sampler, population_for

optuna.logging.set_verbosity(optuna.logging.ERROR)

SPACE = load_search_space(DEFAULT_SEARCH_SPACE)
DISTS = SPACE.distributions()


def objective(trial: optuna.Trial) -> tuple[float, float, float]:
    p = SPACE.suggest(trial)
    x = (p["PARAPHINA_HEDGE_BAND_BASE"] - 0.02) / 0.13
    y = (p["PARAPHINA_MM_SIZE_ETA"] - 0.5) / 1.5
    trial.set_constraint("c", 0.0)
    return x + (p["PARAPHINA_RISK_PROFILE"] == "balanced"), y, (1 - x) * (1 - y)


def _study(s: optuna.samplers.BaseSampler) -> optuna.Study:
    return optuna.create_study(directions=list(DIRECTIONS), sampler=s)


def _unit(params: dict[str, Any], dists: dict[str, BaseDistribution]) -> list[float]:
    """A point of the search space in the unit cube (a categorical at the middle of its share)."""
    out = []
    for name, d in dists.items():
        v = params[name]
        if isinstance(d, CategoricalDistribution):
            out.append((d.choices.index(v) + 0.5) / len(d.choices))
        else:
            assert isinstance(d, (FloatDistribution, IntDistribution))
            out.append((v - d.low) / (d.high - d.low))
    return out


def _first_generation(seed: int, n: int) -> list[dict[str, Any]]:
    s = _study(make_sampler("nsga2", seed=seed, population=n, space=DISTS))
    s.optimize(objective, n_trials=n)
    return [t.params for t in s.get_trials()]


def test_the_first_generation_is_the_seeded_design_and_the_same_for_the_same_seed() -> None:
    a, b, other = _first_generation(7, 16), _first_generation(7, 16), _first_generation(8, 16)
    assert a == b
    assert a != other
    assert a == [design_point(7, i, DISTS) for i in range(16)]
    # Every profile gets its share of the first generation (5 or 6 of 16 each).
    counts = [sum(p["PARAPHINA_RISK_PROFILE"] == c for p in a) for c in ("conservative", "balanced", "aggressive")]
    assert min(counts) >= 5, counts


def test_the_first_generation_fills_the_space_better_than_random_draws() -> None:
    n = 32
    design = qmc.discrepancy(np.array([_unit(p, DISTS) for p in _first_generation(11, n)]))
    randoms = []
    for seed in range(20):
        s = _study(make_sampler("random", seed=seed))
        s.optimize(objective, n_trials=n)
        randoms.append(qmc.discrepancy(np.array([_unit(t.params, DISTS) for t in s.get_trials()])))
    # Centred L2 discrepancy: lower is more even. Better than every one of 20 random studies.
    assert design < min(randoms), (design, sorted(randoms)[:3])


def test_the_first_generation_is_the_same_after_an_interruption() -> None:
    ref = _study(make_sampler("nsga2", seed=5, population=8, space=DISTS))
    ref.optimize(objective, n_trials=8)

    s = _study(make_sampler("nsga2", seed=5, population=8, space=DISTS))
    s.optimize(objective, n_trials=3)
    dead = s.ask()
    objective(dead)  # killed after sampling
    s._storage.set_trial_user_attr(dead._trial_id, record.Attr.INTERRUPTED, True)
    s.tell(dead, state=TrialState.FAIL)
    s.sampler = make_sampler("nsga2", seed=5, population=8, space=DISTS)  # a new process
    recovery.recover_interrupted(s, n_params=len(DISTS), no_live_local_worker=True)
    s.optimize(objective, n_trials=5)
    got = [t.params for t in record.counted_trials(s.get_trials())]
    assert got == [t.params for t in ref.get_trials()]


@pytest.mark.parametrize(("trials", "population"), [(1, 8), (25, 8), (50, 12), (100, 25), (199, 49), (300, 50)])
def test_population_rule(trials: int, population: int) -> None:
    assert population_for(trials) == population


def test_design_points_respect_grids_logs_and_ints() -> None:
    dists: dict[str, BaseDistribution] = {
        "g": FloatDistribution(500.0, 3000.0, step=100.0), "l": FloatDistribution(0.01, 1.0, log=True),
        "i": IntDistribution(5, 20), "il": IntDistribution(1, 100, log=True), "c": CategoricalDistribution([1, 2]),
    }
    for i in range(64):
        p = design_point(3, i, dists)
        for name, d in dists.items():
            assert d._contains(d.to_internal_repr(p[name])), (name, p[name])
    assert {design_point(3, i, dists)["i"] for i in range(64)} == set(range(5, 21))


def _continuous(trial: optuna.Trial) -> tuple[float, float, float]:
    x, y = trial.suggest_float("x", 0, 1), trial.suggest_float("y", 0, 1)
    trial.set_constraint("c", 0.0)
    return x, y, (1 - x) * (1 - y)


def _repeats(s: optuna.samplers.BaseSampler) -> int:
    st = _study(s)
    st.optimize(_continuous, n_trials=200)
    keys = [(t.params["x"], t.params["y"]) for t in st.get_trials()]
    return len(keys) - len(set(keys))


def test_nsga2_draws_a_repeated_child_again() -> None:
    # Plain NSGA-II copies a parent whenever crossover and mutation leave it unchanged.
    assert _repeats(optuna.samplers.NSGAIISampler(seed=1, population_size=10)) > 0
    assert _repeats(SeededNSGAIISampler(seed=1, population_size=10)) == 0


def test_gp_without_its_extra_is_one_line_naming_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch now raises ImportError
    assert not sampler.sampler_available("gp")
    with pytest.raises(InputError) as err:
        make_sampler("gp", seed=1)
    msg = str(err.value)
    assert "\n" not in msg and "torch" in msg and "pip install" in msg and "[gp]" in msg


def test_the_gp_extra_names_its_dependencies() -> None:
    import tomllib

    from tuner.config.paths import REPO_ROOT

    extra = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["gp"]
    assert {d.split(">")[0].split("=")[0] for d in extra} == set(sampler.GP_MODULES)


def test_gp_study_is_seeded_per_trial() -> None:
    pytest.importorskip("torch")

    def run() -> list[dict[str, Any]]:
        s = _study(make_sampler("gp", seed=4))
        s.optimize(_continuous, n_trials=12)
        return [t.params for t in s.get_trials()]

    assert run() == run()

"""Search quality: which sampler finds the better trade-offs for the same simulation budget?

Runs real studies (the real objective: monte_carlo, both suites, verification) for
several samplers and seeds, and reports the hypervolume of the feasible Pareto front
(pnl_mean maximized, kill_ucb and dd_cvar minimized; fixed reference point
``tuner.hypervolume.HV_REFERENCE``) after 25, 50 and 100 trials: mean and standard
deviation over seeds, the number of tiers a promotion would fill, and wall time.

    .venv/bin/python benchmarks/search_quality.py                # full: 100 trials x 5 seeds
    .venv/bin/python benchmarks/search_quality.py --trials 30 --seeds 2   # a quick look

Writes benchmarks/results/search_quality.md and search_quality.html (hypervolume
against trials, mean over seeds per sampler). Prints figures; never fails on them.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from optuna.distributions import CategoricalDistribution, FloatDistribution
from optuna.samplers import BaseSampler, RandomSampler

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tuner.record import counted_trials, feasible_points  # noqa: E402
from tuner.config.budgets import load_budgets  # noqa: E402
from tuner.stats.hypervolume import HV_REFERENCE, hypervolume_history  # noqa: E402
from tuner.names import DIRECTIONS  # noqa: E402
from tuner.record import is_feasible
from tuner.search.objective import IntegrityError, Objective, ObjectiveSettings  # noqa: E402
from tuner.config.paths import DEFAULT_BUDGETS, DEFAULT_SEARCH_SPACE  # noqa: E402
from tuner.promotion.decision import candidate_from_trial  # noqa: E402
from tuner.simulator.build import ensure_binaries  # noqa: E402
from tuner.session.sampler import SeededNSGAIISampler, make_sampler  # noqa: E402
from tuner.config.search_space import load_search_space  # noqa: E402
from tuner.promotion.decision import select_winner  # noqa: E402
from tuner.promotion.decision import at_alpha  # noqa: E402


class RandomPlusMutationSampler(BaseSampler):
    """The original specification's scheme: seeded random candidates, then mutations
    around the current Pareto set (each float knob moved by a normal step of 10 % of
    its range, the profile redrawn with probability 0.2)."""

    def __init__(self, seed: int, random_share: float = 0.5, budget: int = 100) -> None:
        self._random = RandomSampler(seed=seed)
        self._rng = np.random.RandomState(seed)
        self._random_trials = int(budget * random_share)

    def infer_relative_search_space(self, study, trial):  # type: ignore[no-untyped-def]
        return {}

    def sample_relative(self, study, trial, search_space):  # type: ignore[no-untyped-def]
        return {}

    def sample_independent(self, study, trial, name, dist):  # type: ignore[no-untyped-def]
        if trial.number < self._random_trials:
            return self._random.sample_independent(study, trial, name, dist)
        front = [t for t in study.best_trials if name in t.params]
        if not front:
            return self._random.sample_independent(study, trial, name, dist)
        parent = front[self._rng.randint(len(front))]
        value = parent.params[name]
        if isinstance(dist, CategoricalDistribution):
            return dist.choices[self._rng.randint(len(dist.choices))] if self._rng.rand() < 0.2 else value
        assert isinstance(dist, FloatDistribution)
        step = 0.1 * (dist.high - dist.low)
        return float(np.clip(value + self._rng.normal(0.0, step), dist.low, dist.high))


def make(kind: str, seed: int, budget: int) -> BaseSampler:
    """Sampler by name. NSGA-II variants: ``nsga2-default`` (Optuna's population 50,
    uniform crossover, random-resampling mutation), ``nsga2-pop<N>[-sbx|-blx][-poly]``
    (population N; SBX or BLX-alpha crossover; polynomial mutation), ``nsga2`` (the
    study's default, whatever it is), ``tpe``, ``random``, ``random+mutation``."""
    if kind == "nsga2":
        return make_sampler("nsga2", seed=seed)
    if kind == "nsga2-default":
        return SeededNSGAIISampler(seed=seed, population_size=50)
    if kind.startswith("nsga2-pop"):
        from optuna.samplers.nsgaii import BLXAlphaCrossover, PolynomialMutation, SBXCrossover

        import warnings

        parts = kind.removeprefix("nsga2-pop").split("-")
        kwargs: dict[str, Any] = {"population_size": int(parts[0])}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the non-default operators are flagged experimental
            if "sbx" in parts:
                kwargs["crossover"] = SBXCrossover()
            if "blx" in parts:
                kwargs["crossover"] = BLXAlphaCrossover()
            if "poly" in parts:
                kwargs["mutation"] = PolynomialMutation()
            return SeededNSGAIISampler(seed=seed, **kwargs)
    if kind == "tpe":
        return make_sampler("tpe", seed=seed)
    if kind == "random":
        return make_sampler("random", seed=seed)
    if kind == "random+mutation":
        return RandomPlusMutationSampler(seed=seed, budget=budget)
    raise ValueError(kind)


def run_one(kind: str, seed: int, trials: int, mc_runs: int, mc_ticks: int, workdir: Path) -> dict[str, Any]:
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    budgets = load_budgets(DEFAULT_BUDGETS)
    space = load_search_space(DEFAULT_SEARCH_SPACE)
    study_dir = workdir / f"{kind}_{seed}"
    objective = Objective(ObjectiveSettings(
        study_name=f"{kind}_{seed}", study_dir=study_dir, mc_runs=mc_runs, mc_ticks=mc_ticks, seed=seed,
        alpha=budgets.alpha, command_timeout=600, mc_threads=None), space)
    study = optuna.create_study(directions=list(DIRECTIONS), sampler=make(kind, seed, trials))
    started = time.monotonic()
    study.optimize(objective, n_trials=trials, catch=(IntegrityError,))
    wall = time.monotonic() - started
    counted = counted_trials(study.get_trials())
    history = hypervolume_history(feasible_points(counted))
    front = [t for t in study.best_trials if is_feasible(t)]
    cands = [at_alpha(candidate_from_trial(t), budgets.alpha) for t in front]
    tiers = sum(1 for tier in budgets.tiers.values() if select_winner(cands, tier).winner is not None)
    return {"kind": kind, "seed": seed, "history": history, "tiers": tiers, "wall": wall,
            "feasible": sum(1 for t in counted if is_feasible(t))}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--trials", type=int, default=100)
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--mc-runs", type=int, default=100)
    p.add_argument("--mc-ticks", type=int, default=300)
    p.add_argument("--samplers", default="nsga2-default,nsga2-pop10,nsga2-pop20,tpe,random,random+mutation")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = p.parse_args()
    ensure_binaries(quiet=True)
    kinds = args.samplers.split(",")
    checkpoints = [c for c in (25, 50, 100) if c <= args.trials] or [args.trials]
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="search_quality_") as tmp:
        for kind in kinds:
            for seed in range(1, args.seeds + 1):
                r = run_one(kind, seed, args.trials, args.mc_runs, args.mc_ticks, Path(tmp))
                results.append(r)
                print(f"{kind:16s} seed {seed}: HV@{args.trials} {r['history'][-1]:.4g}, {r['feasible']} feasible, "
                      f"{r['tiers']} tiers, {r['wall']:.1f} s", flush=True)
    cpu = next((ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name")), platform.processor())
    lines = [
        f"# Search quality ({args.trials} trials, {args.seeds} seeds, {args.mc_runs} runs x {args.mc_ticks} ticks per candidate)",
        "",
        f"Machine: {os.cpu_count()} cores, {cpu}; reference point {HV_REFERENCE} (pnl_mean, kill_ucb, dd_cvar).",
        "",
        "| sampler | " + " | ".join(f"HV@{c} mean ± sd" for c in checkpoints) + " | tiers promoted (mean) | wall s/study |",
        "| --- | " + " | ".join("---" for _ in checkpoints) + " | --- | --- |",
    ]
    for kind in kinds:
        rs = [r for r in results if r["kind"] == kind]
        cells = []
        for c in checkpoints:
            vals = [r["history"][c - 1] for r in rs]
            sd = statistics.stdev(vals) if len(vals) > 1 else 0.0
            cells.append(f"{statistics.mean(vals):.4g} ± {sd:.2g}")
        lines.append(f"| {kind} | " + " | ".join(cells)
                     + f" | {statistics.mean(r['tiers'] for r in rs):.1f} | {statistics.mean(r['wall'] for r in rs):.1f} |")
    table = "\n".join(lines)
    print("\n" + table)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "search_quality.md").write_text(table + "\n")
    import plotly.graph_objects as go

    fig = go.Figure()
    for kind in kinds:
        hs = np.array([r["history"] for r in results if r["kind"] == kind])
        fig.add_trace(go.Scatter(x=list(range(1, hs.shape[1] + 1)), y=hs.mean(axis=0), name=kind, mode="lines"))
    fig.update_layout(title=f"Feasible-front hypervolume against trials (mean of {args.seeds} seeds)",
                      xaxis_title="trials", yaxis_title="hypervolume")
    fig.write_html(str(args.out / "search_quality.html"), include_plotlyjs="directory")
    print(f"\nwritten: {args.out / 'search_quality.md'}, {args.out / 'search_quality.html'}")


if __name__ == "__main__":
    main()

"""Search quality: which sampler finds the better trade-offs for the same simulation budget?

Runs real studies (the real objective: monte_carlo, both suites, verification, the
reuse of repeated candidates) for several samplers and seeds, and reports the
hypervolume (HV) of the feasible Pareto front (pnl_mean maximized, kill_ucb and dd_cvar
minimized; fixed reference point ``tuner.stats.hypervolume.HV_REFERENCE``) at the
budgets 25, 50, 100 and 300 trials: mean, standard deviation, and a paired test
(Wilcoxon signed-rank over seeds, the same seeds for every sampler) between the
default and each alternative. Each front is also re-measured on fresh Monte Carlo seeds
(every front candidate run again with the seed schedule shifted by 1 000 003) and its
HV recomputed: a front that is good only on its own seeds is not good.

A sampler whose behaviour depends on the budget (NSGA-II with its population sized from
``--trials``, random-plus-mutation with its random half) gets one study per budget, as a
user typing that ``--trials`` would run; the others run one study of the largest budget
and are read at each budget.

Results are cached per (sampler, seed) in ``benchmarks/results/search_quality/`` (one
JSON file each, written atomically), so the script can be stopped and started again and
run in the background over a long time::

    nohup .venv/bin/python benchmarks/search_quality.py --seeds 30 > sq.log 2>&1 &
    .venv/bin/python benchmarks/search_quality.py --seeds 30 --report   # table from the cache

Prints figures and writes ``benchmarks/results/search_quality.md``; never fails on them.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from optuna.distributions import CategoricalDistribution, FloatDistribution
from optuna.samplers import BaseSampler, RandomSampler

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _machine import machine

from tuner.config.budgets import load_budgets
from tuner.config.paths import DEFAULT_BUDGETS, DEFAULT_SEARCH_SPACE
from tuner.config.search_space import load_search_space
from tuner.names import DIRECTIONS
from tuner.record import Attr, counted_trials, feasible_points, is_feasible, metrics_from_summary, objective_values
from tuner.search.objective import IntegrityError, Objective, ObjectiveSettings
from tuner.session.sampler import SeededNSGAIISampler, make_sampler, population_for, sampler_available
from tuner.simulator import client
from tuner.simulator.build import ensure_binaries
from tuner.simulator.summary import read_summary
from tuner.stats.hypervolume import HV_REFERENCE, hypervolume, hypervolume_history

BUDGETS = (25, 50, 100, 300)
FRESH_SEED_SHIFT = 1_000_003
DEFAULT_KIND = "nsga2"
#: Samplers whose sampling depends on the study's total trials.
BUDGET_DEPENDENT = ("nsga2", "nsga2-sbx", "nsga2-q8", "random+mutation")


class RandomPlusMutationSampler(BaseSampler):
    """The original specification's scheme: seeded random candidates for the first half
    of the budget, then mutations around the current Pareto set (each float knob moved
    by a normal step of 10 % of its range, the profile redrawn with probability 0.2)."""

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
    """Sampler by name:

    - ``nsga2``: the study's default (Sobol first generation, population from the budget
      by :func:`tuner.session.sampler.population_for`, Optuna's uniform crossover and
      random-resampling mutation, no repeated children)
    - ``nsga2-sbx``: the same with SBX crossover and polynomial mutation
    - ``nsga2-q8``: the same with population budget // 8 (at least 6)
    - ``nsga2-old``: the previous default: population 50, random first generation
    - ``tpe``, ``random``, ``gp``: the other ``--sampler`` choices
    - ``random+mutation``: the original specification's scheme
    """
    space = load_search_space(DEFAULT_SEARCH_SPACE).distributions()
    if kind == "nsga2":
        return make_sampler("nsga2", seed=seed, population=population_for(budget), space=space)
    if kind == "nsga2-sbx":
        from optuna.samplers.nsgaii import PolynomialMutation, SBXCrossover

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the non-default operators are flagged experimental
            return SeededNSGAIISampler(seed=seed, population_size=population_for(budget), space=space,
                                       crossover=SBXCrossover(), mutation=PolynomialMutation())
    if kind == "nsga2-q8":
        return SeededNSGAIISampler(seed=seed, population_size=max(6, budget // 8), space=space)
    if kind == "nsga2-old":
        return SeededNSGAIISampler(seed=seed, population_size=50)
    if kind in ("tpe", "random", "gp"):
        return make_sampler(kind, seed=seed)
    if kind == "random+mutation":
        return RandomPlusMutationSampler(seed=seed, budget=budget)
    raise ValueError(kind)


def remeasure(front: list[dict[str, Any]], seed: int, mc_runs: int, mc_ticks: int, work: Path) -> list[list[float]]:
    """The front's candidates scored again on fresh Monte Carlo seeds (monte_carlo only:
    the suites do not depend on the seed, so feasibility carries over)."""
    out = []
    for i, cand in enumerate(front):
        d = work / f"fresh_{i}"
        r = client.run(client.monte_carlo_argv(runs=mc_runs, ticks=mc_ticks, seed=seed + FRESH_SEED_SHIFT,
                                               output_dir=d, threads=1), overlay=cand["overlay"], timeout=600)
        if r.returncode != 0:
            continue
        metrics = metrics_from_summary(read_summary(d / "mc_summary.json"), cand["alpha"])
        out.append(list(objective_values(metrics)))
        shutil.rmtree(d, ignore_errors=True)
    return out


def run_study(kind: str, seed: int, budget: int, mc_runs: int, mc_ticks: int) -> dict[str, Any]:
    """One study of ``budget`` trials: its HV history, its front re-measured, its cost."""
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    budgets = load_budgets(DEFAULT_BUDGETS)
    space = load_search_space(DEFAULT_SEARCH_SPACE)
    with tempfile.TemporaryDirectory(prefix="search_quality_") as tmp:
        work = Path(tmp)
        objective = Objective(ObjectiveSettings(
            study_name=f"{kind}_{seed}", study_dir=work, mc_runs=mc_runs, mc_ticks=mc_ticks, seed=seed,
            alpha=budgets.alpha, command_timeout=600, mc_threads=1), space)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            study = optuna.create_study(directions=list(DIRECTIONS), sampler=make(kind, seed, budget))
            started = time.monotonic()
            study.optimize(objective, n_trials=budget, catch=(IntegrityError,))
        wall = time.monotonic() - started
        counted = counted_trials(study.get_trials())
        history = hypervolume_history(feasible_points(counted))
        sampled = [t for t in counted if Attr.REUSED_FROM not in t.user_attrs]
        ids = [t.user_attrs.get(Attr.CANDIDATE_ID) for t in counted]
        fronts: dict[str, dict[str, Any]] = {}
        for b in BUDGETS:
            if b > budget or (kind in BUDGET_DEPENDENT and b != budget):
                continue
            prefix = counted[:b]
            feasible = [t for t in prefix if is_feasible(t)]
            front = [t for t in feasible if not any(_dominates(o.values, t.values) for o in feasible)]
            cands = [{"overlay": t.user_attrs[Attr.OVERLAY], "alpha": budgets.alpha} for t in front]
            fresh = remeasure(cands, seed, mc_runs, mc_ticks, work)
            fronts[str(b)] = {"hv": history[b - 1], "fresh_hv": hypervolume(fresh), "front_size": len(front)}
    return {"history": history, "fronts": fronts, "wall": wall, "reused": len(counted) - len(sampled),
            "distinct": len(set(ids)), "trials": len(counted)}


def _dominates(a: list[float], b: list[float]) -> bool:
    signs = [1.0 if d == "maximize" else -1.0 for d in DIRECTIONS]
    sa = [s * x for s, x in zip(signs, a, strict=True)]
    sb = [s * x for s, x in zip(signs, b, strict=True)]
    return all(x >= y for x, y in zip(sa, sb, strict=True)) and sa != sb


def cache_path(out: Path, kind: str, seed: int) -> Path:
    return out / "search_quality" / kind / f"seed{seed:03d}.json"


def run_cell(kind: str, seed: int, args: argparse.Namespace) -> dict[str, Any]:
    """The cached result of (sampler, seed), computed when missing or made with other settings."""
    path = cache_path(args.out, kind, seed)
    key = {"mc_runs": args.mc_runs, "mc_ticks": args.mc_ticks, "budgets": list(args.budgets)}
    if path.exists():
        cached = json.loads(path.read_text())
        if cached.get("key") == key:
            return cached
    started = time.monotonic()
    studies = {}
    if kind in BUDGET_DEPENDENT:
        for b in args.budgets:
            studies[str(b)] = run_study(kind, seed, b, args.mc_runs, args.mc_ticks)
    else:
        studies[str(max(args.budgets))] = run_study(kind, seed, max(args.budgets), args.mc_runs, args.mc_ticks)
    result = {"key": key, "kind": kind, "seed": seed, "studies": studies, "seconds": time.monotonic() - started}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(result))
    os.replace(tmp, path)
    return result


def at_budget(cell: dict[str, Any], budget: int) -> dict[str, Any] | None:
    """HV, fresh-seed HV and cost of a cell at ``budget`` trials."""
    for study in cell["studies"].values():
        f = study["fronts"].get(str(budget))
        if f is not None:
            return {**f, "reused": study["reused"], "trials": study["trials"], "wall": study["wall"]}
    return None


def report(kinds: list[str], seeds: list[int], args: argparse.Namespace) -> str:
    from scipy.stats import wilcoxon

    cells = {(k, s): json.loads(cache_path(args.out, k, s).read_text())
             for k in kinds for s in seeds if cache_path(args.out, k, s).exists()}
    lines = [
        f"# Search quality ({args.mc_runs} runs x {args.mc_ticks} ticks per candidate, seeds {seeds[0]}..{seeds[-1]})",
        "",
        f"Machine: {machine()}; reference point {HV_REFERENCE} (pnl_mean, kill_ucb, dd_cvar).",
        "HV = hypervolume of the feasible front (study seeds); fresh = the same front re-measured on fresh seeds.",
        "p = Wilcoxon signed-rank (two-sided) of the default against the sampler, paired by seed; "
        "'+' = the default's mean is higher.",
        "",
    ]
    for b in args.budgets:
        lines += [f"## {b} trials", "",
                  "| sampler | seeds | HV mean ± sd | p vs default (HV) | fresh HV mean ± sd | p vs default (fresh) "
                  "| front size | reused trials | s/study |",
                  "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
        base = {s: at_budget(cells[(DEFAULT_KIND, s)], b) for s in seeds if (DEFAULT_KIND, s) in cells}
        for k in kinds:
            rows = {s: at_budget(cells[(k, s)], b) for s in seeds if (k, s) in cells}
            rows = {s: r for s, r in rows.items() if r is not None}
            if not rows:
                continue
            hv = [r["hv"] for r in rows.values()]
            fr = [r["fresh_hv"] for r in rows.values()]
            cells_txt = []
            for field, vals in (("hv", hv), ("fresh_hv", fr)):
                sd = statistics.stdev(vals) if len(vals) > 1 else 0.0
                mean = f"{statistics.mean(vals):.4g} ± {sd:.2g}"
                paired = [(base[s][field], rows[s][field]) for s in rows if base.get(s) is not None]
                if k == DEFAULT_KIND or len(paired) < 6:
                    p = "—"
                else:
                    d = [a - c for a, c in paired]
                    pv = wilcoxon([a for a, _ in paired], [c for _, c in paired]).pvalue if any(d) else 1.0
                    p = f"{pv:.3g} ({'+' if statistics.mean(d) > 0 else '-'})"
                cells_txt += [mean, p]
            lines.append(
                f"| {k} | {len(rows)} | {cells_txt[0]} | {cells_txt[1]} | {cells_txt[2]} | {cells_txt[3]} "
                f"| {statistics.mean(r['front_size'] for r in rows.values()):.1f} "
                f"| {statistics.mean(r['reused'] for r in rows.values()):.2f} "
                f"| {statistics.mean(r['wall'] for r in rows.values()):.1f} |")
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", type=int, default=30, help="seeds 1..N for every sampler (default 30)")
    p.add_argument("--first-seed", type=int, default=1)
    p.add_argument("--budgets", type=lambda s: tuple(int(x) for x in s.split(",")), default=BUDGETS)
    p.add_argument("--mc-runs", type=int, default=50)
    p.add_argument("--mc-ticks", type=int, default=200)
    p.add_argument("--samplers", default="nsga2,nsga2-old,tpe,random,random+mutation,gp")
    p.add_argument("--report", action="store_true", help="only print the table from the cache")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = p.parse_args()
    kinds = args.samplers.split(",")
    if "gp" in kinds and not sampler_available("gp"):
        print("gp: not installed (pip install -e '.[gp]'); left out", file=sys.stderr)
        kinds.remove("gp")
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    if not args.report:
        ensure_binaries(quiet=True)
        print(f"machine: {os.cpu_count()} cores; load average {os.getloadavg()}", flush=True)
        for seed in seeds:  # seed-major: a stopped run leaves every sampler with the same seeds
            for kind in kinds:
                path = cache_path(args.out, kind, seed)
                fresh = not path.exists()
                cell = run_cell(kind, seed, args)
                if fresh:
                    b = max(args.budgets)
                    r = at_budget(cell, b) or {}
                    print(f"{kind:16s} seed {seed:3d}: HV@{b} {r.get('hv', math.nan):.4g} "
                          f"(fresh {r.get('fresh_hv', math.nan):.4g}), reused {r.get('reused')}, "
                          f"{cell['seconds']:.0f} s", flush=True)
    table = report(kinds, seeds, args)
    print("\n" + table)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "search_quality.md").write_text(table + "\n")


if __name__ == "__main__":
    main()

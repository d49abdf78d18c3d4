"""Per-trial cost of a study: wall time per trial and the orchestration overhead (the
start-to-start time of consecutive trials minus the time spent inside the simulator).

    .venv/bin/python benchmarks/trial_cost.py                      # 20 trials, 50 runs x 600 ticks, SQLite
    .venv/bin/python benchmarks/trial_cost.py --mc-runs 10 --mc-ticks 50 --trials 200
    .venv/bin/python benchmarks/trial_cost.py --baseline 6ad467d   # side by side with a commit
    .venv/bin/python benchmarks/trial_cost.py --storage postgresql+psycopg://USER@HOST/DB

Defaults are the original specification's settings (50 Monte Carlo runs x 600 ticks),
with both suites and all verification, so the figure is comparable with its pipeline.

Inside the simulator: the simulator's own time when the trial records it
(``run.simulator_seconds``: ``sim_eval trial``'s document; its process start and exit
are orchestration), else the wall time of the binaries the trial ran
(``run.binary_seconds``, versions that ran six commands per trial). Start to start:
``datetime_start`` of trial n+1 minus that of trial n, so the sampler, the storage and
everything between trials count. Also printed: bytes and files per trial directory.

``--baseline REF`` checks REF out into a temporary worktree, builds it, and runs the same
study with it and with this tree alternately (``--rounds`` times each), so both figures
come from one machine in one session. Prints figures; never fails on them.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import optuna

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _machine import machine  # noqa: E402

from tuner.record import counted_trials  # noqa: E402
from tuner.session.storage import parse_storage  # noqa: E402


def measure(tree: Path, trials: int, mc_runs: int, mc_ticks: int, storage: str | None, workdir: Path, study: str,
            extra: list[str]) -> dict[str, Any]:
    args = [sys.executable, "-m", "tuner.study", "--study", study, "--trials", str(trials), "--mc-runs", str(mc_runs),
            "--mc-ticks", str(mc_ticks), "--no-promote", "--quiet", "--study-dir", str(workdir / study),
            "--storage", storage or f"sqlite:///{workdir / (study + '.db')}", *extra]
    started = time.monotonic()
    # The tree's own package first: a baseline worktree runs its own tuner.
    env = {**os.environ, "PYTHONPATH": str(tree)}
    subprocess.run(args, cwd=tree, check=True, stdout=subprocess.DEVNULL, env=env)
    wall = time.monotonic() - started
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    url = storage or f"sqlite:///{workdir / (study + '.db')}"
    ts = sorted(counted_trials(optuna.load_study(
        study_name=study, storage=parse_storage(url).url.render_as_string(hide_password=False)).get_trials()),
        key=lambda t: t.datetime_start)
    per = [(t.datetime_complete - t.datetime_start).total_seconds() for t in ts]
    inside = [float(t.user_attrs["run"].get("simulator_seconds", t.user_attrs["run"]["binary_seconds"])) for t in ts]
    starts = [t.datetime_start.timestamp() for t in ts]
    gaps = [b - a for a, b in zip(starts, starts[1:])]
    overhead = [g - s for g, s in zip(gaps, inside)]
    dirs = [p for p in (workdir / study / "trials").iterdir() if p.is_dir()]
    files = [f for d in dirs for f in d.rglob("*") if f.is_file()]
    return {"study_wall_s": wall, "trial_median_s": statistics.median(per), "inside_median_ms": 1000 * statistics.median(inside),
            "start_to_start_median_ms": 1000 * statistics.median(gaps),
            "overhead_median_ms": 1000 * statistics.median(overhead),
            "overhead_p95_ms": 1000 * statistics.quantiles(overhead, n=20)[-1] if len(overhead) >= 20 else float("nan"),
            "trials": len(ts), "bytes_per_trial": sum(f.stat().st_size for f in files) / len(dirs),
            "files_per_trial": len(files) / len(dirs)}


def build(tree: Path) -> None:
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=tree, check=True)


def report(name: str, r: dict[str, Any]) -> str:
    return (f"{name:<10} {r['trials']:>6} {r['trial_median_s'] * 1000:>10.1f} {r['inside_median_ms']:>10.1f} "
            f"{r['start_to_start_median_ms']:>10.1f} {r['overhead_median_ms']:>10.1f} {r['overhead_p95_ms']:>10.1f} "
            f"{r['bytes_per_trial'] / 1000:>9.1f} {r['files_per_trial']:>6.1f} {r['study_wall_s']:>8.1f}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--trials", type=int, default=20)
    p.add_argument("--mc-runs", type=int, default=50)
    p.add_argument("--mc-ticks", type=int, default=600)
    p.add_argument("--storage", default=None)
    p.add_argument("--mc-threads", type=int, default=None)
    p.add_argument("--baseline", metavar="REF", default=None, help="a commit to run side by side with this tree")
    p.add_argument("--rounds", type=int, default=2, help="alternations with --baseline (default 2)")
    args = p.parse_args()
    extra = ["--mc-threads", str(args.mc_threads)] if args.mc_threads else []
    trees = {"this tree": ROOT}
    with tempfile.TemporaryDirectory(prefix="trial_cost_") as tmp:
        if args.baseline:
            base = Path(tmp) / "baseline"
            subprocess.run(["git", "worktree", "add", "--detach", "-q", str(base), args.baseline], cwd=ROOT, check=True)
            trees = {args.baseline: base, "this tree": ROOT}
        try:
            for tree in trees.values():
                build(tree)
            print(f"machine: {machine()}; storage: "
                  f"{parse_storage(args.storage).redacted if args.storage else 'SQLite (default)'}")
            print(f"{args.trials} trials of {args.mc_runs} runs x {args.mc_ticks} ticks, both suites, verification; "
                  "medians per trial (ms) unless said")
            print(f"{'version':<10} {'trials':>6} {'trial':>10} {'inside':>10} {'start2start':>10} {'overhead':>10} "
                  f"{'ovh p95':>10} {'KB/trial':>9} {'files':>6} {'wall s':>8}")
            for round_ in range(args.rounds if args.baseline else 1):
                for name, tree in trees.items():
                    study = f"cost{round_}_{'base' if tree != ROOT else 'head'}"
                    if args.storage:
                        study += f"_{int(time.time())}"
                    r = measure(tree, args.trials, args.mc_runs, args.mc_ticks, args.storage, Path(tmp), study, extra)
                    print(report(name[:10], r), flush=True)
        finally:
            if args.baseline:
                subprocess.run(["git", "worktree", "remove", "--force", str(Path(tmp) / "baseline")], cwd=ROOT,
                               check=False)


if __name__ == "__main__":
    main()

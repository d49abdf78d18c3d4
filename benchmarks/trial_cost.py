"""Per-trial cost of a study: wall time per trial and the orchestration overhead
(trial wall time minus the time spent inside the simulator binaries).

    .venv/bin/python benchmarks/trial_cost.py                      # 20 trials, 50 runs x 600 ticks, SQLite
    .venv/bin/python benchmarks/trial_cost.py --storage postgresql+psycopg://USER@HOST/DB

Defaults are the original specification's settings (50 Monte Carlo runs x 600 ticks),
with both suites and all verification, so the figure is comparable with its pipeline.
Prints figures; never fails on them.
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

import optuna

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tuner.record import counted_trials  # noqa: E402
from tuner.session.storage import parse_storage  # noqa: E402


def measure(trials: int, mc_runs: int, mc_ticks: int, storage: str | None, workdir: Path, study: str,
            extra: list[str]) -> dict[str, float]:
    args = [sys.executable, "-m", "tuner.study", "--study", study, "--trials", str(trials), "--mc-runs", str(mc_runs),
            "--mc-ticks", str(mc_ticks), "--no-promote", "--quiet", *extra]
    if storage:
        args += ["--storage", storage]
    started = time.monotonic()
    subprocess.run(args, cwd=workdir, check=True, stdout=subprocess.DEVNULL)
    wall = time.monotonic() - started
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    url = storage or f"sqlite:///{workdir / 'studies' / (study + '.db')}"
    ts = counted_trials(optuna.load_study(study_name=study, storage=parse_storage(url).url.render_as_string(hide_password=False)).get_trials())
    per = [(t.datetime_complete - t.datetime_start).total_seconds() for t in ts]
    binary = [t.user_attrs["run"]["binary_seconds"] for t in ts]
    overhead = [p - b for p, b in zip(per, binary)]
    return {"study_wall_s": wall, "trial_mean_s": statistics.mean(per), "trial_median_s": statistics.median(per),
            "binaries_mean_s": statistics.mean(binary), "overhead_mean_ms": 1000 * statistics.mean(overhead),
            "overhead_median_ms": 1000 * statistics.median(overhead), "trials": len(ts)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--trials", type=int, default=20)
    p.add_argument("--mc-runs", type=int, default=50)
    p.add_argument("--mc-ticks", type=int, default=600)
    p.add_argument("--storage", default=None)
    p.add_argument("--mc-threads", type=int, default=None)
    args = p.parse_args()
    extra = ["--mc-threads", str(args.mc_threads)] if args.mc_threads else []
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    with tempfile.TemporaryDirectory(prefix="trial_cost_") as tmp:
        study = f"cost{int(time.time())}"
        r = measure(args.trials, args.mc_runs, args.mc_ticks, args.storage, Path(tmp), study, extra)
    print(f"machine: {os.cpu_count()} cores; storage: {parse_storage(args.storage).redacted if args.storage else 'SQLite (default)'}")
    print(f"{r['trials']} trials of {args.mc_runs} runs x {args.mc_ticks} ticks, both suites, verification:")
    print(f"  per trial:  mean {r['trial_mean_s']:.3f} s, median {r['trial_median_s']:.3f} s")
    print(f"  in binaries: mean {r['binaries_mean_s']:.3f} s per trial")
    print(f"  overhead (trial wall - binaries): mean {r['overhead_mean_ms']:.1f} ms, median {r['overhead_median_ms']:.1f} ms")
    print(f"  whole study (process start to exit, incl. preflight and outputs): {r['study_wall_s']:.1f} s")


if __name__ == "__main__":
    main()

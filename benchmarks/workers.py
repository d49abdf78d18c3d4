"""Scale-out on one host: trials per minute with 1, 2 and 3 local workers sharing a study
on PostgreSQL (each monte_carlo on one thread), and the storage overhead per trial on
PostgreSQL against SQLite.

    .venv/bin/python benchmarks/workers.py            # 30 trials of 200 runs x 600 ticks per setting

Starts a throwaway PostgreSQL server on loopback (as the tests do) and stops it after.
Prints figures; never fails on them.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))

import pgserver  # noqa: E402
from trial_cost import measure  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--trials", type=int, default=30)
    p.add_argument("--mc-runs", type=int, default=200)
    p.add_argument("--mc-ticks", type=int, default=600)
    args = p.parse_args()
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    server = pgserver.start()
    env = dict(os.environ, TUNER_DB_PASSWORD=pgserver.PASSWORD)
    try:
        print(f"machine: {os.cpu_count()} cores; {args.trials} trials of {args.mc_runs} runs x {args.mc_ticks} ticks, "
              "both suites, verification; monte_carlo --threads 1")
        base = None
        for workers in (1, 2, 3):
            with tempfile.TemporaryDirectory(prefix="workers_") as tmp:
                cmd = [sys.executable, "-m", "tuner.study", "--study", f"w{workers}", "--storage", server.url(password=False),
                       "--trials", str(args.trials), "--mc-runs", str(args.mc_runs), "--mc-ticks", str(args.mc_ticks),
                       "--mc-threads", "1", "--workers", str(workers), "--no-promote", "--quiet"]
                started = time.monotonic()
                subprocess.run(cmd, cwd=tmp, env=env, check=True, stdout=subprocess.DEVNULL)
                wall = time.monotonic() - started
            rate = args.trials / wall * 60
            base = base or rate
            print(f"  {workers} worker(s): {wall:6.1f} s, {rate:6.1f} trials/min ({rate / base:.2f}x one worker)")
        with tempfile.TemporaryDirectory(prefix="storage_") as tmp:
            pg = measure(args.trials, args.mc_runs, args.mc_ticks, server.url(), Path(tmp), "pgcost", ["--mc-threads", "1"])
            lite = measure(args.trials, args.mc_runs, args.mc_ticks, None, Path(tmp), "litecost", ["--mc-threads", "1"])
        print(f"  overhead per trial (wall - binaries), one worker: PostgreSQL {pg['overhead_mean_ms']:.1f} ms "
              f"(median {pg['overhead_median_ms']:.1f}), SQLite {lite['overhead_mean_ms']:.1f} ms "
              f"(median {lite['overhead_median_ms']:.1f})")
    finally:
        server.stop()


if __name__ == "__main__":
    main()

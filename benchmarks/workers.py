"""Scale-out on one host: trials per minute with 1, 2 and 3 local workers sharing a study
on PostgreSQL (each monte_carlo on one thread), the storage's cost per trial (server
transactions per trial and the peak number of connections per worker, read from the
server's own statistics), and the storage overhead per trial on PostgreSQL against SQLite.

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
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))

import pgserver  # noqa: E402
from trial_cost import measure  # noqa: E402


def _transactions(server: pgserver.PgServer) -> int:
    out = server.psql("SELECT xact_commit + xact_rollback FROM pg_stat_database "
                      f"WHERE datname = '{pgserver.DATABASE}'")
    return int(out.strip())


class _PeakConnections:
    """Samples the server's client connections to the study database every 50 ms."""

    def __init__(self, server: pgserver.PgServer) -> None:
        self.server, self.peak, self._stop = server, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            out = self.server.psql("SELECT count(*) FROM pg_stat_activity "
                                   f"WHERE datname = '{pgserver.DATABASE}' AND backend_type = 'client backend'")
            self.peak = max(self.peak, int(out.strip()) - 1)  # minus this sampler's own connection
            time.sleep(0.05)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


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
                xacts = _transactions(server)
                peak = _PeakConnections(server)
                started = time.monotonic()
                subprocess.run(cmd, cwd=tmp, env=env, check=True, stdout=subprocess.DEVNULL)
                wall = time.monotonic() - started
                connections = peak.stop()
                # The server counts its statistics asynchronously; give it a moment.
                time.sleep(1.0)
                per_trial = (_transactions(server) - xacts) / args.trials
            rate = args.trials / wall * 60
            base = base or rate
            print(f"  {workers} worker(s): {wall:6.1f} s, {rate:6.1f} trials/min ({rate / base:.2f}x one worker); "
                  f"{per_trial:.0f} server transactions per trial; peak {connections} connections "
                  f"({connections / workers:.1f} per worker)")
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

"""How the cost of a trial's orchestration grows with the study: the product's sampler
(seeded NSGA-II with its Sobol first generation and repeat redraws, per-trial seeding
from the logical index) and the product's storage, with a synthetic objective in place
of the simulator, so only what Optuna and the storage cost is measured.

    .venv/bin/python benchmarks/scale.py                     # 10 000 trials on SQLite
    .venv/bin/python benchmarks/scale.py --trials 3000 --storage postgresql+psycopg://...

The synthetic objective writes user attributes of the size a real trial writes (about
3 KB in 12 keys) and a constraint, and returns three objective values computed from
the parameters (so NSGA-II has a real front to work on). Printed per block of trials:
p50 and p95 of the time from one trial's start to the next one's start. What a real
trial adds (process starts, evidence, the simulator) is measured by trial_cost.py.
``--loop product`` (the default) runs the trials through the product's own worker loop
(``tuner.search.worker.run_worker``: the reservation lock, the stale-trial check, the
budget count, the progress line (written to /dev/null) and the reuse look-up a real
trial makes); ``--loop optuna`` through a bare ``study.optimize``. ``--profile`` prints
the functions where the last block's time went (cProfile, cumulative). Per block it
also prints how often a trial read the study: ``lists`` counts ``get_all_trials`` calls
(each sorts every cached trial into a new list, so its cost grows with the study),
``syncs`` the storage cache's reads of new and unfinished trials from the database
(``_read_trials_from_remote_storage``, which ``get_all_trials`` makes too).
Prints figures; never fails on them.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import json
import math
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import optuna
from _machine import machine

from tuner.config.paths import DEFAULT_SEARCH_SPACE
from tuner.config.search_space import load_search_space
from tuner.names import DIRECTIONS, candidate_id
from tuner.record import CONSTRAINT_KEY
from tuner.search import reuse
from tuner.search.progress import Progress
from tuner.search.worker import ReservationLock, run_worker
from tuner.session.recovery import StaleTrialRetry
from tuner.session.sampler import make_sampler, population_for
from tuner.session.storage import make_storage, parse_storage

optuna.logging.set_verbosity(optuna.logging.ERROR)

#: User attributes shaped like a real trial's (key -> approximate JSON size in bytes).
_ATTR_SIZES = {"candidate_id": 14, "evidence": 183, "evidence_verified": 4, "kill_count": 1, "metrics": 753,
               "overlay": 331, "pnl_lcb": 18, "run": 1398, "suites": 152, "suites_passed": 4, "trial_dir": 56,
               "worker": 9}


_DICT_ATTRS = {"evidence", "metrics", "overlay", "run", "suites"}


def _objective(space, product: bool):  # type: ignore[no-untyped-def]
    def run(trial: optuna.Trial) -> tuple[float, float, float]:
        params = space.suggest(trial)
        if product:  # the look-up every real trial makes before it simulates
            reuse.stored_result(trial, candidate_id(space.overlay(params)), {"mc_runs": 1, "mc_ticks": 1, "seed": 1})
        x = np.array([hash(json.dumps(v)) % 1000 / 1000.0 if isinstance(v, str) else float(v)
                      for v in params.values()])
        z = np.tanh(x / (1.0 + np.abs(x).max()))
        pnl, kill, dd = float(100 * z.sum()), float(abs(math.sin(z[0] * 7))), float(50 * (z ** 2).sum())
        for key, size in _ATTR_SIZES.items():
            pad = "x" * max(size - 14, 0)
            # Dict-valued where the product's are (the views read them as mappings).
            trial.set_user_attr(key, {"pad": pad} if key in _DICT_ATTRS else pad)
        trial.set_constraint(CONSTRAINT_KEY, float(z[1] > 0.9))
        return pnl, kill, dd
    return run


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--trials", type=int, default=10_000)
    p.add_argument("--block", type=int, default=1000, help="trials per reported block")
    p.add_argument("--storage", default=None, help="default: a SQLite file in a temporary directory")
    p.add_argument("--loop", choices=("product", "optuna"), default="product")
    p.add_argument("--profile", action="store_true", help="profile the last block of trials")
    args = p.parse_args()
    space = load_search_space(DEFAULT_SEARCH_SPACE)
    with tempfile.TemporaryDirectory(prefix="scale_") as tmp:
        url = args.storage or f"sqlite:///{tmp}/scale.db"
        storage = make_storage(parse_storage(url), create=True, stale_trial_callback=StaleTrialRetry(len(space.knobs)))
        sampler = make_sampler("nsga2", seed=42, population=population_for(args.trials), space=space.distributions())
        name = f"scale_{os.getpid()}"
        study = optuna.create_study(study_name=name, storage=storage, sampler=sampler,
                                    directions=[optuna.study.StudyDirection[d.upper()] for d in DIRECTIONS])
        starts: list[float] = []
        reads = {"lists": 0, "syncs": 0}
        cache = study._storage
        for method, counter in (("get_all_trials", "lists"), ("_read_trials_from_remote_storage", "syncs")):
            real = getattr(cache, method, None)
            if real is not None:
                def counting(*a, _real=real, _counter=counter, **k):  # type: ignore[no-untyped-def]
                    reads[_counter] += 1
                    return _real(*a, **k)
                setattr(cache, method, counting)
        marks: list[dict[str, int]] = []
        spec = parse_storage(url)
        print(f"machine: {machine()}; "
              f"{args.trials} synthetic trials, NSGA-II population {population_for(args.trials)}, "
              f"storage {spec.redacted}, loop {args.loop}")
        print(f"{'trials':>13} {'p50 ms':>8} {'p95 ms':>8} {'lists/trial':>12} {'syncs/trial':>12}")
        objective = _objective(space, args.loop == "product")
        profiler = cProfile.Profile() if args.profile else None

        def stamp(_: optuna.Study, __: optuna.trial.FrozenTrial) -> None:
            starts.append(time.perf_counter())
            marks.append(dict(reads))
            n = len(starts)
            if profiler is not None and n == max(1, args.trials - args.block):
                profiler.enable()
            if n % args.block == 0 or n == args.trials:
                lo = max(0, n - args.block)
                gaps = np.diff(np.array(starts[lo:n])) * 1000
                if len(gaps):
                    per = {k: (marks[n - 1][k] - marks[lo][k]) / (n - 1 - lo) for k in reads}
                    print(f"{lo + 1:>6}-{n:<6} {np.percentile(gaps, 50):8.1f} {np.percentile(gaps, 95):8.1f} "
                          f"{per['lists']:12.2f} {per['syncs']:12.2f}", flush=True)

        started = time.perf_counter()
        if args.loop == "optuna":
            study.optimize(objective, n_trials=args.trials, callbacks=[stamp])
        else:
            lock = ReservationLock(spec, name, study._storage)
            with open(os.devnull, "w") as null, contextlib.redirect_stderr(null):
                run_worker(study, objective, target=args.trials, lock=lock, catch=(),
                           callbacks=[Progress(args.trials, 0, quiet=False), stamp])
        if profiler is not None:
            profiler.disable()
        print(f"total {time.perf_counter() - started:.1f} s")
        if profiler is not None:
            text = io.StringIO()
            pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(30)
            pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(15)
            print(text.getvalue())
        if args.storage:
            optuna.delete_study(study_name=name, storage=storage)


if __name__ == "__main__":
    main()

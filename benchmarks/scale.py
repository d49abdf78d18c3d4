"""How the cost of a study grows with its size, two ways.

Synthetic (default): the orchestration alone. The product's sampler (seeded NSGA-II with
its Sobol first generation and repeat redraws, per-trial seeding from the logical index)
and the product's storage, with a synthetic objective in place of the simulator, so only
what Optuna and the storage cost is measured.

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

Real (``--real``): the product itself on cheap Monte Carlo, ``python -m tuner.study
--trials N --mc-runs 10 --mc-ticks 50 --no-promote`` (the real simulator, both suites,
every verification), as a child process, on SQLite (default), ``--storage URL`` or
``--postgres`` (a throwaway PostgreSQL on loopback, as benchmarks/workers.py starts one,
stopped afterwards). Printed: wall time and peak RSS of the study process; per block of
trials (read back from the storage) p50/p95 of the start-to-start time, the time inside
the simulator (the ``run`` attribute's ``simulator_seconds``, the simulator's own time,
or ``binary_seconds`` for versions that ran six commands) and the overhead (start-to-start
minus simulator time); files and bytes per entry of ``<study dir>/trials/`` (whatever
the entries hold: a directory is walked whole); then the wall time and peak RSS of
``tuner.show`` (table, ``--json``, ``--front``) and ``tuner.promote --dry-run`` on the study
(median of ``--repeat`` runs, each a fresh process as a user runs it), and the requests
optuna-dashboard's study page makes when it first opens (``tuner.dashboard`` on a
loopback port; cold, then again).

``--clone-trials N`` then builds a study of N trials cloned from the real one (or, with
``--clone-from STUDY [--clone-storage URL]``, from an existing study, without running
one): copies of its finished trials through ``optuna.trial.create_trial``, jittered so
that every candidate is distinct (see :func:`clone_study`), pointing at the real trial
directories; and times the same views on it. Its figures are the views' cost at N
trials, not a real study's (no sampler, no simulator made them).

    .venv/bin/python benchmarks/scale.py --real --trials 1000 --block 250 --clone-trials 10000
    .venv/bin/python benchmarks/scale.py --real --trials 1000 --postgres
    .venv/bin/python benchmarks/scale.py --clone-from phaseA --clone-trials 10000

``--workdir DIR`` keeps the studies, databases and logs (default: a temporary directory,
removed). Prints figures; never fails on them.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import cProfile
import io
import itertools
import json
import math
import os
import pstats
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import warnings
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import optuna
from _machine import machine
from optuna.storages._rdb import models as rdb_models
from optuna.storages._rdb.storage import _create_scoped_session
from optuna.trial import TrialState

from tuner.config.paths import DEFAULT_SEARCH_SPACE
from tuner.config.search_space import load_search_space
from tuner.names import DIRECTIONS, METRIC_NAMES, candidate_id
from tuner.record import CONSTRAINT_KEY, RETRY_OF_KEY, Attr, StudyAttr, counted_trials
from tuner.search import reuse
from tuner.search.progress import Progress
from tuner.search.worker import ReservationLock, run_worker
from tuner.session.ownership import claim
from tuner.session.recovery import StaleTrialRetry
from tuner.session.sampler import make_sampler, population_for
from tuner.session.storage import make_storage, parse_storage, redact

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


def run_synthetic(args: argparse.Namespace) -> None:
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


# ---------------------------------------------------------------------------------------
# The real product: tuner.study on cheap Monte Carlo, then the views on that study and on
# a cloned study of --clone-trials trials.

#: The requests optuna-dashboard's study page makes when it first opens (its bundle.js:
#: the page, the script, /api/meta, the study detail, the parameter importances).
_DASHBOARD_FIRST_PAGE = ("/dashboard/studies/{id}", "/static/bundle.js", "/api/meta", "/api/studies/{id}?after=0",
                         "/api/studies/{id}/param_importances")


def _child_env() -> dict[str, str]:
    """The environment of the product's commands: this checkout's tuner first."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    return env


def _run_child(argv: list[str], cwd: Path, log: Path) -> tuple[float, float, int]:
    """Runs ``argv``; returns (wall seconds, peak RSS in MB, exit status). The peak is
    the largest resident set of the process and of the children it waited for
    (``wait4``'s ru_maxrss, Linux), so for tuner.* the Python process's own."""
    started = time.perf_counter()
    with open(log, "ab") as out:
        proc = subprocess.Popen(argv, cwd=cwd, env=_child_env(), stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    return time.perf_counter() - started, usage.ru_maxrss / 1024, proc.returncode


def _pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else math.nan


def _seconds(run: Any, key: str) -> float:
    value = run.get(key) if isinstance(run, dict) else None
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else math.nan


def trial_overheads(trials: list[optuna.trial.FrozenTrial], block: int) -> None:
    """Per block of trials (by number): start-to-start time, time inside the simulator
    (``run.simulator_seconds``, else ``run.binary_seconds``) and the overhead
    (start-to-start minus simulator time)."""
    done = sorted((t for t in trials if t.datetime_start is not None and t.state.is_finished()),
                  key=lambda t: t.number)
    print(f"{'trials':>13} {'start-to-start p50/p95 ms':>26} {'simulator p50 ms':>17} "
          f"{'overhead p50/p95 ms':>20} {'in objective, not simulator, p50 ms':>36}")
    rows = []
    for a, b in itertools.pairwise(done):
        gap = (b.datetime_start - a.datetime_start).total_seconds()
        run = a.user_attrs.get("run")
        # The simulator's own time when the trial records it (one sim_eval trial process:
        # its start and exit are orchestration), else the binaries' wall time (six commands).
        own = _seconds(run, "simulator_seconds")
        binary = own if not math.isnan(own) else _seconds(run, "binary_seconds")
        inside = _seconds(run, "seconds")
        rows.append((a.number, gap, binary, gap - binary if not math.isnan(binary) else math.nan, inside - binary))
    for lo in range(0, len(rows), block):
        part = rows[lo:lo + block]
        gaps = [1000 * r[1] for r in part]
        sim = [1000 * r[2] for r in part if not math.isnan(r[2])]
        over = [1000 * r[3] for r in part if not math.isnan(r[3])]
        py = [1000 * r[4] for r in part if not math.isnan(r[4])]
        print(f"{part[0][0]:>6}-{part[-1][0]:<6} {_pct(gaps, 50):12.1f} /{_pct(gaps, 95):8.1f}     {_pct(sim, 50):12.1f}"
              f"     {_pct(over, 50):9.1f} /{_pct(over, 95):8.1f} {_pct(py, 50):28.1f}", flush=True)
    if not any(not math.isnan(r[2]) for r in rows):
        print("  (no trial records run.binary_seconds: the overhead columns are empty)")


def trial_files(trials_dir: Path) -> None:
    """Bytes and files per entry of ``<study dir>/trials/`` (a directory is walked whole,
    a file counts as one), whatever the entries hold: apparent bytes (file sizes) and
    bytes on disk (allocated blocks)."""
    files, sizes, disk = [], [], []
    entries = sorted(trials_dir.iterdir()) if trials_dir.is_dir() else []
    for entry in entries:
        n = size = blocks = 0
        paths = [entry] if not entry.is_dir() else [Path(d) / f for d, _, fs in os.walk(entry) for f in fs]
        for path in paths:
            st = path.lstat()
            n, size, blocks = n + 1, size + st.st_size, blocks + st.st_blocks * 512
        files.append(n)
        sizes.append(size)
        disk.append(blocks)
    if not entries:
        print(f"trial directories: none in {trials_dir}")
        return
    print(f"per trial entry of {trials_dir} ({len(entries)} entries): files mean {np.mean(files):.1f} "
          f"(min {min(files)}, max {max(files)}); bytes mean {np.mean(sizes) / 1024:.1f} KiB "
          f"(p50 {_pct(sizes, 50) / 1024:.1f}, max {max(sizes) / 1024:.1f}), on disk mean {np.mean(disk) / 1024:.1f} KiB; "
          f"total {sum(files)} files, {sum(sizes) / 2**20:.1f} MiB ({sum(disk) / 2**20:.1f} MiB on disk)")


def _dir_size(path: Path) -> tuple[int, int]:
    n = size = 0
    for d, _, fs in os.walk(path):
        for f in fs:
            n, size = n + 1, size + (Path(d) / f).lstat().st_size
    return n, size


def _open(url: str, name: str) -> optuna.Study:
    return optuna.load_study(study_name=name, storage=make_storage(parse_storage(url), create=False))


def clone_study(src_name: str, src_url: str, dst_name: str, dst_url: str, n: int, study_dir: Path,
                seed: int = 0) -> None:
    """A study of ``n`` trials made of ``src``'s finished trials (optuna.trial.create_trial
    and study.add_trials): the first copy of each source trial is exact; later copies get
    jittered float knobs (so a new overlay and candidate id: every candidate is distinct),
    jittered ``pnl_mean``/``pnl_lcb`` and ``dd_cvar`` (values and metrics alike; the kill
    statistics, discrete, are kept), and keep the source's ``trial_dir`` (real evidence
    that verifies). Retry and reuse links are dropped (they name source trial numbers)."""
    space = load_search_space(DEFAULT_SEARCH_SPACE)
    dists = space.distributions()
    src = _open(src_url, src_name)
    pool = [t for t in counted_trials(src.get_trials(deepcopy=False)) if t.state.is_finished()]
    if not pool:
        raise SystemExit(f"--clone-from {src_name}: no finished trial to clone")
    spec = parse_storage(dst_url)
    storage = make_storage(spec, create=True)
    dst = optuna.create_study(study_name=dst_name, storage=storage, directions=src.directions)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # set_metric_names is flagged experimental
        dst.set_metric_names(list(src.metric_names or METRIC_NAMES))
    for key, value in src.user_attrs.items():
        dst.set_user_attr(key, value)
    dst.set_user_attr(StudyAttr.STUDY_DIR, str(study_dir))
    dst.set_user_attr(StudyAttr.STORAGE, spec.redacted)
    claim(study_dir, spec, dst_name, dst._study_id)
    rng = np.random.default_rng(seed)
    drop_user = {Attr.REUSED_FROM, Attr.RETRY_OF, Attr.INTERRUPTED}
    drop_system = {RETRY_OF_KEY, "retry_history"}
    batch: list[optuna.trial.FrozenTrial] = []
    for i in range(n):
        t = pool[i % len(pool)]
        ua = {k: copy.deepcopy(v) for k, v in t.user_attrs.items() if k not in drop_user}
        params = dict(t.params)
        values = list(t.values) if t.values else None
        if i >= len(pool):
            for name, d in dists.items():
                if isinstance(d, optuna.distributions.FloatDistribution) and name in params:
                    width = d.high - d.low
                    params[name] = float(np.clip(params[name] + rng.normal(0, 0.02 * width), d.low, d.high))
            ua[Attr.OVERLAY] = space.overlay(params)
            ua[Attr.CANDIDATE_ID] = candidate_id(ua[Attr.OVERLAY])
            metrics = ua.get(Attr.METRICS)
            if isinstance(metrics, dict) and values is not None and "pnl_mean" in metrics:
                shift = float(rng.normal(0, 0.05 * max(abs(float(metrics["pnl_mean"])), 1.0)))
                metrics["pnl_mean"] = float(metrics["pnl_mean"]) + shift
                if isinstance(metrics.get("pnl_lcb"), (int, float)):
                    metrics["pnl_lcb"] = float(metrics["pnl_lcb"]) + shift
                    ua[Attr.PNL_LCB] = metrics["pnl_lcb"]
                if isinstance(metrics.get("dd_cvar"), (int, float)):
                    metrics["dd_cvar"] = float(metrics["dd_cvar"]) * float(np.exp(rng.normal(0, 0.05)))
                values = [float(metrics[m]) for m in METRIC_NAMES]
        # The constraints are system attributes: copied as the trial stored them.
        system = {k: v for k, v in t.system_attrs.items() if k not in drop_system}
        batch.append(optuna.trial.create_trial(
            state=t.state, values=values if t.state == TrialState.COMPLETE else None, params=params,
            distributions={k: dists.get(k, v) for k, v in t.distributions.items()}, user_attrs=ua,
            system_attrs=system))
        if len(batch) == 500 or i == n - 1:
            _add_trials(storage, dst._study_id, batch)
            batch = []


def _add_trials(storage: optuna.storages.RDBStorage, study_id: int, batch: list[optuna.trial.FrozenTrial]) -> None:
    """``study.add_trials(batch)`` in one transaction (Optuna's own per-trial insertion,
    ``RDBStorage._get_prepared_new_trial``, private): add_trials commits once per trial,
    about 50 ms each on SQLite here, which made a 10 000-trial clone take 8 minutes."""
    with _create_scoped_session(storage.scoped_session) as session:
        rdb_models.StudyModel.find_or_raise_by_id(study_id, session, for_update=True)
        for t in batch:
            storage._get_prepared_new_trial(study_id, t, session)


def _time_commands(label: str, commands: list[tuple[str, list[str]]], cwd: Path, repeat: int) -> None:
    for what, argv in commands:
        walls, peaks, codes = [], [], []
        for _ in range(repeat):
            wall, peak, code = _run_child(argv, cwd, cwd / f"{label}.log")
            walls.append(wall)
            peaks.append(peak)
            codes.append(code)
        status = "" if set(codes) == {0} else f"  EXIT {codes} (see {cwd / (label + '.log')})"
        print(f"  {what:<44} {np.median(walls):7.2f} s (min {min(walls):.2f}, max {max(walls):.2f}, {repeat} runs), "
              f"peak RSS {max(peaks):6.0f} MB{status}", flush=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _dashboard(name: str, url: str, cwd: Path, rounds: int = 2) -> None:
    """Starts tuner.dashboard on a loopback port and times the requests of its study page."""
    port = _free_port()
    argv = [sys.executable, "-m", "tuner.dashboard", "--study", name, "--storage", url, "--port", str(port)]
    started = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, env=_child_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        found = re.search(r"/dashboard/studies/(\d+)", line)
        if found is None:
            print(f"  dashboard did not start: {line.strip()} {proc.stdout.read() if proc.stdout else ''}")
            return
        study_id = found.group(1)
        while True:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        print(f"  dashboard: listening {time.perf_counter() - started:.2f} s after start")
        for r in range(rounds):
            parts = []
            total = 0.0
            for path in _DASHBOARD_FIRST_PAGE:
                path = path.format(id=study_id)
                t0 = time.perf_counter()
                with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=600) as resp:
                    body = resp.read()
                dt_ = time.perf_counter() - t0
                total += dt_
                parts.append(f"{path.split('?')[0].replace(f'/{study_id}', '/<id>')} {dt_:.2f} s"
                             + (f" ({len(body) / 2**20:.1f} MiB)" if len(body) > 2**20 else ""))
            print(f"  dashboard first page, {'cold' if r == 0 else 'again'}: {total:.2f} s = " + ", ".join(parts),
                  flush=True)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def time_views(name: str, url: str, cwd: Path, repeat: int, budgets: Path | None) -> None:
    """Wall time and peak RSS of tuner.show (table, --json, --front), tuner.promote --dry-run
    and the dashboard's first page on study ``name``."""
    base = ["--study", name, "--storage", url]
    extra = ["--budgets", str(budgets)] if budgets else []
    py = sys.executable
    _time_commands(f"views_{name}", [
        ("tuner.show", [py, "-m", "tuner.show", *base, *extra]),
        ("tuner.show --json", [py, "-m", "tuner.show", *base, *extra, "--json"]),
        ("tuner.show --front", [py, "-m", "tuner.show", *base, *extra, "--front"]),
        ("tuner.promote --dry-run", [py, "-m", "tuner.promote", *base, *extra, "--dry-run",
                                     "--out-dir", str(cwd / "promoted")]),
    ], cwd, repeat)
    _dashboard(name, url, cwd)


def run_real(args: argparse.Namespace) -> None:
    server = None
    keep = args.workdir is not None
    work = Path(args.workdir).resolve() if keep else Path(tempfile.mkdtemp(prefix="scale_real_"))
    (work / "studies").mkdir(parents=True, exist_ok=True)
    try:
        if args.postgres:
            sys.path.insert(0, str(ROOT / "tests"))
            import pgserver  # the tests' throwaway server, only when asked for
            server = pgserver.start()
            os.environ["TUNER_DB_PASSWORD"] = pgserver.PASSWORD
            base_url = server.url(password=False)
        name = args.study or f"scale{int(time.time())}"

        def url_of(study: str) -> str:
            if args.storage:
                return str(args.storage)
            if server is not None:
                return str(base_url)
            return f"sqlite:///{work / 'studies' / study}.db"

        kind = "PostgreSQL (throwaway, loopback)" if server else (redact(args.storage) if args.storage else "SQLite")
        print(f"machine: {machine()}; storage {kind}; work directory {work}")
        if not args.clone_from:
            url = url_of(name)
            study_dir = work / "studies" / name
            argv = [sys.executable, "-m", "tuner.study", "--study", name, "--storage", url, "--study-dir", str(study_dir),
                    "--trials", str(args.trials), "--mc-runs", str(args.mc_runs), "--mc-ticks", str(args.mc_ticks),
                    "--no-promote", "--quiet", *(["--mc-threads", str(args.mc_threads)] if args.mc_threads else [])]
            print(f"real study {name}: {args.trials} trials of {args.mc_runs} runs x {args.mc_ticks} ticks "
                  f"(tuner.study --no-promote; both suites, every verification), SQLite/PG as above", flush=True)
            wall, peak, code = _run_child(argv, work, work / "study.log")
            if code != 0:
                print(f"tuner.study exited {code}; see {work / 'study.log'}")
            study = _open(url, name)
            trials = study.get_trials(deepcopy=False)
            finished = counted_trials(trials)
            print(f"wall time {wall:.1f} s for {len(finished)} counted trials ({len(trials)} in the storage): "
                  f"{60 * len(finished) / wall:.0f} trials/min, {1000 * wall / max(len(finished), 1):.0f} ms per trial "
                  f"including the start and the end-of-study outputs; peak RSS of the study process {peak:.0f} MB")
            trial_overheads(trials, args.block)
            trial_files(study_dir / "trials")
            n, size = _dir_size(study_dir)
            db = Path(url.removeprefix("sqlite:///")) if url.startswith("sqlite:///") else None
            print(f"study directory whole: {n} files, {size / 2**20:.1f} MiB"
                  + (f"; SQLite database {db.stat().st_size / 2**20:.1f} MiB" if db and db.exists() else ""))
            print(f"views on the real study ({len(trials)} trials):", flush=True)
            time_views(name, url, work, args.repeat, args.budgets)
            src_name, src_url = name, url
        else:
            src_name = args.clone_from
            src_url = args.clone_storage or f"sqlite:///{Path('studies').resolve() / src_name}.db"
        if args.clone_trials:
            clone = f"{src_name}_x{args.clone_trials}"
            started = time.perf_counter()
            clone_study(src_name, src_url, clone, url_of(clone), args.clone_trials, work / "studies" / clone)
            print(f"cloned study {clone}: {args.clone_trials} trials copied from study {src_name} "
                  f"in {time.perf_counter() - started:.1f} s (not real trials: jittered copies that point at "
                  f"{src_name}'s trial directories)", flush=True)
            print(f"views on the cloned study ({args.clone_trials} trials):", flush=True)
            time_views(clone, url_of(clone), work, args.repeat, args.budgets)
    finally:
        if server is not None:
            server.stop()
        if not keep:
            shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--trials", type=int, default=None,
                   help="trials to run (default 10 000 synthetic; with --real give it, e.g. 2000)")
    p.add_argument("--block", type=int, default=1000, help="trials per reported block")
    p.add_argument("--storage", default=None,
                   help="default: a SQLite file in a temporary directory (the work directory with --real)")
    p.add_argument("--loop", choices=("product", "optuna"), default="product", help="synthetic mode: the trial loop")
    p.add_argument("--profile", action="store_true", help="synthetic mode: profile the last block of trials")
    real = p.add_argument_group("the real product (--real, --clone-from)")
    real.add_argument("--real", action="store_true",
                      help="run tuner.study on the real simulator (cheap Monte Carlo) instead of the synthetic loop")
    real.add_argument("--postgres", action="store_true",
                      help="start a throwaway PostgreSQL on loopback for the studies (stopped afterwards)")
    real.add_argument("--mc-runs", type=int, default=10)
    real.add_argument("--mc-ticks", type=int, default=50)
    real.add_argument("--mc-threads", type=int, default=None)
    real.add_argument("--study", default=None, help="name of the real study (default scale<UNIX time>)")
    real.add_argument("--clone-trials", type=int, default=None, metavar="N",
                      help="also build a study of N trials cloned from the real study (or --clone-from) and time "
                      "the views on it")
    real.add_argument("--clone-from", default=None, metavar="STUDY",
                      help="clone this existing study instead of running a real one (implies --real)")
    real.add_argument("--clone-storage", default=None, metavar="URL",
                      help="the storage of --clone-from (default sqlite:///studies/STUDY.db)")
    real.add_argument("--workdir", default=None, metavar="DIR",
                      help="keep the studies, logs and databases here (default: a temporary directory, removed)")
    real.add_argument("--repeat", type=int, default=3, help="runs of each view command (the median is printed)")
    real.add_argument("--budgets", type=Path, default=None, help="budgets for tuner.show and tuner.promote")
    args = p.parse_args()
    if args.clone_from and args.clone_trials is None:
        args.clone_trials = 10_000
    if args.real or args.clone_from:
        if not args.clone_from and args.trials is None:
            p.error("--real: give --trials (e.g. 2000; at 10 runs x 50 ticks about 0.15 s each)")
        run_real(args)
    else:
        if args.trials is None:
            args.trials = 10_000
        run_synthetic(args)


if __name__ == "__main__":
    main()

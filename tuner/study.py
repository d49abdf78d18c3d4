"""``python -m tuner.study``: the multi-objective study service.

Searches the configuration space with NSGA-II (fixed seed) over the real simulator,
stores every trial in an Optuna storage (SQLite by default, PostgreSQL for several
hosts), resumes an interrupted study with the same command, and ends with the Pareto
front and the promoter (unless ``--no-promote``).
"""

from __future__ import annotations

import argparse
import json
import math
import shlex
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import optuna
import sqlalchemy
from optuna.trial import FrozenTrial, TrialState

from tuner import recovery
from tuner.budgets import Budgets, load_budgets
from tuner.cli import ArgumentParser, quiet_optuna, run_main, sigterm_as_interrupt
from tuner.errors import InputError
from tuner.identifiers import DIRECTIONS, KNOB_NAMES, METRIC_NAMES, validate_study_name
from tuner.objective import CONSTRAINT_KEY, IntegrityError, Objective, ObjectiveSettings, StudyDirError, is_feasible
from tuner.paths import DEFAULT_BUDGETS, DEFAULT_SEARCH_SPACE, suites
from tuner.runner import binary, ensure_binaries, run_command
from tuner.sampler import DEFAULT_POPULATION, SAMPLERS, make_sampler
from tuner.search_space import SearchSpace, load_search_space
from tuner.storage import StorageSpec, default_storage_url, make_storage, parse_storage
from tuner.worker import ReservationLock, run_worker

__all__ = ["main", "StudySettings", "open_study"]

PROG = "python -m tuner.study"

DEFAULTS = {"trials": 10, "mc_runs": 200, "mc_ticks": 600, "seed": 42}
SMOKE = {"trials": 3, "mc_runs": 10, "mc_ticks": 100}

EPILOG = """\
Outputs: the study database (default sqlite:///studies/<study>.db) holds every trial and
its metrics; <study dir>/trials/trial_<NNNN>_<candidate_id>/ holds each trial's evidence
(candidate.env, mc/, suite/, evidence_pack/); at the end <study dir> gets trials.jsonl,
pareto.json, pareto.csv, plots/*.html and a root evidence pack, and the promoter writes
configs/presets/promoted/<tier>/.

Resume: run the same command again. --trials N is the total number of finished trials;
a study interrupted by Ctrl-C, SIGTERM or kill -9 continues to N, retrying the trial
that was running with the same parameters.

Exit status: 0 done, 1 the study directory could not be written (disk full, read-only:
the study stopped; fix it and resume with the same command), 2 bad input (nothing
stored was changed), 130 interrupted.
"""


@dataclass(frozen=True)
class StudySettings:
    """Everything that determines a study's trials; stored with the study and checked on
    every resume, so one study never mixes two settings."""

    mc_runs: int
    mc_ticks: int
    seed: int
    alpha: float
    sampler: str
    population: int
    search_space: dict[str, Any]

    @staticmethod
    def attr_key() -> str:
        return "settings"


def _positive_int(name: str, least: int = 1) -> Any:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise InputError(f"{name} {text!r}: not an integer") from None
        if value < least:
            raise InputError(f"{name} {text}: must be at least {least}")
        return value

    return parse


def build_parser() -> ArgumentParser:
    p = ArgumentParser(
        prog=PROG,
        description="Search the strategy's configuration space with a multi-objective Optuna study "
        "(maximize pnl_mean, minimize kill_ucb and dd_cvar) scored by the Monte Carlo simulator.",
        epilog=EPILOG,
        formatter_class=lambda prog: argparse.RawDescriptionHelpFormatter(prog, max_help_position=32),
    )
    p.add_argument("--smoke", action="store_true",
                   help="quick end-to-end check: 3 trials, 10 Monte Carlo runs, 100 ticks (study 'smoke' by default)")
    p.add_argument("--study", metavar="NAME",
                   help="study name, [A-Za-z0-9_.-]+ (default: 'phaseA', or 'smoke' with --smoke)")
    p.add_argument("--study-dir", metavar="DIR", type=Path,
                   help="directory for trial artifacts and study outputs (default: studies/<study>)")
    p.add_argument("--storage", metavar="URL",
                   help="Optuna storage: sqlite:///PATH (default sqlite:///studies/<study>.db) or "
                   "postgresql+psycopg://USER@HOST[:PORT]/DB (password from TUNER_DB_PASSWORD or "
                   "TUNER_DB_PASSWORD_FILE)")
    p.add_argument("--trials", metavar="N", type=_positive_int("--trials"),
                   help=f"total number of finished trials the study should hold (default {DEFAULTS['trials']})")
    p.add_argument("--mc-runs", metavar="N", type=_positive_int("--mc-runs"),
                   help=f"Monte Carlo runs per candidate (default {DEFAULTS['mc_runs']})")
    p.add_argument("--mc-ticks", metavar="N", type=_positive_int("--mc-ticks"),
                   help=f"ticks per Monte Carlo run, 60 s each (default {DEFAULTS['mc_ticks']})")
    p.add_argument("--seed", metavar="N", type=int,
                   help=f"seed of the sampler and of the Monte Carlo seed schedule shared by all candidates (default {DEFAULTS['seed']})")
    p.add_argument("--budgets", metavar="PATH", type=Path, default=DEFAULT_BUDGETS,
                   help="budget tiers and alpha (default configs/budgets.yaml)")
    p.add_argument("--search-space", metavar="PATH", type=Path, default=DEFAULT_SEARCH_SPACE,
                   help="knobs and ranges to search (default configs/search_space.yaml)")
    p.add_argument("--sampler", choices=SAMPLERS, default="nsga2",
                   help="search algorithm (default nsga2: NSGA-II with the fixed seed)")
    p.add_argument("--population", metavar="N", type=_positive_int("--population", 2), default=DEFAULT_POPULATION,
                   help=f"NSGA-II population per generation (default {DEFAULT_POPULATION})")
    p.add_argument("--timeout", metavar="S", type=float,
                   help="stop starting new trials after S seconds (the study can be resumed)")
    p.add_argument("--command-timeout", metavar="S", type=float, default=600.0,
                   help="kill a simulator command that runs longer than S seconds; the trial fails (default 600)")
    p.add_argument("--mc-threads", metavar="K", type=_positive_int("--mc-threads"),
                   help="threads per monte_carlo run (default: every core)")
    p.add_argument("--workers", metavar="K", type=_positive_int("--workers"), default=1,
                   help="run K worker processes on this host against the same storage (PostgreSQL only; "
                   "several hosts: start this command on each)")
    p.add_argument("--worker-index", metavar="I", type=int, default=None, help=argparse.SUPPRESS)
    p.add_argument("--early-stop", metavar="K", type=_positive_int("--early-stop"), default=None,
                   help="stop when the feasible front's hypervolume has not grown for K finished trials "
                   "(off by default)")
    p.add_argument("--no-promote", action="store_true", help="do not run the promoter at the end")
    p.add_argument("-q", "--quiet", action="store_true", help="print only errors and the final summary")
    return p


def open_study(
    name: str,
    spec: StorageSpec,
    sampler: optuna.samplers.BaseSampler | None,
    *,
    create: bool,
    n_params: int | None = None,
) -> optuna.Study:
    """Creates or loads the study (the one place studies are opened). The sampler is
    passed on creation and on every load: Optuna 5 would otherwise use TPE."""
    storage = make_storage(spec, create=create, n_params=n_params)
    if create:
        study = optuna.create_study(
            study_name=name, storage=storage, sampler=sampler,
            directions=list(DIRECTIONS), load_if_exists=True,
        )
        if list(study.metric_names or []) != list(METRIC_NAMES):
            study.set_metric_names(list(METRIC_NAMES))
        return study
    try:
        return optuna.load_study(study_name=name, storage=storage, sampler=sampler)
    except KeyError:
        names = [s.study_name for s in optuna.get_all_study_summaries(storage)]
        raise InputError(
            f"--study {name}: no such study in {spec.redacted}"
            + (f"; studies there: {', '.join(sorted(names))}" if names else "")
        ) from None


def check_knob_domains(space: SearchSpace, run_args: list[str] | None = None) -> None:
    """The search space must lie inside the simulator's accepted domains (which the
    simulator reports), and the simulator must accept ``run_args`` (``--runs``,
    ``--ticks``, ``--seed``, ``--threads``): otherwise every trial would fail."""
    result = run_command([binary("monte_carlo"), "--show-config", *(run_args or [])], timeout=60)
    if not result.ok:
        said = " ".join(result.stderr_tail.strip().split())[:300]
        if said.startswith("monte_carlo: error: "):
            raise InputError(f"the simulator refuses the run settings: {said[len('monte_carlo: error: '):]}")
        raise InputError(f"monte_carlo --show-config failed: {said}")
    domains = json.loads(result.stdout)["knob_domains"]
    for name, rng in space.ranges().items():
        dom = domains.get(name)
        if dom is None:
            raise InputError(f"search space: {name}: the simulator does not know this knob")
        if "choices" in dom:
            bad = [c for c in rng if c not in dom["choices"]]
            if bad:
                raise InputError(f"search space: {name}: choices {bad} not accepted by the simulator; accepted: {dom['choices']}")
            continue
        low, high = rng  # type: ignore[misc]
        lo_ok = low > dom["low"] if dom["low_open"] else low >= dom["low"]
        if not lo_ok or high > dom["high"]:
            op = "(" if dom["low_open"] else "["
            raise InputError(
                f"search space: {name}: range [{low}, {high}] leaves the simulator's accepted domain "
                f"{op}{dom['low']}, {dom['high']}]"
            )


def check_suites() -> None:
    """Both suite files, and every scenario file they name, must be valid before the
    study starts: otherwise every trial would fail on them."""
    for suite, path in suites().items():
        result = run_command([binary("sim_eval"), "suite", path, "--check"], timeout=60)
        if not result.ok:
            said = " ".join(result.stderr_tail.strip().split())[:400]
            raise InputError(f"suite {suite}: {said.removeprefix('sim_eval: error: ')}")


class Progress:
    """Per-trial progress line: trials done of N, elapsed, ETA, best feasible pnl, front size."""

    def __init__(self, target: int, done_at_start: int, quiet: bool) -> None:
        self.target = target
        self.done_at_start = done_at_start
        self.quiet = quiet
        self.started = time.monotonic()

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:
        if self.quiet:
            return
        trials = study.get_trials(deepcopy=False)
        done = len(recovery.counted_trials(trials))
        elapsed = time.monotonic() - self.started
        ran = max(done - self.done_at_start, 1)
        eta = elapsed / ran * max(self.target - done, 0)
        front = study.best_trials
        best = max((t.values[0] for t in front), default=None)
        if trial.state == TrialState.COMPLETE:
            kind = "feasible" if is_feasible(trial) else f"infeasible ({int(trial.constraints.get(CONSTRAINT_KEY, 0))} suite checks failed)"
            what = (f"pnl_mean {trial.values[0]:.2f} kill_ucb {trial.values[1]:.4f} dd_cvar {trial.values[2]:.1f} "
                    f"[{trial.user_attrs.get('candidate_id', '?')}] {kind}")
        else:
            reason = trial.user_attrs.get("failure", {}).get("command") or trial.user_attrs.get("failure", {}).get("reason", "")
            what = f"{trial.state.name} {reason}"[:200]
        print(
            f"[{done}/{self.target}] trial {trial.number}: {what} | {elapsed:.0f}s elapsed, ETA {eta:.0f}s, "
            f"front {len(front)}, best feasible pnl " + ("-" if best is None else f"{best:.2f}"),
            file=sys.stderr,
            flush=True,
        )


def _resume_command(argv: list[str]) -> str:
    return "python -m tuner.study " + " ".join(shlex.quote(a) for a in argv)


def _say_interrupted(spec: StorageSpec, argv: list[str]) -> None:
    print(f"\ninterrupted: the study is saved in {spec.redacted}; resume with:\n  {_resume_command(argv)}",
          file=sys.stderr)


def front_table(trials: list[FrozenTrial]) -> str:
    rows = ["  trial  candidate      profile       pnl_mean   pnl_lcb  kill_ucb   dd_cvar"]
    for t in sorted(trials, key=lambda t: (-t.values[0], t.values[2], t.values[1], t.number)):
        rows.append(
            f"  {t.number:5d}  {t.user_attrs.get('candidate_id', '?'):12s}  "
            f"{str(t.params.get('PARAPHINA_RISK_PROFILE', '?')):12s} {t.values[0]:9.2f} "
            f"{float(t.user_attrs.get('pnl_lcb', math.nan)):9.2f} {t.values[1]:9.4f} {t.values[2]:9.1f}"
        )
    return "\n".join(rows)


def _work(
    study: optuna.Study, spec: StorageSpec, args: Any, argv: list[str], name: str, study_dir: Path,
    budgets: Budgets, space: SearchSpace, trials_target: int, settings: StudySettings,
) -> int:
    """This process's share of the trials (all of them when it works alone)."""
    lock = recovery.WorkerLock(study_dir)
    alone = lock.acquire()
    reservation = ReservationLock(spec, name, study._storage)
    try:
        # Under the reservation lock: two workers starting together must not both retry
        # the same interrupted trial. With SQLite every worker runs on this host.
        reservation.acquire()
        try:
            retried = recovery.recover_interrupted(study, n_params=len(KNOB_NAMES), no_live_local_worker=alone,
                                                   single_host=spec.kind == "sqlite")
        finally:
            reservation.release()
        if retried and not args.quiet:
            print(f"resuming: retrying interrupted trial(s) {', '.join(map(str, retried))} with the same parameters",
                  file=sys.stderr)
        done = len(recovery.counted_trials(study.get_trials(deepcopy=False)))
        remaining = max(0, trials_target - done)
        if not args.quiet:
            who = f" worker {args.worker_index}:" if args.worker_index is not None else ""
            print(f"study {name}{who} ({spec.redacted}): {done} of {trials_target} trials finished; "
                  f"{'running ' + str(remaining) + ' more' if remaining else 'nothing to run'} "
                  f"({settings.mc_runs} runs x {settings.mc_ticks} ticks per candidate, seed {settings.seed}, "
                  f"{settings.sampler})", file=sys.stderr)
        objective = Objective(
            ObjectiveSettings(
                study_name=name, study_dir=study_dir, mc_runs=settings.mc_runs, mc_ticks=settings.mc_ticks,
                seed=settings.seed, alpha=budgets.alpha, command_timeout=args.command_timeout,
                mc_threads=args.mc_threads,
            ),
            space,
        )
        if remaining:
            deadline = time.monotonic() + args.timeout if args.timeout else None
            try:
                why = run_worker(
                    study, objective, target=trials_target,
                    lock=reservation,
                    catch=(IntegrityError,),
                    callbacks=[Progress(trials_target, done, args.quiet)],
                    deadline=deadline,
                    stop=None if args.early_stop is None else _early_stop(args.early_stop),
                    on_wait=None if args.quiet else (lambda msg: print(f"study {name}: {msg}", file=sys.stderr)),
                    recover=lambda: recovery.recover_interrupted(study, n_params=len(KNOB_NAMES),
                                                                 no_live_local_worker=False),
                )
                if why == "stopped":
                    print(f"study {name}: early stop: the feasible front's hypervolume has not grown for "
                          f"{args.early_stop} finished trials", file=sys.stderr)
                if why == "timeout":
                    print(f"study {name}: --timeout {args.timeout:g} s reached; resume with the same command",
                          file=sys.stderr)
            except KeyboardInterrupt:
                _say_interrupted(spec, argv)
                return 130
            except StudyDirError as exc:
                print(f"{PROG}: error: cannot write in the study directory ({exc}); the study stopped, and the "
                      f"trial that was running will be retried; every finished trial is stored in {spec.redacted}. "
                      f"Free space or fix permissions, then resume with:\n  {_resume_command(argv)}", file=sys.stderr)
                return 1
    finally:
        lock.release()
    return 0


def _early_stop(k: int) -> Any:
    from tuner.hypervolume import trials_since_improvement

    def stop(trials: Any) -> bool:
        counted = recovery.counted_trials(trials)
        return len(counted) >= k and trials_since_improvement(counted) >= k

    return stop


def _run_local_workers(argv: list[str], workers: int, spec: StorageSpec) -> int:
    """Starts ``workers`` worker processes on this host against the same storage and
    waits for them; Ctrl-C or SIGTERM stops them all."""
    import subprocess

    base = [a for a in _strip_flag(argv, "--workers")]
    procs = [
        subprocess.Popen([sys.executable, "-m", "tuner.study", *base, "--worker-index", str(i), "--no-promote"])
        for i in range(workers)
    ]
    try:
        codes = [p.wait() for p in procs]
    except KeyboardInterrupt:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait()
        _say_interrupted(spec, argv)
        return 130
    for i, c in enumerate(codes):
        if c != 0:
            how = f"signal {-c}" if c < 0 else f"exit status {c}"
            print(f"warning: worker {i} ended with {how}; its running trial is retried by the others "
                  "(or by the next start)", file=sys.stderr)
    return 0


def _strip_flag(argv: list[str], flag: str) -> list[str]:
    out: list[str] = []
    skip = False
    for a in argv:
        if skip:
            skip = False
            continue
        if a == flag:
            skip = True
            continue
        if a.startswith(flag + "="):
            continue
        out.append(a)
    return out


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    quiet_optuna()

    # Preflight: everything that can be wrong is checked before the storage is touched.
    name = validate_study_name(args.study if args.study is not None else ("smoke" if args.smoke else "phaseA"))
    base = dict(DEFAULTS)
    if args.smoke:
        base.update(SMOKE)
    trials_target = args.trials or base["trials"]
    mc_runs = args.mc_runs or base["mc_runs"]
    mc_ticks = args.mc_ticks or base["mc_ticks"]
    seed = base["seed"] if args.seed is None else args.seed
    if not 0 <= seed < 2**63:
        raise InputError(f"--seed {seed}: must be in [0, 2^63)")
    for flag, value in (("--timeout", args.timeout), ("--command-timeout", args.command_timeout)):
        if value is not None and not (math.isfinite(value) and value > 0):
            raise InputError(f"{flag} {value}: must be a positive number of seconds")
    budgets: Budgets = load_budgets(args.budgets)
    space = load_search_space(args.search_space)
    for suite, path in suites().items():
        if not path.is_file():
            raise InputError(f"suite {suite}: {path} is missing; both suites are required (the adversarial suite is never skipped)")
    study_dir = (args.study_dir or Path("studies") / name).resolve()
    spec = parse_storage(args.storage or default_storage_url(name))
    ensure_binaries(quiet=args.quiet)
    check_knob_domains(space, ["--runs", str(mc_runs), "--ticks", str(mc_ticks), "--seed", str(seed)]
                       + (["--threads", str(args.mc_threads)] if args.mc_threads else []))
    check_suites()

    settings = StudySettings(
        mc_runs=mc_runs, mc_ticks=mc_ticks, seed=seed, alpha=budgets.alpha,
        sampler=args.sampler, population=args.population,
        search_space={k: list(v) for k, v in space.ranges().items()},
    )
    if args.workers > 1 and spec.kind == "sqlite":
        raise InputError(
            f"--workers {args.workers} with SQLite storage: refused; SQLite allows one writer at a time "
            "(workers would fail with 'database is locked') and is unsafe on shared filesystems. "
            "Use PostgreSQL: --storage postgresql+psycopg://USER@HOST/DB (see README, 'Running on several machines')"
        )
    worker = args.worker_index or 0
    sampler = make_sampler(args.sampler, seed=seed, population=args.population, worker=worker)
    study = open_study(name, spec, sampler, create=True, n_params=len(KNOB_NAMES))
    stored = study.user_attrs.get(StudySettings.attr_key())
    if stored is None:
        study.set_user_attr(StudySettings.attr_key(), asdict(settings))
        study.set_user_attr("study_dir", str(study_dir))
        study.set_user_attr("storage", spec.redacted)
    elif stored != json.loads(json.dumps(asdict(settings))):
        diffs = [f"{k} {stored.get(k)!r} → {v!r}" for k, v in json.loads(json.dumps(asdict(settings))).items() if stored.get(k) != v]
        raise InputError(
            f"study {name} was created with other settings ({'; '.join(diffs)}); "
            "rerun with the original settings or choose another --study"
        )

    # After the settings check: a refused resume prints its one error line only.
    if args.worker_index is None:
        for tier, needed in budgets.unreachable_kill_tiers(mc_runs):
            how = f"at least {needed} runs reach it" if needed else "no run count reaches it"
            print(f"warning: tier {tier.name}: max_kill_ucb {tier.max_kill_ucb} cannot be met with --mc-runs {mc_runs} "
                  f"(0 kills give a bound above it); {how}", file=sys.stderr)

    sigterm_as_interrupt()
    try:
        if args.workers > 1:
            code = _run_local_workers(argv, args.workers, spec)
        else:
            code = _work(study, spec, args, argv, name, study_dir, budgets, space, trials_target, settings)
        if code != 0 or args.worker_index is not None:
            return code  # a worker started by --workers: the parent reports and promotes
        return _finish(study, spec, args, argv, name, study_dir, budgets)
    except KeyboardInterrupt:
        # Outside a trial (recovery, outputs, promotion): every finished trial is stored,
        # and the same command finishes the rest.
        _say_interrupted(spec, argv)
        return 130
    except Exception as exc:
        # The database refused a write (disk full, read-only file): Optuna may raise it
        # wrapped (even as an AssertionError). SQLite and PostgreSQL keep every committed
        # transaction, and a trial left RUNNING is retried by the next start.
        why = _storage_failure(exc)
        if why is None:
            raise
        print(f"{PROG}: error: cannot write the study database {spec.redacted} ({why}); every finished trial "
              f"is kept, and the trial that was running will be retried. Free space or fix permissions, then "
              f"resume with:\n  {_resume_command(argv)}", file=sys.stderr)
        return 1


def _storage_failure(exc: BaseException) -> str | None:
    """The database error behind ``exc`` (its cause or context chain), if there is one."""
    seen: BaseException | None = exc
    for _ in range(10):
        if seen is None:
            return None
        if isinstance(seen, sqlalchemy.exc.DBAPIError):
            return " ".join(str(seen.orig).split())[:200]
        seen = seen.__cause__ or seen.__context__
    return None


def _finish(
    study: optuna.Study, spec: StorageSpec, args: Any, argv: list[str], name: str, study_dir: Path, budgets: Budgets,
) -> int:
    """After the trials: the front, the study outputs and (unless --no-promote) promotion."""
    trials = study.get_trials(deepcopy=False)
    done = len(recovery.counted_trials(trials))
    front = study.best_trials
    print(f"study {name}: {done} finished trials "
          f"({sum(1 for t in trials if t.state == TrialState.COMPLETE and is_feasible(t))} feasible, "
          f"{sum(1 for t in recovery.counted_trials(trials) if t.state == TrialState.FAIL)} failed); "
          f"Pareto front of feasible trials ({len(front)}):")
    print(front_table(front) if front else "  (empty: no feasible trial yet)")
    # Heavy imports (pandas, plotly) only at the end.
    from tuner.promote import promote
    from tuner.reports import write_study_outputs

    try:
        outputs = write_study_outputs(study, study_dir, budgets)
        print(f"outputs in {study_dir}: {', '.join(sorted(p.name for p in outputs))}")
        if not args.no_promote:
            promote(study, spec=spec, budgets=budgets, budgets_path=args.budgets, study_dir=study_dir,
                    out_dir=None, dry_run=False, allow_unverified=False, quiet=False, write_outputs=False)
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"{PROG}: error: cannot write the study outputs ({where}{exc.strerror or exc}); every trial is stored "
              f"in {spec.redacted}. Free space or fix permissions, then resume with:\n  {_resume_command(argv)}",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    run_main(PROG, main)

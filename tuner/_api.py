"""The public Python API (re-exported by :mod:`tuner`): run or open a study, read its
trials and front as DataFrames, promote (a dry run returns the decision as data),
reproduce a promotion. The ``python -m tuner.X`` commands are thin parsers over these.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import optuna
from optuna.trial import TrialState

from tuner.config.budgets import Budgets, load_budgets
from tuner.config.paths import DEFAULT_BUDGETS, DEFAULT_SEARCH_SPACE
from tuner.config.search_space import SearchSpace, load_search_space
from tuner.errors import InputError, StorageFailed
from tuner.promotion.confirm import ConfirmSettings, check_count, configured
from tuner.promotion.promoter import Promotion
from tuner.promotion.promoter import promote as _promote
from tuner.promotion.reproduce import Reproduction
from tuner.promotion.reproduce import reproduce_all as _reproduce
from tuner.record import TrialView, counted_trials, front_members, is_feasible
from tuner.search.run import RunOptions, StudyDirStopped, TrialTakenOver, run_local_workers, run_trials
from tuner.session.lock import StudyLock, outputs_lock, setup_lock
from tuner.session.open import NoSuchStudy, StudyRef, open_existing, open_study, recorded_study_dir, resolve_study
from tuner.session.ownership import check_owner, check_study_dir, claim, holds_study_files
from tuner.session.preflight import check_knob_domains, check_suites, require_suite_files
from tuner.session.sampler import make_sampler, population_for, require_sampler
from tuner.session.settings import DEFAULTS, SMOKE, StudySettings
from tuner.session.storage import GRACE_PERIOD_S, failure_advice, storage_failure
from tuner.simulator.build import ensure_binaries
from tuner.simulator.client import EVIDENCE_MODES
from tuner.views.frames import trials_frame as _trials_frame
from tuner.views.outputs import write_study_outputs
from tuner.views.report import promotion_report
from tuner.views.tables import front_table

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "Study",
    "StudyInterrupted",
    "StudyRun",
    "StudyStopped",
    "load_study",
    "promote",
    "reproduce",
    "run_study",
]


class StudyStopped(Exception):
    """A study stopped because its directory, database or outputs could not be written;
    every finished trial is kept and the same command resumes it. The message says what
    failed and ends with the advice ("... Free space or fix permissions")."""


class StudyInterrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM stopped a study; every finished trial is stored in ``storage``."""

    def __init__(self, storage: str) -> None:
        super().__init__(storage)
        self.storage = storage


class Study:
    """A study in its storage: its trials, its front and its settings.

    Get one with :func:`load_study` (an existing study) or from :func:`run_study`.
    """

    def __init__(self, optuna_study: optuna.Study, ref: StudyRef) -> None:
        self.optuna = optuna_study
        self._ref = ref

    @property
    def name(self) -> str:
        return self.optuna.study_name

    @property
    def storage(self) -> str:
        """The storage URL, password hidden."""
        return self._ref.spec.redacted

    @property
    def settings(self) -> dict[str, Any]:
        """The settings the study is bound to (runs, ticks, seed, alpha, sampler, ...)."""
        return StudySettings.stored(self.optuna)

    @property
    def study_dir(self) -> Path | None:
        """Where the study's trial artifacts and outputs are."""
        return recorded_study_dir(self.optuna)

    def trials(self) -> list[TrialView]:
        """Every trial, typed (see :class:`tuner.record.TrialView`)."""
        return [TrialView.of(t) for t in self.optuna.get_trials(deepcopy=False)]

    def trials_frame(self, budgets: Budgets | str | Path | None = None) -> pd.DataFrame:
        """Every trial as a row with flat columns: objectives, bounds, feasibility, Pareto
        rank, ``pass_<tier>`` on search evidence, parameters (:mod:`tuner.views.frames`).
        ``budgets`` (a :class:`~tuner.config.budgets.Budgets` or a file; default
        ``configs/budgets.yaml``) decides the tier columns."""
        return _trials_frame(self.optuna.get_trials(deepcopy=False), _budgets(budgets))

    def front_frame(self, budgets: Budgets | str | Path | None = None) -> pd.DataFrame:
        """The rows of :meth:`trials_frame` on the feasible Pareto front (rank 1), best
        ``pnl_mean`` first."""
        frame = self.trials_frame(budgets)
        front = frame[frame["pareto_rank"] == 1]
        return front.sort_values(["pnl_mean", "dd_cvar", "kill_ucb", "candidate_id"],
                                 ascending=[False, True, True, True]).reset_index(drop=True)

    def promote(self, **kwargs: Any) -> Promotion:
        """:func:`promote` on this study."""
        return promote(self, **kwargs)


def _budgets(budgets: Budgets | str | Path | None) -> Budgets:
    if isinstance(budgets, Budgets):
        return budgets
    return load_budgets(budgets or DEFAULT_BUDGETS)


def load_study(name: str, storage: str | None = None) -> Study:
    """Opens an existing study (default storage ``sqlite:///studies/<name>.db``, relative
    to the current directory). Raises :class:`~tuner.errors.InputError` when the study or
    its database does not exist."""
    ref = resolve_study(name, storage)
    return Study(open_existing(ref), ref)


@dataclass(frozen=True)
class StudyRun:
    """What :func:`run_study` did."""

    study: Study
    stop: str  #: "done", "nothing" (already complete), "timeout" or "stopped" (early stop)
    finished: int
    feasible: int
    failed: int
    outputs: tuple[Path, ...] = ()
    promotion: Promotion | None = None
    worker_exits: tuple[int, ...] = field(default_factory=tuple)


def run_study(
    name: str | None = None,
    *,
    trials: int | None = None,
    mc_runs: int | None = None,
    mc_ticks: int | None = None,
    seed: int | None = None,
    storage: str | None = None,
    study_dir: str | Path | None = None,
    budgets: str | Path = DEFAULT_BUDGETS,
    search_space: str | Path = DEFAULT_SEARCH_SPACE,
    sampler: str = "nsga2",
    population: int | None = None,
    smoke: bool = False,
    timeout: float | None = None,
    command_timeout: float = 600.0,
    mc_threads: int | None = None,
    trial_evidence: str = "compact",
    workers: int = 1,
    worker_index: int | None = None,
    early_stop: int | None = None,
    promote: bool = True,
    quiet: bool = False,
    self_contained_plots: bool | None = None,
    worker_argv: Sequence[str] | None = None,
    say: Callable[[str], None] = print,
    create_dirs: bool = False,
) -> StudyRun:
    """Runs (or resumes) a study until it holds ``trials`` finished trials, then writes its
    outputs and, unless ``promote=False``, promotes its winners.

    Defaults as ``python -m tuner.study``: study ``phaseA`` (``smoke`` with ``smoke=True``),
    10 trials, 200 runs x 600 ticks, seed 42, NSGA-II with ``population=None``: sized from
    ``trials`` by :func:`tuner.session.sampler.population_for`, or the population a resumed
    study was created with. Everything that can be wrong is
    checked before the storage is touched (:class:`~tuner.errors.InputError`). Raises
    :class:`StudyInterrupted` on Ctrl-C or SIGTERM and :class:`StudyStopped` when the
    study directory, database or outputs cannot be written; either way every finished
    trial is kept and the same call resumes. Progress goes to stderr unless ``quiet``;
    the closing summary goes to ``say``. ``workers`` > 1 starts local worker processes
    (PostgreSQL only) with ``worker_argv``, the command-line form of these settings.
    ``self_contained_plots`` puts Plotly's JavaScript inside every plot page (None: keep
    the form the study's plots already have; shared ``plotly.min.js`` for a new study).
    """
    base = dict(DEFAULTS)
    if smoke:
        base.update(SMOKE)
    ref = resolve_study(name if name is not None else ("smoke" if smoke else "phaseA"), storage)
    target = trials or base["trials"]
    runs = mc_runs or base["mc_runs"]
    ticks = mc_ticks or base["mc_ticks"]
    seed = base["seed"] if seed is None else seed
    if not 0 <= seed < 2**63:
        raise InputError(f"--seed {seed}: must be in [0, 2^63)")
    for flag, value in (("--timeout", timeout), ("--command-timeout", command_timeout)):
        if value is not None and not (math.isfinite(value) and value > 0):
            raise InputError(f"{flag} {value}: must be a positive number of seconds")
    require_sampler(sampler)
    if trial_evidence not in EVIDENCE_MODES:
        raise InputError(f"--trial-evidence {trial_evidence!r}: expected one of {', '.join(EVIDENCE_MODES)}")
    budget = load_budgets(budgets)
    if promote:
        _confirm_counts(None, None, None)  # a bad TUNER_CONFIRM_* default fails now, not after the trials
    space = load_search_space(search_space)
    require_suite_files()
    directory = Path(study_dir or Path("studies") / ref.name).resolve()
    spec = ref.spec
    check_study_dir(directory, flag="--study-dir", spec=spec, may_create_parent=study_dir is None or create_dirs)
    marker = check_owner(directory, spec, ref.name)
    ensure_binaries(quiet=quiet)
    check_knob_domains(space, runs=runs, ticks=ticks, seed=seed, threads=mc_threads)
    check_suites()

    if workers > 1 and spec.kind == "sqlite":
        raise InputError(
            f"--workers {workers} with SQLite storage: refused; SQLite allows one writer at a time "
            "(workers would fail with 'database is locked') and is unsafe on shared filesystems. "
            "Use PostgreSQL: --storage postgresql+psycopg://USER@HOST/DB (see README, 'Running on several machines')"
        )
    if workers > 1 and worker_argv is None:
        raise InputError("workers > 1 needs worker_argv, the command-line form of the study's settings")
    # One process per SQLite study, from before the storage is opened to the end.
    lock = StudyLock(spec, ref.name)
    lock.acquire()
    try:
        return _run_locked(ref, directory, marker, target, runs, ticks, seed, budget, budgets, space, sampler,
                           population, smoke, timeout, command_timeout, mc_threads, trial_evidence, workers,
                           worker_index, early_stop,
                           promote, quiet, self_contained_plots, worker_argv, say)
    finally:
        lock.release()


def _run_locked(
    ref: StudyRef, directory: Path, marker: dict[str, Any] | None, target: int, runs: int, ticks: int, seed: int,
    budget: Budgets, budgets: str | Path, space: SearchSpace, sampler: str, population: int | None, smoke: bool,
    timeout: float | None, command_timeout: float, mc_threads: int | None, trial_evidence: str, workers: int,
    worker_index: int | None,
    early_stop: int | None, promote: bool, quiet: bool, self_contained_plots: bool | None,
    worker_argv: Sequence[str] | None, say: Callable[[str], None],
) -> StudyRun:
    spec = ref.spec
    # The sampler is set below, once the stored settings (the population) are read;
    # nothing samples before that. A directory already holding a study's files serves
    # only the study recorded there: never a new study (which would overwrite them).
    existing_only = marker is not None or holds_study_files(directory)
    with setup_lock(spec, ref.name):
        study, settings, population = _open_and_bind(ref, directory, existing_only, marker, target, runs, ticks, seed,
                                                     budget, space, sampler, population)
    study.sampler = make_sampler(sampler, seed=seed, population=population, worker=worker_index or 0,
                                 space=space.distributions())

    # After the settings check: a refused resume prints its one error line only.
    unreachable = budget.unreachable_kill_tiers(runs)
    if worker_index is None and smoke and unreachable and not quiet:
        print(f"note: a smoke run checks that the pipeline works; with {runs} Monte Carlo runs "
              f"{'no' if len(unreachable) == len(budget.tiers) else 'not every'} tier's kill_ucb budget can be met, "
              "so the promoter is expected to promote nothing", file=sys.stderr)
    elif worker_index is None:
        for tier, needed in unreachable:
            how = f"at least {needed} runs reach it" if needed else "no run count reaches it"
            print(f"warning: tier {tier.name}: max_kill_ucb {tier.max_kill_ucb} cannot be met with --mc-runs {runs} "
                  f"(0 kills give a bound above it); {how}", file=sys.stderr)

    handle = Study(study, ref)
    try:
        exits: tuple[int, ...] = ()
        if workers > 1:
            assert worker_argv is not None
            exits = tuple(run_local_workers(worker_argv, workers))
            for i, c in enumerate(exits):
                if c != 0:
                    how = f"signal {-c}" if c < 0 else f"exit status {c}"
                    print(f"warning: worker {i} ended with {how}; its running trial is retried by the others "
                          "(or by the next start)", file=sys.stderr)
            stop = "done"
        else:
            options = RunOptions(command_timeout=command_timeout, mc_threads=mc_threads, evidence=trial_evidence,
                                 timeout=timeout,
                                 early_stop=early_stop, worker_index=worker_index, quiet=quiet)
            stop = run_trials(study, spec, study_dir=directory, space=space, target=target, settings=settings,
                              options=options)
        if worker_index is not None:
            return _counts(handle, stop, worker_exits=exits)
        return _finish(handle, directory, budget, budgets, stop=stop, promote=promote, exits=exits, say=say,
                       smoke=smoke, self_contained_plots=self_contained_plots)
    except KeyboardInterrupt:
        # Every finished trial is stored, and the same command finishes the rest.
        raise StudyInterrupted(spec.redacted) from None
    except StudyDirStopped as exc:
        raise StudyStopped(
            f"cannot write in the study directory ({exc}); the study stopped, and the trial that was running will "
            f"be retried; every finished trial is stored in {spec.redacted}. Free space or fix permissions"
        ) from None
    except TrialTakenOver as exc:
        raise StudyStopped(
            f"trial {exc.number} was declared dead and taken over by another process while this one was paused "
            f"longer than the heartbeat grace period ({GRACE_PERIOD_S} s: Ctrl-Z, a laptop suspend); its result here "
            f"is discarded (the trial is retried with the same parameters) and this process stopped; every finished "
            f"trial is stored in {spec.redacted}. Once no other process runs the study"
        ) from None
    except StudyStopped:
        raise
    except Exception as exc:
        # The database refused a write (disk full, read-only file): Optuna may raise it
        # wrapped (even as an AssertionError). SQLite and PostgreSQL keep every committed
        # transaction, and a trial left RUNNING is retried by the next start.
        why = storage_failure(exc)
        if why is None:
            raise
        raise StudyStopped(
            f"cannot write the study database {spec.redacted} ({why}); every finished trial is kept, and the trial "
            f"that was running will be retried. {failure_advice(spec, why)}"
        ) from None


def _open_and_bind(
    ref: StudyRef, directory: Path, existing_only: bool, marker: dict[str, Any] | None, target: int, runs: int,
    ticks: int, seed: int, budget: Budgets, space: SearchSpace, sampler: str, population: int | None,
) -> tuple[optuna.Study, StudySettings, int]:
    """Opens (or creates) the study, binds its settings and claims its directory."""
    spec = ref.spec
    try:
        if existing_only and spec.sqlite_path is not None and not spec.sqlite_path.exists():
            raise NoSuchStudy(spec.redacted)
        study = open_study(ref.name, spec, None, create=not existing_only, worker=True)
    except NoSuchStudy:
        raise InputError(f"--study-dir {directory}: holds the files of another study (no study {ref.name} in "
                         f"{spec.redacted} recorded them); choose another --study-dir") from None
    recorded = recorded_study_dir(study)
    if population is None:
        # A study keeps the population it was created with: --trials is a total and may
        # grow on resume without changing the generations already run.
        stored = StudySettings.stored(study).get("population")
        population = stored if isinstance(stored, int) else population_for(target)
    settings = StudySettings(
        mc_runs=runs, mc_ticks=ticks, seed=seed, alpha=budget.alpha, sampler=sampler, population=population,
        search_space={k: list(v) for k, v in space.ranges().items()},
    )
    # bind() only compares the settings of an existing study (a refused resume writes nothing).
    settings.bind(study, study_dir=str(directory), storage=spec.redacted)
    if marker is None and recorded is not None and recorded != directory and (
            spec.kind == "sqlite" or holds_study_files(directory)):
        raise InputError(f"--study-dir {directory}: study {ref.name} keeps its files in {recorded} (recorded when it "
                         "was created); omit --study-dir or give that directory")
    claim(directory, spec, ref.name, study._study_id)
    return study, settings, population


def _counts(handle: Study, stop: str, **extra: Any) -> StudyRun:
    trials = handle.optuna.get_trials(deepcopy=False)
    counted = counted_trials(trials)
    return StudyRun(
        study=handle, stop=stop, finished=len(counted),
        feasible=sum(1 for t in trials if t.state == TrialState.COMPLETE and is_feasible(t)),
        failed=sum(1 for t in counted if t.state == TrialState.FAIL),
        **extra,
    )


def _finish(
    handle: Study, directory: Path, budgets: Budgets, budgets_path: str | Path, *, stop: str, promote: bool,
    exits: tuple[int, ...], say: Callable[[str], None], smoke: bool = False,
    self_contained_plots: bool | None = None,
) -> StudyRun:
    """After the trials: the front, promotion (unless ``promote=False``), then the study
    outputs (so the plots mark this promotion's winners); a smoke run ends with its verdict."""
    study = handle.optuna
    run = _counts(handle, stop)
    front = front_members(study.best_trials)
    say(f"study {study.study_name}: {run.finished} finished trials ({run.feasible} feasible, {run.failed} failed); "
        f"Pareto front of feasible trials ({len(front)}):")
    say(front_table(front) if front else "  (empty: no feasible trial yet)")
    promotion = None
    try:
        try:
            if promote:
                # The same rules as tuner.promote; a smoke study only says what it would do:
                # its settings are too small to certify a preset.
                if smoke:
                    say("smoke study: no preset is written (smoke settings certify the pipeline, not a "
                        "configuration); what the promoter would decide:")
                k, runs, seeds = _confirm_counts(None, None, None)
                if smoke:
                    # Smoke settings: a confirmation as small as the smoke study itself.
                    runs, seeds = min(runs, max(2, int(handle.settings.get("mc_runs") or 2))), 1
                promotion = _promote(study, spec=handle._ref.spec, budgets=budgets, budgets_path=Path(budgets_path),
                                     study_dir=directory, out_dir=None, dry_run=smoke, allow_unverified=False,
                                     report=promotion_report, confirm_settings=_confirm_settings(study, k, runs, seeds),
                                     say=say)
        finally:
            with outputs_lock(handle._ref.spec, study.study_name):
                outputs = write_study_outputs(study, directory, budgets, self_contained_plots=self_contained_plots)
        say(f"outputs in {directory}: {', '.join(sorted(p.name for p in outputs))}")
    except StorageFailed as exc:
        raise StudyStopped(f"cannot write the study outputs: {exc}; every finished trial is stored in "
                           f"{handle.storage}; once it is back") from None
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        raise StudyStopped(
            f"cannot write the study outputs ({where}{exc.strerror or exc}); every trial is stored in "
            f"{handle.storage}. Free space or fix permissions"
        ) from None
    if smoke:
        say(smoke_verdict(handle, run.finished, run.failed, budgets, promotion))
    return StudyRun(study=handle, stop=stop, finished=run.finished, feasible=run.feasible, failed=run.failed,
                    outputs=tuple(outputs), promotion=promotion, worker_exits=exits)


def smoke_verdict(handle: Study, finished: int, failed: int, budgets: Budgets, promotion: Promotion | None) -> str:
    """The one line a smoke run ends with: did the pipeline work, why nothing was
    promoted, and the command to run next."""
    name = handle.name
    if finished == 0 or failed:
        worst = next((t.number for t in handle.optuna.get_trials(deepcopy=False) if t.state == TrialState.FAIL), None)
        look = f"python -m tuner.show --study {name}" + (f" --trial {worst}" if worst is not None else "")
        return f"smoke run FAILED: {failed} of {finished} trials failed (a simulator or evidence problem); see: {look}"
    runs = int(handle.settings.get("mc_runs") or 0)
    unreachable = budgets.unreachable_kill_tiers(runs)
    would = [t for t, o in (promotion.tiers.items() if promotion else []) if o.candidate_id and o.dry_run]
    never = "it wrote no preset (a smoke study never does: its settings are too small to certify one)"
    if promotion is None:
        why = "the promoter was not run (--no-promote)"
    elif would:
        why = f"{never}; on these settings it would have promoted {', '.join(would)}"
    elif len(unreachable) == len(budgets.tiers):
        why = f"{never}; and {runs} Monte Carlo runs are too few for any tier's kill_ucb budget anyway"
    else:
        why = f"{never}; and no candidate would pass (the tier lines above say why)"
    return (f"smoke run OK: the simulator, {finished} trials with verified evidence, the suites, the outputs and "
            f"the promoter all worked; {why}. Next, a real study: python -m tuner.study --study phaseA --trials 10")


def promote(
    study: Study | str,
    *,
    storage: str | None = None,
    budgets: str | Path = DEFAULT_BUDGETS,
    out_dir: str | Path | None = None,
    study_dir: str | Path | None = None,
    dry_run: bool = True,
    allow_unverified: bool = False,
    allow_looser_alpha: bool = False,
    write_outputs: bool = True,
    self_contained_plots: bool | None = None,
    finalists: int | None = None,
    confirm_runs: int | None = None,
    confirm_suite_seeds: int | None = None,
    say: Callable[[str], None] | None = None,
) -> Promotion:
    """Applies the budget tiers to a study's feasible Pareto front and returns the
    decision per tier (:class:`~tuner.promotion.promoter.Promotion`). A dry run (the
    default here; ``python -m tuner.promote`` writes unless ``--dry-run``) writes nothing;
    otherwise the presets and records go to ``out_dir`` (default
    ``configs/presets/promoted``) and the study's outputs are rewritten. ``say`` receives
    the lines the command prints (default: none); ``self_contained_plots`` as in
    :func:`run_study`. Tiers are decided on confirmation evidence: up to ``finalists`` per
    tier (default 5) re-simulated with ``confirm_runs`` Monte Carlo runs (default 2000)
    and ``confirm_suite_seeds`` fresh seeds per suite scenario (default 16); the
    environment variables ``TUNER_FINALISTS``, ``TUNER_CONFIRM_RUNS`` and
    ``TUNER_CONFIRM_SUITE_SEEDS`` change these defaults (:mod:`tuner.promotion.confirm`)."""
    k, runs, seeds = _confirm_counts(finalists, confirm_runs, confirm_suite_seeds)
    ref = study._ref if isinstance(study, Study) else resolve_study(study, storage)
    budget = load_budgets(budgets)
    if ref.spec.sqlite_path is not None and not ref.spec.sqlite_path.exists():
        raise InputError(f"--storage {ref.spec.redacted}: no such database file")
    if out_dir is not None and Path(out_dir).exists() and not Path(out_dir).is_dir():
        raise InputError(f"--out-dir {out_dir}: not a directory")
    ensure_binaries(quiet=say is None)
    handle = study if isinstance(study, Study) else Study(open_existing(ref), ref)
    directory = Path(study_dir).resolve() if study_dir else handle.study_dir
    if directory is not None:
        _check_promote_dir(handle, directory, explicit=study_dir is not None)
    spec = handle._ref.spec
    committed = False
    try:
        result = _promote(handle.optuna, spec=spec, budgets=budget, budgets_path=Path(budgets),
                          study_dir=directory, out_dir=Path(out_dir) if out_dir is not None else None,
                          dry_run=dry_run, allow_unverified=allow_unverified, allow_looser_alpha=allow_looser_alpha,
                          report=promotion_report, confirm_settings=_confirm_settings(handle.optuna, k, runs, seeds),
                          say=say or (lambda _m: None))
        committed = not dry_run
        if write_outputs and directory is not None and not dry_run:
            try:
                with outputs_lock(spec, handle.name):
                    write_study_outputs(handle.optuna, directory, budget,
                                        promoted_dir=Path(out_dir) if out_dir is not None else None,
                                        self_contained_plots=self_contained_plots)
            except OSError as exc:
                # The tiers are committed by now: say so, so that a failed exit is not
                # read as "nothing promoted".
                raise OSError(f"the promotion is committed, but the study's outputs were not refreshed: {exc}") \
                    from exc
    except (InputError, OSError, KeyboardInterrupt):
        raise
    except Exception as exc:
        # The study's database failed under the promotion (a lost server, a refused
        # read): one line that says what was and was not promoted.
        why = storage_failure(exc)
        if why is None:
            raise
        state = ("the promotion is committed, but the study's outputs were not refreshed" if committed else
                 "nothing was promoted (a promotion is all tiers or none)")
        raise StorageFailed(f"the study database {spec.redacted} failed ({why}); {state}. "
                            f"{failure_advice(spec, why)}, run the same command again") from None
    return result


def _confirm_counts(finalists: int | None, runs: int | None, suite_seeds: int | None) -> tuple[int, int, int]:
    """The confirmation's counts: given ones checked, the others from their defaults
    (environment or built in); an :class:`InputError` for a bad one."""
    return (check_count("--finalists", configured("finalists") if finalists is None else finalists, 1),
            check_count("--confirm-runs", configured("runs") if runs is None else runs, 2),
            check_count("--confirm-suite-seeds", configured("suite_seeds") if suite_seeds is None else suite_seeds, 1))


def _confirm_settings(study: optuna.Study, finalists: int, runs: int, suite_seeds: int) -> ConfirmSettings:
    settings = StudySettings.stored(study)
    return ConfirmSettings(study_seed=int(settings.get("seed", 0)), ticks=int(settings.get("mc_ticks", 600)),
                           runs=runs, suite_seeds=suite_seeds, finalists=finalists)


def _check_promote_dir(handle: Study, directory: Path, *, explicit: bool) -> None:
    """A promotion reads and rewrites only its own study's directory."""
    flag = "--study-dir" if explicit else "the recorded study directory"
    spec = handle._ref.spec
    if explicit:
        check_study_dir(directory, flag=flag, spec=spec, may_create_parent=False)
    marker = check_owner(directory, spec, handle.name, handle.optuna._study_id, flag=flag)
    if marker is None and directory != handle.study_dir and holds_study_files(directory):
        raise InputError(f"{flag} {directory}: holds study files but no ownership marker of study {handle.name} "
                         f"(which recorded {handle.study_dir}); choose that study's own directory")


def reproduce(record: str | Path, output_dir: str | Path | None = None, *, quiet: bool = True,
              fresh_seeds: int | None = None) -> Reproduction:
    """Re-runs a promotion record's Monte Carlo (same overlay, seeds, runs, ticks) in
    ``output_dir`` (default: a fresh temporary directory) and compares it with the trial's,
    then replays the record's confirmation the same way (``Reproduction.confirmation``;
    :class:`~tuner.promotion.reproduce.Reproduction`). ``fresh_seeds`` N also evaluates
    the candidate on a new stream of N runs and both suites and judges it against its tier
    (``Reproduction.fresh``). Raises :class:`~tuner.errors.InputError` for an unusable
    record."""
    if fresh_seeds is not None:
        check_count("--fresh-seeds", fresh_seeds, 2)
    ensure_binaries(quiet=quiet)
    return _reproduce(Path(record), Path(output_dir) if output_dir is not None else None, fresh=fresh_seeds)

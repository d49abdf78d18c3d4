"""The trial record: what a study stores about each trial, and the typed view readers use.

The objective writes a trial's user attributes under the keys of :class:`Attr`; the
study stores its own under :class:`StudyAttr`. Everything that reads a trial (the
promoter, ``tuner.show``, the plots, the reports, the DataFrame API) goes through
:class:`TrialView` (or the helpers here), never through key literals, so a rename is
one change. Also here: feasibility, which trials count toward ``--trials`` (interrupted
and superseded trials do not), a trial's logical index, and the flat metrics a trial
stores, computed from its ``mc_summary.json``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from optuna.trial import FrozenTrial, TrialState

from tuner.names import METRIC_NAMES, PROFILE_KNOB
from tuner.simulator.summary import SummaryError, summary_number
from tuner.stats.bounds import gate_bounds

__all__ = [
    "CONSTRAINTS_PREFIX",
    "CONSTRAINT_KEY",
    "LEGACY_CONSTRAINTS_KEY",
    "METRIC_DOCS",
    "RETRY_OF_KEY",
    "Attr",
    "StudyAttr",
    "SuiteResult",
    "TrialIndex",
    "TrialView",
    "as_number",
    "counted_trials",
    "feasible_points",
    "front_members",
    "interrupted_numbers",
    "is_feasible",
    "is_repeat",
    "logical_index",
    "metrics_from_summary",
    "objective_values",
    "study_trials",
    "superseded_numbers",
]


class Attr:
    """Keys of a trial's user attributes (written by the objective and recovery)."""

    WORKER = "worker"  #: ``host:pid`` of the worker that ran the trial
    INTERRUPTED = "interrupted"  #: True when the worker stopped while running it
    RETRY_OF = "retry_of"  #: number of the trial this one retries
    CANDIDATE_ID = "candidate_id"
    TRIAL_DIR = "trial_dir"
    FAILURE = "failure"  #: why an integrity failure happened: reason, command, output tails
    COMMANDS = "commands"  #: the commands run before a failure
    PNL_LCB = "pnl_lcb"  #: copy of metrics.pnl_lcb, for optuna-dashboard's tables
    KILL_COUNT = "kill_count"  #: copy of metrics.kill_k, for the dashboard
    SUITES_PASSED = "suites_passed"  #: True when every suite passed
    EVIDENCE_VERIFIED = "evidence_verified"
    METRICS = "metrics"  #: flat statistics, see :func:`metrics_from_summary`
    OVERLAY = "overlay"  #: the candidate's PARAPHINA_* overlay
    SUITES = "suites"  #: suite name -> {passed, failed_checks, failures}
    EVIDENCE = "evidence"  #: digests recorded at trial time
    RUN = "run"  #: settings, seeds, commands and durations
    REUSED_FROM = "reused_from"  #: number of the trial whose stored result this one took (not simulated)
    #: what made the evidence: git_commit, git_dirty, git_diff_sha256, binaries_sha256
    #: (:func:`tuner.simulator.identity.provenance`, captured once per worker process)
    PROVENANCE = "provenance"


class StudyAttr:
    """Keys of a study's user attributes."""

    SETTINGS = "settings"  #: the settings every resume must match
    STUDY_DIR = "study_dir"
    STORAGE = "storage"  #: the storage URL, redacted
    #: ``confirmation:<trial number>`` -> {settings key: directory, pack digest, streams,
    #: metrics}: the promoter's finished confirmations (a finished trial cannot change)
    CONFIRMATION_PREFIX = "confirmation:"
    #: The last promotion's overfitting report (degradation, PBO), copied into pareto.json
    OVERFITTING = "overfitting"


class EvidenceKey:
    """Keys inside :attr:`Attr.EVIDENCE`."""

    MC_SUMMARY = "mc_summary_sha256"  #: of ``mc/mc_summary.json`` (uncompressed, whichever way it is stored)
    ROOT_SUMS = "root_sha256sums_sha256"  #: of ``evidence_pack/SHA256SUMS``
    #: of ``mc/mc_runs.jsonl`` (uncompressed), kept even when the layout drops the file
    MC_RUNS = "mc_runs_sha256"
    #: the trial directory's layout (``sim_eval trial --evidence``: compact, full or summary);
    #: absent for trials made by the separate commands (the full layout)
    LAYOUT = "layout"


#: Constraint name: failed scenario checks over both suites (feasible when 0).
CONSTRAINT_KEY = "suite_failures"
#: Optuna's prefix of a constraint's system attribute (``constraints:<key>``, what
#: ``Trial.set_constraint`` writes).
CONSTRAINTS_PREFIX = "constraints"
#: System attribute of the older constraint format (a list), which optuna-dashboard 0.21 reads.
LEGACY_CONSTRAINTS_KEY = "constraints"
#: System attribute naming the trial a retry replaces (Optuna's retry convention).
RETRY_OF_KEY = "failed_trial"
#: System attribute listing the trials a retry chain replaced.
RETRY_HISTORY_KEY = "retry_history"

_FINISHED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)


def is_feasible(t: FrozenTrial) -> bool:
    """Feasible = COMPLETE with every constraint ≤ 0. A COMPLETE trial without any
    constraint is not trusted (Optuna 5 would call it feasible): every run of the
    objective sets one."""
    c = t.constraints
    return t.state == TrialState.COMPLETE and bool(c) and all(v <= 0 for v in c.values())


def is_repeat(t: FrozenTrial) -> bool:
    """A trial that took an earlier trial's stored result for the same candidate
    (:mod:`tuner.search.reuse`): the original stands for it on every front."""
    return isinstance(t.user_attrs.get(Attr.REUSED_FROM), int)


def front_members(best_trials: Iterable[FrozenTrial]) -> list[FrozenTrial]:
    """The Pareto front as users and the promoter see it: Optuna's ``best_trials`` that
    are feasible, one trial per candidate (a repeat has its original's values, so
    dropping it changes no other trial's membership)."""
    return [t for t in best_trials if is_feasible(t) and not is_repeat(t)]


def feasible_points(trials: Iterable[FrozenTrial]) -> list[tuple[float, ...] | None]:
    """Each trial's objective values when it is feasible, else None (for hypervolumes)."""
    return [tuple(t.values) if is_feasible(t) and t.values else None for t in trials]


def superseded_numbers(trials: Iterable[FrozenTrial]) -> set[int]:
    """Numbers of trials that a retry replaced."""
    out: set[int] = set()
    for t in trials:
        n = t.system_attrs.get(RETRY_OF_KEY)
        if isinstance(n, int):
            out.add(n)
    return out


def interrupted_numbers(trials: Iterable[FrozenTrial]) -> set[int]:
    """Numbers of FAIL trials flagged as interrupted (retried or still to be)."""
    return {t.number for t in trials if t.state == TrialState.FAIL and t.user_attrs.get(Attr.INTERRUPTED) is True}


def counted_trials(trials: Sequence[FrozenTrial]) -> list[FrozenTrial]:
    """Finished trials that count toward ``--trials``: interrupted and superseded ones do not."""
    skip = superseded_numbers(trials) | interrupted_numbers(trials)
    return [t for t in trials if t.state in _FINISHED and t.number not in skip]


class TrialIndex:
    """:func:`counted_trials`' count, :func:`logical_index` and the running/waiting
    trials, kept up to date from the trials that are new or were unfinished at the last
    call instead of rescanning the study: a finished trial never changes (Optuna refuses
    writes to it), so each is read once. The same answers as the functions, for the list
    ``study.get_trials(deepcopy=False)`` returns (trial ``i`` at position ``i``); any other
    list (another study, a shorter one) starts the index over."""

    def __init__(self) -> None:
        self._reset()
        self.finished_now: list[FrozenTrial] = []  #: trials the last update saw finished for the first time
        self.started_over = False  #: the last update read another list than the one before

    def _reset(self) -> None:
        self._seen = 0  #: trials[:_seen] were read
        self._pending: list[int] = []  #: read while unfinished: read again
        self._finished: set[int] = set()
        self._superseded: set[int] = set()
        self._interrupted: set[int] = set()
        self._first_id: int | None = None

    def update(self, trials: Sequence[FrozenTrial]) -> TrialIndex:
        """Reads what changed in ``trials`` (the study's, in number order); returns self.
        Afterwards ``finished_now`` holds the trials that finished since the last call and
        ``started_over`` says whether it started over on another list than the one it had
        read (then ``finished_now`` is every finished trial of the new one)."""
        first_id = trials[0]._trial_id if trials else None
        changed = len(trials) < self._seen or first_id != self._first_id
        self.started_over = changed and self._seen > 0
        if changed:
            self._reset()
            self._first_id = first_id
        self.finished_now = []
        pending: list[int] = []
        for number in [*self._pending, *range(self._seen, len(trials))]:
            t = trials[number]
            if t.number != number:  # not a study's own list: no incremental answer
                raise ValueError(f"trial at position {number} is number {t.number}")
            retry_of = t.system_attrs.get(RETRY_OF_KEY)
            if isinstance(retry_of, int):
                self._superseded.add(retry_of)
            if t.state in _FINISHED:
                self._finished.add(number)
                self.finished_now.append(t)
                if t.state == TrialState.FAIL and t.user_attrs.get(Attr.INTERRUPTED) is True:
                    self._interrupted.add(number)
            else:
                pending.append(number)
        self._pending, self._seen = pending, len(trials)
        self._trials = trials
        return self

    @property
    def skip(self) -> set[int]:
        """Superseded and interrupted trial numbers."""
        return self._superseded | self._interrupted

    def counted(self) -> int:
        """``len(counted_trials(trials))``."""
        return len(self._finished) - sum(1 for n in self.skip if n in self._finished)

    def logical_index(self, number: int) -> int:
        """``logical_index(trials, number)`` for a trial of the list (``number < len``)."""
        return min(number, self._seen) - sum(1 for n in self.skip if n < number)

    def unfinished(self, state: TrialState) -> int:
        """How many trials are in ``state`` (RUNNING or WAITING)."""
        return sum(1 for n in self._pending if self._trials[n].state == state)


class _ByNumber(Sequence[FrozenTrial]):
    """The first ``n`` trials of a study's in-memory cache (a dict by trial number), as
    the list ``get_trials(deepcopy=False)`` would return, without building that list."""

    def __init__(self, trials: Mapping[int, FrozenTrial], n: int) -> None:
        self._by_number, self._n = trials, n

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(self._n))]
        if i < 0:
            i += self._n
        if not 0 <= i < self._n:
            raise IndexError(i)
        try:
            return self._by_number[i]
        except KeyError:  # the cache holds a later trial but not this one: no positional list
            raise ValueError(f"the storage's cache holds no trial {i} of {self._n}") from None


def study_trials(study: Any) -> Sequence[FrozenTrial]:
    """``study.get_trials(deepcopy=False)`` (every trial, position = number), at a cost
    that does not grow with the study when its storage is Optuna's RDB storage.

    ``get_trials`` on an RDB storage reads the new and unfinished trials from the
    database into the process's cache (``_CachedStorage``) and then sorts *all* cached
    trials into a new list, an O(trials) step paid on every call (2 ms at 10 000 trials,
    several calls per trial). Here the same read is made and the cache's dict is
    returned as a sequence: readers that look only at new trials (:class:`TrialIndex`,
    the sampler's caches) then cost what is new. Other storages (in memory, journal),
    or an Optuna whose cache is shaped otherwise, get ``get_trials``' list."""
    storage = study._storage
    read = getattr(storage, "_read_trials_from_remote_storage", None)
    studies = getattr(storage, "_studies", None)
    lock = getattr(storage, "_lock", None)
    if read is None or not isinstance(studies, dict) or lock is None:
        return study.get_trials(deepcopy=False)
    read(study._study_id)
    with lock:
        info = studies.get(study._study_id)
        by_number = getattr(info, "trials", None)
        if not isinstance(by_number, dict):
            return study.get_trials(deepcopy=False)
        n = len(by_number)
        if n and n - 1 not in by_number:  # not numbered 0..n-1 (a trial not read yet): the list
            return study.get_trials(deepcopy=False)
        return _ByNumber(by_number, n)


def logical_index(trials: Sequence[FrozenTrial], number: int) -> int:
    """Position of trial ``number`` in the study as if no interruption had happened: the
    count of earlier trials that were not interrupted. A retry sits where the trial it
    replaces sat, so the sampler's per-trial randomness (seeded from this index) is the
    same in an interrupted and an uninterrupted run."""
    skip = superseded_numbers(trials) | interrupted_numbers(trials)
    return sum(1 for t in trials if t.number < number and t.number not in skip)


def as_number(value: Any) -> float:
    """A stored statistic as a float; anything that is not a real number (booleans
    included) as NaN, so every rule that reads it fails closed."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return math.nan
    return float(value)


def metrics_from_summary(summary: Mapping[str, Any], alpha: float) -> dict[str, float | int]:
    """Every statistic later steps need, flat, plus ``pnl_lcb`` and ``kill_ucb`` at ``alpha``.

    Raises :class:`~tuner.simulator.summary.SummaryError` when a field is missing or malformed.
    """
    num = summary_number
    n = int(num(summary, "tail_risk.kill_probability.total_runs"))
    k = int(num(summary, "tail_risk.kill_probability.kill_count"))
    pnl_mean = num(summary, "aggregate.pnl.mean")
    pnl_std = num(summary, "aggregate.pnl.std")
    if n <= 0 or not 0 <= k <= n:
        raise SummaryError(f"mc_summary.json: kill count {k} of {n} runs is impossible")
    bounds = gate_bounds(pnl_mean, pnl_std, k, n, alpha)
    return {
        "pnl_mean": pnl_mean,
        "pnl_stdev": pnl_std,
        "pnl_lcb": bounds.pnl_lcb,
        "pnl_min": num(summary, "aggregate.pnl.min"),
        "pnl_p05": num(summary, "tail_risk.pnl_quantiles.p05"),
        "pnl_p50": num(summary, "tail_risk.pnl_quantiles.p50"),
        "pnl_p95": num(summary, "tail_risk.pnl_quantiles.p95"),
        "pnl_var": num(summary, "tail_risk.pnl_var_cvar.var"),
        "pnl_cvar": num(summary, "tail_risk.pnl_var_cvar.cvar"),
        "dd_mean": num(summary, "aggregate.max_drawdown.mean"),
        "dd_max": num(summary, "aggregate.max_drawdown.max"),
        "dd_var": num(summary, "tail_risk.max_drawdown_var_cvar.var"),
        "dd_cvar": num(summary, "tail_risk.max_drawdown_var_cvar.cvar"),
        "kill_k": k,
        "kill_n": n,
        "kill_rate": k / n,
        "kill_ucb": bounds.kill_ucb,
        "kill_ci95_lower": num(summary, "tail_risk.kill_probability.ci_lower"),
        "kill_ci95_upper": num(summary, "tail_risk.kill_probability.ci_upper"),
        "maker_volume_tao_mean": num(summary, "aggregate.maker_volume_tao.mean"),
        "hedge_volume_tao_mean": num(summary, "aggregate.hedge_volume_tao.mean"),
        "fees_usd_mean": num(summary, "aggregate.fees_usd.mean"),
        "max_abs_q_tao_mean": num(summary, "aggregate.max_abs_q_tao.mean"),
        "max_abs_q_tao_max": num(summary, "aggregate.max_abs_q_tao.max"),
    }


#: What each flat statistic of :func:`metrics_from_summary` is: (unit, description).
#: Views print these so that a stored key never has to be guessed (``pnl_var`` is a
#: value at risk, not a variance).
METRIC_DOCS: dict[str, tuple[str, str]] = {
    "pnl_mean": ("USD", "mean final PnL (objective, maximized)"),
    "pnl_stdev": ("USD", "standard deviation of the final PnL"),
    "pnl_lcb": ("USD", "one-sided lower confidence bound of pnl_mean (the tiers' min pnl_lcb)"),
    "pnl_min": ("USD", "worst final PnL"),
    "pnl_p05": ("USD", "5th percentile of the final PnL"),
    "pnl_p50": ("USD", "median final PnL"),
    "pnl_p95": ("USD", "95th percentile of the final PnL"),
    "pnl_var": ("USD", "VaR 5 % of the final PnL (its 5th percentile; not a variance)"),
    "pnl_cvar": ("USD", "CVaR 5 % of the final PnL (mean of the runs at or below the VaR)"),
    "dd_mean": ("USD", "mean max drawdown"),
    "dd_max": ("USD", "largest max drawdown"),
    "dd_var": ("USD", "VaR 95 % of the max drawdown (its 95th percentile; not a variance)"),
    "dd_cvar": ("USD", "CVaR 95 % of the max drawdown: mean of the worst 5 % (objective, minimized)"),
    "kill_k": ("runs", "runs that hit the kill switch"),
    "kill_n": ("runs", "Monte Carlo runs"),
    "kill_rate": ("fraction", "kill_k / kill_n"),
    "kill_ucb": ("probability", "one-sided Wilson upper bound of the kill rate (objective, minimized)"),
    "kill_ci95_lower": ("probability", "lower end of the simulator's two-sided 95 % Wilson interval"),
    "kill_ci95_upper": ("probability", "upper end of the simulator's two-sided 95 % Wilson interval"),
    "maker_volume_tao_mean": ("TAO", "mean maker volume per run"),
    "hedge_volume_tao_mean": ("TAO", "mean hedge volume per run"),
    "fees_usd_mean": ("USD", "mean fees per run"),
    "max_abs_q_tao_mean": ("TAO", "mean of each run's largest absolute inventory"),
    "max_abs_q_tao_max": ("TAO", "largest absolute inventory of any run"),
}


def objective_values(metrics: Mapping[str, float | int]) -> tuple[float, ...]:
    """The study's objectives from a trial's metrics, in the order of :data:`~tuner.names.METRIC_NAMES`."""
    return tuple(float(metrics[name]) for name in METRIC_NAMES)


@dataclass(frozen=True)
class SuiteResult:
    """One suite's verdict as the trial stored it."""

    passed: bool
    failed_checks: int | None
    failures: tuple[str, ...] = ()


@dataclass(frozen=True)
class TrialView:
    """A trial as the readers of a study see it: typed, with missing values explicit.

    ``metrics`` holds the flat statistics of :func:`metrics_from_summary` (empty when the
    trial never scored); :meth:`metric` reads one as a float, NaN when missing.
    """

    number: int
    trial_id: int
    state: str
    values: Mapping[str, float] | None
    constraints: Mapping[str, float]
    feasible: bool
    params: Mapping[str, Any]
    candidate_id: str | None
    trial_dir: str | None
    overlay: Mapping[str, str]
    metrics: Mapping[str, Any]
    suites: Mapping[str, SuiteResult]
    evidence_verified: bool
    evidence: Mapping[str, Any]
    run: Mapping[str, Any]
    failure: Mapping[str, Any] | None
    interrupted: bool
    retry_of: int | None
    reused_from: int | None  #: the trial whose stored result this one took (a repeat)
    worker: str | None
    datetime_start: dt.datetime | None
    datetime_complete: dt.datetime | None
    user_attrs: Mapping[str, Any] = field(repr=False, default_factory=dict)

    @classmethod
    def of(cls, t: FrozenTrial) -> TrialView:
        ua = t.user_attrs
        suites: dict[str, SuiteResult] = {}
        for name, s in (ua.get(Attr.SUITES) or {}).items():
            if isinstance(s, Mapping):
                checks = s.get("failed_checks")
                suites[str(name)] = SuiteResult(
                    passed=s.get("passed") is True,
                    failed_checks=checks if isinstance(checks, int) and not isinstance(checks, bool) else None,
                    failures=tuple(str(f) for f in s.get("failures") or ()),
                )
            else:
                suites[str(name)] = SuiteResult(passed=False, failed_checks=None)
        retry = t.system_attrs.get(RETRY_OF_KEY)
        return cls(
            number=t.number,
            trial_id=t._trial_id,
            state=t.state.name,
            values=dict(zip(METRIC_NAMES, t.values, strict=False)) if t.values else None,
            constraints=dict(t.constraints),
            feasible=is_feasible(t),
            params=dict(t.params),
            candidate_id=ua.get(Attr.CANDIDATE_ID) if isinstance(ua.get(Attr.CANDIDATE_ID), str) else None,
            trial_dir=ua.get(Attr.TRIAL_DIR) if isinstance(ua.get(Attr.TRIAL_DIR), str) else None,
            overlay=dict(ua.get(Attr.OVERLAY) or {}),
            metrics=dict(ua.get(Attr.METRICS) or {}),
            suites=suites,
            evidence_verified=ua.get(Attr.EVIDENCE_VERIFIED) is True,
            evidence=dict(ua.get(Attr.EVIDENCE) or {}),
            run=dict(ua.get(Attr.RUN) or {}),
            failure=ua.get(Attr.FAILURE) if isinstance(ua.get(Attr.FAILURE), Mapping) else None,
            interrupted=ua.get(Attr.INTERRUPTED) is True,
            retry_of=retry if isinstance(retry, int) else None,
            reused_from=ua.get(Attr.REUSED_FROM) if isinstance(ua.get(Attr.REUSED_FROM), int) else None,
            worker=ua.get(Attr.WORKER) if isinstance(ua.get(Attr.WORKER), str) else None,
            datetime_start=t.datetime_start,
            datetime_complete=t.datetime_complete,
            user_attrs=dict(ua),
        )

    def metric(self, name: str) -> float:
        """The stored statistic ``name`` as a float (NaN when missing or not a number)."""
        return as_number(self.metrics.get(name))

    @property
    def profile(self) -> str | None:
        value = self.overlay.get(PROFILE_KNOB, self.params.get(PROFILE_KNOB))
        return str(value) if value is not None else None

    @property
    def failed_checks(self) -> int | None:
        """Failed suite checks (the constraint value), None when the trial set none."""
        c = self.constraints.get(CONSTRAINT_KEY)
        return None if c is None else int(c)

    @property
    def suites_passed(self) -> dict[str, bool]:
        """Suite name -> passed."""
        return {name: s.passed for name, s in self.suites.items()}

    def suite_failures(self) -> list[str]:
        """The failed checks in words, suite by suite."""
        return [f"{name}: {f}" for name, s in self.suites.items() for f in s.failures]

"""A candidate is simulated once per study.

Two trials of a study can propose the same candidate (the same ``candidate_id``: the
same overlay). NSGA-II draws such a child again before it reaches the objective
(:mod:`tuner.session.sampler`), but no sampler can avoid every repeat: a search space
with few candidates runs out of new ones, and TPE, random search or a mutation over a
discrete knob can repeat one. When it happens the trial is not simulated again: it
takes the stored result of the earliest completed trial with that candidate id and the
same Monte Carlo settings (its values, constraint, metrics, suites and evidence
digests), records the original's number under ``reused_from``, and its ``trial_dir``
points at the original trial's directory, whose evidence verifies the result. The
simulator is deterministic for a candidate and settings, so a second run would only
repeat the same numbers at the full price.

A reused trial is a finished trial: it counts toward ``--trials`` (it cost no
simulation) and, having the original's values, sits beside it in the Pareto front.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Mapping
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from tuner.record import CONSTRAINT_KEY, LEGACY_CONSTRAINTS_KEY, Attr, TrialIndex, study_trials

__all__ = ["stored_result", "take_stored_result"]

#: The attributes that carry a trial's result (copied from the original).
_RESULT_ATTRS = (Attr.PNL_LCB, Attr.KILL_COUNT, Attr.SUITES_PASSED, Attr.EVIDENCE_VERIFIED, Attr.METRICS,
                 Attr.OVERLAY, Attr.SUITES, Attr.EVIDENCE, Attr.TRIAL_DIR)


class _Completed:
    """A study's COMPLETE trials by candidate id, kept up to date from the trials that
    finished since the last look (:class:`~tuner.record.TrialIndex` says which) instead
    of a scan of every completed trial per look-up; other workers' trials are read as
    soon as the storage has them."""

    def __init__(self) -> None:
        self.index = TrialIndex()
        self.by_cid: dict[str, list[FrozenTrial]] = {}

    def update(self, study: optuna.Study) -> _Completed:
        self.index.update(study_trials(study))
        if self.index.started_over:
            self.by_cid = {}
        for t in self.index.finished_now:
            cid = t.user_attrs.get(Attr.CANDIDATE_ID) if t.state == TrialState.COMPLETE else None
            if isinstance(cid, str):
                self.by_cid.setdefault(cid, []).append(t)
        return self


#: Per study object (a process holds one per study it runs); dropped with the study.
_COMPLETED: weakref.WeakKeyDictionary[optuna.Study, _Completed] = weakref.WeakKeyDictionary()


def stored_result(trial: optuna.Trial, cid: str, settings: Mapping[str, Any]) -> FrozenTrial | None:
    """The earliest COMPLETE trial of ``trial``'s study with candidate id ``cid`` whose
    recorded run settings (``run.mc_runs``, ``run.mc_ticks``, ``run.seed``, ...) equal
    ``settings`` and that holds a whole result; None when there is none."""
    study = trial.study
    completed = _COMPLETED.get(study)
    if completed is None:
        completed = _COMPLETED[study] = _Completed()
    for t in sorted(completed.update(study).by_cid.get(cid, ()), key=lambda t: t.number):
        if t.number == trial.number:
            continue
        run = t.user_attrs.get(Attr.RUN)
        if not isinstance(run, Mapping) or any(run.get(k) != v for k, v in settings.items()):
            continue
        if t.values and CONSTRAINT_KEY in t.constraints and all(k in t.user_attrs for k in _RESULT_ATTRS):
            return t
    return None


def take_stored_result(trial: optuna.Trial, cid: str, original: FrozenTrial) -> tuple[float, ...]:
    """Records ``original``'s result on ``trial`` (nothing is simulated) and returns its
    objective values."""
    started = time.monotonic()
    ua = original.user_attrs
    trial.set_user_attr(Attr.CANDIDATE_ID, cid)
    trial.set_user_attr(Attr.REUSED_FROM, original.number)
    for key in _RESULT_ATTRS:
        trial.set_user_attr(key, ua[key])
    if Attr.PROVENANCE in ua:  # the evidence's, not this process's
        trial.set_user_attr(Attr.PROVENANCE, ua[Attr.PROVENANCE])
    run = dict(ua.get(Attr.RUN) or {})
    run.update(reused_from=original.number, commands=[], binary_seconds=0.0,
               seconds=round(time.monotonic() - started, 4))
    trial.set_user_attr(Attr.RUN, run)
    failed = float(original.constraints[CONSTRAINT_KEY])
    trial.set_constraint(CONSTRAINT_KEY, failed)
    trial.storage.set_trial_system_attr(trial._trial_id, LEGACY_CONSTRAINTS_KEY, [failed])
    return tuple(float(v) for v in original.values)

"""Reading a whole study at once, fast: the readers (``tuner.show``, the promoter, the
dashboard's correction) read every trial of a study, and Optuna's own
``get_all_trials`` builds them through the SQLAlchemy ORM, one object per stored row
(about 28 rows per trial here): 15 s for a study of 10 000 trials on this project's
2-core machine (docs/BENCHMARKS.md). :func:`read_all_trials` reads the same tables
with five plain SELECTs and builds the same :class:`~optuna.trial.FrozenTrial` objects
as Optuna does (``RDBStorage._build_frozen_trial_from_trial_model``: values by
objective, parameters in insertion order through their distributions, attributes
decoded from JSON, by key), each distinct distribution decoded once. Any storage other than
Optuna's RDB storage is read through Optuna.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import optuna
from optuna import distributions
from optuna.storages import BaseStorage, RDBStorage
from optuna.storages._rdb import models
from optuna.study._multi_objective import _get_pareto_front_trials_by_trials
from optuna.study._study_direction import StudyDirection
from optuna.trial import FrozenTrial
from sqlalchemy import select

__all__ = ["best_trials", "read_all_trials", "read_trials"]


def _rdb(storage: BaseStorage) -> RDBStorage | None:
    """The RDB storage behind ``storage`` (Optuna wraps it in a cache), or None."""
    backend = getattr(storage, "_backend", storage)
    return backend if isinstance(backend, RDBStorage) else None


def read_all_trials(storage: BaseStorage, study_id: int) -> list[FrozenTrial]:
    """Every trial of the study, in trial order: equal to
    ``storage.get_all_trials(study_id, deepcopy=False)``."""
    rdb = _rdb(storage)
    if rdb is None:
        return list(storage.get_all_trials(study_id, deepcopy=False))
    trial = models.TrialModel.__table__
    ids = select(trial.c.trial_id).where(trial.c.study_id == study_id).scalar_subquery()

    def rows(table: Any, *columns: str, order: str) -> Any:
        return conn.execute(select(*(table.c[c] for c in columns)).where(table.c.trial_id.in_(ids))
                            .order_by(table.c[order])).all()

    with rdb.engine.connect() as conn:
        trials = conn.execute(select(trial.c.trial_id, trial.c.number, trial.c.state, trial.c.datetime_start,
                                     trial.c.datetime_complete)
                              .where(trial.c.study_id == study_id).order_by(trial.c.trial_id)).all()
        params = rows(models.TrialParamModel.__table__, "trial_id", "param_name", "param_value", "distribution_json",
                      order="param_id")
        values = rows(models.TrialValueModel.__table__, "trial_id", "objective", "value", "value_type",
                      order="trial_value_id")
        # Attributes by key: the order Optuna's own read gives on SQLite (through the
        # unique (trial_id, key) index); on PostgreSQL its order is unspecified.
        user = rows(models.TrialUserAttributeModel.__table__, "trial_id", "key", "value_json", order="key")
        system = rows(models.TrialSystemAttributeModel.__table__, "trial_id", "key", "value_json", order="key")
        inter = rows(models.TrialIntermediateValueModel.__table__, "trial_id", "step", "intermediate_value",
                     "intermediate_value_type", order="trial_intermediate_value_id")
    by_id: dict[int, dict[str, Any]] = {
        t.trial_id: {"values": {}, "params": {}, "distributions": {}, "user": {}, "system": {}, "inter": {}}
        for t in trials}
    decoded: dict[str, distributions.BaseDistribution] = {}
    for tid, name, value, dist_json in params:
        dist = decoded.get(dist_json)
        if dist is None:
            dist = decoded[dist_json] = distributions.json_to_distribution(dist_json)
        parts = by_id[tid]
        parts["params"][name] = dist.to_external_repr(value)
        parts["distributions"][name] = dist
    for tid, objective, value, kind in values:
        by_id[tid]["values"][objective] = models.TrialValueModel.stored_repr_to_value(value, kind)
    for part, attrs in (("user", user), ("system", system)):
        # One JSON document for all of them: a third faster than one json.loads each.
        decoded_values = json.loads("[" + ",".join(r[2] for r in attrs) + "]") if attrs else []
        for (tid, key, _), value in zip(attrs, decoded_values, strict=True):
            by_id[tid][part][key] = value
    for tid, step, value, kind in inter:
        by_id[tid]["inter"][step] = models.TrialIntermediateValueModel.stored_repr_to_intermediate_value(value, kind)
    out = []
    for t in trials:
        parts = by_id[t.trial_id]
        vals = parts["values"]
        out.append(FrozenTrial(
            number=t.number, state=t.state, value=None,
            values=[vals.get(i, 0) for i in range(max(vals) + 1)] if vals else None,
            datetime_start=t.datetime_start, datetime_complete=t.datetime_complete,
            params=parts["params"], distributions=parts["distributions"], user_attrs=parts["user"],
            system_attrs=parts["system"], intermediate_values=parts["inter"], trial_id=t.trial_id))
    return out


def read_trials(study: optuna.Study) -> list[FrozenTrial]:
    """Every trial of ``study``: equal to ``study.get_trials(deepcopy=False)``."""
    return read_all_trials(study._storage, study._study_id)


def best_trials(study: optuna.Study, trials: Sequence[FrozenTrial] | None = None) -> list[FrozenTrial]:
    """``study.best_trials`` of a multi-objective study (Optuna's Pareto front, over the
    feasible trials when any trial has constraints) from ``trials`` (default: read once
    with :func:`read_trials`)."""
    every = list(trials) if trials is not None else read_trials(study)
    directions: Sequence[StudyDirection] = study.directions
    constrained = any(t.constraints for t in every)
    return _get_pareto_front_trials_by_trials(every, directions, consider_constraint=constrained)

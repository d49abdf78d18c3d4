"""Opening a study: the one place Optuna studies are created or loaded, and the
``--study``/``--storage`` handling every command shares."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import optuna

from tuner.errors import InputError
from tuner.names import DIRECTIONS, KNOB_NAMES, METRIC_NAMES, validate_study_name
from tuner.record import StudyAttr
from tuner.session.recovery import StaleTrialRetry, host_name
from tuner.session.sampler import make_sampler, sampler_available
from tuner.session.settings import StudySettings
from tuner.session.storage import StorageSpec, default_storage_url, make_storage, parse_storage

__all__ = ["StudyRef", "open_existing", "open_study", "recorded_study_dir", "resolve_study"]


@dataclass(frozen=True)
class StudyRef:
    """A study name and the storage that holds it (validated, not yet opened)."""

    name: str
    spec: StorageSpec


def resolve_study(name: str, storage: str | None) -> StudyRef:
    """Validates ``--study`` and ``--storage`` (default ``sqlite:///studies/<name>.db``)."""
    name = validate_study_name(name)
    return StudyRef(name, parse_storage(storage or default_storage_url(name)))


def open_study(
    name: str,
    spec: StorageSpec,
    sampler: optuna.samplers.BaseSampler | None,
    *,
    create: bool,
    worker: bool = False,
) -> optuna.Study:
    """Creates or loads the study. The sampler is passed on creation and on every load:
    Optuna 5 would otherwise use TPE. A ``worker`` storage has heartbeats, and a trial
    whose worker went silent is retried with the same parameters."""
    if worker:
        host_name()  # a bad TUNER_HOST is refused before anything is stored
    storage = make_storage(spec, create=create,
                           stale_trial_callback=StaleTrialRetry(len(KNOB_NAMES)) if worker else None)
    if create:
        study = optuna.create_study(
            study_name=name, storage=storage, sampler=sampler,
            directions=[optuna.study.StudyDirection[d.upper()] for d in DIRECTIONS], load_if_exists=True,
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


def open_existing(ref: StudyRef) -> optuna.Study:
    """Loads an existing study for reading or promotion, with the sampler it was run with
    (so a later resume in this process would not silently switch to TPE)."""
    if ref.spec.sqlite_path is not None and not ref.spec.sqlite_path.exists():
        raise InputError(f"--storage {ref.spec.redacted}: no such database file")
    study = open_study(ref.name, ref.spec, None, create=False)
    settings = StudySettings.stored(study)
    # A GP study can be read where its extra is not installed (nothing samples here).
    if settings.get("sampler") and (settings["sampler"] != "gp" or sampler_available("gp")):
        study.sampler = make_sampler(settings["sampler"], seed=int(settings.get("seed", 0)),
                                     population=int(settings.get("population", 2)))
    return study


def recorded_study_dir(study: optuna.Study) -> Path | None:
    """The study directory the study recorded when it was created."""
    value = study.user_attrs.get(StudyAttr.STUDY_DIR)
    return Path(value) if isinstance(value, str) and value else None

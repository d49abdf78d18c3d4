"""The settings that determine a study's trials, stored with the study and checked on
every resume so one study never mixes two settings."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

import optuna

from tuner.errors import InputError
from tuner.record import StudyAttr

__all__ = ["DEFAULTS", "SMOKE", "StudySettings"]

#: Defaults of ``tuner.study`` (the original specification's, but 200 runs: see the README).
DEFAULTS = {"trials": 10, "mc_runs": 200, "mc_ticks": 600, "seed": 42}
#: ``--smoke``: the whole path, cheaply; not meant to promote.
SMOKE = {"trials": 3, "mc_runs": 10, "mc_ticks": 100}


@dataclass(frozen=True)
class StudySettings:
    """Everything that determines a study's trials."""

    mc_runs: int
    mc_ticks: int
    seed: int
    alpha: float
    sampler: str
    population: int
    search_space: dict[str, Any]

    @staticmethod
    def attr_key() -> str:
        return StudyAttr.SETTINGS

    def as_stored(self) -> dict[str, Any]:
        """The settings as the storage holds them (JSON round trip: tuples become lists)."""
        return json.loads(json.dumps(asdict(self)))

    @staticmethod
    def stored(study: optuna.Study) -> dict[str, Any]:
        """A study's stored settings (empty when it has none)."""
        value = study.user_attrs.get(StudyAttr.SETTINGS)
        return dict(value) if isinstance(value, dict) else {}

    def bind(self, study: optuna.Study, *, study_dir: str, storage: str) -> None:
        """Stores the settings on a new study, or checks that a resumed study has these
        settings (an :class:`InputError` naming every difference otherwise)."""
        stored = study.user_attrs.get(StudyAttr.SETTINGS)
        mine = self.as_stored()
        if stored is None:
            study.set_user_attr(StudyAttr.SETTINGS, asdict(self))
            study.set_user_attr(StudyAttr.STUDY_DIR, study_dir)
            study.set_user_attr(StudyAttr.STORAGE, storage)
            return
        if stored != mine:
            diffs = [f"{k} {stored.get(k)!r} → {v!r}" for k, v in mine.items() if stored.get(k) != v]
            raise InputError(
                f"study {study.study_name} was created with other settings ({'; '.join(diffs)}); "
                "rerun with the original settings or choose another --study"
            )

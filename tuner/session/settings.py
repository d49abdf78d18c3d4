"""The settings that determine a study's trials, stored with the study and checked on
every resume so one study never mixes two settings."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import optuna

from tuner.errors import InputError
from tuner.record import StudyAttr
from tuner.stats.streams import SEARCH_MC, search_seed

__all__ = ["DEFAULTS", "SEARCH_SEEDS", "SMOKE", "StudySettings", "search_first_seed"]

#: Defaults of ``tuner.study`` (the original specification's, but 200 runs: see the README).
DEFAULTS = {"trials": 10, "mc_runs": 200, "mc_ticks": 600, "seed": 42}
#: ``--smoke``: the whole path, cheaply; not meant to promote.
SMOKE = {"trials": 3, "mc_runs": 10, "mc_ticks": 100}
#: How a study's search draws its Monte Carlo seeds: every candidate runs seeds
#: ``b + i`` (``i < mc_runs``) with ``b`` the base of the study seed's ``search-mc``
#: stream (:func:`tuner.stats.streams.search_seed`). Stored with the settings, so a
#: study made when run i used ``seed + i`` (no such entry) is never resumed on others.
SEARCH_SEEDS = f"stream {SEARCH_MC}/v1"


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
    search_seeds: str = SEARCH_SEEDS

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
        if isinstance(stored, dict) and "search_seeds" not in stored:
            raise InputError(
                f"study {study.study_name} was made by an earlier version whose search ran seeds seed + i "
                "(this one draws them from the study seed's search-mc stream); it cannot be resumed without "
                "mixing the two: choose another --study (its stored trials stay readable and promotable)"
            )
        if stored != mine:
            diffs = [f"{k} {stored.get(k)!r} → {v!r}" for k, v in mine.items() if stored.get(k) != v]
            raise InputError(
                f"study {study.study_name} was created with other settings ({'; '.join(diffs)}); "
                "rerun with the original settings or choose another --study"
            )


def search_first_seed(stored: Mapping[str, Any]) -> int:
    """The first Monte Carlo seed of a study's search, from its stored settings: the
    base of the study seed's ``search-mc`` stream, or the study seed itself for a study
    made before seed streams (whose settings have no ``search_seeds``)."""
    seed = int(stored.get("seed", 0))
    return search_seed(seed) if "search_seeds" in stored else seed

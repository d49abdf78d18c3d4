"""The tuned configuration space, read from ``configs/search_space.yaml``.

The file is the single source of truth for knob ranges. Format::

    version: 1
    knobs:
      PARAPHINA_RISK_PROFILE: {type: categorical, choices: [conservative, balanced, aggressive]}
      PARAPHINA_HEDGE_BAND_BASE: {type: float, low: 0.02, high: 0.15}
      PARAPHINA_DAILY_LOSS_LIMIT: {type: float, low: 500.0, high: 3000.0, step: 100.0}
      PARAPHINA_MM_SIZE_ETA: {type: float, low: 0.5, high: 2.0, log: true}
      PARAPHINA_HEDGE_MAX_STEP: {type: int, low: 5, high: 20, step: 1}
      ...

Each of the seven knobs of :data:`tuner.names.KNOB_NAMES` appears exactly once.
A float knob takes ``low``, ``high`` and optionally ``step`` or ``log: true`` (not
both); an int knob ``low``, ``high`` and optionally ``step``; a categorical knob
``choices`` (the profile knob must be categorical, with choices among the canonical
profiles; numeric knobs may be categorical over numbers).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.trial import BaseTrial

from tuner.config._checks import fail, mapping, real_number, reject_unknown
from tuner.config._yaml import load_yaml_mapping
from tuner.errors import show_value
from tuner.names import KNOB_NAMES, PROFILE_KNOB, RISK_PROFILES, format_knob_value

__all__ = ["Knob", "SearchSpace", "load_search_space"]

_FILE_VERSION = 1
_KINDS = ("float", "int", "categorical")
_FIELDS = {
    "float": ("type", "low", "high", "step", "log"),
    "int": ("type", "low", "high", "step"),
    "categorical": ("type", "choices"),
}

Choice = str | int | float


@dataclass(frozen=True)
class Knob:
    """The sampled range of one knob.

    ``kind`` is ``"float"``, ``"int"`` or ``"categorical"``. Numeric kinds use ``low``,
    ``high`` (both inclusive, ``low < high``), ``step`` (``None`` for a continuous
    float) and ``log``; categorical knobs use ``choices``.
    """

    name: str
    kind: str
    low: float | int | None = None
    high: float | int | None = None
    step: float | int | None = None
    log: bool = False
    choices: tuple[Choice, ...] = ()

    def distribution(self) -> BaseDistribution:
        """Return the Optuna distribution that :meth:`suggest` samples from."""
        if self.kind == "categorical":
            return CategoricalDistribution(self.choices)
        low, high = self._bounds()
        if self.kind == "int":
            return IntDistribution(int(low), int(high), step=int(self.step or 1))
        return FloatDistribution(low, high, log=self.log, step=self.step)

    def suggest(self, trial: BaseTrial) -> Any:
        """Ask ``trial`` for this knob's value through the matching ``trial.suggest_*`` call."""
        if self.kind == "categorical":
            return trial.suggest_categorical(self.name, self.choices)
        low, high = self._bounds()
        if self.kind == "int":
            return trial.suggest_int(self.name, int(low), int(high), step=int(self.step or 1))
        return trial.suggest_float(self.name, low, high, step=self.step, log=self.log)

    def _bounds(self) -> tuple[float, float]:
        if self.low is None or self.high is None:
            raise ValueError(f"{self.kind} knob {self.name} needs low and high")
        return self.low, self.high


@dataclass(frozen=True)
class SearchSpace:
    """The seven knobs and their ranges, in :data:`~tuner.names.KNOB_NAMES` order."""

    knobs: tuple[Knob, ...]

    def __post_init__(self) -> None:
        names = tuple(knob.name for knob in self.knobs)
        if names != KNOB_NAMES:
            raise ValueError(
                f"a search space holds exactly {KNOB_NAMES} in that order, got {names}"
            )

    def distributions(self) -> dict[str, BaseDistribution]:
        """Return each knob's Optuna distribution, keyed by knob name, in knob order.

        These are the distributions :meth:`suggest` uses: equal to a sampled trial's
        ``distributions``, and usable with ``optuna.create_trial``.
        """
        return {knob.name: knob.distribution() for knob in self.knobs}

    def suggest(self, trial: BaseTrial) -> dict[str, Any]:
        """Sample every knob through ``trial`` and return ``{knob name: value}`` in knob order.

        Parameters are registered in Optuna under the knob names, so a trial's
        ``params`` can be fed straight back into :meth:`overlay`.
        """
        return {knob.name: knob.suggest(trial) for knob in self.knobs}

    def overlay(self, params: Mapping[str, Any]) -> dict[str, str]:
        """Return the env overlay ``{knob name: string value}`` for sampled ``params``.

        Values are written by :func:`tuner.names.format_knob_value` (floats as
        ``str(float)``, the profile in lower case), in knob order. ``params`` must hold
        exactly the seven knobs: a missing or extra name raises ``ValueError``. Values
        are not checked against the ranges, so trials stored before a range was
        narrowed still map to their overlay.
        """
        missing = [name for name in KNOB_NAMES if name not in params]
        extra = sorted(str(name) for name in params if name not in KNOB_NAMES)
        if missing or extra:
            raise ValueError(
                f"params must hold exactly the knobs; missing {missing}, unexpected {extra}"
            )
        return {name: format_knob_value(name, params[name]) for name in KNOB_NAMES}

    def ranges(self) -> dict[str, tuple[float, float] | tuple[Choice, ...]]:
        """Return what each knob may take: ``(low, high)`` for numeric knobs, the choices otherwise.

        Meant for checking the space against the simulator's accepted domains.
        """
        ranges: dict[str, tuple[float, float] | tuple[Choice, ...]] = {}
        for knob in self.knobs:
            ranges[knob.name] = knob.choices if knob.kind == "categorical" else knob._bounds()
        return ranges


def load_search_space(path: str | os.PathLike[str]) -> SearchSpace:
    """Load and validate the search-space file at ``path``.

    Raises :class:`~tuner.errors.InputError`, naming the file, the knob, the field and
    the value, for: anything :func:`~tuner.config._yaml.load_yaml_mapping` refuses; a
    ``version`` other than 1; a missing, unknown or repeated knob; an unknown ``type``
    or field; bounds that are not finite numbers (booleans included) or with
    ``low >= high``; int bounds that are not integers; ``log`` that is not a boolean, or
    ``log: true`` with ``low <= 0`` or together with ``step``; a ``step`` that is not
    positive, exceeds ``high - low`` or does not divide it; empty or repeated choices;
    profile choices outside conservative/balanced/aggressive; numeric knobs with
    non-numeric choices.
    """
    where = f"search space file {os.fspath(path)}"
    data = load_yaml_mapping(path, "search space file")
    reject_unknown(data, ("version", "knobs"), where, "", "top-level key")

    if "version" not in data:
        raise fail(where, "version", f"missing; expected version: {_FILE_VERSION}")
    version = data["version"]
    if isinstance(version, bool) or version != _FILE_VERSION:
        raise fail(
            where,
            "version",
            f"value {show_value(version)} is not supported; expected {_FILE_VERSION}",
        )

    if "knobs" not in data:
        raise fail(
            where,
            "knobs",
            f"missing; expected a mapping of the seven knobs: {', '.join(KNOB_NAMES)}",
        )
    knobs_spec = mapping(
        data["knobs"], where, "knobs", "a mapping of knob name to {type: ..., ...}"
    )
    reject_unknown(knobs_spec, KNOB_NAMES, where, "knobs", "knob")
    missing = [name for name in KNOB_NAMES if name not in knobs_spec]
    if missing:
        raise fail(
            where,
            "knobs",
            f"missing {', '.join(missing)}; every one of {', '.join(KNOB_NAMES)} must be given",
        )
    return SearchSpace(tuple(_parse_knob(name, knobs_spec[name], where) for name in KNOB_NAMES))


def _parse_knob(name: str, spec: Any, where: str) -> Knob:
    key = f"knobs.{name}"
    spec = mapping(spec, where, key, "a mapping such as {type: float, low: ..., high: ...}")
    kind = spec.get("type")
    if kind not in _KINDS:
        problem = (
            "missing" if "type" not in spec else f"value {show_value(kind)} is not a knob type"
        )
        raise fail(where, f"{key}.type", f"{problem}; expected one of {', '.join(_KINDS)}")
    reject_unknown(spec, _FIELDS[kind], where, key, "field", f" for type {kind}")
    if name == PROFILE_KNOB and kind != "categorical":
        raise fail(
            where,
            f"{key}.type",
            f"value {show_value(kind)} is not accepted; the profile knob is categorical",
        )
    if kind == "categorical":
        return Knob(name, kind, choices=_parse_choices(name, spec, where, key))
    return _parse_numeric(name, kind, spec, where, key)


def _parse_choices(name: str, spec: Mapping[Any, Any], where: str, key: str) -> tuple[Choice, ...]:
    key = f"{key}.choices"
    if "choices" not in spec:
        raise fail(where, key, "missing; expected a non-empty list")
    choices = spec["choices"]
    if not isinstance(choices, list) or not choices:
        raise fail(
            where, key, f"value {show_value(choices)} is not a non-empty list; expected e.g. [a, b]"
        )
    parsed: list[Choice] = []
    for index, choice in enumerate(choices):
        item = f"{key}[{index}]"
        if name == PROFILE_KNOB:
            if choice not in RISK_PROFILES:
                raise fail(
                    where,
                    item,
                    f"value {show_value(choice)} is not a profile; "
                    f"expected one of {', '.join(RISK_PROFILES)}",
                )
            value: Choice = choice
        else:
            number = real_number(choice, where, item, f"a finite number for {name}")
            value = choice if isinstance(choice, int) else number
        if value in parsed:
            raise fail(
                where, item, f"value {show_value(choice)} is repeated; each choice may appear once"
            )
        parsed.append(value)
    return tuple(parsed)


def _parse_numeric(name: str, kind: str, spec: Mapping[Any, Any], where: str, key: str) -> Knob:
    bounds: dict[str, float | int] = {}
    for field in ("low", "high"):
        if field not in spec:
            raise fail(where, f"{key}.{field}", f"missing; a {kind} knob needs low and high")
        bounds[field] = _number(spec[field], kind, where, f"{key}.{field}")
    low, high = bounds["low"], bounds["high"]
    if not low < high:
        raise fail(
            where,
            f"{key}.high",
            f"value {show_value(high)} is not above low {show_value(low)}; expected low < high",
        )

    log = spec.get("log", False)
    if not isinstance(log, bool):
        raise fail(
            where, f"{key}.log", f"value {show_value(log)} is not a boolean; expected true or false"
        )
    if log and low <= 0:
        raise fail(
            where, f"{key}.low", f"value {show_value(low)} is not positive; log: true needs low > 0"
        )

    step = spec.get("step")
    if step is not None:
        if log:
            raise fail(where, f"{key}.step", "given together with log: true; use one or the other")
        step = _number(step, kind, where, f"{key}.step")
        if step <= 0:
            raise fail(
                where, f"{key}.step", f"value {show_value(step)} is not positive; expected step > 0"
            )
        if step > high - low:
            raise fail(
                where,
                f"{key}.step",
                f"value {show_value(step)} exceeds high - low = {show_value(high - low)}; "
                "expected a smaller step",
            )
    knob = Knob(name, kind, low=low, high=high, step=step, log=log)
    # Optuna silently lowers `high` to the last reachable grid point; say so instead.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        distribution = knob.distribution()
    assert isinstance(distribution, (FloatDistribution, IntDistribution))
    reachable = distribution.high
    if reachable != high:
        raise fail(
            where,
            f"{key}.step",
            f"value {show_value(step)} does not divide high - low = {show_value(high - low)} "
            f"(the last reachable value is {show_value(reachable)}); "
            "expected a step that reaches high",
        )
    return knob


def _number(value: Any, kind: str, where: str, key: str) -> float | int:
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise fail(
                where,
                key,
                f"value {show_value(value)} is not an integer; an int knob takes whole numbers",
            )
        return value
    return real_number(value, where, key)

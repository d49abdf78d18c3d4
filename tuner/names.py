"""Facts every part of the product shares, each written once.

The seven tuned ``PARAPHINA_*`` knobs and the risk profiles (the simulator owns them;
a test checks these against ``monte_carlo --show-config`` in both directions), the two
suites, the study objectives with their directions (every other module derives its
order and signs from :data:`OBJECTIVES`), how a knob value is written into an
environment overlay, the ``candidate_id`` derived from that overlay, the accepted study
names and trial directory names.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from numbers import Integral, Real

from tuner.errors import InputError, show_value

__all__ = [
    "DIRECTIONS",
    "KNOB_NAMES",
    "MAXIMIZED",
    "METRIC_NAMES",
    "OBJECTIVES",
    "PROFILE_KNOB",
    "RISK_PROFILES",
    "STUDY_NAME_RE",
    "SUITE_NAMES",
    "Objective",
    "candidate_id",
    "format_knob_value",
    "trial_dir_name",
    "validate_study_name",
]

PROFILE_KNOB = "PARAPHINA_RISK_PROFILE"

#: The tuned knobs, in the order used for overlays, distributions and CSV columns.
KNOB_NAMES: tuple[str, ...] = (
    PROFILE_KNOB,
    "PARAPHINA_HEDGE_BAND_BASE",
    "PARAPHINA_MM_SIZE_ETA",
    "PARAPHINA_VOL_REF",
    "PARAPHINA_DAILY_LOSS_LIMIT",
    "PARAPHINA_INIT_Q_TAO",
    "PARAPHINA_HEDGE_MAX_STEP",
)

#: Canonical simulator risk profiles, most cautious first.
RISK_PROFILES: tuple[str, ...] = ("conservative", "balanced", "aggressive")

#: The two scenario suites every promoted candidate must pass.
SUITE_NAMES: tuple[str, ...] = ("research_v1", "adversarial_regression_v1")



@dataclass(frozen=True)
class Objective:
    """One study objective: its metric name, direction and unit."""

    name: str
    direction: str  # "maximize" or "minimize"
    unit: str
    description: str

    @property
    def maximized(self) -> bool:
        return self.direction == "maximize"


#: The study's objectives, in the order Optuna stores their values. The one source of
#: their names, order and directions.
OBJECTIVES: tuple[Objective, ...] = (
    Objective("pnl_mean", "maximize", "USD", "mean final PnL over the Monte Carlo runs"),
    Objective("kill_ucb", "minimize", "probability", "one-sided Wilson upper bound of the kill-switch rate"),
    Objective("dd_cvar", "minimize", "USD", "CVaR 95 % of the maximum drawdown (mean of the worst 5 %)"),
)
#: Names of :data:`OBJECTIVES`, in order.
METRIC_NAMES: tuple[str, ...] = tuple(o.name for o in OBJECTIVES)
#: Optimization direction of each entry of :data:`METRIC_NAMES`.
DIRECTIONS: tuple[str, ...] = tuple(o.direction for o in OBJECTIVES)
#: Whether each entry of :data:`METRIC_NAMES` is maximized.
MAXIMIZED: tuple[bool, ...] = tuple(o.maximized for o in OBJECTIVES)

#: Characters a study name may use; it becomes part of file and directory names.
STUDY_NAME_RE = re.compile(r"[A-Za-z0-9_.-]+")
# File names are limited to 255 bytes and the name is embedded in longer ones
# (`phaseA_<study>_<YYYYMMDD_HHMMSS>.env`); a clear error beats an OSError later.
_STUDY_NAME_MAX = 128

_CANDIDATE_ID_RE = re.compile(r"[0-9a-f]{12}")


def format_knob_value(name: str, value: object) -> str:
    """Return the overlay string for knob ``name`` set to ``value``.

    The profile is written in lower case and must then be one of :data:`RISK_PROFILES`
    (aliases such as ``bal`` are refused so that one configuration has one id). Every
    other knob is numeric and written as Python's ``str(float(value))``, so ``3``,
    ``3.0`` and ``numpy.float64(3)`` all give ``"3.0"``.

    Raises ``ValueError`` for an unknown knob name, a profile outside
    :data:`RISK_PROFILES`, or a numeric value that is not finite; ``TypeError`` for a
    value of the wrong type (booleans are not numbers here).
    """
    if name not in KNOB_NAMES:
        raise ValueError(
            f"unknown knob {show_value(name)}; expected one of {', '.join(KNOB_NAMES)}"
        )
    if name == PROFILE_KNOB:
        if not isinstance(value, str):
            raise TypeError(f"{name} must be a string, got {show_value(value)}")
        profile = value.lower()
        if profile not in RISK_PROFILES:
            raise ValueError(
                f"{name} value {show_value(value)} is not a profile; "
                f"expected one of {', '.join(RISK_PROFILES)}"
            )
        return profile
    if not isinstance(value, Real) or isinstance(value, bool):
        raise TypeError(f"{name} must be a number, got {show_value(value)}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{name} must be a finite number, got {show_value(value)}")
    return str(number)


def candidate_id(overlay: Mapping[str, str]) -> str:
    """Return the 12-hex-digit id of the configuration given by an env overlay.

    It is the first 12 hex digits of the SHA-256 of ``"_".join(f"{key}={value}")``
    over the overlay's items sorted by key, UTF-8 encoded. The same overlay always
    has the same id, in every study and every process. Values must already be
    strings (use :func:`format_knob_value`), so that ``0.1`` and ``"0.10"`` cannot
    silently hash alike or apart; a non-string value raises ``TypeError``.
    """
    for key, value in overlay.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise TypeError(
                f"overlay entries must be strings, got {show_value(key)}: {show_value(value)}"
            )
    joined = "_".join(f"{key}={overlay[key]}" for key in sorted(overlay))
    return hashlib.sha256(joined.encode("utf-8")).hexdigest()[:12]


def validate_study_name(name: object) -> str:
    """Return ``name`` if it is an acceptable study name, else raise :class:`InputError`.

    Accepted: 1 to 128 characters from ``A-Z a-z 0-9 _ . -`` (:data:`STUDY_NAME_RE`),
    not made of dots only. The name becomes a directory and file name, so ``.``,
    ``..``, path separators, spaces and an empty name are refused.
    """
    accepted = f"expected 1 to {_STUDY_NAME_MAX} characters from A-Z a-z 0-9 _ . - (not only dots)"
    if not isinstance(name, str):
        raise InputError(f"study name {show_value(name)} is not a string; {accepted}")
    if not name:
        raise InputError(f"study name is empty; {accepted}")
    if STUDY_NAME_RE.fullmatch(name) is None:
        bad = next(ch for ch in name if STUDY_NAME_RE.fullmatch(ch) is None)
        raise InputError(f"study name {show_value(name)} contains {show_value(bad)}; {accepted}")
    if set(name) == {"."}:
        raise InputError(f"study name {show_value(name)} is made of dots only; {accepted}")
    if len(name) > _STUDY_NAME_MAX:
        raise InputError(f"study name {show_value(name)} has {len(name)} characters; {accepted}")
    return name


def trial_dir_name(number: int, candidate_id: str) -> str:
    """Return ``trial_<NNNN>_<candidate_id>``: the trial number zero-padded to 4 digits.

    ``number`` is the Optuna trial number (an integer >= 0; from 10000 on it simply
    has more digits) and ``candidate_id`` the 12 lower-case hex digits from
    :func:`candidate_id`. Anything else raises ``ValueError`` (or ``TypeError``),
    because the result is used as a directory name.
    """
    if not isinstance(number, Integral) or isinstance(number, bool):
        raise TypeError(f"trial number must be an integer, got {show_value(number)}")
    if number < 0:
        raise ValueError(f"trial number must be >= 0, got {number}")
    if not isinstance(candidate_id, str) or _CANDIDATE_ID_RE.fullmatch(candidate_id) is None:
        raise ValueError(
            f"candidate id must be 12 lower-case hex digits, got {show_value(candidate_id)}"
        )
    return f"trial_{int(number):04d}_{candidate_id}"

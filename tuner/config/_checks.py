"""Checks shared by the config-file parsers; every failure is an InputError naming the key."""

from __future__ import annotations

import difflib
import math
import os
from collections.abc import Iterable, Mapping
from typing import Any

from tuner.errors import InputError, show_value


def fail(where: str, key: str, problem: str) -> InputError:
    """Build the error for ``key`` (a dotted path) of the file described by ``where``."""
    return InputError(f"{where}: {key}: {problem}" if key else f"{where}: {problem}")


def real_number(value: Any, where: str, key: str, expected: str = "a finite number") -> float:
    """Return ``value`` as a float if it is a finite int or float (not a boolean)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        hint = ""
        if isinstance(value, str):
            try:
                as_number = float(value)
            except ValueError:
                pass
            else:
                # PyYAML follows YAML 1.1, where `3e3` and `"3000"` are strings.
                hint = f" (it is text; write the number unquoted, e.g. {as_number!r})"
        raise fail(
            where, key, f"value {show_value(value)} is not a number{hint}; expected {expected}"
        )
    number = float(value)
    if not math.isfinite(number):
        raise fail(where, key, f"value {show_value(value)} is not finite; expected {expected}")
    return number


def mapping(value: Any, where: str, key: str, expected: str) -> Mapping[Any, Any]:
    """Return ``value`` if it is a mapping, else fail saying what was expected."""
    if not isinstance(value, Mapping):
        raise fail(where, key, f"value {show_value(value)} is not a mapping; expected {expected}")
    return value


def reject_unknown(
    keys: Iterable[Any], accepted: Iterable[str], where: str, key: str, what: str, context: str = ""
) -> None:
    """Fail on the first key not in ``accepted``, suggesting the closest accepted one.

    The message reads ``unknown <what> 'x' (did you mean y?); accepted<context>: a, b``.
    """
    accepted = tuple(accepted)
    for name in keys:
        if name not in accepted:
            hint = _closest(str(name), accepted)
            raise fail(
                where,
                key,
                f"unknown {what} {show_value(name)}{hint}; "
                f"accepted{context}: {', '.join(accepted)}",
            )


def _closest(name: str, accepted: tuple[str, ...]) -> str:
    # Compare what differs: every knob starts with PARAPHINA_, which would otherwise
    # make any PARAPHINA_ name look close to all of them.
    prefix = os.path.commonprefix(list(accepted)) if len(accepted) > 1 else ""
    stem = name[len(prefix) :] if prefix and name.startswith(prefix) else name
    stems = {candidate[len(prefix) :]: candidate for candidate in accepted}
    close = difflib.get_close_matches(stem, list(stems), n=1, cutoff=0.7)
    return f" (did you mean {stems[close[0]]}?)" if close else ""

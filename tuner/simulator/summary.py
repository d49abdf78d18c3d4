"""Reading ``mc_summary.json`` (written by ``monte_carlo``, or compressed as
``mc_summary.json.gz`` by ``sim_eval trial``): the file, and its fields by
dotted path, with every problem as a :class:`SummaryError` (an integrity failure)."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tuner.simulator import documents

__all__ = ["SummaryError", "read_summary", "summary_field", "summary_number"]


class SummaryError(Exception):
    """``mc_summary.json`` is missing, unreadable or lacks a field: an integrity failure."""


def read_summary(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(documents.read_bytes(path))
    except FileNotFoundError as exc:
        raise SummaryError(f"{path}: missing") from exc
    except (OSError, ValueError) as exc:
        raise SummaryError(f"{path}: unreadable ({exc})") from exc
    if not isinstance(data, dict):
        raise SummaryError(f"{path}: not a JSON object")
    return data


def summary_field(data: Mapping[str, Any], dotted: str) -> Any:
    node: Any = data
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            raise SummaryError(f"mc_summary.json: missing field {dotted}")
        node = node[part]
    return node


def summary_number(data: Mapping[str, Any], dotted: str) -> float:
    value = summary_field(data, dotted)
    if value is None:
        return math.nan  # the simulator writes non-finite statistics as null
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SummaryError(f"mc_summary.json: field {dotted} is not a number: {value!r}")
    return float(value)

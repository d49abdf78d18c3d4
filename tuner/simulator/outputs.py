"""Reading a suite's verdict from ``<out>/suite_summary.json`` (written by ``sim_eval suite``)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tuner.simulator import documents

__all__ = ["SuiteVerdict", "read_suite_verdict"]

SUMMARY_FILE = "suite_summary.json"
#: Failures in words a trial's ``suites`` attribute keeps per suite (the storage holds the
#: summary, the trial directory the detail).
ATTR_FAILURES = 6
_FAILURE_KEY = re.compile(r"^FAIL (\S+) seed \d+: ([^:]+):")


def _distinct(failures: list[str]) -> list[str]:
    """The first failure of each (scenario, invariant), in order, at most ATTR_FAILURES."""
    seen: set[str] = set()
    out: list[str] = []
    for f in failures:
        m = _FAILURE_KEY.match(f)
        key = f"{m.group(1)}/{m.group(2)}" if m else f
        if key not in seen and len(out) < ATTR_FAILURES:
            seen.add(key)
            out.append(f)
    return out


@dataclass(frozen=True)
class SuiteVerdict:
    suite_id: str
    passed: bool
    failed_checks: int
    failures: list[str] = field(default_factory=list)

    def as_attr(self) -> dict[str, Any]:
        """The user-attribute form, a summary: verdict, count, the first failure of each
        (scenario, invariant) in words, at most :data:`ATTR_FAILURES`, and how many
        failures there are (every one is in the trial's ``suite_summary.json``)."""
        return {"passed": self.passed, "failed_checks": self.failed_checks, "failures": _distinct(self.failures),
                "failures_total": len(self.failures)}


def read_suite_verdict(out_dir: Path) -> SuiteVerdict:
    """Raises ValueError (an integrity failure for the caller) when the summary is
    missing or malformed."""
    path = out_dir / SUMMARY_FILE
    try:
        data = json.loads(documents.read_bytes(path))
    except FileNotFoundError:
        raise ValueError(f"{path}: missing suite summary") from None
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: unreadable suite summary ({exc})") from None
    try:
        passed = data["passed"]
        failed_checks = data["failed_checks"]
        suite_id = str(data["suite_id"])
        failures = [
            str(f["message"])
            for scenario in data["scenarios"]
            for verdict in scenario["invariants"]
            for f in verdict["failures"]
        ]
        for scenario in data["scenarios"]:
            det = scenario.get("determinism") or {}
            if det.get("passed") is False:
                failures.append(f"{scenario['scenario_id']}: repeats differ (determinism)")
    except (KeyError, TypeError) as exc:
        raise ValueError(f"{path}: suite summary lacks {exc}") from None
    if not isinstance(passed, bool) or not isinstance(failed_checks, int) or passed != (failed_checks == 0):
        raise ValueError(f"{path}: inconsistent suite summary (passed={passed!r}, failed_checks={failed_checks!r})")
    return SuiteVerdict(suite_id=suite_id, passed=passed, failed_checks=failed_checks, failures=failures)

"""A tier's promotions over time: the current one (``PROMOTION_RECORD.json``, the
incumbent) and the append-only ``history.jsonl`` beside it.

Every line of the history is one event, oldest first: ``promoted`` (a record became
current; names its own record file, which stays and reproduces), ``superseded`` (the
incumbent it replaced), ``rejected`` (a challenger that did not beat the incumbent, with
the reasons), ``incumbent_failing`` (an incumbent that no longer passes the tier with
the current binary). A record is never rewritten and a line is never removed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tuner.errors import InputError
from tuner.promotion.commit import HISTORY_FILE
from tuner.promotion.provenance import RECORD_FILE
from tuner.promotion.reproduce import check_preset, load_record

__all__ = ["current_record", "event", "read_history"]


def current_record(tier_dir: Path) -> dict[str, Any] | None:
    """The tier's incumbent record, None when the tier has none. A record that cannot be
    read, or whose ``.env`` is not the one it certifies, is an :class:`InputError` naming
    the file: an incumbent is never replaced without being understood."""
    path = tier_dir / RECORD_FILE
    if not path.exists():
        return None
    try:
        record = load_record(path)
    except InputError as exc:
        raise InputError(f"incumbent {exc}; refusing to promote over it: restore it or move it aside") from None
    problems = check_preset(path, record)
    if problems:
        raise InputError(f"incumbent record {path}: {problems[0]}; refusing to promote over it: restore the preset "
                         "or move the tier's PROMOTION_RECORD.json aside") from None
    return record


def read_history(tier_dir: Path) -> list[dict[str, Any]]:
    """The tier's history lines, oldest first (an unreadable line is an InputError naming it)."""
    path = tier_dir / HISTORY_FILE
    if not path.is_file():
        return []
    out: list[dict[str, Any]] = []
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            out.append(json.loads(line))
        except ValueError:
            raise InputError(f"{path}:{i}: not a JSON line") from None
    return out


def event(kind: str, *, at: str, study: str, candidate_id: str | None, record_file: str | None = None,
          reasons: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    """One history line."""
    return {"event": kind, "at": at, "study_name": study, "candidate_id": candidate_id,
            "record_file": record_file, "reasons": list(reasons or []), **extra}

"""How a promotion is written: all tiers or none, nothing overwritten, a reader never
sees half of one.

Promoters of one presets directory take turns (a lock on ``<out>/.promote.lock``). A
promotion is a list of :class:`TierWrite`: per tier, its new ``.env`` and own record
(new names, never an existing file), the lines it appends to the tier's append-only
``history.jsonl`` (promotions, superseded incumbents, rejected challengers, with their
reasons), and whether its record becomes the tier's current ``PROMOTION_RECORD.json``.

:func:`commit_promotion` first writes a manifest, ``<out>/.promotion.pending``, naming
every file it will create and, per tier, the current record's bytes and the history's
length; then every new file; then, tier by tier, the history lines and the current
record. Removing the manifest is the commit point. A failure before it (an exception
here, or a promoter killed: the next promoter finds the manifest under the lock) rolls
everything back: the new files are removed, the current records restored, each history
truncated to its old length, and the user is told.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tuner._faults import checkpoint
from tuner._io import dumps_json, write_atomic
from tuner.promotion.provenance import RECORD_FILE

__all__ = ["HISTORY_FILE", "LOCK_FILE", "MANIFEST_FILE", "TierWrite", "commit_promotion", "promotion_lock",
           "unused_stamp"]

MANIFEST_FILE = ".promotion.pending"
LOCK_FILE = ".promote.lock"
HISTORY_FILE = "history.jsonl"
#: The staged file of the older, one-tier-at-a-time commit (removed when found).
_OLD_PENDING = ".PROMOTION_RECORD.json.pending"


@dataclass(frozen=True)
class TierWrite:
    """What one promotion writes into one tier directory."""

    tier_dir: Path
    #: new files, name -> text (the ``.env`` and its own record); never existing names
    files: dict[str, str] = field(default_factory=dict)
    #: the text of the new ``PROMOTION_RECORD.json``, or None to leave the current one
    current: str | None = None
    #: lines appended to ``history.jsonl``
    history: list[dict[str, Any]] = field(default_factory=list)


@contextlib.contextmanager
def promotion_lock(out_dir: Path, say: Callable[[str], None]) -> Iterator[None]:
    """Holds the presets directory's lock, after undoing what a killed promoter left."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with open(out_dir / LOCK_FILE, "a+", encoding="utf-8") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        _roll_back_interrupted(out_dir, say)
        yield


def _roll_back_interrupted(out_dir: Path, say: Callable[[str], None]) -> None:
    """Undoes what a promoter killed mid-promotion left (its lock is ours now, so it is dead)."""
    manifest = out_dir / MANIFEST_FILE
    if manifest.is_file():
        try:
            plan = json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            plan = None
        if isinstance(plan, dict):
            _roll_back(out_dir, plan, say)
        manifest.unlink()
    for pending in sorted(out_dir.glob(f"*/{_OLD_PENDING}")):
        pending.unlink()
    for stale in out_dir.glob("*/.*.tmp"):
        stale.unlink()
    for stale in out_dir.glob(".*.tmp"):
        stale.unlink()


def _roll_back(out_dir: Path, plan: dict[str, Any], say: Callable[[str], None]) -> None:
    for tier, entry in sorted((plan.get("tiers") or {}).items()):
        tier_dir = out_dir / tier
        if Path(tier).name != tier or not isinstance(entry, dict):
            continue
        for name in entry.get("created") or []:
            path = tier_dir / str(name)
            if Path(str(name)).name == name and path.is_file():
                path.unlink()
                say(f"  {tier}: removed {name}, left by an interrupted promotion (never recorded)")
        previous = entry.get("previous_record")
        current = tier_dir / RECORD_FILE
        if isinstance(previous, str):
            if not current.is_file() or current.read_text(encoding="utf-8", errors="replace") != previous:
                write_atomic(current, previous)
        elif current.is_file() and entry.get("had_record") is False:
            current.unlink()
        history = tier_dir / HISTORY_FILE
        size = entry.get("history_size")
        if isinstance(size, int) and history.is_file() and history.stat().st_size > size:
            with open(history, "r+b") as fh:
                fh.truncate(size)
                fh.flush()
                os.fsync(fh.fileno())
        elif size is None and history.is_file() and entry.get("had_history") is False:
            history.unlink()


def _abort(out_dir: Path, plan: dict[str, Any], say: Callable[[str], None]) -> None:
    """Rolls a failed promotion back, then drops its manifest (a killed promoter never
    gets here: the next one finds the manifest)."""
    _roll_back(out_dir, plan, say)
    with contextlib.suppress(FileNotFoundError):
        (out_dir / MANIFEST_FILE).unlink()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def commit_promotion(out_dir: Path, writes: Iterable[TierWrite], say: Callable[[str], None]) -> None:
    """Writes every tier's files, history lines and current record, or none of them (see
    the module's docstring). Call it holding :func:`promotion_lock`."""
    writes = [w for w in writes if w.files or w.current is not None or w.history]
    if not writes:
        return
    plan: dict[str, Any] = {"tiers": {}}
    for w in writes:
        w.tier_dir.mkdir(parents=True, exist_ok=True)
        for name in w.files:
            if (w.tier_dir / name).exists():
                raise FileExistsError(f"{w.tier_dir / name}: exists; a promotion never overwrites a file")
        current = w.tier_dir / RECORD_FILE
        history = w.tier_dir / HISTORY_FILE
        plan["tiers"][w.tier_dir.name] = {
            "created": sorted(w.files),
            "had_record": current.is_file(),
            "previous_record": current.read_text(encoding="utf-8", errors="replace") if current.is_file() else None,
            "had_history": history.is_file(),
            "history_size": history.stat().st_size if history.is_file() else None,
        }
    manifest = out_dir / MANIFEST_FILE
    write_atomic(manifest, dumps_json(plan))
    _fsync_dir(out_dir)
    try:
        for w in writes:
            for name, text in sorted(w.files.items(), key=lambda kv: not kv[0].endswith(".env")):
                write_atomic(w.tier_dir / name, text)
                checkpoint("promote.env_written" if name.endswith(".env") else "promote.staged")
        for w in writes:
            if w.history:
                with open(w.tier_dir / HISTORY_FILE, "a", encoding="utf-8") as fh:
                    for line in w.history:
                        fh.write(dumps_json(line, indent=None))
                    fh.flush()
                    os.fsync(fh.fileno())
            if w.current is not None:
                write_atomic(w.tier_dir / RECORD_FILE, w.current)
            _fsync_dir(w.tier_dir)
            checkpoint("promote.tier_done")
    except BaseException:
        _abort(out_dir, plan, say)
        raise
    manifest.unlink()
    _fsync_dir(out_dir)


def unused_stamp(out_dir: Path, study_name: str, tiers: Iterable[str]) -> tuple[dt.datetime, str]:
    """Now, to the second, such that no tier holds a preset of this study with that name
    yet (two promotions within a second would otherwise share a file name)."""
    tiers = list(tiers)
    while True:
        promoted_at = dt.datetime.now(dt.UTC)
        stamp = promoted_at.strftime("%Y%m%d_%H%M%S")
        if not any((out_dir / tier / f"phaseA_{study_name}_{stamp}.env").exists() for tier in tiers):
            return promoted_at, stamp
        time.sleep(1.0 - promoted_at.microsecond / 1e6 + 0.01)

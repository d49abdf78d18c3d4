"""How a promotion is written so that a reader never sees half of one.

Promoters of one presets directory take turns (a lock on ``<out>/.promote.lock``). In a
tier directory the record is the commit point: it is staged as
``.PROMOTION_RECORD.json.pending``, the ``.env`` is written, then the staged record is
renamed into place. A promoter killed in between leaves the staged record behind; the
next promotion removes the ``.env`` it names (never recorded) and any temporary file,
and says so.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from tuner._faults import checkpoint
from tuner._io import sha256_file, write_atomic
from tuner.promotion.provenance import RECORD_FILE

__all__ = ["LOCK_FILE", "PENDING_FILE", "commit_tier", "promotion_lock", "unused_stamp"]

PENDING_FILE = ".PROMOTION_RECORD.json.pending"
LOCK_FILE = ".promote.lock"


@contextlib.contextmanager
def promotion_lock(out_dir: Path, say: Callable[[str], None]) -> Iterator[None]:
    """Holds the presets directory's lock, after undoing what a killed promoter left."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with open(out_dir / LOCK_FILE, "a+", encoding="utf-8") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        _roll_back_interrupted(out_dir, say)
        yield


def _roll_back_interrupted(out_dir: Path, say: Callable[[str], None]) -> None:
    """Undoes what a promoter killed mid-tier left (its lock is ours now, so it is dead)."""
    for pending in sorted(out_dir.glob(f"*/{PENDING_FILE}")):
        tier_dir = pending.parent
        try:
            staged = json.loads(pending.read_text(encoding="utf-8"))
            name, digest = staged["env_file"], staged["candidate_hash"]
        except (OSError, ValueError, KeyError, TypeError):
            name = digest = None
        env = tier_dir / name if isinstance(name, str) and Path(name).name == name and name.endswith(".env") else None
        if env is not None and env.is_file() and sha256_file(env) == digest:
            env.unlink()
            say(f"  {tier_dir.name}: removed {env.name}, left by an interrupted promotion (never recorded)")
        pending.unlink()
    for stale in out_dir.glob("*/.*.tmp"):
        stale.unlink()


def commit_tier(tier_dir: Path, env_path: Path, env_text: str, record_text: str) -> None:
    """Writes a tier's preset and record; the record's rename is the commit point."""
    pending = tier_dir / PENDING_FILE
    write_atomic(pending, record_text)
    checkpoint("promote.staged")
    write_atomic(env_path, env_text)
    checkpoint("promote.env_written")
    os.replace(pending, tier_dir / RECORD_FILE)
    fd = os.open(tier_dir, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


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

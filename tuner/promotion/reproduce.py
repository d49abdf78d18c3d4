"""Reproducing a promotion: re-run the promoted candidate's Monte Carlo (same overlay,
seeds, runs and ticks) in a fresh directory, verify its evidence pack, and compare its
``mc_summary.json`` with the trial's (or, where the trial directory cannot be reached,
with the digest recorded at trial time)."""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tuner._io import sha256_file
from tuner.errors import InputError
from tuner.names import KNOB_NAMES, candidate_id
from tuner.simulator import client

__all__ = ["Reproduction", "diff_json", "load_record", "reproduce"]


@dataclass(frozen=True)
class Reproduction:
    """The outcome: ``reproduced`` or not, what was compared, and the differences."""

    reproduced: bool
    message: str
    output_dir: Path
    differences: tuple[str, ...] = field(default_factory=tuple)
    #: False when the comparison could not be made (a command failed, a file was unreadable).
    compared: bool = True


def diff_json(a: Any, b: Any, prefix: str = "") -> list[str]:
    """Dotted paths where two JSON values differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        out: list[str] = []
        for key in sorted(set(a) | set(b), key=str):
            path = f"{prefix}.{key}" if prefix else str(key)
            if key not in a or key not in b:
                out.append(f"{path} (only in {'reproduction' if key in b else 'trial'})")
            else:
                out += diff_json(a[key], b[key], path)
        return out
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{prefix} (length {len(a)} vs {len(b)})"]
        out = []
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            out += diff_json(x, y, f"{prefix}[{i}]")
        return out
    return [] if a == b and type(a) is type(b) else [f"{prefix}: {a!r} vs {b!r}"]


def load_record(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: no such promotion record") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"{path}: not a readable promotion record ({exc.__class__.__name__}: {str(exc)[:120]})") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: not a promotion record (a JSON object expected)")
    for key in ("env_overlay", "mc_runs", "mc_ticks", "seeds", "candidate_id"):
        if key not in data:
            raise InputError(f"{path}: promotion record lacks {key!r}")
    overlay = data["env_overlay"]
    if not isinstance(overlay, dict) or set(overlay) != set(KNOB_NAMES) or not all(isinstance(v, str) for v in overlay.values()):
        raise InputError(f"{path}: env_overlay must map the seven PARAPHINA_* knobs to strings")
    if candidate_id(overlay) != data["candidate_id"]:
        raise InputError(f"{path}: env_overlay does not give candidate_id {data['candidate_id']!r} (record altered?)")
    for key in ("mc_runs", "mc_ticks"):
        if not isinstance(data[key], int) or isinstance(data[key], bool) or data[key] < 1:
            raise InputError(f"{path}: {key} must be a positive integer, not {data[key]!r}")
    seeds = data["seeds"]
    if not isinstance(seeds, list) or not seeds or not all(isinstance(s, int) and not isinstance(s, bool) for s in seeds):
        raise InputError(f"{path}: seeds must be a non-empty list of integers")
    if len(seeds) != data["mc_runs"] or seeds != list(range(seeds[0], seeds[0] + len(seeds))):
        raise InputError(f"{path}: seeds must be mc_runs consecutive integers (run i uses seed + i)")
    return data


def reproduce(record_path: Path, output_dir: Path | None = None) -> Reproduction:
    """Re-runs the record's Monte Carlo into ``output_dir`` (default: a fresh temporary
    directory, kept) and compares it with the trial's. Raises :class:`InputError` for an
    unusable record or output directory."""
    record = load_record(record_path)
    # The simulator's own check of the record's settings, before anything is created.
    client.show_config(runs=record["mc_runs"], ticks=record["mc_ticks"], seed=record["seeds"][0],
                       overlay=record["env_overlay"], refused=f"{record_path}: the simulator refuses the record's settings")
    out = output_dir or Path(tempfile.mkdtemp(prefix=f"reproduce_{record['candidate_id']}_"))
    if out.exists() and any(out.iterdir()):
        raise InputError(f"--output-dir {out}: not empty; reproduce into a fresh directory")
    mc = out / "mc"
    run = client.run(
        client.monte_carlo_argv(runs=record["mc_runs"], ticks=record["mc_ticks"], seed=record["seeds"][0], output_dir=mc),
        overlay=record["env_overlay"], timeout=3600,
    )
    if not run.ok:
        return Reproduction(False, f"monte_carlo failed: {run.describe()}: {run.stderr_tail.strip()[-300:]}", out, compared=False)
    check = client.verify_pack(mc)
    if not check.ok:
        return Reproduction(False, f"the reproduction's evidence pack does not verify: {check.result.stderr_tail.strip()[-300:]}", out, compared=False)
    new_path = mc / "mc_summary.json"
    trial_dir = record.get("trial_dir")
    old_path = Path(trial_dir) / "mc" / "mc_summary.json" if isinstance(trial_dir, str) else None
    if old_path is not None and old_path.is_file():
        try:
            old = json.loads(old_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            return Reproduction(False, f"{old_path}: unreadable ({exc})", out, compared=False)
        new = json.loads(new_path.read_text(encoding="utf-8"))
        diffs = diff_json(old, new)
        if old_path.read_bytes() == new_path.read_bytes() and not diffs:
            return Reproduction(True, f"reproduced: {new_path} is identical to {old_path}", out)
        return Reproduction(
            False, f"NOT reproduced: {new_path} differs from {old_path} in {len(diffs) or 'the bytes of'} field(s):",
            out, tuple(diffs[:50] or ["(formatting only)"]),
        )
    want = (record.get("evidence_digests") or {}).get("mc_summary_sha256")
    if not want:
        return Reproduction(False, f"trial directory {trial_dir} not reachable and the record holds no summary digest", out, compared=False)
    got = sha256_file(new_path)
    if got == want:
        return Reproduction(True, f"reproduced: {new_path} has the digest recorded at trial time ({want}); "
                                  "trial directory not reachable", out)
    return Reproduction(False, f"NOT reproduced: {new_path} digest {got} differs from the recorded {want} "
                               "(trial directory not reachable)", out)

"""``python -m tuner.reproduce RECORD.json``: re-run a promoted candidate's Monte Carlo
(same overlay, seeds, runs and ticks) in a fresh directory, verify its evidence pack,
and compare its ``mc_summary.json`` with the trial's.

Exit 0 when identical; 1 when they differ (the differing fields are listed) or the
new evidence does not verify; 2 on bad input (unreadable record, missing fields).
Where the trial directory cannot be reached, the new summary is compared with the
digest recorded at trial time.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from tuner.cli import ArgumentParser, run_main
from tuner.errors import InputError
from tuner.evidence import sha256_file
from tuner.identifiers import KNOB_NAMES, candidate_id
from tuner.runner import binary, ensure_binaries, run_command

__all__ = ["main", "diff_json"]

PROG = "python -m tuner.reproduce"


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
        for i, (x, y) in enumerate(zip(a, b)):
            out += diff_json(x, y, f"{prefix}[{i}]")
        return out
    return [] if a == b and type(a) is type(b) else [f"{prefix}: {a!r} vs {b!r}"]


def _load_record(path: Path) -> dict[str, Any]:
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


def main(argv: list[str] | None = None) -> int:
    p = ArgumentParser(prog=PROG, description="Re-run a promoted candidate's Monte Carlo and compare it with the trial's.")
    p.add_argument("record", type=Path, metavar="RECORD", help="a PROMOTION_RECORD.json")
    p.add_argument("--output-dir", type=Path, metavar="DIR",
                   help="where to re-run (default: a fresh temporary directory, kept and printed)")
    p.add_argument("-q", "--quiet", action="store_true")
    args = p.parse_args(argv)
    record = _load_record(args.record)
    ensure_binaries(quiet=args.quiet)
    # The simulator's own check of the record's settings, before anything is created.
    preflight = run_command(
        [binary("monte_carlo"), "--show-config", "--runs", str(record["mc_runs"]), "--ticks", str(record["mc_ticks"]),
         "--seed", str(record["seeds"][0])],
        overlay=record["env_overlay"], timeout=60,
    )
    if preflight.returncode == 2:
        said = " ".join(preflight.stderr_tail.split())[:300].removeprefix("monte_carlo: error: ")
        raise InputError(f"{args.record}: the simulator refuses the record's settings: {said}")
    out = args.output_dir or Path(tempfile.mkdtemp(prefix=f"reproduce_{record['candidate_id']}_"))
    if out.exists() and any(out.iterdir()):
        raise InputError(f"--output-dir {out}: not empty; reproduce into a fresh directory")
    mc = out / "mc"
    run = run_command(
        [binary("monte_carlo"), "--runs", str(record["mc_runs"]), "--ticks", str(record["mc_ticks"]),
         "--seed", str(record["seeds"][0]), "--output-dir", mc, "--quiet"],
        overlay=record["env_overlay"], timeout=3600,
    )
    if not run.ok:
        print(f"{PROG}: monte_carlo failed: {run.describe()}: {run.stderr_tail.strip()[-300:]}", file=sys.stderr)
        return 1
    check = run_command([binary("sim_eval"), "verify-evidence-pack", mc], timeout=600)
    if not check.ok:
        print(f"{PROG}: the reproduction's evidence pack does not verify: {check.stderr_tail.strip()[-300:]}", file=sys.stderr)
        return 1
    new_path = mc / "mc_summary.json"
    trial_dir = record.get("trial_dir")
    old_path = Path(trial_dir) / "mc" / "mc_summary.json" if isinstance(trial_dir, str) else None
    if old_path is not None and old_path.is_file():
        try:
            old = json.loads(old_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            print(f"{PROG}: {old_path}: unreadable ({exc})", file=sys.stderr)
            return 1
        new = json.loads(new_path.read_text(encoding="utf-8"))
        diffs = diff_json(old, new)
        if old_path.read_bytes() == new_path.read_bytes() and not diffs:
            print(f"reproduced: {new_path} is identical to {old_path}")
            return 0
        print(f"NOT reproduced: {new_path} differs from {old_path} in {len(diffs) or 'the bytes of'} field(s):")
        for d in diffs[:50] or ["(formatting only)"]:
            print(f"  {d}")
        return 1
    want = (record.get("evidence_digests") or {}).get("mc_summary_sha256")
    if not want:
        print(f"{PROG}: trial directory {trial_dir} not reachable and the record holds no summary digest", file=sys.stderr)
        return 1
    got = sha256_file(new_path)
    if got == want:
        print(f"reproduced: {new_path} has the digest recorded at trial time ({want}); trial directory not reachable")
        return 0
    print(f"NOT reproduced: {new_path} digest {got} differs from the recorded {want} (trial directory not reachable)")
    return 1


if __name__ == "__main__":
    run_main(PROG, main)

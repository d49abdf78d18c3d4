"""Reproducing a promotion: what goes live is what was certified.

Before anything runs, three things are checked against the record, each failure naming
what differs: the promoted ``.env`` against ``candidate_hash`` (the file and the key that
differs), the simulator binaries against the sha256 recorded when the evidence was made
(the binary), and the trial's files against the digests recorded at trial time (a file
changed since is reported as "trial file changed after the trial", never blamed on the
candidate). Then the candidate's Monte Carlo (same overlay, seeds, runs and ticks) is
re-run in a fresh directory, its evidence pack verified, and its ``mc_summary.json``
compared with the digest recorded at trial time (and, field by field, with the trial's
file when that is intact)."""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tuner._io import sha256_file
from tuner.errors import InputError
from tuner.names import KNOB_NAMES, candidate_id
from tuner.record import EvidenceKey
from tuner.simulator import client
from tuner.simulator.build import binary
from tuner.simulator.envfile import read_env_file
from tuner.simulator.identity import binary_digests

__all__ = ["Reproduction", "changed_trial_files", "check_binaries", "check_preset", "diff_json", "load_record",
           "reproduce"]

ROOT_SUMS_PATH = "evidence_pack/SHA256SUMS"


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


def check_preset(record_path: Path, record: dict[str, Any]) -> list[str]:
    """Why the promoted ``.env`` beside the record is not the one it certifies (empty
    when it is): missing, or its sha256 differs from ``candidate_hash`` (naming the key)."""
    name, want = record.get("env_file"), record.get("candidate_hash")
    if not isinstance(name, str) or not isinstance(want, str):
        return []
    env = record_path.parent / name
    if not env.is_file():
        return [f"{env}: the promoted preset is missing"]
    got = sha256_file(env)
    if got == want:
        return []
    try:
        overlay = read_env_file(env)
    except (InputError, OSError, UnicodeDecodeError) as exc:
        return [f"{env}: edited after promotion (sha256 {got[:12]}… is not the record's candidate_hash {want[:12]}…): {exc}"]
    recorded = record["env_overlay"]
    keys = sorted(set(overlay) | set(recorded))
    what = [f"{k} is {overlay.get(k, '(absent)')} in the file, {recorded.get(k, '(absent)')} in the record"
            for k in keys if overlay.get(k) != recorded.get(k)]
    return [f"{env}: edited after promotion (sha256 {got[:12]}… is not the record's candidate_hash {want[:12]}…): "
            + ("; ".join(what) if what else "the comment lines differ")]


def check_binaries(record: dict[str, Any]) -> list[str]:
    """Each binary whose sha256 differs from the one recorded when the evidence was made."""
    recorded = (record.get("provenance") or {}).get("binaries_sha256")
    if not isinstance(recorded, dict):
        return []
    now = binary_digests()
    return [f"binary {name} ({binary(name)}) has sha256 {str(now.get(name))[:12]}…, the evidence was made with "
            f"{str(want)[:12]}…" for name, want in sorted(recorded.items()) if want and now.get(name) != want]


def changed_trial_files(tdir: Path, record: dict[str, Any]) -> list[str]:
    """The trial's files that differ from the digests recorded at trial time: the
    summary and the root ``SHA256SUMS`` (whose digests the database holds), and every
    file that list names."""
    recorded = record.get("evidence_digests") or {}
    changed: list[str] = []
    for rel, key in (("mc/mc_summary.json", EvidenceKey.MC_SUMMARY), (ROOT_SUMS_PATH, EvidenceKey.ROOT_SUMS)):
        want = recorded.get(key)
        path = tdir / rel
        if want and (not path.is_file() or sha256_file(path) != want):
            changed.append(str(path))
    sums = tdir / ROOT_SUMS_PATH
    if sums.is_file():
        for line in sums.read_text(encoding="utf-8", errors="replace").splitlines():
            digest, sep, rel = line.partition("  ")
            path = tdir / rel
            if sep and str(path) not in changed and (not path.is_file() or sha256_file(path) != digest):
                changed.append(str(path))
    return changed


def reproduce(record_path: Path, output_dir: Path | None = None) -> Reproduction:
    """Checks the preset, the binaries and the trial files, then re-runs the record's
    Monte Carlo into ``output_dir`` (default: a fresh temporary directory, kept) and
    compares it with the trial's. Raises :class:`InputError` for an unusable record or
    output directory."""
    record = load_record(record_path)
    if output_dir is not None and output_dir.exists() and any(output_dir.iterdir()):
        raise InputError(f"--output-dir {output_dir}: not empty; reproduce into a fresh directory")
    problems = check_preset(record_path, record)
    if problems:
        return Reproduction(False, "NOT what was certified: " + problems[0], output_dir or Path(),
                            tuple(problems[1:]), compared=False)
    problems = check_binaries(record)
    if problems:
        return Reproduction(False, "not the binaries the evidence was made with: " + problems[0], output_dir or Path(),
                            tuple(problems[1:]), compared=False)
    # The simulator's own check of the record's settings, before anything is created.
    client.show_config(runs=record["mc_runs"], ticks=record["mc_ticks"], seed=record["seeds"][0],
                       overlay=record["env_overlay"], refused=f"{record_path}: the simulator refuses the record's settings")
    trial_dir = record.get("trial_dir")
    tdir = Path(trial_dir) if isinstance(trial_dir, str) and Path(trial_dir).is_dir() else None
    changed = changed_trial_files(tdir, record) if tdir is not None else []
    out = output_dir or Path(tempfile.mkdtemp(prefix=f"reproduce_{record['candidate_id']}_"))
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
    want = (record.get("evidence_digests") or {}).get(EvidenceKey.MC_SUMMARY)
    got = sha256_file(new_path)
    old_path = tdir / "mc" / "mc_summary.json" if tdir is not None else None
    if want and got == want:
        if changed:
            return Reproduction(
                False, f"the re-run matches the digest recorded at trial time ({want[:12]}…), but the trial directory "
                       f"no longer holds that evidence: trial file changed after the trial: {changed[0]}",
                out, tuple(f"trial file changed after the trial: {p}" for p in changed[1:]))
        where = f"; identical to {old_path}" if old_path is not None else "; trial directory not reachable"
        return Reproduction(True, f"reproduced: {new_path} has the digest recorded at trial time ({want}){where}", out)
    if old_path is not None and old_path.is_file() and str(old_path) not in changed:
        try:
            old = json.loads(old_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            return Reproduction(False, f"{old_path}: unreadable ({exc})", out, compared=False)
        new = json.loads(new_path.read_text(encoding="utf-8"))
        diffs = diff_json(old, new)
        if not want and old_path.read_bytes() == new_path.read_bytes() and not diffs:
            return Reproduction(True, f"reproduced: {new_path} is identical to {old_path} (the record holds no digest)", out)
        return Reproduction(
            False, f"NOT reproduced: {new_path} differs from {old_path} in {len(diffs) or 'the bytes of'} field(s):",
            out, tuple(diffs[:50] or ["(formatting only)"]),
        )
    if not want:
        return Reproduction(False, f"trial directory {trial_dir} not reachable and the record holds no summary digest", out, compared=False)
    extra = f"; trial file changed after the trial: {changed[0]}" if changed else (
        "" if tdir is not None else " (trial directory not reachable)")
    return Reproduction(False, f"NOT reproduced: {new_path} digest {got} differs from the recorded {want}{extra}", out)

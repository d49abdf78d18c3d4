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
from tuner.config.budgets import Tier
from tuner.errors import InputError
from tuner.names import KNOB_NAMES, candidate_id
from tuner.promotion.confirm import DEFAULT_SUITE_SEEDS, ConfirmSettings, judge, read_confirmation, simulate
from tuner.record import EvidenceKey
from tuner.simulator import client, documents
from tuner.simulator.build import binary
from tuner.simulator.envfile import read_env_file
from tuner.simulator.identity import binary_digests
from tuner.stats.streams import FRESH_MC, FRESH_SUITE, SEED_SPACE

__all__ = ["Reproduction", "changed_trial_files", "check_binaries", "check_preset", "diff_json", "fresh_seeds",
           "load_record", "replay_confirmation", "reproduce", "reproduce_all"]

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
    #: The replay of the confirmation evidence, in words (None: not replayed).
    confirmation: str | None = None
    #: ``--fresh-seeds N``: the candidate judged against its tier on a new stream.
    fresh: dict[str, Any] | None = None


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
    if len(seeds) != data["mc_runs"] or not 0 <= seeds[0] < SEED_SPACE or seeds != [
            (seeds[0] + i) % SEED_SPACE for i in range(len(seeds))]:
        raise InputError(f"{path}: seeds must be mc_runs consecutive 64-bit seeds (run i uses seed + i, wrapping at 2^64)")
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
        path = documents.locate(tdir / rel)
        if want and (not path.is_file() or documents.digest(path) != want):
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
    old_path = documents.locate(tdir / "mc" / "mc_summary.json") if tdir is not None else None
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
            old_bytes = documents.read_bytes(old_path)
            old = json.loads(old_bytes)
        except (OSError, ValueError) as exc:
            return Reproduction(False, f"{old_path}: unreadable ({exc})", out, compared=False)
        new = json.loads(new_path.read_text(encoding="utf-8"))
        diffs = diff_json(old, new)
        if not want and old_bytes == new_path.read_bytes() and not diffs:
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


def reproduce_all(record_path: Path, output_dir: Path | None = None, *, fresh: int | None = None) -> Reproduction:
    """:func:`reproduce` (the search's Monte Carlo), then the replay of the confirmation
    (:func:`replay_confirmation`) and, with ``fresh``, :func:`fresh_seeds`. Reproduced
    when both replays are identical; the fresh-seed verdict is reported beside."""
    result = reproduce(record_path, output_dir)
    if not result.compared:
        return result
    record = load_record(record_path)
    ok, message = replay_confirmation(record, result.output_dir / "confirmation")
    verdict = fresh_seeds(record, fresh, result.output_dir / f"fresh_{fresh}") if fresh else None
    return Reproduction(result.reproduced and ok, result.message, result.output_dir, result.differences,
                        compared=True, confirmation=message, fresh=verdict)


def _confirm_settings(record: dict[str, Any], **kw: Any) -> ConfirmSettings:
    raw = record.get("confirmation")
    conf: dict[str, Any] = raw if isinstance(raw, dict) else {}
    seed = record.get("sampler_seed")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise InputError("promotion record: sampler_seed (the study seed) must be an integer")
    base: dict[str, Any] = dict(study_seed=seed, ticks=int(conf.get("ticks", record["mc_ticks"])),
                                runs=int(conf.get("runs", 2000)),
                                suite_seeds=int(conf.get("suite_seeds_per_scenario", DEFAULT_SUITE_SEEDS)))
    base.update(kw)
    return ConfirmSettings(**base)


def replay_confirmation(record: dict[str, Any], out: Path) -> tuple[bool, str]:
    """Re-runs the record's confirmation (same overlay, streams, runs, ticks, suite seeds,
    and the suite files it ran, checked against their recorded sha256) into ``out`` and
    compares ``mc_summary.json`` and each ``suite_summary.json`` byte for byte with the
    confirmation directory named in the record."""
    conf = record.get("confirmation")
    if not isinstance(conf, dict):
        return True, "no confirmation in the record (promoted before confirmation existed): nothing to replay"
    settings = _confirm_settings(record)
    streams = record.get("seed_streams") or {}
    first = (streams.get(settings.mc_stream) or {}).get("first")
    base = (streams.get(settings.suite_stream) or {}).get("base")
    if (first is not None and first != settings.mc_seed) or (base is not None and base != settings.suite_seed_base):
        return False, (f"confirmation NOT reproduced: the record's streams ({settings.mc_stream} {first}, "
                       f"{settings.suite_stream} {base}) are not the study seed's")
    old = Path(str(conf.get("directory")))
    if not old.is_dir():
        return False, f"confirmation NOT replayed: its directory {old} is not reachable to compare with"
    suite_files: dict[str, Path] = {}
    for summary in sorted((old / "suite").glob("*/suite_summary.json")):
        try:
            meta = json.loads(summary.read_text(encoding="utf-8"))["suite_file"]
            path, want = Path(meta["path"]), meta["sha256"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            return False, f"confirmation NOT replayed: {summary} is unreadable ({exc})"
        if not path.is_file() or sha256_file(path) != want:
            return False, (f"confirmation NOT replayed: the suite file {path} it ran is "
                           f"{'missing' if not path.is_file() else 'changed since (sha256 differs)'}")
        suite_files[summary.parent.name] = path
    try:
        simulate(record["env_overlay"], out, settings, "replay of the confirmation", suite_files=suite_files)
    except InputError as exc:
        return False, f"confirmation NOT replayed: {exc}"
    files = ["mc/mc_summary.json", *(f"suite/{name}/suite_summary.json" for name in sorted(suite_files))]
    differing = [f for f in files if not (old / f).is_file() or (old / f).read_bytes() != (out / f).read_bytes()]
    if differing:
        return False, f"confirmation NOT reproduced: {', '.join(differing)} in {out} differ from {old}"
    return True, f"confirmation reproduced: {len(files)} summaries in {out} are identical to {old}"


def fresh_seeds(record: dict[str, Any], runs: int, out: Path) -> dict[str, Any]:
    """Evaluates the promoted candidate on a new stream (``fresh-mc-<runs>`` and
    ``fresh-suite-<runs>`` of the study seed, used by neither search nor confirmation):
    ``runs`` Monte Carlo runs and both suites (as many seeds per scenario as the
    confirmation), judged against the record's tier with every bound at the record's
    alpha (one candidate: no multiplicity correction)."""
    settings = _confirm_settings(record, runs=runs, mc_stream=f"{FRESH_MC}-{runs}", suite_stream=f"{FRESH_SUITE}-{runs}")
    simulate(record["env_overlay"], out, settings, "fresh-seed evaluation")
    c = read_confirmation(int(record.get("trial_number", -1)), str(record["candidate_id"]), out, settings.key)
    budget = record.get("tier_budget") or {}
    try:
        tier = Tier(name=str(record.get("tier")), max_kill_ucb=float(budget["max_kill_ucb"]),
                    max_dd_cvar=float(budget["max_dd_cvar"]), min_pnl_lcb_usd=float(budget["min_pnl_lcb_usd"]),
                    max_scenario_failure_rate=float(budget.get("max_scenario_failure_rate", 0.0)))
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"promotion record: tier_budget unusable ({exc})") from None
    alpha = float((record.get("statistics") or {}).get("alpha", 0.05))
    verdict = judge(c, tier, alpha, 1)
    return {"directory": str(out), "streams": settings.streams(), **verdict.as_dict()}

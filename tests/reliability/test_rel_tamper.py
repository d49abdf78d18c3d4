"""Tampered evidence is detected and never promoted.

A finished study's would-be winner (the balanced and aggressive winner; the
conservative winner is another trial) has its trial directory altered in one way per
case. ``sim_eval verify-evidence-tree`` must fail naming the problem (or, when every
pack was regenerated so that the packs verify again, the promoter must catch the digests
recorded in the database at trial time), and ``python -m tuner.promote`` must skip the
candidate with the reason and never write it into a preset or record. The trial
directory is restored after each case. The study keeps the full layout
(``--trial-evidence full``); a compact trial altered after its own verification is the
last case.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from e2e import counted, load, real_bin
from reliab import PROMOTE_STUDY_ARGS, check_presets, fault_env, run_promote, study

NAME = "tamp"


@pytest.fixture(scope="module")
def tamp(tmp_path_factory: pytest.TempPathFactory, suites: Path, budgets: Path) -> dict[str, Any]:
    cwd = tmp_path_factory.mktemp("tamper")
    # The full layout (a file per seed, a pack per directory): the cases below alter its
    # files; compact trials hold the same documents in fewer files under the same packs.
    r = study(cwd, NAME, suites, args=[*PROMOTE_STUDY_ARGS, "--trial-evidence", "full"])
    assert r.returncode == 0, r.stderr
    dry = run_promote(cwd, NAME, cwd / "unused", budgets, extra=["--dry-run"])
    assert dry.returncode == 0, dry.stderr
    winners = {ln.split()[0].rstrip(":"): ln.split()[1] for ln in dry.stdout.splitlines() if "[dry run" in ln}
    target = winners["aggressive"]
    assert winners["balanced"] == target and winners["conservative"] != target, winners
    t = next(t for t in counted(load(cwd, NAME)) if t.user_attrs["candidate_id"] == target)
    return {"cwd": cwd, "target": target, "tdir": Path(t.user_attrs["trial_dir"]), "winners": winners}


def _flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _rewrite_sums(pack_dir: Path, edit: Callable[[list[str]], list[str]], manifest_too: bool) -> None:
    """Rewrites <dir>/evidence_pack/SHA256SUMS through ``edit``; with ``manifest_too``
    the manifest is made to match (file count and digest), as a careful forger would."""
    sums = pack_dir / "evidence_pack" / "SHA256SUMS"
    lines = edit(sums.read_text().splitlines())
    sums.write_text("".join(ln + "\n" for ln in lines))
    if manifest_too:
        manifest = pack_dir / "evidence_pack" / "manifest.json"
        m = json.loads(manifest.read_text())
        m["file_count"] = len(lines)
        m["sha256sums_sha256"] = _sha(sums)
        manifest.write_text(json.dumps(m, indent=2) + "\n")


def _summary_changed_sums_rewritten(tdir: Path, manifest_too: bool) -> None:
    summary = tdir / "mc" / "mc_summary.json"
    _flip(summary)
    _rewrite_sums(tdir / "mc", lambda ls: [f"{_sha(summary)}  mc_summary.json" if ln.endswith("  mc_summary.json")
                                           else ln for ln in ls], manifest_too)


def _regenerate_every_pack(tdir: Path) -> None:
    _flip(tdir / "mc" / "mc_summary.json")
    for d in (tdir / "mc", tdir):
        subprocess.run([real_bin() / "sim_eval", "write-evidence-pack", d], check=True, capture_output=True)


def _add_line(path_text: str) -> Callable[[Path], None]:
    def tamper(tdir: Path) -> None:
        _rewrite_sums(tdir / "mc", lambda ls: sorted(ls + [f"{_sha(tdir / 'mc' / 'mc_runs.jsonl')}  {path_text}"],
                                                         key=lambda ln: ln[66:]), manifest_too=True)
    return tamper


def _symlink_outside(tdir: Path) -> None:
    runs = tdir / "mc" / "mc_runs.jsonl"
    outside = tdir.parent.parent.parent / "outside_mc_runs.jsonl"
    shutil.copyfile(runs, outside)  # byte for byte the same content
    runs.unlink()
    runs.symlink_to(outside)


TAMPERS: list[tuple[str, Callable[[Path], None], str | None]] = [
    ("byte-changed-in-mc-summary", lambda d: _flip(d / "mc" / "mc_summary.json"), "altered: mc_summary.json"),
    ("sums-and-manifest-rewritten-to-match", lambda d: _summary_changed_sums_rewritten(d, True),
     "altered: mc/mc_summary.json"),
    ("sums-rewritten-manifest-not", lambda d: _summary_changed_sums_rewritten(d, False),
     "altered: evidence_pack/SHA256SUMS"),
    ("every-pack-regenerated", _regenerate_every_pack, None),
    ("suite-result-removed", lambda d: (d / "suite" / "research_v1" / "suite_summary.json").unlink(),
     "missing: suite_summary.json"),
    ("suite-directory-removed", lambda d: shutil.rmtree(d / "suite" / "adversarial_regression_v1"),
     "missing: suite/adversarial_regression_v1/"),
    ("extra-file", lambda d: (d / "suite" / "research_v1" / "notes.txt").write_text("trust me\n"),
     "unlisted: notes.txt"),
    ("sums-name-parent-path", _add_line("../outside.txt"), 'unsafe path: "../outside.txt"'),
    ("sums-name-absolute-path", _add_line("/etc/hostname"), 'unsafe path: "/etc/hostname"'),
    ("symlink-to-file-outside", _symlink_outside, "symlink: mc_runs.jsonl ->"),
    ("manifest-removed", lambda d: (d / "mc" / "evidence_pack" / "manifest.json").unlink(),
     "missing pack file: evidence_pack/manifest.json"),
    ("run-log-truncated", lambda d: (d / "mc" / "mc_runs.jsonl").write_text(""), "altered: mc_runs.jsonl"),
]


@pytest.mark.parametrize("tamper,fragment", [(t[1], t[2]) for t in TAMPERS], ids=[t[0] for t in TAMPERS])
def test_tampered_evidence_is_detected_and_never_promoted(
    tmp_path: Path, tamp: dict[str, Any], budgets: Path, tamper: Callable[[Path], None], fragment: str | None
) -> None:
    tdir: Path = tamp["tdir"]
    backup = tmp_path / "backup"
    shutil.copytree(tdir, backup, symlinks=True)
    try:
        tamper(tdir)
        check = subprocess.run([real_bin() / "sim_eval", "verify-evidence-tree", tdir], capture_output=True, text=True)
        if fragment is None:
            assert check.returncode == 0, "regenerated packs verify by themselves: the database digests must catch it"
        else:
            assert check.returncode == 1, check.stdout
            assert fragment in check.stdout, check.stdout
        _never_promoted(tmp_path, tamp, budgets, "digest" if fragment is None else fragment.split(":")[0])
    finally:
        shutil.rmtree(tdir)
        shutil.copytree(backup, tdir, symlinks=True)


def _never_promoted(tmp_path: Path, tamp: dict[str, Any], budgets: Path, why: str) -> None:
    out = tmp_path / "promoted"
    r = run_promote(tamp["cwd"], NAME, out, budgets)
    if why == "symlink":
        # The study's root pack cannot cover a symlink either: the tiers are committed,
        # the refreshed outputs are not, and the command says both (exit 1).
        assert r.returncode == 1, r.stderr
        assert "the promotion is committed, but the study's outputs were not refreshed" in r.stderr, r.stderr
        assert "is a symbolic link" in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    else:
        assert r.returncode == 0, r.stderr
    skipped = [ln for ln in r.stdout.splitlines() if f"skipped {tamp['target']}" in ln]
    assert skipped and all(why in ln for ln in skipped), r.stdout
    records = check_presets(out)
    assert tamp["target"] not in {rec["candidate_id"] for rec in records.values()}
    for env in out.rglob("*.env"):
        assert tamp["target"] not in env.read_text()
    # The untouched conservative winner is still promoted.
    assert records["conservative"]["candidate_id"] == tamp["winners"]["conservative"]


def test_a_removed_trial_directory_is_not_promoted_without_allow_unverified(
    tmp_path: Path, tamp: dict[str, Any], budgets: Path
) -> None:
    tdir: Path = tamp["tdir"]
    moved = tmp_path / "moved"
    tdir.rename(moved)
    try:
        _never_promoted(tmp_path, tamp, budgets, "refusing without --allow-unverified")
    finally:
        moved.rename(tdir)


def test_evidence_altered_after_the_trial_verified_it_is_never_promoted(
    tmp_path: Path, suites: Path, budgets: Path
) -> None:
    """mc/mc_summary.json.gz changed after sim_eval trial verified the trial's evidence and
    reported its digests (a change between writing and verifying inside that one process
    fails the trial: crates/paraphina/tests/trial_cli.rs). The storage holds the digests of
    what was verified, so the promoter's re-verification finds the change."""
    env = fault_env(tmp_path, "trial:2:tamper", "t")
    r = study(tmp_path, "during", suites, args=PROMOTE_STUDY_ARGS, env=env)
    assert r.returncode == 0, r.stderr
    s = load(tmp_path, "during")
    trials = counted(s)
    victim = trials[1]
    assert victim.state.name == "COMPLETE"
    tdir = Path(victim.user_attrs["trial_dir"])
    check = subprocess.run([real_bin() / "sim_eval", "verify-evidence-tree", tdir], capture_output=True, text=True)
    assert check.returncode == 1 and "altered: mc/mc_summary.json.gz" in check.stdout, check.stdout
    out = tmp_path / "promoted"
    p = run_promote(tmp_path, "during", out, budgets)
    assert p.returncode == 0, p.stderr
    assert victim.user_attrs["candidate_id"] not in {r["candidate_id"] for r in check_presets(out).values()}

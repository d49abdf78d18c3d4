"""Promotion under faults: SIGKILL at every step of ``python -m tuner.promote``, and
several promoters writing the same presets at once.

After any of these, each tier directory holds either nothing or complete presets: every
visible ``.env`` is whole (header and the seven knobs), ``PROMOTION_RECORD.json`` parses,
names an ``.env`` that exists, whose sha256 is the record's ``candidate_hash`` and whose
knobs give the record's ``candidate_id``; no temporary file looks like a preset. A
promotion is all tiers or none: its manifest (``<out>/.promotion.pending``) names what it
creates, and removing it is the commit point. Running the same command again rolls a
killed promotion back (removing its uncommitted files and restoring the records),
promotes, and leaves no preset that no record ever named and no temporary file.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from e2e import CONFIRM_ENV, load
from reliab import PROMOTE_STUDY_ARGS, check_presets, fault_env, run_promote, study
from tuner.config.paths import REPO_ROOT

NAME = "prom"


@pytest.fixture(scope="module")
def prom(tmp_path_factory: pytest.TempPathFactory, suites: Path, budgets: Path) -> dict[str, Any]:
    """A finished study and the winner of each tier (from a dry run)."""
    cwd = tmp_path_factory.mktemp("promotion")
    r = study(cwd, NAME, suites, args=PROMOTE_STUDY_ARGS)
    assert r.returncode == 0, r.stderr
    dry = run_promote(cwd, NAME, cwd / "unused", budgets, extra=["--dry-run"])
    assert dry.returncode == 0, dry.stderr
    s = load(cwd, NAME)
    winners: dict[str, str] = {}
    for line in dry.stdout.splitlines():
        parts = line.split()
        if len(parts) > 2 and parts[0].rstrip(":") in ("conservative", "balanced", "aggressive") and "[dry" in line:
            winners[parts[0].rstrip(":")] = parts[1]
    assert set(winners) == {"conservative", "balanced", "aggressive"}, dry.stdout
    assert len(set(winners.values())) >= 2, "tiers should have different winners"
    return {"cwd": cwd, "winners": winners, "study": s}


PROMOTE_KILLS = [
    ("re-verifying-winner", "verify-evidence-tree:1:kill_parent"),
    ("first-tier-staged", {"TUNER_FAULT_POINT": "promote.staged:1"}),
    ("first-tier-env-written", {"TUNER_FAULT_POINT": "promote.env_written:1"}),
    ("second-tier-env-written", {"TUNER_FAULT_POINT": "promote.env_written:2"}),
    ("after-two-tiers", {"TUNER_FAULT_POINT": "promote.tier_done:2"}),
    ("writing-study-outputs", {"TUNER_FAULT_POINT": "reports.outputs:1"}),
]


@pytest.mark.parametrize("how", [p[1] for p in PROMOTE_KILLS], ids=[p[0] for p in PROMOTE_KILLS])
def test_sigkill_during_promotion_leaves_no_half_written_preset(
    tmp_path: Path, prom: dict[str, Any], budgets: Path, how: Any
) -> None:
    out = tmp_path / "promoted"
    env = dict(how) if isinstance(how, dict) else fault_env(tmp_path, how, "p")
    killed = run_promote(prom["cwd"], NAME, out, budgets, env=env)
    assert killed.returncode == -9, killed.stdout + killed.stderr
    committed = {tier: rec["env_file"] for tier, rec in check_presets(out, killed=True).items()}

    again = run_promote(prom["cwd"], NAME, out, budgets)
    assert again.returncode == 0, again.stderr
    assert "Traceback" not in again.stderr
    if "env_written" in str(how):
        assert "left by an interrupted promotion (never recorded)" in again.stdout, again.stdout
    records = check_presets(out)
    assert {tier: rec["candidate_id"] for tier, rec in records.items()} == prom["winners"]
    for tier, rec in records.items():
        envs = {p.name for p in (out / tier).glob("*.env")}
        assert envs <= {rec["env_file"], committed.get(tier)}, f"{tier}: a preset no record ever named: {envs}"
    assert not [p for p in out.rglob(".*") if p.name != ".promote.lock"], "temporary files left behind"


def test_concurrent_promoters_leave_complete_presets_and_replace_only_when_beaten(
    tmp_path: Path, prom: dict[str, Any], budgets: Path
) -> None:
    """Four promoters at once on the same study and presets directory. The first uses
    budgets that pick another aggressive winner and pauses between the preset and its
    record; the others pause before they write theirs, so without mutual exclusion they
    would overwrite its preset (same second, same file name) before it writes its record."""
    other = tmp_path / "other_budgets.yaml"
    other.write_text(budgets.read_text().replace("max_dd_cvar: 1000.0", "max_dd_cvar: 300.0"))
    out = tmp_path / "promoted"
    # Start together just after a second boundary, so the promoters' time stamps (and
    # so their file names) collide.
    time.sleep(1.05 - time.time() % 1.0)
    procs = []
    for i in range(4):
        env = {"TUNER_FAULT_POINT": "promote.env_written:3:sleep=1.5" if i == 0 else "promote.staged:3:sleep=0.5"}
        args = ["--study", NAME, "--budgets", str(other if i == 0 else budgets), "--out-dir", str(out), "--quiet"]
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "tuner.promote", *args], cwd=prom["cwd"], text=True,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env={**_base_env(), **env},
        ))
    results = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
    for p in procs:
        p.stdout.close()
        p.stderr.close()
    assert all(code == 0 for code, _ in results), results
    records = check_presets(out)
    assert set(records) == {"conservative", "balanced", "aggressive"}
    assert records["aggressive"]["candidate_id"] in {prom["winners"]["aggressive"], prom["winners"]["conservative"]}
    assert not [p for p in out.rglob(".*") if p.name != ".promote.lock"], "temporary files left behind"


def _base_env() -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith(("PARAPHINA_", "TUNER_"))}
    env.update(CONFIRM_ENV)  # the same confirmation settings as the dry run's
    env["PYTHONPATH"] = str(REPO_ROOT)
    return env

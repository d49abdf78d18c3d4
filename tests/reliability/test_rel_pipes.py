"""Every command finishes or says why it stopped (issue 13): output piped into ``head``
(the pipe closes early), an evidence pack that cannot be rewritten.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

from e2e import load
from reliab import BUDGETS, PROMOTE_STUDY_ARGS, STUDY_ARGS, assert_same_as_reference, run_promote, study

NAME = "rel"


def _piped(cmd: list[str], cwd: Path, env: dict[str, str], head: int) -> tuple[int, str]:
    """``cmd 2>&1 | head -N`` in bash: the command's own exit status and what head showed."""
    full = {k: v for k, v in os.environ.items() if not k.startswith(("PARAPHINA_", "TUNER_"))}
    full.update(env)
    line = f"{shlex.join(cmd)} 2>&1 | head -{head}; exit ${{PIPESTATUS[0]}}"
    r = subprocess.run(["bash", "-c", line], cwd=cwd, env=full, capture_output=True, text=True, timeout=600)
    return r.returncode, r.stdout


def test_a_study_piped_into_head_still_runs_every_trial_and_writes_its_outputs(
    tmp_path: Path, suites: Path, reference: dict[str, Any]
) -> None:
    code, shown = _piped([sys.executable, "-m", "tuner.study", "--study", NAME, *STUDY_ARGS], tmp_path,
                         {"TUNER_SUITES_DIR": str(suites)}, 3)
    assert len(shown.splitlines()) <= 3
    assert code == 0, shown
    assert_same_as_reference(load(tmp_path, NAME), reference)
    out = tmp_path / "studies" / NAME
    for name in ("trials.jsonl", "pareto.json", "pareto.csv", "evidence_pack/SHA256SUMS"):
        assert (out / name).is_file(), name
    assert len((out / "trials.jsonl").read_text().splitlines()) >= 6


def test_a_promotion_piped_into_head_promotes_every_tier(tmp_path: Path, suites: Path) -> None:
    r = study(tmp_path, NAME, suites, args=PROMOTE_STUDY_ARGS)
    assert r.returncode == 0, r.stderr
    budgets = tmp_path / "budgets.yaml"
    budgets.write_text(BUDGETS)
    whole = run_promote(tmp_path, NAME, tmp_path / "whole", budgets)
    assert whole.returncode == 0, whole.stderr
    code, _ = _piped([sys.executable, "-m", "tuner.promote", "--study", NAME, "--budgets", str(budgets),
                      "--out-dir", str(tmp_path / "piped")], tmp_path, {}, 1)
    assert code == 0
    tiers = sorted(p.parent.name for p in (tmp_path / "whole").glob("*/PROMOTION_RECORD.json"))
    assert tiers, "the small study should promote something"
    assert sorted(p.parent.name for p in (tmp_path / "piped").glob("*/PROMOTION_RECORD.json")) == tiers


def test_an_evidence_pack_that_cannot_be_rewritten_is_an_error_not_a_stale_pack(tmp_path: Path, suites: Path) -> None:
    r = study(tmp_path, NAME, suites)
    assert r.returncode == 0, r.stderr
    out = tmp_path / "studies" / NAME
    sums = (out / "evidence_pack" / "SHA256SUMS").read_bytes()
    (out / "notes\nwith a line break.txt").write_text("a file SHA256SUMS cannot name\n")
    budgets = tmp_path / "budgets.yaml"
    budgets.write_text(BUDGETS)
    for cli, args in (("tuner.promote", ["--budgets", str(budgets), "--out-dir", str(tmp_path / "out")]),
                      ("tuner.study", STUDY_ARGS)):
        proc = subprocess.run([sys.executable, "-m", cli, "--study", NAME, *args], cwd=tmp_path,
                              env={**os.environ, "TUNER_SUITES_DIR": str(suites)}, capture_output=True, text=True,
                              timeout=300)
        assert proc.returncode == 1, (cli, proc.stderr)
        assert "root evidence pack" in proc.stderr and "not written" in proc.stderr, proc.stderr
        assert "Traceback" not in proc.stderr
        assert "outputs in" not in proc.stdout, proc.stdout
    assert (out / "evidence_pack" / "SHA256SUMS").read_bytes() == sums

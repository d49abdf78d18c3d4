"""The README's commands work: every command line in its ``bash`` blocks is either run
here, in a newcomer's walk-through from a fresh clone, or exercised by the test named
beside it in COVERED (a smaller duplicate, e.g. fewer trials)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tuner.config.paths import REPO_ROOT

README = REPO_ROOT / "README.md"

# Commands exercised elsewhere (duplicated with smaller settings or a throwaway server).
COVERED = {
    r"^python -m tuner\.study --trials 100$": "test_study_e2e.py (same flags, fewer trials)",
    r"^python -m tuner\.study --study research --trials 50 --mc-runs 400 --seed 7$": "test_study_e2e.py::test_same_seed_gives_identical_parameters_and_values",
    r"^python -m tuner\.study --study big .*--storage postgresql\+psycopg://": "test_postgres.py (3 workers, TUNER_DB_PASSWORD)",
    r"^python -m tuner\.dashboard --study big --storage postgresql": "test_inspect_e2e.py::test_the_real_dashboard_shows_metric_names_user_attrs_and_feasibility",
    r"^python -m tuner\.promote --study big --storage postgresql": "test_postgres.py::test_three_workers_share_the_budget_exactly_and_promotion_works",
    r"^python -m tuner\.dashboard --study phaseA$": "test_inspect_e2e.py::test_the_real_dashboard_shows_metric_names_user_attrs_and_feasibility",
    r"^sudo -u postgres create(user|db) ": "tests/pgserver.py (initdb, a password user and CREATE DATABASE on a throwaway server)",
    r"^export TUNER_DB_PASSWORD=": "test_postgres.py (TUNER_DB_PASSWORD and TUNER_DB_PASSWORD_FILE)",
    r"^source configs/presets/promoted/": "test_promote_e2e.py::test_the_preset_sourced_in_bash_exports_exactly_the_overlay",
    r"^python -m tuner\.reproduce configs/presets/promoted/": "test_promote_e2e.py::test_reproduce_matches_then_detects_a_changed_byte",
    r"^python -m tuner\.promote --study phaseA$": "test_promote_e2e.py::test_a_real_study_promotes_and_the_record_matches_its_preset",
    r"^make test$": ".ci/run (this very test suite)",
}


def readme_commands() -> list[str]:
    """Command lines of the README's bash blocks, comments and continuation removed."""
    commands: list[str] = []
    for block in re.findall(r"```bash\n(.*?)```", README.read_text(), flags=re.S):
        for line in block.splitlines():
            line = line.split("  #")[0].strip()
            if line and not line.startswith("#"):
                commands.append(line)
    return commands


# What the walk-through runs, in order, after `make smoke` (the smoke study is "smoke";
# README lines about study "phaseA" are run against it).
WALKTHROUGH = [
    "make smoke",
    "python -m tuner.show --study phaseA",
    "python -m tuner.show --study phaseA --front --sort pnl_mean --reverse",
    "python -m tuner.show --study phaseA --trial 12",
    "python -m tuner.show --study phaseA --json",
    "python -m tuner.promote --study phaseA --dry-run",
    "python -m tuner.study --help",
    "cargo run --release -p paraphina --bin monte_carlo -- --runs 200 --ticks 600 --seed 42 --output-dir runs/mc",
    "PARAPHINA_RISK_PROFILE=aggressive PARAPHINA_MM_SIZE_ETA=1.5 target/release/monte_carlo --runs 200 --ticks 600 --seed 42 --output-dir runs/agg",
    "(cd runs/mc && sha256sum -c evidence_pack/SHA256SUMS)",
    "target/release/monte_carlo --help",
    "target/release/monte_carlo --calibration-report",
    "target/release/sim_eval suite scenarios/suites/adversarial_regression_v1.yaml --output-dir runs/adv",
    "target/release/sim_eval verify-evidence-tree runs",
]


def test_every_readme_command_is_run_or_covered() -> None:
    uncovered = [
        c for c in readme_commands()
        if c not in WALKTHROUGH and not any(re.search(p, c) for p in COVERED)
    ]
    assert not uncovered, f"README commands with no test: {uncovered}"
    # And nothing listed here has gone from the README.
    for c in WALKTHROUGH:
        assert c in readme_commands(), c


def _clone_with_build(tmp: Path) -> Path:
    clone = tmp / "clone"
    subprocess.run(["git", "clone", "-q", str(REPO_ROOT), str(clone)], check=True)
    # The working tree may hold uncommitted changes under test: bring them along.
    diff = subprocess.run(["git", "diff", "HEAD"], cwd=REPO_ROOT, capture_output=True, check=True).stdout
    if diff:
        subprocess.run(["git", "apply", "--allow-empty", "-"], cwd=clone, input=diff, check=True)
    for path in subprocess.run(["git", "ls-files", "--others", "--exclude-standard"], cwd=REPO_ROOT,
                               capture_output=True, text=True, check=True).stdout.split():
        (clone / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO_ROOT / path, clone / path)
    # Reuse the release build (hard links): cargo finds it up to date; a newcomer pays
    # for the build once, the test suite need not pay again.
    if (REPO_ROOT / "target").is_dir():
        subprocess.run(["cp", "-al", str(REPO_ROOT / "target"), str(clone / "target")], check=True)
        # cargo judges freshness by modification times: give the clone's files those of
        # the checkout (same content), or it rebuilds everything.
        tracked = subprocess.run(["git", "ls-files"], cwd=clone, capture_output=True, text=True, check=True).stdout
        for rel in tracked.splitlines():
            src = REPO_ROOT / rel
            if src.is_file() and (clone / rel).is_file():
                st = src.stat()
                os.utime(clone / rel, ns=(st.st_atime_ns, st.st_mtime_ns))
    return clone


@pytest.mark.skipif(shutil.which("make") is None or shutil.which("git") is None, reason="needs make and git")
def test_a_newcomer_walkthrough_from_a_fresh_clone(tmp_path: Path) -> None:
    clone = _clone_with_build(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PARAPHINA_", "TUNER_", "VIRTUAL_ENV"))}
    env["PATH"] = f"{clone / '.venv' / 'bin'}:{env['PATH']}"  # `source .venv/bin/activate`
    for command in WALKTHROUGH:
        line = command.replace("--study phaseA", "--study smoke").replace("--trial 12", "--trial 1")
        r = subprocess.run(["bash", "-c", f"set -euo pipefail; {line}"], cwd=clone, env=env, capture_output=True,
                           text=True, timeout=900)
        assert r.returncode == 0, f"{line}\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}"
        if command == "make smoke":
            assert (clone / "studies" / "smoke.db").is_file()
            assert "study smoke: 3 finished trials" in r.stdout
            assert "promotion of study smoke" in r.stdout  # it runs, and says why nothing qualifies
        if "sha256sum -c" in command:
            assert "OK" in r.stdout

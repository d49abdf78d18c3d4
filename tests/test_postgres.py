"""Scale-out on a real PostgreSQL server: several workers share one study."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import optuna
import pytest

import pgserver
from e2e import FAST, real_bin, run_cli
from faultbin import make_fault_bin
from tuner.record import counted_trials
from tuner.simulator.build import ensure_binaries

optuna.logging.set_verbosity(optuna.logging.ERROR)


@pytest.fixture(scope="module")
def pg():
    try:
        server = pgserver.start()
    except RuntimeError as exc:  # pragma: no cover - depends on the machine
        print(f"\n*** PostgreSQL tests SKIPPED: {exc} ***\n", file=sys.stderr)
        pytest.skip(f"PostgreSQL server not available: {exc}")
    ensure_binaries(quiet=True)
    yield server
    server.stop()


def _study(server: pgserver.PgServer, name: str) -> optuna.Study:
    return optuna.load_study(study_name=name, storage=server.url())


def _files_containing(root: Path, needle: str) -> list[Path]:
    hits = []
    for path in root.rglob("*"):
        if path.is_file() and needle.encode() in path.read_bytes():
            hits.append(path)
    return hits


def test_three_workers_share_the_budget_exactly_and_promotion_works(pg, tmp_path: Path) -> None:
    out = tmp_path / "promoted"
    r = run_cli("tuner.study", ["--study", "w3", "--storage", pg.url(password=False), "--trials", "12",
                                "--workers", "3", "--mc-threads", "1", "--mc-runs", "60", "--mc-ticks", "200",
                                "--no-promote", "--population", "6"],
                tmp_path, env={"TUNER_DB_PASSWORD": pgserver.PASSWORD})
    assert r.returncode == 0, r.stderr
    study = _study(pg, "w3")
    trials = study.get_trials()
    assert len(trials) == 12 and len(counted_trials(trials)) == 12
    assert sorted(t.number for t in trials) == list(range(12))
    workers = Counter(t.user_attrs["worker"] for t in trials)
    assert len(workers) == 3, workers  # every worker ran trials
    dupes = {k: v for k, v in Counter(t.user_attrs["candidate_id"] for t in trials).items() if v > 1}
    print(f"duplicate candidates across 3 workers: {dupes or 'none'}")
    assert len(dupes) <= 1  # only by the sampler's chance (identical NSGA-II children)
    p = run_cli("tuner.promote", ["--study", "w3", "--storage", pg.url(password=False), "--out-dir", str(out)],
                tmp_path, env={"TUNER_DB_PASSWORD_FILE": str(_pwfile(tmp_path))})
    assert p.returncode == 0, p.stderr
    assert "promotion of study w3" in p.stdout
    for text in (r.stdout, r.stderr, p.stdout, p.stderr):
        assert pgserver.PASSWORD not in text
    leaks = _files_containing(tmp_path, pgserver.PASSWORD)
    assert leaks == [tmp_path / "pw"], leaks  # only the password file we wrote ourselves
    for rec in out.rglob("PROMOTION_RECORD.json"):
        assert json.loads(rec.read_text())["storage"].startswith("postgresql+psycopg://tuner:***@127.0.0.1")


def _pwfile(tmp_path: Path) -> Path:
    path = tmp_path / "pw"
    path.write_text(pgserver.PASSWORD + "\n")
    return path


def test_a_worker_killed_in_a_trial_is_retried_by_the_others(pg, tmp_path: Path) -> None:
    env = {"TUNER_DB_PASSWORD": pgserver.PASSWORD, "TUNER_HEARTBEAT_INTERVAL": "1", "TUNER_HEARTBEAT_GRACE": "4"}
    args = ["--study", "kill", "--storage", pg.url(password=False), "--trials", "9", "--mc-threads", "1",
            "--no-promote", "--population", "4", *FAST]
    # Create the study first, as a host would; then three "hosts" start workers.
    assert run_cli("tuner.study", [*args[:-4], "--trials", "1", *FAST], tmp_path, env=env).returncode == 0
    fbin = make_fault_bin(tmp_path / "fbin", real_bin())
    victim_env = dict(env, TUNER_BIN_DIR=str(fbin), TUNER_FAULT="suite:3:kill_parent", TUNER_FAULT_DIR=str(tmp_path))
    full = {k: v for k, v in os.environ.items() if not k.startswith(("PARAPHINA_", "TUNER_"))}
    procs = [
        subprocess.Popen([sys.executable, "-m", "tuner.study", *args], cwd=tmp_path,
                         env={**full, **(victim_env if i == 0 else env)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for i in range(3)
    ]
    results = [p.communicate(timeout=300) for p in procs]
    codes = [p.returncode for p in procs]
    assert codes[0] == -9 and codes[1:] == [0, 0], (codes, [e[-800:] for _, e in results])
    study = _study(pg, "kill")
    trials = study.get_trials()
    assert len(counted_trials(trials)) == 9
    assert not [t for t in trials if t.state.name == "RUNNING"]
    dead = [t for t in trials if t.state.name == "FAIL"]
    assert len(dead) == 1
    retries = [t for t in trials if t.system_attrs.get("failed_trial") == dead[0].number]
    assert len(retries) == 1 and retries[0].state.name == "COMPLETE"
    if len(dead[0].params) == len(retries[0].params):
        assert retries[0].params == dead[0].params


def test_unreachable_server_and_wrong_password_are_one_line_errors(pg, tmp_path: Path) -> None:
    wrong = pg.url().replace(pgserver.PASSWORD, "wrong-Pw-123")
    closed = f"postgresql+psycopg://tuner:{pgserver.PASSWORD}@127.0.0.1:1/studies"
    for url, secret in ((wrong, "wrong-Pw-123"), (closed, pgserver.PASSWORD)):
        r = run_cli("tuner.study", ["--study", "x", "--storage", url, "--trials", "1", *FAST], tmp_path)
        assert r.returncode == 2, r.stderr
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and "cannot open the database" in lines[0], r.stderr
        assert secret not in r.stderr and "***" in r.stderr

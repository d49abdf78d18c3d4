"""PostgreSQL (issue 13): workers started in the same second on a fresh database all
succeed (schema creation is serialized), and a refused or lost server connection is
told as such, never as a full disk. A real server on loopback (``tests/pgserver.py``);
skipped, loudly, where PostgreSQL is not installed."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import pgserver
from e2e import CONFIRM_ENV, FAST, run_cli
from tuner.record import counted_trials

ROUNDS = 3
WORKERS = 4


@pytest.fixture
def pg():
    try:
        server = pgserver.start()
    except RuntimeError as exc:  # pragma: no cover - depends on the machine
        print(f"\n*** PostgreSQL tests SKIPPED: {exc} ***\n", file=sys.stderr)
        pytest.skip(f"PostgreSQL server not available: {exc}")
    yield server
    server.stop()


def _env(**extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("PARAPHINA_", "TUNER_"))}
    return {**base, "TUNER_DB_PASSWORD": pgserver.PASSWORD, **extra}


def test_four_workers_started_in_the_same_second_on_a_fresh_database_all_succeed(pg, tmp_path: Path) -> None:
    import optuna  # noqa: PLC0415

    for round_ in range(ROUNDS):
        db = f"fresh{round_}"
        pg.psql(f"CREATE DATABASE {db}", db="postgres")
        url = pg.url(password=False, db=db)
        procs = [
            subprocess.Popen([sys.executable, "-m", "tuner.study", "--study", "w", "--storage", url, "--trials", "4",
                              "--population", "4", "--no-promote", "--mc-threads", "1", *FAST,
                              "--study-dir", str(tmp_path / f"r{round_}" / f"w{i}"), "--create-dirs"],
                             cwd=tmp_path, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            for i in range(WORKERS)
        ]
        errs = [p.communicate(timeout=600)[1] for p in procs]
        assert [p.returncode for p in procs] == [0] * WORKERS, errs
        study = optuna.load_study(study_name="w", storage=pg.url(db=db))
        assert len(counted_trials(study.get_trials())) == 4


def test_a_refused_connection_is_told_as_such(tmp_path: Path) -> None:
    port = pgserver._free_port()
    r = run_cli("tuner.study", ["--study", "w", "--storage", f"postgresql+psycopg://u@127.0.0.1:{port}/db",
                                "--trials", "1", *FAST], tmp_path)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert "cannot open the database" in lines[0] and "running and reachable" in lines[0], lines[0]
    assert "free space" not in lines[0].lower()


def test_a_server_lost_during_a_study_is_told_as_such_with_the_resume_command(pg, tmp_path: Path) -> None:
    url = pg.url(password=False)
    proc = subprocess.Popen([sys.executable, "-m", "tuner.study", "--study", "lost", "--storage", url, "--trials", "4",
                             "--population", "4", "--no-promote", *FAST],
                            cwd=tmp_path, env=_env(TUNER_FAULT_POINT="objective.sampled:2:sleep=4"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    # Once trial 1 is sampled (its sleep begins), the server goes away.
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        out = pg.psql("SELECT count(*) FROM trial_params") if _has_tables(pg) else "0"
        if int(out.strip() or 0) > 7:
            break
        time.sleep(0.2)
    subprocess.run(pg._cmd(str(pg.bin_dir / "pg_ctl"), "-D", str(pg.data_dir), "-m", "immediate", "stop"),
                   capture_output=True, timeout=60, check=True)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 1, err
    assert "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert "database server could not be reached" in lines[-2], err
    assert "free space" not in lines[-2].lower(), err
    assert lines[-1].strip().startswith("python -m tuner.study --study lost"), err


def _has_tables(pg) -> bool:
    return pg.psql("SELECT count(*) FROM pg_tables WHERE tablename = 'trial_params'").strip() == "1"


def test_a_server_lost_during_a_promotion_is_one_line_and_all_tiers_or_none(pg, tmp_path: Path, suites: Path) -> None:
    """The server stops (``pg_ctl -m immediate``) while ``tuner.promote`` runs, once
    the tiers are decided and before they are committed. The promotion is all tiers or
    none, and the command ends in one line, no traceback, naming the lost server and
    saying which: the commit (files only) completes, and refreshing the study's outputs
    from the database meets the lost server."""
    from reliab import BUDGETS, PROMOTE_STUDY_ARGS, check_presets  # noqa: PLC0415

    url = pg.url(password=False)
    env = {"TUNER_SUITES_DIR": str(suites), "TUNER_DB_PASSWORD": pgserver.PASSWORD}
    r = run_cli("tuner.study", ["--study", "lostp", "--storage", url, *PROMOTE_STUDY_ARGS], tmp_path, env=env)
    assert r.returncode == 0, r.stderr
    (tmp_path / "budgets.yaml").write_text(BUDGETS)
    out = tmp_path / "out"
    started = tmp_path / "promote.started"
    proc = subprocess.Popen([sys.executable, "-m", "tuner.promote", "--study", "lostp", "--storage", url,
                             "--budgets", "budgets.yaml", "--out-dir", str(out)], cwd=tmp_path,
                            env=_env(**CONFIRM_ENV, TUNER_SUITES_DIR=str(suites), TUNER_FAULT_POINT="promote.decided:1:sleep=6",
                                     TUNER_FAULT_MARK=str(started)),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while not started.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert started.exists(), proc.communicate()[1]
    subprocess.run(pg._cmd(str(pg.bin_dir / "pg_ctl"), "-D", str(pg.data_dir), "-m", "immediate", "stop"),
                   capture_output=True, timeout=60, check=True)
    stdout, err = proc.communicate(timeout=300)
    assert "Traceback" not in err, err
    lines = err.strip().splitlines()
    committed = sorted(p.parent.name for p in out.glob("*/PROMOTION_RECORD.json"))
    if proc.returncode == 0:
        assert committed, stdout
    else:
        assert proc.returncode == 1, err
        assert len(lines) == 1 and "database server could not be reached" in lines[0], err
        assert "free space" not in lines[0].lower(), err
        # What the line says was promoted is what is on disk.
        if committed:
            assert "the promotion is committed" in lines[0], err
        else:
            assert "nothing was promoted" in lines[0], err
    check_presets(out)  # every visible preset has its record, no manifest left behind

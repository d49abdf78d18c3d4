"""Scale-out on a real PostgreSQL server: several workers share one study."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import optuna
import pytest

import pgserver
from e2e import FAST, run_cli
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


# A worker killed in a trial and retried by the others: tests/test_multihost.py (a whole
# host's process group killed, the others on their own loopback addresses).


def test_trial_attributes_are_written_in_one_transaction_on_postgresql(pg) -> None:
    from test_storage import check_trial_attrs_batch  # noqa: PLC0415

    check_trial_attrs_batch({"public": pg.url(), "batch": pg.url()})


def test_unreachable_server_and_wrong_password_are_one_line_errors(pg, tmp_path: Path) -> None:
    wrong = pg.url().replace(pgserver.PASSWORD, "wrong-Pw-123")
    closed = f"postgresql+psycopg://tuner:{pgserver.PASSWORD}@127.0.0.1:1/studies"
    for url, secret in ((wrong, "wrong-Pw-123"), (closed, pgserver.PASSWORD)):
        r = run_cli("tuner.study", ["--study", "x", "--storage", url, "--trials", "1", *FAST], tmp_path)
        assert r.returncode == 2, r.stderr
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and "cannot open the database" in lines[0], r.stderr
        assert secret not in r.stderr and "***" in r.stderr

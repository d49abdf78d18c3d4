"""Processes that get in each other's way (issue 13): a second process on one SQLite
study, a process paused past the heartbeat grace period whose trial another worker took
over, and Ctrl-C / SIGTERM to ``tuner.promote`` and ``tuner.reproduce`` while their
simulator child runs.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import optuna
import pytest

from e2e import load, run_cli
from reliab import BUDGETS, PROMOTE_STUDY_ARGS, STUDY_ARGS, assert_same_as_reference, fault_env, study
from tuner.names import KNOB_NAMES
from tuner.session.recovery import StaleTrialRetry

NAME = "rel"


def _env(suites: Path, **extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("PARAPHINA_", "TUNER_"))}
    return {**base, "TUNER_SUITES_DIR": str(suites), **extra}


def _wait_for(cond: Any, what: str, timeout: float = 120) -> None:
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _stop_outside_a_write(pid: int, db: Path) -> None:
    """SIGSTOP ``pid`` at a moment it holds no write transaction on the SQLite ``db``."""
    for _ in range(200):
        os.kill(pid, signal.SIGSTOP)
        con = sqlite3.connect(str(db), timeout=0.2)
        try:
            con.execute("BEGIN IMMEDIATE")
            con.rollback()
            return
        except sqlite3.OperationalError:  # paused inside a write: let it finish
            os.kill(pid, signal.SIGCONT)
            time.sleep(0.01)
        finally:
            con.close()
    raise AssertionError("could not pause the process outside a write transaction")


def test_a_second_process_on_a_sqlite_study_is_refused_and_the_first_stays_reproducible(
    tmp_path: Path, suites: Path, reference: dict[str, Any]
) -> None:
    """The same command twice, and the same study with another --study-dir: both later
    processes are refused in one line (exit 2) while the first runs; the first gives
    the bit-identical study a single process gives."""
    cmd = [sys.executable, "-m", "tuner.study", "--study", NAME, *STUDY_ARGS]
    lock = tmp_path / "studies" / f"{NAME}.db.{NAME}.lock"
    first = subprocess.Popen(cmd, cwd=tmp_path, env=_env(suites), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             text=True)
    try:
        _wait_for(lambda: lock.is_file() and "pid" in lock.read_text(), "the first process's lock")
        # Paused (as by Ctrl-Z) so that it is still running, however slow the machine.
        os.kill(first.pid, signal.SIGSTOP)
        for extra in ([], ["--study-dir", "other"]):
            r = run_cli("tuner.study", [*cmd[3:], *extra], tmp_path, env={"TUNER_SUITES_DIR": str(suites)})
            assert r.returncode == 2, r.stderr
            lines = r.stderr.strip().splitlines()
            assert len(lines) == 1 and "is being run by another process (pid" in lines[0], r.stderr
            assert not (tmp_path / "other").exists()
        os.kill(first.pid, signal.SIGCONT)
        _, err = first.communicate(timeout=300)
    finally:
        if first.poll() is None:
            os.kill(first.pid, signal.SIGCONT)
            first.kill()
    assert first.returncode == 0, err
    assert_same_as_reference(load(tmp_path, NAME), reference)


def test_a_process_paused_past_the_heartbeat_grace_stops_in_one_line_when_its_trial_was_taken_over(
    tmp_path: Path, suites: Path, reference: dict[str, Any]
) -> None:
    """SIGSTOP during a trial for longer than the grace period; another worker (here the
    test, with the worker's own heartbeat callback) declares the trial dead and retries
    it; SIGCONT: the paused process stops with one error line and the resume command,
    no traceback; that command finishes the study as an uninterrupted run."""
    hb = {"TUNER_HEARTBEAT_INTERVAL": "1", "TUNER_HEARTBEAT_GRACE": "2"}
    cmd = [sys.executable, "-m", "tuner.study", "--study", NAME, *STUDY_ARGS]
    mark = tmp_path / "sampled.mark"
    proc = subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env=_env(suites, TUNER_FAULT_POINT="objective.sampled:3:sleep=3",
                                     TUNER_FAULT_MARK=str(mark), **hb))
    db = tmp_path / "studies" / f"{NAME}.db"
    try:
        # Trial 2's parameters are sampled and its main thread sleeps: pause it there,
        # outside a write of its heartbeat thread (a process paused inside a SQLite write
        # transaction holds the database's write lock: no other worker could write).
        _wait_for(mark.is_file, "trial 2's parameters to be sampled")
        _stop_outside_a_write(proc.pid, db)
        time.sleep(3.5)  # past the 2 s grace: the heartbeat is stale
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            storage = optuna.storages.RDBStorage(f"sqlite:///{db}", heartbeat_interval=1, grace_period=2,
                                                 heartbeat_stale_trial_callback=StaleTrialRetry(len(KNOB_NAMES)))
            other = optuna.load_study(study_name=NAME, storage=storage)
            optuna.storages.fail_stale_trials(other)
        assert other.get_trials(deepcopy=False)[2].state.name == "FAIL"
        os.kill(proc.pid, signal.SIGCONT)
        _, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGCONT)
            proc.kill()
    assert proc.returncode == 1, err
    assert "Traceback" not in err and "Cannot tell" not in err, err
    lines = err.strip().splitlines()
    assert lines[-2].startswith("python -m tuner.study: error: trial 2 was declared dead and taken over"), err
    assert lines[-1].strip().startswith("python -m tuner.study --study rel"), err
    resumed = run_cli("tuner.study", lines[-1].split()[3:], tmp_path, env={"TUNER_SUITES_DIR": str(suites)})
    assert resumed.returncode == 0, resumed.stderr
    assert_same_as_reference(load(tmp_path, NAME), reference)


@pytest.fixture(scope="module")
def promoted(tmp_path_factory: pytest.TempPathFactory, suites: Path) -> Path:
    """A small study and its promotion (for the promote and reproduce signal cases)."""
    cwd = tmp_path_factory.mktemp("promoted")
    # Made through the fault wrappers (which pass through without TUNER_FAULT): the
    # record names the binaries' digests and reproduce refuses other binaries, so the
    # evidence must come from the same wrappers the signal cases run.
    wrappers = {"TUNER_BIN_DIR": fault_env(cwd, "", "none")["TUNER_BIN_DIR"]}
    r = study(cwd, NAME, suites, env=wrappers, args=PROMOTE_STUDY_ARGS)
    assert r.returncode == 0, r.stderr
    (cwd / "budgets.yaml").write_text(BUDGETS)
    r = run_cli("tuner.promote", ["--study", NAME, "--budgets", "budgets.yaml", "--out-dir", "out"], cwd, env=wrappers)
    assert r.returncode == 0, r.stderr
    return cwd


def _gone(pid: int) -> bool:
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return True
    return False


SIGNAL_CASES = [
    ("promote-sigterm", "tuner.promote", "verify-evidence-tree:1:hang", signal.SIGTERM, "sim_eval"),
    ("promote-ctrl-c", "tuner.promote", "verify-evidence-tree:1:hang", signal.SIGINT, "sim_eval"),
    ("reproduce-sigterm", "tuner.reproduce", "monte_carlo:1:hang", signal.SIGTERM, "monte_carlo"),
    ("reproduce-ctrl-c", "tuner.reproduce", "monte_carlo:1:hang", signal.SIGINT, "monte_carlo"),
]


@pytest.mark.parametrize("cli,fault,sig,child", [c[1:] for c in SIGNAL_CASES], ids=[c[0] for c in SIGNAL_CASES])
def test_an_interrupted_promote_or_reproduce_stops_its_child_and_says_so(
    promoted: Path, tmp_path: Path, cli: str, fault: str, sig: int, child: str
) -> None:
    env = fault_env(tmp_path, fault, "sig")
    if cli == "tuner.promote":
        args = ["--study", NAME, "--storage", f"sqlite:///{promoted / 'studies' / (NAME + '.db')}",
                "--budgets", str(promoted / "budgets.yaml"), "--out-dir", str(tmp_path / "out")]
    else:
        record = next((promoted / "out").glob("*/PROMOTION_RECORD.json"))
        args = [str(record), "--output-dir", str(tmp_path / "rerun")]
    base = {k: v for k, v in os.environ.items() if not k.startswith(("PARAPHINA_", "TUNER_"))}
    proc = subprocess.Popen([sys.executable, "-m", cli, *args], cwd=promoted, env={**base, **env},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    pid_file = Path(env["TUNER_FAULT_DIR"]) / "hung.pid"
    try:
        def hung_or_exited() -> bool:
            if proc.poll() is not None:
                raise AssertionError(f"{cli} exited ({proc.returncode}) before its child hung: {proc.stderr.read() if proc.stderr else ''}")
            return pid_file.is_file()

        _wait_for(hung_or_exited, "the hanging child")
        time.sleep(0.3)
        hung = int(pid_file.read_text())
        os.kill(proc.pid, sig)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "Traceback" not in err, err
    line = err.strip().splitlines()[-1]
    assert f"interrupted; stopped {child} (pid {hung})" in line, err
    _wait_for(lambda: _gone(hung), "the child to be gone", timeout=10)
    assert not list((tmp_path / "out").glob("*/PROMOTION_RECORD.json")), "an interrupted promotion wrote a tier"

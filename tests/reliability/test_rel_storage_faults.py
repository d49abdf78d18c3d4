"""The study directory fills up or turns read-only during a trial; a binary hangs.

How each fault is made (no mocks: the real programs meet real errors from the kernel):

- disk full, real: the study directory (or the database and the study directory) on a
  small tmpfs (128 KiB or 1 MiB; ``mount -t tmpfs``, needs the privilege to mount; skipped with the reason
  where that is refused), made larger afterwards (``remount,size=64m``) to resume;
- read-only: the whole study directory is made immutable (``chattr -R +i``) just before
  a trial's simulator process runs; root ignores permission bits, so as root ``chmod`` would not do
  (``chmod -R a-w`` is used when not root);
- hang: the wrapper sleeps for an hour in place of the binary.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from e2e import counted, load
from reliab import assert_same_as_reference, check_consistent, fault_env, integrity, study

NAME = "rel"


def _unfreeze(path: Path) -> None:
    if os.geteuid() == 0:
        subprocess.run(["chattr", "-R", "-i", str(path)], check=False, capture_output=True)
    subprocess.run(["chmod", "-R", "u+w", str(path)], check=False, capture_output=True)


def _one_error_then_resume_command(stderr: str, *fragments: str) -> str:
    assert "Traceback" not in stderr, stderr
    errors = [ln for ln in stderr.splitlines() if "error:" in ln]
    assert len(errors) == 1, stderr
    for f in fragments:
        assert f in errors[0], errors[0]
    assert "resume with:" in stderr
    return errors[0]


def test_the_study_directory_turns_read_only_the_study_stops_cleanly_and_resumes(
    tmp_path: Path, suites: Path, reference: dict[str, Any]
) -> None:
    sdir = tmp_path / "studies" / NAME
    sdir.mkdir(parents=True)
    env = {**fault_env(tmp_path, "trial:2:readonly", "ro"), "TUNER_FAULT_RO_DIR": str(sdir)}
    try:
        r = study(tmp_path, NAME, suites, env=env)
        # A clean stop: status 1, one error line naming the directory and the reason,
        # the command that resumes, no traceback.
        assert r.returncode == 1, r.stderr
        why = "Operation not permitted" if os.geteuid() == 0 else "Permission denied"
        _one_error_then_resume_command(r.stderr, "cannot write in the study directory", why)
        s = check_consistent(tmp_path / "studies" / f"{NAME}.db", NAME)
        assert [t.state.name for t in counted(s)] == ["COMPLETE"]
        stopped = [t for t in s.get_trials() if t.number == 1][0]
        assert stopped.state.name == "FAIL" and stopped.user_attrs["interrupted"] is True
        assert why in stopped.user_attrs["failure"]["reason"]
    finally:
        _unfreeze(sdir)
    resumed = study(tmp_path, NAME, suites)
    assert resumed.returncode == 0, resumed.stderr
    assert_same_as_reference(load(tmp_path, NAME), reference)


@pytest.fixture
def small_tmpfs(tmp_path: Path) -> Any:
    """Mounts a small tmpfs (1 MiB unless ``size``) at a given directory (made larger
    with ``remount``)."""
    mounted: list[Path] = []

    def mount(at: Path, size: str = "1m") -> Path:
        at.mkdir(parents=True, exist_ok=True)
        if shutil.which("mount") is None:
            pytest.skip("no mount command: a real full filesystem cannot be made here")
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(at)], capture_output=True, text=True)
        if r.returncode != 0:
            pytest.skip(f"cannot mount a small tmpfs here ({r.stderr.strip()}); the /dev/full and read-only "
                        "cases cover the same code paths")
        mounted.append(at)
        return at

    yield mount
    for at in mounted:
        subprocess.run(["umount", "-l", str(at)], check=False)


@pytest.mark.parametrize("full", ["study-directory", "database-and-study-directory"])
def test_the_disk_fills_up_the_study_stops_cleanly_and_resumes_once_there_is_room(
    tmp_path: Path, suites: Path, reference: dict[str, Any], small_tmpfs: Any, full: str
) -> None:
    """Real ENOSPC: only the trial artifacts on the small filesystem, or the SQLite
    database too (whichever write fails first, trial artifact or database commit)."""
    # Compact trials (8 files, a few KB each at these settings): 128 KiB hold about three of
    # them; with the database beside them 1 MiB fills first with the database's pages.
    mnt = (small_tmpfs(tmp_path / "studies" / NAME, "128k") if full == "study-directory"
           else small_tmpfs(tmp_path / "studies"))
    r = study(tmp_path, NAME, suites)
    assert r.returncode == 1, r.stderr
    line = _one_error_then_resume_command(r.stderr, "error: cannot write")
    assert "No space left on device" in line or "database or disk is full" in line, line
    db = tmp_path / "studies" / f"{NAME}.db"
    s = check_consistent(db, NAME)
    done = counted(s)
    assert 1 <= len(done) < 6 and all(t.state.name == "COMPLETE" for t in done)
    # Room again (the same mount, made larger), then the same command.
    subprocess.run(["mount", "-o", "remount,size=64m", str(mnt)], check=True)
    resumed = study(tmp_path, NAME, suites)
    assert resumed.returncode == 0, resumed.stderr
    assert integrity(db) == "ok"
    assert_same_as_reference(load(tmp_path, NAME), reference)


def test_the_outputs_cannot_be_written_the_error_says_the_trials_are_safe(tmp_path: Path, suites: Path) -> None:
    """Every trial done, then the study directory turns read-only (while the study's
    root pack is written): no traceback, one error line, every trial stored."""
    sdir = tmp_path / "studies" / NAME
    sdir.mkdir(parents=True)
    env = {**fault_env(tmp_path, "write-evidence-pack:1:readonly", "ro"), "TUNER_FAULT_RO_DIR": str(sdir)}
    try:
        r = study(tmp_path, NAME, suites, env=env)
        assert r.returncode == 1, r.stderr
        _one_error_then_resume_command(r.stderr, "cannot write the study outputs", "every trial is stored")
        assert len(counted(load(tmp_path, NAME))) == 6
    finally:
        _unfreeze(sdir)


HANGS = [
    ("trial-first", "trial:1:hang", 0),
    ("trial-later", "trial:4:hang", 3),
]


@pytest.mark.parametrize("fault,trial", [(h[1], h[2]) for h in HANGS], ids=[h[0] for h in HANGS])
def test_a_hanging_binary_is_ended_by_the_command_timeout_and_the_trial_fails(
    tmp_path: Path, suites: Path, fault: str, trial: int
) -> None:
    fenv = fault_env(tmp_path, fault, "h")
    r = study(tmp_path, NAME, suites, env=fenv, extra=["--command-timeout", "2"], timeout=120)
    assert r.returncode == 0, r.stderr
    trials = counted(load(tmp_path, NAME))
    assert [t.number for t in trials if t.state.name == "FAIL"] == [trial]
    failure = trials[trial].user_attrs["failure"]
    assert "timed out after 2.0 s" in failure["command"] and fault.split(":")[0] in failure["command"]
    pid = int((Path(fenv["TUNER_FAULT_DIR"]) / "hung.pid").read_text())
    assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text().lower(), \
        "the hung process is still running"

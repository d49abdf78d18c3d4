"""SIGTERM (``kill``, a scheduler stopping a job) and SIGINT (Ctrl-C) at several moments.

The study must exit with status 130, say where the study is stored and print the exact
command that resumes it, leave no trial RUNNING (the interrupted one is stored FAIL and
flagged, so it is retried and not counted), and the printed command must finish the
study exactly as an uninterrupted run would.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import pytest

from e2e import load, run_cli
from reliab import assert_same_as_reference, check_consistent, fault_env, study

NAME = "rel"

SIGNAL_POINTS = [
    ("term-in-trial", "trial:3:term_parent"),
    ("int-in-trial", "trial:2:int_parent"),
    ("term-while-sampling", {"TUNER_FAULT_POINT": "objective.sampled:2:term"}),
    ("int-between-user-attrs", {"TUNER_FAULT_POINT": "objective.attrs:5:int"}),
    ("int-between-trials", {"TUNER_FAULT_POINT": "worker.after_trial:3:int"}),
    ("term-writing-outputs", {"TUNER_FAULT_POINT": "reports.outputs:1:term"}),
]


@pytest.mark.parametrize("how", [p[1] for p in SIGNAL_POINTS], ids=[p[0] for p in SIGNAL_POINTS])
def test_sigterm_and_ctrl_c_leave_the_storage_consistent_and_say_how_to_resume(
    tmp_path: Path, suites: Path, reference: dict[str, Any], how: Any
) -> None:
    env = dict(how) if isinstance(how, dict) else fault_env(tmp_path, how, "sig")
    r = study(tmp_path, NAME, suites, env=env)
    assert r.returncode == 130, r.stderr
    assert "Traceback" not in r.stderr
    lines = r.stderr.splitlines()
    at = next((i for i, ln in enumerate(lines) if ln.startswith("interrupted: the study is saved in")), None)
    assert at is not None, r.stderr
    assert "sqlite:///studies/rel.db" in lines[at] and lines[at].endswith("resume with:")
    command = shlex.split(lines[at + 1])
    assert command[:3] == ["python", "-m", "tuner.study"], lines[at + 1]

    db = tmp_path / "studies" / f"{NAME}.db"
    s = check_consistent(db, NAME)
    assert not [t.number for t in s.get_trials() if t.state.name == "RUNNING"], "a trial was left RUNNING"

    # The printed command, as printed (python -m tuner.study ...), finishes the study.
    resumed = run_cli(command[2], command[3:], tmp_path, env={"TUNER_SUITES_DIR": str(suites)})
    assert resumed.returncode == 0, resumed.stderr
    assert_same_as_reference(load(tmp_path, NAME), reference)
    assert (tmp_path / "studies" / NAME / "pareto.json").is_file()


def test_the_resume_command_is_printed_exactly_as_given(tmp_path: Path, suites: Path) -> None:
    """Arguments with spaces and quotes come back shell-quoted, so the printed line can
    be pasted as it is."""
    space = tmp_path / "my search space.yaml"
    space.write_text((Path(__file__).resolve().parents[2] / "configs" / "search_space.yaml").read_text())
    env = {"TUNER_FAULT_POINT": "worker.after_trial:1:int"}
    r = study(tmp_path, NAME, suites, env=env, extra=["--search-space", str(space)])
    assert r.returncode == 130, r.stderr
    line = r.stderr.splitlines()[-1].strip()
    assert shlex.split(line)[-2:] == ["--search-space", str(space)], line

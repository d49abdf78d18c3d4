"""SIGKILL at many moments of a study, then the same command again.

Each case kills the study process (``kill -9``: no handler runs) at one deterministic
point, either from inside the product (``tuner._faults.checkpoint``, variable
``TUNER_FAULT_POINT``) or from a wrapper binary standing in for ``monte_carlo`` or a
``sim_eval`` subcommand (``tests/faultbin.py``, variable ``TUNER_FAULT``). The same
command is then run again, without any fault. In the end the study must hold exactly
N counted trials, no completed trial lost or duplicated, the same parameters, values
and Pareto front as the uninterrupted reference run, and a study directory whose
evidence verifies.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from e2e import counted, load, real_bin
from reliab import STUDY_ARGS, assert_same_as_reference, check_consistent, fault_env, study

NAME = "rel"

#: (id, how the kill is injected, what the moment is)
KILL_POINTS = [
    ("sampling", {"TUNER_FAULT_POINT": "objective.sampled:3"}, "parameters of trial 2 sampled, nothing else stored"),
    ("trial-created", {"TUNER_FAULT_POINT": "worker.trial_created:2"},
     "trial 1 created by Optuna, its owner not yet recorded"),
    ("trial-dir-written", {"TUNER_FAULT_POINT": "objective.prepared:3"},
     "trial 2: its directory and candidate.env written, its simulator process not started"),
    ("in-trial", "trial:2:kill_parent", "while sim_eval trial (Monte Carlo, suites, evidence) runs for trial 1"),
    ("after-trial", "trial:4:kill_parent_after",
     "trial 3 simulated, its evidence written and verified, no metric stored yet"),
    ("between-user-attrs", {"TUNER_FAULT_POINT": "objective.attrs:4"},
     "trial 3: its document read, none of its result's attributes (one transaction) stored yet"),
    ("scored-not-told", {"TUNER_FAULT_POINT": "objective.scored:5"},
     "trial 4: every attribute and the constraint stored, state still RUNNING"),
    ("between-trials", {"TUNER_FAULT_POINT": "worker.after_trial:2"}, "trial 1 stored COMPLETE, trial 2 not created"),
    ("writing-outputs", {"TUNER_FAULT_POINT": "reports.outputs:1"},
     "all trials done; trials.jsonl written, pareto.json/csv, plots, root pack not"),
    ("in-study-root-pack", "write-evidence-pack:1:kill_parent", "while the study directory's root pack is written"),
]


def _env(cwd: Path, how: Any, tag: str) -> dict[str, str]:
    return dict(how) if isinstance(how, dict) else fault_env(cwd, how, tag)


def _completed(s: Any) -> dict[int, tuple[str, tuple[float, ...]]]:
    return {t.number: (t.user_attrs["candidate_id"], tuple(t.values)) for t in counted(s) if t.state.name == "COMPLETE"}


def _study_tree_verifies(cwd: Path) -> None:
    out = subprocess.run([real_bin() / "sim_eval", "verify-evidence-tree", cwd / "studies" / NAME],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.parametrize("how", [p[1] for p in KILL_POINTS], ids=[p[0] for p in KILL_POINTS])
def test_sigkill_then_same_command_gives_the_uninterrupted_study(
    tmp_path: Path, suites: Path, reference: dict[str, Any], how: Any
) -> None:
    killed = study(tmp_path, NAME, suites, env=_env(tmp_path, how, "k"))
    assert killed.returncode == -9, killed.stderr
    db = tmp_path / "studies" / f"{NAME}.db"
    before = _completed(check_consistent(db, NAME))

    resumed = study(tmp_path, NAME, suites, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    assert "Traceback" not in resumed.stderr
    s = check_consistent(db, NAME)
    after = _completed(s)
    assert {n: after.get(n) for n in before} == before, "a completed trial was lost or changed"
    assert_same_as_reference(s, reference)
    _study_tree_verifies(tmp_path)
    assert (tmp_path / "studies" / NAME / "pareto.json").is_file()


def test_killed_again_and_again_the_same_command_still_converges(
    tmp_path: Path, suites: Path, reference: dict[str, Any]
) -> None:
    """One study, killed at four moments in a row (each restart is the same command),
    then left to finish."""
    legs = [
        {"TUNER_FAULT_POINT": "objective.sampled:2"},
        "trial:2:kill_parent",
        {"TUNER_FAULT_POINT": "objective.scored:1"},
        "trial:1:kill_parent_after",
    ]
    db = tmp_path / "studies" / f"{NAME}.db"
    seen: dict[int, tuple[str, tuple[float, ...]]] = {}
    for i, how in enumerate(legs):
        r = study(tmp_path, NAME, suites, env=_env(tmp_path, how, f"leg{i}"))
        assert r.returncode == -9, (i, r.stderr)
        now = _completed(check_consistent(db, NAME))
        assert {n: now.get(n) for n in seen} == seen, f"leg {i}: a completed trial was lost or changed"
        seen = now
    assert len(seen) < 6
    final = study(tmp_path, NAME, suites, timeout=120)
    assert final.returncode == 0, final.stderr
    s = load(tmp_path, NAME)
    assert_same_as_reference(s, reference)
    _study_tree_verifies(tmp_path)


def test_two_restarts_at_once_retry_an_interrupted_trial_only_once(tmp_path: Path, suites: Path) -> None:
    """Two copies of the resume command started together (two terminals, or a scheduler
    retrying): the interrupted trial must be retried once, not once per process. The
    second is refused (one process per SQLite study) while the first runs."""
    r = study(tmp_path, NAME, suites, env={"TUNER_FAULT_POINT": "objective.sampled:3:int"})
    assert r.returncode == 130, r.stderr
    base = {k: v for k, v in os.environ.items() if not k.startswith(("PARAPHINA_", "TUNER_"))}
    base["TUNER_SUITES_DIR"] = str(suites)
    cmd = [sys.executable, "-m", "tuner.study", "--study", NAME, *STUDY_ARGS]
    # The first pauses between reading the trials and retrying the interrupted one.
    first = subprocess.Popen(cmd, cwd=tmp_path, env={**base, "TUNER_FAULT_POINT": "recovery.scanned:1:sleep=3"},
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    time.sleep(1.5)
    second = subprocess.Popen(cmd, cwd=tmp_path, env=base, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    errs = [p.communicate(timeout=180)[1] for p in (first, second)]
    assert first.returncode == 0, errs
    assert second.returncode == 2 and "is being run by another process" in errs[1], errs
    s = load(tmp_path, NAME)
    retries = [t.number for t in s.get_trials() if t.system_attrs.get("failed_trial") == 2]
    assert len(retries) == 1, f"trial 2 retried {len(retries)} times: {retries}"
    assert len(counted(s)) == 6
    ids = [t.user_attrs["candidate_id"] for t in counted(s) if t.state.name == "COMPLETE"]
    assert len(ids) == len(set(ids)), "a completed trial is duplicated"

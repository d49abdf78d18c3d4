"""Helpers shared by the reliability suite (``tests/reliability``).

Every test here runs the real command-line programs as subprocesses against real
SQLite files and the real simulator binaries (or the fault-injecting wrappers of
``tests/faultbin.py``), with small settings: 6 trials of 20 runs x 150 ticks,
NSGA-II population 4, and a copy of the suites whose adversarial limits are 1.5 times
looser, so that trials are feasible, the Pareto front is not empty and promotion has
winners (tiers differ: the conservative winner is not the balanced one).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import optuna
import yaml

from e2e import FAST, counted, load, real_bin, run_cli, signature
from faultbin import make_fault_bin
from tuner.names import KNOB_NAMES, candidate_id
from tuner.record import is_feasible
from tuner.config.paths import REPO_ROOT

TRIALS = 6
#: Seed 7: its 6-trial front has four feasible members spread over risk and return (seed
#: 42's has two, one dominating the other on everything the tiers gate), so each tier has
#: its own winner. Scan: seeds 1-8 in docs/RELIABILITY.md's set-up note.
SEED = 7
STUDY_ARGS = ["--trials", str(TRIALS), "--population", "4", "--seed", str(SEED), "--no-promote", *FAST]

#: The studies the promotion cases promote (tuner.promote decides on confirmation
#: evidence: 200 fresh runs, 2 fresh seeds per suite scenario, tests/e2e.py). Seed 7's
#: 6-trial front looks good on its 20 search runs but not on fresh ones (its best
#: candidate, pnl_mean 76.7 / dd_cvar 71.0 on the search's seeds, has 26.7 / 546 on 200
#: fresh runs, and the other three a negative mean), so no tier could promote two
#: candidates. Seed 11 with 16 trials has five front members, three of which hold up.
PROMOTE_TRIALS = 16
PROMOTE_SEED = 11
PROMOTE_STUDY_ARGS = ["--trials", str(PROMOTE_TRIALS), "--population", "4", "--seed", str(PROMOTE_SEED),
                      "--no-promote", *FAST]

#: Budgets with reachable tiers and different winners per tier for the PROMOTE_STUDY_ARGS
#: study, read from its confirmation (pnl_mean / pnl_lcb / dd_cvar upper bound, at
#: alpha/5): 4abdfa4d6645 33.5 / 9.4 / 552, 78eafce2b6be and aaf08ec0c723 18.5 / 8.1 /
#: ~280, d039423d670b 17.6 / -0.6 / 444, a1e3c8f0330a 15.1 / -3.4 / 420 (all five pass every
#: tier on search evidence, so K = 5). Conservative (dd <= 300) takes one of the 18.5
#: pair, balanced (dd <= 600) and aggressive 4abdfa4d6645. A scenario may fail on fresh
#: seeds (max_scenario_failure_rate 1.0): with 2 fresh seeds no Clopper-Pearson bound is
#: below 0.9; these cases are about faults, the suite gate is tested elsewhere. A change
#: to the simulator or the search that moves these numbers needs these limits re-read.
BUDGETS = """\
alpha: 0.05
tiers:
  conservative: {max_kill_ucb: 0.2, max_dd_cvar: 300.0, min_pnl_lcb_usd: 5.0, max_scenario_failure_rate: 1.0}
  balanced:     {max_kill_ucb: 0.2, max_dd_cvar: 600.0, min_pnl_lcb_usd: 5.0, max_scenario_failure_rate: 1.0}
  aggressive:   {max_kill_ucb: 0.2, max_dd_cvar: 1000.0, min_pnl_lcb_usd: 5.0, max_scenario_failure_rate: 1.0}
"""


def lenient_suites(dest: Path) -> Path:
    """A copy of ``scenarios/`` whose adversarial limits are 1.5 times looser; returns
    the suites directory (for ``TUNER_SUITES_DIR``)."""
    copy = dest / "scenarios"
    if not copy.exists():
        shutil.copytree(REPO_ROOT / "scenarios", copy)
        path = copy / "suites" / "adversarial_regression_v1.yaml"
        data = yaml.safe_load(path.read_text())
        for entry in data["scenarios"]:
            inv = entry.get("invariants") or {}
            for key in ("max_drawdown_usd", "min_final_pnl_usd"):
                if key in inv:
                    inv[key] = inv[key] * 1.5
        path.write_text(yaml.safe_dump(data, sort_keys=False))
    return copy / "suites"


def study(
    cwd: Path, name: str, suites: Path, env: Mapping[str, str] | None = None, extra: Sequence[str] = (),
    timeout: float = 300, args: Sequence[str] = STUDY_ARGS,
) -> subprocess.CompletedProcess[str]:
    """``python -m tuner.study --study NAME`` with the reliability settings (``args``:
    :data:`STUDY_ARGS`, or :data:`PROMOTE_STUDY_ARGS` for a study to promote)."""
    full = {"TUNER_SUITES_DIR": str(suites), **(env or {})}
    return run_cli("tuner.study", ["--study", name, *args, *extra], cwd, env=full, timeout=timeout)


def fault_env(cwd: Path, fault: str, tag: str) -> dict[str, str]:
    """Environment for one run through the fault-injecting wrappers (``TUNER_FAULT``)."""
    fdir = cwd / f"faults_{tag}"
    fdir.mkdir(parents=True, exist_ok=True)
    fbin = make_fault_bin(cwd / "fbin", real_bin())
    return {"TUNER_BIN_DIR": str(fbin), "TUNER_FAULT": fault, "TUNER_FAULT_DIR": str(fdir)}


def front(s: optuna.Study) -> list[tuple[str, tuple[float, ...]]]:
    """The feasible Pareto front as sorted (candidate id, objective values)."""
    return sorted((t.user_attrs["candidate_id"], tuple(t.values)) for t in s.best_trials if is_feasible(t))


def db_content(path: Path) -> list[str]:
    """The logical content of a SQLite file (its SQL dump), WAL included."""
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return list(con.iterdump())
    finally:
        con.close()


def integrity(path: Path) -> str:
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return con.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        con.close()


def tree_digest(root: Path, skip_suffixes: tuple[str, ...] = ("-wal", "-shm", ".lock")) -> dict[str, str]:
    """Relative path -> sha256 of every file below ``root`` (symlinks by their target).
    SQLite's -wal/-shm and the ``flock`` files beside the database (which hold the
    running process's pid) are runtime files, not content."""
    out: dict[str, str] = {}
    if not root.exists():
        return out
    for p in sorted(root.rglob("*")):
        if p.name.endswith(skip_suffixes):
            continue
        rel = str(p.relative_to(root))
        if p.is_symlink():
            out[rel] = "-> " + os.readlink(p)
        elif p.is_file():
            out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def check_consistent(db: Path, name: str) -> optuna.Study:
    """The storage after an interruption: the file is sound, no trial is left half-told
    in a way a resume could not repair, and finished trials are whole."""
    assert integrity(db) == "ok"
    s = load(db.parent.parent, name)
    for t in counted(s):
        if t.state.name == "COMPLETE":
            for key in ("candidate_id", "metrics", "overlay", "suites", "evidence", "run", "evidence_verified"):
                assert key in t.user_attrs, (t.number, key)
            assert t.constraints, t.number
    return s


def assert_same_as_reference(s: optuna.Study, ref: dict[str, Any]) -> None:
    """Exactly N counted trials, no completed trial lost or duplicated, and the same
    trials, parameters and Pareto front as the uninterrupted reference run."""
    trials = counted(s)
    assert len(trials) == TRIALS
    assert not [t for t in s.get_trials(deepcopy=False) if t.state.name in ("RUNNING", "WAITING")]
    assert signature(s) == ref["signature"]
    assert [t.params for t in trials] == ref["params"]
    ids = [t.user_attrs["candidate_id"] for t in trials if t.state.name == "COMPLETE"]
    assert len(ids) == len(set(ids)), "a completed trial is duplicated"
    assert front(s) == ref["front"]
    # Each counted trial has its own evidence directory, named after it.
    for t in trials:
        assert Path(t.user_attrs["trial_dir"]).name == f"trial_{t.number:04d}_{t.user_attrs['candidate_id']}"


def run_promote(
    cwd: Path, name: str, out: Path, budgets: Path, env: Mapping[str, str] | None = None, extra: Sequence[str] = (),
) -> subprocess.CompletedProcess[str]:
    return run_cli("tuner.promote", ["--study", name, "--budgets", str(budgets), "--out-dir", str(out), *extra],
                   cwd, env=env)


def read_env(path: Path) -> dict[str, str]:
    overlay: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("export "):
            k, v = line[len("export "):].split("=", 1)
            overlay[k] = v
    return overlay


def check_presets(out: Path, *, killed: bool = False) -> dict[str, dict[str, Any]]:
    """Every tier directory holds either nothing, or complete presets: each visible
    ``.env`` has the seven knobs, the record parses, names an ``.env`` that exists,
    whose sha256 is the record's ``candidate_hash`` and whose knobs give the record's
    ``candidate_id``; no temporary file is visible as a preset. Returns the records.

    ``killed``: right after a promoter was killed, files its manifest
    (``<out>/.promotion.pending``, whole and parseable) lists as created may be visible
    without a record naming them: removing the manifest is the commit point, and the
    next promotion removes such uncommitted files."""
    records: dict[str, dict[str, Any]] = {}
    if not out.exists():
        return records
    manifest = out / ".promotion.pending"
    planned: dict[str, Any] = {}
    if manifest.exists():
        assert killed, f"{manifest} left behind"
        planned = json.loads(manifest.read_text())["tiers"]
    for tier_dir in sorted(p for p in out.iterdir() if p.is_dir()):
        envs = sorted(tier_dir.glob("*.env"))
        for env in envs:
            assert not env.name.startswith("."), env
            overlay = read_env(env)
            assert set(overlay) == set(KNOB_NAMES), (env, overlay)
            assert "# Promoted configuration" in env.read_text().splitlines()[0], env
        names = {p.name for p in tier_dir.iterdir()}
        visible = {n for n in names if not n.startswith(".")}
        own = {p.name for p in tier_dir.glob("*.record.json")}
        reports = {p.name for p in tier_dir.glob("*.report.html")}
        assert visible <= {e.name for e in envs} | own | reports | {"PROMOTION_RECORD.json", "history.jsonl"}, visible
        uncommitted = set((planned.get(tier_dir.name) or {}).get("created") or [])
        for name in own - uncommitted:
            rec = json.loads((tier_dir / name).read_text())
            assert (tier_dir / rec["env_file"]).is_file(), f"{name} names a missing preset"
        record_path = tier_dir / "PROMOTION_RECORD.json"
        if not record_path.exists():
            assert {e.name for e in envs} <= uncommitted, f"{tier_dir}: preset {[e.name for e in envs]} without its record"
            continue
        record = json.loads(record_path.read_text())
        env = tier_dir / record["env_file"]
        assert env.is_file(), f"{record_path} names {env.name}, which is missing"
        assert hashlib.sha256(env.read_bytes()).hexdigest() == record["candidate_hash"]
        assert candidate_id(read_env(env)) == record["candidate_id"] == candidate_id(record["env_overlay"])
        assert record["tier"] == tier_dir.name
        records[tier_dir.name] = record
    return records

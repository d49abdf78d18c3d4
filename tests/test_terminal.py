"""What the terminal says is for people: ``tuner.show`` with units, rounded numbers,
Pareto rank, tier passes, reasons and retry links (``--json`` with parameters),
``--trial N`` with time zones, named statistics and a command to paste; progress lines
that fit the terminal with an ETA in hours and minutes; a smoke run that ends with its
verdict; help for every flag; files created with the user's umask; shell-quoted
commands in promotion records; the licence and the Rust version."""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import os
import re
import shlex
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import optuna
import pytest
from e2e import run_cli
from fakestudy import INFEASIBLE, make_study

from tuner._io import write_atomic
from tuner.config.budgets import load_budgets
from tuner.config.paths import DEFAULT_BUDGETS, REPO_ROOT
from tuner.names import KNOB_NAMES
from tuner.promotion.decision import candidate_from_trial
from tuner.promotion.provenance import build_record
from tuner.promotion.verify import Verification
from tuner.record import METRIC_DOCS, metrics_from_summary
from tuner.search.progress import Progress, duration
from tuner.session.storage import parse_storage

LONG_FLOAT = re.compile(r"\d\.\d{6,}")


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("terminal")
    make_study(root)
    return root


def _show(root: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    r = run_cli("tuner.show", ["--study", "fake", *args], root, env=env)
    assert r.returncode == 0, r.stderr
    return r


def test_the_list_has_units_ranks_tiers_reasons_and_retry_links_and_fits_the_terminal(root: Path) -> None:
    r = _show(root, env={"COLUMNS": "120"})
    lines = r.stdout.splitlines()
    assert lines[0].split()[:9] == ["trial", "state", "rank", "pnl_mean", "pnl_lcb", "kill_ucb", "dd_cvar", "tiers",
                                    "profile"]
    assert lines[1].split() == ["USD", "USD", "prob.", "USD"]
    assert all(len(line) <= 120 for line in lines)
    rows: dict[int, str] = {}
    for line in lines[2:]:  # a trial's line, then its note ("↳ ...") on the next one
        if line.lstrip().startswith("↳"):
            rows[last] += "\n" + line
        else:
            last = int(line.split()[0])
            rows[last] = line
    assert len(rows) == 7 and not LONG_FLOAT.search(r.stdout)
    assert rows[1].split()[2] == "1" and "C B A" in rows[1] and "↳" not in rows[1]  # front, tiers passed
    assert rows[4].split()[2] == "2"
    for n in INFEASIBLE:
        assert rows[n].split()[2] == "-" and "↳ infeasible: " in rows[n] and "suite check" in rows[n]
    assert "↳ interrupted while running; retried as trial 5" in rows[3]
    assert rows[5].endswith("; retry of trial 3")
    assert all(len(line) <= 80 for line in _show(root, env={"COLUMNS": "80"}).stdout.splitlines())
    assert "C = conservative, B = balanced, A = aggressive" in r.stderr


def test_json_rows_carry_parameters_links_and_times_with_their_zone(root: Path) -> None:
    rows = json.loads(_show(root, "--json").stdout)
    by = {r["number"]: r for r in rows}
    assert all(set(r["params"]) == set(KNOB_NAMES) for r in rows)
    assert isinstance(by[1]["params"]["PARAPHINA_MM_SIZE_ETA"], float)
    assert by[3]["retried_as"] == 5 and by[5]["retry_of"] == 3
    assert by[0]["reason"].startswith("2 suite checks failed") and by[1]["reason"] is None
    assert by[1]["tiers_passed"] == ["conservative", "balanced", "aggressive"] and by[0]["tiers_passed"] == []
    assert dt.datetime.fromisoformat(by[0]["datetime_start"]).utcoffset() is not None
    front = json.loads(_show(root, "--front", "--json").stdout)
    assert {r["number"] for r in front} == {1, 2}


def test_one_trial_reads_like_a_report_and_ends_with_a_command_to_paste(root: Path) -> None:
    out = _show(root, "--trial", "5", env={"TZ": "Asia/Tokyo"}).stdout
    body, _, command = out.rpartition("\n    ")
    assert "{'" not in out and "'0'" not in out and "suite_failures = 1 failed suite checks" in out
    assert not LONG_FLOAT.search(body), [ln for ln in body.splitlines() if LONG_FLOAT.search(ln)]
    assert re.search(r"started      \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0900 \(JST\)", out)
    assert out.splitlines()[0] == ("trial 5: COMPLETE, INFEASIBLE: 1 suite check failed: research_v1: flash_crash: "
                                   "max drawdown 1812.5 > 1500; retry of trial 3")
    for key, (unit, what) in METRIC_DOCS.items():
        assert re.search(rf"    {key} +\S+ {re.escape(unit)} +{re.escape(what)}", out), key
    assert "VaR 5 % of the final PnL" in out and "pnl_lcb 116.51 USD" in out and "2 of 200 runs killed" in out
    assert "research_v1: FAILED (1 check)" in out
    # The commands as run, quoted so they can be pasted.
    assert "--output-dir 'my studies/fake/trials/trial_0005_" in out
    argv = shlex.split(command)
    assert argv[:2] == ["env", "-i"] and argv[argv.index("--runs") + 1] == "200"
    overlay = dict(a.split("=", 1) for a in argv[2:] if a.startswith("PARAPHINA_"))
    stored = optuna.load_study(study_name="fake", storage=f"sqlite:///{root / 'studies' / 'fake.db'}").trials[5]
    assert overlay == stored.user_attrs["overlay"]
    assert Path(argv[len(overlay) + 2]).name == "monte_carlo" and argv[-3:-1] == ["--output-dir",
                                                                                 f"rerun_trial_0005_{stored.user_attrs['candidate_id']}/mc"]
    failed = _show(root, "--trial", "6").stdout
    assert failed.splitlines()[0] == "trial 6: FAIL: command failed: monte_carlo exited with status 101"
    assert "stderr (last lines):" in failed and "env -i PARAPHINA_RISK_PROFILE=" in failed
    rec = json.loads(_show(root, "--trial", "5", "--json").stdout)
    assert rec["retry_of"] == 3 and rec["reason"].startswith("1 suite check failed") and rec["rerun_command"]
    assert dt.datetime.fromisoformat(rec["datetime_start"]).utcoffset() is not None


def test_durations_are_said_in_hours_and_minutes() -> None:
    assert [duration(s) for s in (0.4, 42, 59.4, 61, 420, 3599, 3600, 7500, 90061)] == [
        "0 s", "42 s", "59 s", "1 min", "7 min", "1 h 00 min", "1 h 00 min", "2 h 05 min", "25 h 01 min"]


def test_progress_lines_fit_the_terminal(root: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    s = optuna.load_study(study_name="fake", storage=f"sqlite:///{root / 'studies' / 'fake.db'}")
    progress = Progress(target=500, done_at_start=0, quiet=False)
    progress.started -= 3 * 3600  # three hours in: the ETA is in hours
    for columns in ("60", "80", "200"):
        monkeypatch.setenv("COLUMNS", columns)
        for t in s.trials:
            progress(s, t)
        lines = capsys.readouterr().err.splitlines()
        assert len(lines) == 7 and all(len(line) <= int(columns) for line in lines), (columns, lines)
        assert all(re.search(r"ETA \d+ h \d\d min", line) for line in lines), lines
    wide = lines
    assert "infeasible (2 suite checks failed), pnl_mean 300.00 kill_ucb 0.0133 dd_cvar 100.0" in wide[0]
    monkeypatch.delenv("COLUMNS")
    progress(s, s.trials[0])  # stderr is not a terminal here: the whole line
    assert capsys.readouterr().err.rstrip().endswith("]")


def test_a_smoke_run_ends_with_its_verdict_and_the_next_command(tmp_path: Path) -> None:
    r = run_cli("tuner.study", ["--smoke"], tmp_path)
    assert r.returncode == 0, r.stderr
    last = r.stdout.strip().splitlines()[-1]
    assert last.startswith("smoke run OK: ") and "a smoke study never does" in last and "too few" in last
    assert last.endswith("Next, a real study: python -m tuner.study --study phaseA --trials 10")
    assert "warning" not in r.stderr and r.stderr.count("note: a smoke run") == 1


def _actions(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [a for a in parser._actions if not isinstance(a, argparse._HelpAction) and a.help != argparse.SUPPRESS]


@pytest.mark.parametrize("name", ["study", "promote", "reproduce", "show", "dashboard"])
def test_every_flag_of_every_command_says_what_it_does(name: str) -> None:
    command = importlib.import_module(f"tuner.{name}")
    parser = command.build_parser()
    for action in _actions(parser):
        words = re.findall(r"[A-Za-z]{2,}", action.help or "")
        assert len(words) >= 4, f"{command.__name__} {action.option_strings or action.dest}: {action.help!r}"
    study_flag = next((a for a in _actions(parser) if "--study" in a.option_strings), None)
    if study_flag is not None:
        assert study_flag.help.startswith("the study"), study_flag.help


@pytest.mark.parametrize("mask", [0o022, 0o002, 0o077])
def test_written_files_get_the_users_umask(tmp_path: Path, mask: int) -> None:
    old = os.umask(mask)
    try:
        write_atomic(tmp_path / "a" / "PROMOTION_RECORD.json", "{}\n")
    finally:
        os.umask(old)
    assert (tmp_path / "a" / "PROMOTION_RECORD.json").stat().st_mode & 0o777 == 0o666 & ~mask


def test_commands_in_a_promotion_record_are_shell_quoted(root: Path) -> None:
    s = optuna.load_study(study_name="fake", storage=f"sqlite:///{root / 'studies' / 'fake.db'}")
    t = s.trials[1]
    budgets = load_budgets(DEFAULT_BUDGETS)
    record = build_record(study=s, spec=parse_storage(f"sqlite:///{root / 'studies' / 'fake.db'}"),
                          tier=budgets.tiers["balanced"], budgets=budgets, t=t, c=candidate_from_trial(t),
                          env_path=root / "x.env", env_sha256="0" * 64, promoted_at=dt.datetime.now(dt.UTC),
                          verification=Verification(True, True, "ok"), allow_unverified=False, tdir=None)
    argv = t.user_attrs["run"]["commands"][0]["argv"]
    assert [shlex.split(c) for c in record["commands_run"]] == [argv]


def test_metric_docs_cover_every_stored_statistic() -> None:
    from fakestudy import _summary  # noqa: PLC0415

    assert set(METRIC_DOCS) == set(metrics_from_summary(_summary(1.0, 1.0, 0, 1.0), 0.05))


def test_the_licence_and_the_rust_version_are_where_a_newcomer_looks() -> None:
    cargo = tomllib.loads((REPO_ROOT / "crates" / "paraphina" / "Cargo.toml").read_text())["package"]
    assert cargo["license"] == "MIT"
    licence = (REPO_ROOT / "LICENSE").read_text()
    assert licence.startswith("MIT License") and "WITHOUT WARRANTY OF ANY KIND" in licence
    readme = (REPO_ROOT / "README.md").read_text()
    assert f"Rust {cargo['rust-version']} or newer" in readme


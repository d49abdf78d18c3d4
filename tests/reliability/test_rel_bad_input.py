"""Bad input, table-driven, through the real command-line programs.

Every case runs one real command (``python -m tuner.study``, ``tuner.promote``,
``tuner.show``, ``tuner.reproduce``, ``monte_carlo`` or ``sim_eval``) in its own
directory holding a copy of an existing study database and a valid promotion record,
and requires: exit status 2; exactly one line on stderr, holding ``error`` and a
fragment that names the problem; no Python traceback; and every file of the directory
(the study database byte for byte, and its logical content) unchanged, with nothing
created.

The cases run concurrently (one module fixture), then each is checked by its own test.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from e2e import FAST, load, real_bin
from reliab import db_content, study, tree_digest
from tuner.config.paths import REPO_ROOT

KEEP = ["--study", "keep", "--trials", "2", "--population", "4", "--no-promote", *FAST]

BUDGET_OK = "alpha: 0.05\ntiers:\n  balanced: {max_kill_ucb: 0.2, max_dd_cvar: 300.0, min_pnl_lcb_usd: 20.0}\n"
SPACE_OK = (REPO_ROOT / "configs" / "search_space.yaml").read_text()


def _budget(line: str) -> str:
    return f"alpha: 0.05\ntiers:\n  balanced: {line}\n"


def _space(old: str, new: str) -> str:
    assert old in SPACE_OK
    return SPACE_OK.replace(old, new)


@dataclass(frozen=True)
class Case:
    id: str
    cli: str
    args: tuple[str, ...]
    fragment: str
    what: str
    env: tuple[tuple[str, str], ...] = ()
    files: tuple[tuple[str, str | bytes], ...] = ()
    prepare: Callable[[Path], None] | None = None
    unreadable: str | None = None
    absent: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _edit_suite(name: str, edit: Callable[[str], str]) -> Callable[[Path], None]:
    def prepare(cwd: Path) -> None:
        shutil.copytree(REPO_ROOT / "scenarios", cwd / "scen")
        path = cwd / "scen" / "suites" / f"{name}.yaml"
        path.write_text(edit(path.read_text()))
    return prepare


def _edit_scenario(name: str, old: str, new: str) -> Callable[[Path], None]:
    def prepare(cwd: Path) -> None:
        shutil.copytree(REPO_ROOT / "scenarios", cwd / "scen")
        path = cwd / "scen" / "v1" / f"{name}.yaml"
        text = path.read_text()
        assert old in text
        path.write_text(text.replace(old, new))
    return prepare


def _drop_suite(name: str) -> Callable[[Path], None]:
    def prepare(cwd: Path) -> None:
        shutil.copytree(REPO_ROOT / "scenarios", cwd / "scen")
        (cwd / "scen" / "suites" / f"{name}.yaml").unlink()
    return prepare


def _record(edit: Callable[[dict[str, Any]], Any]) -> Callable[[Path], None]:
    def prepare(cwd: Path) -> None:
        rec = json.loads((cwd / "record.json").read_text())
        out = edit(rec)
        (cwd / "bad_record.json").write_text(out if isinstance(out, str) else json.dumps(rec))
    return prepare


def _nonempty_dir(cwd: Path) -> None:
    (cwd / "full_dir").mkdir()
    (cwd / "full_dir" / "something").write_text("x\n")


SUITES_COPY = (("TUNER_SUITES_DIR", "scen/suites"),)

CASES: list[Case] = [
    # --- python -m tuner.study: flags -------------------------------------------------
    Case("study-unknown-flag", "tuner.study", (*KEEP, "--bogus"), "unrecognized arguments: --bogus", "unknown flag"),
    Case("study-name-traversal", "tuner.study", (*KEEP, "--study", "../evil"), "contains '/'",
         "path traversal in the study name"),
    Case("study-name-absolute", "tuner.study", (*KEEP, "--study", "/etc/cron.d/x"), "contains '/'",
         "absolute path as study name"),
    Case("study-name-dotdot", "tuner.study", (*KEEP, "--study", ".."), "made of dots only", "study name '..'"),
    Case("study-name-empty", "tuner.study", (*KEEP, "--study", ""), "study name is empty", "empty study name"),
    Case("study-name-too-long", "tuner.study", (*KEEP, "--study", "a" * 200), "has 200 characters",
         "study name of 200 characters"),
    Case("study-name-newline", "tuner.study", (*KEEP, "--study", "a\nb"), "contains '\\n'",
         "line break in the study name"),
    Case("trials-zero", "tuner.study", (*KEEP, "--trials", "0"), "--trials 0: must be at least 1", "--trials 0"),
    Case("trials-text", "tuner.study", (*KEEP, "--trials", "ten"), "--trials 'ten': not an integer",
         "--trials of the wrong type"),
    Case("trials-fraction", "tuner.study", (*KEEP, "--trials", "2.5"), "not an integer", "--trials 2.5"),
    Case("study-mc-runs-negative", "tuner.study", (*KEEP, "--mc-runs", "-5"), "--mc-runs -5: must be at least 1",
         "negative --mc-runs"),
    Case("study-mc-runs-huge", "tuner.study", (*KEEP, "--study", "fresh", "--mc-runs", "99999999999999999999999"),
         "refuses the run settings", "--mc-runs beyond 64 bits (a new study)", extra={"also": "too large"}),
    Case("study-mc-runs-out-of-memory", "tuner.study", (*KEEP, "--study", "fresh", "--mc-runs", "4000000000"),
         "not in 1..=10000000", "--mc-runs whose results would not fit in memory"),
    Case("study-mc-threads-huge", "tuner.study", (*KEEP, "--study", "fresh", "--mc-threads", "70000"),
         "not in 1..=65535", "--mc-threads above the simulator's limit"),
    Case("population-one", "tuner.study", (*KEEP, "--population", "1"), "--population 1: must be at least 2",
         "NSGA-II population of 1"),
    Case("seed-negative", "tuner.study", (*KEEP, "--seed", "-1"), "--seed -1: must be in [0, 2^63)", "negative seed"),
    Case("seed-huge", "tuner.study", (*KEEP, "--seed", str(2**64)), "must be in [0, 2^63)", "seed of 2^64"),
    Case("seed-nan", "tuner.study", (*KEEP, "--seed", "nan"), "invalid int value: 'nan'", "seed NaN"),
    Case("timeout-nan", "tuner.study", (*KEEP, "--timeout", "nan"), "--timeout nan: must be a positive number",
         "--timeout NaN"),
    Case("timeout-inf", "tuner.study", (*KEEP, "--timeout", "inf"), "--timeout inf", "--timeout infinity"),
    Case("timeout-negative", "tuner.study", (*KEEP, "--timeout", "-3"), "--timeout -3.0", "negative --timeout"),
    Case("command-timeout-zero", "tuner.study", (*KEEP, "--command-timeout", "0"), "--command-timeout 0.0",
         "--command-timeout 0"),
    Case("command-timeout-overflow", "tuner.study", (*KEEP, "--command-timeout", "1e400"), "--command-timeout inf",
         "--command-timeout 1e400 (overflows to infinity)"),
    Case("sampler-unknown", "tuner.study", (*KEEP, "--sampler", "cmaes"), "invalid choice: 'cmaes'",
         "unknown --sampler"),
    Case("settings-changed-on-resume", "tuner.study", (*KEEP, "--mc-runs", "30"), "mc_runs 20 → 30",
         "resuming a study with other settings"),
    Case("workers-with-sqlite", "tuner.study", (*KEEP, "--workers", "2"), "SQLite allows one writer",
         "--workers 2 on SQLite"),
    # --- storage URLs ------------------------------------------------------------------
    Case("storage-unsupported", "tuner.study", (*KEEP, "--storage", "mysql://u@h/db"), "unsupported database 'mysql'",
         "unsupported database URL"),
    Case("storage-not-a-url", "tuner.study", (*KEEP, "--storage", "not a url"), "not a database URL",
         "storage that is not a URL"),
    Case("storage-in-memory", "tuner.study", (*KEEP, "--storage", "sqlite:///:memory:"), "in-memory database",
         "in-memory SQLite"),
    Case("storage-is-directory", "tuner.study", (*KEEP, "--storage", "sqlite:///studies"), "is a directory",
         "SQLite path that is a directory"),
    Case("storage-garbage-file", "tuner.study", (*KEEP, "--storage", "sqlite:///garbage.db"),
         "not a usable SQLite database", "SQLite path holding binary garbage",
         files=(("garbage.db", bytes(range(256)) * 64),)),
    Case("storage-unreachable", "tuner.study", (*KEEP, "--storage", "postgresql+psycopg://u@127.0.0.1:1/db"),
         "cannot open the database", "PostgreSQL server that does not answer"),
    Case("storage-password-hidden", "tuner.study",
         (*KEEP, "--storage", "postgresql+psycopg://u:s3cret@127.0.0.1:1/db"), "postgresql+psycopg://u:***@",
         "password in the URL of an unreachable server (never printed)", absent="s3cret"),
    Case("storage-no-host", "tuner.study", (*KEEP, "--storage", "postgresql+psycopg:///db"),
         "give a host and a database", "PostgreSQL URL without a host"),
    # --- environment -------------------------------------------------------------------
    Case("env-password-file-missing", "tuner.study", (*KEEP, "--storage", "postgresql+psycopg://u@127.0.0.1:1/db"),
         "TUNER_DB_PASSWORD_FILE=/nonexistent/pw: cannot read the password file", "missing password file",
         env=(("TUNER_DB_PASSWORD_FILE", "/nonexistent/pw"),)),
    Case("env-bin-dir-missing", "tuner.study", KEEP, "TUNER_BIN_DIR=/nonexistent: missing monte_carlo, sim_eval",
         "TUNER_BIN_DIR naming nothing", env=(("TUNER_BIN_DIR", "/nonexistent"),)),
    Case("env-suites-dir-missing", "tuner.study", KEEP, "suite research_v1: /nonexistent/research_v1.yaml is missing",
         "TUNER_SUITES_DIR naming nothing", env=(("TUNER_SUITES_DIR", "/nonexistent"),)),
    Case("env-heartbeat-text", "tuner.study", KEEP, "TUNER_HEARTBEAT_INTERVAL='abc'",
         "TUNER_HEARTBEAT_INTERVAL not a number", env=(("TUNER_HEARTBEAT_INTERVAL", "abc"),)),
    Case("env-heartbeat-negative", "tuner.study", KEEP, "TUNER_HEARTBEAT_GRACE='-5'",
         "negative TUNER_HEARTBEAT_GRACE", env=(("TUNER_HEARTBEAT_GRACE", "-5"),)),
    Case("env-host-colon", "tuner.study", KEEP, "TUNER_HOST='db:1': expected a host name",
         "TUNER_HOST with a ':' (would break the worker id host:pid)", env=(("TUNER_HOST", "db:1"),)),
    # --- budgets file ------------------------------------------------------------------
    Case("budgets-missing", "tuner.study", (*KEEP, "--budgets", "missing.yaml"), "missing.yaml: file not found",
         "missing budgets file"),
    Case("budgets-empty", "tuner.study", (*KEEP, "--budgets", "b.yaml"), "file is empty", "empty budgets file",
         files=(("b.yaml", ""),)),
    Case("budgets-binary", "tuner.study", (*KEEP, "--budgets", "b.yaml"), "binary data (NUL bytes)",
         "binary garbage as budgets", files=(("b.yaml", b"\x7fELF\x02\x01\x01\x00" + bytes(range(256))),)),
    Case("budgets-not-utf8", "tuner.study", (*KEEP, "--budgets", "b.yaml"), "byte 0xff is not valid UTF-8",
         "Latin-1 bytes in budgets", files=(("b.yaml", b"alpha: 0.05 # \xff\n"),)),
    Case("budgets-nan", "tuner.study", (*KEEP, "--budgets", "b.yaml"), "tiers.balanced.max_kill_ucb: value nan is not finite",
         "NaN threshold", files=(("b.yaml", _budget("{max_kill_ucb: .nan, max_dd_cvar: 1, min_pnl_lcb_usd: 1}")),)),
    Case("budgets-inf", "tuner.study", (*KEEP, "--budgets", "b.yaml"), "max_dd_cvar: value inf is not finite",
         "infinite threshold", files=(("b.yaml", _budget("{max_kill_ucb: 0.1, max_dd_cvar: .inf, min_pnl_lcb_usd: 1}")),)),
    Case("budgets-overflow", "tuner.study", (*KEEP, "--budgets", "b.yaml"), "max_dd_cvar: value inf is not finite",
         "threshold 1.0e+400 (overflows)",
         files=(("b.yaml", _budget("{max_kill_ucb: 0.1, max_dd_cvar: 1.0e+400, min_pnl_lcb_usd: 1}")),)),
    Case("budgets-negative", "tuner.study", (*KEEP, "--budgets", "b.yaml"), "min_pnl_lcb_usd: value -1 is negative",
         "negative threshold", files=(("b.yaml", _budget("{max_kill_ucb: 0.1, max_dd_cvar: 1, min_pnl_lcb_usd: -1}")),)),
    Case("budgets-quoted-number", "tuner.study", (*KEEP, "--budgets", "b.yaml"), "value '0.1' is not a number (it is text",
         "threshold written as a string",
         files=(("b.yaml", _budget("{max_kill_ucb: '0.1', max_dd_cvar: 1, min_pnl_lcb_usd: 1}")),)),
    Case("budgets-boolean", "tuner.study", (*KEEP, "--budgets", "b.yaml"), "max_dd_cvar: value True is not a number",
         "boolean threshold", files=(("b.yaml", _budget("{max_kill_ucb: 0.1, max_dd_cvar: yes, min_pnl_lcb_usd: 1}")),)),
    Case("budgets-kill-above-one", "tuner.study", (*KEEP, "--budgets", "b.yaml"), "max_kill_ucb: value 2 is above 1",
         "kill bound above 1", files=(("b.yaml", _budget("{max_kill_ucb: 2, max_dd_cvar: 1, min_pnl_lcb_usd: 1}")),)),
    Case("budgets-alpha-range", "tuner.study", (*KEEP, "--budgets", "b.yaml"), "alpha: value 1.5 is outside (0, 1)",
         "alpha 1.5", files=(("b.yaml", BUDGET_OK.replace("alpha: 0.05", "alpha: 1.5")),)),
    Case("budgets-unknown-tier", "tuner.study", (*KEEP, "--budgets", "b.yaml"), "unknown tier 'reckless'",
         "unknown tier", files=(("b.yaml", BUDGET_OK.replace("balanced:", "reckless:")),)),
    Case("budgets-unknown-key", "tuner.study", (*KEEP, "--budgets", "b.yaml"),
         "unknown threshold 'max_kill' (did you mean max_kill_ucb?)", "misspelt threshold",
         files=(("b.yaml", _budget("{max_kill: 0.1, max_dd_cvar: 1, min_pnl_lcb_usd: 1}")),)),
    Case("budgets-duplicate-key", "tuner.study", (*KEEP, "--budgets", "b.yaml"), "duplicate key 'max_dd_cvar'",
         "duplicate YAML key", files=(("b.yaml", _budget("{max_kill_ucb: 0.1, max_dd_cvar: 1, max_dd_cvar: 900, "
                                                          "min_pnl_lcb_usd: 1}")),)),
    Case("budgets-tab", "tuner.study", (*KEEP, "--budgets", "b.yaml"), "tab character where YAML expects spaces",
         "tab indentation", files=(("b.yaml", "alpha: 0.05\ntiers:\n\tbalanced: {}\n"),)),
    Case("budgets-python-tag", "tuner.study", (*KEEP, "--budgets", "b.yaml"), "only plain YAML values are accepted",
         "YAML tag that would build a Python object",
         files=(("b.yaml", "alpha: !!python/object/apply:os.system ['true']\n"),)),
    Case("budgets-directory", "tuner.study", (*KEEP, "--budgets", "."), "is a directory", "budgets path is a directory"),
    Case("budgets-too-big", "tuner.study", (*KEEP, "--budgets", "b.yaml"), "larger than 4 MiB",
         "5 MiB budgets file", files=(("b.yaml", "# " + "x" * (5 * 1024 * 1024) + "\n"),)),
    Case("budgets-unreadable", "tuner.study", (*KEEP, "--budgets", "b.yaml"), "cannot be read (permission denied)",
         "budgets file without read permission", files=(("b.yaml", BUDGET_OK),), unreadable="b.yaml"),
    # --- search space file -------------------------------------------------------------
    Case("space-unknown-knob", "tuner.study", (*KEEP, "--search-space", "s.yaml"), "unknown knob 'PARAPHINA_VOLREF'",
         "misspelt knob", files=(("s.yaml", _space("PARAPHINA_VOL_REF:", "PARAPHINA_VOLREF:")),)),
    Case("space-low-above-high", "tuner.study", (*KEEP, "--search-space", "s.yaml"), "is not above low",
         "low above high", files=(("s.yaml", _space("low: 0.5, high: 2.0", "low: 2.0, high: 0.5")),)),
    Case("space-missing-knob", "tuner.study", (*KEEP, "--search-space", "s.yaml"), "missing PARAPHINA_HEDGE_MAX_STEP",
         "a knob left out", files=(("s.yaml", "\n".join(ln for ln in SPACE_OK.splitlines()
                                                       if "HEDGE_MAX_STEP" not in ln) + "\n"),)),
    Case("space-unknown-type", "tuner.study", (*KEEP, "--search-space", "s.yaml"), "value 'double' is not a knob type",
         "unknown knob type", files=(("s.yaml", _space("{type: float, low: 0.5, high: 2.0}",
                                                        "{type: double, low: 0.5, high: 2.0}")),)),
    Case("space-nan-bound", "tuner.study", (*KEEP, "--search-space", "s.yaml"), "value nan is not finite",
         "NaN bound", files=(("s.yaml", _space("low: 0.5, high: 2.0", "low: .nan, high: 2.0")),)),
    Case("space-outside-simulator", "tuner.study", (*KEEP, "--search-space", "s.yaml"),
         "leaves the simulator's accepted domain", "range the simulator refuses",
         files=(("s.yaml", _space("low: 0.5, high: 2.0", "low: 0.5, high: 50.0")),)),
    # --- suite and scenario files (TUNER_SUITES_DIR points at an edited copy) ----------
    Case("suite-adversarial-missing", "tuner.study", KEEP, "the adversarial suite is never skipped",
         "adversarial suite file removed", env=SUITES_COPY, prepare=_drop_suite("adversarial_regression_v1")),
    Case("suite-malformed", "tuner.study", KEEP, "suite research_v1:", "unclosed bracket in a suite",
         env=SUITES_COPY, prepare=_edit_suite("research_v1", lambda t: t + "  - {path: ../v1/baseline_gbm.yaml\n")),
    Case("suite-unknown-key", "tuner.study", KEEP, "repeats: unknown field", "unknown suite key",
         env=SUITES_COPY, prepare=_edit_suite("research_v1", lambda t: t.replace("repeat_runs:", "repeats:"))),
    Case("suite-duplicate-key", "tuner.study", KEEP, "duplicate mapping key: suite_id", "duplicate suite key",
         env=SUITES_COPY, prepare=_edit_suite("adversarial_regression_v1", lambda t: "suite_id: x\n" + t)),
    Case("suite-repeats-huge", "tuner.study", KEEP, "expected a whole number from 1 to 100",
         "repeat_runs of 10^12", env=SUITES_COPY,
         prepare=_edit_suite("research_v1", lambda t: t.replace("repeat_runs: 2", "repeat_runs: 1000000000000"))),
    Case("scenario-nan", "tuner.study", KEEP, "market.vol: non-finite float", "NaN volatility in a scenario",
         env=SUITES_COPY, prepare=_edit_scenario("baseline_gbm", "vol: 0.06", "vol: .nan")),
    Case("scenario-negative-steps", "tuner.study", KEEP, "horizon.steps: -5 given", "negative horizon",
         env=SUITES_COPY, prepare=_edit_scenario("baseline_gbm", "steps: 300", "steps: -5")),
    Case("scenario-seeds-huge", "tuner.study", KEEP, "seeds.num_seeds: 4000000000 given",
         "4e9 seeds (would exhaust memory)", env=SUITES_COPY,
         prepare=_edit_scenario("baseline_gbm", "num_seeds: 4", "num_seeds: 4000000000")),
    Case("scenario-file-missing", "tuner.study", KEEP, "cannot read scenario file", "suite naming a missing scenario",
         env=SUITES_COPY, prepare=_edit_suite("research_v1", lambda t: t.replace("low_vol_drift.yaml", "nope.yaml"))),
    # --- python -m tuner.promote -------------------------------------------------------
    Case("promote-study-required", "tuner.promote", (), "the following arguments are required: --study",
         "promote without --study"),
    Case("promote-unknown-study", "tuner.promote", ("--study", "ghost", "--storage", "sqlite:///studies/keep.db"),
         "no such study in sqlite:///studies/keep.db; studies there: keep", "a study the database does not hold"),
    Case("promote-no-database", "tuner.promote", ("--study", "nope"), "no such database file", "no database file"),
    Case("promote-name-traversal", "tuner.promote", ("--study", "../../etc"), "contains '/'",
         "path traversal in the study name"),
    Case("promote-out-dir-is-file", "tuner.promote", ("--study", "keep", "--out-dir", "record.json"),
         "--out-dir record.json: not a directory", "--out-dir naming a file"),
    Case("promote-bad-budgets", "tuner.promote", ("--study", "keep", "--budgets", "b.yaml"), "value -1 is negative",
         "negative threshold", files=(("b.yaml", _budget("{max_kill_ucb: 0.1, max_dd_cvar: 1, min_pnl_lcb_usd: -1}")),)),
    # --- python -m tuner.show ----------------------------------------------------------
    Case("show-no-such-trial", "tuner.show", ("--study", "keep", "--trial", "99"), "--trial 99: no such trial",
         "a trial number the study lacks"),
    Case("show-trial-text", "tuner.show", ("--study", "keep", "--trial", "abc"), "invalid int value: 'abc'",
         "--trial of the wrong type"),
    Case("show-bad-sort", "tuner.show", ("--study", "keep", "--sort", "bogus"), "invalid choice: 'bogus'",
         "unknown --sort key"),
    # --- python -m tuner.reproduce (record files) --------------------------------------
    Case("record-missing", "tuner.reproduce", ("nope.json",), "nope.json: no such promotion record", "missing record"),
    Case("record-empty", "tuner.reproduce", ("bad_record.json",), "not a readable promotion record",
         "empty record file", prepare=_record(lambda r: "")),
    Case("record-binary", "tuner.reproduce", ("bad_record.json",), "not a readable promotion record",
         "binary garbage as record", files=(("bad_record.json", bytes(range(256))),)),
    Case("record-not-object", "tuner.reproduce", ("bad_record.json",), "a JSON object expected", "JSON list as record",
         prepare=_record(lambda r: "[1, 2]")),
    Case("record-field-missing", "tuner.reproduce", ("bad_record.json",), "promotion record lacks 'seeds'",
         "record without seeds", prepare=_record(lambda r: r.pop("seeds"))),
    Case("record-overlay-altered", "tuner.reproduce", ("bad_record.json",), "does not give candidate_id",
         "overlay changed, id not", prepare=_record(lambda r: r["env_overlay"].update(PARAPHINA_MM_SIZE_ETA="1.9"))),
    Case("record-runs-negative", "tuner.reproduce", ("bad_record.json",), "mc_runs must be a positive integer, not -3",
         "negative mc_runs", prepare=_record(lambda r: r.update(mc_runs=-3))),
    Case("record-ticks-nan", "tuner.reproduce", ("bad_record.json",), "mc_ticks must be a positive integer, not nan",
         "NaN mc_ticks (JSON NaN)", prepare=_record(lambda r: json.dumps({**r, "mc_ticks": float("nan")}))),
    Case("record-ticks-huge", "tuner.reproduce", ("bad_record.json",), "the simulator refuses the record's settings",
         "mc_ticks of 10^30 (beyond 64 bits)", prepare=_record(lambda r: r.update(mc_ticks=10**30))),
    Case("record-seeds-gap", "tuner.reproduce", ("bad_record.json",), "seeds must be mc_runs consecutive 64-bit seeds",
         "seeds that skip one", prepare=_record(lambda r: r["seeds"].__setitem__(-1, r["seeds"][-1] + 1))),
    Case("record-output-dir-not-empty", "tuner.reproduce", ("record.json", "--output-dir", "full_dir"),
         "--output-dir full_dir: not empty", "reproduction into a non-empty directory", prepare=_nonempty_dir),
    # --- monte_carlo: flags and the PARAPHINA_* overlay --------------------------------
    *[Case(f"montecarlo-env-{tag}", "monte_carlo", ("--runs", "2", "--ticks", "10", "--seed", "1", "--output-dir", "out"),
           frag, what, env=((name, value),))
      for tag, name, value, frag, what in [
          ("nan", "PARAPHINA_MM_SIZE_ETA", "nan", 'PARAPHINA_MM_SIZE_ETA="nan": not accepted', "knob NaN"),
          ("inf", "PARAPHINA_VOL_REF", "inf", 'PARAPHINA_VOL_REF="inf": not accepted', "knob infinity"),
          ("negative", "PARAPHINA_DAILY_LOSS_LIMIT", "-100", 'PARAPHINA_DAILY_LOSS_LIMIT="-100": not accepted',
           "negative loss limit"),
          ("overflow", "PARAPHINA_HEDGE_BAND_BASE", "1e400", '"1e400": not accepted', "knob 1e400"),
          ("empty", "PARAPHINA_INIT_Q_TAO", "", 'PARAPHINA_INIT_Q_TAO="": not accepted', "empty knob value"),
          ("not-utf8", "PARAPHINA_MM_SIZE_ETA", "\udcff\udcfe", "not valid UTF-8", "knob value that is not UTF-8"),
          ("unknown-name", "PARAPHINA_MM_SIZE", "1.0", "unknown PARAPHINA_* variable", "misspelt knob name"),
          ("bad-profile", "PARAPHINA_RISK_PROFILE", "yolo", "unknown risk profile", "unknown profile"),
      ]],
    Case("montecarlo-runs-zero", "monte_carlo", ("--runs", "0", "--ticks", "10", "--seed", "1", "--output-dir", "out"),
         "invalid value '0' for '--runs <RUNS>'", "--runs 0"),
    Case("montecarlo-runs-overflow", "monte_carlo",
         ("--runs", "99999999999999999999", "--ticks", "10", "--seed", "1", "--output-dir", "out"),
         "number too large to fit in target type", "--runs beyond 64 bits"),
    Case("montecarlo-runs-out-of-memory", "monte_carlo",
         ("--runs", "4000000000", "--ticks", "1", "--seed", "1", "--output-dir", "out"),
         "4000000000 is not in 1..=10000000", "--runs whose results cannot fit in memory (was an abort)"),
    Case("montecarlo-unknown-flag", "monte_carlo", ("--runs", "2", "--tick", "10"), "unexpected argument '--tick' found",
         "misspelt flag"),
    Case("montecarlo-output-dir-is-file", "monte_carlo",
         ("--runs", "2", "--ticks", "10", "--seed", "1", "--output-dir", "record.json"),
         "output directory record.json", "--output-dir naming a file"),
    # --- sim_eval ------------------------------------------------------------------------
    Case("se-suite-missing", "sim_eval", ("suite", "nope.yaml", "--output-dir", "out"), "nope.yaml: cannot read: no such file",
         "missing suite file"),
    Case("se-suite-empty", "sim_eval", ("suite", "s.yaml", "--output-dir", "out"), "the file is empty",
         "empty suite file", files=(("s.yaml", ""),)),
    Case("se-suite-binary", "sim_eval", ("suite", "s.yaml", "--output-dir", "out"), "not UTF-8 text",
         "binary garbage as suite", files=(("s.yaml", bytes(range(256))),)),
    Case("se-suite-tab", "sim_eval", ("suite", "s.yaml", "--output-dir", "out"), "found a tab",
         "tab in a suite file", files=(("s.yaml", "suite_id: a\n\tsuite_version: 1\n"),)),
    Case("se-scenario-steps-huge", "sim_eval", ("run", "scen/v1/baseline_gbm.yaml", "--output-dir", "out"),
         "horizon.steps: 300000000000 given; expected a whole number from 1 to 10000000",
         "horizon of 3e11 ticks (ran for ever)", prepare=_edit_scenario("baseline_gbm", "steps: 300",
                                                                         "steps: 300000000000")),
    Case("se-env-bad", "sim_eval", ("suite", str(REPO_ROOT / "scenarios/suites/research_v1.yaml"), "--output-dir", "out"),
         'environment: PARAPHINA_MM_SIZE_ETA="many"', "bad candidate overlay",
         env=(("PARAPHINA_MM_SIZE_ETA", "many"),)),
    Case("se-unknown-subcommand", "sim_eval", ("verify",), "unrecognized subcommand 'verify'", "unknown subcommand"),
    Case("se-verify-missing-dir", "sim_eval", ("verify-evidence-tree", "nowhere"), "nowhere", "missing directory"),
    Case("se-report-gate-nan", "sim_eval",
         ("report", "--baseline", "a", "--variant", "v=b", "--out-md", "m.md", "--out-json", "m.json",
          "--gate-max-regression-usd", "nan"), "--gate-max-regression-usd NaN: not accepted", "NaN regression gate"),
]


def _base(tmp: Path, suites: Path) -> Path:
    """A directory with a study database (two trials) and a valid promotion record."""
    base = tmp / "base"
    base.mkdir()
    r = study(base, "keep", suites, extra=["--trials", "2"])
    assert r.returncode == 0, r.stderr
    t = load(base, "keep").trials[0]
    overlay = t.user_attrs["overlay"]
    record = {"schema_version": 3, "candidate_id": t.user_attrs["candidate_id"], "env_overlay": overlay,
              "mc_runs": 20, "mc_ticks": 150, "seeds": list(range(42, 62)), "trial_dir": t.user_attrs["trial_dir"]}
    (base / "record.json").write_text(json.dumps(record, indent=2))
    return base


def _command(case: Case) -> list[str]:
    if case.cli in ("monte_carlo", "sim_eval"):
        return [str(real_bin() / case.cli), *case.args]
    return [sys.executable, "-m", case.cli, *case.args]


def _run(case: Case, base: Path, root: Path, suites: Path) -> dict[str, Any]:
    cwd = root / case.id
    (cwd / "studies").mkdir(parents=True)
    shutil.copyfile(base / "studies" / "keep.db", cwd / "studies" / "keep.db")
    shutil.copyfile(base / "record.json", cwd / "record.json")
    for name, content in case.files:
        (cwd / name).write_bytes(content if isinstance(content, bytes) else content.encode())
    if case.prepare:
        case.prepare(cwd)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PARAPHINA_", "TUNER_"))}
    env["TUNER_SUITES_DIR"] = str(suites)
    for k, v in case.env:
        env[k] = str(cwd / v) if v == "scen/suites" else v
    cmd = _command(case)
    if case.unreadable:
        (cwd / case.unreadable).chmod(0)
        if os.geteuid() == 0:
            if shutil.which("setpriv") is None:
                return {"skip": "running as root without setpriv: root reads any file"}
            # Root without the capabilities that bypass file permissions.
            caps = "-dac_override,-dac_read_search"
            cmd = ["setpriv", f"--inh-caps={caps}", f"--bounding-set={caps}", *cmd]
    before = tree_digest(cwd)
    dump = db_content(cwd / "studies" / "keep.db")
    env_b = {k: v.encode("utf-8", "surrogateescape") for k, v in env.items()}
    try:
        r = subprocess.run(cmd, cwd=cwd, env=env_b, capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired as exc:
        return {"code": "still running after 60 s", "stderr": str(exc.stderr or ""), "stdout": "", "unchanged": False,
                "db_unchanged": False, "created": []}
    return {"code": r.returncode, "stderr": r.stderr, "stdout": r.stdout,
            "unchanged": tree_digest(cwd) == before, "db_unchanged": db_content(cwd / "studies" / "keep.db") == dump,
            "created": sorted(set(tree_digest(cwd)) - set(before))}


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory, suites: Path) -> dict[str, dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("bad_input")
    base = _base(tmp, suites)
    with ThreadPoolExecutor(max_workers=max(2, (os.cpu_count() or 2))) as pool:
        futures = {c.id: pool.submit(_run, c, base, tmp / "cases", suites) for c in CASES}
        return {k: f.result() for k, f in futures.items()}


def test_the_table_has_distinct_cases() -> None:
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids))
    assert len(CASES) >= 30


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_one_line_exit_2_and_changes_nothing(results: dict[str, dict[str, Any]], case: Case) -> None:
    r = results[case.id]
    if "skip" in r:
        pytest.skip(r["skip"])
    stderr = r["stderr"]
    assert "Traceback" not in stderr and "panicked" not in stderr, stderr
    assert r["code"] == 2, f"exit {r['code']}: {stderr}"
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, f"not one line:\n{stderr}"
    assert "error" in lines[0] and case.fragment in lines[0], lines[0]
    if "also" in case.extra:
        assert case.extra["also"] in lines[0], lines[0]
    if case.absent:
        assert case.absent not in stderr + r["stdout"]
    assert r["db_unchanged"], "the study database's content changed"
    assert r["unchanged"], f"files changed or created: {r['created']}"

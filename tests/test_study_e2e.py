"""End-to-end: `python -m tuner.study` with the real binaries and real SQLite files."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from pathlib import Path

import optuna
import pytest
import yaml

from e2e import FAST, counted, digest, load, real_bin, run_cli, signature
from faultbin import make_fault_bin
from tuner.names import METRIC_NAMES
from tuner.record import CONSTRAINT_KEY, is_feasible
from tuner.config.paths import REPO_ROOT
from tuner.simulator import documents
from tuner.simulator.build import ensure_binaries
from tuner.stats.streams import SEARCH_MC, search_seed

STUDY = "tuner.study"


@pytest.fixture(scope="session", autouse=True)
def binaries() -> None:
    ensure_binaries(quiet=True)


def test_smoke_study_completes_and_persists_every_trial(tmp_path: Path) -> None:
    r = run_cli(STUDY, ["--smoke", "--no-promote"], tmp_path)
    assert r.returncode == 0, r.stderr
    study = load(tmp_path, "smoke")
    trials = counted(study)
    assert len(trials) == 3 and all(t.state.name == "COMPLETE" for t in trials)
    assert study.metric_names == list(METRIC_NAMES)
    for t in trials:
        tdir = Path(t.user_attrs["trial_dir"])
        assert tdir.name == f"trial_{t.number:04d}_{t.user_attrs['candidate_id']}"
        # The compact layout: one simulator process wrote eight files, every document
        # compressed, one root pack over them.
        files = sorted(str(p.relative_to(tdir)) for p in tdir.rglob("*") if p.is_file())
        assert files == ["candidate.env", "evidence_pack/SHA256SUMS", "evidence_pack/manifest.json",
                         "mc/mc_runs.jsonl.gz", "mc/mc_summary.json.gz",
                         "suite/adversarial_regression_v1/suite_summary.json.gz",
                         "suite/research_v1/suite_summary.json.gz", "suite/seeds.jsonl.gz"], files
        assert [c["argv"][1] for c in t.user_attrs["run"]["commands"]] == ["trial"]
        recorded = t.user_attrs["evidence"]
        assert recorded["mc_summary_sha256"] == documents.digest(tdir / "mc" / "mc_summary.json")
        assert recorded["mc_runs_sha256"] == documents.digest(tdir / "mc" / "mc_runs.jsonl")
        assert recorded["layout"] == "compact"
        sums = subprocess.run(["sha256sum", "-c", "--quiet", "evidence_pack/SHA256SUMS"], cwd=tdir,
                              capture_output=True, text=True)
        assert sums.returncode == 0, sums.stdout + sums.stderr
        check = subprocess.run([real_bin() / "sim_eval", "verify-evidence-tree", tdir], capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr
        assert t.user_attrs["evidence_verified"] is True
        assert set(t.user_attrs["metrics"]) >= {"pnl_mean", "pnl_stdev", "pnl_lcb", "kill_k", "kill_n", "kill_ucb", "dd_cvar"}
        # Every candidate on the study seed's search-mc stream (a 64-bit base), not seeds 42..51.
        seeds = t.user_attrs["run"]["seeds"]
        assert seeds["first"] == search_seed(42) and seeds["count"] == 10 and seeds["stream"] == SEARCH_MC
        assert CONSTRAINT_KEY in t.constraints
    out = tmp_path / "studies" / "smoke"
    assert len((out / "trials.jsonl").read_text().splitlines()) == 3
    assert (out / "pareto.csv").read_text().splitlines()[0].startswith(
        "pareto_rank,candidate_id,trial_number,trial_id,profile,pnl_mean,pnl_stdev,pnl_lcb,kill_rate,kill_k,kill_n,kill_ucb,dd_cvar,evidence_verified,PARAPHINA_RISK_PROFILE")
    for plot in ("pareto_front.html", "hypervolume_history.html", "parallel_coordinates.html"):
        assert (out / "plots" / plot).is_file()
    tree = subprocess.run([real_bin() / "sim_eval", "verify-evidence-tree", out], capture_output=True, text=True)
    assert tree.returncode == 0, tree.stdout + tree.stderr


def test_same_seed_gives_identical_parameters_and_values(tmp_path: Path) -> None:
    for name in ("a", "b"):
        r = run_cli(STUDY, ["--study", name, "--trials", "6", "--population", "4", "--no-promote", *FAST], tmp_path)
        assert r.returncode == 0, r.stderr
    a, b = load(tmp_path, "a"), load(tmp_path, "b")
    assert signature(a) == signature(b)
    assert [t.params for t in counted(a)] == [t.params for t in counted(b)]
    assert len({t.user_attrs["candidate_id"] for t in counted(a)}) == 6


def _mc_seeds(study: optuna.Study) -> set[int]:
    out: set[int] = set()
    for t in counted(study):
        rows = documents.read_jsonl(Path(t.user_attrs["trial_dir"]) / "mc" / "mc_runs.jsonl")
        out |= {row["seed"] for row in rows}
    return out


def test_seeds_42_and_43_share_no_search_run(tmp_path: Path) -> None:
    # Before the search-mc stream, run i used the study seed + i: --seed 43 shared all but one run with --seed 42.
    for seed in ("42", "43"):
        r = run_cli(STUDY, ["--study", f"s{seed}", "--seed", seed, "--trials", "2", "--population", "2", "--no-promote",
                            *FAST], tmp_path)
        assert r.returncode == 0, r.stderr
    a, b = _mc_seeds(load(tmp_path, "s42")), _mc_seeds(load(tmp_path, "s43"))
    base = search_seed(42)
    assert a == {(base + i) % 2**64 for i in range(20)}  # every candidate of a study on the same seeds
    assert len(b) == 20 and not a & b
    assert search_seed(43) in b and 43 not in b and 42 not in a


def test_a_study_made_before_seed_streams_is_not_resumed_on_other_seeds(tmp_path: Path) -> None:
    assert run_cli(STUDY, ["--study", "old", "--trials", "1", "--no-promote", *FAST], tmp_path).returncode == 0
    study = load(tmp_path, "old")
    settings = dict(study.user_attrs["settings"])
    del settings["search_seeds"]  # as a study made when run i used seed + i stored them
    study.set_user_attr("settings", settings)
    db = tmp_path / "studies" / "old.db"
    before = _dump(db)  # (the logical content: the edit above sits in the WAL until a later open)
    r = run_cli(STUDY, ["--study", "old", "--trials", "2", "--no-promote", *FAST], tmp_path)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "earlier version" in lines[0] and "--study" in lines[0], r.stderr
    assert _dump(db) == before and len(counted(load(tmp_path, "old"))) == 1


def _dump(path: Path) -> list[str]:
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return list(con.iterdump())
    finally:
        con.close()


@pytest.mark.parametrize("fault", ["trial:3:kill_parent", "trial:5:kill_parent_after"])
def test_sigkill_in_a_trial_then_resume_gives_the_uninterrupted_trials(tmp_path: Path, fault: str) -> None:
    args = ["--trials", "7", "--population", "4", "--no-promote", *FAST]
    r = run_cli(STUDY, ["--study", "ref", *args], tmp_path)
    assert r.returncode == 0, r.stderr
    fbin = make_fault_bin(tmp_path / "fbin", real_bin())
    env = {"TUNER_BIN_DIR": str(fbin), "TUNER_FAULT": fault, "TUNER_FAULT_DIR": str(tmp_path)}
    killed = run_cli(STUDY, ["--study", "k", *args], tmp_path, env=env)
    assert killed.returncode == -9, killed.stderr
    interrupted = load(tmp_path, "k")
    assert any(t.state.name == "RUNNING" for t in interrupted.get_trials())
    resumed = run_cli(STUDY, ["--study", "k", *args], tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert "retrying interrupted trial" in resumed.stderr
    k = load(tmp_path, "k")
    assert len(counted(k)) == 7
    assert signature(k) == signature(load(tmp_path, "ref"))
    assert not any(t.state.name == "RUNNING" for t in k.get_trials())


def test_trials_is_a_total_not_an_increment(tmp_path: Path) -> None:
    args = ["--study", "tot", "--population", "4", "--no-promote", *FAST]
    assert run_cli(STUDY, [*args, "--trials", "5"], tmp_path).returncode == 0
    again = run_cli(STUDY, [*args, "--trials", "5"], tmp_path)
    assert again.returncode == 0 and "nothing to run" in again.stderr
    assert len(load(tmp_path, "tot").get_trials()) == 5
    more = run_cli(STUDY, [*args, "--trials", "8"], tmp_path)
    assert more.returncode == 0 and "running 3 more" in more.stderr
    assert len(counted(load(tmp_path, "tot"))) == 8


def _suites_copy(tmp_path: Path, edit) -> Path:
    """A copy of scenarios/ whose suites are changed by ``edit(suite_dict)``."""
    copy = tmp_path / "scenarios"
    shutil.copytree(REPO_ROOT / "scenarios", copy)
    for path in (copy / "suites").glob("*.yaml"):
        data = yaml.safe_load(path.read_text())
        edit(data)
        path.write_text(yaml.safe_dump(data, sort_keys=False))
    return copy / "suites"


def test_a_failing_suite_makes_an_infeasible_trial_absent_from_the_front(tmp_path: Path) -> None:
    def impossible(suite: dict) -> None:
        suite.setdefault("invariants", {})["min_final_pnl_usd"] = 1.0e9

    env = {"TUNER_SUITES_DIR": str(_suites_copy(tmp_path, impossible))}
    r = run_cli(STUDY, ["--study", "inf", "--trials", "3", "--no-promote", *FAST], tmp_path, env=env)
    assert r.returncode == 0, r.stderr
    study = load(tmp_path, "inf")
    trials = counted(study)
    assert all(t.state.name == "COMPLETE" and not is_feasible(t) for t in trials)
    assert all(t.constraints[CONSTRAINT_KEY] > 0 for t in trials)
    assert all(t.user_attrs["suites_passed"] is False for t in trials)
    assert study.best_trials == []
    pareto = json.loads((tmp_path / "studies" / "inf" / "pareto.json").read_text())
    assert pareto["candidates"] == []


def test_a_crashing_binary_fails_the_trial_and_the_study_goes_on(tmp_path: Path) -> None:
    fbin = make_fault_bin(tmp_path / "fbin", real_bin())
    env = {"TUNER_BIN_DIR": str(fbin), "TUNER_FAULT": "trial:2:crash", "TUNER_FAULT_DIR": str(tmp_path)}
    r = run_cli(STUDY, ["--study", "crash", "--trials", "4", "--no-promote", *FAST], tmp_path, env=env)
    assert r.returncode == 0, r.stderr
    trials = counted(load(tmp_path, "crash"))
    assert [t.state.name for t in trials] == ["COMPLETE", "FAIL", "COMPLETE", "COMPLETE"]
    failure = trials[1].user_attrs["failure"]
    assert "sim_eval trial" in failure["command"] and "exit status 101" in failure["command"]
    assert "injected fault" in failure["stderr_tail"]


def test_a_hanging_binary_is_ended_by_the_command_timeout(tmp_path: Path) -> None:
    fbin = make_fault_bin(tmp_path / "fbin", real_bin())
    env = {"TUNER_BIN_DIR": str(fbin), "TUNER_FAULT": "trial:1:hang", "TUNER_FAULT_DIR": str(tmp_path)}
    r = run_cli(STUDY, ["--study", "hang", "--trials", "2", "--command-timeout", "3", "--no-promote", *FAST],
                tmp_path, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    trials = counted(load(tmp_path, "hang"))
    assert trials[0].state.name == "FAIL" and "timed out after" in trials[0].user_attrs["failure"]["command"]
    assert trials[1].state.name == "COMPLETE"


def test_optuna_dashboard_lists_the_study_with_its_metric_names(tmp_path: Path) -> None:
    import io

    import optuna_dashboard

    assert run_cli(STUDY, ["--study", "dash", "--trials", "2", "--no-promote", *FAST], tmp_path).returncode == 0
    app = optuna_dashboard.wsgi(f"sqlite:///{tmp_path / 'studies' / 'dash.db'}")

    def get(path: str) -> dict:
        status: list[str] = []
        environ = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": "", "SERVER_NAME": "localhost",
                   "SERVER_PORT": "80", "wsgi.input": io.BytesIO(), "wsgi.url_scheme": "http",
                   "wsgi.errors": io.StringIO()}
        body = b"".join(app(environ, lambda s, h, exc_info=None: status.append(s)))
        assert status[0].startswith("200"), status
        return json.loads(body)

    studies = get("/api/studies")["study_summaries"]
    assert [s["study_name"] for s in studies] == ["dash"]
    detail = get(f"/api/studies/{studies[0]['study_id']}")
    assert detail["objective_names"] == list(METRIC_NAMES)
    assert len(detail["trials"]) == 2


BAD_INPUT = [
    (["--bogus"], "unrecognized arguments"),
    (["--study", "../x"], "study name"),
    (["--study", ""], "study name"),
    (["--storage", "mysql://u@h/db"], "unsupported database"),
    (["--storage", "not a url"], "not a database URL"),
    (["--trials", "0"], "--trials"),
    (["--trials", "ten"], "--trials"),
    (["--mc-runs", "-5"], "--mc-runs"),
    (["--budgets", "missing.yaml"], "missing.yaml"),
    (["--search-space", "bad_space.yaml"], "bad_space.yaml"),
    (["--budgets", "bad_budgets.yaml"], "bad_budgets.yaml"),
    (["--timeout", "nan"], "--timeout"),
]


@pytest.mark.parametrize("args,fragment", BAD_INPUT)
def test_bad_input_is_one_line_and_leaves_the_database_untouched(tmp_path: Path, args: list[str], fragment: str) -> None:
    (tmp_path / "bad_space.yaml").write_text("version: 1\nknobs:\n  PARAPHINA_NOPE: {type: float, low: 0, high: 1}\n")
    (tmp_path / "bad_budgets.yaml").write_text("alpha: 0.05\ntiers:\n  balanced: {max_kill_ucb: -1, max_dd_cvar: 1, min_pnl_lcb_usd: 1}\n")
    assert run_cli(STUDY, ["--study", "keep", "--trials", "1", "--no-promote", *FAST], tmp_path).returncode == 0
    db = tmp_path / "studies" / "keep.db"
    before = digest(db)
    full = args if "--study" in args else ["--study", "keep", *args]
    r = run_cli(STUDY, [*full, *FAST], tmp_path)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "error" in lines[0] and fragment in lines[0], r.stderr
    assert "Traceback" not in r.stderr
    assert digest(db) == before


def test_a_missing_suite_stops_the_study_before_any_trial(tmp_path: Path) -> None:
    suites = _suites_copy(tmp_path, lambda s: None)
    (suites / "adversarial_regression_v1.yaml").unlink()
    r = run_cli(STUDY, ["--study", "nosuite", "--trials", "2", *FAST], tmp_path, env={"TUNER_SUITES_DIR": str(suites)})
    assert r.returncode == 2 and "adversarial_regression_v1" in r.stderr and "never skipped" in r.stderr
    assert not (tmp_path / "studies" / "nosuite.db").exists()

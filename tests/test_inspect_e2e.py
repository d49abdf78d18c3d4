"""Inspecting a study: optuna-dashboard (real server), offline plots, tuner.show,
--early-stop."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from e2e import FAST, counted, load, run_cli
from tuner.simulator import documents
from tuner.names import METRIC_NAMES
from tuner.record import feasible_points, is_feasible
from tuner.stats.hypervolume import trials_since_improvement
from tuner.simulator.build import ensure_binaries


@pytest.fixture(scope="module")
def study_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small study; the shipped suites reject some of its random first candidates."""
    ensure_binaries(quiet=True)
    cwd = tmp_path_factory.mktemp("inspect")
    r = run_cli("tuner.study", ["--study", "insp", "--trials", "8", "--population", "4", "--no-promote", *FAST], cwd)
    assert r.returncode == 0, r.stderr
    return cwd


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_real_dashboard_shows_metric_names_user_attrs_and_feasibility(study_dir: Path) -> None:
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "tuner.dashboard", "--study", "insp", "--port", str(port)],
                            cwd=study_dir, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = proc.stdout.readline()
        assert f"http://127.0.0.1:{port}/" in first
        deadline = time.monotonic() + 30
        while True:
            try:
                studies = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/api/studies", timeout=5).read())
                break
            except OSError:
                assert time.monotonic() < deadline, "dashboard did not start"
                time.sleep(0.3)
        sid = studies["study_summaries"][0]["study_id"]
        detail = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/api/studies/{sid}", timeout=10).read())
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert detail["objective_names"] == list(METRIC_NAMES)
    study = load(study_dir, "insp")
    by_number = {t.number: t for t in study.get_trials()}
    for t in detail["trials"]:
        attrs = {a["key"] for a in t["user_attrs"]}
        assert {"candidate_id", "pnl_lcb", "kill_count", "suites_passed", "trial_dir"} <= attrs
        # The dashboard reads only the older constraint list: it must agree with Optuna.
        frozen = by_number[t["number"]]
        dash_feasible = all(c <= 0 for c in t["constraints"]) and bool(t["constraints"])
        assert dash_feasible == is_feasible(frozen), (t["number"], t["constraints"], frozen.constraints)


def test_plots_open_offline(study_dir: Path) -> None:
    plots = study_dir / "studies" / "insp" / "plots"
    pages = sorted(plots.glob("*.html"))
    assert {p.name for p in pages} >= {"pareto_front.html", "hypervolume_history.html", "parallel_coordinates.html"}
    assert (plots / "plotly.min.js").stat().st_size > 1_000_000
    for page in pages:
        html = page.read_text()
        sources = re.findall(r'<script[^>]*src="([^"]+)"', html)
        assert sources == ["plotly.min.js"], (page.name, sources)
        assert "https://" not in " ".join(sources) and "cdn" not in " ".join(sources)


def test_show_lists_sorts_filters_and_shows_one_trial(study_dir: Path) -> None:
    table = run_cli("tuner.show", ["--study", "insp"], study_dir)
    assert table.returncode == 0, table.stderr
    lines = table.stdout.strip().splitlines()
    rows = [ln for ln in lines[2:] if not ln.lstrip().startswith("↳")]  # under a units line; notes below rows
    assert lines[0].split()[:4] == ["trial", "state", "rank", "pnl_mean"] and len(rows) == 8
    rows = json.loads(run_cli("tuner.show", ["--study", "insp", "--json", "--sort", "pnl_mean", "--reverse"], study_dir).stdout)
    pnls = [r["pnl_mean"] for r in rows if r["pnl_mean"] is not None]
    assert pnls == sorted(pnls, reverse=True) and len(rows) == 8
    front = json.loads(run_cli("tuner.show", ["--study", "insp", "--front", "--json"], study_dir).stdout)
    study = load(study_dir, "insp")
    assert sorted(r["number"] for r in front) == sorted(t.number for t in study.best_trials)
    one = run_cli("tuner.show", ["--study", "insp", "--trial", "3"], study_dir)
    assert one.returncode == 0
    for fragment in ("trial 3", "PARAPHINA_MM_SIZE_ETA=", "dd_cvar", "research_v1", "adversarial_regression_v1",
                     "evidence", "monte_carlo --runs", "trial_0003_"):
        assert fragment in one.stdout, fragment
    missing = run_cli("tuner.show", ["--study", "insp", "--trial", "99"], study_dir)
    assert missing.returncode == 2 and "no such trial" in missing.stderr


def test_early_stop_ends_a_study_whose_front_stopped_improving(tmp_path: Path) -> None:
    ensure_binaries(quiet=True)
    r = run_cli("tuner.study", ["--study", "es", "--trials", "40", "--early-stop", "3", "--population", "4",
                                "--no-promote", *FAST], tmp_path)
    assert r.returncode == 0, r.stderr
    assert "early stop" in r.stderr
    trials = counted(load(tmp_path, "es"))
    assert len(trials) < 40 and trials_since_improvement(feasible_points(trials)) >= 3
    # The same command again stops at once: the verdict comes from the stored trials.
    again = run_cli("tuner.study", ["--study", "es", "--trials", "40", "--early-stop", "3", "--population", "4",
                                    "--no-promote", *FAST], tmp_path)
    assert again.returncode == 0 and len(counted(load(tmp_path, "es"))) == len(trials)


def test_the_rerun_command_of_show_trial_reproduces_the_trials_monte_carlo(study_dir: Path, tmp_path: Path) -> None:
    out = run_cli("tuner.show", ["--study", "insp", "--trial", "2"], study_dir)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    command = lines[lines.index(next(ln for ln in lines if ln.startswith("  re-run this candidate"))) + 1].strip()
    # Pasted into a shell elsewhere, with a stray PARAPHINA_* variable in the environment.
    r = subprocess.run(["bash", "-c", command], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                       env={"PATH": "/usr/bin:/bin", "PARAPHINA_MM_SIZE_ETA": "9.9"})
    assert r.returncode == 0, r.stderr
    trial = load(study_dir, "insp").trials[2]
    mine = Path(trial.user_attrs["trial_dir"]) / "mc" / "mc_summary.json"
    again = next(tmp_path.glob("rerun_trial_0002_*/mc/mc_summary.json"))
    assert again.read_bytes() == documents.read_bytes(mine)

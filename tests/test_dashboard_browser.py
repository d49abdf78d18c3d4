"""optuna-dashboard, as ``python -m tuner.dashboard`` serves it, never presents an
infeasible trial as best and says on each trial page why a trial is infeasible: checked
through the WSGI app in-process and in the real UI in headless chromium."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path
from typing import Any

import optuna_dashboard
import pytest
from browser import Browser, free_port
from fakestudy import DASHBOARD_UNCORRECTED_BEST, FEASIBLE_FRONT, INFEASIBLE, make_study

from tuner.session.storage import make_storage, parse_storage
from tuner.views.dashboard_app import FEASIBILITY_ATTR, truthful_dashboard


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("dash")
    make_study(root)
    return root


def _get(app: Any, path: str, query: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        out["status"], out["headers"] = status, dict(headers)
        return lambda _b: None

    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": query, "wsgi.input": BytesIO(),
               "SERVER_NAME": "localhost", "SERVER_PORT": "80", "wsgi.url_scheme": "http"}
    body = b"".join(app(environ, start_response))
    assert out["status"].startswith("200"), out["status"]
    assert int(out["headers"]["Content-Length"]) == len(body)
    return json.loads(body)


def _storage(root: Path) -> Any:
    return make_storage(parse_storage(f"sqlite:///{root / 'studies' / 'fake.db'}"), create=False)


def test_the_uncorrected_dashboard_still_calls_an_infeasible_trial_best(root: Path) -> None:
    # The upstream behaviour the correction exists for (optuna-dashboard#772). When an
    # upgrade fixes it, this fails: then check whether tuner.views.dashboard_app can go.
    detail = _get(optuna_dashboard.wsgi(_storage(root)), "/api/studies/1")
    assert {t["number"] for t in detail["best_trials"]} == DASHBOARD_UNCORRECTED_BEST


def test_best_trials_are_the_feasible_front_and_every_trial_says_why(root: Path) -> None:
    app = truthful_dashboard(_storage(root))
    for query in ("", "after=3"):  # the UI polls with ?after=N: the front is over all trials
        detail = _get(app, "/api/studies/1", query)
        assert {t["number"] for t in detail["best_trials"]} == FEASIBLE_FRONT
        assert not {t["number"] for t in detail["best_trials"]} & INFEASIBLE
        assert detail["union_user_attrs"][0] == {"key": FEASIBILITY_ATTR, "sortable": False}
        for t in detail["trials"] + detail["best_trials"]:
            first = t["user_attrs"][0]
            assert first["key"] == FEASIBILITY_ATTR
            if t["number"] in INFEASIBLE:
                assert first["value"].startswith("INFEASIBLE: ") and "suite check" in first["value"]
                assert t["constraints"] and max(t["constraints"]) > 0
            elif t["state"] == "Complete":
                assert first["value"].startswith("feasible, Pareto rank"), first
                assert t["constraints"] == [0.0]
    trials = {t["number"]: t for t in _get(app, "/api/studies/1")["trials"]}
    assert len(trials) == 7  # nothing hidden
    assert trials[0]["user_attrs"][0]["value"].startswith(
        "INFEASIBLE: 2 suite checks failed: research_v1: flash_crash: max drawdown 1812.5 > 1500")
    assert trials[3]["user_attrs"][0]["value"] == "FAIL: interrupted while running; retried as trial 5"
    assert trials[5]["user_attrs"][0]["value"].endswith("; retry of trial 3")
    assert "monte_carlo exited with status 101" in trials[6]["user_attrs"][0]["value"]
    # Every other route is the dashboard's own.
    assert _get(app, "/api/studies")["study_summaries"][0]["study_name"] == "fake"


@pytest.fixture(scope="module")
def dashboard(root: Path) -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "tuner.dashboard", "--study", "fake", "--port", str(port)],
                            cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert f"http://127.0.0.1:{port}/dashboard/studies/1" in proc.stdout.readline()
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/meta", timeout=5).read()
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, "the dashboard did not start"
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


_LIST_ITEMS = "JSON.stringify([...document.querySelectorAll('li')].map(e => e.innerText))"
_DETAIL = ("(() => { const h = [...document.querySelectorAll('h4')].find(e => e.innerText.startsWith('Trial %d ('));"
           " return h ? h.parentElement.innerText : ''; })()")


def test_the_real_dashboard_in_a_browser_shows_only_feasible_trials_as_best(browser: Browser, dashboard: str) -> None:
    page = browser.page(f"{dashboard}/dashboard/studies/1")
    try:
        # The overview's "Best Trials" card.
        card = page.wait_for("(() => { const h = [...document.querySelectorAll('h6')].find(e => "
                             "e.innerText === 'Best Trials'); const t = h ? h.parentElement.innerText : '';"
                             " return t.includes('Objective Values') ? t : ''; })()", timeout=40)
        shown = {int(line.split()[1]) for line in card.splitlines() if line.startswith("Trial ")}
        assert shown == FEASIBLE_FRONT, card

        # The trial list's badges, and the page of the infeasible trial that dominates all.
        page.goto(f"{dashboard}/dashboard/studies/1/trials?numbers=0")
        page.wait_for(_DETAIL % 0 + ".includes('User Attributes')")
        items = [i for i in json.loads(page.evaluate(_LIST_ITEMS)) if i.startswith("Trial ")]
        badged = {int(i.split()[1]) for i in items if "Best Trial" in i}
        assert len(items) == 7 and badged == FEASIBLE_FRONT, items
        detail = page.evaluate(_DETAIL % 0)
        assert "Best Trial" not in detail
        assert "feasibility INFEASIBLE: 2 suite checks failed: research_v1: flash_crash" in " ".join(detail.split())

        page.goto(f"{dashboard}/dashboard/studies/1/trials?numbers=1")
        page.wait_for(_DETAIL % 1 + ".includes('User Attributes')")
        detail = page.evaluate(_DETAIL % 1)
        assert "Best Trial" in detail and "feasibility feasible, Pareto rank 1" in " ".join(detail.split())
        assert page.errors() == []
    finally:
        page.close()

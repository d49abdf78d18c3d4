"""A study's outputs are the same bytes as the version that wrote ``tests/golden/study``.

The golden files come from a 12-trial study (``--population 6 --mc-runs 20 --mc-ticks 150``,
seed 42, ``--no-promote``), first run on commit 44979d7 and regenerated when NSGA-II's
first generation became a Sobol design (issue 18) and when the search's Monte Carlo
moved to the study seed's ``search-mc`` stream (issue 15), and when a trial became one
``sim_eval trial`` process with compact evidence (issue 19: the commands and evidence
attributes changed, every candidate, value and summary stayed): in a scratch directory,
``python -m tuner.study --study golden --trials 12 --population 6 --mc-runs 20
--mc-ticks 150 --no-promote -q``, then copy ``studies/golden/trials.jsonl`` (with the
checkout's path replaced by ``/tmp/base``), ``pareto.csv`` and
``trials/trial_0007_*/mc/mc_summary.json(.gz)`` (decompressed) here. Only what depends on the wall clock or the machine is normalized away: trial
times and durations, the worker's host and pid, and the absolute part of paths (the
study directory, the binaries). A change
that alters candidates, values, attribute names or file layout fails here; an intended
change of the outputs must regenerate the golden files and say why in its commit.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

from e2e import run_cli
from tuner.config.paths import REPO_ROOT
from tuner.simulator import documents
from tuner.simulator.build import ensure_binaries

GOLDEN = REPO_ROOT / "tests" / "golden" / "study"
ARGS = ["--study", "golden", "--trials", "12", "--population", "6", "--mc-runs", "20", "--mc-ticks", "150",
        "--no-promote", "-q"]


def _normalize(value: Any, repo: str) -> Any:
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k == "provenance":
                continue  # commit, diff and binary digests: of the machine's checkout (tested elsewhere)
            # The root pack's digest and the trial directory's bytes cover the suite
            # summaries, which name the suite file by its absolute path: they depend on
            # where the repository is checked out.
            if k in ("datetime_start", "datetime_complete", "seconds", "binary_seconds", "simulator_seconds", "worker",
                     "root_sha256sums_sha256", "bytes"):
                out[k] = "<varies>"
            else:
                out[k] = _normalize(v, repo)
        return out
    if isinstance(value, list):
        return [_normalize(v, repo) for v in value]
    if isinstance(value, str):
        value = re.sub(r"^/\S*/(monte_carlo|sim_eval)$", r"<bin>/\1", value)
        value = value.replace(repo + "/", "<repo>/")
        return re.sub(r"^/.*?/studies/golden", "<dir>", value)
    return value


def _trials(path: Path, repo: str) -> list[Any]:
    return [_normalize(json.loads(line), repo) for line in path.read_text(encoding="utf-8").splitlines()]


def test_a_small_study_writes_the_golden_trials_pareto_and_summary(tmp_path: Path) -> None:
    ensure_binaries(quiet=True)
    r = run_cli("tuner.study", ARGS, tmp_path)
    assert r.returncode == 0, r.stderr
    out = tmp_path / "studies" / "golden"
    got = _trials(out / "trials.jsonl", str(REPO_ROOT))
    want = _trials(GOLDEN / "trials.jsonl", "/tmp/base")  # the checkout that wrote them
    assert len(got) == len(want) == 12
    for g, w in zip(got, want, strict=True):
        assert g == w, f"trial {w['number']} differs"
    assert (out / "pareto.csv").read_bytes() == (GOLDEN / "pareto.csv").read_bytes()
    trial7 = next((out / "trials").glob("trial_0007_*"))
    assert documents.read_bytes(trial7 / "mc" / "mc_summary.json") == (GOLDEN / "trial_0007_mc_summary.json").read_bytes()
    shutil.rmtree(out / "trials")

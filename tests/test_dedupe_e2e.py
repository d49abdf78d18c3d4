"""End-to-end (real binaries, SQLite): a candidate is simulated once per study, and a
study keeps the population it was created with when ``--trials`` changes on resume."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from e2e import FAST, counted, load, run_cli
from tuner.promotion.verify import verify_trial
from tuner.record import Attr, StudyAttr, TrialView, front_members
from tuner.session.sampler import population_for
from tuner.simulator.build import ensure_binaries
from tuner.views.assess import feasible_ranks

STUDY = "tuner.study"

# Two candidates only: the profile takes two values, every other knob one.
TINY_SPACE = """\
version: 1
knobs:
  PARAPHINA_RISK_PROFILE: {type: categorical, choices: [balanced, aggressive]}
  PARAPHINA_HEDGE_BAND_BASE: {type: categorical, choices: [0.05]}
  PARAPHINA_MM_SIZE_ETA: {type: categorical, choices: [1.0]}
  PARAPHINA_VOL_REF: {type: categorical, choices: [0.1]}
  PARAPHINA_DAILY_LOSS_LIMIT: {type: categorical, choices: [1000.0]}
  PARAPHINA_INIT_Q_TAO: {type: categorical, choices: [0.0]}
  PARAPHINA_HEDGE_MAX_STEP: {type: categorical, choices: [10.0]}
"""


@pytest.fixture(scope="module", autouse=True)
def binaries() -> None:
    ensure_binaries(quiet=True)


@pytest.mark.parametrize("sampler", ["nsga2", "random"])
def test_a_repeated_candidate_takes_the_stored_result_instead_of_a_second_simulation(
        tmp_path: Path, sampler: str) -> None:
    space = tmp_path / "tiny.yaml"
    space.write_text(TINY_SPACE)
    r = run_cli(STUDY, ["--study", "tiny", "--trials", "6", "--sampler", sampler, "--search-space", str(space),
                        "--no-promote", *FAST], tmp_path)
    assert r.returncode == 0, r.stderr
    trials = counted(load(tmp_path, "tiny"))
    assert len(trials) == 6 and all(t.state.name == "COMPLETE" for t in trials)
    ids = [t.user_attrs[Attr.CANDIDATE_ID] for t in trials]
    originals = {}
    for t in trials:
        originals.setdefault(t.user_attrs[Attr.CANDIDATE_ID], t)
    # One simulation per candidate: one trial directory each, the rest reused.
    dirs = sorted(p.name for p in (tmp_path / "studies" / "tiny" / "trials").iterdir())
    assert dirs == sorted(f"trial_{o.number:04d}_{cid}" for cid, o in originals.items())
    reused = [t for t in trials if Attr.REUSED_FROM in t.user_attrs]
    assert len(reused) == 6 - len(set(ids)) >= 4
    for t in reused:
        o = originals[t.user_attrs[Attr.CANDIDATE_ID]]
        assert t.user_attrs[Attr.REUSED_FROM] == o.number < t.number
        assert t.values == o.values and t.constraints == o.constraints
        assert t.user_attrs[Attr.TRIAL_DIR] == o.user_attrs[Attr.TRIAL_DIR]
        assert t.user_attrs[Attr.METRICS] == o.user_attrs[Attr.METRICS]
        assert t.user_attrs[Attr.RUN]["commands"] == [] and t.user_attrs[Attr.RUN]["reused_from"] == o.number
        # The evidence of a reused result is the original's directory, and it verifies.
        assert verify_trial(t, tmp_path / "studies" / "tiny").verified
    assert all(Attr.REUSED_FROM not in o.user_attrs for o in originals.values())
    # Every front a user or the promoter sees lists a candidate once: the original.
    study = load(tmp_path, "tiny")
    front = front_members(study.best_trials)
    assert len({t.user_attrs[Attr.CANDIDATE_ID] for t in front}) == len(front) >= 1
    assert all(Attr.REUSED_FROM not in t.user_attrs for t in front)
    rows = list(csv.DictReader((tmp_path / "studies" / "tiny" / "pareto.csv").open()))
    assert sorted(r["candidate_id"] for r in rows) == sorted({r["candidate_id"] for r in rows})
    assert {int(r["trial_number"]) for r in rows} <= {o.number for o in originals.values()}
    ranks = feasible_ranks([TrialView.of(t) for t in study.trials])
    assert not set(ranks) & {t.number for t in reused}


def test_a_population_from_trials_is_stored_and_kept_when_trials_grows(tmp_path: Path) -> None:
    args = ["--study", "pop", "--no-promote", *FAST]
    r = run_cli(STUDY, [*args, "--trials", "3"], tmp_path)
    assert r.returncode == 0, r.stderr
    assert load(tmp_path, "pop").user_attrs[StudyAttr.SETTINGS]["population"] == population_for(3)
    # --trials is a total: a larger one on resume continues the same study and generations.
    r = run_cli(STUDY, [*args, "--trials", "4"], tmp_path)
    assert r.returncode == 0, r.stderr
    assert load(tmp_path, "pop").user_attrs[StudyAttr.SETTINGS]["population"] == population_for(3)
    assert len(counted(load(tmp_path, "pop"))) == 4
    # An explicit different population is still refused, naming it.
    r = run_cli(STUDY, [*args, "--trials", "5", "--population", "3"], tmp_path)
    assert r.returncode == 2 and "population" in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_gp_without_the_extra_is_refused_before_anything_is_stored(tmp_path: Path) -> None:
    # Hide torch from the child process, as on a machine without the extra.
    (tmp_path / "sitecustomize.py").write_text(
        "import sys\n"
        "class NoTorch:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'torch':\n"
        "            raise ModuleNotFoundError(\"No module named 'torch'\", name='torch')\n"
        "sys.meta_path.insert(0, NoTorch())\n")
    r = run_cli(STUDY, ["--study", "g", "--trials", "2", "--sampler", "gp", "--no-promote", *FAST], tmp_path,
                env={"PYTHONPATH": str(tmp_path)})
    assert r.returncode == 2, r.stderr
    assert r.stderr.strip().splitlines() == [r.stderr.strip()]
    assert "[gp]" in r.stderr and "pip install" in r.stderr
    assert not (tmp_path / "studies" / "g.db").exists()

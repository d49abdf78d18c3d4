"""A promotion's life (issue 16): a challenger replaces the incumbent only when it is
better on the same seeds, nothing is overwritten, every record in the history
reproduces, and ``tuner.reproduce`` certifies that what goes live is what was
certified (the preset, the trial files, the binaries).

Small settings: 200 runs x 150 ticks (20 runs leave every search pnl_lcb below 0 on the
search-mc stream), lenient suites, one tier."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from e2e import real_bin, rewrite_document, run_cli
from tuner.simulator import documents

from tuner._io import sha256_file
from tuner.config.paths import DEFAULT_PROMOTED_DIR, REPO_ROOT
from tuner.promotion.provenance import RECORD_FILE
from tuner.simulator.build import ensure_binaries

#: Tiers are decided on confirmation evidence (tests/e2e.py: 200 fresh runs, 2 fresh seeds
#: per suite scenario). A suite scenario may fail on fresh seeds here: with 2 seeds no
#: Clopper-Pearson bound is below 0.9, and the strong study's best candidate fails one
#: scenario on one fresh seed; this file is about a promotion's life, not the suite gate
#: (tests/test_confirm.py, tests/test_promote_e2e.py).
BUDGETS = """\
alpha: 0.05
tiers:
  aggressive: {max_kill_ucb: 0.2, max_dd_cvar: 450.0, min_pnl_lcb_usd: 0.0, max_scenario_failure_rate: 1.0}
"""
#: A tighter drawdown budget: the strong study's winner under it is a modest candidate
#: (74f3c3faa0e2, confirmation pnl_mean 25.06, dd_cvar upper bound 306.8 at alpha/2), the
#: first incumbent; the best one (d8324b09389e, bound 340.1) fails it.
TIGHT = BUDGETS.replace("max_dd_cvar: 450.0", "max_dd_cvar: 330.0")
#: Both studies have study seed 42, so their confirmation streams are the same 200 fresh
#: seeds. Measured with these settings: the strong study's winner under BUDGETS
#: (d8324b09389e, confirmation pnl_mean 43.01) beats 74f3c3faa0e2 by the paired test on
#: those seeds; the weak study's one finalist (890d41c6151d, 32.94, dd_cvar bound 438.2)
#: does not beat d8324b09389e. (Its other front member, d8bca1f87bb5, search dd_cvar 474,
#: is no finalist under the 450 USD budget.) Deterministic: same seeds, same bytes.
RUNS = ["--mc-runs", "200", "--mc-ticks", "150"]
WEAK = ["--study", "weak", "--trials", "5", "--sampler", "random", "--seed", "42", "--no-promote", *RUNS]
STRONG = ["--study", "strong", "--trials", "7", "--sampler", "tpe", "--seed", "42", "--no-promote", *RUNS]


def _lenient_suites(dest: Path) -> Path:
    copy = dest / "scenarios"
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


@pytest.fixture(scope="module")
def life(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    ensure_binaries(quiet=True)
    cwd = tmp_path_factory.mktemp("life")
    env = {"TUNER_SUITES_DIR": str(_lenient_suites(cwd))}
    (cwd / "budgets.yaml").write_text(BUDGETS)
    (cwd / "tight.yaml").write_text(TIGHT)
    for args in (WEAK, STRONG):
        r = run_cli("tuner.study", args, cwd, env=env)
        assert r.returncode == 0, r.stderr
    out = cwd / "promoted"
    steps = {}
    for step, name, budgets in (("first", "strong", "tight.yaml"), ("better", "strong", "budgets.yaml"),
                                ("worse", "weak", "budgets.yaml")):
        r = _promote(cwd, out, name, env, "--budgets", str(cwd / budgets))
        assert r.returncode == 0, r.stdout + r.stderr
        steps[step] = r.stdout
    return {"cwd": cwd, "out": out, "env": env, "steps": steps}


def _promote(cwd: Path, out: Path, name: str, env: dict[str, str], *extra: str):  # type: ignore[no-untyped-def]
    budgets = [] if "--budgets" in extra else ["--budgets", str(cwd / "budgets.yaml")]
    return run_cli("tuner.promote", ["--study", name, *budgets, "--out-dir", str(out), *extra], cwd, env=env)


def _history(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "aggressive" / "history.jsonl").read_text().splitlines()]


def test_a_better_challenger_replaces_and_a_worse_one_leaves_the_incumbent(life: dict) -> None:
    out, steps = life["out"], life["steps"]
    events = [(e["event"], e["study_name"]) for e in _history(out)]
    assert events[0] == ("promoted", "strong"), (events, steps["first"])
    assert "74f3c3faa0e2" in steps["first"], steps["first"]
    assert events[1:3] == [("superseded", "strong"), ("promoted", "strong")], (events, steps["better"])
    assert "replaces incumbent" in steps["better"] and "paired" in steps["better"]
    # The weak study again: the incumbent (strong) stays, and the output says why.
    assert events[-1] == ("rejected", "weak"), events
    assert "stays" in steps["worse"] and "paired test" in steps["worse"], steps["worse"]
    current = json.loads((out / "aggressive" / RECORD_FILE).read_text())
    assert current["candidate_id"] == "d8324b09389e" and current["schema_version"] == 5
    assert current["decision"]["incumbent"] is not None and current["decision"]["challenge"]["replace"] is True
    rejected = _history(out)[-1]
    assert rejected["reasons"] and rejected["incumbent"] == current["candidate_id"]


def test_nothing_is_overwritten_and_every_record_in_the_history_reproduces(life: dict) -> None:
    out, cwd = life["out"], life["cwd"]
    tier = out / "aggressive"
    promoted = [e for e in _history(out) if e["event"] == "promoted"]
    assert len(promoted) == 2
    for i, e in enumerate(promoted):
        rec_path = tier / e["record_file"]
        rec = json.loads(rec_path.read_text())
        assert rec["candidate_hash"] == sha256_file(tier / rec["env_file"]) == e["candidate_hash"]
        r = run_cli("tuner.reproduce", [str(rec_path), "--output-dir", str(cwd / f"repro_hist{i}")], cwd)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "reproduced" in r.stdout
    assert len(list(tier.glob("*.env"))) == 2 and len(list(tier.glob("*.record.json"))) == 2
    assert not [p for p in out.rglob(".*") if p.name != ".promote.lock"]


def test_the_record_carries_provenance_from_the_trial_and_one_vocabulary(life: dict) -> None:
    rec = json.loads((life["out"] / "aggressive" / RECORD_FILE).read_text())
    prov = rec["provenance"]
    assert prov["captured"] == "trial"
    for name in ("monte_carlo", "sim_eval"):
        assert prov["binaries_sha256"][name] == sha256_file(real_bin() / name)
    assert rec["git_commit"] == prov["git_commit"] and rec["git_dirty"] == prov["git_dirty"]
    assert (prov["git_diff_sha256"] is not None) == bool(prov["git_dirty"])
    for key in ("pnl_mean", "pnl_lcb", "kill_ucb", "dd_cvar", "kill_rate", "pnl_cvar"):
        assert key in rec["metrics"], key
    assert not {"mean_pnl", "drawdown_cvar", "kill_prob_ci_upper"} & set(rec["metrics"])
    assert rec["spec_aliases"]["mean_pnl"] == "statistics.pnl_mean"
    header = (life["out"] / "aggressive" / rec["env_file"]).read_text().splitlines()[3]
    assert "pnl_mean=" in header and "kill_ucb=" in header and "kill_ci" not in header


def _copy_tier(life: dict, tmp_path: Path) -> Path:
    out = tmp_path / "promoted"
    shutil.copytree(life["out"], out)
    return out / "aggressive" / RECORD_FILE


def test_reproduce_refuses_an_edited_preset_naming_the_file_and_the_key(life: dict, tmp_path: Path) -> None:
    rec_path = _copy_tier(life, tmp_path)
    env = rec_path.parent / json.loads(rec_path.read_text())["env_file"]
    lines = [ln if not ln.startswith("export PARAPHINA_MM_SIZE_ETA=") else "export PARAPHINA_MM_SIZE_ETA=9.0"
             for ln in env.read_text().splitlines()]
    env.write_text("\n".join(lines) + "\n")
    r = run_cli("tuner.reproduce", [str(rec_path)], life["cwd"])
    assert r.returncode == 1, r.stdout + r.stderr
    assert str(env) in r.stderr and "PARAPHINA_MM_SIZE_ETA is 9.0 in the file" in r.stderr, r.stderr


def test_reproduce_names_the_binary_that_differs(life: dict, tmp_path: Path) -> None:
    rec_path = life["out"] / "aggressive" / RECORD_FILE
    bins = tmp_path / "bin"
    bins.mkdir()
    for name in ("monte_carlo", "sim_eval"):
        shutil.copy2(real_bin() / name, bins / name)
    with open(bins / "sim_eval", "ab") as fh:
        fh.write(b"\0")
    r = run_cli("tuner.reproduce", [str(rec_path)], life["cwd"], env={"TUNER_BIN_DIR": str(bins)})
    assert r.returncode == 1, r.stdout + r.stderr
    assert "binary sim_eval" in r.stderr and "monte_carlo" not in r.stderr.split("binary sim_eval")[0], r.stderr


def test_reproduce_says_a_trial_file_changed_after_the_trial(life: dict) -> None:
    rec_path = life["out"] / "aggressive" / RECORD_FILE
    rec = json.loads(rec_path.read_text())
    target = documents.locate(Path(rec["trial_dir"]) / "mc" / "mc_summary.json")
    original = target.read_bytes()
    try:
        rewrite_document(target, lambda b: b.replace(b"\n", b"\n ", 1))
        r = run_cli("tuner.reproduce", [str(rec_path), "--output-dir", str(life["cwd"] / "repro_changed")],
                    life["cwd"])
        assert r.returncode == 1, r.stdout + r.stderr
        assert f"trial file changed after the trial: {target}" in r.stdout, r.stdout + r.stderr
        assert "NOT reproduced" not in r.stdout
    finally:
        target.write_bytes(original)


def test_a_corrupt_incumbent_record_is_named_and_never_replaced(life: dict, tmp_path: Path) -> None:
    rec_path = _copy_tier(life, tmp_path)
    rec_path.write_text("{ not json")
    before = sorted(p.name for p in rec_path.parent.iterdir())
    r = _promote(life["cwd"], rec_path.parent.parent, "strong", life["env"])
    assert r.returncode == 2, r.stdout + r.stderr
    assert str(rec_path) in r.stderr and "incumbent" in r.stderr, r.stderr
    assert rec_path.read_text() == "{ not json" and sorted(p.name for p in rec_path.parent.iterdir()) == before


def test_a_looser_alpha_is_refused_without_the_flag_and_recorded_with_it(life: dict, tmp_path: Path) -> None:
    loose = tmp_path / "loose.yaml"
    loose.write_text(BUDGETS.replace("alpha: 0.05", "alpha: 0.2"))
    out = tmp_path / "promoted"
    args = ["--study", "strong", "--budgets", str(loose), "--out-dir", str(out)]
    r = run_cli("tuner.promote", args, life["cwd"], env=life["env"])
    assert r.returncode == 2 and "looser than the study's 0.05" in r.stderr and "--allow-looser-alpha" in r.stderr
    assert not out.exists() or not list(out.rglob("*.env"))
    r = run_cli("tuner.promote", [*args, "--allow-looser-alpha"], life["cwd"], env=life["env"])
    assert r.returncode == 0, r.stderr
    assert "differs from the study's 0.05" in r.stdout
    rec = json.loads((out / "aggressive" / RECORD_FILE).read_text())
    assert rec["statistics"]["alpha"] == 0.2 and rec["statistics"]["study_alpha"] == 0.05 == rec["metrics"]["alpha"]
    assert rec["statistics"]["alpha_note"]


def test_a_smoke_study_writes_no_preset_and_says_why(tmp_path: Path) -> None:
    before = sorted(str(p) for p in DEFAULT_PROMOTED_DIR.rglob("*")) if DEFAULT_PROMOTED_DIR.exists() else []
    r = run_cli("tuner.study", ["--smoke"], tmp_path)
    assert r.returncode == 0, r.stderr
    assert "no preset is written" in r.stdout and "never does" in r.stdout, r.stdout
    after = sorted(str(p) for p in DEFAULT_PROMOTED_DIR.rglob("*")) if DEFAULT_PROMOTED_DIR.exists() else []
    assert after == before


def test_the_report_is_linked_self_contained_and_renders_without_a_javascript_error(life: dict, browser) -> None:  # type: ignore[no-untyped-def]
    from browser import file_url  # noqa: PLC0415  (the browser helpers, only for this test)

    rec = json.loads((life["out"] / "aggressive" / RECORD_FILE).read_text())
    page_path = life["out"] / "aggressive" / rec["report_file"]
    text = page_path.read_text()
    assert "<script src=" not in text  # Plotly is inside the page: nothing loaded from elsewhere
    page = browser.page(file_url(page_path))
    try:
        page.wait_for("document.querySelectorAll('#pnl_hist .main-svg').length > 0")
        page.wait_for("document.querySelectorAll('#dd_hist .main-svg').length > 0")
        body = page.text()
        assert "Decision" in body and rec["candidate_id"] in body and "incumbent, same seeds" in body
        assert page.evaluate("document.getElementById('pnl_hist').data.length") == 2  # winner and incumbent
        assert page.errors() == []
    finally:
        page.close()


def test_promoting_the_incumbent_again_leaves_the_tier_as_it_is(life: dict, tmp_path: Path) -> None:
    rec_path = _copy_tier(life, tmp_path)
    before = sorted(p.name for p in rec_path.parent.iterdir())
    history = (rec_path.parent / "history.jsonl").read_text()
    r = _promote(life["cwd"], rec_path.parent.parent, "strong", life["env"])
    assert r.returncode == 0, r.stdout + r.stderr
    assert "the winner is the incumbent d8324b09389e itself: it stays" in r.stdout, r.stdout
    assert sorted(p.name for p in rec_path.parent.iterdir()) == before
    assert (rec_path.parent / "history.jsonl").read_text() == history

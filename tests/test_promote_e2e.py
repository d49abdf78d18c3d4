"""End-to-end promotion: a real study promotes, the preset and its record agree, a
reproduction matches bit for bit, and tampered evidence is never promoted."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from e2e import load, rewrite_document, run_cli
from tuner.simulator import documents
from tuner._io import sha256_file
from tuner.names import KNOB_NAMES, candidate_id
from tuner.promotion.provenance import RECORD_FILE
from tuner.simulator.envfile import read_env_file
from tuner.simulator.build import ensure_binaries
from tuner.stats.streams import overlaps, search_seed

# The study's default Monte Carlo settings (200 runs x 600 ticks); with this seed the
# first ten candidates hold feasible ones that pass every tier.
STUDY_ARGS = ["--study", "prom", "--trials", "10", "--population", "5", "--seed", "2", "--no-promote"]

#: The shipped tiers, but a suite scenario may fail on fresh seeds. Tiers are decided on
#: confirmation evidence (tests/e2e.py: 200 runs, 2 fresh seeds per suite scenario); with
#: 2 seeds a Clopper-Pearson bound is never below 0.9, so any allowed rate under 0.9
#: means "none allowed", and with the shipped budgets (none allowed) this study's
#: finalists each fail an adversarial scenario on one of two fresh seeds (see
#: test_the_shipped_budgets_refuse_a_scenario_failing_on_a_fresh_seed). These tests are
#: about the pipeline (preset, record, reproduce, tampering), so they allow it.
PIPELINE_BUDGETS = """\
alpha: 0.05
tiers:
  conservative: {max_kill_ucb: 0.05, max_dd_cvar: 500.0, min_pnl_lcb_usd: 10.0, max_scenario_failure_rate: 1.0}
  balanced:     {max_kill_ucb: 0.10, max_dd_cvar: 1000.0, min_pnl_lcb_usd: 20.0, max_scenario_failure_rate: 1.0}
  aggressive:   {max_kill_ucb: 0.15, max_dd_cvar: 2000.0, min_pnl_lcb_usd: 30.0, max_scenario_failure_rate: 1.0}
"""


@pytest.fixture(scope="module")
def studied(tmp_path_factory: pytest.TempPathFactory) -> Path:
    ensure_binaries(quiet=True)
    cwd = tmp_path_factory.mktemp("promote")
    r = run_cli("tuner.study", STUDY_ARGS, cwd)
    assert r.returncode == 0, r.stderr
    (cwd / "pipeline_budgets.yaml").write_text(PIPELINE_BUDGETS)
    return cwd


def _promote(cwd: Path, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    budgets = [] if "--budgets" in extra else ["--budgets", str(cwd / "pipeline_budgets.yaml")]
    return run_cli("tuner.promote", ["--study", "prom", *budgets, "--out-dir", str(out), *extra], cwd)


def _winners(out: Path) -> dict[str, str]:
    return {rec.parent.name: json.loads(rec.read_text())["candidate_id"] for rec in out.glob(f"*/{RECORD_FILE}")}


def test_a_real_study_promotes_and_the_record_matches_its_preset(studied: Path) -> None:
    out = studied / "promoted"
    r = _promote(studied, out)
    assert r.returncode == 0, r.stderr
    records = sorted(out.glob(f"*/{RECORD_FILE}"))
    assert records, r.stdout  # at least one tier promoted
    for rec_path in records:
        rec = json.loads(rec_path.read_text())
        env = rec_path.parent / rec["env_file"]
        assert rec["schema_version"] == 5 and rec["tier"] == rec_path.parent.name
        assert rec["candidate_hash"] == sha256_file(env)
        assert env.name.startswith("phaseA_prom_") and len(env.stem.split("_")[-1]) == 6
        overlay = read_env_file(env)
        assert overlay == rec["env_overlay"] and set(overlay) == set(KNOB_NAMES)
        assert candidate_id(overlay) == rec["candidate_id"]
        for key in ("statistics", "metrics", "seeds", "commands_run", "suites_passed", "storage", "sampler",
                    "sampler_seed", "optuna_version", "trial_number", "git_commit", "evidence_verified"):
            assert key in rec, key
        assert rec["evidence_verified"] is True and rec["suites_passed"] == {
            "research_v1": True, "adversarial_regression_v1": True}
        assert rec["seeds"] == [(search_seed(2) + i) % 2**64 for i in range(200)] and rec["sampler"] == "nsga2" and rec["sampler_seed"] == 2
        stats = rec["statistics"]  # the search evidence that made it a finalist
        assert stats["kill_ucb"] <= rec["tier_budget"]["max_kill_ucb"]
        assert stats["dd_cvar"] <= rec["tier_budget"]["max_dd_cvar"]
        assert stats["pnl_lcb"] >= rec["tier_budget"]["min_pnl_lcb_usd"]
        # The tier was decided on the confirmation: every gate a bound at alpha / K, inside the budget.
        conf = rec["confirmation"]
        assert conf["passed"] is True and conf["runs"] == 200 and conf["suite_seeds_per_scenario"] == 2
        assert conf["alpha"] == pytest.approx(0.05 / conf["finalists"])
        gates = {g["rule"]: g for g in conf["gates"]}
        for rule in ("kill_ucb", "dd_cvar_ucb", "pnl_lcb"):
            assert gates[rule]["passed"] and gates[rule]["margin"] >= 0 and gates[rule]["method"], rule
        assert gates["dd_cvar_ucb"]["value"] <= rec["tier_budget"]["max_dd_cvar"]
        assert sum(1 for g in conf["gates"] if g["rule"].startswith("scenario ")) >= 2
        assert rec["decision"]["decided_on"].startswith("confirmation evidence only")
        # The promotion's overfitting report (search -> confirmation, PBO) is in the record too.
        assert rec["overfitting"]["finalists"] >= 1 and "pnl_mean" in rec["overfitting"]["mean_degradation"]
        streams = rec["seed_streams"]
        assert {"search-mc", "confirm-mc", "confirm-suite"} <= set(streams)
        first, count = streams["confirm-mc"]["first"], streams["confirm-mc"]["count"]
        assert not overlaps((first, count), (2, 200))  # never a search seed
        oos = Path(conf["directory"])
        tdir = Path(rec["trial_dir"])
        assert oos.parent == tdir.parent.parent / "oos" / tdir.name  # <study dir>/oos/<trial dir name>/<key>
        assert (oos / "evidence_pack" / "SHA256SUMS").is_file() and sha256_file(
            oos / "evidence_pack" / "SHA256SUMS") == conf["sha256sums"]
        header = env.read_text().splitlines()[:4]
        assert header[0] == f"# Promoted configuration for {rec['tier']} tier" and header[2].startswith(
            f"# Candidate: {rec['candidate_id']}")


def test_the_shipped_budgets_refuse_a_scenario_failing_on_a_fresh_seed(studied: Path) -> None:
    out = studied / "shipped"
    r = _promote(studied, out, "--budgets", str(Path(__file__).resolve().parents[1] / "configs" / "budgets.yaml"),
                 "--json")
    assert r.returncode == 0, r.stderr
    decision = json.loads(r.stdout)  # --json: one object, nothing else
    tiers = decision["tiers"]
    assert decision["confirmation"]["runs"] == 200 and decision["confirmation"]["streams"]["confirm-mc"]["first"]
    assert not any(t["promoted"] for t in tiers.values()) and not list(out.glob(f"*/{RECORD_FILE}"))
    balanced = tiers["balanced"]
    assert balanced["finalists"] >= 1 and balanced["finalists_passed"] == 0
    assert balanced["nearest"]["evidence"] == "confirmation" and balanced["nearest"]["distance"] > 0
    assert "fresh seeds: none allowed" in balanced["reason"], balanced["reason"]
    # The overfitting report: in the decision and, after a promotion, in pareto.json.
    o = decision["overfitting"]
    assert o["finalists"] == len(o["per_finalist"]) >= 1 and set(o["mean_degradation"]) >= {"pnl_mean", "dd_cvar"}
    assert json.loads((studied / "studies" / "prom" / "pareto.json").read_text())["overfitting"]["finalists"] == o["finalists"]
    # A repeated promotion reuses the finished confirmations (same settings, packs verify).
    again = _promote(studied, out, "--budgets", str(Path(__file__).resolve().parents[1] / "configs" / "budgets.yaml"))
    assert again.returncode == 0 and "reused" in again.stdout and "on fresh seeds in" not in again.stdout, again.stdout


@pytest.mark.parametrize("args,env,said", [
    (["--confirm-runs", "0"], {}, "--confirm-runs 0: must be at least 2"),
    (["--confirm-runs", "-5"], {}, "--confirm-runs -5: must be at least 2"),
    (["--confirm-runs", "many"], {}, "--confirm-runs 'many': not an integer"),
    ([], {"TUNER_CONFIRM_RUNS": "zero"}, "TUNER_CONFIRM_RUNS 'zero' (the default of --confirm-runs): not an integer"),
])
def test_bad_confirmation_settings_exit_2_with_one_line_and_write_nothing(
    studied: Path, args: list[str], env: dict[str, str], said: str
) -> None:
    out = studied / "bad_confirm"
    oos = studied / "studies" / "prom" / "oos"
    before = sorted(str(p) for p in oos.rglob("*")) if oos.exists() else []
    db = (studied / "studies" / "prom.db").read_bytes()
    r = run_cli("tuner.promote", ["--study", "prom", "--out-dir", str(out), *args], studied, env=env)
    assert r.returncode == 2 and r.stdout == "", r.stdout + r.stderr
    assert r.stderr.count("\n") == 1 and said in r.stderr, r.stderr
    assert not out.exists() and (studied / "studies" / "prom.db").read_bytes() == db
    assert (sorted(str(p) for p in oos.rglob("*")) if oos.exists() else []) == before


@pytest.mark.parametrize("args,said", [
    (["--finalists", "0"], "--finalists 0: must be at least 1"),
    (["--finalists", "two"], "--finalists 'two': not an integer"),
    (["--confirm-suite-seeds", "2.5"], "--confirm-suite-seeds '2.5': not an integer"),
    (["--confirm-suite-seeds", "-1"], "--confirm-suite-seeds -1: must be at least 1"),
    (["--confirm-runs", "1"], "--confirm-runs 1: must be at least 2"),
])
def test_bad_counts_are_refused_by_the_parser(args: list[str], said: str, input_error) -> None:  # type: ignore[no-untyped-def]
    from tuner.promote import build_parser  # noqa: PLC0415

    input_error(lambda: build_parser().parse_args(["--study", "prom", *args]), said)


def test_the_preset_sourced_in_bash_exports_exactly_the_overlay(studied: Path) -> None:
    out = studied / "promoted_bash"
    assert _promote(studied, out).returncode == 0
    rec_path = next(out.glob(f"*/{RECORD_FILE}"))
    rec = json.loads(rec_path.read_text())
    env_file = rec_path.parent / rec["env_file"]
    shown = subprocess.run(["bash", "-c", f"set -eu; source '{env_file}'; env"], capture_output=True, text=True,
                           env={"PATH": "/usr/bin:/bin"}, check=True).stdout
    exported = dict(line.split("=", 1) for line in shown.splitlines() if line.startswith("PARAPHINA_"))
    assert exported == rec["env_overlay"]
    assert candidate_id(exported) == rec["candidate_id"]


def test_promoting_twice_selects_the_same_candidates(studied: Path) -> None:
    a, b = studied / "twice_a", studied / "twice_b"
    assert _promote(studied, a).returncode == 0
    assert _promote(studied, b).returncode == 0
    assert _winners(a) == _winners(b) and _winners(a)
    dry = _promote(studied, studied / "dry", "--dry-run")
    assert dry.returncode == 0 and "dry run" in dry.stdout and not (studied / "dry").exists()


def test_reproduce_matches_then_detects_a_changed_byte(studied: Path) -> None:
    out = studied / "promoted_repro"
    assert _promote(studied, out).returncode == 0
    rec_path = next(out.glob(f"*/{RECORD_FILE}"))
    ok = run_cli("tuner.reproduce", [str(rec_path), "--output-dir", str(studied / "repro1")], studied)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "reproduced" in ok.stdout
    assert "confirmation reproduced: 3 summaries" in ok.stdout, ok.stdout  # the confirmation replayed too
    trial_summary = documents.locate(Path(json.loads(rec_path.read_text())["trial_dir"]) / "mc" / "mc_summary.json")
    original = trial_summary.read_bytes()
    try:
        def change(data: bytes) -> bytes:
            text = data.decode()
            return (text.replace('"kill_count": ', '"kill_count": 1', 1) if '"kill_count": 0' in text
                    else text.replace("1", "2", 1)).encode()

        rewrite_document(trial_summary, change)
        bad = run_cli("tuner.reproduce", [str(rec_path), "--output-dir", str(studied / "repro2")], studied)
        assert bad.returncode == 1, bad.stdout + bad.stderr
        # The re-run matches the digest recorded at trial time: the trial file is to blame.
        assert f"trial file changed after the trial: {trial_summary}" in bad.stdout, bad.stdout + bad.stderr
    finally:
        trial_summary.write_bytes(original)


def test_reproduce_replays_the_confirmation_and_judges_fresh_seeds(studied: Path) -> None:
    out = studied / "promoted_fresh"
    assert _promote(studied, out).returncode == 0
    rec_path = next(out.glob(f"*/{RECORD_FILE}"))
    r = run_cli("tuner.reproduce", [str(rec_path), "--output-dir", str(studied / "fresh1"), "--fresh-seeds", "100"],
                studied)
    assert r.returncode in (0, 1), r.stdout + r.stderr
    line = next(ln for ln in r.stdout.splitlines() if ln.startswith("fresh seeds (100 runs, new stream): "))
    assert ("still passes" in line) == (r.returncode == 0), r.stdout
    assert (studied / "fresh1" / "fresh_100" / "evidence_pack" / "SHA256SUMS").is_file()
    bad = run_cli("tuner.reproduce", [str(rec_path), "--fresh-seeds", "1"], studied)
    assert bad.returncode == 2 and "--fresh-seeds 1: must be at least 2" in bad.stderr, bad.stderr
    # A confirmation summary changed after the promotion: the replay says so.
    summary = Path(json.loads(rec_path.read_text())["confirmation"]["directory"]) / "mc" / "mc_summary.json"
    original = summary.read_bytes()
    try:
        summary.write_bytes(original.replace(b"\n", b"\n ", 1))
        r = run_cli("tuner.reproduce", [str(rec_path), "--output-dir", str(studied / "fresh2")], studied)
        assert r.returncode == 1 and "confirmation NOT reproduced: mc/mc_summary.json" in r.stdout, r.stdout + r.stderr
    finally:
        summary.write_bytes(original)


def test_a_tampered_trial_is_never_promoted_and_the_next_candidate_is_considered(studied: Path) -> None:
    first = studied / "before_tamper"
    assert _promote(studied, first).returncode == 0
    winners = _winners(first)
    rec = json.loads(next(first.glob(f"*/{RECORD_FILE}")).read_text())
    tdir = Path(rec["trial_dir"])
    backup = studied / "backup_trial"
    shutil.copytree(tdir, backup, symlinks=True)
    try:
        rewrite_document(tdir / "suite" / "research_v1" / "suite_summary.json", lambda b: b + b" ")
        second = studied / "after_tamper"
        r = _promote(studied, second)
        assert r.returncode == 0, r.stderr
        assert f"skipped {rec['candidate_id']}" in r.stdout and "does not verify" in r.stdout
        assert rec["candidate_id"] not in _winners(second).values()
        assert set(_winners(second)) <= set(winners)
    finally:
        shutil.rmtree(tdir)
        shutil.copytree(backup, tdir, symlinks=True)


def test_a_pack_rewritten_to_match_tampering_is_caught_by_the_recorded_digest(studied: Path) -> None:
    first = studied / "digest_before"
    assert _promote(studied, first).returncode == 0
    rec = json.loads(next(first.glob(f"*/{RECORD_FILE}")).read_text())
    tdir = Path(rec["trial_dir"])
    backup = studied / "backup_digest"
    shutil.copytree(tdir, backup, symlinks=True)
    try:
        rewrite_document(tdir / "mc" / "mc_summary.json", lambda b: b.replace(b'"runs": 200', b'"runs": 201', 1))
        # A forger who rewrites the evidence pack so that verification passes...
        bin_dir = Path(__file__).resolve().parents[1] / "target" / "release"
        shutil.rmtree(tdir / "evidence_pack")
        subprocess.run([bin_dir / "sim_eval", "write-evidence-pack", tdir], check=True, capture_output=True)
        assert subprocess.run([bin_dir / "sim_eval", "verify-evidence-tree", tdir], capture_output=True).returncode == 0
        # ...is still caught: the database holds the digests taken at trial time.
        r = _promote(studied, studied / "digest_after")
        assert r.returncode == 0
        assert "differs from the one recorded at trial time" in r.stdout
        assert rec["candidate_id"] not in _winners(studied / "digest_after").values()
    finally:
        shutil.rmtree(tdir)
        shutil.copytree(backup, tdir, symlinks=True)


def test_an_unreachable_trial_directory_is_refused_unless_allowed(studied: Path) -> None:
    study = load(studied, "prom")
    first = studied / "reach_before"
    assert _promote(studied, first).returncode == 0
    rec = json.loads(next(first.glob(f"*/{RECORD_FILE}")).read_text())
    tdir = Path(rec["trial_dir"])
    moved = tdir.with_name(tdir.name + ".elsewhere")
    tdir.rename(moved)
    try:
        refused = _promote(studied, studied / "reach_refused")
        assert "not reachable" in refused.stdout and "--allow-unverified" in refused.stdout
        assert rec["candidate_id"] not in _winners(studied / "reach_refused").values()
        allowed = _promote(studied, studied / "reach_allowed", "--allow-unverified")
        assert allowed.returncode == 0
        recs = [json.loads(p.read_text()) for p in (studied / "reach_allowed").glob(f"*/{RECORD_FILE}")]
        mine = [r for r in recs if r["candidate_id"] == rec["candidate_id"]]
        assert mine and all(r["allow_unverified"] is True and r["evidence_verified"] is False for r in mine)
    finally:
        moved.rename(tdir)
    assert study.study_name == "prom"

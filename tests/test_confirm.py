"""The confirmation's verdict (pure: synthetic evidence, no simulator)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from tuner.config.budgets import Tier
from tuner.promotion.confirm import ConfirmSettings, Confirmation, judge, suites_tag
from tuner.stats.bounds import skew_t_lcb, wilson_upper
from tuner.stats.streams import CONFIRM_MC, CONFIRM_SUITE, SEARCH_MC, overlaps, search_seed, stream_base

TIER = Tier("balanced", max_kill_ucb=0.1, max_dd_cvar=1000.0, min_pnl_lcb_usd=20.0)


def _conf(pnl_mean: float = 50.0, kills: int = 0, failing: int = 0, n: int = 400) -> Confirmation:
    rng = np.random.default_rng(3)
    return Confirmation(1, "abc", Path("."), "k", "d" * 64, rng.normal(pnl_mean, 40, n),
                        np.abs(rng.normal(0, 200, n)), kills, n,
                        {"research_v1/baseline_gbm": (failing, 16), "adversarial_regression_v1/vol_x2": (0, 16)},
                        verified=True)


def test_a_candidate_inside_every_budget_passes_with_bounds_at_alpha_over_k() -> None:
    c = _conf()
    v = judge(c, TIER, 0.05, 5)
    assert v.passed and v.alpha == pytest.approx(0.01) and v.distance() == 0
    assert v.bound("kill_ucb") == pytest.approx(wilson_upper(0, 400, 0.01))
    assert v.bound("pnl_lcb") == pytest.approx(skew_t_lcb(c.pnl, 0.01))
    assert all(g.margin >= 0 for g in v.gates if not g.rule.startswith("scenario "))
    # More finalists, wider bounds.
    assert judge(c, TIER, 0.05, 10).bound("kill_ucb") > v.bound("kill_ucb")


def test_one_failing_fresh_seed_fails_the_tier_unless_a_rate_is_allowed() -> None:
    v = judge(_conf(failing=1), TIER, 0.05, 1)
    assert not v.passed and v.distance() == 1.0
    assert any("baseline_gbm fails on 1 of 16 fresh seeds: none allowed" in f for f in v.failures())
    lenient = Tier("balanced", 0.1, 1000.0, 20.0, max_scenario_failure_rate=0.5)
    assert judge(_conf(failing=1), lenient, 0.05, 1).passed


def test_failures_name_the_rule_the_bound_and_the_margin_and_distance_is_normalized() -> None:
    v = judge(_conf(pnl_mean=10.0, kills=60), TIER, 0.05, 1)
    words = v.failures()
    assert any(w.startswith("kill_ucb ") and "> max 0.1" in w for w in words)
    assert any(w.startswith("pnl_lcb ") and "< min 20" in w for w in words)
    kill, pnl = v.bound("kill_ucb"), v.bound("pnl_lcb")
    assert v.distance() == pytest.approx((kill - 0.1) / 0.1 + (20 - pnl) / 20)
    assert math.isfinite(v.distance())


def test_confirmation_streams_are_not_the_search_stream() -> None:
    s = ConfirmSettings(study_seed=42, ticks=600)
    assert s.mc_seed == stream_base(42, CONFIRM_MC) and s.suite_seed_base == stream_base(42, CONFIRM_SUITE)
    assert not overlaps((s.mc_seed, s.runs), (stream_base(42, SEARCH_MC), 10**6))
    assert s.key == f"confirm-mc_r2000_t600_s16_{suites_tag()}" and len(suites_tag()) == 8


def test_the_confirmation_stream_never_overlaps_the_searchs_seed_plus_i() -> None:
    # Studies made before the search-mc stream ran seed + i (i < mc_runs) and can still be
    # promoted; the confirmation's base is a 64-bit hash, apart from both search rules.
    for seed in [*range(0, 200), 2**31 - 1, 2**62, 2**63 - 1]:
        s = ConfirmSettings(study_seed=seed, ticks=600, runs=20_000)
        assert not overlaps((s.mc_seed, s.runs), (seed, 100_000)), seed
        assert not overlaps((s.suite_seed_base, 2 * 9 * 64), (seed, 100_000)), seed
        assert s.mc_seed != s.suite_seed_base
        s.check_disjoint(seed, 100_000)
        assert not overlaps((s.mc_seed, s.runs), (search_seed(seed), 100_000)), seed
        s.check_disjoint(search_seed(seed), 100_000)


def test_an_overlapping_confirmation_stream_is_refused(input_error) -> None:  # type: ignore[no-untyped-def]
    s = ConfirmSettings(study_seed=42, ticks=600, runs=100)
    input_error(lambda: s.check_disjoint(s.mc_seed - 10, 20), "overlaps the search's seeds")


def test_confirmation_defaults_come_from_the_environment_and_bad_values_are_one_line(
    monkeypatch: pytest.MonkeyPatch, input_error  # type: ignore[no-untyped-def]
) -> None:
    from tuner.promotion.confirm import DEFAULT_CONFIRM_RUNS, check_count, configured

    monkeypatch.delenv("TUNER_CONFIRM_RUNS", raising=False)
    assert configured("runs") == DEFAULT_CONFIRM_RUNS == 2000
    monkeypatch.setenv("TUNER_CONFIRM_RUNS", "300")
    assert configured("runs") == 300
    for bad in ("0", "-3", "1", "lots", "2.5"):
        monkeypatch.setenv("TUNER_CONFIRM_RUNS", bad)
        input_error(lambda: configured("runs"), "TUNER_CONFIRM_RUNS", "--confirm-runs")
    for value in (0, -1, True, "5", 1.5):
        input_error(lambda v=value: check_count("--finalists", v, 1), "--finalists")


def test_the_key_changes_with_the_suite_files(tmp_path: Path) -> None:
    from tuner.config.paths import suites  # noqa: PLC0415

    shipped = suites()
    copies = {}
    for name, path in shipped.items():
        copies[name] = tmp_path / path.name
        copies[name].write_bytes(path.read_bytes())
    assert suites_tag(copies) == suites_tag(shipped)
    first = next(iter(copies.values()))
    first.write_bytes(first.read_bytes() + b"\n# edited\n")
    assert suites_tag(copies) != suites_tag(shipped)


def test_the_cvar_bound_depends_on_the_runs_not_on_where_the_evidence_lies() -> None:
    """Two confirmations with the same runs (other directory, other pack digest) get the
    same bound: a moved study keeps its verdict, and candidates with identical runs tie."""
    import dataclasses  # noqa: PLC0415

    a = _conf()
    b = dataclasses.replace(a, directory=Path("/elsewhere"), digest="e" * 64)
    assert judge(a, TIER, 0.05, 5).bound("dd_cvar_ucb") == judge(b, TIER, 0.05, 5).bound("dd_cvar_ucb")
    c = dataclasses.replace(a, drawdown=a.drawdown * 1.01)
    assert judge(c, TIER, 0.05, 5).bound("dd_cvar_ucb") != judge(a, TIER, 0.05, 5).bound("dd_cvar_ucb")


def test_a_records_search_seeds_are_the_ones_its_trial_ran() -> None:
    from tuner.promotion.provenance import search_seeds
    from tuner.session.settings import search_first_seed

    base = search_seed(42)
    new = {"seed": base, "study_seed": 42, "seeds": {"stream": SEARCH_MC, "first": base, "count": 3}}
    assert search_seeds(new, {"seed": 42, "mc_runs": 3}) == [base, base + 1, base + 2]
    legacy = {"seed": 42, "mc_runs": 3, "seeds": {"first": 42, "count": 3, "rule": "run i uses seed + i"}}
    assert search_seeds(legacy, {"seed": 42, "mc_runs": 3}) == [42, 43, 44]
    assert search_seeds({"seeds": {"first": 2**64 - 1, "count": 2}}, {}) == [2**64 - 1, 0]  # wraps as the binary does
    assert search_first_seed({"seed": 42, "search_seeds": "stream search-mc/v1"}) == base
    assert search_first_seed({"seed": 42}) == 42  # a study made before the stream

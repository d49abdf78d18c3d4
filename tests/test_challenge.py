"""Challenger against incumbent on common random numbers (tuner.promotion.challenge):
the paired test decides on pnl_mean, a worse risk bound or a failing challenger keeps
the incumbent, a failing incumbent is replaced."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from tuner.config.budgets import Tier
from tuner.promotion.challenge import Rerun, compare
from tuner.promotion.decision import Candidate

TIER = Tier("aggressive", max_kill_ucb=0.2, max_dd_cvar=1000.0, min_pnl_lcb_usd=0.0)
SUITES = {"research_v1": True, "adversarial_regression_v1": True}


def _cand(cid: str, pnl: np.ndarray, dd: float = 100.0, kill_ucb: float = 0.1) -> Candidate:
    return Candidate(cid, 0, float(pnl.mean()), float(pnl.std(ddof=1)), float(pnl.mean() - 1.645 * pnl.std(ddof=1) / 20 ** 0.5),
                     0, 20, kill_ucb, dd, True, SUITES)


def _setup(shift: float) -> tuple[Candidate, dict[int, float], Rerun]:
    rng = np.random.default_rng(7)
    base = rng.normal(50.0, 30.0, 20)  # common to both: the seeds' market paths
    inc_pnl = base
    ch_pnl = base + shift + rng.normal(0.0, 1.0, 20)
    inc = _cand("inc", inc_pnl)
    rerun = Rerun(Path("."), inc, {100 + i: float(v) for i, v in enumerate(inc_pnl)}, ())
    return _cand("ch", ch_pnl), {100 + i: float(v) for i, v in enumerate(ch_pnl)}, rerun


def test_a_small_but_consistent_gain_wins_by_the_paired_test() -> None:
    ch, pnl, rerun = _setup(2.0)  # far below the runs' spread (30), but paired it is clear
    v = compare(ch, pnl, rerun, TIER, 0.05)
    assert v.replace and v.p_value is not None and v.p_value < 0.05 and v.n_pairs == 20


def test_the_same_candidate_or_a_worse_one_keeps_the_incumbent() -> None:
    for shift in (0.0, -2.0):
        ch, pnl, rerun = _setup(shift)
        v = compare(ch, pnl, rerun, TIER, 0.05)
        assert not v.replace and "not better by the paired test" in v.reasons[0]


def test_a_worse_risk_bound_keeps_the_incumbent_even_with_better_pnl() -> None:
    ch, pnl, rerun = _setup(5.0)
    v = compare(replace(ch, kill_ucb=0.15), pnl, rerun, TIER, 0.05)
    assert not v.replace and any("kill_ucb" in r and "worse" in r for r in v.reasons)
    # dd_cvar within the tier is reported, not required to improve, unless asked.
    assert compare(replace(ch, dd_cvar=150.0), pnl, rerun, TIER, 0.05).replace
    v = compare(replace(ch, dd_cvar=150.0), pnl, rerun, TIER, 0.05, risk=("kill_ucb", "dd_cvar"))
    assert not v.replace and any("dd_cvar" in r and "worse" in r for r in v.reasons)


def test_an_incumbent_failing_with_the_current_binary_is_reported_and_replaced() -> None:
    ch, pnl, rerun = _setup(-2.0)
    failing = Rerun(rerun.mc_dir, rerun.candidate, rerun.pnl_by_seed, ("dd_cvar 1200 > max 1000",))
    v = compare(ch, pnl, failing, TIER, 0.05)
    assert v.replace and not v.incumbent_passes and "no longer passes" in v.reasons[0]


def test_a_challenger_failing_the_tier_never_replaces() -> None:
    ch, pnl, rerun = _setup(5.0)
    v = compare(replace(ch, kill_ucb=0.5), pnl, rerun, TIER, 0.05)
    assert not v.replace and "challenger fails the tier" in v.reasons[0]


def test_runs_that_cannot_be_paired_keep_the_incumbent() -> None:
    ch, pnl, rerun = _setup(5.0)
    shifted = {s + 1000: v for s, v in pnl.items()}
    v = compare(ch, shifted, rerun, TIER, 0.05)
    assert not v.replace and "cannot be paired" in v.reasons[0]

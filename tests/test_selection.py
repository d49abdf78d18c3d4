from __future__ import annotations

import dataclasses
import itertools
import math
import random

import pytest

from tuner.config.budgets import Tier
from tuner.promotion.decision import (
    Candidate,
    dominates,
    pareto_front,
    pareto_ranks,
    select_winner,
    tier_failures,
    winner_order_key,
)

CONSERVATIVE = Tier("conservative", max_kill_ucb=0.05, max_dd_cvar=500.0, min_pnl_lcb_usd=10.0)
BALANCED = Tier("balanced", max_kill_ucb=0.10, max_dd_cvar=1000.0, min_pnl_lcb_usd=20.0)
BOTH_SUITES = {"research_v1": True, "adversarial_regression_v1": True}


def cand(candidate_id: str = "aaaaaaaaaaaa", trial_number: int = 0, **fields) -> Candidate:
    """A candidate that passes BALANCED unless told otherwise."""
    values = dict(
        pnl_mean=60.0,
        pnl_stdev=100.0,
        pnl_lcb=43.55,
        kill_k=0,
        kill_n=200,
        kill_ucb=0.0134,
        dd_cvar=400.0,
        evidence_verified=True,
        suites_passed=dict(BOTH_SUITES),
    )
    values.update(fields)
    return Candidate(candidate_id=candidate_id, trial_number=trial_number, **values)


def random_candidates(rng: random.Random, count: int, grid: bool = False) -> list[Candidate]:
    # A coarse grid makes ties on single objectives common, which is where the rules bite.
    def draw(low: float, high: float) -> float:
        return round(rng.uniform(low, high), 0 if grid else 6)

    return [
        cand(
            candidate_id=f"{rng.getrandbits(48):012x}",
            trial_number=i,
            pnl_mean=draw(-20, 100),
            pnl_lcb=draw(0, 60),
            kill_ucb=draw(0, 10) / 100,
            dd_cvar=draw(2, 12) * 100,
            evidence_verified=rng.random() > 0.1,
            suites_passed={
                "research_v1": rng.random() > 0.1,
                "adversarial_regression_v1": rng.random() > 0.1,
            },
        )
        for i in range(count)
    ]


# ---------------------------------------------------------------- tier_failures


def test_a_candidate_within_every_limit_passes():
    assert tier_failures(cand(), BALANCED) == []


def test_each_failed_rule_is_stated_in_words():
    assert tier_failures(cand(kill_ucb=0.07), CONSERVATIVE) == ["kill_ucb 0.07 > max 0.05"]
    assert tier_failures(cand(dd_cvar=612.5), CONSERVATIVE) == ["dd_cvar 612.5 > max 500"]
    assert tier_failures(cand(pnl_lcb=5.25), CONSERVATIVE) == ["pnl_lcb 5.25 < min 10"]
    assert tier_failures(cand(evidence_verified=False), BALANCED) == ["evidence not verified"]
    assert tier_failures(
        cand(suites_passed={"research_v1": True, "adversarial_regression_v1": False}), BALANCED
    ) == ["suite adversarial_regression_v1 not passed"]


def test_every_failed_rule_is_listed_in_rule_order():
    bad = cand(
        kill_ucb=0.2, dd_cvar=5000.0, pnl_lcb=-3.0, evidence_verified=False, suites_passed={}
    )
    assert tier_failures(bad, BALANCED) == [
        "kill_ucb 0.2 > max 0.1",
        "dd_cvar 5000 > max 1000",
        "pnl_lcb -3 < min 20",
        "evidence not verified",
        "suite research_v1 result missing",
        "suite adversarial_regression_v1 result missing",
    ]


def test_values_exactly_at_the_limits_pass():
    at_limits = cand(kill_ucb=0.05, dd_cvar=500.0, pnl_lcb=10.0)
    assert tier_failures(at_limits, CONSERVATIVE) == []


def test_values_just_past_the_limits_fail_and_the_message_shows_the_difference():
    past = cand(
        kill_ucb=math.nextafter(0.05, 1),
        dd_cvar=math.nextafter(500.0, 1e9),
        pnl_lcb=math.nextafter(10.0, 0),
    )
    failures = tier_failures(past, CONSERVATIVE)
    assert len(failures) == 3
    assert failures[0] == "kill_ucb 0.05000000000000001 > max 0.05"
    assert failures[1] == "dd_cvar 500.00000000000006 > max 500.0"
    assert failures[2] == "pnl_lcb 9.999999999999998 < min 10.0"


@pytest.mark.parametrize("stat", ["kill_ucb", "dd_cvar", "pnl_lcb"])
def test_a_missing_statistic_fails_closed(stat):
    assert tier_failures(cand(**{stat: None}), BALANCED) == [f"{stat} missing"]


@pytest.mark.parametrize("stat", ["kill_ucb", "dd_cvar", "pnl_lcb"])
def test_a_nan_statistic_fails_closed(stat):
    assert tier_failures(cand(**{stat: math.nan}), BALANCED) == [f"{stat} is NaN"]


def test_a_statistic_that_is_not_a_number_fails_closed():
    assert tier_failures(cand(dd_cvar="400"), BALANCED) == ["dd_cvar '400' is not a number"]


@pytest.mark.parametrize("field", ["max_kill_ucb", "max_dd_cvar", "min_pnl_lcb_usd"])
def test_a_nan_limit_fails_closed(field):
    tier = dataclasses.replace(BALANCED, **{field: math.nan})
    assert len(tier_failures(cand(), tier)) == 1


def test_unknown_evidence_status_fails_closed():
    assert tier_failures(cand(evidence_verified=None), BALANCED) == ["evidence status unknown"]


@pytest.mark.parametrize("suite", ["research_v1", "adversarial_regression_v1"])
def test_each_required_suite_must_be_present(suite):
    suites = dict(BOTH_SUITES)
    del suites[suite]
    assert tier_failures(cand(suites_passed=suites), BALANCED) == [f"suite {suite} result missing"]


@pytest.mark.parametrize("result", [False, None, 1, "true", "yes"])
def test_only_the_boolean_true_counts_as_passed(result):
    suites = {**BOTH_SUITES, "research_v1": result}
    assert tier_failures(cand(suites_passed=suites), BALANCED) == ["suite research_v1 not passed"]
    assert tier_failures(cand(evidence_verified=result), BALANCED) != []


def test_a_failed_extra_suite_also_fails_the_tier():
    suites = {**BOTH_SUITES, "stress_v2": False}
    assert tier_failures(cand(suites_passed=suites), BALANCED) == ["suite stress_v2 not passed"]
    assert tier_failures(cand(suites_passed={**BOTH_SUITES, "stress_v2": True}), BALANCED) == []


# ---------------------------------------------------------------- dominance


def test_dominance_examples():
    base = cand(pnl_mean=50.0, kill_ucb=0.05, dd_cvar=500.0)
    assert dominates(cand(pnl_mean=51.0, kill_ucb=0.05, dd_cvar=500.0), base)
    assert dominates(cand(pnl_mean=50.0, kill_ucb=0.04, dd_cvar=500.0), base)
    assert dominates(cand(pnl_mean=50.0, kill_ucb=0.05, dd_cvar=499.0), base)
    assert not dominates(cand(pnl_mean=51.0, kill_ucb=0.06, dd_cvar=400.0), base)
    assert not dominates(base, cand(pnl_mean=51.0, kill_ucb=0.06, dd_cvar=400.0))
    assert not dominates(
        cand(pnl_mean=50.0, kill_ucb=0.05, dd_cvar=500.0, candidate_id="b" * 12), base
    )


def test_dominance_ignores_everything_but_the_three_objectives():
    a = cand(pnl_mean=50.0, kill_ucb=0.05, dd_cvar=500.0, pnl_lcb=0.0, evidence_verified=False)
    b = cand(pnl_mean=49.0, kill_ucb=0.05, dd_cvar=500.0, pnl_lcb=99.0)
    assert dominates(a, b)


@pytest.mark.parametrize("grid", [False, True], ids=["continuous", "with ties"])
def test_dominance_is_irreflexive_asymmetric_and_transitive(grid):
    rng = random.Random(2024 + grid)
    points = random_candidates(rng, 60, grid=grid)
    for a in points:
        assert not dominates(a, a)
    for a, b in itertools.permutations(points, 2):
        assert not (dominates(a, b) and dominates(b, a))
    for a, b, c in itertools.permutations(points[:30], 3):
        if dominates(a, b) and dominates(b, c):
            assert dominates(a, c)


@pytest.mark.parametrize("stat", ["pnl_mean", "kill_ucb", "dd_cvar"])
def test_a_candidate_with_a_missing_objective_neither_dominates_nor_is_dominated(stat):
    best = cand(pnl_mean=1e9, kill_ucb=0.0, dd_cvar=0.0)
    worst = cand(pnl_mean=-1e9, kill_ucb=1.0, dd_cvar=1e9)
    for missing in (None, math.nan):
        odd = cand(**{stat: missing})
        assert not dominates(best, odd) and not dominates(odd, worst)


# ---------------------------------------------------------------- Pareto front and ranks


def test_pareto_ranks_of_a_known_set():
    a = cand("a" * 12, pnl_mean=100.0, kill_ucb=0.10, dd_cvar=900.0)
    b = cand("b" * 12, pnl_mean=50.0, kill_ucb=0.02, dd_cvar=300.0)
    c = cand("c" * 12, pnl_mean=40.0, kill_ucb=0.03, dd_cvar=400.0)  # dominated by b
    d = cand("d" * 12, pnl_mean=30.0, kill_ucb=0.04, dd_cvar=500.0)  # dominated by b and c
    e = cand("e" * 12, pnl_mean=50.0, kill_ucb=0.02, dd_cvar=300.0)  # equal to b: same rank
    assert pareto_ranks([a, b, c, d, e]) == [1, 1, 2, 3, 1]
    assert pareto_front([d, c, b, a, e]) == [a, b, e]


def test_pareto_ranks_of_nothing_is_nothing():
    assert pareto_ranks([]) == []
    assert pareto_front([]) == []


def test_pareto_ranks_satisfy_the_definition_on_random_points():
    rng = random.Random(99)
    points = random_candidates(rng, 120, grid=True)
    ranks = pareto_ranks(points)
    for i, a in enumerate(points):
        for j, b in enumerate(points):
            if dominates(a, b):
                assert ranks[i] < ranks[j]
        if ranks[i] > 1:
            assert any(ranks[j] == ranks[i] - 1 and dominates(b, a) for j, b in enumerate(points))


def test_the_front_is_exactly_the_non_dominated_candidates():
    rng = random.Random(5)
    points = random_candidates(rng, 100)
    front = pareto_front(points)
    expected = [p for p in points if not any(dominates(q, p) for q in points)]
    assert sorted(front, key=winner_order_key) == sorted(expected, key=winner_order_key)
    assert front == sorted(front, key=winner_order_key)


def test_the_front_does_not_depend_on_input_order():
    rng = random.Random(17)
    points = random_candidates(rng, 80, grid=True)
    expected = pareto_front(points)
    for _ in range(10):
        rng.shuffle(points)
        assert pareto_front(points) == expected


# ---------------------------------------------------------------- winner order


def test_higher_mean_pnl_wins_first():
    better = cand("z" * 12, pnl_mean=61.0, dd_cvar=900.0, kill_ucb=0.09)
    worse = cand("a" * 12, pnl_mean=60.0, dd_cvar=100.0, kill_ucb=0.01)
    assert sorted([worse, better], key=winner_order_key) == [better, worse]


def test_equal_pnl_is_decided_by_lower_drawdown_cvar():
    better = cand("z" * 12, dd_cvar=399.0, kill_ucb=0.09)
    worse = cand("a" * 12, dd_cvar=400.0, kill_ucb=0.01)
    assert sorted([worse, better], key=winner_order_key) == [better, worse]


def test_equal_pnl_and_drawdown_are_decided_by_lower_kill_ucb():
    better = cand("z" * 12, kill_ucb=0.01)
    worse = cand("a" * 12, kill_ucb=0.02)
    assert sorted([worse, better], key=winner_order_key) == [better, worse]


def test_equal_metrics_are_decided_by_candidate_id_ascending():
    better = cand("0123456789ab", trial_number=9)
    worse = cand("0123456789ac", trial_number=1)
    assert sorted([worse, better], key=winner_order_key) == [better, worse]


def test_the_same_configuration_in_two_trials_is_ordered_by_trial_number():
    first = cand("0123456789ab", trial_number=3)
    again = cand("0123456789ab", trial_number=12)
    assert sorted([again, first], key=winner_order_key) == [first, again]


def test_winner_order_key_is_the_specified_tuple():
    c = cand("0123456789ab", trial_number=4, pnl_mean=12.5, dd_cvar=300.0, kill_ucb=0.03)
    assert winner_order_key(c) == (-12.5, 300.0, 0.03, "0123456789ab", 4)


def test_missing_statistics_sort_last_instead_of_breaking_the_order():
    complete = cand("b" * 12, pnl_mean=-1000.0)
    incomplete = cand("a" * 12, pnl_mean=math.nan)
    assert sorted([incomplete, complete], key=winner_order_key) == [complete, incomplete]
    assert sorted([complete, incomplete], key=winner_order_key) == [complete, incomplete]


# ---------------------------------------------------------------- select_winner


def test_the_winner_is_the_best_passing_candidate_not_the_best_overall():
    richest_but_risky = cand("a" * 12, pnl_mean=500.0, kill_ucb=0.3)
    winner = cand("b" * 12, pnl_mean=80.0)
    runner_up = cand("c" * 12, pnl_mean=70.0)
    selection = select_winner([runner_up, richest_but_risky, winner], BALANCED)
    assert selection.winner == winner
    assert selection.passing == (winner, runner_up)
    assert selection.closest is None and selection.closest_failures == ()
    assert selection.tier == BALANCED


def test_no_candidates_gives_no_winner_and_nothing_closest():
    selection = select_winner([], BALANCED)
    assert selection.winner is None and selection.passing == ()
    assert selection.closest is None and selection.closest_failures == ()


def test_when_nothing_passes_the_closest_candidate_is_the_one_with_fewest_failures():
    two_failures = cand("a" * 12, pnl_mean=900.0, kill_ucb=0.5, dd_cvar=5000.0)
    one_failure = cand("b" * 12, pnl_mean=10.0, pnl_lcb=15.0)
    selection = select_winner([two_failures, one_failure], BALANCED)
    assert selection.winner is None and selection.passing == ()
    assert selection.closest == one_failure
    assert selection.closest_failures == ("pnl_lcb 15 < min 20",)


def test_closest_candidates_with_equal_failure_counts_are_ranked_in_winner_order():
    lower_pnl = cand("a" * 12, pnl_mean=50.0, evidence_verified=False)
    higher_pnl = cand("b" * 12, pnl_mean=55.0, suites_passed={"research_v1": True})
    for order in itertools.permutations([lower_pnl, higher_pnl]):
        selection = select_winner(order, BALANCED)
        assert selection.closest == higher_pnl
        assert selection.closest_failures == ("suite adversarial_regression_v1 result missing",)


def test_conservative_can_be_failed_only_by_the_kill_bound():
    # 0 kills in 50 runs: Wilson upper bound 0.0513 > 0.05, however good the rest is.
    from tuner.stats.bounds import wilson_upper

    never_killed = cand(kill_k=0, kill_n=50, kill_ucb=wilson_upper(0, 50, 0.05))
    selection = select_winner([never_killed], CONSERVATIVE)
    assert selection.winner is None
    assert selection.closest_failures == ("kill_ucb 0.0513332 > max 0.05",)


def _reference_winner(candidates: list[Candidate], tier: Tier) -> Candidate | None:
    passing = [
        c
        for c in candidates
        if c.kill_ucb <= tier.max_kill_ucb
        and c.dd_cvar <= tier.max_dd_cvar
        and c.pnl_lcb >= tier.min_pnl_lcb_usd
        and c.evidence_verified is True
        and all(
            c.suites_passed.get(s) is True for s in ("research_v1", "adversarial_regression_v1")
        )
    ]
    if not passing:
        return None
    return max(
        passing,
        key=lambda c: (
            c.pnl_mean,
            -c.dd_cvar,
            -c.kill_ucb,
            [-ord(ch) for ch in c.candidate_id],
            -c.trial_number,
        ),
    )


@pytest.mark.parametrize("seed", range(20))
def test_select_winner_agrees_with_a_direct_reading_of_the_rules(seed):
    rng = random.Random(seed)
    points = random_candidates(rng, rng.randint(0, 60), grid=True)
    for tier in (CONSERVATIVE, BALANCED):
        assert select_winner(points, tier).winner == _reference_winner(points, tier)


@pytest.mark.parametrize("seed", range(10))
def test_select_winner_does_not_depend_on_input_order(seed):
    rng = random.Random(1000 + seed)
    points = random_candidates(rng, 40, grid=True)
    # Duplicates of one configuration in later trials: ties on every metric and on the id.
    points += [dataclasses.replace(p, trial_number=p.trial_number + 100) for p in points[:5]]
    expected = select_winner(points, BALANCED)
    for _ in range(10):
        rng.shuffle(points)
        assert select_winner(points, BALANCED) == expected


def test_select_winner_accepts_any_iterable():
    winner = cand()
    assert select_winner(iter([winner]), BALANCED).winner == winner


# ---------------------------------------------------------------- a decision table

AGGRESSIVE = Tier("aggressive", max_kill_ucb=0.15, max_dd_cvar=2000.0, min_pnl_lcb_usd=30.0)

# Hand-built trials, each built to land in a known place of the three tiers.
TABLE_CANDIDATES = [
    cand("c0ffee000001", 1, pnl_mean=25.0, pnl_lcb=12.0, kill_ucb=0.013, dd_cvar=450.0),   # conservative only
    cand("c0ffee000002", 2, pnl_mean=55.0, pnl_lcb=35.0, kill_ucb=0.08, dd_cvar=900.0),    # balanced + aggressive
    cand("c0ffee000003", 3, pnl_mean=90.0, pnl_lcb=31.0, kill_ucb=0.14, dd_cvar=1900.0),   # aggressive only
    cand("c0ffee000004", 4, pnl_mean=120.0, pnl_lcb=80.0, kill_ucb=0.02, dd_cvar=300.0,
         suites_passed={"research_v1": True, "adversarial_regression_v1": False}),         # best, but fails a suite
    cand("c0ffee000005", 5, pnl_mean=95.0, pnl_lcb=70.0, kill_ucb=0.16, dd_cvar=300.0),   # kill bound too high everywhere
    cand("c0ffee000006", 6, pnl_mean=55.0, pnl_lcb=36.0, kill_ucb=0.08, dd_cvar=800.0),   # ties #2 on pnl, lower dd
]


@pytest.mark.parametrize(
    "tier,winner",
    [(CONSERVATIVE, "c0ffee000001"), (BALANCED, "c0ffee000006"), (AGGRESSIVE, "c0ffee000003")],
)
def test_decision_table_of_hand_built_trials(tier: Tier, winner: str) -> None:
    for order in (TABLE_CANDIDATES, list(reversed(TABLE_CANDIDATES))):
        selection = select_winner(order, tier)
        assert selection.winner is not None and selection.winner.candidate_id == winner
    assert tier_failures(TABLE_CANDIDATES[3], tier) == ["suite adversarial_regression_v1 not passed"]
    assert any(f.startswith("kill_ucb 0.16 >") for f in tier_failures(TABLE_CANDIDATES[4], tier))

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from tuner.stats.bounds import normal_lcb, wilson_interval, wilson_upper, z_one_sided

Z95_TWO_SIDED = 1.959964


def test_z_one_sided_matches_the_normal_table():
    assert z_one_sided(0.05) == pytest.approx(1.6448536269514722, abs=1e-12)
    assert z_one_sided(0.025) == pytest.approx(Z95_TWO_SIDED, abs=1e-6)
    assert z_one_sided(0.5) == pytest.approx(0.0, abs=1e-12)


def test_one_sided_upper_for_no_kills_in_50_runs_is_0_05133():
    assert wilson_upper(0, 50, 0.05) == pytest.approx(0.05133, abs=5e-6)


@pytest.mark.parametrize("n", [1, 10, 50, 52, 200, 10_000])
def test_one_sided_upper_for_no_kills_is_z_squared_over_n_plus_z_squared(n):
    z2 = z_one_sided(0.05) ** 2
    assert wilson_upper(0, n, 0.05) == pytest.approx(z2 / (n + z2), rel=1e-12)


def test_two_sided_95_upper_for_no_kills_in_50_runs_is_0_07135():
    lower, upper = wilson_interval(0, 50, Z95_TWO_SIDED)
    assert lower == 0.0
    assert upper == pytest.approx(0.07135, abs=5e-6)


def test_wilson_interval_5_of_20_hand_computed():
    # p = 0.25, z^2 = 3.841459, 1 + z^2/n = 1.192073
    # centre = (0.25 + 3.841459/40) / 1.192073            = 0.290281
    # half   = (1.959964/1.192073) * sqrt(0.25*0.75/20 + 3.841459/1600)
    #        = 1.644164 * sqrt(0.009375 + 0.002400912)    = 0.178420
    lower, upper = wilson_interval(5, 20, Z95_TWO_SIDED)
    assert lower == pytest.approx(0.290281 - 0.178420, abs=2e-6)
    assert upper == pytest.approx(0.290281 + 0.178420, abs=2e-6)


def test_wilson_interval_50_of_100_hand_computed_is_symmetric_about_one_half():
    # p = 0.5 makes the centre exactly 0.5;
    # half = (1.959964/1.03841459) * sqrt(0.0025 + 3.841459/40000) = 1.887458 * 0.0509513 = 0.096168
    lower, upper = wilson_interval(50, 100, Z95_TWO_SIDED)
    assert lower == pytest.approx(0.5 - 0.096168, abs=2e-6)
    assert upper == pytest.approx(0.5 + 0.096168, abs=2e-6)
    assert lower + upper == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize(
    ("k", "n", "expected"),
    [
        (81, 263, (0.2553, 0.3662)),
        (15, 148, (0.0624, 0.1605)),
        (0, 20, (0.0000, 0.1611)),
        (1, 29, (0.0061, 0.1718)),
    ],
)
def test_wilson_interval_matches_newcombe_1998_table(k, n, expected):
    # Newcombe, "Two-sided confidence intervals for the single proportion",
    # Statistics in Medicine 17 (1998), method 3 (score interval without correction).
    lower, upper = wilson_interval(k, n, Z95_TWO_SIDED)
    assert (round(lower, 4), round(upper, 4)) == expected


def test_wilson_bounds_are_the_roots_of_the_score_equation():
    rng = random.Random(7)
    for _ in range(200):
        n = rng.randint(1, 500)
        k = rng.randint(0, n)
        z = rng.uniform(0.5, 3.5)
        p_hat = k / n
        for p in wilson_interval(k, n, z):
            assert (p_hat - p) ** 2 == pytest.approx(z * z * p * (1 - p) / n, abs=1e-12)


def test_wilson_interval_brackets_the_observed_rate_inside_zero_one():
    rng = random.Random(11)
    for _ in range(500):
        n = rng.randint(1, 1000)
        k = rng.randint(0, n)
        lower, upper = wilson_interval(k, n, rng.uniform(0.1, 4.0))
        assert 0.0 <= lower <= k / n <= upper <= 1.0


def test_no_events_give_a_lower_bound_of_exactly_zero_and_all_events_an_upper_of_exactly_one():
    for n in (1, 3, 50, 997):
        assert wilson_interval(0, n, Z95_TWO_SIDED)[0] == 0.0
        assert wilson_interval(n, n, Z95_TWO_SIDED)[1] == 1.0
        assert wilson_upper(n, n, 0.05) == 1.0


def test_wilson_upper_grows_with_kills_and_shrinks_with_runs():
    uppers = [wilson_upper(k, 100, 0.05) for k in range(101)]
    assert all(a < b for a, b in zip(uppers, uppers[1:]))
    assert wilson_upper(3, 100, 0.05) > wilson_upper(3, 200, 0.05)


def test_wilson_upper_is_wider_at_a_smaller_alpha():
    assert wilson_upper(2, 50, 0.01) > wilson_upper(2, 50, 0.05) > wilson_upper(2, 50, 0.2)


def test_one_sided_upper_is_the_two_sided_interval_at_the_one_sided_z():
    for k, n, alpha in [(0, 50, 0.05), (3, 40, 0.1), (17, 17, 0.01), (5, 200, 0.025)]:
        assert wilson_upper(k, n, alpha) == wilson_interval(k, n, z_one_sided(alpha))[1]


def test_integral_floats_and_numpy_integers_are_accepted_as_counts():
    expected = wilson_upper(3, 50, 0.05)
    assert wilson_upper(3.0, 50.0, 0.05) == expected
    assert wilson_upper(np.int64(3), np.int64(50), 0.05) == expected


def test_nan_counts_give_nan():
    assert math.isnan(wilson_upper(math.nan, 50, 0.05))
    assert math.isnan(wilson_upper(0, math.nan, 0.05))
    assert all(math.isnan(x) for x in wilson_interval(math.nan, 10, Z95_TWO_SIDED))


def test_normal_lcb_of_mean_100_sd_20_over_100_runs_is_96_71():
    assert normal_lcb(100.0, 20.0, 100, 0.05) == pytest.approx(96.71, abs=5e-3)
    assert normal_lcb(100.0, 20.0, 100, 0.05) == pytest.approx(
        100 - 1.6448536269514722 * 2.0, rel=1e-12
    )


def test_normal_lcb_with_zero_spread_is_the_mean_and_widens_at_smaller_alpha():
    assert normal_lcb(-12.5, 0.0, 7, 0.05) == -12.5
    assert normal_lcb(10.0, 5.0, 30, 0.01) < normal_lcb(10.0, 5.0, 30, 0.05)


def test_normal_lcb_returns_nan_for_a_nan_statistic():
    # The sample standard deviation of a single run is undefined (NaN): fail closed.
    assert math.isnan(normal_lcb(10.0, math.nan, 1, 0.05))
    assert math.isnan(normal_lcb(math.nan, 1.0, 10, 0.05))
    assert math.isnan(normal_lcb(1.0, 1.0, math.nan, 0.05))


@pytest.mark.parametrize("alpha", [0, 0.0, 1, 1.0, -0.05, 1.5, math.nan, math.inf])
def test_alpha_outside_zero_one_is_refused(alpha):
    with pytest.raises(ValueError, match="alpha"):
        z_one_sided(alpha)
    with pytest.raises(ValueError, match="alpha"):
        wilson_upper(0, 10, alpha)
    with pytest.raises(ValueError, match="alpha"):
        normal_lcb(1.0, 1.0, 10, alpha)


@pytest.mark.parametrize("alpha", [True, "0.05", None])
def test_alpha_that_is_not_a_number_is_refused(alpha):
    with pytest.raises(TypeError, match="alpha"):
        z_one_sided(alpha)


@pytest.mark.parametrize(
    ("k", "n", "match"),
    [
        (0, 0, "n must be > 0"),
        (0, -5, "n must be > 0"),
        (51, 50, "0 <= k <= n"),
        (-1, 50, "0 <= k <= n"),
        (2.5, 50, "k must be a whole number"),
        (1, 10.5, "n must be a whole number"),
        (0, math.inf, "n must be a whole number"),
    ],
)
def test_impossible_counts_are_refused(k, n, match):
    with pytest.raises(ValueError, match=match):
        wilson_upper(k, n, 0.05)
    with pytest.raises(ValueError, match=match):
        wilson_interval(k, n, Z95_TWO_SIDED)


@pytest.mark.parametrize(("k", "n"), [(True, 10), (1, "10"), (None, 10)])
def test_counts_that_are_not_numbers_are_refused(k, n):
    with pytest.raises(TypeError):
        wilson_upper(k, n, 0.05)


@pytest.mark.parametrize("z", [0.0, -1.0, math.inf, math.nan])
def test_wilson_interval_needs_a_positive_finite_z(z):
    with pytest.raises(ValueError, match="z must be positive"):
        wilson_interval(1, 10, z)


@pytest.mark.parametrize(
    ("std", "n", "match"),
    [
        (-1.0, 10, "std must be >= 0"),
        (1.0, 0, "n must be a whole number >= 1"),
        (1.0, 2.5, "whole number"),
    ],
)
def test_normal_lcb_refuses_impossible_arguments(std, n, match):
    with pytest.raises(ValueError, match=match):
        normal_lcb(1.0, std, n, 0.05)

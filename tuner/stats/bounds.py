"""Confidence bounds used to gate promotion: Wilson score for kill rates, normal for PnL in
the search; over the confirmation runs, Johnson's skew-corrected t for the mean PnL, a
studentized bootstrap for the drawdown CVaR, Clopper-Pearson for scenario failure rates
and Bonferroni over a tier's finalists (see :data:`METHODS`).

This module is the only place in the Python code where a bound is computed (the study's
objectives, the promoter's gates and the budgets' reachability checks all call it); the simulator's Rust
implementation of the two-sided Wilson interval is tested against the same vectors
(0 kills of 50 runs: two-sided 95 % upper 0.07135, one-sided alpha 0.05 upper 0.05133).

Arguments that cannot be right (a count above its total, alpha outside (0, 1)) raise
``ValueError`` or ``TypeError``: they come from the program, not from a user, because
user-supplied alphas are checked when the budgets file is loaded. A statistic that is
NaN (e.g. the standard deviation of a single run) gives NaN, so a gate that compares
it fails closed instead of the program stopping.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Real
from statistics import NormalDist

import numpy as np

__all__ = [
    "METHODS",
    "GateBounds",
    "bonferroni",
    "clopper_pearson_upper",
    "cvar_estimate",
    "cvar_ucb",
    "gate_bounds",
    "normal_lcb",
    "skew_t_lcb",
    "wilson_interval",
    "wilson_upper",
    "z_one_sided",
]

_STANDARD_NORMAL = NormalDist()


def z_one_sided(alpha: float) -> float:
    """Return the standard normal quantile ``z`` with ``P(Z > z) = alpha``.

    This is ``statistics.NormalDist().inv_cdf(1 - alpha)``: 1.6448536... for alpha 0.05.
    Raises ``ValueError`` unless ``0 < alpha < 1``.
    """
    _check_alpha(alpha)
    return _STANDARD_NORMAL.inv_cdf(1.0 - alpha)


def wilson_interval(k: float, n: float, z: float) -> tuple[float, float]:
    """Return the Wilson score interval ``(lower, upper)`` for ``k`` successes in ``n`` trials.

    ``z`` is the normal quantile for the interval's level: 1.959964 for a two-sided
    95 % interval, ``z_one_sided(alpha)`` when only one side is used. The bounds are
    the two roots ``p`` of ``(k/n - p)**2 = z**2 * p * (1 - p) / n`` and always satisfy
    ``0 <= lower <= k/n <= upper <= 1``; with ``k = 0`` the lower bound is exactly 0
    and with ``k = n`` the upper bound is exactly 1.

    ``k`` and ``n`` must be whole numbers (an ``int`` or an integral ``float``) with
    ``n > 0`` and ``0 <= k <= n``; ``z`` must be positive and finite. A NaN ``k`` or
    ``n`` gives ``(nan, nan)``.
    """
    if _is_nan(k) or _is_nan(n):
        return (math.nan, math.nan)
    _check_count(k, n)
    if not isinstance(z, Real) or isinstance(z, bool):
        raise TypeError(f"z must be a real number, got {z!r}")
    if not (math.isfinite(z) and z > 0):
        raise ValueError(f"z must be positive and finite, got {z!r}")
    k, n, z = float(k), float(n), float(z)
    p_hat = k / n
    z2 = z * z
    denominator = 1.0 + z2 / n
    centre = (p_hat + z2 / (2.0 * n)) / denominator
    half_width = (z / denominator) * math.sqrt(p_hat * (1.0 - p_hat) / n + z2 / (4.0 * n * n))
    # At k = 0 and k = n the exact bound is 0 (resp. 1) but rounding can leave a
    # residue of 1e-17 or push past 1; pin them so a 0-of-n lower bound is exactly 0.
    lower = 0.0 if k == 0 else max(0.0, centre - half_width)
    upper = 1.0 if k == n else min(1.0, centre + half_width)
    return (lower, upper)


def wilson_upper(k: float, n: float, alpha: float) -> float:
    """Return the one-sided Wilson score upper bound at level ``alpha`` for ``k`` of ``n``.

    The true rate is below this bound with confidence ``1 - alpha``. With no events it
    equals ``z**2 / (n + z**2)`` (0.05133 for 0 of 50 at alpha 0.05), so a kill limit
    below that value cannot be met with ``n`` runs, however safe the candidate.
    Validation as in :func:`wilson_interval` and :func:`z_one_sided`; a NaN ``k`` or
    ``n`` gives NaN.
    """
    z = z_one_sided(alpha)
    return wilson_interval(k, n, z)[1]


def normal_lcb(mean: float, std: float, n: float, alpha: float) -> float:
    """Return the one-sided lower confidence bound ``mean - z * std / sqrt(n)`` of a mean.

    ``z = z_one_sided(alpha)``; ``std`` is the sample standard deviation of the ``n``
    observations (100 runs with mean 100 and sd 20 give 96.71 at alpha 0.05). Returns
    NaN when ``mean`` or ``std`` is NaN. Raises ``ValueError`` when ``std`` is negative,
    ``n`` is not a whole number >= 1, or alpha is outside (0, 1).
    """
    z = z_one_sided(alpha)
    for label, value in (("mean", mean), ("std", std), ("n", n)):
        if not isinstance(value, Real) or isinstance(value, bool):
            raise TypeError(f"{label} must be a real number, got {value!r}")
    if _is_nan(n):
        return math.nan
    if not (float(n).is_integer() and n >= 1):
        raise ValueError(f"n must be a whole number >= 1, got {n!r}")
    if _is_nan(mean) or _is_nan(std):
        return math.nan
    if std < 0:
        raise ValueError(f"std must be >= 0, got {std!r}")
    return float(mean) - z * float(std) / math.sqrt(float(n))


@dataclass(frozen=True)
class GateBounds:
    """The two one-sided bounds a tier gates on, at one ``alpha``."""

    alpha: float
    pnl_lcb: float
    kill_ucb: float


def gate_bounds(pnl_mean: float, pnl_stdev: float, kill_k: float, n: float, alpha: float) -> GateBounds:
    """``pnl_lcb`` (:func:`normal_lcb`) and ``kill_ucb`` (:func:`wilson_upper`) of ``n``
    runs at ``alpha``. A statistic that is missing (NaN) or an impossible count gives NaN
    bounds, so every gate that reads them fails closed."""
    usable = all(isinstance(v, Real) and not isinstance(v, bool) and math.isfinite(v) for v in (kill_k, n))
    if not usable or n <= 0 or not float(n).is_integer() or not 0 <= kill_k <= n:
        return GateBounds(alpha, math.nan, math.nan)
    return GateBounds(
        alpha=alpha,
        pnl_lcb=normal_lcb(pnl_mean, pnl_stdev, int(n), alpha),
        kill_ucb=wilson_upper(int(kill_k), int(n), alpha),
    )


def _check_alpha(alpha: float) -> None:
    if not isinstance(alpha, Real) or isinstance(alpha, bool):
        raise TypeError(f"alpha must be a real number, got {alpha!r}")
    if not 0.0 < alpha < 1.0:  # also rejects NaN
        raise ValueError(f"alpha must satisfy 0 < alpha < 1, got {alpha!r}")


def _check_count(k: float, n: float) -> None:
    for label, value in (("k", k), ("n", n)):
        if not isinstance(value, Real) or isinstance(value, bool):
            raise TypeError(f"{label} must be a whole number, got {value!r}")
        if not (math.isfinite(value) and float(value).is_integer()):
            raise ValueError(f"{label} must be a whole number, got {value!r}")
    if n <= 0:
        raise ValueError(f"n must be > 0, got {n!r}")
    if not 0 <= k <= n:
        raise ValueError(f"k must satisfy 0 <= k <= n, got k={k!r}, n={n!r}")


def _is_nan(value: object) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool) and math.isnan(value)


# ---------------------------------------------------------------------------------------
# Bounds over the runs themselves (the promoter's confirmation evidence)

#: How each bound is computed, in words, for records and explanations.
METHODS = {
    "pnl_lcb": "Johnson (1978) skew-corrected t lower bound of the mean, t quantile with n - 1 df",
    "kill_ucb": "one-sided Wilson score upper bound",
    "dd_cvar_ucb": "studentized (bootstrap-t) upper bound of CVaR 95 %, influence-function standard error, "
                   "seeded resamples",
    "scenario_failure_ucb": "one-sided Clopper-Pearson (exact binomial) upper bound",
    "multiplicity": "Bonferroni: each of the K finalists of a tier is tested at alpha / K",
}


def _t_quantile(alpha: float, df: float) -> float:
    from scipy.stats import t as student_t  # noqa: PLC0415 (scipy.stats costs 0.6 s to import)

    return float(student_t.ppf(1.0 - alpha, df))


def skew_t_lcb(x: Sequence[float] | np.ndarray, alpha: float) -> float:
    """One-sided lower confidence bound at ``alpha`` for the mean of ``x``, corrected for
    skewness (Johnson 1978, JASA 73:536-544).

    With ``d = xbar - mu``, ``s`` the sample sd, ``g`` the third central moment and
    ``a = g / (6 s^2 n)``, ``b = g / (3 s^4)``, Johnson's statistic
    ``t1 = (d + a + b d^2) / (s / sqrt(n))`` is close to Student's t with ``n - 1`` degrees
    of freedom even when ``x`` is skewed. The bound is ``xbar - d`` for the root ``d`` of
    ``t1 = t_{1 - alpha, n - 1}`` on the branch through ``d = c - a`` (``c = t s / sqrt(n)``);
    when that root does not exist (extreme skew at tiny n) the plain t bound minus ``|a|``
    is returned. Left-skewed PnL (``g < 0``) lowers the bound below the t bound.
    NaN when fewer than 2 finite values or any value is not finite.
    """
    arr = np.asarray(x, dtype=float)
    return float(_skew_t_lcb_rows(arr.reshape(1, -1), alpha)[0])


def _skew_t_lcb_rows(x: np.ndarray, alpha: float) -> np.ndarray:
    """:func:`skew_t_lcb` of every row of the 2-D array ``x`` (vectorised)."""
    _check_alpha(alpha)
    n = x.shape[1]
    if n < 2:
        return np.full(x.shape[0], math.nan)
    mean = x.mean(axis=1)
    dev = x - mean[:, None]
    s2 = (dev**2).sum(axis=1) / (n - 1)
    g = (dev**3).sum(axis=1) * n / ((n - 1) * (n - 2)) if n > 2 else np.zeros_like(mean)
    s = np.sqrt(s2)
    c = _t_quantile(alpha, n - 1) * s / math.sqrt(n)
    with np.errstate(divide="ignore", invalid="ignore"):
        a = g / (6.0 * s2 * n)
        b = g / (3.0 * s2 * s2)
        # b d^2 + d + (a - c) = 0; the root continuous in b at b = 0 is
        # d = 2 (c - a) / (1 + sqrt(1 - 4 b (a - c))).
        disc = 1.0 - 4.0 * b * (a - c)
        d = 2.0 * (c - a) / (1.0 + np.sqrt(np.where(disc >= 0, disc, np.nan)))
    fallback = c + np.abs(np.nan_to_num(a))
    d = np.where(np.isfinite(d), d, fallback)
    d = np.where(s == 0, 0.0, d)
    out = mean - d
    finite = np.isfinite(x).all(axis=1)
    return np.where(finite, out, math.nan)


def cvar_estimate(x: Sequence[float] | np.ndarray, level: float = 0.95) -> float:
    """CVaR at ``level`` as ``monte_carlo`` computes ``dd_cvar``: the mean of the values at
    or above the ``level`` quantile (linear interpolation)."""
    arr = np.asarray(x, dtype=float).reshape(1, -1)
    return float(_cvar_rows(arr, level)[0][0])


def _cvar_rows(x: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    q = np.quantile(x, level, axis=-1, keepdims=True)
    tail = x >= q
    return (x * tail).sum(-1) / tail.sum(-1), q[..., 0]


def _cvar_and_se(x: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    cvar, q = _cvar_rows(x, level)
    excess = np.maximum(x - q[..., None], 0.0)
    se = excess.std(axis=-1, ddof=1) / ((1.0 - level) * math.sqrt(x.shape[-1]))
    return cvar, se


def cvar_ucb(x: Sequence[float] | np.ndarray, alpha: float, *, level: float = 0.95, seed: int = 0,
             resamples: int = 999) -> float:
    """One-sided upper confidence bound at ``alpha`` for the CVaR at ``level`` of ``x``
    (the drawdown CVaR 95 % of the runs): a studentized bootstrap (bootstrap-t, Efron &
    Tibshirani 1993 ch. 12). The standard error is the influence-function one,
    ``sd((x - VaR)+) / ((1 - level) sqrt(n))``; the bound is
    ``cvar - q_alpha(T*) * se`` with ``T* = (cvar* - cvar) / se*`` over ``resamples``
    resamples drawn with ``numpy.random.default_rng(seed)`` (same seed, same bound).

    Coverage measured in ``tests/test_gate_bounds.py`` and docs/BENCHMARKS.md: near nominal
    for light tails, under-coverage for heavy tails (lognormal sigma 1, Pareto 3) at
    n = 200, less at n = 2000; never the plain percentile bootstrap, which under-covers
    far more. NaN when ``x`` holds a non-finite value or fewer than 20 values.
    """
    _check_alpha(alpha)
    arr = np.asarray(x, dtype=float)
    n = arr.size
    if n < 20 or not np.isfinite(arr).all():
        return math.nan
    cvar, se = _cvar_and_se(arr.reshape(1, -1), level)
    if se[0] == 0:
        return float(cvar[0])
    rng = np.random.default_rng(seed)
    stats: list[np.ndarray] = []
    chunk = max(1, 2_000_000 // n)
    done = 0
    while done < resamples:
        b = min(chunk, resamples - done)
        boot = arr[rng.integers(0, n, size=(b, n))]
        cb, sb = _cvar_and_se(boot, level)
        with np.errstate(divide="ignore", invalid="ignore"):
            stats.append((cb - cvar[0]) / sb)
        done += b
    t = np.concatenate(stats)
    t = t[np.isfinite(t)]
    if t.size == 0:
        return math.nan
    return float(cvar[0] - np.quantile(t, alpha) * se[0])


def clopper_pearson_upper(k: int, n: int, alpha: float) -> float:
    """One-sided exact (Clopper-Pearson) upper bound at ``alpha`` for ``k`` events in
    ``n`` trials: the ``1 - alpha`` quantile of Beta(k + 1, n - k); 1 when ``k = n``.
    0 of 48 at alpha 0.05: 0.0605 (= 1 - 0.05 ** (1/48))."""
    _check_count(k, n)
    _check_alpha(alpha)
    if k == n:
        return 1.0
    from scipy.stats import beta as beta_dist  # noqa: PLC0415 (as above)

    return float(beta_dist.ppf(1.0 - alpha, k + 1, n - k))


def bonferroni(alpha: float, k: int) -> float:
    """The per-test level ``alpha / k`` that keeps the family-wise error at most ``alpha``
    over ``k`` tests (``k >= 1``)."""
    _check_alpha(alpha)
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a whole number >= 1, got {k!r}")
    return alpha / k

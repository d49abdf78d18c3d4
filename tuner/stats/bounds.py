"""Confidence bounds used to gate promotion: Wilson score for kill rates, normal for PnL.

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
from dataclasses import dataclass
from numbers import Real
from statistics import NormalDist

__all__ = ["GateBounds", "gate_bounds", "normal_lcb", "wilson_interval", "wilson_upper", "z_one_sided"]

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

"""Budget tiers for promotion, read from ``configs/budgets.yaml``.

Format::

    alpha: 0.05                     # optional, default 0.05: level of the one-sided bounds
    tiers:
      conservative: {max_kill_ucb: 0.05, max_dd_cvar: 500.0, min_pnl_lcb_usd: 10.0}
      balanced:     {max_kill_ucb: 0.10, max_dd_cvar: 1000.0, min_pnl_lcb_usd: 20.0}
      aggressive:   {max_kill_ucb: 0.15, max_dd_cvar: 2000.0, min_pnl_lcb_usd: 30.0}

The original specification's layout (tiers at the top level) and its key names
(``max_kill_prob``, ``max_drawdown_cvar``, ``min_mean_pnl``) are accepted too; when a
tier gives both the new and the old name of a threshold, the new one is used.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from numbers import Integral
from typing import Any

from tuner.config._checks import fail, mapping, real_number, reject_unknown
from tuner.config._yaml import load_yaml_mapping
from tuner.errors import show_value
from tuner.stats.bounds import wilson_upper, z_one_sided

__all__ = ["DEFAULT_ALPHA", "TIER_NAMES", "Budgets", "Tier", "load_budgets"]

#: The budget tiers, most cautious first. A file may define any non-empty subset.
TIER_NAMES: tuple[str, ...] = ("conservative", "balanced", "aggressive")
DEFAULT_ALPHA = 0.05

# threshold -> its name in the original specification
_OLD_NAMES = {
    "max_kill_ucb": "max_kill_prob",
    "max_dd_cvar": "max_drawdown_cvar",
    "min_pnl_lcb_usd": "min_mean_pnl",
}


@dataclass(frozen=True)
class Tier:
    """Thresholds of one tier; a candidate passes when it is within all of them.

    ``kill_ucb <= max_kill_ucb``, ``dd_cvar <= max_dd_cvar`` (USD) and
    ``pnl_lcb >= min_pnl_lcb_usd`` (USD), the bounds taken at the budgets' alpha.
    """

    name: str
    max_kill_ucb: float
    max_dd_cvar: float
    min_pnl_lcb_usd: float
    #: Confirmation: the largest rate of fresh seeds on which a suite scenario may fail
    #: an invariant (its Clopper-Pearson upper bound must be within it); 0: none may.
    max_scenario_failure_rate: float = 0.0


@dataclass(frozen=True)
class Budgets:
    """The confidence level ``alpha`` of the one-sided bounds and the tiers, in tier order."""

    alpha: float
    tiers: dict[str, Tier]

    def unreachable_kill_tiers(self, mc_runs: int) -> list[tuple[Tier, int | None]]:
        """Return the tiers no candidate can pass with ``mc_runs`` Monte Carlo runs.

        With 0 kills in ``n`` runs the one-sided Wilson bound is ``z**2 / (n + z**2)``,
        never 0; a tier whose ``max_kill_ucb`` is below that floor rejects even a
        candidate that was never killed. Each such tier comes with the smallest run
        count whose floor is within its limit (``None`` when the limit is 0, which no
        run count reaches), in tier order. Raises ``ValueError`` unless ``mc_runs`` is
        an integer >= 1.
        """
        if not isinstance(mc_runs, Integral) or isinstance(mc_runs, bool) or mc_runs < 1:
            raise ValueError(f"mc_runs must be an integer >= 1, got {mc_runs!r}")
        floor = wilson_upper(0, mc_runs, self.alpha)
        return [
            (tier, _min_runs_for_kill_limit(tier.max_kill_ucb, self.alpha))
            for tier in self.tiers.values()
            if tier.max_kill_ucb < floor
        ]


def load_budgets(path: str | os.PathLike[str]) -> Budgets:
    """Load and validate the budgets file at ``path``.

    Raises :class:`~tuner.errors.InputError`, naming the file and the key, for:
    anything :func:`~tuner.config._yaml.load_yaml_mapping` refuses; an ``alpha`` that is not
    a number strictly between 0 and 1; no tiers; a tier other than conservative,
    balanced or aggressive; an unknown key; a missing threshold; a threshold that is
    not a finite number >= 0 (booleans and NaN included); ``max_kill_ucb`` above 1.
    """
    where = f"budgets file {os.fspath(path)}"
    data = load_yaml_mapping(path, "budgets file")
    alpha = _parse_alpha(data, where)

    if "tiers" in data:
        prefix = "tiers."
        stray = [key for key in data if key in TIER_NAMES]
        if stray:
            raise fail(
                where,
                str(stray[0]),
                "tier given at the top level next to 'tiers:'; put every tier under 'tiers:'",
            )
        reject_unknown(data, ("alpha", "tiers"), where, "", "top-level key")
        spec = data["tiers"]
        if spec is None:
            spec = {}
        spec = mapping(
            spec, where, "tiers", f"a mapping of tier name to thresholds ({', '.join(TIER_NAMES)})"
        )
        reject_unknown(spec, TIER_NAMES, where, "tiers", "tier")
    else:
        # The original specification's layout: the tiers are the top-level keys.
        prefix = ""
        reject_unknown(data, ("alpha", "tiers", *TIER_NAMES), where, "", "top-level key or tier")
        spec = {key: value for key, value in data.items() if key != "alpha"}

    if not spec:
        raise fail(
            where, "tiers", f"no tiers defined; expected at least one of {', '.join(TIER_NAMES)}"
        )
    tiers = {
        name: _parse_tier(name, spec[name], where, prefix + name)
        for name in TIER_NAMES
        if name in spec
    }
    return Budgets(alpha=alpha, tiers=tiers)


def _parse_alpha(data: Mapping[Any, Any], where: str) -> float:
    if "alpha" not in data:
        return DEFAULT_ALPHA
    expected = "a number strictly between 0 and 1, e.g. 0.05"
    alpha = real_number(data["alpha"], where, "alpha", expected)
    if not 0.0 < alpha < 1.0:
        raise fail(
            where,
            "alpha",
            f"value {show_value(data['alpha'])} is outside (0, 1); expected {expected}",
        )
    return alpha


def _parse_tier(name: str, spec: Any, where: str, key: str) -> Tier:
    spec = mapping(spec, where, key, "a mapping with max_kill_ucb, max_dd_cvar and min_pnl_lcb_usd")
    reject_unknown(spec, (*_OLD_NAMES, *_OLD_NAMES.values(), _RATE), where, key, "threshold")
    values: dict[str, float] = {}
    if _RATE in spec:
        rate = real_number(spec[_RATE], where, f"{key}.{_RATE}", "a number between 0 and 1")
        if not 0 <= rate <= 1:
            raise fail(where, f"{key}.{_RATE}", f"value {show_value(spec[_RATE])} is outside [0, 1]; "
                       "expected a number between 0 and 1")
        values[_RATE] = rate
    for threshold, old_name in _OLD_NAMES.items():
        field = threshold if threshold in spec else old_name
        if field not in spec:
            raise fail(
                where,
                key,
                f"missing {threshold} (or its older name {old_name}); every tier needs "
                f"{', '.join(_OLD_NAMES)}",
            )
        expected = (
            "a number between 0 and 1" if threshold == "max_kill_ucb" else "a finite number >= 0"
        )
        value = real_number(spec[field], where, f"{key}.{field}", expected)
        if value < 0:
            raise fail(
                where,
                f"{key}.{field}",
                f"value {show_value(spec[field])} is negative; expected {expected}",
            )
        if threshold == "max_kill_ucb" and value > 1:
            raise fail(
                where,
                f"{key}.{field}",
                f"value {show_value(spec[field])} is above 1 (a probability); expected {expected}",
            )
        values[threshold] = value
    return Tier(name=name, **values)


_RATE = "max_scenario_failure_rate"


def _min_runs_for_kill_limit(max_kill_ucb: float, alpha: float) -> int | None:
    """Smallest ``n`` with ``wilson_upper(0, n, alpha) <= max_kill_ucb``, or ``None``."""
    if not max_kill_ucb > 0:
        return None
    z2 = z_one_sided(alpha) ** 2
    # z^2/(n+z^2) <= m  <=>  n >= z^2 (1-m)/m; then settle rounding against the
    # function the gate actually uses, so the answer is exact at the boundary.
    n = max(1, math.ceil(z2 * (1.0 - max_kill_ucb) / max_kill_ucb))
    while wilson_upper(0, n, alpha) > max_kill_ucb:
        n += 1
    while n > 1 and wilson_upper(0, n - 1, alpha) <= max_kill_ucb:
        n -= 1
    return n

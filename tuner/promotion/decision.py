"""Pareto dominance, tier gating and winner selection: pure functions over candidates.

The rules (architecture, "python -m tuner.promote"): a candidate passes a tier when
``kill_ucb <= max_kill_ucb``, ``dd_cvar <= max_dd_cvar``, ``pnl_lcb >= min_pnl_lcb_usd``,
its evidence verified and both suites passed; a missing or NaN statistic fails. The
winner of a tier is the passing candidate with the highest ``pnl_mean``, then the
lowest ``dd_cvar``, the lowest ``kill_ucb``, then the smallest ``candidate_id``.
Results never depend on the order in which candidates are given.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from numbers import Real
from typing import Any

import numpy as np
from optuna.trial import FrozenTrial

from tuner.config.budgets import Tier
from tuner.names import DIRECTIONS, METRIC_NAMES, SUITE_NAMES
from tuner.record import TrialView
from tuner.stats.bounds import gate_bounds

__all__ = [
    "Candidate",
    "Selection",
    "at_alpha",
    "budget_distance",
    "candidate_from_trial",
    "dominates",
    "pareto_front",
    "pareto_ranks",
    "select_winner",
    "tier_failures",
    "winner_order_key",
]


@dataclass(frozen=True)
class Candidate:
    """What promotion knows about one evaluated configuration (one completed trial).

    Statistics may be ``None`` (not recorded) or NaN; either makes the candidate fail
    every tier. ``kill_k`` of ``kill_n`` runs were killed; ``kill_ucb`` and ``pnl_lcb``
    are the one-sided bounds at the budgets' alpha; ``dd_cvar`` is the CVaR 95 % of
    the maximum drawdown in USD. ``evidence_verified`` is ``None`` when unknown.
    ``suites_passed`` maps suite name to its result.
    """

    candidate_id: str
    trial_number: int
    pnl_mean: float | None
    pnl_stdev: float | None
    pnl_lcb: float | None
    kill_k: float | None
    kill_n: float | None
    kill_ucb: float | None
    dd_cvar: float | None
    evidence_verified: bool | None
    suites_passed: Mapping[str, bool]


def candidate_from_trial(t: FrozenTrial | TrialView, evidence_verified: bool | None = None) -> Candidate:
    """The promoter's view of a trial: statistics from its record (the database is the
    source of truth), missing ones as NaN so every rule fails closed."""
    v = t if isinstance(t, TrialView) else TrialView.of(t)
    return Candidate(
        candidate_id=v.candidate_id or "",
        trial_number=v.number,
        pnl_mean=v.metric("pnl_mean"),
        pnl_stdev=v.metric("pnl_stdev"),
        pnl_lcb=v.metric("pnl_lcb"),
        kill_k=v.metric("kill_k"),
        kill_n=v.metric("kill_n"),
        kill_ucb=v.metric("kill_ucb"),
        dd_cvar=v.metric("dd_cvar"),
        evidence_verified=v.evidence_verified if evidence_verified is None else evidence_verified,
        suites_passed=v.suites_passed,
    )


def at_alpha(c: Candidate, alpha: float) -> Candidate:
    """The candidate with its bounds recomputed at ``alpha`` (NaN when a statistic is)."""
    b = gate_bounds(c.pnl_mean if c.pnl_mean is not None else float("nan"),
                    c.pnl_stdev if c.pnl_stdev is not None else float("nan"),
                    c.kill_k if c.kill_k is not None else float("nan"),
                    c.kill_n if c.kill_n is not None else float("nan"), alpha)
    return replace(c, kill_ucb=b.kill_ucb, pnl_lcb=b.pnl_lcb)


@dataclass(frozen=True)
class Selection:
    """The outcome of :func:`select_winner` for one tier.

    ``passing`` holds every passing candidate in winner order, so ``winner`` is its
    first element, or ``None`` when nothing passes. In that case ``closest`` is the
    candidate with the fewest failed rules (ties in winner order) and
    ``closest_failures`` says which rules it failed; both are empty when there was a
    winner or no candidate at all.
    """

    tier: Tier
    winner: Candidate | None
    passing: tuple[Candidate, ...]
    closest: Candidate | None
    closest_failures: tuple[str, ...]
    #: Every candidate with its failed rules, in winner order.
    assessed: tuple[tuple[Candidate, tuple[str, ...]], ...] = ()


def dominates(a: Candidate, b: Candidate) -> bool:
    """Return whether ``a`` Pareto-dominates ``b`` on the study objectives.

    The objectives are :data:`~tuner.names.METRIC_NAMES` in their
    :data:`~tuner.names.DIRECTIONS`: higher ``pnl_mean``, lower ``kill_ucb``,
    lower ``dd_cvar``. ``a`` dominates ``b`` when it is at least as good on all of them
    and strictly better on one. The relation is irreflexive, asymmetric and
    transitive. A candidate with a missing or NaN objective neither dominates nor is
    dominated (it cannot pass a tier anyway).
    """
    strictly_better = False
    for name, direction in zip(METRIC_NAMES, DIRECTIONS, strict=True):
        x, y = _value(a, name), _value(b, name)
        if math.isnan(x) or math.isnan(y):
            return False
        if direction == "minimize":
            x, y = -x, -y
        if x < y:
            return False
        if x > y:
            strictly_better = True
    return strictly_better


def pareto_ranks(candidates: Sequence[Candidate]) -> list[int]:
    """Return the non-domination rank of each candidate, aligned with the input.

    Rank 1 is the Pareto front (no candidate dominates it), rank 2 the front once
    rank 1 is removed, and so on, by :func:`dominates`. Equal objective vectors share a
    rank; a candidate with a missing or NaN objective has rank 1 (it neither dominates
    nor is dominated). Computed on the distinct objective vectors in lexicographic order
    (a vector can only be dominated by one before it), so a study of 10 000 trials is
    ranked in well under a second instead of by comparing every pair.
    """
    if not candidates:
        return []
    # Every objective as a loss (lower is better), so dominance is "<= on all, < on one".
    loss = np.array([[-_value(c, name) if direction == "maximize" else _value(c, name)
                      for name, direction in zip(METRIC_NAMES, DIRECTIONS, strict=True)] for c in candidates],
                    dtype=float)
    ranks = np.ones(len(candidates), dtype=int)
    known = ~np.isnan(loss).any(axis=1)
    if known.any():
        ranks[known] = _nondomination_ranks(loss[known])
    return [int(r) for r in ranks]


def _nondomination_ranks(loss: np.ndarray) -> np.ndarray:
    """Ranks (1 = not dominated) of the rows of ``loss`` (no NaN; lower is better)."""
    unique, inverse = np.unique(loss, axis=0, return_inverse=True)  # sorted lexicographically
    ranks = np.zeros(len(unique), dtype=int)
    remaining = np.arange(len(unique))
    rank = 1
    while remaining.size:
        on_front = np.zeros(remaining.size, dtype=bool)
        rest = np.arange(remaining.size)  # positions in `remaining` not yet shown dominated this round
        while rest.size:
            # The first of the rest is not dominated: nothing before it in lexicographic
            # order dominates it (those were removed as dominated or are on this front).
            top = rest[0]
            on_front[top] = True
            # Later rows are >= on the first column; one survives only if it is better
            # than `top` on another column (the rows are distinct).
            tail = rest[1:]
            better = (unique[remaining[tail], 1:] < unique[remaining[top], 1:]).any(axis=1)
            rest = tail[better]
        ranks[remaining[on_front]] = rank
        remaining = remaining[~on_front]
        rank += 1
    return ranks[inverse.reshape(-1)]


def pareto_front(candidates: Iterable[Candidate]) -> list[Candidate]:
    """Return the candidates no other candidate dominates, in winner order."""
    pool = list(candidates)
    front = [c for c, rank in zip(pool, pareto_ranks(pool), strict=True) if rank == 1]
    return sorted(front, key=winner_order_key)


def tier_failures(candidate: Candidate, tier: Tier) -> list[str]:
    """Return every rule of ``tier`` that ``candidate`` fails, in words; empty means it passes.

    Rules, in this order: ``kill_ucb <= max_kill_ucb``, ``dd_cvar <= max_dd_cvar``,
    ``pnl_lcb >= min_pnl_lcb_usd`` (a value equal to its limit passes), evidence
    verified, and each of :data:`~tuner.names.SUITE_NAMES` present and passed
    (as is any other suite listed); only the boolean ``True`` counts as verified or
    passed. A missing or NaN statistic, or a NaN limit, fails its rule. Messages read
    like ``kill_ucb 0.07 > max 0.05``.
    """
    failures: list[str] = []
    for stat, limit, op in (
        ("kill_ucb", tier.max_kill_ucb, "<="),
        ("dd_cvar", tier.max_dd_cvar, "<="),
        ("pnl_lcb", tier.min_pnl_lcb_usd, ">="),
    ):
        raw = getattr(candidate, stat)
        value = _value(candidate, stat)
        if raw is None:
            failures.append(f"{stat} missing")
        elif math.isnan(value):
            is_nan = isinstance(raw, float) and math.isnan(raw)
            failures.append(f"{stat} is NaN" if is_nan else f"{stat} {raw!r} is not a number")
        # Written as `not (pass)` so that a NaN limit fails too.
        elif op == "<=" and not value <= limit:
            failures.append(f"{stat} {_num(value, limit)} > max {_num(limit, value)}")
        elif op == ">=" and not value >= limit:
            failures.append(f"{stat} {_num(value, limit)} < min {_num(limit, value)}")
    if candidate.evidence_verified is None:
        failures.append("evidence status unknown")
    elif candidate.evidence_verified is not True:
        failures.append("evidence not verified")
    for suite in SUITE_NAMES:
        if suite not in candidate.suites_passed:
            failures.append(f"suite {suite} result missing")
    for suite in sorted(candidate.suites_passed):
        if candidate.suites_passed[suite] is not True:
            failures.append(f"suite {suite} not passed")
    return failures


def winner_order_key(candidate: Candidate) -> tuple[float, float, float, str, int]:
    """Sort key that puts the preferred candidate first.

    ``(-pnl_mean, dd_cvar, kill_ucb, candidate_id, trial_number)``: highest mean PnL,
    then lowest drawdown CVaR, lowest kill UCB, smallest candidate id. The trial number
    only separates two trials of the same configuration, so the order is total and
    independent of input order. A missing or NaN statistic sorts last on its key.
    """
    return (
        _worst_last(-_value(candidate, "pnl_mean")),
        _worst_last(_value(candidate, "dd_cvar")),
        _worst_last(_value(candidate, "kill_ucb")),
        candidate.candidate_id,
        candidate.trial_number,
    )


def select_winner(candidates: Iterable[Candidate], tier: Tier) -> Selection:
    """Apply ``tier`` to ``candidates`` and pick its winner.

    Promises: ``winner`` passes every rule of :func:`tier_failures` and comes first in
    :func:`winner_order_key` among those that do; the result is the same for any order
    of ``candidates``. When nothing passes, ``closest`` is the candidate with the fewest
    failures (then winner order) with those failures, so a caller can say why.
    """
    assessed = sorted(
        ((c, tier_failures(c, tier)) for c in candidates), key=lambda cf: winner_order_key(cf[0])
    )
    passing = tuple(c for c, failures in assessed if not failures)
    every = tuple((c, tuple(f)) for c, f in assessed)
    if passing:
        return Selection(
            tier=tier, winner=passing[0], passing=passing, closest=None, closest_failures=(), assessed=every
        )
    if not assessed:
        return Selection(tier=tier, winner=None, passing=(), closest=None, closest_failures=())
    # min() keeps the first of equals, and `assessed` is already in winner order.
    closest, failures = min(assessed, key=lambda cf: len(cf[1]))
    return Selection(
        tier=tier, winner=None, passing=(), closest=closest, closest_failures=tuple(failures), assessed=every
    )


def budget_distance(candidate: Candidate, tier: Tier) -> float:
    """How far ``candidate`` is from passing ``tier`` on its search evidence: the sum over
    the three numeric rules of the shortfall divided by the limit (``|limit|``, or 1 when
    the limit is 0), plus 1 per other failed rule (evidence, suites); 0 when it passes,
    infinite when a statistic is missing. The same scale as the confirmation's distance."""
    d = 0.0
    for stat, limit, sign in (("kill_ucb", tier.max_kill_ucb, 1.0), ("dd_cvar", tier.max_dd_cvar, 1.0),
                              ("pnl_lcb", tier.min_pnl_lcb_usd, -1.0)):
        value = _value(candidate, stat)
        if math.isnan(value) or math.isnan(limit):
            return math.inf
        d += max(0.0, sign * (value - limit)) / (abs(limit) if limit else 1.0)
    numeric = ("kill_ucb", "dd_cvar", "pnl_lcb")
    return d + sum(1.0 for f in tier_failures(candidate, tier) if not f.startswith(numeric))


def _value(candidate: Candidate, name: str) -> float:
    raw: Any = getattr(candidate, name)
    # Only real numbers count: a statistic stored as text ("400") is a defect upstream,
    # and treating it as a number would let it pass a gate.
    if isinstance(raw, bool) or not isinstance(raw, Real):
        return math.nan
    return float(raw)


def _worst_last(value: float) -> float:
    return math.inf if math.isnan(value) else value


def _num(value: float, other: float) -> str:
    """Format ``value`` briefly, but never so briefly that it looks equal to ``other``."""
    text = f"{value:g}"
    if text == f"{other:g}":
        text = repr(float(value))
    return text

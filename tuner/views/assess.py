"""What every view says about a trial, decided once: feasible or why not, its Pareto rank
among the feasible trials, which tiers it passes on its own search evidence, and how
it is linked to the trial that retried it.

``tuner.show``, the plots, the DataFrame API and the dashboard all read these
assessments, so the terminal, the browser and a notebook never disagree about a trial.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from optuna.trial import FrozenTrial

from tuner.config.budgets import Budgets
from tuner.promotion.decision import at_alpha, candidate_from_trial, pareto_ranks, tier_failures
from tuner.record import CONSTRAINT_KEY, TrialView

__all__ = ["Assessment", "assess", "constraint_values", "feasible_ranks", "infeasible_reason", "retried_as", "verdict"]

#: Failed checks named in a one-line reason before "(+N more)".
_NAMED_FAILURES = 2


@dataclass(frozen=True)
class Assessment:
    """One trial as every view presents it.

    ``tiers`` maps each tier of the budgets to the rules the trial fails there (empty =
    it passes, on its search evidence, bounds at the budgets' alpha); an infeasible or
    unfinished trial fails every tier with its reason. ``pareto_rank`` is among the
    feasible trials (1 = the front), None for the others.
    """

    view: TrialView
    pareto_rank: int | None
    reason: str | None  #: why the trial is infeasible or failed; None when feasible
    retried_as: int | None  #: the trial that retried this one
    tiers: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def number(self) -> int:
        return self.view.number

    @property
    def feasible(self) -> bool:
        return self.view.feasible

    @property
    def passed_tiers(self) -> list[str]:
        return [name for name, failures in self.tiers.items() if not failures]

    @property
    def verdict(self) -> str:
        return verdict(self.view, self.pareto_rank, self.retried_as)


def infeasible_reason(v: TrialView) -> str | None:
    """Why a finished trial is not feasible, in one line; None when it is feasible or
    still running. For a failed trial: what failed (the command or the check)."""
    if v.feasible or v.state in ("RUNNING", "WAITING"):
        return None
    if v.state == "COMPLETE":
        checks = v.failed_checks
        if checks is None:
            other = {k: x for k, x in v.constraints.items() if k != "0"}
            if other:
                bad = ", ".join(f"{k} = {x:g}" for k, x in sorted(other.items()) if x > 0)
                return f"constraint {bad} > 0"
            return "no constraint recorded, so the trial is not trusted as feasible"
        failures = v.suite_failures()
        failed_suites = [name for name, s in v.suites.items() if not s.passed]
        text = f"{checks} suite check{'s' if checks != 1 else ''} failed"
        if failed_suites and not failures:
            text += f" ({', '.join(failed_suites)})"
        if failures:
            text += ": " + "; ".join(failures[:_NAMED_FAILURES])
            if len(failures) > _NAMED_FAILURES:
                text += f" (+{len(failures) - _NAMED_FAILURES} more)"
        return text
    if v.interrupted:
        return "interrupted while running"
    failure = v.failure or {}
    what = failure.get("reason") or "failed"
    command = failure.get("command")
    return f"{what}: {command}" if command and command not in what else str(what)


def verdict(v: TrialView, pareto_rank: int | None, retried: int | None = None) -> str:
    """``feasible, Pareto rank 1`` / ``INFEASIBLE: 2 suite checks failed (...)`` / ``FAIL: ...``."""
    link = f"; retried as trial {retried}" if retried is not None else ""
    link += f"; retry of trial {v.retry_of}" if v.retry_of is not None else ""
    if v.feasible:
        return f"feasible, Pareto rank {pareto_rank}" + link if pareto_rank else "feasible" + link
    if v.state == "COMPLETE":
        return f"INFEASIBLE: {infeasible_reason(v)}{link}"
    if v.state in ("RUNNING", "WAITING"):
        return v.state.lower() + link
    return f"{v.state}: {infeasible_reason(v)}{link}"


def retried_as(trials: Sequence[FrozenTrial | TrialView]) -> dict[int, int]:
    """Trial number -> the number of the trial that retried it (from the trials or their
    views: a view already made is not made again)."""
    out: dict[int, int] = {}
    for t in trials:
        v = t if isinstance(t, TrialView) else TrialView.of(t)
        if v.retry_of is not None:
            out[v.retry_of] = t.number
    return out


def feasible_ranks(views: Sequence[TrialView]) -> dict[int, int]:
    """Trial number -> Pareto rank among the feasible trials (1 = the front), ranked one
    per candidate: a repeat of an earlier trial's candidate has no rank of its own."""
    feasible = [v for v in views if v.feasible and v.reused_from is None]
    ranks = pareto_ranks([candidate_from_trial(v) for v in feasible])
    return dict(zip((v.number for v in feasible), ranks, strict=True))


def assess(trials: Sequence[FrozenTrial], budgets: Budgets | None = None) -> list[Assessment]:
    """Every trial assessed, in the given order (tiers only when ``budgets`` is given)."""
    views = [TrialView.of(t) for t in trials]
    ranks = feasible_ranks(views)
    retries = retried_as(views)
    out = []
    for v in views:
        reason = infeasible_reason(v)
        tiers: dict[str, tuple[str, ...]] = {}
        if budgets is not None:
            cand = at_alpha(candidate_from_trial(v), budgets.alpha)
            for tier in budgets.tiers.values():
                if v.feasible:
                    tiers[tier.name] = tuple(tier_failures(cand, tier))
                else:
                    tiers[tier.name] = ("infeasible" if v.state == "COMPLETE" else v.state.lower(),)
        out.append(Assessment(view=v, pareto_rank=ranks.get(v.number), reason=reason,
                              retried_as=retries.get(v.number), tiers=tiers))
    return out


def constraint_values(v: TrialView) -> list[float]:
    """The trial's constraint values as one list (the dashboard's format), the suite
    failures first; a finished trial without any is given ``[1.0]`` so that it never
    looks feasible (see :func:`~tuner.record.is_feasible`)."""
    c = {k: x for k, x in v.constraints.items() if k != "0"} or dict(v.constraints)
    values = [float(c[CONSTRAINT_KEY])] if CONSTRAINT_KEY in c else []
    values += [float(x) for k, x in sorted(c.items()) if k != CONSTRAINT_KEY and math.isfinite(x)]
    if not values and v.state == "COMPLETE":
        values = [1.0]
    return values

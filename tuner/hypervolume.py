"""Hypervolume of a front of (pnl_mean, kill_ucb, dd_cvar) points, with moocore's
maintained implementation, against one fixed reference point.

Points that do not improve on the reference in every objective add nothing; they are
dropped before the computation (moocore requires points inside the reference box).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import moocore
import numpy as np
from optuna.trial import FrozenTrial

from tuner.objective import is_feasible

__all__ = ["HV_REFERENCE", "MAXIMISE", "hypervolume", "hypervolume_history", "trials_since_improvement"]

#: Reference point (pnl_mean, kill_ucb, dd_cvar): a candidate must make money, be killed
#: in under half of its runs and keep its drawdown tail under 5000 USD to add volume.
HV_REFERENCE: tuple[float, float, float] = (0.0, 0.5, 5000.0)
#: Directions of the study's objectives for moocore.
MAXIMISE = (True, False, False)


def hypervolume(points: Iterable[Sequence[float]], ref: Sequence[float] = HV_REFERENCE,
                maximise: Sequence[bool] = MAXIMISE) -> float:
    """Hypervolume dominated by ``points`` and bounded by ``ref``."""
    pts = np.asarray([list(p) for p in points], dtype=float).reshape(-1, len(ref))
    r = np.asarray(ref, dtype=float)
    inside = np.all(np.where(np.asarray(maximise), pts > r, pts < r), axis=1) & np.all(np.isfinite(pts), axis=1)
    pts = pts[inside]
    if len(pts) == 0:
        return 0.0
    return float(moocore.hypervolume(pts, ref=r, maximise=list(maximise)))


def hypervolume_history(trials: Sequence[FrozenTrial], ref: Sequence[float] = HV_REFERENCE) -> list[float]:
    """Hypervolume of the feasible trials among the first k, for k = 1..len(trials)
    (trials in the order given; infeasible and failed ones add nothing)."""
    out: list[float] = []
    points: list[Sequence[float]] = []
    current = 0.0
    for t in trials:
        if is_feasible(t) and t.values:
            points.append(t.values)
            current = hypervolume(points, ref)
        out.append(current)
    return out


def trials_since_improvement(trials: Sequence[FrozenTrial], ref: Sequence[float] = HV_REFERENCE) -> int:
    """Finished trials since the feasible front's hypervolume last grew (all of them if
    it never did)."""
    history = hypervolume_history(trials, ref)
    best, since = 0.0, 0
    for hv in history:
        if hv > best:
            best, since = hv, 0
        else:
            since += 1
    return since

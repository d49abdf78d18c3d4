"""Hypervolume of a front of objective vectors (in the order and directions of
:data:`tuner.names.OBJECTIVES`), with moocore's maintained implementation, against one
fixed reference point.

Points that do not improve on the reference in every objective add nothing; they are
dropped before the computation (moocore requires points inside the reference box).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import moocore
import numpy as np

from tuner.names import MAXIMIZED

__all__ = ["HV_REFERENCE", "MAXIMISE", "hypervolume", "hypervolume_history", "trials_since_improvement"]

#: Reference point (pnl_mean, kill_ucb, dd_cvar): a candidate must make money, be killed
#: in under half of its runs and keep its drawdown tail under 5000 USD to add volume.
HV_REFERENCE: tuple[float, float, float] = (0.0, 0.5, 5000.0)
#: Directions of the study's objectives for moocore.
MAXIMISE: tuple[bool, ...] = MAXIMIZED


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


def hypervolume_history(points: Sequence[Sequence[float] | None], ref: Sequence[float] = HV_REFERENCE) -> list[float]:
    """Hypervolume of the first k points, for k = 1..len(points), in the order given; a
    ``None`` (an infeasible or failed trial) adds nothing."""
    out: list[float] = []
    kept: list[Sequence[float]] = []
    current = 0.0
    for p in points:
        if p is not None:
            kept.append(p)
            current = hypervolume(kept, ref)
        out.append(current)
    return out


def trials_since_improvement(points: Sequence[Sequence[float] | None], ref: Sequence[float] = HV_REFERENCE) -> int:
    """Points since the hypervolume last grew (all of them if it never did); ``None``
    entries as in :func:`hypervolume_history`."""
    history = hypervolume_history(points, ref)
    best, since = 0.0, 0
    for hv in history:
        if hv > best:
            best, since = hv, 0
        else:
            since += 1
    return since

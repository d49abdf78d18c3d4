"""Probability of Backtest Overfitting by combinatorially symmetric cross-validation (CSCV).

Bailey, Borwein, Lopez de Prado & Zhu, "The Probability of Backtest Overfitting",
Journal of Computational Finance (SSRN 2326253). ``M`` is a ``T x N`` matrix of
performance (rows: seed blocks; columns: the N candidates); its rows are split into S
equal blocks (S even). For each of the C(S, S/2) choices of half the blocks as in-sample
``J`` (the rest ``J'``): ``n*`` is the best candidate on ``J`` (mean over its rows), ``r``
its rank on ``J'`` (1 = worst ... N = best, ties by average rank), ``w = r / (N + 1)``,
``lambda = ln(w / (1 - w))``. PBO is the fraction of splits with ``lambda <= 0``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

__all__ = ["PBO", "block_means", "pbo_cscv"]


@dataclass(frozen=True)
class PBO:
    pbo: float
    combinations: int
    logits: tuple[float, ...]
    #: (in-sample, out-of-sample) performance of the chosen candidate, per split.
    degradation: tuple[tuple[float, float], ...]


def block_means(matrix: np.ndarray, blocks: int) -> np.ndarray:
    """The ``blocks x N`` matrix of column means over ``blocks`` consecutive row blocks of
    equal size (trailing rows that do not fill a block are dropped)."""
    m = np.asarray(matrix, dtype=float)
    if m.ndim != 2 or blocks < 1 or m.shape[0] < blocks:
        raise ValueError(f"need a 2-D matrix with at least {blocks} rows, got shape {m.shape}")
    size = m.shape[0] // blocks
    return m[: size * blocks].reshape(blocks, size, m.shape[1]).mean(axis=1)


def pbo_cscv(matrix: np.ndarray, blocks: int | None = None) -> PBO:
    """PBO of the ``T x N`` performance matrix (higher is better) split into ``blocks`` row
    blocks (default: every row its own block; must be even, >= 2). ``N >= 2``."""
    m = np.asarray(matrix, dtype=float)
    s = m.shape[0] if blocks is None else blocks
    if m.ndim != 2 or m.shape[1] < 2:
        raise ValueError(f"need a T x N matrix with N >= 2 candidates, got shape {m.shape}")
    if s < 2 or s % 2 or m.shape[0] < s:
        raise ValueError(f"blocks must be even, >= 2 and at most the rows ({m.shape[0]}), got {s}")
    b = block_means(m, s) if blocks is not None else m
    n = b.shape[1]
    combos = np.array(list(itertools.combinations(range(s), s // 2)))
    inside = np.zeros((len(combos), s), dtype=bool)
    inside[np.arange(len(combos))[:, None], combos] = True
    half = s // 2
    perf_in = inside.astype(float) @ b / half
    perf_out = (~inside).astype(float) @ b / half
    best = np.argmax(perf_in, axis=1)  # first of equals: deterministic
    rows = np.arange(len(combos))
    chosen_out = perf_out[rows, best]
    # Average rank of the chosen candidate out of sample (1 = worst ... N = best).
    rank = (perf_out < chosen_out[:, None]).sum(axis=1) + ((perf_out == chosen_out[:, None]).sum(axis=1) + 1) / 2
    w = rank / (n + 1)
    logits = np.log(w / (1 - w))
    deg = tuple(zip(perf_in[rows, best].tolist(), chosen_out.tolist(), strict=True))
    return PBO(float(np.mean(logits <= 0)), len(combos), tuple(logits.tolist()), deg)

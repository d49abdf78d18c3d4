"""Hypervolume against hand-computed fronts in 2 and 3 dimensions."""

from __future__ import annotations

import optuna
import pytest

from tuner.record import feasible_points
from tuner.stats.hypervolume import hypervolume, hypervolume_history, trials_since_improvement


def test_two_dimensions_minimisation() -> None:
    # Staircase of (1,3), (2,2), (3,1) under ref (4,4): 3 + 2 + 1 = 6... by columns:
    # x in [1,2): height 4-3=1; [2,3): 2; [3,4): 3 -> 1 + 2 + 3 = 6.
    assert hypervolume([(1, 3), (2, 2), (3, 1)], ref=(4, 4), maximise=(False, False)) == pytest.approx(6.0)
    # A dominated point adds nothing.
    assert hypervolume([(1, 3), (2, 2), (3, 1), (3, 3)], ref=(4, 4), maximise=(False, False)) == pytest.approx(6.0)


def test_two_dimensions_with_a_maximised_objective() -> None:
    # Maximise x, minimise y; ref (0, 10): points (5, 4) and (2, 1).
    # Union of [0,5]x[4,10] (30) and [0,2]x[1,10] (18) minus overlap [0,2]x[4,10] (12) = 36.
    assert hypervolume([(5, 4), (2, 1)], ref=(0, 10), maximise=(True, False)) == pytest.approx(36.0)


def test_three_dimensions() -> None:
    # Two boxes under ref (2,2,2): (0,0,1) -> 2*2*1 = 4; (1,1,0) -> 1*1*2 = 2; overlap
    # [1,2]x[1,2]x[1,2] = 1 -> 5. And a single point (0,0,0) fills the box: 8.
    assert hypervolume([(0, 0, 1), (1, 1, 0)], ref=(2, 2, 2), maximise=(False,) * 3) == pytest.approx(5.0)
    assert hypervolume([(0, 0, 0)], ref=(2, 2, 2), maximise=(False,) * 3) == pytest.approx(8.0)
    # The study's own orientation: pnl 100 (ref 0), kill 0.1 (ref 0.5), dd 1000 (ref 5000).
    assert hypervolume([(100.0, 0.1, 1000.0)]) == pytest.approx(100 * 0.4 * 4000)


def test_points_outside_the_reference_add_nothing() -> None:
    assert hypervolume([(-5.0, 0.1, 100.0), (10.0, 0.9, 100.0)]) == 0.0
    assert hypervolume([]) == 0.0


def _trial(values, feasible=True):
    return optuna.trial.create_trial(values=list(values), constraints={"c": 0.0 if feasible else 1.0},
                                     distributions={}, params={})


def test_history_counts_only_feasible_trials_and_measures_stagnation() -> None:
    ts = [_trial((10, 0.1, 100)), _trial((50, 0.0, 10), feasible=False), _trial((5, 0.2, 200)), _trial((20, 0.1, 100))]
    h = hypervolume_history(feasible_points(ts))
    assert h[0] == h[1] == h[2] == pytest.approx(10 * 0.4 * 4900)
    assert h[3] == pytest.approx(20 * 0.4 * 4900)
    assert trials_since_improvement(feasible_points(ts)) == 0
    assert trials_since_improvement(feasible_points(ts[:3])) == 2

"""tuner.record.TrialIndex (the worker loop's, the sampler's and the progress line's
incremental counts) gives exactly what the scanning functions give, on randomized
studies that grow, finish trials out of order, get interrupted and retried."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from optuna.trial import FrozenTrial, TrialState

from tuner.record import RETRY_OF_KEY, Attr, TrialIndex, counted_trials, logical_index


def _trial(number: int, state: TrialState, *, interrupted: bool = False, retry_of: int | None = None,
           trial_id: int | None = None) -> FrozenTrial:
    now = dt.datetime(2026, 12, 3)
    return FrozenTrial(
        number=number, state=state, value=None, values=[1.0] if state == TrialState.COMPLETE else None,
        datetime_start=now, datetime_complete=now if state.is_finished() else None, params={}, distributions={},
        user_attrs={Attr.INTERRUPTED: True} if interrupted else {},
        system_attrs={} if retry_of is None else {RETRY_OF_KEY: retry_of},
        intermediate_values={}, trial_id=number + 1000 if trial_id is None else trial_id,
    )


@pytest.mark.parametrize("seed", range(4))
def test_the_index_agrees_with_the_scans_at_every_step(seed: int) -> None:
    rng = random.Random(seed)
    trials: list[FrozenTrial] = []
    index = TrialIndex()
    reported: list[int] = []  # finished_now over all steps: each finished trial once
    for _step in range(300):
        # Finish some unfinished trials (in any order), some of them interrupted.
        for i, t in enumerate(trials):
            if not t.state.is_finished() and rng.random() < 0.3:
                r = rng.random()
                state = TrialState.COMPLETE if r < 0.7 else TrialState.PRUNED if r < 0.75 else TrialState.FAIL
                interrupted = state == TrialState.FAIL and rng.random() < 0.7
                trials[i] = _trial(i, state, interrupted=interrupted, retry_of=t.system_attrs.get(RETRY_OF_KEY))
        # New trials: a running one, sometimes a waiting retry of an interrupted trial.
        interrupted_now = [t.number for t in trials if t.user_attrs.get(Attr.INTERRUPTED)]
        retried = {t.system_attrs.get(RETRY_OF_KEY) for t in trials}
        candidates = [n for n in interrupted_now if n not in retried]
        if candidates and rng.random() < 0.5:
            trials.append(_trial(len(trials), TrialState.WAITING, retry_of=rng.choice(candidates)))
        else:
            trials.append(_trial(len(trials), TrialState.RUNNING))
        view = list(trials)
        index.update(view)
        assert not index.started_over
        reported.extend(t.number for t in index.finished_now)
        assert index.counted() == len(counted_trials(view))
        # Every position is checked at the last step; in between, the newest and a sample.
        positions = range(len(view)) if _step == 299 else {len(view) - 1, *rng.sample(range(len(view)), min(8, len(view)))}
        for n in positions:
            assert index.logical_index(n) == logical_index(view, n), n
        assert index.unfinished(TrialState.RUNNING) == sum(t.state == TrialState.RUNNING for t in view)
        assert index.unfinished(TrialState.WAITING) == sum(t.state == TrialState.WAITING for t in view)
    assert index.skip and index.counted() > 100
    assert sorted(reported) == [t.number for t in trials if t.state.is_finished()]


def test_another_studys_list_starts_the_index_over() -> None:
    a = [_trial(i, TrialState.COMPLETE) for i in range(20)]
    b = [_trial(i, TrialState.FAIL, interrupted=True, trial_id=5000 + i) for i in range(20)]
    index = TrialIndex()
    assert index.update(a).counted() == 20 and not index.started_over and len(index.finished_now) == 20
    assert index.update(b).counted() == 0 and index.logical_index(10) == 0 and index.started_over
    assert len(index.finished_now) == 20
    assert index.update(a[:5]).counted() == 5 and index.started_over
    assert not index.update(a[:5]).started_over and index.finished_now == []


def test_a_list_that_is_not_a_studys_own_is_refused() -> None:
    with pytest.raises(ValueError, match="position 0 is number 3"):
        TrialIndex().update([_trial(3, TrialState.COMPLETE)])

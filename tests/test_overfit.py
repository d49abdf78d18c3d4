"""PBO by CSCV on cases with a known answer."""

from __future__ import annotations

import numpy as np
import pytest

from tuner.stats.overfit import block_means, pbo_cscv


def test_a_candidate_better_in_every_block_gives_pbo_zero() -> None:
    rng = np.random.default_rng(1)
    m = rng.normal(0, 1, (16, 5))
    m[:, 2] += 100.0  # best everywhere: chosen in sample, best out of sample
    r = pbo_cscv(m)
    assert r.combinations == 12870 and r.pbo == 0.0
    assert all(x > 0 for x in r.logits)


def test_pure_noise_gives_pbo_near_one_half() -> None:
    # Candidates with identical true performance: the in-sample best is a coin flip out
    # of sample (rank uniform on 1..N), so PBO is about P(rank <= (N+1)/2) = 1/2 for odd N.
    rng = np.random.default_rng(2)
    pbos = [pbo_cscv(rng.normal(0, 1, (16, 9))).pbo for _ in range(30)]
    assert 0.4 < float(np.mean(pbos)) < 0.65


def test_in_sample_winners_that_reverse_out_of_sample_give_pbo_one() -> None:
    # Two candidates, each best on exactly half the rows and by the same margin: the
    # in-sample winner of any split that takes more of one's good rows loses out of sample.
    m = np.array([[1.0, 0.0], [0.0, 1.0]] * 4)
    r = pbo_cscv(m)
    assert r.combinations == 70
    # A split with 2 good rows each is a tie (argmax takes the first, which ties out of
    # sample: rank 1.5, logit 0 counts as overfit); every other split reverses.
    assert r.pbo == 1.0


def test_block_means_and_bad_shapes() -> None:
    m = np.arange(20.0).reshape(10, 2)
    assert block_means(m, 5).tolist() == [[1.0, 2.0], [5.0, 6.0], [9.0, 10.0], [13.0, 14.0], [17.0, 18.0]]
    with pytest.raises(ValueError):
        pbo_cscv(np.zeros((8, 1)))
    with pytest.raises(ValueError):
        pbo_cscv(np.zeros((8, 3)), blocks=3)

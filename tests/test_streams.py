"""Seed streams: streams derived from one study seed, or from two, never share a seed.

The search's Monte Carlo still uses "run i uses study seed + i"; moving it (and the
confirmation step) onto these streams is the rest of the verdict-statistics issue."""

from __future__ import annotations

import hashlib
import pytest

from tuner.stats.streams import (
    CONFIRM_MC,
    CONFIRM_SUITE,
    FRESH_MC,
    SEARCH_MC,
    SEED_SPACE,
    overlaps,
    stream_base,
)


def test_a_stream_base_is_a_fixed_64_bit_function_of_study_seed_and_name() -> None:
    assert stream_base(42, SEARCH_MC) == stream_base(42, SEARCH_MC)
    assert 0 <= stream_base(42, SEARCH_MC) < SEED_SPACE
    # Pinned: a change of the derivation would silently change every study's seeds.
    assert stream_base(42, SEARCH_MC) == _pinned() == 8480460366897898195
    with pytest.raises(TypeError):
        stream_base(True, SEARCH_MC)
    with pytest.raises(ValueError):
        stream_base(42, "")


def _pinned() -> int:
    return int.from_bytes(hashlib.sha256(b"paraphina-seed-stream/v1/42/search-mc").digest()[:8], "big")


def test_overlaps_counts_wrapping_spans() -> None:
    assert overlaps((10, 5), (14, 3)) and not overlaps((10, 5), (15, 3))
    assert overlaps((SEED_SPACE - 2, 4), (1, 1)) and not overlaps((SEED_SPACE - 2, 4), (2, 10))
    assert overlaps((5, 1), (0, 10)) and not overlaps((5, 0), (0, 10))


def test_streams_of_neighbouring_study_seeds_share_no_seed() -> None:
    # The search's current rule (run i uses study seed + i) shares 199 of 200 runs.
    assert overlaps((42, 200), (43, 200))
    assert not overlaps((stream_base(42, SEARCH_MC), 10**6), (stream_base(43, SEARCH_MC), 10**6))


def test_confirmation_seeds_share_no_run_with_search_seeds() -> None:
    studies = range(0, 50)
    spans = [(stream_base(s, SEARCH_MC), 10**5) for s in studies]
    spans += [(stream_base(s, name), 10**5) for s in studies for name in (CONFIRM_MC, CONFIRM_SUITE, FRESH_MC)]
    for i, x in enumerate(spans):
        for y in spans[i + 1:]:
            assert not overlaps(x, y)

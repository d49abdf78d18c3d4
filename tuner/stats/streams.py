"""Seed streams: every use of randomness in a study draws from its own stream.

A stream is named (``search-mc``, ``confirm-mc``, ``confirm-suite``, ``fresh-mc`` ...)
and its base is the first 8 bytes (big-endian) of
``SHA-256("paraphina-seed-stream/v1/<study seed>/<stream name>")``: a 64-bit number,
uniform for all practical purposes, so two streams (of one study or of two studies)
start ~2^63 seeds apart on average. ``monte_carlo`` runs ``R`` runs on seeds
``base + i`` (``i < R``, wrapping at 2^64) and ``sim_eval suite --seed-base B
--num-seeds N`` runs scenario ``j`` on ``B + j*N + i``; the chance that two streams of
at most ``n`` seeds overlap is below ``2n / 2^64`` (1e-15 for n = 10^4).

Before these streams, every candidate of a study with ``--seed 42`` ran seeds
``42 .. 42 + R - 1`` and a study with ``--seed 43`` shared all but one of them.
"""

from __future__ import annotations

import hashlib

__all__ = [
    "CONFIRM_MC",
    "CONFIRM_SUITE",
    "FRESH_MC",
    "FRESH_SUITE",
    "SEARCH_MC",
    "SEED_SPACE",
    "SeedSpan",
    "overlaps",
    "search_seed",
    "stream_base",
]

#: Seeds are unsigned 64-bit integers; ``seed + i`` wraps at this modulus.
SEED_SPACE = 2**64
#: The search's Monte Carlo runs (every candidate of the study on the same seeds).
SEARCH_MC = "search-mc"
#: The promoter's confirmation of its finalists (never used by the search).
CONFIRM_MC = "confirm-mc"
CONFIRM_SUITE = "confirm-suite"
#: ``tuner.reproduce --fresh-seeds N``: a new stream per request (suffixed with its index).
FRESH_MC = "fresh-mc"
FRESH_SUITE = "fresh-suite"

SeedSpan = tuple[int, int]  #: (first seed, count): seeds first + i mod 2^64, i < count


def stream_base(study_seed: int, stream: str) -> int:
    """The first seed of ``stream`` for a study seeded with ``study_seed``: a whole number
    in ``[0, 2^64)``, the same on every machine and Python version."""
    if isinstance(study_seed, bool) or not isinstance(study_seed, int):
        raise TypeError(f"study_seed must be an int, got {study_seed!r}")
    if not stream or not isinstance(stream, str):
        raise ValueError(f"stream must be a non-empty name, got {stream!r}")
    digest = hashlib.sha256(f"paraphina-seed-stream/v1/{study_seed}/{stream}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def search_seed(study_seed: int) -> int:
    """The first Monte Carlo seed of every candidate of a study seeded with
    ``study_seed``: the base of its ``search-mc`` stream (run i uses this + i)."""
    return stream_base(study_seed, SEARCH_MC)


def overlaps(a: SeedSpan, b: SeedSpan) -> bool:
    """Whether the seed spans ``a`` and ``b`` (each ``(first, count)``, wrapping at 2^64)
    share a seed."""
    (fa, na), (fb, nb) = a, b
    if na <= 0 or nb <= 0:
        return False
    # b starts inside a, or a starts inside b (distances taken modulo 2^64).
    return (fb - fa) % SEED_SPACE < na or (fa - fb) % SEED_SPACE < nb

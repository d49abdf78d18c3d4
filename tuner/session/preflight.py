"""Checks made before a study touches its storage: everything that would make every
trial fail is refused up front with one line."""

from __future__ import annotations

from tuner.config.paths import suites
from tuner.config.search_space import SearchSpace
from tuner.errors import InputError
from tuner.simulator import client

__all__ = ["check_knob_domains", "check_suites", "require_suite_files"]


def check_knob_domains(space: SearchSpace, *, runs: int, ticks: int, seed: int, threads: int | None) -> None:
    """The search space must lie inside the simulator's accepted domains (which the
    simulator reports), and the simulator must accept the run settings: otherwise every
    trial would fail."""
    domains = client.show_config(runs=runs, ticks=ticks, seed=seed, threads=threads)["knob_domains"]
    for knob in space.knobs:
        name, rng = knob.name, space.ranges()[knob.name]
        dom = domains.get(name)
        if dom is None:
            raise InputError(f"search space: {name}: the simulator does not know this knob")
        if "choices" in dom:
            bad = [c for c in rng if c not in dom["choices"]]
            if bad:
                raise InputError(f"search space: {name}: choices {bad} not accepted by the simulator; accepted: {dom['choices']}")
            continue
        # A numeric knob may be categorical over numbers: its range is then its choices.
        low, high = (min(rng), max(rng)) if knob.kind == "categorical" else rng
        lo_ok = low > dom["low"] if dom["low_open"] else low >= dom["low"]
        if not lo_ok or high > dom["high"]:
            op = "(" if dom["low_open"] else "["
            raise InputError(
                f"search space: {name}: range [{low}, {high}] leaves the simulator's accepted domain "
                f"{op}{dom['low']}, {dom['high']}]"
            )


def require_suite_files() -> None:
    """Both suite files must exist (the adversarial suite is never skipped)."""
    for suite, path in suites().items():
        if not path.is_file():
            raise InputError(f"suite {suite}: {path} is missing; both suites are required (the adversarial suite is never skipped)")


def check_suites() -> None:
    """Both suite files, and every scenario file they name, must be valid before the
    study starts: otherwise every trial would fail on them."""
    for suite, path in suites().items():
        client.check_suite(suite, path)

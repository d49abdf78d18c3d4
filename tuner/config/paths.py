"""Where the product's files live.

The ``tuner`` package sits at the top of the repository (installed in editable mode),
so the repository root, the Rust workspace, the shipped configuration and the suites
are found from this file, whatever the current directory. User-given relative paths
(``--study-dir``, ``--budgets``...) are resolved against the current directory.
"""

from __future__ import annotations

import os
from pathlib import Path

from tuner.names import SUITE_NAMES

__all__ = [
    "DEFAULT_BUDGETS",
    "DEFAULT_PROMOTED_DIR",
    "DEFAULT_SEARCH_SPACE",
    "REPO_ROOT",
    "SUITE_NAMES",
    "bin_dir",
    "suites",
]

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_BUDGETS = REPO_ROOT / "configs" / "budgets.yaml"
DEFAULT_SEARCH_SPACE = REPO_ROOT / "configs" / "search_space.yaml"
DEFAULT_PROMOTED_DIR = REPO_ROOT / "configs" / "presets" / "promoted"


def suites() -> dict[str, Path]:
    """Suite files by name: ``scenarios/suites/<name>.yaml``, or under ``TUNER_SUITES_DIR``
    (the reliability tests point it at a copy to remove or alter a suite)."""
    base = Path(os.environ.get("TUNER_SUITES_DIR") or REPO_ROOT / "scenarios" / "suites")
    return {name: base / f"{name}.yaml" for name in SUITE_NAMES}


def bin_dir() -> Path:
    """Directory holding ``monte_carlo`` and ``sim_eval``.

    ``TUNER_BIN_DIR`` points elsewhere (tests use it to substitute a crashing or hanging
    binary); by default the workspace's release build.
    """
    override = os.environ.get("TUNER_BIN_DIR")
    return Path(override) if override else REPO_ROOT / "target" / "release"

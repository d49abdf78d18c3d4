"""Fixtures of the reliability suite: the binaries, the lenient suites, the budgets, and
one uninterrupted reference study that every kill and signal test compares with."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from e2e import counted, load, signature
from reliab import BUDGETS, front, lenient_suites, study
from tuner.simulator.build import ensure_binaries


@pytest.fixture(scope="session", autouse=True)
def binaries() -> None:
    ensure_binaries(quiet=True)


@pytest.fixture(scope="session")
def rel_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("reliability")


@pytest.fixture(scope="session")
def suites(rel_root: Path) -> Path:
    return lenient_suites(rel_root)


@pytest.fixture(scope="session")
def budgets(rel_root: Path) -> Path:
    path = rel_root / "budgets.yaml"
    path.write_text(BUDGETS)
    return path


@pytest.fixture(scope="session")
def reference(rel_root: Path, suites: Path) -> dict[str, Any]:
    """The uninterrupted run: same seed, same settings as every interrupted one."""
    cwd = rel_root / "reference"
    cwd.mkdir()
    r = study(cwd, "rel", suites)
    assert r.returncode == 0, r.stderr
    s = load(cwd, "rel")
    trials = counted(s)
    ref = {
        "cwd": cwd,
        "signature": signature(s),
        "params": [t.params for t in trials],
        "front": front(s),
        "candidates": [t.user_attrs["candidate_id"] for t in trials],
    }
    assert len(ref["front"]) >= 2, "the reference front should hold several candidates"
    return ref

"""Shared fixtures: the repository root, a file writer and an InputError checker."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import os

import pytest

from tuner.errors import InputError

REPO_ROOT = Path(__file__).resolve().parents[1]

# Promotions made in-process by the tests confirm cheaply (tests/e2e.py sets the same for
# the commands it runs); tests of the defaults clear these.
os.environ.setdefault("TUNER_CONFIRM_RUNS", "200")
os.environ.setdefault("TUNER_CONFIRM_SUITE_SEEDS", "2")


@pytest.fixture
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture
def write_file(tmp_path: Path) -> Callable[..., Path]:
    """Write text (or bytes) to a file under tmp_path and return its path."""

    def write(content: str | bytes, name: str = "config.yaml") -> Path:
        path = tmp_path / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return path

    return write


@pytest.fixture
def input_error() -> Callable[..., str]:
    """Call a function, require an InputError with a one-line message holding every fragment."""

    def check(call: Callable[[], Any], *fragments: str) -> str:
        with pytest.raises(InputError) as info:
            call()
        message = str(info.value)
        assert message.strip(), "an InputError must say what is wrong"
        assert "\n" not in message and "\r" not in message, f"not one line: {message!r}"
        for fragment in fragments:
            assert fragment in message, f"{fragment!r} not in {message!r}"
        return message

    return check


@pytest.fixture(scope="session")
def browser() -> Any:
    """One headless chromium for the whole run (skips loudly when chromium is missing)."""
    from browser import Browser, chromium_or_skip  # noqa: PLC0415  (only the browser tests need it)

    b = Browser(chromium_or_skip())
    try:
        yield b
    finally:
        b.close()

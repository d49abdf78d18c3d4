"""Shared fixtures: the repository root, a file writer and an InputError checker."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tuner.errors import InputError

REPO_ROOT = Path(__file__).resolve().parents[1]


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

"""The candidate's overlay as a file: ``export PARAPHINA_...=value`` lines that ``source``
accepts (the trial's ``candidate.env`` and every promoted preset)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from tuner.errors import InputError

__all__ = ["env_file_text", "read_env_file"]


def env_file_text(overlay: Mapping[str, str], header: list[str] | None = None) -> str:
    """``export NAME=value`` lines, sorted by name, that ``bash -c 'source F'`` accepts,
    after ``header`` as ``#`` comment lines.

    Values are knob strings (numbers and profile names): nothing a shell would
    interpret, which :func:`tuner.names.format_knob_value` guarantees.
    """
    lines = [f"# {h}" for h in (header or [])]
    lines += [f"export {k}={overlay[k]}" for k in sorted(overlay)]
    return "\n".join(lines) + "\n"


def read_env_file(path: Path) -> dict[str, str]:
    """The ``export NAME=value`` lines of an env file (comments and blank lines skipped);
    any other line is an :class:`InputError`."""
    overlay: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if not line.startswith("export ") or "=" not in line:
            raise InputError(f"{path}: not an export line: {line[:80]!r}")
        name, value = line[len("export "):].split("=", 1)
        overlay[name] = value
    return overlay

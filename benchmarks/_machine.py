"""The machine a benchmark ran on, for its printed header: figures from one CPU do not
carry to another, so every benchmark names the CPU model and its core count."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def cpu_model() -> str:
    """The CPU model from /proc/cpuinfo (Linux), else what ``platform`` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def machine() -> str:
    """``<CPU model>, <n> cores``."""
    return f"{cpu_model()}, {os.cpu_count()} cores"

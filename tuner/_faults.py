"""Deterministic fault-injection points for the reliability tests (``tests/reliability``).

Inert unless the environment variable ``TUNER_FAULT_POINT`` is set; never set it in
production. The product calls :func:`checkpoint` at a few places where an interruption
is interesting (parameters sampled, between user-attribute writes, between the files
of a promotion, while the study outputs are written...). When the variable names the
point, the process is interrupted there:

``TUNER_FAULT_POINT=<name>[:<n>[:<action>]]``

- ``name``: the point (e.g. ``objective.sampled``);
- ``n``: act on the n-th time this process reaches the point (1-based; default 1);
- ``action``: ``kill`` (default: SIGKILL to this process, as ``kill -9`` or a power cut
  would), ``term`` (SIGTERM, as ``kill`` or a scheduler would), ``int`` (SIGINT, as
  Ctrl-C would), or ``sleep=<seconds>`` (pause, to widen a race window).

With ``TUNER_FAULT_MARK=<file>`` the point writes the process id into that file when it
acts, so that a test knows the moment.

The cost when unset is one environment lookup per call.
"""

from __future__ import annotations

import os
import signal
import time

__all__ = ["ENV", "MARK_ENV", "checkpoint"]

ENV = "TUNER_FAULT_POINT"
#: A file written when the point acts (before it sleeps or signals), for a test to wait on.
MARK_ENV = "TUNER_FAULT_MARK"
_seen: dict[str, int] = {}


def checkpoint(name: str) -> None:
    """Interrupts the process here if ``TUNER_FAULT_POINT`` names this point."""
    spec = os.environ.get(ENV)
    if not spec or not spec.startswith(name):
        return
    parts = spec.split(":")
    if parts[0] != name:
        return
    nth = int(parts[1]) if len(parts) > 1 and parts[1] else 1
    _seen[name] = _seen.get(name, 0) + 1
    if _seen[name] != nth:
        return
    action = parts[2] if len(parts) > 2 else "kill"
    mark = os.environ.get(MARK_ENV)
    if mark:  # tells a waiting test that the point is reached
        with open(mark, "w", encoding="utf-8") as fh:
            fh.write(f"{os.getpid()}\n")
    if action.startswith("sleep="):
        time.sleep(float(action.split("=", 1)[1]))
        return
    sig = {"kill": signal.SIGKILL, "term": signal.SIGTERM, "int": signal.SIGINT}[action]
    os.kill(os.getpid(), sig)
    if sig == signal.SIGKILL:  # pragma: no cover - never returns
        time.sleep(60)

"""Fault injection for end-to-end tests: a directory of wrapper executables standing in
for ``monte_carlo`` and ``sim_eval`` (``TUNER_BIN_DIR``). Each wrapper runs the real
binary unless ``TUNER_FAULT`` says otherwise:

``TUNER_FAULT=<target>:<n>:<action>`` acts on the n-th call (1-based, counted in
``TUNER_FAULT_DIR``) whose target matches: ``monte_carlo`` (a Monte Carlo run;
``--show-config`` calls are ``show-config``), or a ``sim_eval`` subcommand (``suite``,
``verify-evidence-tree``, ``write-evidence-pack``, ...).
Actions:

- ``kill_parent``: SIGKILL the calling study process before running (a crash of the
  worker while the binary runs);
- ``kill_parent_after``: run the real binary, then SIGKILL the caller;
- ``crash``: print a panic message and exit 101 without running;
- ``hang``: sleep for an hour (the per-command timeout must end it);
- ``always_crash``: crash on every call from the n-th on.
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

_WRAPPER = r'''#!{python}
import os, signal, sys, time
REAL = {real!r}
NAME = {name!r}
args = sys.argv[1:]
target = NAME if NAME == "monte_carlo" else (args[0] if args else "")
if "--show-config" in args:
    target = "show-config"  # the study's preflight, not a trial
fault = os.environ.get("TUNER_FAULT", "")
if fault:
    want, n, action = fault.split(":")
    if want == target:
        counter = os.path.join(os.environ["TUNER_FAULT_DIR"], "count_" + target)
        try:
            count = int(open(counter).read()) + 1
        except FileNotFoundError:
            count = 1
        with open(counter, "w") as fh:
            fh.write(str(count))
        hit = count == int(n) or (action == "always_crash" and count >= int(n))
        if hit and action == "kill_parent":
            os.kill(os.getppid(), signal.SIGKILL)
            time.sleep(5)
            sys.exit(137)
        if hit and action in ("crash", "always_crash"):
            sys.stderr.write("thread 'main' panicked at src/injected.rs:1:1:\ninjected fault\n")
            sys.exit(101)
        if hit and action == "hang":
            time.sleep(3600)
        if hit and action == "kill_parent_after":
            import subprocess
            rc = subprocess.call([REAL] + args)
            os.kill(os.getppid(), signal.SIGKILL)
            sys.exit(rc)
os.execv(REAL, [REAL] + args)
'''


def make_fault_bin(directory: Path, real_dir: Path) -> Path:
    """Writes the wrappers into ``directory`` and returns it."""
    directory.mkdir(parents=True, exist_ok=True)
    for name in ("monte_carlo", "sim_eval"):
        path = directory / name
        path.write_text(_WRAPPER.format(python=sys.executable, real=str(real_dir / name), name=name))
        path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return directory

"""Fault injection for end-to-end tests: a directory of wrapper executables standing in
for ``monte_carlo`` and ``sim_eval`` (``TUNER_BIN_DIR``). Each wrapper runs the real
binary unless ``TUNER_FAULT`` says otherwise:

``TUNER_FAULT=<target>:<n>:<action>`` acts on the n-th call (1-based, counted in
``TUNER_FAULT_DIR``) whose target matches: ``monte_carlo`` (a Monte Carlo run;
``--show-config`` calls are ``show-config``), or a ``sim_eval`` subcommand (``trial``:
a search trial, which is one process; ``suite``, ``verify-evidence-tree``,
``write-evidence-pack``, ...: the promoter's confirmation, reproduction and the study's
own outputs).
Actions:

- ``kill_parent``: SIGKILL the calling study process before running (a crash of the
  worker while the binary runs);
- ``kill_parent_after``: run the real binary, then SIGKILL the caller;
- ``crash``: print a panic message and exit 101 without running;
- ``hang``: sleep for an hour (the per-command timeout must end it); the wrapper's pid
  goes to ``<TUNER_FAULT_DIR>/hung.pid``;
- ``always_crash``: crash on every call from the n-th on;
- ``term_parent`` / ``int_parent``: send SIGTERM / SIGINT to the caller (``kill``,
  Ctrl-C), then wait to be killed;
- ``enospc``: run the real binary with its first output file's temporary name
  (``<--output-dir>/mc_runs.jsonl.tmp`` for ``monte_carlo``) linked to ``/dev/full``, so
  the binary's own write fails with the kernel's ENOSPC ("No space left on device");
- ``readonly``: make ``TUNER_FAULT_RO_DIR`` read-only (``chattr -R +i`` as root, who
  ignores permissions; ``chmod -R a-w`` otherwise), then run the real binary;
- ``tamper``: flip one byte of ``<DIR>/mc_summary.json`` (DIR: the command's last
  argument), then run the real binary (evidence altered between writing and verifying);
  for ``trial``, run the real binary, then flip a byte of ``mc/mc_summary.json.gz`` in
  its output directory (evidence altered after the trial verified it).

``sim_eval suite --check`` calls (the study's preflight) count as ``suite-check``.
"""

from __future__ import annotations

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
if target == "suite" and "--check" in args:
    target = "suite-check"  # the study's preflight, not a trial
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
            with open(os.path.join(os.environ["TUNER_FAULT_DIR"], "hung.pid"), "w") as fh:
                fh.write(str(os.getpid()))
            time.sleep(3600)
        if hit and action in ("term_parent", "int_parent"):
            os.kill(os.getppid(), signal.SIGTERM if action == "term_parent" else signal.SIGINT)
            time.sleep(30)
            sys.exit(143)
        if hit and action == "enospc":
            import subprocess
            out = args[args.index("--output-dir") + 1]
            os.makedirs(out, exist_ok=True)
            link = os.path.join(out, "mc_runs.jsonl.tmp")
            os.symlink("/dev/full", link)
            rc = subprocess.call([REAL] + args)
            os.unlink(link)
            sys.exit(rc)
        if hit and action == "readonly":
            import subprocess
            ro = os.environ["TUNER_FAULT_RO_DIR"]
            if os.geteuid() == 0:
                subprocess.check_call(["chattr", "-R", "+i", ro])
            else:
                subprocess.check_call(["chmod", "-R", "a-w", ro])
        if hit and action == "tamper" and target == "trial":
            # After the trial verified its own evidence and printed its document: the
            # file no longer matches the digests the document (and so the storage) holds.
            import subprocess
            done = subprocess.run([REAL] + args, stdout=subprocess.PIPE)
            out = args[args.index("--output-dir") + 1]
            path = os.path.join(out, "mc", "mc_summary.json.gz")
            data = bytearray(open(path, "rb").read())
            data[len(data) // 2] ^= 0x01
            open(path, "wb").write(bytes(data))
            sys.stdout.buffer.write(done.stdout)
            sys.exit(done.returncode)
        if hit and action == "tamper":
            path = os.path.join(args[-1], "mc_summary.json")
            data = bytearray(open(path, "rb").read())
            data[len(data) // 2] ^= 0x01
            open(path, "wb").write(bytes(data))
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

"""The one place the product talks to ``monte_carlo`` and ``sim_eval``.

Every argument list for the binaries is built here, every binary is run through
:func:`~tuner.simulator._process.run_command` (no shell, a timeout, a clean
``PARAPHINA_*`` environment plus the candidate's overlay), the binaries' one-line error
(``<binary>: error: ...``) is read here, and every evidence verification goes through
:func:`verify_tree` / :func:`verify_pack`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tuner.errors import InputError
from tuner.simulator._process import CommandResult, run_command
from tuner.simulator.build import binary

__all__ = [
    "EVIDENCE_MODES",
    "Check",
    "binary_said",
    "check_suite",
    "monte_carlo_argv",
    "run",
    "show_config",
    "suite_argv",
    "trial_argv",
    "trial_document",
    "verify_pack",
    "verify_tree",
    "verify_tree_argv",
    "write_pack",
    "write_pack_argv",
]

PathLike = str | os.PathLike[str]
#: Seconds a quick command (a check, a preflight) may take.
QUICK_TIMEOUT_S = 60.0
#: Seconds a verification or pack over a large directory may take.
EVIDENCE_TIMEOUT_S = 600.0


def monte_carlo_argv(
    *, runs: int, ticks: int, seed: int, output_dir: PathLike, threads: int | None = None, quiet: bool = True
) -> list[str | Path]:
    """``monte_carlo --runs R --ticks T --seed S --output-dir DIR [--quiet] [--threads K]``."""
    argv: list[str | Path] = [
        binary("monte_carlo"), "--runs", str(runs), "--ticks", str(ticks), "--seed", str(seed),
        "--output-dir", Path(output_dir),
    ]
    if quiet:
        argv.append("--quiet")
    if threads:
        argv += ["--threads", str(threads)]
    return argv


def _run_settings(runs: int | None, ticks: int | None, seed: int | None, threads: int | None) -> list[str]:
    out: list[str] = []
    for flag, value in (("--runs", runs), ("--ticks", ticks), ("--seed", seed), ("--threads", threads)):
        if value is not None:
            out += [flag, str(value)]
    return out


#: How much of a trial's evidence ``sim_eval trial`` keeps (see its ``--help``).
EVIDENCE_MODES = ("compact", "full", "summary")


def trial_argv(
    *, runs: int, ticks: int, seed: int, suites: Mapping[str, PathLike], output_dir: PathLike,
    evidence: str = "compact", threads: int | None = None,
) -> list[str | Path]:
    """``sim_eval trial --runs R --ticks T --seed S --suite NAME=FILE... --evidence E
    --output-dir DIR [--threads K]``: one search trial in one process."""
    argv: list[str | Path] = [binary("sim_eval"), "trial", "--runs", str(runs), "--ticks", str(ticks),
                              "--seed", str(seed)]
    for name, path in suites.items():
        argv += ["--suite", f"{name}={Path(path)}"]
    argv += ["--evidence", evidence, "--output-dir", Path(output_dir)]
    if threads:
        argv += ["--threads", str(threads)]
    return argv


def trial_document(result: CommandResult, suites: Sequence[str]) -> dict[str, Any]:
    """The JSON document ``sim_eval trial`` printed, checked for what the objective reads.
    Raises ``ValueError`` (an integrity failure for the caller) when it is not there."""
    try:
        doc = json.loads(result.stdout)
    except ValueError as exc:
        raise ValueError(f"sim_eval trial printed no JSON document ({exc})") from None
    if not isinstance(doc, dict) or doc.get("schema_version") != 1:
        raise ValueError("sim_eval trial printed a document of an unknown schema")
    try:
        if not isinstance(doc["mc"]["summary"], dict) or doc["pack"]["verified"] is not True:
            raise ValueError("sim_eval trial's document does not say its evidence verified")
        for key in ("summary_sha256", "runs_sha256"):
            str(doc["mc"][key])
        str(doc["pack"]["sha256sums_sha256"])
        missing = [name for name in suites if name not in doc["suites"]]
        if missing:
            raise ValueError(f"sim_eval trial's document lacks the suite(s) {', '.join(missing)}")
        for name in suites:
            part = doc["suites"][name]
            if not isinstance(part["passed"], bool) or not isinstance(part["failed_checks"], int) or \
                    part["passed"] != (part["failed_checks"] == 0) or not isinstance(part["failures"], list):
                raise ValueError(f"sim_eval trial's document: inconsistent verdict of suite {name}")
    except (KeyError, TypeError) as exc:
        raise ValueError(f"sim_eval trial's document lacks {exc}") from None
    return doc


def suite_argv(suite: PathLike, output_dir: PathLike) -> list[str | Path]:
    """``sim_eval suite SUITE --output-dir DIR``."""
    return [binary("sim_eval"), "suite", Path(suite), "--output-dir", Path(output_dir)]


def verify_tree_argv(directory: PathLike) -> list[str | Path]:
    """``sim_eval verify-evidence-tree DIR``."""
    return [binary("sim_eval"), "verify-evidence-tree", Path(directory)]


def write_pack_argv(directory: PathLike) -> list[str | Path]:
    """``sim_eval write-evidence-pack DIR``."""
    return [binary("sim_eval"), "write-evidence-pack", Path(directory)]


def run(
    argv: Sequence[str | os.PathLike[str]], *, overlay: Mapping[str, str] | None = None, timeout: float
) -> CommandResult:
    """Runs one simulator command (see :func:`~tuner.simulator._process.run_command`)."""
    return run_command(argv, overlay=overlay, timeout=timeout)


def binary_said(result: CommandResult) -> str:
    """What the binary said on stderr, on one line, without its ``<name>: error:`` prefix."""
    text = " ".join(result.stderr_tail.strip().split())
    name = Path(result.argv[0]).name if result.argv else ""
    return text.removeprefix(f"{name}: error: ")


def show_config(
    *,
    runs: int | None = None,
    ticks: int | None = None,
    seed: int | None = None,
    threads: int | None = None,
    overlay: Mapping[str, str] | None = None,
    refused: str = "the simulator refuses the run settings",
) -> dict[str, Any]:
    """``monte_carlo --show-config`` with the given settings: the profiles, knob domains
    and effective configuration as the simulator reports them. The simulator checks the
    settings and overlay first; a refusal is an :class:`InputError` ``<refused>: <why>``."""
    result = run([binary("monte_carlo"), "--show-config", *_run_settings(runs, ticks, seed, threads)],
                 overlay=overlay, timeout=QUICK_TIMEOUT_S)
    if result.returncode == 2:
        raise InputError(f"{refused}: {binary_said(result)[:300]}")
    if not result.ok:
        raise InputError(f"monte_carlo --show-config failed: {result.describe()}: {binary_said(result)[:300]}")
    try:
        data = json.loads(result.stdout)
    except ValueError as exc:
        raise InputError(f"monte_carlo --show-config printed no JSON ({exc})") from None
    if not isinstance(data, dict):
        raise InputError("monte_carlo --show-config printed no JSON object")
    return data


def check_suite(name: str, path: PathLike) -> None:
    """Checks a suite file and every scenario file it names (``sim_eval suite --check``)."""
    result = run([binary("sim_eval"), "suite", Path(path), "--check"], timeout=QUICK_TIMEOUT_S)
    if not result.ok:
        raise InputError(f"suite {name}: {binary_said(result)[:400]}")


@dataclass(frozen=True)
class Check:
    """The verdict of a verification command, with the lines that say what failed."""

    ok: bool
    result: CommandResult
    problems: tuple[str, ...]

    def summary(self, limit: int = 3) -> str:
        return "; ".join(self.problems[:limit])[:500]


def _check(result: CommandResult) -> Check:
    lines = (result.stdout + "\n" + result.stderr_tail).splitlines()
    problems = tuple(ln for ln in lines if ln.startswith("FAIL") or "problem" in ln)
    if not result.ok and not problems:
        problems = (result.describe() + (": " + binary_said(result) if binary_said(result) else ""),)
    return Check(result.ok, result, problems)


def verify_tree(directory: PathLike, *, timeout: float = EVIDENCE_TIMEOUT_S) -> Check:
    """Verifies every evidence pack at or below ``directory``."""
    return _check(run(verify_tree_argv(directory), timeout=timeout))


def verify_pack(directory: PathLike, *, timeout: float = EVIDENCE_TIMEOUT_S) -> Check:
    """Verifies the evidence pack of ``directory``."""
    return _check(run([binary("sim_eval"), "verify-evidence-pack", Path(directory)], timeout=timeout))


def write_pack(directory: PathLike, *, timeout: float = EVIDENCE_TIMEOUT_S) -> CommandResult:
    """Writes a root evidence pack over ``directory``."""
    return run(write_pack_argv(directory), timeout=timeout)

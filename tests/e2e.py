"""Helpers for end-to-end tests: run the real CLIs as subprocesses in a scratch
directory, open the studies they write, and inspect trial directories."""

from __future__ import annotations

import gzip
import hashlib
import os
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import optuna

from tuner.record import counted_trials
from tuner.config.paths import REPO_ROOT, bin_dir
from tuner.simulator import documents

#: Small Monte Carlo settings that keep each trial well under a second.
FAST = ["--mc-runs", "20", "--mc-ticks", "150"]
#: Small confirmation settings for every promotion the tests run (the defaults, 2000 runs
#: and 16 seeds per suite scenario, are for real promotions); a test may override them.
CONFIRM_ENV = {"TUNER_CONFIRM_RUNS": "200", "TUNER_CONFIRM_SUITE_SEEDS": "2"}


def run_cli(
    module: str,
    args: Sequence[str],
    cwd: Path,
    env: Mapping[str, str] | None = None,
    timeout: float = 300,
) -> subprocess.CompletedProcess[str]:
    """Runs ``python -m <module> <args>`` in ``cwd`` and captures its output."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("PARAPHINA_", "TUNER_"))}
    full_env.update(CONFIRM_ENV)
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout,
    )


def load(cwd: Path, name: str) -> optuna.Study:
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    return optuna.load_study(study_name=name, storage=f"sqlite:///{cwd / 'studies' / (name + '.db')}")


def counted(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    return counted_trials(study.get_trials(deepcopy=False))


def signature(study: optuna.Study) -> list[tuple[str, tuple[float, ...] | None, str]]:
    """(candidate id, objective values, state) of every counted trial, in order."""
    return [
        (t.user_attrs.get("candidate_id"), tuple(t.values) if t.values else None, t.state.name)
        for t in counted(study)
    ]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else "absent"


def real_bin() -> Path:
    return REPO_ROOT / "target" / "release" if not os.environ.get("TUNER_BIN_DIR") else bin_dir()


def rewrite_document(path: Path, edit: Callable[[bytes], bytes]) -> Path:
    """Edits a simulator document in place, plain or compressed (``path`` names the plain
    form: ``mc/mc_summary.json`` finds ``mc/mc_summary.json.gz`` in a compact trial), as
    someone editing the evidence would. Returns the file changed."""
    found = documents.locate(path)
    data = edit(documents.read_bytes(found))
    found.write_bytes(gzip.compress(data, mtime=0) if found.name.endswith(documents.GZ) else data)
    return found

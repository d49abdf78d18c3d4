"""The worked example of docs/API.md runs as written and gives a DataFrame and a dry-run
decision (run in a scratch directory, with the real binaries and SQLite)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tuner.config.paths import REPO_ROOT
from tuner.simulator.build import ensure_binaries


def test_the_api_example_runs_and_produces_a_frame_and_a_decision(tmp_path: Path) -> None:
    ensure_binaries(quiet=True)
    text = (REPO_ROOT / "docs" / "API.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) == 1, "docs/API.md holds one worked example"
    script = tmp_path / "example.py"
    script.write_text(blocks[0], encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PARAPHINA_", "TUNER_"))}
    r = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "finished trials" in r.stdout
    assert re.search(r"^conservative ", r.stdout, flags=re.M)
    assert not (tmp_path / "configs").exists() and (tmp_path / "studies" / "api_demo.db").is_file()

"""The binaries are rebuilt only when the Rust sources' content differs from the build's
recorded digest, never because of modification times, and a ``target/`` shared through
a symlink is said so (issue 13). ``cargo`` is replaced by a recording stand-in on
``PATH``, so nothing is really rebuilt."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tuner.config.paths import REPO_ROOT
from tuner.simulator import build

FAKE_CARGO = """#!/bin/sh
echo "$@" >> {log}
mkdir -p {out}
for b in monte_carlo sim_eval; do [ -e {out}/$b ] || : > {out}/$b; done
exit 0
"""


def _fake_cargo(tmp_path: Path, out: Path) -> tuple[Path, Path]:
    bindir = tmp_path / "fakebin"
    bindir.mkdir()
    log = tmp_path / "cargo.log"
    cargo = bindir / "cargo"
    cargo.write_text(FAKE_CARGO.format(log=log, out=out))
    cargo.chmod(0o755)
    return bindir, log


def _ensure(bindir: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PARAPHINA_", "TUNER_"))}
    env["PATH"] = f"{bindir}:{env.get('PATH', '')}"
    return subprocess.run([sys.executable, "-c", "from tuner.simulator.build import ensure_binaries; "
                           "ensure_binaries(quiet=False)"], env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture
def recorded_digest() -> Path:
    """The real build's digest record, restored afterwards."""
    path = REPO_ROOT / "target" / "release" / build.DIGEST_FILE
    build.ensure_binaries(quiet=True)
    saved = path.read_text()
    yield path
    path.write_text(saved)


def test_new_modification_times_do_not_rebuild(tmp_path: Path, recorded_digest: Path) -> None:
    """A fresh clone gives every source a new mtime and the same content: no rebuild."""
    bindir, log = _fake_cargo(tmp_path, tmp_path / "unused")
    sources = [p for p in (REPO_ROOT / "crates").rglob("*.rs")] + [REPO_ROOT / "Cargo.toml", REPO_ROOT / "Cargo.lock"]
    saved = {p: (p.stat().st_atime_ns, p.stat().st_mtime_ns) for p in sources}
    future = time.time() + 3600
    try:
        for p in sources:
            os.utime(p, (future, future))
        r = _ensure(bindir)
    finally:
        for p, (a, m) in saved.items():
            os.utime(p, ns=(a, m))
    assert r.returncode == 0, r.stderr
    assert not log.exists(), f"cargo was run: {log.read_text()}"


def test_other_source_content_rebuilds(tmp_path: Path, recorded_digest: Path) -> None:
    bindir, log = _fake_cargo(tmp_path, REPO_ROOT / "target" / "release")
    recorded_digest.write_text("0" * 64 + "\n")
    r = _ensure(bindir)
    assert r.returncode == 0, r.stderr
    assert log.is_file() and "build --release" in log.read_text()
    assert "built from other Rust sources" in r.stderr
    assert recorded_digest.read_text().strip() == build.source_digest()


def test_a_target_directory_shared_through_a_symlink_is_said_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = tmp_path / "repo"
    (repo / "crates" / "x" / "src").mkdir(parents=True)
    (repo / "crates" / "x" / "src" / "lib.rs").write_text("pub fn f() {}\n")
    (repo / "Cargo.toml").write_text("[workspace]\n")
    shared = tmp_path / "other-checkout-target"
    shared.mkdir()
    (repo / "target").symlink_to(shared)
    bindir, log = _fake_cargo(tmp_path, shared / "release")
    monkeypatch.setenv("PATH", f"{bindir}:{os.environ.get('PATH', '')}")
    monkeypatch.delenv("TUNER_BIN_DIR", raising=False)
    monkeypatch.setattr(build, "REPO_ROOT", repo)
    monkeypatch.setattr(build, "bin_dir", lambda: repo / "target" / "release")
    build.ensure_binaries(quiet=True)
    err = capsys.readouterr().err
    assert f"target/ is a symlink to {shared}" in err, err
    assert log.is_file()

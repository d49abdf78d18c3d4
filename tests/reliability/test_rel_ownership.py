"""No mistake may destroy another study's work (issue 13).

A mistyped ``--storage``, a study directory shared by two studies or pointing at an
unsafe place (the repository, ``configs/``, ``.``, ``/``, inside another study), a
promotion given another study's directory, a foreign SQLite file, a read-only database:
each is refused with one line naming what is wrong, exit 2, and nothing on disk changes.
Two studies (H1 and H2, 2 trials each) are run once for the module; every case runs
against copies of their state and checks that nothing changed.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from e2e import run_cli
from reliab import BUDGETS, STUDY_ARGS, db_content, study
from tuner.config.paths import REPO_ROOT

SMALL = ["--trials", "2"]


@dataclass(frozen=True)
class Case:
    id: str
    cli: str
    args: tuple[str, ...]
    fragment: str  #: must be in the one error line
    what: str  #: for docs/RELIABILITY.md
    absent: tuple[str, ...] = ()  #: paths that must not exist afterwards


def _p(*a: str) -> tuple[str, ...]:
    return a


CASES = [
    Case("storage-typo-relative", "tuner.study", _p("--storage", "sqlite:///nonexistent/dir/x.db"),
         "the directory nonexistent/dir does not exist", "`--storage sqlite:///nonexistent/dir/x.db` (default study "
         "phaseA, whose directory exists)", absent=("nonexistent",)),
    Case("storage-typo-absolute", "tuner.study", _p("--storage", "sqlite:////nonexistent_s13/dir/x.db"),
         "the directory /nonexistent_s13/dir does not exist", "`--storage sqlite:////nonexistent_s13/dir/x.db`",
         absent=("/nonexistent_s13",)),
    Case("other-storage-same-dir", "tuner.study",
         _p("--study", "H2", "--storage", "sqlite:///studies/H2.db", "--study-dir", "studies/H1"),
         "belongs to study H1 in sqlite:///", "study H2 given `--study-dir studies/H1` (H1's directory)"),
    Case("other-study-same-storage-and-dir", "tuner.study",
         _p("--study", "H3", "--storage", "sqlite:///studies/H1.db", "--study-dir", "studies/H1"),
         "not to study H3 in sqlite:///", "a new study H3 in H1's database and H1's directory"),
    Case("same-study-other-dir", "tuner.study", _p("--study", "H1", "--study-dir", "elsewhere"),
         "keeps its files in", "study H1 resumed with another `--study-dir`"),
    Case("inside-a-trial-dir", "tuner.study", _p("--study", "H4", "--study-dir", "studies/H1/trials/TRIAL0"),
         "is inside", "`--study-dir` inside another study's trial directory"),
    Case("configs", "tuner.study", _p("--study", "H4", "--study-dir", str(REPO_ROOT / "configs")),
         "is inside configs/", "`--study-dir configs` (the repository's)"),
    Case("configs-presets", "tuner.study", _p("--study", "H4", "--study-dir", str(REPO_ROOT / "configs" / "presets")),
         "is inside configs/", "`--study-dir configs/presets`"),
    Case("repository-root", "tuner.study", _p("--study", "H4", "--study-dir", str(REPO_ROOT)),
         "is the repository directory", "`--study-dir` the repository root"),
    Case("dot", "tuner.study", _p("--study", "H4", "--study-dir", "."), "is the current directory",
         "`--study-dir .`"),
    Case("filesystem-root", "tuner.study", _p("--study", "H4", "--study-dir", "/"), "the filesystem root",
         "`--study-dir /`", absent=("/trials",)),
    Case("holds-the-databases", "tuner.study", _p("--study", "H4", "--storage", "sqlite:///studies/H4.db",
                                                  "--study-dir", "studies"),
         "holds the study database", "`--study-dir studies` (holds the SQLite files)"),
    Case("parent-missing", "tuner.study", _p("--study", "H4", "--study-dir", "no/such/parent/H4"),
         "its parent directory", "`--study-dir no/such/parent/H4` without `--create-dirs`", absent=("no",)),
    Case("legacy-files-no-marker", "tuner.study", _p("--study", "H4", "--study-dir", "legacy"),
         "holds the files of another study", "a directory holding a study's files without an ownership marker"),
    Case("foreign-sqlite", "tuner.study", _p("--study", "H4", "--storage", "sqlite:///other.db"),
         "holds tables that are not Optuna's (customers)", "`--storage` naming another application's SQLite file"),
    Case("promote-other-study-dir", "tuner.promote", _p("--study", "H2", "--study-dir", "studies/H1"),
         "belongs to study H1", "`tuner.promote --study H2 --study-dir studies/H1`"),
    Case("promote-dot", "tuner.promote", _p("--study", "H1", "--study-dir", "."), "is the current directory",
         "`tuner.promote --study-dir .`"),
    Case("promote-root", "tuner.promote", _p("--study", "H1", "--study-dir", "/"), "the filesystem root",
         "`tuner.promote --study-dir /`", absent=("/trials",)),
    Case("promote-studies", "tuner.promote", _p("--study", "H1", "--study-dir", "studies"),
         "holds the study database", "`tuner.promote --study-dir studies`"),
]


def _snapshot(root: Path) -> dict[str, object]:
    """Every file below ``root``: databases by their logical content, others by digest
    (SQLite's -wal/-shm and the lock files are runtime files)."""
    out: dict[str, object] = {}
    for p in sorted(root.rglob("*")):
        if not p.is_file() or p.name.endswith(("-wal", "-shm", ".lock")):
            continue
        rel = str(p.relative_to(root))
        out[rel] = db_content(p) if p.suffix == ".db" else hashlib.sha256(p.read_bytes()).hexdigest()
    return out


@pytest.fixture(scope="module")
def owned(tmp_path_factory: pytest.TempPathFactory, suites: Path) -> Path:
    """A directory with studies H1 and H2 (each its own database and directory), a
    legacy study directory without marker, a foreign SQLite file."""
    cwd = tmp_path_factory.mktemp("owned")
    for name in ("H1", "H2"):
        r = study(cwd, name, suites, extra=SMALL)
        assert r.returncode == 0, r.stderr
    (cwd / "elsewhere").mkdir()
    legacy = cwd / "legacy"
    shutil.copytree(cwd / "studies" / "H2", legacy)
    (legacy / ".tuner-study.json").unlink(missing_ok=True)
    con = sqlite3.connect(cwd / "other.db")
    con.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
    con.execute("INSERT INTO customers VALUES (1, 'a customer')")
    con.commit()
    con.close()
    (cwd / "budgets.yaml").write_text(BUDGETS)
    return cwd


def test_each_study_directory_holds_its_ownership_marker(owned: Path) -> None:
    for name in ("H1", "H2"):
        marker = json.loads((owned / "studies" / name / ".tuner-study.json").read_text())
        assert marker["study"] == name
        assert marker["storage"] == f"sqlite:///{owned / 'studies' / (name + '.db')}"
        assert isinstance(marker["study_id"], int)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_a_mistake_is_refused_in_one_line_and_nothing_changes(owned: Path, suites: Path, case: Case) -> None:
    trial0 = next((owned / "studies" / "H1" / "trials").iterdir())
    args = [a.replace("TRIAL0", trial0.name) for a in case.args]
    if case.cli == "tuner.promote":
        args += ["--budgets", "budgets.yaml", "--out-dir", "promoted"]
    before = _snapshot(owned)
    r = run_cli(case.cli, [*args, *([*STUDY_ARGS, *SMALL] if case.cli == "tuner.study" else [])],
                owned, env={"TUNER_SUITES_DIR": str(suites)})
    assert r.returncode == 2, (r.returncode, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert case.fragment in lines[0], lines[0]
    assert "Traceback" not in r.stderr
    assert _snapshot(owned) == before, "a refused command changed files"
    assert not (owned / "promoted").exists()
    for path in case.absent:
        assert not (owned / path).exists(), f"{path} was created"


def test_a_read_only_database_file_is_one_line_with_the_right_advice(owned: Path, suites: Path) -> None:
    db = owned / "studies" / "H1.db"
    subprocess.run(["chattr", "+i", str(db)], check=True)
    try:
        r = study(owned, "H1", suites, extra=["--trials", "3"])
    finally:
        subprocess.run(["chattr", "-i", str(db)], check=True)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "the database file is read-only" in lines[0], r.stderr
    assert "not a usable SQLite database" not in r.stderr


def test_a_database_in_a_read_only_directory_is_one_line_with_the_right_advice(owned: Path, suites: Path) -> None:
    d = owned / "studies"
    subprocess.run(["chattr", "+i", str(d)], check=True)
    try:
        r = study(owned, "H1", suites, extra=["--trials", "3"])
    finally:
        subprocess.run(["chattr", "-i", str(d)], check=True)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "is not writable" in lines[0] and "journal files" in lines[0], r.stderr
    assert "not a usable SQLite database" not in r.stderr


def test_create_dirs_creates_a_missing_parent_and_the_study_runs(owned: Path, suites: Path) -> None:
    r = study(owned, "H5", suites, extra=["--trials", "1", "--study-dir", "new/parent/H5", "--create-dirs"])
    assert r.returncode == 0, r.stderr
    assert (owned / "new" / "parent" / "H5" / ".tuner-study.json").is_file()

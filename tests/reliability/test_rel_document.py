"""``docs/RELIABILITY.md`` lists every case of this suite, every test, and the counts."""

from __future__ import annotations

import re
from pathlib import Path

import doc_table

HERE = Path(__file__).resolve().parent
DOC = HERE.parents[1] / "docs" / "RELIABILITY.md"


def test_the_document_holds_the_current_table_and_counts() -> None:
    doc = DOC.read_text(encoding="utf-8")
    assert doc_table.markdown() in doc, "regenerate the table: python tests/reliability/doc_table.py"
    assert doc_table.counts_markdown() in doc, "regenerate the counts: python tests/reliability/doc_table.py"


def test_the_document_names_every_test_of_the_suite() -> None:
    doc = DOC.read_text(encoding="utf-8")
    for path in sorted(HERE.glob("test_rel_*.py")):
        for name in re.findall(r"^def (test_\w+)", path.read_text(), re.M):
            if path.name != "test_rel_document.py":
                assert f"{path.name}::{name}" in doc, f"{path.name}::{name} is not in {DOC.name}"


def test_at_least_ten_kill_points_and_thirty_bad_inputs() -> None:
    c = doc_table.counts()
    assert len(doc_table.kill.KILL_POINTS) >= 10
    assert c["bad-input cases"] >= 30

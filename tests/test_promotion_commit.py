"""All tiers or none (``tuner.promotion.commit``): a storage error at any write of a
promotion leaves every tier as it was, and so does a promoter killed with its manifest
left behind; a committed promotion appends to the history and never overwrites a file."""

from __future__ import annotations

import errno
import json
from pathlib import Path

import pytest

from tuner.promotion import commit
from tuner.promotion.commit import HISTORY_FILE, MANIFEST_FILE, TierWrite, commit_promotion, promotion_lock
from tuner.promotion.provenance import RECORD_FILE


def _state(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()
            and p.name != commit.LOCK_FILE}


def _writes(out: Path, tag: str) -> list[TierWrite]:
    return [TierWrite(out / tier, files={f"phaseA_s_{tag}.env": f"# {tier} {tag}\n", f"phaseA_s_{tag}.record.json": "{}"},
                      current=json.dumps({"tier": tier, "tag": tag}), history=[{"event": "promoted", "tag": tag}])
            for tier in ("conservative", "balanced", "aggressive")]


@pytest.fixture()
def out(tmp_path: Path) -> Path:
    out = tmp_path / "promoted"
    out.mkdir()
    commit_promotion(out, _writes(out, "first"), print)
    return out


def test_a_committed_promotion_appends_and_never_overwrites(out: Path) -> None:
    commit_promotion(out, _writes(out, "second"), print)
    for tier in ("conservative", "balanced", "aggressive"):
        d = out / tier
        assert json.loads((d / RECORD_FILE).read_text())["tag"] == "second"
        assert [json.loads(x)["tag"] for x in (d / HISTORY_FILE).read_text().splitlines()] == ["first", "second"]
        assert (d / "phaseA_s_first.env").is_file() and (d / "phaseA_s_second.env").is_file()
    with pytest.raises(FileExistsError):
        commit_promotion(out, _writes(out, "second"), print)
    assert not (out / MANIFEST_FILE).exists()


@pytest.mark.parametrize("fail_at", range(1, 10))
def test_a_storage_error_at_any_write_leaves_the_previous_state(out: Path, fail_at: int,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    before = _state(out)
    real = commit.write_atomic
    calls = {"n": 0}

    def failing(path: Path, text: str) -> None:
        calls["n"] += 1
        if calls["n"] == fail_at + 1:  # the first call writes the manifest
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        real(path, text)

    monkeypatch.setattr(commit, "write_atomic", failing)
    said: list[str] = []
    with pytest.raises(OSError):
        commit_promotion(out, _writes(out, "second"), said.append)
    assert _state(out) == before
    assert not [p for p in out.rglob(".*") if p.name != commit.LOCK_FILE]


def test_a_killed_promoter_is_rolled_back_by_the_next_one(out: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = _state(out)

    class Killed(BaseException):
        pass

    def die(name: str) -> None:
        if name == "promote.tier_done":
            raise Killed

    monkeypatch.setattr(commit, "checkpoint", die)
    monkeypatch.setattr(commit, "_abort", lambda *a, **k: None)  # a dead process rolls nothing back
    with pytest.raises(Killed):
        commit_promotion(out, _writes(out, "second"), print)
    assert (out / "conservative" / "phaseA_s_second.env").exists() and (out / MANIFEST_FILE).exists()
    monkeypatch.undo()
    said: list[str] = []
    with promotion_lock(out, said.append):
        pass
    assert _state(out) == before
    assert any("left by an interrupted promotion (never recorded)" in s for s in said), said

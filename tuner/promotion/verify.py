"""Re-verifying a trial's evidence before it is promoted: every evidence pack of its
directory, and the digests its worker recorded in the database at trial time (so a pack
rewritten after the fact is caught too)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from optuna.trial import FrozenTrial

from tuner.record import Attr, EvidenceKey
from tuner.simulator import client, documents

__all__ = ["Verification", "trial_directory", "verify_trial"]


@dataclass(frozen=True)
class Verification:
    """Whether a trial's evidence verifies now, and why not."""

    verified: bool
    reachable: bool
    detail: str


def trial_directory(t: FrozenTrial, study_dir: Path | None) -> Path | None:
    """Where a trial's evidence is: the path recorded by its worker, or the same
    directory name under ``study_dir`` (a shared filesystem mounted elsewhere)."""
    recorded = t.user_attrs.get(Attr.TRIAL_DIR)
    if not isinstance(recorded, str):
        return None
    path = Path(recorded)
    if path.is_dir():
        return path
    if study_dir is not None:
        alt = study_dir / "trials" / path.name
        if alt.is_dir():
            return alt
    return None


def verify_trial(t: FrozenTrial, study_dir: Path | None) -> Verification:
    """Re-verifies a trial directory: every evidence pack, and the recorded digests."""
    tdir = trial_directory(t, study_dir)
    if tdir is None:
        return Verification(False, False, f"trial directory {t.user_attrs.get(Attr.TRIAL_DIR)!s} is not reachable from this host")
    check = client.verify_tree(tdir)
    if not check.ok:
        return Verification(False, True, f"{tdir}: evidence does not verify: {check.summary()}")
    recorded = t.user_attrs.get(Attr.EVIDENCE) or {}
    for rel, key in (("mc/mc_summary.json", EvidenceKey.MC_SUMMARY), ("evidence_pack/SHA256SUMS", EvidenceKey.ROOT_SUMS)):
        want = recorded.get(key)
        try:
            got = documents.digest(tdir / rel)
        except OSError as exc:
            return Verification(False, True, f"{tdir / rel}: unreadable ({exc.strerror})")
        except ValueError as exc:
            return Verification(False, True, f"unreadable: {exc}")
        if want != got:
            return Verification(False, True, f"{tdir / rel}: digest {got[:12]}… differs from the one recorded at trial time ({str(want)[:12]}…)")
    return Verification(True, True, f"{tdir}: verified")

"""The table of ``docs/RELIABILITY.md``, built from the reliability suite's own case lists.

``python tests/reliability/doc_table.py`` prints the table and the counts (paste them
into the document after a change); ``test_rel_document.py`` checks that the document
lists every case and every test, and that its counts are these.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

import test_rel_bad_input as bad  # noqa: E402
import test_rel_kill_resume as kill  # noqa: E402
import test_rel_ownership as own  # noqa: E402
import test_rel_processes as procs  # noqa: E402
import test_rel_promotion as prom  # noqa: E402
import test_rel_signals as sig  # noqa: E402
import test_rel_storage_faults as disk  # noqa: E402
import test_rel_tamper as tamp  # noqa: E402

#: Node id (``file::test[id]``) -> number of the failure in "Failures found and fixed"
#: that made the case fail before its fix.
FAILED_BEFORE: dict[str, list[int]] = {}


def _mark(node: str, *fixes: int) -> None:
    FAILED_BEFORE.setdefault(node, []).extend(fixes)


K = "test_rel_kill_resume.py::test_sigkill_then_same_command_gives_the_uninterrupted_study"
S = "test_rel_signals.py::test_sigterm_and_ctrl_c_leave_the_storage_consistent_and_say_how_to_resume"
P = "test_rel_promotion.py::test_sigkill_during_promotion_leaves_no_half_written_preset"
D = "test_rel_storage_faults.py"
T = "test_rel_tamper.py"
B = "test_rel_bad_input.py::test_bad_input_is_one_line_exit_2_and_changes_nothing"

_mark(f"{K}[trial-created]", 1)
_mark("test_rel_kill_resume.py::test_two_restarts_at_once_retry_an_interrupted_trial_only_once", 2)
_mark(f"{S}[term-writing-outputs]", 3)
_mark(f"{P}[first-tier-env-written]", 4)
_mark(f"{P}[second-tier-env-written]", 4)
_mark("test_rel_promotion.py::test_concurrent_promoters_leave_complete_presets_and_replace_only_when_beaten", 5)
_mark(f"{T}::test_evidence_altered_after_the_trial_verified_it_is_never_promoted", 6)
_mark(f"{D}::test_the_study_directory_turns_read_only_the_study_stops_cleanly_and_resumes", 7, 8)
_mark(f"{D}::test_the_disk_fills_up_the_study_stops_cleanly_and_resumes_once_there_is_room[study-directory]", 7, 8)
_mark(f"{D}::test_the_disk_fills_up_the_study_stops_cleanly_and_resumes_once_there_is_room"
      "[database-and-study-directory]", 9)
_mark(f"{D}::test_the_outputs_cannot_be_written_the_error_says_the_trials_are_safe", 8)
_mark(f"{B}[population-one]", 10)
_mark(f"{B}[env-heartbeat-text]", 11)
_mark(f"{B}[env-heartbeat-negative]", 11)
for _id in ("study-mc-runs-huge", "study-mc-runs-out-of-memory", "study-mc-threads-huge"):
    _mark(f"{B}[{_id}]", 12)
for _id in ("suite-malformed", "suite-unknown-key", "suite-duplicate-key", "suite-repeats-huge", "scenario-nan",
            "scenario-negative-steps", "scenario-seeds-huge", "scenario-file-missing"):
    _mark(f"{B}[{_id}]", 13)
_mark(f"{B}[settings-changed-on-resume]", 14)
_mark(f"{B}[promote-out-dir-is-file]", 15)
for _c in bad.CASES:
    if _c.cli == "sim_eval" and _c.id not in ("se-report-gate-nan",):
        _mark(f"{B}[{_c.id}]", 16)  # the bad-input line lacked "error"
for _id in ("montecarlo-runs-zero", "montecarlo-runs-overflow", "montecarlo-unknown-flag", "se-unknown-subcommand",
            "se-report-gate-nan"):
    _mark(f"{B}[{_id}]", 16)  # clap's usage block made it 4-5 lines
for _id in ("montecarlo-runs-out-of-memory", "scenario-seeds-huge", "suite-repeats-huge", "se-scenario-steps-huge"):
    _mark(f"{B}[{_id}]", 17)
_mark(f"{B}[record-ticks-huge]", 18)

O = "test_rel_ownership.py"
OWN = f"{O}::test_a_mistake_is_refused_in_one_line_and_nothing_changes"
PR = "test_rel_processes.py"
PI = "test_rel_pipes.py"
for _id in ("storage-typo-relative", "storage-typo-absolute"):
    _mark(f"{OWN}[{_id}]", 19)
for _id in ("other-storage-same-dir", "other-study-same-storage-and-dir", "same-study-other-dir",
            "legacy-files-no-marker", "promote-other-study-dir"):
    _mark(f"{OWN}[{_id}]", 20)
for _id in ("inside-a-trial-dir", "configs", "configs-presets", "repository-root", "dot", "filesystem-root",
            "holds-the-databases", "parent-missing", "promote-dot", "promote-root", "promote-studies"):
    _mark(f"{OWN}[{_id}]", 21)
_mark(f"{OWN}[foreign-sqlite]", 22)
_mark(f"{O}::test_each_study_directory_holds_its_ownership_marker", 20)
_mark(f"{O}::test_a_read_only_database_file_is_one_line_with_the_right_advice", 23)
_mark(f"{O}::test_a_database_in_a_read_only_directory_is_one_line_with_the_right_advice", 23)
_mark(f"{O}::test_create_dirs_creates_a_missing_parent_and_the_study_runs", 21)
_mark(f"{PR}::test_a_second_process_on_a_sqlite_study_is_refused_and_the_first_stays_reproducible", 24)
_mark("test_rel_kill_resume.py::test_two_restarts_at_once_retry_an_interrupted_trial_only_once", 24)
_mark(f"{PR}::test_a_process_paused_past_the_heartbeat_grace_stops_in_one_line_when_its_trial_was_taken_over", 25)
_mark(f"{PI}::test_a_study_piped_into_head_still_runs_every_trial_and_writes_its_outputs", 26)
_mark(f"{PI}::test_a_promotion_piped_into_head_promotes_every_tier", 26)
_mark(f"{PI}::test_an_evidence_pack_that_cannot_be_rewritten_is_an_error_not_a_stale_pack", 27)
BU = "test_rel_build.py"
PG = "test_rel_postgres.py"
for _n in ("test_new_modification_times_do_not_rebuild", "test_other_source_content_rebuilds",
           "test_a_target_directory_shared_through_a_symlink_is_said_so"):
    _mark(f"{BU}::{_n}", 29)
_mark(f"{PG}::test_four_workers_started_in_the_same_second_on_a_fresh_database_all_succeed", 30)
_mark(f"{PG}::test_a_refused_connection_is_told_as_such", 31)
_mark(f"{PG}::test_a_server_lost_during_a_study_is_told_as_such_with_the_resume_command", 31)
_mark(f"{PG}::test_a_server_lost_during_a_promotion_is_one_line_and_all_tiers_or_none", 32)
for _c in procs.SIGNAL_CASES:
    _mark(f"{PR}::test_an_interrupted_promote_or_reproduce_stops_its_child_and_says_so[{_c[0]}]", 28)

SIGNAL_WHAT = {
    "term-in-trial": "SIGTERM while `sim_eval trial` runs (trial 2)",
    "int-in-trial": "Ctrl-C (SIGINT) while `sim_eval trial` runs (trial 1)",
    "term-while-sampling": "SIGTERM right after the parameters of trial 1 are sampled",
    "int-between-user-attrs": "Ctrl-C between two user-attribute writes (trial 4)",
    "int-between-trials": "Ctrl-C after trial 2 is stored, before trial 3 exists",
    "term-writing-outputs": "SIGTERM while trials.jsonl/pareto.json/plots are written",
}
PROMOTE_WHAT = {
    "re-verifying-winner": "SIGKILL while the first winner's evidence is re-verified",
    "first-tier-staged": "SIGKILL after the first tier's record is staged, before its .env",
    "first-tier-env-written": "SIGKILL between the first tier's .env and its record",
    "second-tier-env-written": "SIGKILL between the second tier's .env and its record",
    "after-two-tiers": "SIGKILL after two tiers are committed, before the third",
    "writing-study-outputs": "SIGKILL while the study outputs are rewritten after promotion",
}
TAMPER_WHAT = {
    "byte-changed-in-mc-summary": "one byte changed in `mc/mc_summary.json`",
    "sums-and-manifest-rewritten-to-match": "`mc_summary.json` changed, the Monte Carlo pack's SHA256SUMS and manifest "
                                            "rewritten to match it",
    "sums-rewritten-manifest-not": "`mc_summary.json` changed, SHA256SUMS rewritten to match it, manifest not",
    "every-pack-regenerated": "`mc_summary.json` changed and every pack regenerated with `sim_eval write-evidence-pack`",
    "suite-result-removed": "`suite/research_v1/suite_summary.json` removed",
    "suite-directory-removed": "the whole adversarial suite result directory removed",
    "extra-file": "an extra file in a suite result directory",
    "sums-name-parent-path": "a SHA256SUMS line naming `../outside.txt` (manifest rewritten to match)",
    "sums-name-absolute-path": "a SHA256SUMS line naming `/etc/hostname` (manifest rewritten to match)",
    "symlink-to-file-outside": "`mc/mc_runs.jsonl` replaced by a symlink to an identical copy outside the tree",
    "manifest-removed": "the Monte Carlo pack's `manifest.json` removed",
    "run-log-truncated": "`mc/mc_runs.jsonl` emptied",
}
HANG_WHAT = {h[0]: f"`{h[1]}` (wrapper sleeps an hour), --command-timeout 2" for h in disk.HANGS}

RESUME = ("exit -9; storage sound; the same command again: 6 counted trials, none lost or duplicated, "
          "same parameters, values and Pareto front as the uninterrupted run; study evidence verifies")


def rows() -> list[tuple[str, str, str, str]]:
    """(group, input or fault, expected behaviour, node id)."""
    out: list[tuple[str, str, str, str]] = []
    for ident, how, what in kill.KILL_POINTS:
        src = f"`TUNER_FAULT_POINT={how['TUNER_FAULT_POINT']}`" if isinstance(how, dict) else f"`TUNER_FAULT={how}`"
        out.append(("SIGKILL (study)", f"{what} ({src})", RESUME, f"{K}[{ident}]"))
    out.append(("SIGKILL (study)", "four SIGKILLs in a row (sampling, in a trial's simulator process, "
                "scored-not-told, after a trial's simulator process), "
                "each restart the same command", RESUME.replace("exit -9; ", "each leg exit -9, no completed trial lost; "),
                "test_rel_kill_resume.py::test_killed_again_and_again_the_same_command_still_converges"))
    out.append(("SIGKILL (study)", "two restarts at once after a Ctrl-C (one pauses 3 s between reading the trials "
                "and retrying, `recovery.scanned:1:sleep=3`)", "the second is refused in one line (one process per SQLite "
                "study, exit 2); the interrupted trial is retried once; 6 counted trials, no duplicate", "test_rel_kill_resume.py::test_two_restarts_at_once_retry_an_interrupted_trial_only_once"))
    for ident, how in sig.SIGNAL_POINTS:
        out.append(("SIGTERM / Ctrl-C", SIGNAL_WHAT[ident], "exit 130; `interrupted: the study is saved in …; resume "
                    "with:` and the exact command; no trial RUNNING; that command finishes the study as the "
                    "uninterrupted run", f"{S}[{ident}]"))
    out.append(("SIGTERM / Ctrl-C", "Ctrl-C with a path holding spaces among the arguments",
                "the printed resume command is shell-quoted, paste-able",
                "test_rel_signals.py::test_the_resume_command_is_printed_exactly_as_given"))
    for ident, how in prom.PROMOTE_KILLS:
        out.append(("SIGKILL (promotion)", PROMOTE_WHAT[ident],
                    "no visible .env without its record except the one a staged record names; every record whole and "
                    "matching its .env (sha256, candidate id); the same command again removes the uncommitted .env and "
                    "promotes every tier's winner", f"{P}[{ident}]"))
    out.append(("Concurrent promoters", "4 promoters at once, same study and presets directory, same second; one with "
                "other budgets pausing 1.5 s between .env and record, the others pausing before their .env",
                "every exit 0; a later promoter replaces a tier only when it beats the incumbent on the same seeds; every record whole and matching its .env; no temporary file left",
                "test_rel_promotion.py::test_concurrent_promoters_leave_complete_presets_and_replace_only_when_beaten"))
    out.append(("Disk full / read-only", "study directory made immutable (`chattr -R +i`) as the simulator process "
                "of trial 1 starts", "exit 1, one error line (directory, `Operation not permitted`) and the resume "
                "command; trial 1 FAIL flagged interrupted (not counted); after `chattr -i` the same command gives "
                "the uninterrupted study",
                f"{D}::test_the_study_directory_turns_read_only_the_study_stops_cleanly_and_resumes"))
    for ident, what in (("study-directory", "study directory on a 128 KiB tmpfs"),
                        ("database-and-study-directory", "database and study directory on a 1 MiB tmpfs")):
        out.append(("Disk full / read-only", f"{what} (real ENOSPC), then remounted at 64 MiB",
                    "exit 1, one error line (`No space left on device` / `database or disk is full`) and the resume "
                    "command; database sound, finished trials COMPLETE; the same command gives the uninterrupted study",
                    f"{D}::test_the_disk_fills_up_the_study_stops_cleanly_and_resumes_once_there_is_room[{ident}]"))
    out.append(("Disk full / read-only", "study directory made immutable after the last trial, as the study's root "
                "pack is written",
                "exit 1, one error line `cannot write the study outputs … every trial is stored`; no traceback",
                f"{D}::test_the_outputs_cannot_be_written_the_error_says_the_trials_are_safe"))
    for ident, _fault, _trial in disk.HANGS:
        out.append(("Hanging binary", HANG_WHAT[ident], "that trial FAIL `timed out after 2.0 s` naming the command; "
                    "the hung process is gone; the study goes on",
                    f"{D}::test_a_hanging_binary_is_ended_by_the_command_timeout_and_the_trial_fails[{ident}]"))
    for ident, _fn, fragment in tamp.TAMPERS:
        expected = (f"`sim_eval verify-evidence-tree` exit 1 naming `{fragment}`" if fragment else
                    "the packs verify again; the digests stored at trial time do not match") + \
                   "; promote skips the candidate with the reason, never writes it; other tiers unaffected" + \
                   ("; the study's root pack cannot cover the symlink: exit 1, `the promotion is committed, but the "
                    "study's outputs were not refreshed`" if ident == "symlink-to-file-outside" else "")
        out.append(("Tampering", TAMPER_WHAT[ident], expected,
                    f"{T}::test_tampered_evidence_is_detected_and_never_promoted[{ident}]"))
    out.append(("Tampering", "winner's trial directory moved away", "promote refuses it without "
                "--allow-unverified; never written", f"{T}::test_a_removed_trial_directory_is_not_promoted_without_allow_unverified"))
    out.append(("Tampering", "a compact trial's `mc/mc_summary.json.gz` changed right after `sim_eval trial` verified "
                "it and reported its digests (`TUNER_FAULT=trial:2:tamper`); the change inside that process, between "
                "writing and verifying, fails the trial (crates/paraphina/tests/trial_cli.rs)",
                "`verify-evidence-tree` exit 1 naming `altered: mc/mc_summary.json.gz`; promote never writes it",
                f"{T}::test_evidence_altered_after_the_trial_verified_it_is_never_promoted"))
    out.append(("Ownership", "two studies run (2 trials each)", "each study directory holds `.tuner-study.json`: "
                "the SQLite file's absolute URL (a server URL without password), the study name, Optuna's study id",
                f"{O}::test_each_study_directory_holds_its_ownership_marker"))
    for c in own.CASES:
        gone = f"; {', '.join(c.absent)} not created" if c.absent else ""
        out.append(("Ownership", f"python -m {c.cli}: {c.what}",
                    f"exit 2, one line: `{c.fragment}`; no file changed{gone}", f"{OWN}[{c.id}]"))
    out.append(("Ownership", "`--study-dir new/parent/H5 --create-dirs`", "the parents are created; the study runs "
                "and claims the directory", f"{O}::test_create_dirs_creates_a_missing_parent_and_the_study_runs"))
    out.append(("Ownership", "resuming a study whose SQLite file is immutable (`chattr +i`)", "exit 2, one line: `the "
                "database file is read-only` with the fix; never `not a usable SQLite database`, no traceback",
                f"{O}::test_a_read_only_database_file_is_one_line_with_the_right_advice"))
    out.append(("Ownership", "resuming a study whose database directory is immutable", "exit 2, one line: the "
                "directory `is not writable` (SQLite's journal files); never `not a usable SQLite database`",
                f"{O}::test_a_database_in_a_read_only_directory_is_one_line_with_the_right_advice"))
    out.append(("Two processes", "the same study command started twice, and once more with another `--study-dir`, "
                "while the first runs", "both later ones exit 2, one line `is being run by another process (pid …)` "
                "(lock `<db>.<study>.lock` beside the database); the first gives the uninterrupted study bit for bit",
                f"{PR}::test_a_second_process_on_a_sqlite_study_is_refused_and_the_first_stays_reproducible"))
    out.append(("Two processes", "a study SIGSTOPped during trial 2 past the heartbeat grace (2 s); another worker "
                "fails the stale trial and retries it; SIGCONT", "exit 1, one line `trial 2 was declared dead and "
                "taken over …` and the resume command, no traceback; that command gives the uninterrupted study",
                f"{PR}::test_a_process_paused_past_the_heartbeat_grace_stops_in_one_line_when_its_trial_was_taken_over"))
    for ident, cli, fault, signum, child in procs.SIGNAL_CASES:
        out.append(("Interrupted promote / reproduce", f"{'SIGTERM' if signum == 15 else 'Ctrl-C (SIGINT)'} to "
                    f"`{cli}` while `{child}` runs (`{fault}`)", f"exit 130, `interrupted; stopped {child} (pid N)`; "
                    "that process group is gone; no tier written",
                    f"{PR}::test_an_interrupted_promote_or_reproduce_stops_its_child_and_says_so[{ident}]"))
    out.append(("Closed pipe", "`tuner.study … 2>&1 | head -3`", "every trial runs, the outputs and the root pack are "
                "written, exit 0; the study is the uninterrupted one",
                f"{PI}::test_a_study_piped_into_head_still_runs_every_trial_and_writes_its_outputs"))
    out.append(("Closed pipe", "`tuner.promote … | head -1`", "every tier a full run promotes is promoted, exit 0",
                f"{PI}::test_a_promotion_piped_into_head_promotes_every_tier"))
    out.append(("Closed pipe", "a file name with a line break in the study directory (the root pack cannot name it), "
                "then `tuner.promote` and `tuner.study`", "exit 1, `root evidence pack … not written`, no `outputs in` "
                "line, no traceback", f"{PI}::test_an_evidence_pack_that_cannot_be_rewritten_is_an_error_not_a_stale_pack"))
    out.append(("Binaries", "every Rust source given a new modification time (a fresh clone)", "no rebuild "
                "(cargo, replaced by a recording stand-in, is not run)", f"{BU}::test_new_modification_times_do_not_rebuild"))
    out.append(("Binaries", "the recorded source digest differs from the sources'", "cargo build runs; the new "
                "digest is recorded", f"{BU}::test_other_source_content_rebuilds"))
    out.append(("Binaries", "`target/` is a symlink to another checkout's", "the build says `target/ is a symlink to …`",
                f"{BU}::test_a_target_directory_shared_through_a_symlink_is_said_so"))
    out.append(("PostgreSQL", "4 workers started in the same second on a fresh database, 3 rounds", "every worker "
                "exits 0 (setup under an advisory lock); 4 counted trials",
                f"{PG}::test_four_workers_started_in_the_same_second_on_a_fresh_database_all_succeed"))
    out.append(("PostgreSQL", "a port where no server listens", "exit 2, one line `cannot open the database … running "
                "and reachable`; never `free space`", f"{PG}::test_a_refused_connection_is_told_as_such"))
    out.append(("PostgreSQL", "the server stopped (`pg_ctl stop -m immediate`) during trial 1", "exit 1, one line "
                "`The database server could not be reached` and the resume command; never `free space`, no traceback",
                f"{PG}::test_a_server_lost_during_a_study_is_told_as_such_with_the_resume_command"))
    out.append(("PostgreSQL", "the server stopped (`pg_ctl stop -m immediate`) during `tuner.promote`, once the "
                "tiers are decided (`TUNER_FAULT_POINT=promote.decided:1:sleep=6`)", "exit 1, one line: the database "
                "server could not be reached, and whether the promotion is committed (all tiers) or nothing was "
                "promoted, as on disk; no traceback, no half-written tier",
                f"{PG}::test_a_server_lost_during_a_promotion_is_one_line_and_all_tiers_or_none"))
    for c in bad.CASES:
        prog = c.cli if c.cli in ("monte_carlo", "sim_eval") else f"python -m {c.cli}"
        env = " ".join(f"{k}={v!r}" if k.startswith("PARAPHINA_") else f"{k}={v}" for k, v in c.env)
        what = f"{prog}: {c.what}" + (f" ({env})" if env else "")
        out.append(("Bad input", what.replace("|", "\\|"), f"exit 2, one line: `{c.fragment}`".replace("|", "\\|"),
                    f"{B}[{c.id}]"))
    out.append(("Bad input", "the table itself", "at least 30 cases, distinct ids",
                "test_rel_bad_input.py::test_the_table_has_distinct_cases"))
    return out


def SAFETY_NODES() -> list[str]:  # noqa: N802
    """The cases of the ownership, process and pipe files (issue 13)."""
    return [r[3] for r in rows() if r[3].startswith((O, PR, PI, BU, PG))]


def counts() -> dict[str, int]:
    by_cli: dict[str, int] = {}
    for c in bad.CASES:
        by_cli[c.cli] = by_cli.get(c.cli, 0) + 1
    faults = (len(kill.KILL_POINTS) + 4 + 1 + len(sig.SIGNAL_POINTS) + 1 + len(prom.PROMOTE_KILLS) + 1 + 4
              + len(disk.HANGS) + 1)
    tampering = len(tamp.TAMPERS) + 1
    safety = len(SAFETY_NODES())
    return {
        "faults injected": faults,
        "tampering cases": tampering,
        "bad-input cases": len(bad.CASES),
        **{f"bad-input cases of {k}": v for k, v in by_cli.items()},
        "mistakes and process conflicts": safety,
        "cases tried in all": faults + tampering + len(bad.CASES) + safety,
        "failures found and fixed": max(n for fixes in FAILED_BEFORE.values() for n in fixes),
        "cases that failed before their fix": len(FAILED_BEFORE),
    }


def counts_markdown() -> str:
    c = counts()
    by_cli = ", ".join(f"{v} {k.removeprefix('bad-input cases of ')}" for k, v in c.items()
                       if k.startswith("bad-input cases of "))
    return (
        f"- **Faults injected: {c['faults injected']}** (SIGKILL at {len(kill.KILL_POINTS)} moments of a study, "
        f"4 in a row, 1 double restart; SIGTERM or Ctrl-C at {len(sig.SIGNAL_POINTS) + 1} moments; SIGKILL at "
        f"{len(prom.PROMOTE_KILLS)} steps of a promotion; 1 race of 4 promoters; 4 full-disk or read-only "
        f"directories; {len(disk.HANGS)} hanging binaries; 1 evidence file altered after a trial's verification)\n"
        f"- **Tampering cases: {c['tampering cases']}**\n"
        f"- **Bad-input cases: {c['bad-input cases']}** ({by_cli})\n"
        f"- **Mistakes and process conflicts: {c['mistakes and process conflicts']}** (ownership and unsafe "
        "directories, read-only and foreign databases, two processes, interrupted promote/reproduce, closed pipes, "
        "binaries rebuilt, PostgreSQL workers and lost connections)\n"
        f"- **Cases tried in all: {c['cases tried in all']}**\n"
        f"- **Failures found and fixed: {c['failures found and fixed']}** "
        f"({c['cases that failed before their fix']} cases failed before their fix)\n"
    )


def markdown() -> str:
    lines = ["| # | group | input or fault | expected behaviour | test (`tests/reliability/…`) | result |",
             "|---|---|---|---|---|---|"]
    for i, (group, what, expected, node) in enumerate(rows(), 1):
        fixes = FAILED_BEFORE.get(node)
        result = "pass" + (f" (failed before fix {', '.join(map(str, sorted(set(fixes))))})" if fixes else "")
        lines.append(f"| {i} | {group} | {what} | {expected} | `{node}` | {result} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown())
    print(counts_markdown())

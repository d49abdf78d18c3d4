//! Evidence packs: writing, verifying one pack, verifying a tree, and the `sim_eval`
//! commands over them. Every failure case asserts the exact problems reported, so a
//! verifier that reports the wrong thing (or too much) fails too.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use paraphina::evidence::{
    self, Manifest, PackReport, PathFault, Problem, sha256_bytes, verify_pack, verify_tree,
    write_pack,
};
use tempfile::TempDir;

// ---------------------------------------------------------------------------------------
// helpers

fn put(dir: &Path, rel: &str, content: &str) {
    let path = dir.join(rel);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, content).unwrap();
}

/// A directory shaped like a Monte Carlo output: two files at the top, two in a subdirectory.
fn mc_dir(dir: &Path) {
    put(dir, "mc_summary.json", "{\"pnl_mean\": 12.5}\n");
    put(dir, "mc_runs.jsonl", "{\"run\": 0}\n{\"run\": 1}\n");
    put(dir, "data/a.txt", "alpha\n");
    put(dir, "data/b.txt", "beta\n");
}

/// A temporary directory holding `pack/` (an mc_dir with a plain pack) and room beside it.
fn packed() -> (TempDir, PathBuf) {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path().join("pack");
    mc_dir(&dir);
    write_pack(&dir, "test", "paraphina test", false).unwrap();
    (tmp, dir)
}

fn sums_path(dir: &Path) -> PathBuf {
    dir.join("evidence_pack/SHA256SUMS")
}

fn manifest_path(dir: &Path) -> PathBuf {
    dir.join("evidence_pack/manifest.json")
}

fn read_sums(dir: &Path) -> String {
    fs::read_to_string(sums_path(dir)).unwrap()
}

fn read_manifest(dir: &Path) -> Manifest {
    serde_json::from_slice(&fs::read(manifest_path(dir)).unwrap()).unwrap()
}

fn write_manifest(dir: &Path, manifest: &Manifest) {
    fs::write(
        manifest_path(dir),
        serde_json::to_vec_pretty(manifest).unwrap(),
    )
    .unwrap();
}

/// Replaces SHA256SUMS and updates the manifest to match it, as a careful forger would,
/// so that the only problems left are the ones in the new content.
fn forge_sums(dir: &Path, content: &str) {
    fs::write(sums_path(dir), content).unwrap();
    let mut manifest = read_manifest(dir);
    manifest.file_count = content.split_terminator('\n').count();
    manifest.sha256sums_sha256 = sha256_bytes(content.as_bytes());
    write_manifest(dir, &manifest);
}

fn line_of(content: &str, path: &str) -> String {
    format!("{}  {path}\n", sha256_bytes(content.as_bytes()))
}

/// `sums` with `line` added where the sort order puts it.
fn with_line(sums: &str, line: String) -> String {
    let mut lines: Vec<String> = sums.lines().map(|l| format!("{l}\n")).collect();
    lines.push(line);
    lines.sort_by(|a, b| a[66..].cmp(&b[66..]));
    lines.concat()
}

fn problems(dir: &Path) -> Vec<Problem> {
    verify_pack(dir).problems
}

fn assert_ok(report: &PackReport) {
    assert!(
        report.is_ok(),
        "expected {} to verify, got {:#?}",
        report.dir.display(),
        report.problems
    );
}

fn have_sha256sum() -> bool {
    Command::new("sha256sum")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// `cd dir && sha256sum -c --strict evidence_pack/SHA256SUMS`, when sha256sum exists.
fn assert_sha256sum_accepts(dir: &Path) {
    if !have_sha256sum() {
        eprintln!("sha256sum not found: skipping the check with the real tool");
        return;
    }
    let out = Command::new("sha256sum")
        .args(["-c", "--strict", "evidence_pack/SHA256SUMS"])
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "sha256sum -c failed in {}: {}{}",
        dir.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

// ---------------------------------------------------------------------------------------
// writing

#[test]
fn clean_pack_verifies_and_sha256sum_accepts_it() {
    let (_tmp, dir) = packed();
    let report = verify_pack(&dir);
    assert_ok(&report);
    assert_eq!(report.listed, 4);
    assert_eq!(
        read_sums(&dir)
            .lines()
            .map(|l| &l[66..])
            .collect::<Vec<_>>(),
        [
            "data/a.txt",
            "data/b.txt",
            "mc_runs.jsonl",
            "mc_summary.json"
        ]
    );
    let manifest = report.manifest.expect("manifest read");
    assert_eq!(manifest.schema_version, 1);
    assert_eq!(manifest.file_count, 4);
    assert!(!manifest.excludes_nested_packs);
    assert_sha256sum_accepts(&dir);
}

#[test]
fn writing_twice_gives_identical_sha256sums() {
    let (_tmp, dir) = packed();
    let first = read_sums(&dir);
    write_pack(&dir, "test", "paraphina test", false).unwrap();
    assert_eq!(read_sums(&dir), first);
}

#[test]
fn empty_directory_gives_an_empty_pack_that_verifies() {
    let tmp = TempDir::new().unwrap();
    let manifest = write_pack(tmp.path(), "test", "paraphina test", false).unwrap();
    assert_eq!(manifest.file_count, 0);
    assert_ok(&verify_pack(tmp.path()));
}

#[test]
fn manifest_without_scope_field_reads_as_a_plain_pack() {
    let (_tmp, dir) = packed();
    let json = fs::read_to_string(manifest_path(&dir)).unwrap();
    let json = json.replace("  \"excludes_nested_packs\": false,\n", "");
    assert!(!json.contains("excludes_nested_packs"));
    fs::write(manifest_path(&dir), json).unwrap();
    assert_ok(&verify_pack(&dir));
}

#[test]
fn write_pack_refuses_a_symlink() {
    let tmp = TempDir::new().unwrap();
    mc_dir(tmp.path());
    symlink("mc_summary.json", tmp.path().join("link.json")).unwrap();
    let err = write_pack(tmp.path(), "test", "paraphina test", false).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("link.json") && msg.contains("symbolic link"),
        "{msg}"
    );
    assert!(
        !tmp.path().join("evidence_pack").exists(),
        "no pack is written on refusal"
    );
}

#[test]
fn write_pack_refuses_a_symlinked_directory() {
    let tmp = TempDir::new().unwrap();
    mc_dir(&tmp.path().join("pack"));
    symlink(tmp.path().join("pack/data"), tmp.path().join("pack/more")).unwrap();
    let msg = write_pack(&tmp.path().join("pack"), "test", "t", false)
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("more") && msg.contains("symbolic link"),
        "{msg}"
    );
}

#[test]
fn write_pack_refuses_names_sha256sum_would_escape() {
    for (name, what) in [
        ("back\\slash", "backslash"),
        ("new\nline", "newline"),
        ("cr\rx", "carriage return"),
    ] {
        let tmp = TempDir::new().unwrap();
        mc_dir(tmp.path());
        put(tmp.path(), name, "x");
        let msg = write_pack(tmp.path(), "test", "t", false)
            .unwrap_err()
            .to_string();
        assert!(msg.contains(what), "{name:?}: {msg}");
    }
}

#[test]
fn write_pack_refuses_a_socket() {
    let tmp = TempDir::new().unwrap();
    mc_dir(tmp.path());
    let _listener = std::os::unix::net::UnixListener::bind(tmp.path().join("sock")).unwrap();
    let msg = write_pack(tmp.path(), "test", "t", false)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("sock") && msg.contains("a socket"), "{msg}");
}

#[test]
fn command_line_quotes_what_a_shell_would_split() {
    assert_eq!(
        evidence::command_line(["sim_eval", "write-evidence-pack", "out dir", "it's"]),
        r"sim_eval write-evidence-pack 'out dir' 'it'\''s'"
    );
}

// ---------------------------------------------------------------------------------------
// verifying one pack: changes to the covered files

#[test]
fn changed_byte_is_reported_as_altered_with_both_hashes() {
    let (_tmp, dir) = packed();
    let expected = sha256_bytes(b"{\"pnl_mean\": 12.5}\n");
    put(&dir, "mc_summary.json", "{\"pnl_mean\": 12.6}\n");
    let found = sha256_bytes(b"{\"pnl_mean\": 12.6}\n");
    let got = problems(&dir);
    assert_eq!(
        got,
        [Problem::Altered {
            path: "mc_summary.json".into(),
            expected: expected.clone(),
            found: found.clone()
        }]
    );
    assert_eq!(
        got[0].to_string(),
        format!("altered: mc_summary.json (expected {expected}, found {found})")
    );
}

#[test]
fn deleted_file_is_reported_as_missing() {
    let (_tmp, dir) = packed();
    fs::remove_file(dir.join("data/b.txt")).unwrap();
    let got = problems(&dir);
    assert_eq!(
        got,
        [Problem::Missing {
            path: "data/b.txt".into()
        }]
    );
    assert_eq!(got[0].to_string(), "missing: data/b.txt");
}

#[test]
fn added_file_is_reported_as_unlisted() {
    let (_tmp, dir) = packed();
    put(&dir, "data/c.txt", "gamma\n");
    let got = problems(&dir);
    assert_eq!(
        got,
        [Problem::Unlisted {
            path: "data/c.txt".into()
        }]
    );
    assert!(got[0].to_string().starts_with("unlisted: data/c.txt"));
}

#[test]
fn file_added_in_the_pack_directory_itself_is_not_covered() {
    let (_tmp, dir) = packed();
    put(
        &dir,
        "evidence_pack/notes.txt",
        "the pack directory holds the pack, not data",
    );
    assert_ok(&verify_pack(&dir));
}

#[test]
fn symlink_in_place_of_a_file_is_reported_even_with_identical_content() {
    let (tmp, dir) = packed();
    let outside = tmp.path().join("a_copy.txt");
    fs::write(&outside, "alpha\n").unwrap();
    fs::remove_file(dir.join("data/a.txt")).unwrap();
    symlink(&outside, dir.join("data/a.txt")).unwrap();
    let got = problems(&dir);
    assert_eq!(
        got,
        [Problem::Symlink {
            path: "data/a.txt".into(),
            target: outside.display().to_string()
        }]
    );
    assert!(got[0].to_string().starts_with("symlink: data/a.txt -> "));
}

#[test]
fn symlinked_directory_is_reported_once_and_its_files_not_as_missing() {
    let (tmp, dir) = packed();
    let moved = tmp.path().join("real_data");
    fs::rename(dir.join("data"), &moved).unwrap();
    symlink(&moved, dir.join("data")).unwrap();
    assert_eq!(
        problems(&dir),
        [Problem::Symlink {
            path: "data".into(),
            target: moved.display().to_string()
        }]
    );
}

#[test]
fn socket_in_the_tree_is_reported_as_not_a_regular_file() {
    let (_tmp, dir) = packed();
    let _listener = std::os::unix::net::UnixListener::bind(dir.join("data/sock")).unwrap();
    assert_eq!(
        problems(&dir),
        [Problem::NotRegularFile {
            path: "data/sock".into(),
            kind: "a socket"
        }]
    );
}

#[test]
fn file_with_an_unlistable_name_is_reported() {
    let (_tmp, dir) = packed();
    put(&dir, "data/x\\y", "z");
    assert_eq!(
        problems(&dir),
        [Problem::UnlistableName {
            path: "data/x\\y".into(),
            fault: PathFault::Backslash
        }]
    );
}

// ---------------------------------------------------------------------------------------
// verifying one pack: SHA256SUMS lines

#[test]
fn parent_dir_path_in_sums_is_rejected_without_reading_the_file() {
    let (tmp, dir) = packed();
    fs::write(tmp.path().join("outside"), "secret\n").unwrap();
    // `../outside` sorts before `data/`, so the line goes first and stays sorted.
    forge_sums(
        &dir,
        &(line_of("secret\n", "../outside") + &read_sums(&dir)),
    );
    let got = problems(&dir);
    assert_eq!(
        got,
        [Problem::UnsafePath {
            line: 1,
            path: "../outside".into(),
            fault: PathFault::ParentDir
        }]
    );
    assert!(
        got[0]
            .to_string()
            .starts_with("unsafe path: \"../outside\""),
        "{}",
        got[0]
    );
}

#[test]
fn absolute_path_in_sums_is_rejected() {
    let (tmp, dir) = packed();
    let outside = tmp.path().join("outside");
    fs::write(&outside, "secret\n").unwrap();
    let abs = outside.display().to_string();
    forge_sums(&dir, &(line_of("secret\n", &abs) + &read_sums(&dir)));
    assert_eq!(
        problems(&dir),
        [Problem::UnsafePath {
            line: 1,
            path: abs,
            fault: PathFault::Absolute
        }]
    );
}

#[test]
fn dot_empty_component_and_backslash_paths_are_rejected() {
    for (path, fault) in [
        ("./data/a.txt", PathFault::CurrentDir),
        ("data//a.txt", PathFault::EmptyComponent),
        ("data/", PathFault::EmptyComponent),
        ("data\\a.txt", PathFault::Backslash),
    ] {
        let (_tmp, dir) = packed();
        forge_sums(&dir, &(read_sums(&dir) + &line_of("alpha\n", path)));
        let got = problems(&dir);
        let unsafe_path = Problem::UnsafePath {
            line: 5,
            path: path.into(),
            fault,
        };
        assert!(got.contains(&unsafe_path), "{path:?}: {got:#?}");
        assert!(
            got.iter()
                .all(|p| matches!(p, Problem::UnsafePath { .. } | Problem::UnsortedLine { .. })),
            "{path:?}: {got:#?}"
        );
    }
}

#[test]
fn duplicate_line_is_reported() {
    let (_tmp, dir) = packed();
    let sums = read_sums(&dir);
    let first = sums.lines().next().unwrap();
    forge_sums(&dir, &format!("{first}\n{sums}"));
    let got = problems(&dir);
    assert_eq!(
        got,
        [Problem::DuplicatePath {
            path: "data/a.txt".into(),
            first_line: 1,
            line: 2
        }]
    );
    assert!(got[0].to_string().starts_with("duplicate: data/a.txt"));
}

#[test]
fn unsorted_lines_are_reported() {
    let (_tmp, dir) = packed();
    let sums = read_sums(&dir);
    let mut lines: Vec<&str> = sums.lines().collect();
    lines.swap(0, 1);
    forge_sums(&dir, &(lines.join("\n") + "\n"));
    assert_eq!(
        problems(&dir),
        [Problem::UnsortedLine {
            line: 2,
            path: "data/a.txt".into(),
            previous: "data/b.txt".into()
        }]
    );
}

#[test]
fn malformed_lines_are_reported_with_their_reason() {
    let hash = sha256_bytes(b"alpha\n");
    let cases = [
        (
            hash.to_uppercase() + "  data/z",
            "does not start with 64 lowercase hex digits",
        ),
        (
            format!("{hash} data/z"),
            "hash is not followed by two spaces",
        ),
        (
            format!("{hash} *data/z"),
            "hash is not followed by two spaces",
        ),
        (
            format!("{}  data/z", &hash[..63]),
            "does not start with 64 lowercase hex digits",
        ),
        (
            format!("{hash}0  data/z"),
            "hash is longer than 64 hex digits",
        ),
        (
            format!("\\{hash}  data\\\\z"),
            "does not start with 64 lowercase hex digits",
        ),
        (format!("{hash}  "), "no path after the hash"),
        (String::new(), "empty line"),
    ];
    for (bad, reason) in cases {
        let (_tmp, dir) = packed();
        forge_sums(&dir, &format!("{}{bad}\n", read_sums(&dir)));
        let got = problems(&dir);
        assert_eq!(
            got,
            [Problem::MalformedLine {
                line: 5,
                reason,
                text: bad.clone()
            }],
            "{bad:?}"
        );
        assert!(
            got[0]
                .to_string()
                .starts_with("malformed line: evidence_pack/SHA256SUMS line 5: ")
        );
    }
}

#[test]
fn missing_final_newline_is_malformed() {
    let (_tmp, dir) = packed();
    let sums = read_sums(&dir);
    let trimmed = sums.trim_end_matches('\n');
    forge_sums(&dir, trimmed);
    let last = trimmed.lines().last().unwrap().to_string();
    assert_eq!(
        problems(&dir),
        [Problem::MalformedLine {
            line: 4,
            reason: "no newline at end of file",
            text: last
        }]
    );
}

#[test]
fn listed_path_that_is_a_directory_is_not_a_regular_file() {
    let (_tmp, dir) = packed();
    forge_sums(&dir, &with_line(&read_sums(&dir), line_of("", "data")));
    assert_eq!(
        problems(&dir),
        [Problem::NotRegularFile {
            path: "data".into(),
            kind: "a directory"
        }]
    );
}

#[test]
fn listing_the_pack_directory_itself_is_out_of_scope() {
    let (_tmp, dir) = packed();
    let manifest = fs::read_to_string(manifest_path(&dir)).unwrap();
    forge_sums(
        &dir,
        &with_line(
            &read_sums(&dir),
            line_of(&manifest, "evidence_pack/manifest.json"),
        ),
    );
    assert_eq!(
        problems(&dir),
        [Problem::OutOfScope {
            line: 3,
            path: "evidence_pack/manifest.json".into()
        }]
    );
}

// ---------------------------------------------------------------------------------------
// verifying one pack: the pack's own files

#[test]
fn rewritten_sums_without_manifest_update_is_reported() {
    let (_tmp, dir) = packed();
    let old = read_manifest(&dir).sha256sums_sha256;
    // Alter a file and re-hash it in SHA256SUMS, leaving the manifest as it was.
    put(&dir, "data/a.txt", "ALPHA\n");
    let sums = read_sums(&dir).replace(&sha256_bytes(b"alpha\n"), &sha256_bytes(b"ALPHA\n"));
    fs::write(sums_path(&dir), &sums).unwrap();
    let got = problems(&dir);
    assert_eq!(
        got,
        [Problem::SumsHashMismatch {
            manifest: old,
            actual: sha256_bytes(sums.as_bytes())
        }]
    );
    assert!(
        got[0]
            .to_string()
            .starts_with("altered: evidence_pack/SHA256SUMS")
    );
}

#[test]
fn manifest_with_wrong_file_count_is_reported() {
    let (_tmp, dir) = packed();
    let mut manifest = read_manifest(&dir);
    manifest.file_count = 5;
    write_manifest(&dir, &manifest);
    let got = problems(&dir);
    assert_eq!(
        got,
        [Problem::FileCountMismatch {
            manifest: 5,
            lines: 4
        }]
    );
    assert!(got[0].to_string().contains("file_count 5"), "{}", got[0]);
}

#[test]
fn manifest_of_another_schema_version_is_reported() {
    let (_tmp, dir) = packed();
    let json = fs::read_to_string(manifest_path(&dir)).unwrap();
    fs::write(
        manifest_path(&dir),
        json.replace("\"schema_version\": 1", "\"schema_version\": 2"),
    )
    .unwrap();
    assert_eq!(problems(&dir), [Problem::SchemaVersion { found: 2 }]);
}

#[test]
fn manifest_that_is_not_json_is_reported() {
    let (_tmp, dir) = packed();
    fs::write(manifest_path(&dir), "schema_version: 1\n").unwrap();
    let got = problems(&dir);
    assert!(
        matches!(got.as_slice(), [Problem::ManifestInvalid { .. }]),
        "{got:#?}"
    );
}

#[test]
fn missing_pack_directory_is_reported() {
    let tmp = TempDir::new().unwrap();
    mc_dir(tmp.path());
    let got = problems(tmp.path());
    assert_eq!(got, [Problem::NoPackDir { why: "is missing" }]);
    assert_eq!(got[0].to_string(), "no pack: evidence_pack/ is missing");
}

#[test]
fn missing_sums_is_reported() {
    let (_tmp, dir) = packed();
    fs::remove_file(sums_path(&dir)).unwrap();
    assert_eq!(
        problems(&dir),
        [Problem::PackFileMissing {
            path: "evidence_pack/SHA256SUMS".into()
        }]
    );
}

#[test]
fn missing_manifest_is_reported_and_files_are_still_checked() {
    let (_tmp, dir) = packed();
    fs::remove_file(manifest_path(&dir)).unwrap();
    fs::remove_file(dir.join("data/a.txt")).unwrap();
    assert_eq!(
        problems(&dir),
        [
            Problem::PackFileMissing {
                path: "evidence_pack/manifest.json".into()
            },
            Problem::Missing {
                path: "data/a.txt".into()
            },
        ]
    );
}

#[test]
fn symlinked_sums_file_is_not_followed() {
    let (tmp, dir) = packed();
    let elsewhere = tmp.path().join("SHA256SUMS");
    fs::rename(sums_path(&dir), &elsewhere).unwrap();
    symlink(&elsewhere, sums_path(&dir)).unwrap();
    assert_eq!(
        problems(&dir),
        [Problem::Symlink {
            path: "evidence_pack/SHA256SUMS".into(),
            target: elsewhere.display().to_string()
        }]
    );
}

// ---------------------------------------------------------------------------------------
// nested packs: plain packs list them, root packs leave them out

/// `root/` with two nested packs (`mc/` and `suite/research_v1/`), a top-level file, and
/// a root pack over all of it with nested packs excluded.
fn root_packed() -> (TempDir, PathBuf) {
    let tmp = TempDir::new().unwrap();
    let root = tmp.path().join("root");
    mc_dir(&root.join("mc"));
    write_pack(&root.join("mc"), "monte_carlo", "t", false).unwrap();
    put(&root, "suite/research_v1/summary.json", "{}\n");
    write_pack(
        &root.join("suite/research_v1"),
        "sim_eval suite",
        "t",
        false,
    )
    .unwrap();
    put(&root, "candidate.env", "PARAPHINA_X=1\n");
    write_pack(&root, "study", "t", true).unwrap();
    (tmp, root)
}

#[test]
fn root_pack_verifies_and_leaves_nested_packs_out() {
    let (_tmp, root) = root_packed();
    let report = verify_pack(&root);
    assert_ok(&report);
    assert!(report.manifest.unwrap().excludes_nested_packs);
    let sums = read_sums(&root);
    assert!(!sums.contains("evidence_pack/"), "{sums}");
    assert!(sums.contains("  mc/mc_summary.json\n"), "{sums}");
    assert_sha256sum_accepts(&root);
    // A nested pack rewritten later (new creation time) does not disturb the root pack.
    write_pack(&root.join("mc"), "monte_carlo again", "t", false).unwrap();
    assert_ok(&verify_pack(&root));
}

#[test]
fn plain_pack_lists_nested_pack_files() {
    let (_tmp, root) = root_packed();
    write_pack(&root, "plain", "t", false).unwrap();
    assert!(read_sums(&root).contains("  mc/evidence_pack/manifest.json\n"));
    assert_ok(&verify_pack(&root));
    assert_sha256sum_accepts(&root);
}

#[test]
fn root_pack_detects_a_file_added_at_the_root() {
    let (_tmp, root) = root_packed();
    put(&root, "added.txt", "x");
    assert_eq!(
        problems(&root),
        [Problem::Unlisted {
            path: "added.txt".into()
        }]
    );
}

#[test]
fn root_pack_detects_a_changed_nested_data_file() {
    let (_tmp, root) = root_packed();
    put(&root, "mc/mc_summary.json", "{\"pnl_mean\": 99}\n");
    let got = problems(&root);
    assert!(
        matches!(got.as_slice(), [Problem::Altered { path, .. }] if path == "mc/mc_summary.json"),
        "{got:#?}"
    );
}

#[test]
fn root_pack_listing_a_nested_pack_file_is_out_of_scope() {
    let (_tmp, root) = root_packed();
    let nested = fs::read_to_string(root.join("mc/evidence_pack/SHA256SUMS")).unwrap();
    forge_sums(
        &root,
        &with_line(
            &read_sums(&root),
            line_of(&nested, "mc/evidence_pack/SHA256SUMS"),
        ),
    );
    assert!(matches!(
        problems(&root).as_slice(),
        [Problem::OutOfScope { path, .. }] if path == "mc/evidence_pack/SHA256SUMS"
    ));
}

// ---------------------------------------------------------------------------------------
// verifying a tree

#[test]
fn verify_tree_finds_and_reports_every_pack() {
    let (tmp, _root) = root_packed();
    let report = verify_tree(&tmp.path().join("root"));
    assert!(report.is_ok(), "{:#?}", report.lines());
    let rels: Vec<&str> = report.packs.iter().map(|p| p.rel.as_str()).collect();
    assert_eq!(rels, [".", "mc", "suite/research_v1"]);
    assert_eq!(
        report.lines(),
        [
            "OK . (6 files)",
            "OK mc (4 files)",
            "OK suite/research_v1 (1 files)"
        ]
    );
    assert_eq!(report.total_line(), "total: 3 packs, 3 OK, 0 FAIL");
}

#[test]
fn verify_tree_fails_when_one_pack_fails_and_names_it() {
    let tmp = TempDir::new().unwrap();
    for trial in ["trial_0000", "trial_0001"] {
        let mc = tmp.path().join(trial).join("mc");
        mc_dir(&mc);
        write_pack(&mc, "monte_carlo", "t", false).unwrap();
    }
    fs::remove_file(tmp.path().join("trial_0001/mc/data/a.txt")).unwrap();
    let report = verify_tree(tmp.path());
    assert!(!report.is_ok());
    assert_eq!(report.failed(), 1);
    assert_eq!(
        report.lines(),
        [
            "OK trial_0000/mc (4 files)",
            "FAIL trial_0001/mc: missing: data/a.txt"
        ]
    );
    assert_eq!(report.total_line(), "total: 2 packs, 1 OK, 1 FAIL");
}

#[test]
fn verify_tree_line_shows_ten_problems_and_counts_the_rest() {
    let (_tmp, dir) = packed();
    for i in 0..12 {
        put(&dir, &format!("extra/{i:02}.txt"), "x");
    }
    let line = verify_tree(&dir).lines().remove(0);
    assert_eq!(line.matches("unlisted: ").count(), 10, "{line}");
    assert!(
        line.ends_with("; and 2 more (verify-evidence-pack lists them all)"),
        "{line}"
    );
}

#[test]
fn verify_tree_fails_when_no_pack_is_found() {
    let tmp = TempDir::new().unwrap();
    mc_dir(tmp.path());
    let report = verify_tree(tmp.path());
    assert!(!report.is_ok());
    assert!(report.packs.is_empty());
    assert!(
        report.total_line().contains("no evidence_pack/ found"),
        "{}",
        report.total_line()
    );
}

#[test]
fn verify_tree_does_not_follow_symlinks() {
    let (tmp, _root) = root_packed();
    let search = tmp.path().join("search");
    fs::create_dir(&search).unwrap();
    symlink(tmp.path().join("root"), search.join("linked")).unwrap();
    assert!(verify_tree(&search).packs.is_empty());
}

// ---------------------------------------------------------------------------------------
// the sim_eval binary

fn sim_eval(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sim_eval"))
        .args(args)
        .output()
        .unwrap()
}

fn run(sub: &str, dir: &Path) -> Output {
    sim_eval(&[sub.as_ref(), dir.as_os_str()])
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn cli_verify_pack_exits_0_for_a_clean_pack() {
    let (_tmp, dir) = packed();
    let out = run("verify-evidence-pack", &dir);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with("OK "),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn cli_verify_pack_exits_1_and_prints_each_problem_then_a_total() {
    let (_tmp, dir) = packed();
    put(&dir, "mc_summary.json", "changed\n");
    fs::remove_file(dir.join("data/b.txt")).unwrap();
    let out = run("verify-evidence-pack", &dir);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 3, "{stderr}");
    assert_eq!(lines[0], "missing: data/b.txt");
    assert!(
        lines[1].starts_with("altered: mc_summary.json (expected "),
        "{stderr}"
    );
    assert!(
        lines[2].starts_with("FAIL ") && lines[2].contains("2 problems"),
        "{stderr}"
    );
}

#[test]
fn cli_exits_2_when_dir_is_missing_or_not_a_directory() {
    let tmp = TempDir::new().unwrap();
    let file = tmp.path().join("file");
    fs::write(&file, "x").unwrap();
    for sub in [
        "verify-evidence-pack",
        "verify-evidence-tree",
        "write-evidence-pack",
    ] {
        let out = run(sub, &tmp.path().join("nope"));
        assert_eq!(out.status.code(), Some(2), "{sub} on a missing dir");
        assert!(
            text(&out.stderr).contains("nope: no such directory"),
            "{}",
            text(&out.stderr)
        );
        let out = run(sub, &file);
        assert_eq!(out.status.code(), Some(2), "{sub} on a file");
        assert!(
            text(&out.stderr).contains("not a directory"),
            "{}",
            text(&out.stderr)
        );
    }
}

#[test]
fn cli_exits_2_on_bad_arguments() {
    assert_eq!(sim_eval(&[]).status.code(), Some(2));
    assert_eq!(
        sim_eval(&["verify-evidence-pack".as_ref()]).status.code(),
        Some(2)
    );
    assert_eq!(
        sim_eval(&["no-such-command".as_ref()]).status.code(),
        Some(2)
    );
}

#[test]
fn cli_help_documents_exit_codes() {
    let out = sim_eval(&["--help".as_ref()]);
    assert_eq!(out.status.code(), Some(0));
    let help = text(&out.stdout);
    for needle in [
        "Exit status",
        "0  verified",
        "1  verification failed",
        "2  bad input",
    ] {
        assert!(help.contains(needle), "--help lacks {needle:?}:\n{help}");
    }
    let help = text(&sim_eval(&["verify-evidence-tree".as_ref(), "--help".as_ref()]).stdout);
    assert!(help.contains("no pack was found"), "{help}");
}

#[test]
fn cli_verify_tree_prints_one_line_per_pack_and_a_total() {
    let (tmp, root) = root_packed();
    let out = run("verify-evidence-tree", &root);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert_eq!(
        text(&out.stdout),
        "OK . (6 files)\nOK mc (4 files)\nOK suite/research_v1 (1 files)\ntotal: 3 packs, 3 OK, 0 FAIL\n"
    );
    put(
        &root,
        "suite/research_v1/summary.json",
        "{\"tampered\": true}\n",
    );
    let out = run("verify-evidence-tree", &root);
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("FAIL suite/research_v1: altered: summary.json"),
        "{stdout}"
    );
    assert!(
        stdout.ends_with("total: 3 packs, 1 OK, 2 FAIL\n"),
        "{stdout}"
    );
    let empty = tmp.path().join("empty");
    fs::create_dir(&empty).unwrap();
    assert_eq!(run("verify-evidence-tree", &empty).status.code(), Some(1));
}

#[test]
fn cli_write_pack_writes_a_root_pack_that_records_its_command() {
    let (tmp, _root) = root_packed();
    let root = tmp.path().join("root");
    fs::remove_dir_all(root.join("evidence_pack")).unwrap();
    let out = run("write-evidence-pack", &root);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let manifest = read_manifest(&root);
    assert!(manifest.excludes_nested_packs);
    assert!(
        manifest.command.contains("write-evidence-pack")
            && manifest.command.contains(&*root.to_string_lossy()),
        "{}",
        manifest.command
    );
    assert_eq!(run("verify-evidence-pack", &root).status.code(), Some(0));
    assert_eq!(run("verify-evidence-tree", &root).status.code(), Some(0));
}

#[test]
fn cli_write_pack_refuses_a_symlink_with_exit_2() {
    let tmp = TempDir::new().unwrap();
    mc_dir(tmp.path());
    symlink("data", tmp.path().join("linked")).unwrap();
    let out = run("write-evidence-pack", tmp.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("linked: is a symbolic link"),
        "{}",
        text(&out.stderr)
    );
}

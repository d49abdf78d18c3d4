use std::collections::{HashMap, HashSet};
use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::hash::{sha256_bytes, sha256_file};
use super::scan::{Found, scan};
use super::sums::{PathFault, parse_line, path_fault};
use super::{MANIFEST_FILE, Manifest, PACK_DIR, SCHEMA_VERSION, SUMS_FILE};

/// One thing wrong with an evidence pack. Paths are relative to the directory the pack
/// covers, `/`-separated; the pack's own files appear as `evidence_pack/<name>`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Problem {
    /// `<dir>/evidence_pack/` is absent or is not a real directory; nothing else is checked.
    NoPackDir {
        why: &'static str,
    },
    /// `evidence_pack/SHA256SUMS` or `evidence_pack/manifest.json` does not exist.
    PackFileMissing {
        path: String,
    },
    /// A file or directory exists but could not be read.
    Unreadable {
        path: String,
        error: String,
    },
    /// A `SHA256SUMS` line (1-based) that is not `<64 lowercase hex><two spaces><path>`.
    MalformedLine {
        line: usize,
        reason: &'static str,
        text: String,
    },
    /// A listed path that could name something outside the tree, or that sha256sum would
    /// read differently; the file is not looked at.
    UnsafePath {
        line: usize,
        path: String,
        fault: PathFault,
    },
    DuplicatePath {
        path: String,
        first_line: usize,
        line: usize,
    },
    /// Lines are sorted bytewise by path so that the same tree always gives the same file.
    UnsortedLine {
        line: usize,
        path: String,
        previous: String,
    },
    /// A listed path inside an `evidence_pack/` directory the pack does not cover (its own,
    /// or a nested one for a root pack).
    OutOfScope {
        line: usize,
        path: String,
    },
    /// `manifest.json` is not JSON or lacks a field of schema 1.
    ManifestInvalid {
        error: String,
    },
    SchemaVersion {
        found: u64,
    },
    /// The manifest's `file_count` differs from the number of `SHA256SUMS` lines.
    FileCountMismatch {
        manifest: usize,
        lines: usize,
    },
    /// `SHA256SUMS` is not the file the manifest was written for.
    SumsHashMismatch {
        manifest: String,
        actual: String,
    },
    /// Listed but absent.
    Missing {
        path: String,
    },
    /// Listed, present, with another content.
    Altered {
        path: String,
        expected: String,
        found: String,
    },
    /// Present in the covered tree but not listed.
    Unlisted {
        path: String,
    },
    /// A symbolic link in the covered tree, in place of a file or of a directory. Reported
    /// whatever its target holds: the target can change after verification.
    Symlink {
        path: String,
        target: String,
    },
    NotRegularFile {
        path: String,
        kind: &'static str,
    },
    /// A file whose name no `SHA256SUMS` line can hold, so it can never be listed.
    UnlistableName {
        path: String,
        fault: PathFault,
    },
}

const SUMS_PATH: &str = "evidence_pack/SHA256SUMS";
const MANIFEST_PATH: &str = "evidence_pack/manifest.json";

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::NoPackDir { why } => write!(f, "no pack: {PACK_DIR}/ {why}"),
            Problem::PackFileMissing { path } => write!(f, "missing pack file: {path}"),
            Problem::Unreadable { path, error } => write!(f, "unreadable: {path}: {error}"),
            Problem::MalformedLine { line, reason, text } => write!(
                f,
                "malformed line: {SUMS_PATH} line {line}: {reason} \
                 (expected `<64 lowercase hex>  <relative path>`): {text:?}"
            ),
            Problem::UnsafePath { line, path, fault } => {
                write!(f, "unsafe path: {path:?} ({SUMS_PATH} line {line}) {fault}")
            }
            Problem::DuplicatePath {
                path,
                first_line,
                line,
            } => {
                write!(
                    f,
                    "duplicate: {path} ({SUMS_PATH} lines {first_line} and {line})"
                )
            }
            Problem::UnsortedLine {
                line,
                path,
                previous,
            } => write!(
                f,
                "unsorted: {path} ({SUMS_PATH} line {line}) comes after {previous}; \
                 lines must be sorted bytewise by path"
            ),
            Problem::OutOfScope { line, path } => write!(
                f,
                "out of scope: {path} ({SUMS_PATH} line {line}) is inside an \
                 {PACK_DIR}/ directory this pack does not cover"
            ),
            Problem::ManifestInvalid { error } => {
                write!(f, "invalid manifest: {MANIFEST_PATH}: {error}")
            }
            Problem::SchemaVersion { found } => write!(
                f,
                "unsupported schema: {MANIFEST_PATH} has schema_version {found}, expected {SCHEMA_VERSION}"
            ),
            Problem::FileCountMismatch { manifest, lines } => write!(
                f,
                "file count: {MANIFEST_PATH} has file_count {manifest}, but {SUMS_PATH} has {lines} lines"
            ),
            Problem::SumsHashMismatch { manifest, actual } => write!(
                f,
                "altered: {SUMS_PATH} (expected {manifest} from {MANIFEST_PATH}, found {actual})"
            ),
            Problem::Missing { path } => write!(f, "missing: {path}"),
            Problem::Altered {
                path,
                expected,
                found,
            } => {
                write!(f, "altered: {path} (expected {expected}, found {found})")
            }
            Problem::Unlisted { path } => {
                write!(f, "unlisted: {path} (present but not in {SUMS_PATH})")
            }
            Problem::Symlink { path, target } => write!(
                f,
                "symlink: {path} -> {target} (a pack covers regular files only, whatever the target holds)"
            ),
            Problem::NotRegularFile { path, kind } => {
                write!(f, "not a regular file: {path} is {kind}")
            }
            Problem::UnlistableName { path, fault } => {
                write!(
                    f,
                    "unlistable name: {path:?} {fault}, so no {SUMS_FILE} line can hold it"
                )
            }
        }
    }
}

/// The outcome of [`verify_pack`].
#[derive(Debug, Clone)]
pub struct PackReport {
    /// The directory the pack covers (the parent of `evidence_pack/`).
    pub dir: PathBuf,
    /// Number of lines in `SHA256SUMS` (0 when it could not be read).
    pub listed: usize,
    /// The manifest, when it could be read and is of schema 1.
    pub manifest: Option<Manifest>,
    /// Empty when the pack verifies. Pack-level problems come first, then `SHA256SUMS`
    /// lines in file order, then files in path order.
    pub problems: Vec<Problem>,
}

impl PackReport {
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Which `evidence_pack/` directories below the top the pack leaves out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    IncludesNested,
    ExcludesNested,
    /// The manifest could not be read: nested packs' files are checked when listed and
    /// not required when unlisted, so the missing manifest is the one failure reported
    /// about them instead of a flood of guesses.
    Unknown,
}

struct Listed {
    hash: String,
    path: String,
}

/// Verifies the evidence pack of `dir` (`<dir>/evidence_pack/`): every listed file exists
/// as a regular file with its hash, nothing in the covered tree is unlisted, no symlink or
/// special file is present, every line is well-formed with a safe path, and the manifest
/// is of schema 1 and matches `SHA256SUMS` (line count and hash).
pub fn verify_pack(dir: &Path) -> PackReport {
    let mut report = PackReport {
        dir: dir.to_path_buf(),
        listed: 0,
        manifest: None,
        problems: Vec::new(),
    };
    let problems = &mut report.problems;
    let pack = dir.join(PACK_DIR);
    let why = match fs::symlink_metadata(&pack) {
        Ok(meta) if meta.is_dir() => None,
        Ok(meta) if meta.file_type().is_symlink() => Some("is a symbolic link"),
        Ok(_) => Some("is not a directory"),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Some("is missing"),
        Err(e) => {
            problems.push(Problem::Unreadable {
                path: format!("{PACK_DIR}/"),
                error: e.to_string(),
            });
            return report;
        }
    };
    if let Some(why) = why {
        problems.push(Problem::NoPackDir { why });
        return report;
    }

    let sums = read_pack_file(&pack, SUMS_FILE, problems);
    let manifest = read_pack_file(&pack, MANIFEST_FILE, problems)
        .and_then(|bytes| parse_manifest(&bytes, problems));
    let scope = match &manifest {
        Some(m) if m.excludes_nested_packs => Scope::ExcludesNested,
        Some(_) => Scope::IncludesNested,
        None => Scope::Unknown,
    };
    let Some(sums) = sums else {
        report.manifest = manifest;
        return report;
    };

    let mut line_problems = Vec::new();
    let (lines, listed) = parse_sums(&sums, scope, &mut line_problems);
    if let Some(m) = &manifest {
        if m.file_count != lines {
            problems.push(Problem::FileCountMismatch {
                manifest: m.file_count,
                lines,
            });
        }
        let actual = sha256_bytes(&sums);
        if m.sha256sums_sha256 != actual {
            problems.push(Problem::SumsHashMismatch {
                manifest: m.sha256sums_sha256.clone(),
                actual,
            });
        }
    }
    problems.append(&mut line_problems);
    check_tree(dir, &listed, scope, problems);
    report.listed = lines;
    report.manifest = manifest;
    report
}

/// Reads a file of the pack directory itself, refusing to follow a symlink there.
fn read_pack_file(pack: &Path, name: &str, problems: &mut Vec<Problem>) -> Option<Vec<u8>> {
    let path = pack.join(name);
    let shown = format!("{PACK_DIR}/{name}");
    let problem = match fs::symlink_metadata(&path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Problem::PackFileMissing { path: shown },
        Err(e) => Problem::Unreadable {
            path: shown,
            error: e.to_string(),
        },
        Ok(meta) if meta.file_type().is_symlink() => Problem::Symlink {
            path: shown,
            target: fs::read_link(&path)
                .map_or_else(|_| "?".into(), |t| t.to_string_lossy().into_owned()),
        },
        Ok(meta) if meta.is_dir() => Problem::NotRegularFile {
            path: shown,
            kind: "a directory",
        },
        Ok(meta) if !meta.is_file() => Problem::NotRegularFile {
            path: shown,
            kind: "a special file",
        },
        Ok(_) => match fs::read(&path) {
            Ok(bytes) => return Some(bytes),
            Err(e) => Problem::Unreadable {
                path: shown,
                error: e.to_string(),
            },
        },
    };
    problems.push(problem);
    None
}

fn parse_manifest(bytes: &[u8], problems: &mut Vec<Problem>) -> Option<Manifest> {
    let invalid = |error: String| Problem::ManifestInvalid { error };
    let value: serde_json::Value = match serde_json::from_slice(bytes) {
        Ok(value) => value,
        Err(e) => {
            problems.push(invalid(e.to_string()));
            return None;
        }
    };
    // The version decides how the rest is read, so it is checked before the fields.
    match value.get("schema_version").map(serde_json::Value::as_u64) {
        Some(Some(v)) if v == u64::from(SCHEMA_VERSION) => {}
        Some(Some(found)) => {
            problems.push(Problem::SchemaVersion { found });
            return None;
        }
        Some(None) => {
            problems.push(invalid(
                "schema_version is not a non-negative integer".into(),
            ));
            return None;
        }
        None => {
            problems.push(invalid("no schema_version field".into()));
            return None;
        }
    }
    match serde_json::from_value(value) {
        Ok(manifest) => Some(manifest),
        Err(e) => {
            problems.push(invalid(e.to_string()));
            None
        }
    }
}

/// Parses `SHA256SUMS` into its line count and the entries whose files are to be checked.
fn parse_sums(bytes: &[u8], scope: Scope, problems: &mut Vec<Problem>) -> (usize, Vec<Listed>) {
    let mut pieces: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
    // A final newline leaves an empty last piece; without one the last line is partial.
    let ends_with_newline = pieces.last().is_some_and(|p| p.is_empty());
    if ends_with_newline {
        pieces.pop();
    }
    let count = pieces.len();
    let mut listed = Vec::new();
    let mut first_seen: HashMap<&str, usize> = HashMap::new();
    let mut previous: Option<&str> = None;
    for (i, piece) in pieces.iter().enumerate() {
        let line = i + 1;
        if !ends_with_newline && line == count {
            problems.push(malformed(line, "no newline at end of file", piece));
        }
        let (hash, path) = match parse_line(piece) {
            Ok(parts) => parts,
            Err(reason) => {
                problems.push(malformed(line, reason, piece));
                continue;
            }
        };
        if let Some(fault) = path_fault(path) {
            problems.push(Problem::UnsafePath {
                line,
                path: path.to_string(),
                fault,
            });
            continue;
        }
        if let Some(&first_line) = first_seen.get(path) {
            problems.push(Problem::DuplicatePath {
                path: path.to_string(),
                first_line,
                line,
            });
            continue;
        }
        first_seen.insert(path, line);
        if let Some(previous) = previous.filter(|p| path < *p) {
            problems.push(Problem::UnsortedLine {
                line,
                path: path.to_string(),
                previous: previous.to_string(),
            });
        }
        previous = Some(path);
        if out_of_scope(path, scope) {
            problems.push(Problem::OutOfScope {
                line,
                path: path.to_string(),
            });
            continue;
        }
        listed.push(Listed {
            hash: hash.to_string(),
            path: path.to_string(),
        });
    }
    (count, listed)
}

fn malformed(line: usize, reason: &'static str, text: &[u8]) -> Problem {
    const SHOWN: usize = 120;
    let text: String = String::from_utf8_lossy(text).chars().take(SHOWN).collect();
    Problem::MalformedLine { line, reason, text }
}

/// Directory components of a `/`-separated path (all but the last component).
fn dir_components(path: &str) -> impl Iterator<Item = &str> {
    let dirs = path.rsplit_once('/').map_or("", |(dirs, _)| dirs);
    dirs.split('/').filter(|c| !c.is_empty())
}

fn out_of_scope(path: &str, scope: Scope) -> bool {
    dir_components(path)
        .enumerate()
        .any(|(i, c)| c == PACK_DIR && (i == 0 || scope == Scope::ExcludesNested))
}

/// Compares the listing with the covered tree on disk.
fn check_tree(dir: &Path, listed: &[Listed], scope: Scope, problems: &mut Vec<Problem>) {
    let found = scan(dir, scope == Scope::ExcludesNested);
    let kinds: HashMap<&str, &Found> = found.iter().map(|(p, f)| (p.as_str(), f)).collect();
    // A listed file below a symlinked or unreadable directory is not reported as missing:
    // the directory is reported, once, from the scan.
    let blocked = |path: &str| {
        kinds.contains_key(".")
            || path
                .match_indices('/')
                .any(|(i, _)| kinds.get(&path[..i]).is_some_and(|f| **f != Found::File))
    };
    let mut by_path: Vec<(&str, Problem)> = Vec::new();
    for entry in listed {
        let path = entry.path.as_str();
        match kinds.get(path) {
            Some(Found::File) => match sha256_file(&dir.join(path)) {
                Ok(actual) if actual == entry.hash => {}
                Ok(actual) => by_path.push((
                    path,
                    Problem::Altered {
                        path: path.to_string(),
                        expected: entry.hash.clone(),
                        found: actual,
                    },
                )),
                Err(e) => by_path.push((
                    path,
                    Problem::Unreadable {
                        path: path.to_string(),
                        error: e.to_string(),
                    },
                )),
            },
            Some(_) => {}
            None if blocked(path) => {}
            None if fs::symlink_metadata(dir.join(path)).is_ok_and(|m| m.is_dir()) => {
                by_path.push((
                    path,
                    Problem::NotRegularFile {
                        path: path.to_string(),
                        kind: "a directory",
                    },
                ))
            }
            None => by_path.push((
                path,
                Problem::Missing {
                    path: path.to_string(),
                },
            )),
        }
    }
    let listed_paths: HashSet<&str> = listed.iter().map(|e| e.path.as_str()).collect();
    for (path, what) in &found {
        let shown = path.clone();
        let problem = match what {
            Found::File if listed_paths.contains(path.as_str()) => continue,
            Found::File
                if scope == Scope::Unknown && dir_components(path).any(|c| c == PACK_DIR) =>
            {
                continue;
            }
            Found::File => Problem::Unlisted { path: shown },
            Found::Symlink { target } => Problem::Symlink {
                path: shown,
                target: target.clone(),
            },
            Found::Special { kind } => Problem::NotRegularFile { path: shown, kind },
            Found::BadName { fault } => Problem::UnlistableName {
                path: shown,
                fault: *fault,
            },
            Found::Unreadable { error, .. } => Problem::Unreadable {
                path: shown,
                error: error.clone(),
            },
        };
        by_path.push((path, problem));
    }
    by_path.sort_by(|a, b| a.0.cmp(b.0));
    problems.extend(by_path.into_iter().map(|(_, p)| p));
}

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};

use super::PACK_DIR;
use super::verify::{PackReport, Problem, verify_pack};

/// A FAIL line shows at most this many problems; `verify-evidence-pack` shows them all.
const PROBLEMS_PER_LINE: usize = 10;

/// One pack found by [`verify_tree`].
#[derive(Debug, Clone)]
pub struct TreePack {
    /// The covered directory relative to the tree's root, `/`-separated; `.` for the root.
    pub rel: String,
    pub report: PackReport,
}

/// The outcome of [`verify_tree`].
#[derive(Debug, Clone)]
pub struct TreeReport {
    pub root: PathBuf,
    /// Every pack found, in path order (a parent before its children).
    pub packs: Vec<TreePack>,
    /// Directories the search could not list: packs below them may have been missed.
    pub unreadable: Vec<Problem>,
}

impl TreeReport {
    /// True when at least one pack was found, every pack verifies and every directory
    /// could be searched.
    pub fn is_ok(&self) -> bool {
        !self.packs.is_empty() && self.unreadable.is_empty() && self.failed() == 0
    }

    pub fn failed(&self) -> usize {
        self.packs.iter().filter(|p| !p.report.is_ok()).count()
    }

    /// One line per pack, `OK <rel> (<n> files)` or `FAIL <rel>: <problems>`, then one
    /// `FAIL` line per directory the search could not list.
    pub fn lines(&self) -> Vec<String> {
        let mut lines: Vec<String> = self.packs.iter().map(pack_line).collect();
        lines.extend(self.unreadable.iter().map(|p| format!("FAIL search: {p}")));
        lines
    }

    /// The closing line, e.g. `total: 3 packs, 2 OK, 1 FAIL`.
    pub fn total_line(&self) -> String {
        if self.packs.is_empty() {
            return format!(
                "total: 0 packs: no {PACK_DIR}/ found at or below {}",
                self.root.display()
            );
        }
        let failed = self.failed();
        let mut total = format!(
            "total: {} pack{}, {} OK, {failed} FAIL",
            self.packs.len(),
            if self.packs.len() == 1 { "" } else { "s" },
            self.packs.len() - failed
        );
        if !self.unreadable.is_empty() {
            total.push_str(&format!(
                ", {} unsearchable director",
                self.unreadable.len()
            ));
            total.push_str(if self.unreadable.len() == 1 {
                "y"
            } else {
                "ies"
            });
        }
        total
    }
}

fn pack_line(pack: &TreePack) -> String {
    let report = &pack.report;
    if report.is_ok() {
        return format!("OK {} ({} files)", pack.rel, report.listed);
    }
    let shown: Vec<String> = report
        .problems
        .iter()
        .take(PROBLEMS_PER_LINE)
        .map(ToString::to_string)
        .collect();
    let mut line = format!("FAIL {}: {}", pack.rel, shown.join("; "));
    let hidden = report.problems.len().saturating_sub(PROBLEMS_PER_LINE);
    if hidden > 0 {
        line.push_str(&format!(
            "; and {hidden} more (verify-evidence-pack lists them all)"
        ));
    }
    line
}

/// Verifies every evidence pack at or below `dir`: each directory holding an
/// `evidence_pack/` directory is verified with [`verify_pack`]. The search neither enters
/// `evidence_pack/` directories nor follows symbolic links (a link inside a pack's tree is
/// reported by that pack).
pub fn verify_tree(dir: &Path) -> TreeReport {
    let mut packs = Vec::new();
    let mut unreadable = Vec::new();
    search(dir, Path::new(""), &mut packs, &mut unreadable);
    let packs = packs
        .into_iter()
        .map(|rel: PathBuf| {
            // `dir.join("")` would add a trailing separator to the report's directory.
            let covered = if rel.as_os_str().is_empty() {
                dir.to_path_buf()
            } else {
                dir.join(&rel)
            };
            TreePack {
                rel: shown(&rel),
                report: verify_pack(&covered),
            }
        })
        .collect();
    TreeReport {
        root: dir.to_path_buf(),
        packs,
        unreadable,
    }
}

/// A relative path as `/`-separated text, `.` for the root.
fn shown(rel: &Path) -> String {
    if rel.as_os_str().is_empty() {
        return ".".to_string();
    }
    let parts: Vec<_> = rel.iter().map(|c| c.to_string_lossy()).collect();
    parts.join("/")
}

fn search(root: &Path, rel: &Path, packs: &mut Vec<PathBuf>, unreadable: &mut Vec<Problem>) {
    let here = root.join(rel);
    let names = match fs::read_dir(&here).and_then(|entries| {
        entries
            .map(|e| e.map(|e| e.file_name()))
            .collect::<std::io::Result<Vec<_>>>()
    }) {
        Ok(mut names) => {
            names.sort();
            names
        }
        Err(e) => {
            unreadable.push(Problem::Unreadable {
                path: shown(rel),
                error: e.to_string(),
            });
            return;
        }
    };
    let real_dir = |name: &OsStr| fs::symlink_metadata(here.join(name)).is_ok_and(|m| m.is_dir());
    if names.iter().any(|n| n == PACK_DIR && real_dir(n)) {
        packs.push(rel.to_path_buf());
    }
    for name in names.iter().filter(|n| *n != PACK_DIR && real_dir(n)) {
        search(root, &rel.join(name), packs, unreadable);
    }
}

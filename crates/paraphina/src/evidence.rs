//! Evidence pack v1: a checksum list (`SHA256SUMS`, the format `sha256sum -c` reads) and a
//! manifest over every file of a directory, written into `<dir>/evidence_pack/`, and the
//! verification of such packs, one at a time or every pack of a tree.
//!
//! Data files never carry wall-clock time; the creation time lives in the manifest only,
//! so two runs of the same command produce identical data files and identical
//! `SHA256SUMS`.
//!
//! A pack covers regular files only. Symbolic links are refused when writing and reported
//! when verifying, even when their target's content matches: a link can be re-pointed
//! after verification, and `sha256sum -c` would follow it without saying so.

mod clock;
mod hash;
mod scan;
mod sums;
mod tree;
mod verify;
mod write;

use std::fs;
use std::io;
use std::path::Path;

use serde::{Deserialize, Serialize};

pub use clock::{format_unix_utc, utc_now_rfc3339};
pub use hash::{sha256_bytes, sha256_file};
pub use sums::{PathFault, path_fault};
pub use tree::{TreePack, TreeReport, verify_tree};
pub use verify::{PackReport, Problem, verify_pack};
pub use write::{command_line, list_files, write_atomic, write_pack};

/// Name of the pack directory inside the directory it covers.
pub const PACK_DIR: &str = "evidence_pack";
/// Checksum list inside the pack directory.
pub const SUMS_FILE: &str = "SHA256SUMS";
/// Manifest inside the pack directory.
pub const MANIFEST_FILE: &str = "manifest.json";
/// Schema version of the pack layout.
pub const SCHEMA_VERSION: u32 = 1;

/// The manifest written beside `SHA256SUMS`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    pub schema_version: u32,
    /// The producing command line (program name and arguments).
    pub command: String,
    /// Name and version of the producing tool, e.g. `paraphina 0.1.0`.
    pub tool_version: String,
    /// UTC creation time, RFC 3339 (the only wall-clock time in the outputs).
    pub created_at: String,
    /// Number of files listed in `SHA256SUMS`.
    pub file_count: usize,
    /// True for a root pack: every `evidence_pack/` directory below the top is left out
    /// (those packs verify themselves), so the verifier must leave them out too. A pack
    /// without the field lists every file outside its own `evidence_pack/`.
    #[serde(default)]
    pub excludes_nested_packs: bool,
    /// SHA-256 (hex) of the `SHA256SUMS` file itself.
    pub sha256sums_sha256: String,
}

/// Checks that `dir` can be handed to a writer or verifier: it exists, is a directory
/// (a symbolic link to one is accepted: the user named it), and can be listed. The error
/// names the directory and what is wrong with it.
pub fn check_input_dir(dir: &Path) -> io::Result<()> {
    let meta = fs::metadata(dir).map_err(|e| {
        let what = if e.kind() == io::ErrorKind::NotFound {
            "no such directory".to_string()
        } else {
            e.to_string()
        };
        io::Error::new(e.kind(), format!("{}: {what}", dir.display()))
    })?;
    if !meta.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::NotADirectory,
            format!(
                "{}: not a directory (expected the directory a pack covers)",
                dir.display()
            ),
        ));
    }
    fs::read_dir(dir).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("{}: cannot list directory: {e}", dir.display()),
        )
    })?;
    Ok(())
}

//! The walk over the tree a pack covers. The writer and the verifier share it so that
//! what one lists is exactly what the other expects.

use std::fs;
use std::io;
use std::path::Path;

use super::PACK_DIR;
use super::sums::{PathFault, name_fault};

/// What the walk found at a path, relative to the covered directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Found {
    File,
    Symlink {
        target: String,
    },
    /// Neither a regular file, a directory nor a symlink (FIFO, socket, device).
    Special {
        kind: &'static str,
    },
    /// A name that `SHA256SUMS` cannot hold; a directory with such a name is not entered.
    BadName {
        fault: PathFault,
    },
    Unreadable {
        kind: io::ErrorKind,
        error: String,
    },
}

/// Everything in the tree below `root`, as `/`-separated relative paths sorted bytewise
/// (the order of `SHA256SUMS`). Directories are entered, never returned. Symlinks are
/// returned, never followed. The pack directory at the top is skipped, and so is every
/// `evidence_pack/` directory further down when `skip_nested_packs`. A directory that
/// cannot be read is returned as `Unreadable` (`.` for `root` itself).
pub(crate) fn scan(root: &Path, skip_nested_packs: bool) -> Vec<(String, Found)> {
    let mut out = Vec::new();
    walk(root, "", skip_nested_packs, &mut out);
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn walk(root: &Path, rel: &str, skip_nested: bool, out: &mut Vec<(String, Found)>) {
    let here = if rel.is_empty() {
        root.to_path_buf()
    } else {
        root.join(rel)
    };
    let shown = if rel.is_empty() { "." } else { rel };
    let entries = match fs::read_dir(&here) {
        Ok(entries) => entries,
        Err(e) => return out.push((shown.to_string(), unreadable(&e))),
    };
    for entry in entries {
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) => return out.push((shown.to_string(), unreadable(&e))),
        };
        let os_name = entry.file_name();
        let name = os_name.to_string_lossy();
        let path = if rel.is_empty() {
            name.to_string()
        } else {
            format!("{rel}/{name}")
        };
        let meta = match fs::symlink_metadata(entry.path()) {
            Ok(meta) => meta,
            Err(e) => {
                out.push((path, unreadable(&e)));
                continue;
            }
        };
        let file_type = meta.file_type();
        if file_type.is_symlink() {
            let target = fs::read_link(entry.path())
                .map(|t| t.to_string_lossy().into_owned())
                .unwrap_or_else(|e| format!("<unreadable link: {e}>"));
            out.push((path, Found::Symlink { target }));
            continue;
        }
        if file_type.is_dir() && name == PACK_DIR && (rel.is_empty() || skip_nested) {
            continue;
        }
        let fault = if os_name.to_str().is_none() {
            Some(PathFault::NotUtf8)
        } else {
            name_fault(&name)
        };
        if let Some(fault) = fault {
            out.push((path, Found::BadName { fault }));
        } else if file_type.is_dir() {
            walk(root, &path, skip_nested, out);
        } else if file_type.is_file() {
            out.push((path, Found::File));
        } else {
            out.push((
                path,
                Found::Special {
                    kind: special_kind(&file_type),
                },
            ));
        }
    }
}

fn unreadable(e: &io::Error) -> Found {
    Found::Unreadable {
        kind: e.kind(),
        error: e.to_string(),
    }
}

#[cfg(unix)]
fn special_kind(file_type: &fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if file_type.is_fifo() {
        "a FIFO"
    } else if file_type.is_socket() {
        "a socket"
    } else if file_type.is_block_device() {
        "a block device"
    } else if file_type.is_char_device() {
        "a character device"
    } else {
        "a special file"
    }
}

#[cfg(not(unix))]
fn special_kind(_: &fs::FileType) -> &'static str {
    "a special file"
}

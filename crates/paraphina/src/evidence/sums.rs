//! The `SHA256SUMS` line format, `<64 lowercase hex><two spaces><relative path>`, shared by
//! the writer and the verifier so both agree on which paths a pack can hold.

use std::fmt;

const HASH_LEN: usize = 64;

/// Why a path cannot stand in `SHA256SUMS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathFault {
    Empty,
    Absolute,
    ParentDir,
    CurrentDir,
    EmptyComponent,
    Backslash,
    Newline,
    CarriageReturn,
    NotUtf8,
}

impl fmt::Display for PathFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PathFault::Empty => "is empty",
            PathFault::Absolute => "is absolute (paths are relative to the covered directory)",
            PathFault::ParentDir => "has a `..` component (would leave the covered directory)",
            PathFault::CurrentDir => "has a `.` component (paths are written without them)",
            PathFault::EmptyComponent => {
                "has an empty component (leading, trailing or doubled `/`)"
            }
            // sha256sum escapes these three and marks the line with a leading backslash,
            // which the plain line format cannot carry.
            PathFault::Backslash => "contains a backslash, which sha256sum would escape",
            PathFault::Newline => "contains a newline, which sha256sum would escape",
            PathFault::CarriageReturn => "contains a carriage return, which sha256sum would escape",
            PathFault::NotUtf8 => "is not valid UTF-8",
        })
    }
}

/// The fault of a single file or directory name, if it has one.
pub(crate) fn name_fault(name: &str) -> Option<PathFault> {
    name.chars().find_map(|c| match c {
        '\\' => Some(PathFault::Backslash),
        '\n' => Some(PathFault::Newline),
        '\r' => Some(PathFault::CarriageReturn),
        _ => None,
    })
}

/// The first reason `path` cannot be listed in `SHA256SUMS`, or `None` if it can: a
/// relative, `/`-separated path without `.`, `..` or empty components and without the
/// characters sha256sum escapes.
pub fn path_fault(path: &str) -> Option<PathFault> {
    if path.is_empty() {
        return Some(PathFault::Empty);
    }
    if path.starts_with('/') {
        return Some(PathFault::Absolute);
    }
    if let Some(fault) = name_fault(path) {
        return Some(fault);
    }
    path.split('/').find_map(|component| match component {
        "" => Some(PathFault::EmptyComponent),
        "." => Some(PathFault::CurrentDir),
        ".." => Some(PathFault::ParentDir),
        _ => None,
    })
}

/// One line of `SHA256SUMS`, newline included.
pub(crate) fn format_line(hash: &str, path: &str) -> String {
    format!("{hash}  {path}\n")
}

/// Splits one line (without its newline) into hash and path, or says why it is not in
/// the format. The path is returned as written; [`path_fault`] judges it.
pub(crate) fn parse_line(line: &[u8]) -> Result<(&str, &str), &'static str> {
    if line.is_empty() {
        return Err("empty line");
    }
    let Ok(line) = std::str::from_utf8(line) else {
        return Err("not valid UTF-8");
    };
    let bytes = line.as_bytes();
    let hex_len = bytes
        .iter()
        .take_while(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
        .count();
    if hex_len < HASH_LEN {
        return Err("does not start with 64 lowercase hex digits");
    }
    if hex_len > HASH_LEN {
        return Err("hash is longer than 64 hex digits");
    }
    if !line[HASH_LEN..].starts_with("  ") {
        return Err("hash is not followed by two spaces");
    }
    let path = &line[HASH_LEN + 2..];
    if path.is_empty() {
        return Err("no path after the hash");
    }
    Ok((&line[..HASH_LEN], path))
}

use std::ffi::OsStr;
use std::fs;
use std::io;
use std::path::Path;

use super::clock::utc_now_rfc3339;
use super::hash::{sha256_bytes, sha256_file};
use super::scan::{Found, scan};
use super::sums::format_line;
use super::{MANIFEST_FILE, Manifest, PACK_DIR, SCHEMA_VERSION, SUMS_FILE};

/// Every regular file below `dir`, as sorted `/`-separated relative paths, skipping the
/// pack directory at the top and, when `skip_nested_packs`, every `evidence_pack/`
/// directory further down (a root pack covers data, not other packs).
///
/// Fails, naming the path, on anything a pack cannot cover: a symbolic link, a FIFO,
/// socket or device, a name `sha256sum` would escape (newline, carriage return,
/// backslash) or that is not UTF-8, or a directory that cannot be read.
pub fn list_files(dir: &Path, skip_nested_packs: bool) -> io::Result<Vec<String>> {
    let mut files = Vec::new();
    for (rel, found) in scan(dir, skip_nested_packs) {
        let refuse = |kind, why: String| {
            let at = if rel == "." {
                dir.to_path_buf()
            } else {
                dir.join(&rel)
            };
            Err(io::Error::new(
                kind,
                format!(
                    "cannot write an evidence pack over {}: {}: {why}",
                    dir.display(),
                    at.display()
                ),
            ))
        };
        match found {
            Found::File => files.push(rel),
            Found::Symlink { target } => {
                return refuse(
                    io::ErrorKind::InvalidInput,
                    format!(
                        "is a symbolic link (to {target}); a pack covers regular files only, \
                         so copy the target in its place"
                    ),
                );
            }
            Found::Special { kind } => {
                return refuse(
                    io::ErrorKind::InvalidInput,
                    format!("is {kind}; a pack covers regular files only"),
                );
            }
            Found::BadName { fault } => {
                return refuse(
                    io::ErrorKind::InvalidInput,
                    format!("name {fault}; rename it"),
                );
            }
            Found::Unreadable { kind, error } => {
                return refuse(kind, format!("cannot be read: {error}"));
            }
        }
    }
    Ok(files)
}

/// Writes `<dir>/evidence_pack/SHA256SUMS` and `manifest.json` over every file of `dir`
/// (nested packs excluded when `skip_nested_packs`). Returns the manifest written.
///
/// Refuses (see [`list_files`]) a tree holding anything but regular files and
/// directories, so that `cd dir && sha256sum -c evidence_pack/SHA256SUMS` checks exactly
/// what [`verify_pack`](super::verify_pack) checks.
pub fn write_pack(
    dir: &Path,
    command: &str,
    tool_version: &str,
    skip_nested_packs: bool,
) -> io::Result<Manifest> {
    let files = list_files(dir, skip_nested_packs)?;
    let mut sums = String::new();
    for rel in &files {
        let path = dir.join(rel);
        let digest = sha256_file(&path).map_err(|e| {
            io::Error::new(e.kind(), format!("cannot hash {}: {e}", path.display()))
        })?;
        sums.push_str(&format_line(&digest, rel));
    }
    let pack = dir.join(PACK_DIR);
    fs::create_dir_all(&pack)
        .map_err(|e| io::Error::new(e.kind(), format!("cannot create {}: {e}", pack.display())))?;
    write_atomic(&pack.join(SUMS_FILE), sums.as_bytes())?;
    let manifest = Manifest {
        schema_version: SCHEMA_VERSION,
        command: command.to_string(),
        tool_version: tool_version.to_string(),
        created_at: utc_now_rfc3339(),
        file_count: files.len(),
        excludes_nested_packs: skip_nested_packs,
        sha256sums_sha256: sha256_bytes(sums.as_bytes()),
    };
    let json = crate::output::to_json_pretty(&manifest);
    write_atomic(&pack.join(MANIFEST_FILE), json.as_bytes())?;
    Ok(manifest)
}

/// Writes a file through a temporary sibling and a rename, so readers never see half a file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = path.with_extension(format!(
        "{}tmp",
        path.extension()
            .map(|e| format!("{}.", e.to_string_lossy()))
            .unwrap_or_default()
    ));
    fs::write(&tmp, bytes)
        .map_err(|e| io::Error::new(e.kind(), format!("cannot write {}: {e}", tmp.display())))?;
    fs::rename(&tmp, path).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("cannot rename {} to {}: {e}", tmp.display(), path.display()),
        )
    })
}

/// A command line as one string that a POSIX shell splits back into the same arguments,
/// for the manifest's `command` (e.g. `command_line(std::env::args_os())`).
pub fn command_line<I, S>(args: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    args.into_iter()
        .map(|arg| shell_quote(&arg.as_ref().to_string_lossy()))
        .collect::<Vec<_>>()
        .join(" ")
}

fn shell_quote(arg: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c);
    if !arg.is_empty() && arg.chars().all(plain) {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

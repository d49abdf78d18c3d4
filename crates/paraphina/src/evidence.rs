//! Evidence pack v1: a checksum list (`SHA256SUMS`, the format `sha256sum -c` reads) and a
//! manifest over every file of a directory, written into `<dir>/evidence_pack/`.
//!
//! Data files never carry wall-clock time; the creation time lives in the manifest only,
//! so two runs of the same command produce identical data files and identical
//! `SHA256SUMS`.

use std::fmt::Write as _;
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

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
    /// SHA-256 (hex) of the `SHA256SUMS` file itself.
    pub sha256sums_sha256: String,
}

/// Hex SHA-256 of a file's content, read in blocks.
pub fn sha256_file(path: &Path) -> io::Result<String> {
    let mut file = fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex(&hasher.finalize()))
}

/// Hex SHA-256 of a byte slice.
pub fn sha256_bytes(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// UTC time now as RFC 3339 with seconds, computed without a date library.
pub fn utc_now_rfc3339() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    format_unix_utc(secs)
}

/// Formats seconds since the Unix epoch as `YYYY-MM-DDTHH:MM:SSZ` (proleptic Gregorian).
pub fn format_unix_utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Every regular file below `dir`, as sorted `/`-separated relative paths, skipping the
/// pack directory at the top and, when `skip_nested_packs`, every `evidence_pack/`
/// directory further down (a root pack covers data, not other packs).
pub fn list_files(dir: &Path, skip_nested_packs: bool) -> io::Result<Vec<String>> {
    let mut out = Vec::new();
    walk(dir, dir, skip_nested_packs, &mut out)?;
    out.sort();
    Ok(out)
}

fn walk(root: &Path, cur: &Path, skip_nested: bool, out: &mut Vec<String>) -> io::Result<()> {
    let mut entries: Vec<PathBuf> = fs::read_dir(cur)?
        .map(|e| e.map(|e| e.path()))
        .collect::<io::Result<_>>()?;
    entries.sort();
    for path in entries {
        let meta = fs::symlink_metadata(&path)?;
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if meta.is_dir() {
            let at_top = cur == root;
            if name == PACK_DIR && (at_top || skip_nested) {
                continue;
            }
            walk(root, &path, skip_nested, out)?;
        } else {
            let rel = path.strip_prefix(root).expect("walk stays below root");
            let rel: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            out.push(rel.join("/"));
        }
    }
    Ok(())
}

/// Writes `<dir>/evidence_pack/SHA256SUMS` and `manifest.json` over every file of `dir`
/// (nested packs excluded when `skip_nested_packs`). Returns the manifest written.
pub fn write_pack(
    dir: &Path,
    command: &str,
    tool_version: &str,
    skip_nested_packs: bool,
) -> io::Result<Manifest> {
    let files = list_files(dir, skip_nested_packs)?;
    let mut sums = String::new();
    for rel in &files {
        let digest = sha256_file(&dir.join(rel))?;
        let _ = writeln!(sums, "{digest}  {rel}");
    }
    let pack = dir.join(PACK_DIR);
    fs::create_dir_all(&pack)?;
    write_atomic(&pack.join(SUMS_FILE), sums.as_bytes())?;
    let manifest = Manifest {
        schema_version: SCHEMA_VERSION,
        command: command.to_string(),
        tool_version: tool_version.to_string(),
        created_at: utc_now_rfc3339(),
        file_count: files.len(),
        sha256sums_sha256: sha256_bytes(sums.as_bytes()),
    };
    let mut json = serde_json::to_string_pretty(&manifest).expect("manifest serializes");
    json.push('\n');
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
    fs::write(&tmp, bytes)?;
    fs::rename(&tmp, path)
}

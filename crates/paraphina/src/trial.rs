//! One search trial in one process: the candidate's Monte Carlo batch, every suite, the
//! root evidence pack over the trial directory and its verification, with one JSON
//! document back (`sim_eval trial`). The separate commands (`monte_carlo`, `sim_eval
//! suite`, `write-evidence-pack`, `verify-evidence-tree`) stay for users and reproduction;
//! this one computes the same documents with the same library calls, so a document's
//! bytes (decompressed) do not depend on which way it was made.
//!
//! Layouts of the trial directory (`--evidence`):
//! - `compact` (the study's default): `mc/mc_summary.json.gz`, `mc/mc_runs.jsonl.gz`,
//!   `suite/<name>/suite_summary.json.gz` per suite, `suite/seeds.jsonl.gz` (every
//!   seed's result document of every suite, one per line) and one root `evidence_pack/`;
//!   with the caller's `candidate.env`, eight files for two suites.
//! - `full`: what the separate commands write (`mc/` with `mc_runs.jsonl`,
//!   `mc_summary.json`, `monte_carlo.yaml` and its pack; `suite/<name>/` with a file per
//!   seed, `suite_summary.json` and its pack; the root pack over them).
//! - `summary`: `compact` without the per-run documents (`mc_runs.jsonl.gz`,
//!   `seeds.jsonl.gz`); their SHA-256 (of the uncompressed bytes) is in the printed
//!   document, so a re-run can be checked against it, and a re-run writes them again.
//!
//! Every `.gz` is a gzip stream with no name and time 0 in its header, so the same
//! document compresses to the same bytes (`zcat` or Python's `gzip` reads it).

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::time::Instant;

use flate2::{Compression, GzBuilder};
use serde::Serialize;
use serde_json::Value;

use crate::config::{Overlay, SimConfig};
use crate::evidence::{self, sha256_bytes};
use crate::input::InputError;
use crate::mc;
use crate::output::TOOL_VERSION;
use crate::scenario::{self, Layout};
use crate::sim::Model;
use crate::stress::CompiledStress;
use crate::suite::{self, Suite, SuiteRun};

/// Schema version of the document `sim_eval trial` prints.
pub const DOCUMENT_SCHEMA_VERSION: u32 = 1;
/// Every seed's result document of every suite, in the compact layouts.
pub const SEEDS_FILE: &str = "seeds.jsonl";
/// The candidate's overlay file the caller may leave in the directory before the run.
pub const CANDIDATE_FILE: &str = "candidate.env";

/// How much of the trial's evidence goes to disk (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Evidence {
    Compact,
    Full,
    Summary,
}

/// What to run.
pub struct Spec {
    pub runs: u64,
    pub ticks: u64,
    pub seed: u64,
    /// (output name, suite), in the order given.
    pub suites: Vec<(String, Suite)>,
    pub evidence: Evidence,
}

/// Why a trial did not produce verified evidence.
#[derive(Debug)]
pub enum TrialError {
    /// Bad input or outputs that cannot be written (exit 2).
    Input(InputError),
    /// The evidence written does not verify (exit 1): the verifier's lines.
    Unverified(Vec<String>),
}

impl From<InputError> for TrialError {
    fn from(e: InputError) -> Self {
        TrialError::Input(e)
    }
}

fn io_error(dir: &Path) -> impl Fn(io::Error) -> TrialError + '_ {
    move |e| TrialError::Input(InputError(format!("writing in {}: {e}", dir.display())))
}

#[derive(Debug, Serialize)]
pub struct McPart {
    /// `mc_summary.json` as a JSON value.
    pub summary: mc::Summary,
    /// SHA-256 of `mc_summary.json`'s bytes (uncompressed).
    pub summary_sha256: String,
    /// SHA-256 of `mc_runs.jsonl`'s bytes (uncompressed), kept in every layout.
    pub runs_sha256: String,
    pub seconds: f64,
}

#[derive(Debug, Serialize)]
pub struct SuitePart {
    pub suite_id: String,
    pub passed: bool,
    pub failed_checks: usize,
    pub scenarios_total: usize,
    pub scenarios_passed: usize,
    /// Every failure in words: each invariant failure's message, then each scenario whose
    /// repeats differed.
    pub failures: Vec<String>,
    /// SHA-256 of `suite_summary.json`'s bytes (uncompressed).
    pub summary_sha256: String,
    pub seconds: f64,
}

#[derive(Debug, Serialize)]
pub struct PackPart {
    /// SHA-256 of the root `evidence_pack/SHA256SUMS`.
    pub sha256sums_sha256: String,
    /// Files the root pack lists, and their bytes.
    pub files: usize,
    pub bytes: u64,
    /// Every pack of the directory verified after writing.
    pub verified: bool,
    pub seconds: f64,
}

/// The document `sim_eval trial` prints.
#[derive(Debug, Serialize)]
pub struct Document {
    pub schema_version: u32,
    pub tool_version: &'static str,
    pub evidence: Evidence,
    pub mc: McPart,
    /// SHA-256 of the per-run seed documents of every suite (`seeds.jsonl`, uncompressed;
    /// in the full layout the seed files hold the same records pretty-printed).
    pub seeds_sha256: String,
    /// By output name.
    pub suites: BTreeMap<String, SuitePart>,
    pub pack: PackPart,
    pub seconds: f64,
}

/// A deterministic gzip stream of `bytes` (no name, time 0).
pub fn gzip(bytes: &[u8]) -> io::Result<Vec<u8>> {
    let mut enc = GzBuilder::new().mtime(0).write(Vec::with_capacity(bytes.len() / 3), Compression::best());
    enc.write_all(bytes)?;
    enc.finish()
}

fn write_gz(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut name = path.as_os_str().to_owned();
    name.push(".gz");
    evidence::write_atomic(Path::new(&name), &gzip(bytes)?)
}

/// The directory must be new, empty, or hold only the caller's `candidate.env`: the root
/// pack covers everything in it, and nothing already there is ours to replace.
fn prepare(dir: &Path) -> Result<(), TrialError> {
    let label = dir.display().to_string();
    if !dir.exists() {
        return fs::create_dir_all(dir)
            .map_err(|e| InputError::file(&label, format!("cannot create the output directory: {e}")).into());
    }
    let meta = fs::symlink_metadata(dir).map_err(|e| InputError::file(&label, e))?;
    if !meta.file_type().is_dir() {
        return Err(InputError::file(&label, "the output directory is not a directory").into());
    }
    let mut others = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| InputError::file(&label, format!("cannot list: {e}")))? {
        let entry = entry.map_err(|e| InputError::file(&label, format!("cannot list: {e}")))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let plain = entry.file_type().is_ok_and(|t| t.is_file());
        if !(name == CANDIDATE_FILE && plain) {
            others.push(name);
        }
    }
    if !others.is_empty() {
        others.sort();
        return Err(InputError::file(
            &label,
            format!(
                "the output directory holds {} (give a new or empty directory; only {CANDIDATE_FILE} may be there)",
                others.join(", ")
            ),
        )
        .into());
    }
    Ok(())
}

/// The failure messages of a `suite_summary.json` value, as `tuner` reads them.
fn failures(summary: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let scenarios = summary["scenarios"].as_array().map(Vec::as_slice).unwrap_or_default();
    for s in scenarios {
        for v in s["invariants"].as_array().map(Vec::as_slice).unwrap_or_default() {
            for f in v["failures"].as_array().map(Vec::as_slice).unwrap_or_default() {
                if let Some(m) = f["message"].as_str() {
                    out.push(m.to_string());
                }
            }
        }
    }
    for s in scenarios {
        if s["determinism"]["passed"] == Value::Bool(false) {
            out.push(format!("{}: repeats differ (determinism)", s["scenario_id"].as_str().unwrap_or("?")));
        }
    }
    out
}

/// The first half of [`run`]: the batch, the suites, their documents and the root pack.
pub fn write(dir: &Path, spec: &Spec, overlay: &Overlay, command: &str) -> Result<Written, TrialError> {
    let started = Instant::now();
    prepare(dir)?;
    let io_err = io_error(dir);

    // The Monte Carlo batch: the same documents as `monte_carlo --runs R --ticks T --seed S`.
    let t = Instant::now();
    let cfg = SimConfig::new(spec.ticks, overlay);
    let model = Model::new(&cfg, CompiledStress::none()).map_err(|e| InputError(e.to_string()))?;
    let results = mc::run_batch(&model, spec.runs, spec.seed);
    let canonical = vec![
        "monte_carlo".to_string(),
        format!("--runs={}", spec.runs),
        format!("--ticks={}", spec.ticks),
        format!("--seed={}", spec.seed),
    ];
    let mc_dir = dir.join("mc");
    fs::create_dir_all(&mc_dir).map_err(&io_err)?;
    let docs = mc::documents(&canonical, &cfg, overlay, spec.seed, &results).map_err(&io_err)?;
    match spec.evidence {
        Evidence::Full => mc::write_documents(&mc_dir, &docs, command).map_err(&io_err)?,
        Evidence::Compact | Evidence::Summary => {
            write_gz(&mc_dir.join(mc::SUMMARY_FILE), docs.summary_json.as_bytes()).map_err(&io_err)?;
            if spec.evidence == Evidence::Compact {
                write_gz(&mc_dir.join(mc::RUNS_FILE), docs.runs_jsonl.as_bytes()).map_err(&io_err)?;
            }
        }
    }
    let mc_part = McPart {
        summary_sha256: sha256_bytes(docs.summary_json.as_bytes()),
        runs_sha256: sha256_bytes(docs.runs_jsonl.as_bytes()),
        summary: docs.summary,
        seconds: t.elapsed().as_secs_f64(),
    };

    // The suites, each as `sim_eval suite FILE` would run it.
    let mut parts = BTreeMap::new();
    let mut seeds = String::new();
    for (name, s) in &spec.suites {
        let t = Instant::now();
        let out = dir.join("suite").join(name);
        let run: SuiteRun = suite::run(s, overlay)?;
        let summary_json = suite::summary_json(s, &run);
        seeds.push_str(&suite::seed_lines(s, &run));
        match spec.evidence {
            Evidence::Full => {
                scenario::prepare_output_dir(&out, Layout::Suite)?;
                suite::write_outputs_with(&out, s, &run, &summary_json, command).map_err(&io_err)?;
            }
            Evidence::Compact | Evidence::Summary => {
                fs::create_dir_all(&out).map_err(&io_err)?;
                write_gz(&out.join(suite::SUITE_SUMMARY_FILE), summary_json.as_bytes()).map_err(&io_err)?;
            }
        }
        let value: Value = serde_json::from_str(&summary_json).expect("a summary is JSON");
        parts.insert(
            name.clone(),
            SuitePart {
                suite_id: s.id.as_str().to_string(),
                passed: run.passed(),
                failed_checks: run.failed_checks(),
                scenarios_total: s.cases.len(),
                scenarios_passed: run.runs.iter().filter(|r| r.passed()).count(),
                failures: failures(&value),
                summary_sha256: sha256_bytes(summary_json.as_bytes()),
                seconds: t.elapsed().as_secs_f64(),
            },
        );
    }
    if spec.evidence == Evidence::Compact && !spec.suites.is_empty() {
        write_gz(&dir.join("suite").join(SEEDS_FILE), seeds.as_bytes()).map_err(&io_err)?;
    }

    // The root pack over the whole directory.
    let t = Instant::now();
    let manifest = evidence::write_pack(dir, command, TOOL_VERSION, true).map_err(&io_err)?;
    Ok(Written {
        started,
        pack_started: t,
        file_count: manifest.file_count,
        document: Document {
            schema_version: DOCUMENT_SCHEMA_VERSION,
            tool_version: TOOL_VERSION,
            evidence: spec.evidence,
            mc: mc_part,
            seeds_sha256: sha256_bytes(seeds.as_bytes()),
            suites: parts,
            pack: PackPart { sha256sums_sha256: String::new(), files: 0, bytes: 0, verified: false, seconds: 0.0 },
            seconds: 0.0,
        },
    })
}

/// A trial written but not yet verified (see [`write`] and [`verify`]).
pub struct Written {
    started: Instant,
    pack_started: Instant,
    file_count: usize,
    document: Document,
}

/// Runs the trial into `dir` (see the module docs) under the caller's thread pool and
/// verifies what it wrote. `command` is the exact command line, for the manifests.
pub fn run(dir: &Path, spec: &Spec, overlay: &Overlay, command: &str) -> Result<Document, TrialError> {
    let written = write(dir, spec, overlay, command)?;
    verify(dir, written)
}

/// The second half of [`run`]: every pack in `dir` verified (files re-read and re-hashed
/// from disk, so a change after writing is caught), then the document completed with the
/// root pack's digest, files and bytes.
pub fn verify(dir: &Path, written: Written) -> Result<Document, TrialError> {
    let io_err = io_error(dir);
    let Written { started, pack_started: t, file_count, mut document } = written;
    let report = evidence::verify_tree(dir);
    if !report.is_ok() {
        let mut lines = report.lines();
        lines.push(report.total_line());
        return Err(TrialError::Unverified(lines));
    }
    let sums = fs::read(dir.join(evidence::PACK_DIR).join(evidence::SUMS_FILE)).map_err(&io_err)?;
    let bytes = evidence::list_files(dir, false)
        .map_err(&io_err)?
        .iter()
        .map(|rel| fs::metadata(dir.join(rel)).map(|m| m.len()).unwrap_or(0))
        .sum();
    document.pack = PackPart {
        sha256sums_sha256: sha256_bytes(&sums),
        files: file_count,
        bytes,
        verified: true,
        seconds: t.elapsed().as_secs_f64(),
    };
    document.seconds = started.elapsed().as_secs_f64();
    Ok(document)
}

/// Parses `NAME=PATH` of `--suite`: NAME becomes a directory under `suite/`.
pub fn parse_suite_arg(arg: &str) -> Result<(String, PathBuf), InputError> {
    let (name, path) = arg
        .split_once('=')
        .ok_or_else(|| InputError(format!("--suite {arg:?}: expected NAME=PATH")))?;
    let ok = !name.is_empty()
        && !name.starts_with('.')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.');
    if !ok {
        return Err(InputError(format!(
            "--suite {arg:?}: NAME must be letters, digits, '_', '-' or '.', not starting with '.'"
        )));
    }
    if path.is_empty() {
        return Err(InputError(format!("--suite {arg:?}: PATH is empty")));
    }
    Ok((name.to_string(), PathBuf::from(path)))
}

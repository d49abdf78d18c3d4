//! What a scenario run writes: one JSON file per seed and a summary with the verdicts,
//! the overlays and the effective configuration. None of it carries wall-clock time, so
//! the same command writes the same bytes; the time is in the evidence pack's manifest.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::Path;

use serde::Serialize;

use super::build::Adversarial;
use super::eval::{Case, CaseRun, Determinism, Source};
use super::invariants::Verdict;
use super::resolve::Scenario;
use crate::config::SimConfig;
use crate::evidence;
use crate::input::{Ident, InputError};
use crate::output::{TOOL_VERSION, to_json_pretty};
use crate::sim::RunResult;
use crate::strategy::risk::KillReason;
use crate::stress::Stress;

/// Schema version of the files `sim_eval run` and `sim_eval suite` write.
pub const OUTPUT_SCHEMA_VERSION: u32 = 1;
/// Summary file of `sim_eval run`.
pub const SCENARIO_SUMMARY_FILE: &str = "scenario_summary.json";

/// Name of the result file of one seed.
pub fn seed_file_name(seed: u64) -> String {
    format!("seed_{seed}.json")
}

/// One seed's result file: the scenario, the horizon and every metric of the run.
#[derive(Debug, Serialize)]
pub struct SeedRecord<'a> {
    pub schema_version: u32,
    pub scenario_id: &'a str,
    pub horizon_steps: u64,
    #[serde(flatten)]
    pub result: &'a RunResult,
}

/// A seed's line in a summary.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunLine {
    pub seed: u64,
    /// Its result file, relative to the output directory.
    pub file: String,
    pub final_pnl: f64,
    pub max_drawdown: f64,
    pub killed: bool,
    pub kill_reason: Option<KillReason>,
    pub kill_tick: Option<u64>,
    pub ticks_executed: u64,
    pub path_checksum: String,
}

#[derive(Debug, Serialize)]
pub struct SeedPlan {
    pub base_seed: u64,
    pub num_seeds: u64,
    pub rule: &'static str,
}

/// The overlay a scenario ran with, and the layers it came from.
#[derive(Debug, Serialize)]
pub struct OverlayRecord<'a> {
    /// What applied: `env_overrides` over the candidate over the scenario's initial state.
    pub effective: &'a BTreeMap<String, String>,
    #[serde(flatten)]
    pub layers: &'a super::build::OverlayLayers,
}

/// The summary of one scenario: `scenario_summary.json` of `sim_eval run`, and one entry
/// of `suite_summary.json`.
#[derive(Debug, Serialize)]
pub struct ScenarioSummary<'a> {
    pub scenario_id: &'a str,
    pub description: Option<&'a str>,
    pub passed: bool,
    pub failed_checks: usize,
    pub source: &'a Source,
    pub seeds: SeedPlan,
    pub kill_count: usize,
    pub pnl_mean: f64,
    pub invariants: &'a [Verdict],
    pub determinism: &'a Determinism,
    pub runs: Vec<RunLine>,
    pub overlay: OverlayRecord<'a>,
    pub adversarial_params: &'a Adversarial,
    /// The scenario as resolved (suite entry fields applied).
    pub scenario: &'a Scenario,
    /// Every parameter of the simulation as it ran.
    pub effective: &'a SimConfig,
    pub stress: &'a Stress,
}

impl<'a> ScenarioSummary<'a> {
    /// `dir_prefix` is where the seed files sit relative to the output directory (`""`
    /// for `sim_eval run`, the scenario id for a suite).
    pub fn new(case: &'a Case, run: &'a CaseRun, dir_prefix: &str) -> ScenarioSummary<'a> {
        let runs: Vec<RunLine> = run
            .runs
            .iter()
            .map(|r| RunLine {
                seed: r.seed,
                file: join(dir_prefix, &seed_file_name(r.seed)),
                final_pnl: r.final_pnl,
                max_drawdown: r.max_drawdown,
                killed: r.killed,
                kill_reason: r.kill_reason,
                kill_tick: r.kill_tick,
                ticks_executed: r.ticks_executed,
                path_checksum: r.path_checksum.clone(),
            })
            .collect();
        let pnl: Vec<f64> = run.runs.iter().map(|r| r.final_pnl).collect();
        ScenarioSummary {
            scenario_id: case.id(),
            description: case.scenario.description.as_deref(),
            passed: run.passed(),
            failed_checks: run.failed_checks(),
            source: &case.source,
            seeds: SeedPlan {
                base_seed: case.scenario.seeds.base_seed,
                num_seeds: case.scenario.seeds.num_seeds,
                rule: "seed i (0-based) is base_seed + i, wrapping at 2^64",
            },
            kill_count: run.runs.iter().filter(|r| r.killed).count(),
            pnl_mean: crate::stats::mean(&pnl),
            invariants: &run.verdicts,
            determinism: &run.determinism,
            runs,
            overlay: OverlayRecord {
                effective: run.built.overlay.raw(),
                layers: &run.layers,
            },
            adversarial_params: &case.adversarial,
            scenario: &case.scenario,
            effective: &run.built.config,
            stress: &run.built.stress,
        }
    }
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}/{name}")
    }
}

/// `scenario_summary.json` of `sim_eval run`.
#[derive(Debug, Serialize)]
struct RunSummaryFile<'a> {
    schema_version: u32,
    tool_version: &'static str,
    #[serde(flatten)]
    summary: ScenarioSummary<'a>,
}

/// Writes the result file of every seed of a case into `dir`.
pub fn write_seed_files(dir: &Path, case: &Case, run: &CaseRun) -> io::Result<()> {
    fs::create_dir_all(dir)
        .map_err(|e| io::Error::new(e.kind(), format!("cannot create {}: {e}", dir.display())))?;
    for r in &run.runs {
        let record = SeedRecord {
            schema_version: OUTPUT_SCHEMA_VERSION,
            scenario_id: case.id(),
            horizon_steps: case.scenario.horizon.steps,
            result: r,
        };
        evidence::write_atomic(
            &dir.join(seed_file_name(r.seed)),
            to_json_pretty(&record).as_bytes(),
        )?;
    }
    Ok(())
}

/// Writes the outputs of `sim_eval run`: seed files, `scenario_summary.json` and the
/// evidence pack. `command` goes into the manifest only.
pub fn write_run_outputs(dir: &Path, case: &Case, run: &CaseRun, command: &str) -> io::Result<()> {
    write_seed_files(dir, case, run)?;
    let file = RunSummaryFile {
        schema_version: OUTPUT_SCHEMA_VERSION,
        tool_version: TOOL_VERSION,
        summary: ScenarioSummary::new(case, run, ""),
    };
    evidence::write_atomic(
        &dir.join(SCENARIO_SUMMARY_FILE),
        to_json_pretty(&file).as_bytes(),
    )?;
    evidence::write_pack(dir, command, TOOL_VERSION, false)?;
    Ok(())
}

/// The layout of an output directory, for [`prepare_output_dir`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// `sim_eval run`: seed files at the top.
    Run,
    /// `sim_eval suite`: seed files in one directory per scenario.
    Suite,
}

impl Layout {
    fn summary_file(self) -> &'static str {
        match self {
            Layout::Run => SCENARIO_SUMMARY_FILE,
            Layout::Suite => crate::suite::SUITE_SUMMARY_FILE,
        }
    }

    fn command(self) -> &'static str {
        match self {
            Layout::Run => "sim_eval run",
            Layout::Suite => "sim_eval suite",
        }
    }
}

fn is_seed_file(name: &str) -> bool {
    let stem = name.strip_suffix(".tmp").unwrap_or(name);
    stem.strip_prefix("seed_")
        .and_then(|s| s.strip_suffix(".json"))
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

fn is_regular(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_file())
}

fn is_plain_dir(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_dir())
}

fn names(dir: &Path) -> io::Result<Vec<String>> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir)? {
        out.push(entry?.file_name().to_string_lossy().into_owned());
    }
    out.sort();
    Ok(out)
}

/// Makes `dir` ready for a fresh output: creates it, or empties it of an earlier output
/// of the same command (complete or interrupted), so no stale result is packed with the
/// new ones. A directory holding anything else is refused: the evidence pack would cover
/// it, and it is not ours to delete.
pub fn prepare_output_dir(dir: &Path, layout: Layout) -> Result<(), InputError> {
    let label = dir.display().to_string();
    let io_err = |e: io::Error| {
        InputError::file(&label, format!("cannot prepare the output directory: {e}"))
    };
    if !dir.exists() {
        return fs::create_dir_all(dir).map_err(io_err);
    }
    if !dir.is_dir() {
        return Err(InputError::file(
            &label,
            "not a directory; --output-dir needs a new or empty directory",
        ));
    }
    let foreign = |name: &str| {
        InputError::file(
            &label,
            format!(
                "the output directory holds {name:?}, which `{}` does not write; give a new or empty --output-dir \
                 (an earlier output of the same command is replaced)",
                layout.command()
            ),
        )
    };
    let summary = layout.summary_file();
    let mut remove_files = Vec::new();
    let mut remove_dirs = Vec::new();
    for name in names(dir).map_err(io_err)? {
        let path = dir.join(&name);
        let stem = name.strip_suffix(".tmp").unwrap_or(&name);
        if stem == summary && is_regular(&path) {
            remove_files.push(path);
        } else if name == evidence::PACK_DIR && is_plain_dir(&path) {
            for inner in names(&path).map_err(io_err)? {
                let inner_stem = inner.strip_suffix(".tmp").unwrap_or(&inner);
                if !(inner_stem == evidence::SUMS_FILE || inner_stem == evidence::MANIFEST_FILE)
                    || !is_regular(&path.join(&inner))
                {
                    return Err(foreign(&format!("{name}/{inner}")));
                }
                remove_files.push(path.join(&inner));
            }
            remove_dirs.push(path);
        } else if layout == Layout::Run && is_seed_file(&name) && is_regular(&path) {
            remove_files.push(path);
        } else if layout == Layout::Suite && Ident::parse(&name).is_some() && is_plain_dir(&path) {
            for inner in names(&path).map_err(io_err)? {
                if !is_seed_file(&inner) || !is_regular(&path.join(&inner)) {
                    return Err(foreign(&format!("{name}/{inner}")));
                }
                remove_files.push(path.join(&inner));
            }
            remove_dirs.push(path);
        } else {
            return Err(foreign(&name));
        }
    }
    for f in remove_files {
        fs::remove_file(&f).map_err(io_err)?;
    }
    for d in remove_dirs {
        fs::remove_dir(&d).map_err(io_err)?;
    }
    Ok(())
}

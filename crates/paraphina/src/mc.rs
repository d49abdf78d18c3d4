//! The Monte Carlo driver: runs a configuration over a seed schedule in parallel,
//! summarizes the batch (aggregates and tail risk), and writes the output directory
//! (`mc_runs.jsonl`, `mc_summary.json`, `monte_carlo.yaml`, `evidence_pack/`).
//!
//! Run `i` uses seed `seed + i` (wrapping). Results are collected in run order, so every
//! output is byte-identical whatever the thread count.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::Path;

use rayon::prelude::*;
use serde::Serialize;

use crate::config::{Overlay, SimConfig};
use crate::evidence;
use crate::output::{TOOL_VERSION, to_json_pretty, to_jsonl};
use crate::sim::{Model, RunResult};
use crate::stats::{self, Z_95_TWO_SIDED};

pub const SUMMARY_SCHEMA_VERSION: u32 = 1;
/// Confidence level of the tail-risk section.
pub const TAIL_ALPHA: f64 = 0.95;
/// Per-run results, one JSON object per line.
pub const RUNS_FILE: &str = "mc_runs.jsonl";
/// The batch's summary.
pub const SUMMARY_FILE: &str = "mc_summary.json";
/// How the outputs were produced.
pub const INVOCATION_FILE: &str = "monte_carlo.yaml";

/// Seed of run `i` of a batch seeded with `seed`.
pub fn run_seed(seed: u64, i: u64) -> u64 {
    seed.wrapping_add(i)
}

/// Runs `runs` simulations in parallel on the current rayon pool, in run order.
pub fn run_batch(model: &Model, runs: u64, seed: u64) -> Vec<RunResult> {
    (0..runs).into_par_iter().map(|i| model.run(run_seed(seed, i), i)).collect()
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Dist {
    pub mean: f64,
    pub std: f64,
    pub min: f64,
    pub max: f64,
    pub p05: f64,
    pub p50: f64,
    pub p95: f64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MeanOnly {
    pub mean: f64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MeanMax {
    pub mean: f64,
    pub max: f64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MeanStd {
    pub mean: f64,
    pub std: f64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Aggregate {
    pub pnl: Dist,
    pub max_drawdown: Dist,
    pub kill_count: u64,
    pub kill_rate: f64,
    pub maker_volume_tao: MeanOnly,
    pub hedge_volume_tao: MeanOnly,
    pub fees_usd: MeanOnly,
    pub max_abs_q_tao: MeanMax,
    /// Inventory at the end of the runs (TAO).
    pub final_q_tao: MeanStd,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Quantiles {
    pub p01: f64,
    pub p05: f64,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct VarCvar {
    pub var: f64,
    pub cvar: f64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct KillProbability {
    pub point_estimate: f64,
    pub kill_count: u64,
    pub total_runs: u64,
    pub ci_lower: f64,
    pub ci_upper: f64,
    pub ci_level: f64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TailRisk {
    pub alpha: f64,
    pub pnl_quantiles: Quantiles,
    pub pnl_var_cvar: VarCvar,
    pub max_drawdown_quantiles: Quantiles,
    pub max_drawdown_var_cvar: VarCvar,
    pub kill_probability: KillProbability,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SummaryConfig {
    pub runs: u64,
    pub ticks: u64,
    pub seed: u64,
    pub tick_ms: u64,
    pub profile: String,
    pub overlay: BTreeMap<String, String>,
    pub effective: SimConfig,
}

/// `mc_summary.json`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Summary {
    pub schema_version: u32,
    pub config: SummaryConfig,
    pub aggregate: Aggregate,
    pub tail_risk: TailRisk,
}

fn dist(sorted: &[f64], raw: &[f64]) -> Dist {
    Dist {
        mean: stats::mean(raw),
        std: stats::sample_std(raw),
        min: sorted[0],
        max: sorted[sorted.len() - 1],
        p05: stats::quantile_sorted(sorted, 0.05),
        p50: stats::quantile_sorted(sorted, 0.50),
        p95: stats::quantile_sorted(sorted, 0.95),
    }
}

fn quantiles(sorted: &[f64]) -> Quantiles {
    let q = |p| stats::quantile_sorted(sorted, p);
    Quantiles { p01: q(0.01), p05: q(0.05), p50: q(0.50), p95: q(0.95), p99: q(0.99) }
}

/// Summarizes a non-empty batch.
pub fn summarize(cfg: &SimConfig, overlay: &Overlay, seed: u64, results: &[RunResult]) -> Summary {
    assert!(!results.is_empty(), "a batch has at least one run");
    let n = results.len() as u64;
    let pnl: Vec<f64> = results.iter().map(|r| r.final_pnl).collect();
    let dd: Vec<f64> = results.iter().map(|r| r.max_drawdown).collect();
    let (pnl_sorted, dd_sorted) = (stats::sorted(&pnl), stats::sorted(&dd));
    let kills = results.iter().filter(|r| r.killed).count() as u64;
    let mean_of = |f: fn(&RunResult) -> f64| stats::mean(&results.iter().map(f).collect::<Vec<_>>());
    let (pnl_var, pnl_cvar) = stats::lower_tail(&pnl_sorted, 0.05);
    let (dd_var, dd_cvar) = stats::upper_tail(&dd_sorted, 0.95);
    let (ci_lower, ci_upper) = stats::wilson_interval(kills, n, Z_95_TWO_SIDED);
    Summary {
        schema_version: SUMMARY_SCHEMA_VERSION,
        config: SummaryConfig {
            runs: n,
            ticks: cfg.ticks,
            seed,
            tick_ms: cfg.tick_ms,
            profile: cfg.strategy.profile.name().to_string(),
            overlay: overlay.raw().clone(),
            effective: cfg.clone(),
        },
        aggregate: Aggregate {
            pnl: dist(&pnl_sorted, &pnl),
            max_drawdown: dist(&dd_sorted, &dd),
            kill_count: kills,
            kill_rate: kills as f64 / n as f64,
            maker_volume_tao: MeanOnly { mean: mean_of(|r| r.maker_volume_tao) },
            hedge_volume_tao: MeanOnly { mean: mean_of(|r| r.hedge_volume_tao) },
            fees_usd: MeanOnly { mean: mean_of(|r| r.fees_usd) },
            max_abs_q_tao: MeanMax {
                mean: mean_of(|r| r.max_abs_q_tao),
                max: results.iter().map(|r| r.max_abs_q_tao).fold(f64::NEG_INFINITY, f64::max),
            },
            final_q_tao: {
                let q: Vec<f64> = results.iter().map(|r| r.final_q_tao).collect();
                MeanStd { mean: stats::mean(&q), std: stats::sample_std(&q) }
            },
        },
        tail_risk: TailRisk {
            alpha: TAIL_ALPHA,
            pnl_quantiles: quantiles(&pnl_sorted),
            pnl_var_cvar: VarCvar { var: pnl_var, cvar: pnl_cvar },
            max_drawdown_quantiles: quantiles(&dd_sorted),
            max_drawdown_var_cvar: VarCvar { var: dd_var, cvar: dd_cvar },
            kill_probability: KillProbability {
                point_estimate: kills as f64 / n as f64,
                kill_count: kills,
                total_runs: n,
                ci_lower,
                ci_upper,
                ci_level: 0.95,
            },
        },
    }
}

/// `monte_carlo.yaml`: how the outputs were produced.
#[derive(Debug, Clone, Serialize)]
pub struct Invocation {
    pub tool_version: String,
    pub command: Vec<String>,
    pub runs: u64,
    pub ticks: u64,
    pub seed: u64,
    pub seed_rule: String,
    pub first_seed: u64,
    pub last_seed: u64,
    pub overlay: BTreeMap<String, String>,
    pub effective: SimConfig,
}

/// Makes sure `dir` exists and accepts files, before any run starts.
pub fn prepare_output_dir(dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)?;
    let probe = dir.join(".write_probe");
    fs::write(&probe, b"")?;
    fs::remove_file(&probe)
}

/// The documents of a Monte Carlo batch, before they are written: `mc_runs.jsonl`,
/// `mc_summary.json` and `monte_carlo.yaml`, as the bytes every layout writes (`sim_eval
/// trial` compresses them, `monte_carlo` does not; the decompressed bytes are equal).
pub struct Documents {
    pub summary: Summary,
    pub runs_jsonl: String,
    pub summary_json: String,
    pub invocation_yaml: String,
}

/// Builds the batch's documents. `command` is the canonical invocation (only what
/// determines results: no output directory, no thread count).
pub fn documents(
    command: &[String],
    cfg: &SimConfig,
    overlay: &Overlay,
    seed: u64,
    results: &[RunResult],
) -> io::Result<Documents> {
    let summary = summarize(cfg, overlay, seed, results);
    let runs = results.len() as u64;
    let invocation = Invocation {
        tool_version: TOOL_VERSION.to_string(),
        command: command.to_vec(),
        runs,
        ticks: cfg.ticks,
        seed,
        seed_rule: "run i (0-based) uses seed + i, wrapping at 2^64".to_string(),
        first_seed: run_seed(seed, 0),
        last_seed: run_seed(seed, runs - 1),
        overlay: overlay.raw().clone(),
        effective: cfg.clone(),
    };
    let invocation_yaml = serde_saphyr::to_string(&invocation)
        .map_err(|e| io::Error::other(format!("monte_carlo.yaml: {e}")))?;
    Ok(Documents {
        runs_jsonl: to_jsonl(results),
        summary_json: to_json_pretty(&summary),
        invocation_yaml,
        summary,
    })
}

/// Writes the whole output directory and its evidence pack. `command` is the canonical
/// invocation (only what determines results: no output directory, no thread count), so
/// the data files are identical wherever and however they were produced; the exact
/// command line goes to the manifest with the time.
pub fn write_outputs(
    dir: &Path,
    command: &[String],
    exact_command: &str,
    cfg: &SimConfig,
    overlay: &Overlay,
    seed: u64,
    results: &[RunResult],
) -> io::Result<Summary> {
    let docs = documents(command, cfg, overlay, seed, results)?;
    write_documents(dir, &docs, exact_command)?;
    Ok(docs.summary)
}

/// Writes built documents as `monte_carlo` does: the three files and their evidence pack.
pub fn write_documents(dir: &Path, docs: &Documents, exact_command: &str) -> io::Result<()> {
    evidence::write_atomic(&dir.join(RUNS_FILE), docs.runs_jsonl.as_bytes())?;
    evidence::write_atomic(&dir.join(SUMMARY_FILE), docs.summary_json.as_bytes())?;
    evidence::write_atomic(&dir.join(INVOCATION_FILE), docs.invocation_yaml.as_bytes())?;
    evidence::write_pack(dir, exact_command, TOOL_VERSION, false)?;
    Ok(())
}

//! `monte_carlo`: score one strategy configuration over a seed schedule.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use paraphina::calibration::{self, CalibrationSpec};
use paraphina::config::{Knob, Overlay, Profile, SimConfig};
use paraphina::{mc, output};
use paraphina::sim::Model;
use paraphina::stress::CompiledStress;

/// The `--help` text after the options: the knob list comes from [`Knob::ALL`] and the
/// profile names from [`Profile::ALL`], so help and parser cannot disagree.
fn after_help() -> String {
    let mut knobs = String::new();
    for k in Knob::ALL {
        let text = match k {
            Knob::RiskProfile => format!(
                "{}: {} (aliases {})",
                k.description(),
                Profile::names().join(" | "),
                Profile::aliases().join(", ")
            ),
            _ => k.description().to_string(),
        };
        knobs.push_str(&format!("  {:<27} {text}\n", k.var_name()));
    }
    format!("Configuration: profile defaults overlaid by PARAPHINA_* environment variables\n{knobs}{AFTER_KNOBS}")
}

const AFTER_KNOBS: &str = "\
A malformed or out-of-range value, or an unknown PARAPHINA_* name, stops the program
with exit status 2 before any run. `--show-config` prints the profile table, the
accepted domains and the effective configuration as JSON.

`--calibration-report [--runs N] [--ticks T] [--seed S]` (defaults 400, 600, 1) checks
the calibration targets of the design (profiles, each knob's effect with common random
numbers, the kill switch) on the built-in defaults and prints tables and one PASS/FAIL
line per target; it takes no PARAPHINA_* variables and writes no files.

Outputs in --output-dir: mc_runs.jsonl (one line per run), mc_summary.json (aggregates
and tail risk), monte_carlo.yaml (invocation, effective configuration, seeds) and
evidence_pack/ (SHA256SUMS for `sha256sum -c`, manifest.json). Run i uses seed S+i.
Data files are byte-identical for the same arguments and environment, whatever --threads.

Exit status: 0 success, 1 failure while writing outputs (or, with --calibration-report,
a target that fails), 2 bad input.";

/// Score a market-making configuration by Monte Carlo simulation.
#[derive(Parser, Debug)]
#[command(name = "monte_carlo", version, about, after_help = after_help())]
struct Args {
    /// Number of runs (1 to 10,000,000: every run's result is kept in memory).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=10_000_000), required_unless_present_any = ["show_config", "calibration_report"])]
    runs: Option<u64>,
    /// Ticks per run (at least 1; a tick is 60 s).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..), required_unless_present_any = ["show_config", "calibration_report"])]
    ticks: Option<u64>,
    /// Seed of run 0; run i uses seed + i (wrapping).
    #[arg(long, required_unless_present_any = ["show_config", "calibration_report"])]
    seed: Option<u64>,
    /// Directory for the outputs (created if missing).
    #[arg(long, required_unless_present_any = ["show_config", "calibration_report"])]
    output_dir: Option<PathBuf>,
    /// Worker threads (default: every core). Results do not depend on it.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    threads: Option<u16>,
    /// Print nothing but errors.
    #[arg(long, short)]
    quiet: bool,
    /// Print the profile table, knob domains and effective configuration (JSON), then exit.
    #[arg(long)]
    show_config: bool,
    /// Measure the calibration targets on the built-in defaults, print the report, exit
    /// (1 if a target fails).
    #[arg(long, conflicts_with_all = ["show_config", "output_dir"])]
    calibration_report: bool,
}

fn fail(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("monte_carlo: error: {msg}");
    ExitCode::from(2)
}

fn show_config(ticks: u64, overlay: &Overlay) -> String {
    let profiles: serde_json::Map<String, serde_json::Value> = Profile::ALL
        .iter()
        .map(|p| (p.name().to_string(), serde_json::to_value(p.params()).expect("serializes")))
        .collect();
    let domains: serde_json::Map<String, serde_json::Value> = Knob::ALL
        .iter()
        .map(|k| {
            let v = match k.domain() {
                Some(d) => serde_json::to_value(d).expect("serializes"),
                None => serde_json::json!({"choices": Profile::names()}),
            };
            (k.var_name().to_string(), v)
        })
        .collect();
    output::to_json_pretty(&serde_json::json!({
        "tool_version": output::TOOL_VERSION,
        "profiles": profiles,
        "knob_domains": domains,
        "overlay": overlay.raw(),
        "effective": SimConfig::new(ticks, overlay),
    }))
}

fn thread_pool(threads: Option<u16>) -> Result<rayon::ThreadPool, String> {
    let mut builder = rayon::ThreadPoolBuilder::new();
    if let Some(k) = threads {
        builder = builder.num_threads(usize::from(k));
    }
    builder.build().map_err(|e| format!("thread pool: {e}"))
}

fn calibration_report(args: &Args, overlay: &Overlay) -> ExitCode {
    // The report measures fixed settings; an overlay the reader believes applied but did
    // not would mislabel every number in it.
    if !overlay.raw().is_empty() {
        let names: Vec<&str> = overlay.raw().keys().map(String::as_str).collect();
        return fail(format!(
            "--calibration-report measures the built-in defaults and fixed knob settings; unset {}",
            names.join(", ")
        ));
    }
    let d = CalibrationSpec::default();
    let spec = CalibrationSpec {
        runs: args.runs.unwrap_or(d.runs),
        ticks: args.ticks.unwrap_or(d.ticks),
        seed: args.seed.unwrap_or(d.seed),
    };
    let pool = match thread_pool(args.threads) {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    match pool.install(|| calibration::calibrate(&spec)) {
        Ok(report) => {
            print!("{report}");
            if report.all_pass() { ExitCode::SUCCESS } else { ExitCode::from(1) }
        }
        Err(e) => fail(e),
    }
}

fn main() -> ExitCode {
    let args: Args = paraphina::input::parse_args("monte_carlo");
    let overlay = match Overlay::from_env() {
        Ok(o) => o,
        Err(e) => return fail(e),
    };
    if args.show_config {
        print!("{}", show_config(args.ticks.unwrap_or(600), &overlay));
        return ExitCode::SUCCESS;
    }
    if args.calibration_report {
        return calibration_report(&args, &overlay);
    }
    let (runs, ticks, seed) = (args.runs.unwrap(), args.ticks.unwrap(), args.seed.unwrap());
    let dir = args.output_dir.unwrap();
    if let Err(e) = mc::prepare_output_dir(&dir) {
        return fail(format!("output directory {}: {e}", dir.display()));
    }
    let cfg = SimConfig::new(ticks, &overlay);
    let model = match Model::new(&cfg, CompiledStress::none()) {
        Ok(m) => m,
        Err(e) => return fail(e),
    };
    let pool = match thread_pool(args.threads) {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    let started = Instant::now();
    let results = pool.install(|| mc::run_batch(&model, runs, seed));
    let elapsed = started.elapsed().as_secs_f64();

    let canonical = vec![
        "monte_carlo".to_string(),
        format!("--runs={runs}"),
        format!("--ticks={ticks}"),
        format!("--seed={seed}"),
    ];
    let exact: Vec<String> = std::env::args().collect();
    match mc::write_outputs(&dir, &canonical, &exact.join(" "), &cfg, &overlay, seed, &results) {
        Ok(summary) => {
            if !args.quiet {
                let run_ticks: u64 = results.iter().map(|r| r.ticks_executed).sum();
                eprintln!(
                    "monte_carlo: {runs} runs x {ticks} ticks on {} threads in {:.3} s: {:.2} M run-ticks/s; \
                     pnl mean {:.2} USD, dd CVaR95 {:.2} USD, kills {}/{}; outputs in {}",
                    pool.current_num_threads(),
                    elapsed,
                    run_ticks as f64 / elapsed.max(1e-9) / 1e6,
                    summary.aggregate.pnl.mean,
                    summary.tail_risk.max_drawdown_var_cvar.cvar,
                    summary.aggregate.kill_count,
                    runs,
                    dir.display()
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("monte_carlo: error: writing outputs in {}: {e}", dir.display());
            ExitCode::from(1)
        }
    }
}

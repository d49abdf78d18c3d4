//! `sim_eval`: evaluation commands over simulator outputs. Argument parsing and printing
//! only; the work is done by the `paraphina` library, so tests can call it without a
//! process.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use paraphina::config::Overlay;
use paraphina::input::InputError;
use paraphina::output::{self, TOOL_VERSION};
use paraphina::{evidence, report, scenario, suite};

const EXIT_CODES: &str = "\
Exit status:
  0  verified (write-evidence-pack: written; run, suite: every invariant held;
     report: every gate passed)
  1  verification failed, or a check did: an invariant or determinism failure (run,
     suite), a regression gate (report); each failure on its own line
  2  bad input: a missing or malformed file (YAML errors as file:line:col: key:
     problem), an unknown key, a bad PARAPHINA_* value, bad arguments, DIR missing or
     unreadable, unmatched results (report); also outputs or packs that cannot be
     written (symlink, special file, a name sha256sum would escape)";

const CANDIDATE_HELP: &str = "\
The candidate configuration is the PARAPHINA_* environment (see `monte_carlo --help`).
Priority, highest first: a suite entry's env_overrides, the environment, the scenario's
initial_state, the profile defaults. A bad PARAPHINA_* value is bad input (exit 2).";

const RUN_HELP: &str = "\
Runs every seed of one scenario file (schema v1: see the scenario module docs) and
judges its invariants. Writes into DIR: seed_<seed>.json per seed, scenario_summary.json
(verdicts with observed values and limits, overlays, effective configuration) and
evidence_pack/. DIR must be new, empty, or an earlier output of this command (replaced).

Exit status:
  0  every invariant held
  1  an invariant failed: one line per failure (scenario, seed, invariant, observed vs limit)
  2  bad input (file:line:col: key: problem), or the outputs cannot be written";

const SUITE_HELP: &str = "\
Runs every scenario of a suite file repeat_runs times; the repeats must agree exactly.
Writes into DIR: <scenario>/seed_<seed>.json, suite_summary.json (per scenario and
invariant: pass/fail, observed vs limit; the effective and candidate overlays) and
evidence_pack/. No wall-clock time outside evidence_pack/manifest.json. DIR must be new,
empty, or an earlier output of this command (replaced). With --check, only the suite file
and every scenario file it names are read and checked (`OK <suite> (<n> scenarios)`).

Exit status:
  0  every scenario ran and every invariant held (--check: the files are valid)
  1  an invariant or determinism failure: one line per failure (scenario, seed,
     invariant, observed vs limit), then a total
  2  bad input: missing file, malformed YAML, unknown key or wrong type (each as
     file:line:col: key: problem), a bad PARAPHINA_* value; or unwritable outputs";

const TRIAL_HELP: &str = "\
One search trial in one process: the candidate's Monte Carlo batch (the same runs and
documents as `monte_carlo --runs R --ticks T --seed S`), every --suite (as `sim_eval
suite FILE` runs it), a root evidence pack over DIR and the verification of every pack
in DIR. Prints one JSON document on stdout: the Monte Carlo summary and the SHA-256 of
each document (uncompressed), each suite's verdict with its failures in words, the root
pack's digest, file count and bytes, and the seconds of each part. DIR must be new, empty
or hold only candidate.env (which the pack then covers).

--evidence compact (default): mc/mc_summary.json.gz, mc/mc_runs.jsonl.gz,
suite/<NAME>/suite_summary.json.gz, suite/seeds.jsonl.gz (every seed's result, one per
line) and evidence_pack/. full: the separate commands' layout (mc/, suite/<NAME>/ with a
file per seed, a pack in each, and the root pack). summary: compact without the per-run
documents (their digests are in the printed document). Every .gz decompresses to the
bytes the full layout holds (seed results as one compact line each); `zcat` reads them.

Exit status:
  0  the trial ran and its evidence verifies (a suite invariant that failed is a verdict
     in the document, not an error)
  1  the evidence written does not verify: the verifier's lines on stdout
  2  bad input (file:line:col: key: problem, a bad PARAPHINA_* value, bad arguments) or
     outputs that cannot be written";

const REPORT_HELP: &str = "\
Compares the suite results of a baseline output directory with one or more variants,
matched by (scenario, seed); each directory's evidence pack must verify. Writes Markdown
(--out-md) and JSON (--out-json): per variant the mean baseline and variant final PnL,
the mean, worst and best delta, and a table per scenario. Gates apply to the mean PnL
regression (baseline mean − variant mean) of each variant.

Exit status:
  0  every result matched and every gate passed
  1  a gate failed: one line naming the gate and the variant
  2  bad input: a missing or unverifiable directory, a bad argument, or unmatched
     results (listed one per line; the reports are still written)";

const VERIFY_PACK_HELP: &str = "\
Checks DIR/evidence_pack/SHA256SUMS and manifest.json: every listed file exists with its
hash, no file is unlisted, there is no symlink or special file, every line has the form
`<64 lowercase hex>  <relative path>`, and the manifest (schema 1) matches SHA256SUMS.

Exit status:
  0  the pack verifies; `OK DIR (N files)` on stdout
  1  it does not; each problem on stderr, one per line, then `FAIL DIR: ...`
  2  DIR is missing, not a directory or unreadable";

const VERIFY_TREE_HELP: &str = "\
Finds every directory at or below DIR that holds an evidence_pack/ directory (without
entering evidence_pack/ directories or following symlinks) and verifies each pack.
Prints on stdout one line per pack, `OK <path> (<n> files)` or `FAIL <path>: <problems>`,
then a total line.

Exit status:
  0  at least one pack was found and every pack verifies
  1  a pack failed, a directory could not be searched, or no pack was found
  2  DIR is missing, not a directory or unreadable";

const WRITE_PACK_HELP: &str = "\
Writes DIR/evidence_pack/SHA256SUMS and manifest.json over every file below DIR, leaving
out the evidence_pack/ directories of nested packs (they verify themselves). The manifest
records this command line. Afterwards `cd DIR && sha256sum -c evidence_pack/SHA256SUMS`
passes.

Exit status:
  0  the pack was written; `wrote DIR/evidence_pack (N files)` on stdout
  2  DIR is missing, not a directory or unreadable, holds something a pack cannot cover
     (symlink, FIFO, socket, device, a name with a newline, carriage return or
     backslash), or the pack could not be written";

#[derive(Parser)]
#[command(
    name = "sim_eval",
    version,
    about = "Evaluate strategy configurations on scenarios and suites, compare results, verify evidence packs",
    after_help = EXIT_CODES
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// One variant per subcommand, each handled by the function of the same name below.
#[derive(Subcommand)]
enum Command {
    /// Run one scenario file and judge its invariants
    #[command(after_help = RUN_HELP, before_help = CANDIDATE_HELP)]
    Run {
        /// Scenario file (YAML, schema v1)
        scenario: PathBuf,
        /// Directory for the results (created if missing)
        #[arg(long)]
        output_dir: PathBuf,
    },
    /// Run a suite of scenarios against the candidate configuration (the promotion gate)
    #[command(after_help = SUITE_HELP, before_help = CANDIDATE_HELP)]
    Suite {
        /// Suite file (YAML)
        suite: PathBuf,
        /// Directory for the results (created if missing)
        #[arg(long, required_unless_present = "check")]
        output_dir: Option<PathBuf>,
        /// Print a line per scenario and per seed, not only the failures
        #[arg(long, short)]
        verbose: bool,
        /// Only read and check the suite file and every scenario file it names (exit 0
        /// or 2); run nothing, write nothing
        #[arg(long, conflicts_with = "output_dir")]
        check: bool,
        /// Run every scenario on seeds from this base instead of its own: scenario j
        /// (0-based) runs seeds S + j*N + i, i < N (wrapping); needs --num-seeds
        #[arg(long, value_name = "S", requires = "num_seeds")]
        seed_base: Option<u64>,
        /// Seeds per scenario with --seed-base (1 to 100000)
        #[arg(long, value_name = "N", requires = "seed_base",
              value_parser = clap::value_parser!(u64).range(1..=100_000))]
        num_seeds: Option<u64>,
    },
    /// Score one search trial in one process: Monte Carlo, suites, evidence, verification
    #[command(after_help = TRIAL_HELP, before_help = CANDIDATE_HELP)]
    Trial {
        /// Monte Carlo runs (1 to 10,000,000)
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
        runs: u64,
        /// Ticks per run (at least 1; a tick is 60 s)
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
        ticks: u64,
        /// Seed of run 0; run i uses seed + i (wrapping)
        #[arg(long)]
        seed: u64,
        /// NAME=FILE: a suite to run, its outputs in DIR/suite/NAME (repeatable)
        #[arg(long = "suite", value_name = "NAME=FILE")]
        suites: Vec<String>,
        /// How much evidence to keep: compact, full or summary (see below)
        #[arg(long, value_enum, default_value_t = paraphina::trial::Evidence::Compact)]
        evidence: paraphina::trial::Evidence,
        /// Directory of the trial (created if missing)
        #[arg(long)]
        output_dir: PathBuf,
        /// Worker threads (default: every core). Results do not depend on it
        #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
        threads: Option<u16>,
    },
    /// Compare suite results of variants with a baseline, with regression gates
    #[command(after_help = REPORT_HELP)]
    Report {
        /// Output directory of `sim_eval suite` for the baseline
        #[arg(long)]
        baseline: PathBuf,
        /// NAME=DIR: a variant's `sim_eval suite` output directory (repeatable)
        #[arg(long = "variant", required = true)]
        variants: Vec<String>,
        /// Markdown report to write
        #[arg(long)]
        out_md: PathBuf,
        /// JSON report to write
        #[arg(long)]
        out_json: PathBuf,
        /// Fail a variant whose mean PnL is more than X USD below the baseline's
        #[arg(long, value_name = "X")]
        gate_max_regression_usd: Option<f64>,
        /// Fail a variant whose mean PnL is more than Y % of |baseline mean| below it
        #[arg(long, value_name = "Y")]
        gate_max_regression_pct: Option<f64>,
    },
    /// Run a published reference experiment and print it beside the paper's values
    Reference {
        /// Experiment: avellaneda-stoikov (Avellaneda & Stoikov 2008, section 3.3)
        #[arg(value_parser = ["avellaneda-stoikov"])]
        experiment: String,
        /// Paths per row
        #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(2..=100_000))]
        paths: u64,
        /// Seed of the first path (path i uses seed + i; every row the same seeds)
        #[arg(long, default_value_t = 2008)]
        seed: u64,
        /// Scenario file instead of the shipped scenarios/reference/avellaneda_stoikov.yaml
        #[arg(long)]
        scenario: Option<PathBuf>,
        /// Print JSON instead of the table
        #[arg(long)]
        json: bool,
    },
    /// Verify the evidence pack of one directory
    #[command(after_help = VERIFY_PACK_HELP)]
    VerifyEvidencePack {
        /// Directory that holds evidence_pack/
        dir: PathBuf,
    },
    /// Verify every evidence pack at or below a directory
    #[command(after_help = VERIFY_TREE_HELP)]
    VerifyEvidenceTree {
        /// Directory to search
        dir: PathBuf,
    },
    /// Write a root evidence pack over every file below a directory
    #[command(after_help = WRITE_PACK_HELP)]
    WriteEvidencePack {
        /// Directory to cover; the pack goes into DIR/evidence_pack/
        dir: PathBuf,
    },
}

/// What a subcommand ended with; the exit status is documented in `EXIT_CODES`.
enum Outcome {
    Success,
    Failed,
    BadInput,
}

impl From<Outcome> for ExitCode {
    fn from(outcome: Outcome) -> Self {
        ExitCode::from(match outcome {
            Outcome::Success => 0,
            Outcome::Failed => 1,
            Outcome::BadInput => 2,
        })
    }
}

fn main() -> ExitCode {
    match paraphina::input::parse_args::<Cli>("sim_eval").command {
        Command::Run {
            scenario,
            output_dir,
        } => run_scenario(&scenario, &output_dir),
        Command::Suite {
            suite,
            check: true,
            ..
        } => check_suite(&suite),
        Command::Suite {
            suite,
            output_dir,
            verbose,
            seed_base,
            num_seeds,
            ..
        } => run_suite(
            &suite,
            &output_dir.expect("required unless --check"),
            verbose,
            seed_base.zip(num_seeds),
        ),
        Command::Trial { runs, ticks, seed, suites, evidence, output_dir, threads } => {
            run_trial(runs, ticks, seed, &suites, evidence, &output_dir, threads)
        }
        Command::Report {
            baseline,
            variants,
            out_md,
            out_json,
            gate_max_regression_usd,
            gate_max_regression_pct,
        } => compare_report(
            &baseline,
            &variants,
            &out_md,
            &out_json,
            gate_max_regression_usd,
            gate_max_regression_pct,
        ),
        Command::Reference { experiment: _, paths, seed, scenario, json } => {
            reference(paths, seed, scenario.as_deref(), json)
        }
        Command::VerifyEvidencePack { dir } => verify_evidence_pack(&dir),
        Command::VerifyEvidenceTree { dir } => verify_evidence_tree(&dir),
        Command::WriteEvidencePack { dir } => write_evidence_pack(&dir),
    }
    .into()
}

/// Checks DIR before any work, so that a mistyped path is told apart from a failed pack.
fn input_dir(dir: &Path) -> Result<(), Outcome> {
    evidence::check_input_dir(dir).map_err(|e| {
        eprintln!("sim_eval: error: {e}");
        Outcome::BadInput
    })
}

fn verify_evidence_pack(dir: &Path) -> Outcome {
    if let Err(outcome) = input_dir(dir) {
        return outcome;
    }
    let report = evidence::verify_pack(dir);
    if report.is_ok() {
        println!("OK {} ({} files)", dir.display(), report.listed);
        return Outcome::Success;
    }
    for problem in &report.problems {
        eprintln!("{problem}");
    }
    let n = report.problems.len();
    eprintln!(
        "FAIL {}: {n} problem{} ({} files listed)",
        dir.display(),
        if n == 1 { "" } else { "s" },
        report.listed
    );
    Outcome::Failed
}

fn verify_evidence_tree(dir: &Path) -> Outcome {
    if let Err(outcome) = input_dir(dir) {
        return outcome;
    }
    let report = evidence::verify_tree(dir);
    for line in report.lines() {
        println!("{line}");
    }
    println!("{}", report.total_line());
    if report.is_ok() {
        Outcome::Success
    } else {
        Outcome::Failed
    }
}

fn write_evidence_pack(dir: &Path) -> Outcome {
    if let Err(outcome) = input_dir(dir) {
        return outcome;
    }
    let command = evidence::command_line(std::env::args_os());
    match evidence::write_pack(dir, &command, TOOL_VERSION, true) {
        Ok(manifest) => {
            println!(
                "wrote {} ({} files)",
                dir.join(evidence::PACK_DIR).display(),
                manifest.file_count
            );
            Outcome::Success
        }
        Err(e) => {
            eprintln!("sim_eval: error: {e}");
            Outcome::BadInput
        }
    }
}

fn bad_input(e: impl std::fmt::Display) -> Outcome {
    eprintln!("sim_eval: error: {e}");
    Outcome::BadInput
}

/// The candidate's overlay: the PARAPHINA_* variables of the environment.
fn candidate() -> Result<Overlay, Outcome> {
    Overlay::from_env().map_err(|e| bad_input(format!("environment: {e}")))
}

fn label(path: &Path) -> String {
    path.display().to_string()
}

fn run_scenario(path: &Path, output_dir: &Path) -> Outcome {
    let result = (|| -> Result<Outcome, Outcome> {
        let candidate = candidate()?;
        let (scenario, sha256) = scenario::load(path, &label(path)).map_err(bad_input)?;
        let source = scenario::Source {
            file: Some(label(path)),
            sha256: Some(sha256),
            entry_fields: Vec::new(),
        };
        let case = scenario::Case::alone(scenario, source);
        scenario::prepare_output_dir(output_dir, scenario::Layout::Run).map_err(bad_input)?;
        let run = scenario::run_case(&case, &candidate, 1).map_err(bad_input)?;
        let command = evidence::command_line(std::env::args_os());
        scenario::write_run_outputs(output_dir, &case, &run, &command).map_err(bad_input)?;
        for line in run.failure_lines() {
            println!("{line}");
        }
        println!("{}", suite::scenario_line(&case, &run));
        Ok(if run.passed() {
            Outcome::Success
        } else {
            Outcome::Failed
        })
    })();
    result.unwrap_or_else(|outcome| outcome)
}

/// `sim_eval reference avellaneda-stoikov`: the knobs of the environment do not apply
/// (the paper's strategy is the scenario's).
fn reference(paths: u64, seed: u64, scenario: Option<&Path>, json: bool) -> Outcome {
    let result = (|| -> Result<Outcome, Outcome> {
        let (sc, label) = paraphina::reference::load_as_scenario(scenario).map_err(bad_input)?;
        let report = paraphina::reference::avellaneda_stoikov(&sc, &label, paths, seed).map_err(bad_input)?;
        if json {
            println!("{}", paraphina::output::to_json_pretty(&report));
        } else {
            print!("{}", paraphina::reference::format_as_table(&report));
        }
        Ok(Outcome::Success)
    })();
    result.unwrap_or_else(|outcome| outcome)
}

fn check_suite(path: &Path) -> Outcome {
    match suite::load(path, &label(path)) {
        Ok(suite) => {
            println!("OK {} ({} scenarios)", label(path), suite.cases.len());
            Outcome::Success
        }
        Err(e) => bad_input(e),
    }
}

fn run_suite(
    path: &Path,
    output_dir: &Path,
    verbose: bool,
    stream: Option<(u64, u64)>,
) -> Outcome {
    let result = (|| -> Result<Outcome, Outcome> {
        let candidate = candidate()?;
        let mut suite = suite::load(path, &label(path)).map_err(bad_input)?;
        if let Some((base, n)) = stream {
            suite = suite.with_seed_stream(base, n);
        }
        scenario::prepare_output_dir(output_dir, scenario::Layout::Suite).map_err(bad_input)?;
        let run = suite::run(&suite, &candidate).map_err(bad_input)?;
        let command = evidence::command_line(std::env::args_os());
        suite::write_outputs(output_dir, &suite, &run, &command).map_err(bad_input)?;
        for line in suite::report_lines(&suite, &run, verbose) {
            println!("{line}");
        }
        Ok(if run.passed() {
            Outcome::Success
        } else {
            Outcome::Failed
        })
    })();
    result.unwrap_or_else(|outcome| outcome)
}

fn run_trial(
    runs: u64,
    ticks: u64,
    seed: u64,
    suite_args: &[String],
    evidence: paraphina::trial::Evidence,
    output_dir: &Path,
    threads: Option<u16>,
) -> Outcome {
    use paraphina::trial::{self, TrialError};
    let result = (|| -> Result<Outcome, Outcome> {
        let candidate = candidate()?;
        let mut suites: Vec<(String, suite::Suite)> = Vec::new();
        for arg in suite_args {
            let (name, path) = trial::parse_suite_arg(arg).map_err(bad_input)?;
            if suites.iter().any(|(n, _)| *n == name) {
                return Err(bad_input(format!("--suite {arg:?}: the name {name} is given twice")));
            }
            suites.push((name, suite::load(&path, &label(&path)).map_err(bad_input)?));
        }
        let mut builder = rayon::ThreadPoolBuilder::new();
        if let Some(k) = threads {
            builder = builder.num_threads(usize::from(k));
        }
        let pool = builder.build().map_err(|e| bad_input(format!("thread pool: {e}")))?;
        let spec = trial::Spec { runs, ticks, seed, suites, evidence };
        let command = evidence::command_line(std::env::args_os());
        match pool.install(|| trial::run(output_dir, &spec, &candidate, &command)) {
            Ok(doc) => {
                println!("{}", serde_json::to_string(&doc).expect("the document serializes"));
                Ok(Outcome::Success)
            }
            Err(TrialError::Input(e)) => Err(bad_input(e)),
            Err(TrialError::Unverified(lines)) => {
                for line in lines {
                    println!("{line}");
                }
                Ok(Outcome::Failed)
            }
        }
    })();
    result.unwrap_or_else(|outcome| outcome)
}

fn compare_report(
    baseline: &Path,
    variants: &[String],
    out_md: &Path,
    out_json: &Path,
    max_regression_usd: Option<f64>,
    max_regression_pct: Option<f64>,
) -> Outcome {
    let result = (|| -> Result<Outcome, InputError> {
        let gates = report::Gates::new(max_regression_usd, max_regression_pct)?;
        let base = report::read_results(baseline, &label(baseline))?;
        let mut read = Vec::new();
        for arg in variants {
            let (name, dir) = report::parse_variant(arg)?;
            if read.iter().any(|(n, _): &(String, _)| n == name.as_str()) {
                return Err(InputError(format!(
                    "--variant {arg:?}: the name {name} is given twice; names must differ"
                )));
            }
            read.push((name.to_string(), report::read_results(&dir, &label(&dir))?));
        }
        let r = report::compare(&base, &read, &gates);
        let write = |path: &Path, text: String| {
            evidence::write_atomic(path, text.as_bytes()).map_err(|e| InputError(e.to_string()))
        };
        write(out_md, report::to_markdown(&r))?;
        write(out_json, output::to_json_pretty(&r))?;
        for v in &r.variants {
            println!(
                "variant {}: {} matched, mean pnl {:.2} -> {:.2} USD (delta {:+.2}, worst {:+.2}, best {:+.2})",
                v.name,
                v.overall.matched,
                v.overall.mean_baseline_pnl,
                v.overall.mean_variant_pnl,
                v.overall.mean_delta,
                v.overall.worst_delta,
                v.overall.best_delta
            );
            for g in &v.gates {
                println!("{}", g.message);
            }
        }
        let unmatched = r.unmatched_lines();
        if !unmatched.is_empty() {
            for line in &unmatched {
                eprintln!("sim_eval: {line}");
            }
            eprintln!(
                "sim_eval: {} unmatched results: the directories do not hold the same (scenario, seed) results",
                unmatched.len()
            );
            return Ok(Outcome::BadInput);
        }
        Ok(if r.passed {
            Outcome::Success
        } else {
            Outcome::Failed
        })
    })();
    result.unwrap_or_else(bad_input)
}

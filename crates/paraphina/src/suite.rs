//! Suites: a list of scenarios run together against one candidate configuration, each
//! repeated to prove determinism, each judged by its own invariants and the suite's.
//!
//! # Schema
//!
//! ```yaml
//! suite_id: adversarial_regression_v1   # letters, digits, _ . -
//! suite_version: 1                      # whole number >= 1
//! repeat_runs: 2                        # each scenario runs this many times; the repeats
//!                                       # must agree exactly (every metric, path checksum)
//! invariants:                           # optional: applied to every scenario on top of its
//!   max_loss_overshoot: 0.25            # own; for each limit the stricter wins
//! scenarios:
//!   - path: ../v1/baseline_gbm.yaml     # a scenario file, relative to this suite file
//!   - path: ../v1/baseline_gbm.yaml     # the same file with entry fields on top
//!     id: baseline_vol_x2               # required when two entries would share an id
//!     seed: 7                           # replaces seeds.base_seed (not with `seeds`)
//!     profile: conservative             # replaces initial_state.profile
//!     env_overrides: {PARAPHINA_HEDGE_MAX_STEP: "10"}
//!     adversarial_params: {vol_multiplier: 2.0}
//!   - id: inline_jumps                  # inline: no path, the scenario fields in the entry
//!     horizon: {steps: 200, dt_seconds: 60}
//!     seed: 11                          # or seeds: {base_seed, num_seeds}; `seed` alone = 1 seed
//!     market: {process: jump_diffusion, vol: 0.06, drift: 0, jump_intensity: 6, jump_sigma: 0.08}
//!     invariants: {expect_kill_switch: never}
//! ```
//!
//! An entry holds, besides `path`, any of the scenario fields of [`crate::scenario`]
//! except `schema_version`, and the entry-only fields `seed`, `profile`,
//! `env_overrides` and `adversarial_params`:
//! - with `path`, the file is read and checked first; every top-level field the entry
//!   gives replaces the file's (a section is replaced whole, not merged key by key);
//! - without `path`, the entry is the whole scenario: `id`, `horizon`, `market` and
//!   `seeds` (or `seed`) are required;
//! - `seed` sets `seeds.base_seed`; `profile` sets `initial_state.profile`; giving
//!   either together with the field it sets is an error;
//! - `env_overrides` are `PARAPHINA_*` strings, parsed as strictly as the environment,
//!   and take priority over the candidate's environment for this entry only;
//! - `adversarial_params` ([`crate::scenario::Adversarial`]): `vol_multiplier`,
//!   `jump_intensity`, `spread_multiplier`, `latency_multiplier`,
//!   `depth_collapse_factor`, `venue_outage_prob`.
//!
//! Scenario ids must be unique within a suite: each names the directory of its results.
//! An entry is resolved against its scenario file in [`crate::scenario::resolve_entry`];
//! this module reads the suite file, runs the cases and writes the outputs.
//!
//! # Seed streams (`--seed-base S --num-seeds N`)
//! Given both, every scenario's own seeds are replaced: scenario `j` (0-based, in suite
//! order) runs the `N` seeds `S + j*N + i` (wrapping at 2^64), so a suite can be judged on
//! seeds it has never seen (the promoter's confirmation) and no two scenarios share a
//! path. `suite_summary.json` then holds `seed_stream: {base, num_seeds, rule}`; without
//! the options the outputs are exactly those of the files' seeds.
//!
//! # Outputs (`sim_eval suite SUITE --output-dir DIR`)
//! `DIR/<scenario id>/seed_<seed>.json` per scenario and seed, `DIR/suite_summary.json`
//! (verdicts per scenario and invariant with observed values and limits, the overlays, the
//! effective configuration), and `DIR/evidence_pack/`. No wall-clock time outside the
//! manifest: the same suite, candidate and version write the same files.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

use crate::config::Overlay;
use crate::evidence::{self, sha256_bytes};
use crate::input::{BoundedCount, Count, Ident, InputError, Place, read_yaml};
use crate::output::{TOOL_VERSION, to_json_pretty};
use crate::scenario::{
    self, Case, CaseRun, EntryDoc, Invariants, InvariantsDoc, OUTPUT_SCHEMA_VERSION,
    ScenarioSummary,
};

/// Summary file of `sim_eval suite`.
pub const SUITE_SUMMARY_FILE: &str = "suite_summary.json";

/// A suite file, as parsed.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuiteDoc {
    pub suite_id: Ident,
    pub suite_version: Count,
    /// At most 100 repeats of every scenario.
    pub repeat_runs: BoundedCount<100>,
    #[serde(default)]
    pub invariants: Option<Spanned<InvariantsDoc>>,
    pub scenarios: Spanned<Vec<Spanned<EntryDoc>>>,
}

/// A checked suite: every scenario resolved, every referenced file read.
#[derive(Debug, Clone)]
pub struct Suite {
    pub id: Ident,
    pub version: u64,
    pub repeat_runs: u64,
    /// The suite-level invariants (already folded into each case's).
    pub invariants: Invariants,
    pub cases: Vec<Case>,
    /// The suite file as the user named it, and its SHA-256.
    pub file: String,
    pub sha256: String,
    /// Set by [`Suite::with_seed_stream`]: the seeds replace every scenario's own.
    pub seed_stream: Option<SeedStream>,
}

/// A seed stream given on the command line (`sim_eval suite --seed-base S --num-seeds N`):
/// scenario `j` (0-based, suite order) runs seeds `base + j*N ... base + j*N + N - 1`
/// (wrapping at 2^64), so no two scenarios of the suite share a seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SeedStream {
    pub base: u64,
    pub num_seeds: u64,
    pub rule: &'static str,
}

/// The rule of a [`SeedStream`], as written into `suite_summary.json`.
pub const SEED_STREAM_RULE: &str =
    "scenario j (0-based, suite order) runs seeds base + j*num_seeds + i, i < num_seeds, wrapping at 2^64";

impl Suite {
    /// The suite with every scenario's seeds replaced by the stream `base`, `num_seeds`
    /// per scenario (see [`SeedStream`]); everything else is unchanged.
    pub fn with_seed_stream(mut self, base: u64, num_seeds: u64) -> Suite {
        for (j, case) in self.cases.iter_mut().enumerate() {
            case.scenario.seeds.base_seed = base.wrapping_add((j as u64).wrapping_mul(num_seeds));
            case.scenario.seeds.num_seeds = num_seeds;
        }
        self.seed_stream = Some(SeedStream {
            base,
            num_seeds,
            rule: SEED_STREAM_RULE,
        });
        self
    }
}

/// Reads and checks a suite file and every scenario file it names; `label` is how
/// errors name the suite file (the path as given).
pub fn load(path: &Path, label: &str) -> Result<Suite, InputError> {
    let (doc, text): (SuiteDoc, String) = read_yaml(path, label)?;
    let base_dir = path.parent().unwrap_or(Path::new(""));
    from_doc(doc, label, base_dir, sha256_bytes(text.as_bytes()))
}

/// Parses and checks a suite from text (tests, tools); scenario paths are relative to
/// `base_dir`.
pub fn parse(text: &str, label: &str, base_dir: &Path) -> Result<Suite, InputError> {
    let doc: SuiteDoc = crate::input::parse_yaml(text, label)?;
    from_doc(doc, label, base_dir, sha256_bytes(text.as_bytes()))
}

/// Checks a parsed suite; scenario paths are relative to `base_dir`.
pub fn from_doc(
    doc: SuiteDoc,
    label: &str,
    base_dir: &Path,
    sha256: String,
) -> Result<Suite, InputError> {
    let invariants = match &doc.invariants {
        Some(i) => scenario::invariants_of(i, &Place::new(label, i.referenced, "invariants")),
        None => Invariants::default(),
    };
    if doc.scenarios.value.is_empty() {
        return Err(Place::new(label, doc.scenarios.referenced, "scenarios")
            .error("the list is empty; a suite needs at least one scenario"));
    }
    let mut cases: Vec<Case> = Vec::new();
    let mut first_of: BTreeMap<String, usize> = BTreeMap::new();
    for (i, entry) in doc.scenarios.value.iter().enumerate() {
        let place = Place::new(label, entry.referenced, format!("scenarios[{i}]"));
        let case = scenario::resolve_entry(&entry.value, &place, base_dir, &invariants)?;
        if let Some(j) = first_of.insert(case.id().to_string(), i) {
            return Err(place.error(format!(
                "scenario id {:?} is also the id of scenarios[{j}]; ids name the result directories, \
                 so give the entries distinct `id`s",
                case.id()
            )));
        }
        cases.push(case);
    }
    Ok(Suite {
        id: doc.suite_id,
        version: doc.suite_version.get(),
        repeat_runs: doc.repeat_runs.get(),
        invariants,
        cases,
        file: label.to_string(),
        sha256,
        seed_stream: None,
    })
}

/// A suite after its runs, case by case in suite order.
#[derive(Debug, Clone)]
pub struct SuiteRun {
    pub candidate: Overlay,
    pub runs: Vec<CaseRun>,
}

impl SuiteRun {
    pub fn passed(&self) -> bool {
        self.runs.iter().all(CaseRun::passed)
    }

    /// Failed checks over the suite: per scenario, each failed invariant and determinism.
    pub fn failed_checks(&self) -> usize {
        self.runs.iter().map(CaseRun::failed_checks).sum()
    }
}

/// Runs every scenario of the suite against the candidate's overlay.
pub fn run(suite: &Suite, candidate: &Overlay) -> Result<SuiteRun, InputError> {
    let runs = suite
        .cases
        .iter()
        .map(|case| scenario::run_case(case, candidate, suite.repeat_runs))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(SuiteRun {
        candidate: candidate.clone(),
        runs,
    })
}

#[derive(Debug, Serialize)]
struct FileRecord<'a> {
    path: &'a str,
    sha256: &'a str,
}

/// `suite_summary.json`.
#[derive(Debug, Serialize)]
pub struct SuiteSummary<'a> {
    schema_version: u32,
    tool_version: &'static str,
    suite_id: &'a str,
    suite_version: u64,
    suite_file: FileRecord<'a>,
    repeat_runs: u64,
    /// Present only when the seeds came from the command line (absent: the files' seeds).
    #[serde(skip_serializing_if = "Option::is_none")]
    seed_stream: Option<SeedStream>,
    passed: bool,
    scenarios_total: usize,
    scenarios_passed: usize,
    /// Failed checks over all scenarios (each failed invariant, each failed determinism).
    failed_checks: usize,
    /// The `PARAPHINA_*` variables seen in the environment.
    candidate_overlay: &'a BTreeMap<String, String>,
    suite_invariants: &'a Invariants,
    scenarios: Vec<ScenarioSummary<'a>>,
}

impl<'a> SuiteSummary<'a> {
    pub fn new(suite: &'a Suite, run: &'a SuiteRun) -> SuiteSummary<'a> {
        let scenarios: Vec<ScenarioSummary> = suite
            .cases
            .iter()
            .zip(&run.runs)
            .map(|(c, r)| ScenarioSummary::new(c, r, c.id()))
            .collect();
        SuiteSummary {
            schema_version: OUTPUT_SCHEMA_VERSION,
            tool_version: TOOL_VERSION,
            suite_id: suite.id.as_str(),
            suite_version: suite.version,
            suite_file: FileRecord {
                path: &suite.file,
                sha256: &suite.sha256,
            },
            repeat_runs: suite.repeat_runs,
            seed_stream: suite.seed_stream,
            passed: run.passed(),
            scenarios_total: scenarios.len(),
            scenarios_passed: scenarios.iter().filter(|s| s.passed).count(),
            failed_checks: run.failed_checks(),
            candidate_overlay: run.candidate.raw(),
            suite_invariants: &suite.invariants,
            scenarios,
        }
    }
}

/// `suite_summary.json`'s bytes.
pub fn summary_json(suite: &Suite, run: &SuiteRun) -> String {
    to_json_pretty(&SuiteSummary::new(suite, run))
}

/// Every seed's result document, one compact JSON object per line, in the order of the
/// suite's scenarios and seeds: `{"suite_id", "file"` (the seed file's path in a suite
/// directory, as the summary's `runs[].file` names it)`, ...the seed file's fields}`.
/// The compact trial layout keeps these lines instead of one file per seed.
pub fn seed_lines(suite: &Suite, run: &SuiteRun) -> String {
    #[derive(Serialize)]
    struct Line<'a> {
        suite_id: &'a str,
        file: String,
        #[serde(flatten)]
        record: scenario::SeedRecord<'a>,
    }
    let mut lines = Vec::new();
    for (case, case_run) in suite.cases.iter().zip(&run.runs) {
        for r in &case_run.runs {
            lines.push(Line {
                suite_id: suite.id.as_str(),
                file: format!("{}/{}", case.id(), scenario::seed_file_name(r.seed)),
                record: scenario::SeedRecord {
                    schema_version: scenario::OUTPUT_SCHEMA_VERSION,
                    scenario_id: case.id(),
                    horizon_steps: case.scenario.horizon.steps,
                    result: r,
                },
            });
        }
    }
    crate::output::to_jsonl(&lines)
}

/// Writes every seed file, `suite_summary.json` and the evidence pack into `dir` (made
/// ready by [`scenario::prepare_output_dir`]). `command` goes into the manifest only.
pub fn write_outputs(
    dir: &Path,
    suite: &Suite,
    run: &SuiteRun,
    command: &str,
) -> std::io::Result<()> {
    write_outputs_with(dir, suite, run, &summary_json(suite, run), command)
}

/// [`write_outputs`] with the summary's bytes already built ([`summary_json`]).
pub fn write_outputs_with(
    dir: &Path,
    suite: &Suite,
    run: &SuiteRun,
    summary: &str,
    command: &str,
) -> std::io::Result<()> {
    for (case, case_run) in suite.cases.iter().zip(&run.runs) {
        scenario::write_seed_files(&dir.join(case.id()), case, case_run)?;
    }
    evidence::write_atomic(&dir.join(SUITE_SUMMARY_FILE), summary.as_bytes())?;
    evidence::write_pack(dir, command, TOOL_VERSION, false)?;
    Ok(())
}

/// What `sim_eval suite` prints: every failure on its own line, per scenario (and with
/// `verbose` per seed) a line, and a total.
pub fn report_lines(suite: &Suite, run: &SuiteRun, verbose: bool) -> Vec<String> {
    let mut out = Vec::new();
    for (case, r) in suite.cases.iter().zip(&run.runs) {
        if verbose {
            out.push(scenario_line(case, r));
            for s in &r.runs {
                out.push(format!(
                    "  seed {}: final pnl {:.2} USD, max drawdown {:.2} USD, {}, {} ticks, checksum {}",
                    s.seed,
                    s.final_pnl,
                    s.max_drawdown,
                    match (s.kill_reason, s.kill_tick) {
                        (Some(reason), Some(t)) => format!("killed ({reason:?} at tick {t})"),
                        _ => "not killed".to_string(),
                    },
                    s.ticks_executed,
                    s.path_checksum
                ));
            }
        }
        out.extend(r.failure_lines());
    }
    let passed = run.runs.iter().filter(|r| r.passed()).count();
    out.push(format!(
        "{} suite {} v{}: {passed} of {} scenarios passed, {} failed checks",
        if run.passed() { "PASS" } else { "FAIL" },
        suite.id,
        suite.version,
        run.runs.len(),
        run.failed_checks()
    ));
    out
}

/// One line about a scenario run: verdict, seeds, PnL, drawdown, kills.
pub fn scenario_line(case: &Case, r: &CaseRun) -> String {
    let pnl: Vec<f64> = r.runs.iter().map(|x| x.final_pnl).collect();
    let worst_pnl = pnl.iter().copied().fold(f64::INFINITY, f64::min);
    let worst_dd = r.runs.iter().map(|x| x.max_drawdown).fold(0.0, f64::max);
    format!(
        "{} {}: {} seeds x {} repeats, mean pnl {:.2} USD, worst pnl {:.2} USD, worst drawdown {:.2} USD, kills {}/{}",
        if r.passed() { "PASS" } else { "FAIL" },
        case.id(),
        r.runs.len(),
        r.determinism.repeat_runs,
        crate::stats::mean(&pnl),
        worst_pnl,
        worst_dd,
        r.runs.iter().filter(|x| x.killed).count(),
        r.runs.len()
    )
}

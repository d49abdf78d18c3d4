//! Running a scenario: every seed, `repeat_runs` times over; the repeats must agree
//! exactly (a difference is a determinism failure), then the invariants are judged.

use serde::Serialize;
use serde_json::Value;

use super::build::{Adversarial, Built, OverlayLayers, build};
use super::invariants::{Invariants, Verdict, evaluate};
use super::resolve::Scenario;
use crate::config::Overlay;
use crate::input::InputError;
use crate::mc;
use crate::sim::{Model, RunResult};
use crate::stress::CompiledStress;

/// Where a scenario came from, recorded in the outputs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Source {
    /// The scenario file as written (in a suite: relative to the suite file); None for a
    /// scenario written inline in a suite.
    pub file: Option<String>,
    /// SHA-256 of that file.
    pub sha256: Option<String>,
    /// The fields a suite entry gave besides `path`: they replace the file's.
    pub entry_fields: Vec<String>,
}

/// A scenario ready to run, with what a suite entry adds.
#[derive(Debug, Clone)]
pub struct Case {
    pub scenario: Scenario,
    pub env_overrides: Overlay,
    pub adversarial: Adversarial,
    /// The invariants that apply: the scenario's, and in a suite the suite's as well.
    pub invariants: Invariants,
    pub source: Source,
}

impl Case {
    /// A scenario file run on its own (`sim_eval run`).
    pub fn alone(scenario: Scenario, source: Source) -> Case {
        let invariants = scenario.invariants.clone();
        Case {
            scenario,
            env_overrides: Overlay::default(),
            adversarial: Adversarial::default(),
            invariants,
            source,
        }
    }

    pub fn id(&self) -> &str {
        self.scenario.id.as_str()
    }

    pub fn layers(&self, candidate: &Overlay) -> OverlayLayers {
        OverlayLayers {
            scenario: self.scenario.initial_state.overlay.clone(),
            candidate: candidate.clone(),
            env_overrides: self.env_overrides.clone(),
        }
    }
}

/// One repeat whose results differ from the first repeat's.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Mismatch {
    /// 1-based number of the repeat that differs from repeat 1.
    pub repeat: u64,
    pub seed: u64,
    /// The result fields that differ (`path_checksum` among them when the paths differ).
    pub fields: Vec<String>,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Determinism {
    pub repeat_runs: u64,
    pub passed: bool,
    pub mismatches: Vec<Mismatch>,
}

/// The fields in which two results of the same seed differ, every metric and the path
/// checksum included. Results are compared through their JSON form, which prints each
/// float exactly, so a new metric is compared without changing this function.
pub fn differing_fields(a: &RunResult, b: &RunResult) -> Vec<String> {
    let as_map = |r: &RunResult| match serde_json::to_value(r).expect("run results serialize") {
        Value::Object(m) => m,
        _ => unreachable!("a run result serializes to an object"),
    };
    let (a, b) = (as_map(a), as_map(b));
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .cloned()
        .collect()
}

/// Compares repeat number `repeat` with the first, seed by seed.
pub fn compare_repeat(
    scenario_id: &str,
    repeat: u64,
    first: &[RunResult],
    other: &[RunResult],
) -> Vec<Mismatch> {
    let mut out = Vec::new();
    for (i, a) in first.iter().enumerate() {
        let fields = match other.get(i) {
            Some(b) => differing_fields(a, b),
            None => vec!["(run missing)".to_string()],
        };
        if !fields.is_empty() {
            out.push(Mismatch {
                repeat,
                seed: a.seed,
                message: format!(
                    "FAIL {scenario_id} seed {}: determinism: repeat {repeat} differs from repeat 1 in {}",
                    a.seed,
                    fields.join(", ")
                ),
                fields,
            });
        }
    }
    for b in other.iter().skip(first.len()) {
        out.push(Mismatch {
            repeat,
            seed: b.seed,
            fields: vec!["(extra run)".to_string()],
            message: format!(
                "FAIL {scenario_id} seed {}: determinism: repeat {repeat} has a run repeat 1 lacks",
                b.seed
            ),
        });
    }
    out
}

/// A scenario after its runs.
#[derive(Debug, Clone)]
pub struct CaseRun {
    pub layers: OverlayLayers,
    pub built: Built,
    /// The first repeat's results, in seed order.
    pub runs: Vec<RunResult>,
    pub determinism: Determinism,
    pub verdicts: Vec<Verdict>,
}

impl CaseRun {
    pub fn passed(&self) -> bool {
        self.determinism.passed && self.verdicts.iter().all(|v| v.passed)
    }

    /// Checks that failed: each failed invariant, and determinism.
    pub fn failed_checks(&self) -> usize {
        self.verdicts.iter().filter(|v| !v.passed).count() + usize::from(!self.determinism.passed)
    }

    /// One line per failure: scenario, seed, invariant, observed vs limit.
    pub fn failure_lines(&self) -> Vec<String> {
        let invariant = self
            .verdicts
            .iter()
            .flat_map(|v| v.failures.iter().map(|f| f.message.clone()));
        let determinism = self
            .determinism
            .mismatches
            .iter()
            .map(|m| m.message.clone());
        invariant.chain(determinism).collect()
    }
}

/// Runs every seed of a case `repeat_runs` times (a fresh model each time, so nothing
/// carried between repeats can hide) and judges it.
pub fn run_case(case: &Case, candidate: &Overlay, repeat_runs: u64) -> Result<CaseRun, InputError> {
    let layers = case.layers(candidate);
    let built = build(&case.scenario, &case.adversarial, &layers);
    let id = case.id();
    let fail = |e: &dyn std::fmt::Display| InputError(format!("scenario {id}: {e}"));
    let seeds = case.scenario.seeds;
    let mut repeats = Vec::new();
    for _ in 0..repeat_runs.max(1) {
        let venues: Vec<String> = built
            .config
            .market
            .venues
            .iter()
            .map(|v| v.name.clone())
            .collect();
        let stress = CompiledStress::compile(&built.stress, &venues).map_err(|e| fail(&e))?;
        let model = Model::new(&built.config, stress).map_err(|e| fail(&e))?;
        repeats.push(mc::run_batch(&model, seeds.num_seeds, seeds.base_seed));
    }
    let first = repeats.remove(0);
    let mismatches: Vec<Mismatch> = repeats
        .iter()
        .enumerate()
        .flat_map(|(i, other)| compare_repeat(id, i as u64 + 2, &first, other))
        .collect();
    let determinism = Determinism {
        repeat_runs: repeat_runs.max(1),
        passed: mismatches.is_empty(),
        mismatches,
    };
    let verdicts = evaluate(
        &case.invariants,
        id,
        built.config.strategy.daily_loss_limit_usd,
        &first,
    );
    Ok(CaseRun {
        layers,
        built,
        runs: first,
        determinism,
        verdicts,
    })
}

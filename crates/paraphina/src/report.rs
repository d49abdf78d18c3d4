//! Comparing suite results: a baseline output directory of `sim_eval suite` against one or
//! more variants, matched by (scenario, seed), as Markdown and JSON, with regression gates.
//!
//! Per variant: the mean final PnL of the baseline and of the variant over the matched
//! results, the mean, worst and best delta (variant − baseline), and the same per
//! scenario. A result present on one side only is unmatched: it is listed, and the
//! comparison counts as bad input (a report over different seeds or scenarios would
//! compare luck, not configurations).
//!
//! Gates, on the mean over matched results, regression = mean baseline − mean variant:
//! - `max_regression_usd`: regression ≤ X USD;
//! - `max_regression_pct`: regression ≤ Y % of |mean baseline| (a baseline mean of 0
//!   allows no regression at all).
//!
//! A gate fails closed: a NaN PnL fails it.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::evidence;
use crate::input::{Ident, InputError};
use crate::output::TOOL_VERSION;
use crate::suite::SUITE_SUMMARY_FILE;

/// Schema version of the report JSON.
pub const REPORT_SCHEMA_VERSION: u32 = 1;

/// The final PnL of every (scenario, seed) of one suite output directory.
#[derive(Debug, Clone, PartialEq)]
pub struct SuiteResults {
    /// The directory as the user named it.
    pub dir: String,
    pub suite_id: String,
    pub suite_version: u64,
    pub pnl: BTreeMap<(String, u64), f64>,
}

#[derive(Deserialize)]
struct SummaryIn {
    suite_id: String,
    suite_version: u64,
    scenarios: Vec<ScenarioIn>,
}

#[derive(Deserialize)]
struct ScenarioIn {
    scenario_id: String,
    runs: Vec<RunIn>,
}

#[derive(Deserialize)]
struct RunIn {
    seed: u64,
    /// `null` when the run's PnL was not a finite number.
    final_pnl: Option<f64>,
}

/// Reads the results of a `sim_eval suite` output directory, after checking its
/// evidence pack: results that do not verify are not compared.
pub fn read_results(dir: &Path, label: &str) -> Result<SuiteResults, InputError> {
    evidence::check_input_dir(dir).map_err(|e| InputError(e.to_string()))?;
    let summary_path = dir.join(SUITE_SUMMARY_FILE);
    let summary_label = format!("{label}/{SUITE_SUMMARY_FILE}");
    if !summary_path.is_file() {
        return Err(InputError::file(
            &summary_label,
            "no such file; expected the output directory of `sim_eval suite`",
        ));
    }
    let pack = evidence::verify_pack(dir);
    if !pack.is_ok() {
        let first = pack
            .problems
            .first()
            .map(ToString::to_string)
            .unwrap_or_default();
        return Err(InputError::file(
            label,
            format!(
                "the evidence pack does not verify ({} problems, first: {first}); its results are not compared",
                pack.problems.len()
            ),
        ));
    }
    let bytes = std::fs::read(&summary_path)
        .map_err(|e| InputError::file(&summary_label, format!("cannot read: {e}")))?;
    let summary: SummaryIn = serde_json::from_slice(&bytes).map_err(|e| {
        InputError(format!(
            "{summary_label}:{}:{}: not a suite summary: {e}",
            e.line(),
            e.column()
        ))
    })?;
    let mut pnl = BTreeMap::new();
    for s in summary.scenarios {
        for r in s.runs {
            let key = (s.scenario_id.clone(), r.seed);
            if pnl.insert(key, r.final_pnl.unwrap_or(f64::NAN)).is_some() {
                return Err(InputError::file(
                    &summary_label,
                    format!(
                        "scenario {} seed {} appears twice; results are matched by (scenario, seed)",
                        s.scenario_id, r.seed
                    ),
                ));
            }
        }
    }
    Ok(SuiteResults {
        dir: label.to_string(),
        suite_id: summary.suite_id,
        suite_version: summary.suite_version,
        pnl,
    })
}

/// Parses a `--variant NAME=DIR` argument.
pub fn parse_variant(arg: &str) -> Result<(Ident, PathBuf), InputError> {
    let (name, dir) = arg.split_once('=').ok_or_else(|| {
        InputError(format!(
            "--variant {arg:?}: expected NAME=DIR (e.g. tuned=runs/tuned/suite)"
        ))
    })?;
    let name = Ident::parse(name).ok_or_else(|| {
        InputError(format!(
            "--variant {arg:?}: name {name:?} not accepted; expected {}",
            Ident::EXPECTED
        ))
    })?;
    if dir.is_empty() {
        return Err(InputError(format!(
            "--variant {arg:?}: the directory is empty; expected NAME=DIR"
        )));
    }
    Ok((name, PathBuf::from(dir)))
}

/// Regression gates; None = not enforced.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Gates {
    pub max_regression_usd: Option<f64>,
    pub max_regression_pct: Option<f64>,
}

impl Gates {
    /// Checks the limits given on the command line: finite and not negative.
    pub fn new(
        max_regression_usd: Option<f64>,
        max_regression_pct: Option<f64>,
    ) -> Result<Gates, InputError> {
        for (flag, v) in [
            ("--gate-max-regression-usd", max_regression_usd),
            ("--gate-max-regression-pct", max_regression_pct),
        ] {
            if let Some(x) = v
                && !(x.is_finite() && x >= 0.0)
            {
                return Err(InputError(format!(
                    "{flag} {x}: not accepted; expected a finite number >= 0"
                )));
            }
        }
        Ok(Gates {
            max_regression_usd,
            max_regression_pct,
        })
    }
}

/// Deltas over a set of matched results (delta = variant − baseline).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Deltas {
    pub matched: usize,
    pub mean_baseline_pnl: f64,
    pub mean_variant_pnl: f64,
    pub mean_delta: f64,
    pub worst_delta: f64,
    pub best_delta: f64,
}

impl Deltas {
    fn of(pairs: &[(f64, f64)]) -> Deltas {
        let n = pairs.len();
        let mean = |f: &dyn Fn(&(f64, f64)) -> f64| pairs.iter().map(f).sum::<f64>() / n as f64;
        let deltas: Vec<f64> = pairs.iter().map(|(b, v)| v - b).collect();
        let fold = |f: fn(f64, f64) -> f64, init: f64| {
            deltas.iter().fold(init, |a, &d| {
                if a.is_nan() || d.is_nan() {
                    f64::NAN
                } else {
                    f(a, d)
                }
            })
        };
        Deltas {
            matched: n,
            mean_baseline_pnl: mean(&|p| p.0),
            mean_variant_pnl: mean(&|p| p.1),
            mean_delta: mean(&|p| p.1 - p.0),
            worst_delta: fold(f64::min, f64::INFINITY),
            best_delta: fold(f64::max, f64::NEG_INFINITY),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScenarioDeltas {
    pub scenario: String,
    #[serde(flatten)]
    pub deltas: Deltas,
}

/// A result of one side that the other lacks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unmatched {
    pub scenario: String,
    pub seed: u64,
    /// `baseline` or `variant`: the side that has it.
    pub only_in: &'static str,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GateResult {
    pub gate: &'static str,
    pub limit: f64,
    /// The regression observed (USD or %).
    pub observed: f64,
    pub passed: bool,
    pub message: String,
}

/// One variant against the baseline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VariantReport {
    pub name: String,
    pub dir: String,
    pub suite_id: String,
    pub suite_version: u64,
    #[serde(flatten)]
    pub overall: Deltas,
    /// Where the worst delta happened.
    pub worst_at: Option<(String, u64)>,
    pub scenarios: Vec<ScenarioDeltas>,
    pub gates: Vec<GateResult>,
    pub unmatched: Vec<Unmatched>,
}

impl VariantReport {
    pub fn gates_passed(&self) -> bool {
        self.gates.iter().all(|g| g.passed)
    }
}

/// The whole report (the JSON output).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub schema_version: u32,
    pub tool_version: &'static str,
    pub baseline: BaselineRef,
    pub gates: Gates,
    pub variants: Vec<VariantReport>,
    /// Every gate of every variant passed and every result matched.
    pub passed: bool,
    pub unmatched_total: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BaselineRef {
    pub dir: String,
    pub suite_id: String,
    pub suite_version: u64,
    pub results: usize,
}

impl Report {
    /// Lines naming each failed gate and its variant.
    pub fn gate_failures(&self) -> Vec<String> {
        self.variants
            .iter()
            .flat_map(|v| {
                v.gates
                    .iter()
                    .filter(|g| !g.passed)
                    .map(|g| g.message.clone())
            })
            .collect()
    }

    /// Lines naming each unmatched result.
    pub fn unmatched_lines(&self) -> Vec<String> {
        self.variants
            .iter()
            .flat_map(|v| {
                v.unmatched.iter().map(move |u| {
                    format!(
                        "unmatched: variant {}: scenario {} seed {} is only in the {}",
                        v.name, u.scenario, u.seed, u.only_in
                    )
                })
            })
            .collect()
    }
}

fn compare_one(
    name: &str,
    baseline: &SuiteResults,
    variant: &SuiteResults,
    gates: &Gates,
) -> VariantReport {
    let mut unmatched = Vec::new();
    let mut by_scenario: BTreeMap<&str, Vec<(f64, f64)>> = BTreeMap::new();
    let mut all = Vec::new();
    let mut worst_at: Option<((String, u64), f64)> = None;
    for ((scenario, seed), &b) in &baseline.pnl {
        match variant.pnl.get(&(scenario.clone(), *seed)) {
            Some(&v) => {
                by_scenario.entry(scenario).or_default().push((b, v));
                all.push((b, v));
                let d = v - b;
                if worst_at.as_ref().is_none_or(|(_, w)| d < *w || d.is_nan()) {
                    worst_at = Some(((scenario.clone(), *seed), d));
                }
            }
            None => unmatched.push(Unmatched {
                scenario: scenario.clone(),
                seed: *seed,
                only_in: "baseline",
            }),
        }
    }
    for (scenario, seed) in variant.pnl.keys() {
        if !baseline.pnl.contains_key(&(scenario.clone(), *seed)) {
            unmatched.push(Unmatched {
                scenario: scenario.clone(),
                seed: *seed,
                only_in: "variant",
            });
        }
    }
    let overall = Deltas::of(&all);
    let regression = overall.mean_baseline_pnl - overall.mean_variant_pnl;
    let mut results = Vec::new();
    if let Some(limit) = gates.max_regression_usd {
        let passed = regression <= limit;
        results.push(GateResult {
            gate: "max_regression_usd",
            limit,
            observed: regression,
            passed,
            message: format!(
                "{} gate max_regression_usd, variant {name}: mean pnl regression {regression:.2} USD \
                 (baseline {:.2}, variant {:.2}) vs limit {limit:.2} USD",
                if passed { "PASS" } else { "FAIL" },
                overall.mean_baseline_pnl,
                overall.mean_variant_pnl
            ),
        });
    }
    if let Some(limit) = gates.max_regression_pct {
        let base = overall.mean_baseline_pnl.abs();
        let pct = if base > 0.0 {
            100.0 * regression / base
        } else if regression > 0.0 {
            f64::INFINITY
        } else if regression.is_nan() {
            f64::NAN
        } else {
            0.0
        };
        let passed = pct <= limit;
        results.push(GateResult {
            gate: "max_regression_pct",
            limit,
            observed: pct,
            passed,
            message: format!(
                "{} gate max_regression_pct, variant {name}: mean pnl regression {pct:.2} % of |baseline mean| \
                 (baseline {:.2}, variant {:.2}) vs limit {limit:.2} %",
                if passed { "PASS" } else { "FAIL" },
                overall.mean_baseline_pnl,
                overall.mean_variant_pnl
            ),
        });
    }
    VariantReport {
        name: name.to_string(),
        dir: variant.dir.clone(),
        suite_id: variant.suite_id.clone(),
        suite_version: variant.suite_version,
        overall,
        worst_at: worst_at.map(|w| w.0),
        scenarios: by_scenario
            .into_iter()
            .map(|(s, pairs)| ScenarioDeltas {
                scenario: s.to_string(),
                deltas: Deltas::of(&pairs),
            })
            .collect(),
        gates: results,
        unmatched,
    }
}

/// Compares every variant with the baseline.
pub fn compare(
    baseline: &SuiteResults,
    variants: &[(String, SuiteResults)],
    gates: &Gates,
) -> Report {
    let variants: Vec<VariantReport> = variants
        .iter()
        .map(|(name, v)| compare_one(name, baseline, v, gates))
        .collect();
    let unmatched_total = variants.iter().map(|v| v.unmatched.len()).sum();
    Report {
        schema_version: REPORT_SCHEMA_VERSION,
        tool_version: TOOL_VERSION,
        baseline: BaselineRef {
            dir: baseline.dir.clone(),
            suite_id: baseline.suite_id.clone(),
            suite_version: baseline.suite_version,
            results: baseline.pnl.len(),
        },
        gates: *gates,
        passed: unmatched_total == 0 && variants.iter().all(VariantReport::gates_passed),
        variants,
        unmatched_total,
    }
}

fn md_deltas_row(label: &str, d: &Deltas) -> String {
    format!(
        "| {label} | {} | {:.2} | {:.2} | {:+.2} | {:+.2} | {:+.2} |\n",
        d.matched,
        d.mean_baseline_pnl,
        d.mean_variant_pnl,
        d.mean_delta,
        d.worst_delta,
        d.best_delta
    )
}

/// The report as Markdown.
pub fn to_markdown(r: &Report) -> String {
    let mut md = String::new();
    let _ = writeln!(
        md,
        "# Suite comparison: {} v{}\n",
        r.baseline.suite_id, r.baseline.suite_version
    );
    let _ = writeln!(
        md,
        "Baseline: `{}` ({} results). Deltas are variant − baseline final PnL, USD, matched by (scenario, seed).\n",
        r.baseline.dir, r.baseline.results
    );
    let gates: Vec<String> = [
        r.gates
            .max_regression_usd
            .map(|x| format!("mean PnL regression ≤ {x:.2} USD")),
        r.gates
            .max_regression_pct
            .map(|x| format!("mean PnL regression ≤ {x:.2} % of |baseline mean|")),
    ]
    .into_iter()
    .flatten()
    .collect();
    let _ = writeln!(
        md,
        "Gates: {}.\n",
        if gates.is_empty() {
            "none".to_string()
        } else {
            gates.join("; ")
        }
    );
    let _ = writeln!(
        md,
        "Result: **{}**\n",
        if r.passed { "PASS" } else { "FAIL" }
    );
    let header = "| | matched | mean baseline pnl | mean variant pnl | mean delta | worst delta | best delta |\n\
                  | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n";
    for v in &r.variants {
        let _ = writeln!(md, "## Variant `{}`\n", v.name);
        let _ = writeln!(
            md,
            "Directory `{}` (suite {} v{}).\n",
            v.dir, v.suite_id, v.suite_version
        );
        md.push_str(header);
        md.push_str(&md_deltas_row("all", &v.overall));
        if let Some((s, seed)) = &v.worst_at {
            let _ = writeln!(md, "\nWorst delta at scenario `{s}` seed {seed}.");
        }
        md.push_str("\n| scenario | matched | mean baseline pnl | mean variant pnl | mean delta | worst delta | best delta |\n\
                     | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n");
        for s in &v.scenarios {
            md.push_str(&md_deltas_row(&format!("`{}`", s.scenario), &s.deltas));
        }
        if !v.gates.is_empty() {
            md.push_str("\nGates:\n\n");
            for g in &v.gates {
                let _ = writeln!(md, "- {}", g.message);
            }
        }
        if !v.unmatched.is_empty() {
            md.push_str("\nUnmatched results (not compared):\n\n");
            for u in &v.unmatched {
                let _ = writeln!(
                    md,
                    "- scenario `{}` seed {}: only in the {}",
                    u.scenario, u.seed, u.only_in
                );
            }
        }
        md.push('\n');
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    fn results(dir: &str, pairs: &[(&str, u64, f64)]) -> SuiteResults {
        SuiteResults {
            dir: dir.into(),
            suite_id: "s".into(),
            suite_version: 1,
            pnl: pairs
                .iter()
                .map(|(s, seed, p)| ((s.to_string(), *seed), *p))
                .collect(),
        }
    }

    #[test]
    fn deltas_are_matched_by_scenario_and_seed() {
        let base = results("b", &[("a", 1, 100.0), ("a", 2, 50.0), ("b", 1, -10.0)]);
        // Listed in another order and with a different seed set on scenario b.
        let var = results("v", &[("b", 1, 20.0), ("a", 2, 40.0), ("a", 1, 130.0)]);
        let r = compare(&base, &[("v".into(), var)], &Gates::default());
        let v = &r.variants[0];
        assert_eq!(v.overall.matched, 3);
        assert_eq!(v.overall.mean_delta, (30.0 - 10.0 + 30.0) / 3.0);
        assert_eq!((v.overall.worst_delta, v.overall.best_delta), (-10.0, 30.0));
        assert_eq!(v.worst_at, Some(("a".to_string(), 2)));
        assert_eq!(v.scenarios.len(), 2);
        assert_eq!(v.scenarios[0].deltas.mean_delta, 10.0);
        assert_eq!(v.scenarios[1].deltas.mean_baseline_pnl, -10.0);
        assert!(r.passed && v.unmatched.is_empty());
    }

    #[test]
    fn unmatched_results_are_listed_on_both_sides() {
        let base = results("b", &[("a", 1, 1.0), ("a", 2, 1.0)]);
        let var = results("v", &[("a", 1, 1.0), ("c", 9, 1.0)]);
        let r = compare(&base, &[("v".into(), var)], &Gates::default());
        assert_eq!(
            r.variants[0].unmatched,
            [
                Unmatched {
                    scenario: "a".into(),
                    seed: 2,
                    only_in: "baseline"
                },
                Unmatched {
                    scenario: "c".into(),
                    seed: 9,
                    only_in: "variant"
                }
            ]
        );
        assert!(!r.passed);
        assert_eq!(
            r.unmatched_lines()[0],
            "unmatched: variant v: scenario a seed 2 is only in the baseline"
        );
    }

    #[test]
    fn gates_fail_on_regression_beyond_their_limits_and_name_the_variant() {
        let base = results("b", &[("a", 1, 100.0)]);
        let ok = results("ok", &[("a", 1, 95.0)]);
        let bad = results("bad", &[("a", 1, 70.0)]);
        let gates = Gates::new(Some(10.0), Some(20.0)).unwrap();
        let r = compare(&base, &[("ok".into(), ok), ("bad".into(), bad)], &gates);
        assert!(r.variants[0].gates_passed());
        assert!(!r.variants[1].gates_passed());
        let failures = r.gate_failures();
        assert_eq!(failures.len(), 2);
        assert!(failures[0].starts_with(
            "FAIL gate max_regression_usd, variant bad: mean pnl regression 30.00 USD"
        ));
        assert!(
            failures[1].starts_with(
                "FAIL gate max_regression_pct, variant bad: mean pnl regression 30.00 %"
            )
        );
        assert!(!r.passed);
    }

    #[test]
    fn a_zero_baseline_allows_no_percentage_regression_and_nan_fails_closed() {
        let gates = Gates::new(None, Some(50.0)).unwrap();
        let r = compare(
            &results("b", &[("a", 1, 0.0)]),
            &[("v".into(), results("v", &[("a", 1, -1.0)]))],
            &gates,
        );
        assert!(!r.passed);
        let r = compare(
            &results("b", &[("a", 1, 0.0)]),
            &[("v".into(), results("v", &[("a", 1, 1.0)]))],
            &gates,
        );
        assert!(r.passed);
        let r = compare(
            &results("b", &[("a", 1, 5.0)]),
            &[("v".into(), results("v", &[("a", 1, f64::NAN)]))],
            &gates,
        );
        assert!(!r.passed);
        assert!(Gates::new(Some(-1.0), None).is_err() && Gates::new(None, Some(f64::NAN)).is_err());
    }

    #[test]
    fn variant_arguments_need_a_name_and_a_directory() {
        assert_eq!(parse_variant("tuned=out/x").unwrap().0.as_str(), "tuned");
        for bad in ["tuned", "=dir", "a b=dir", "name="] {
            assert!(parse_variant(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn markdown_has_a_table_per_variant_and_lists_unmatched() {
        let base = results("b", &[("a", 1, 10.0), ("a", 2, 10.0)]);
        let var = results("v", &[("a", 1, 12.0)]);
        let md = to_markdown(&compare(&base, &[("v".into(), var)], &Gates::default()));
        assert!(md.contains("## Variant `v`"));
        assert!(
            md.contains("| all | 1 | 10.00 | 12.00 | +2.00 | +2.00 | +2.00 |"),
            "{md}"
        );
        assert!(md.contains("- scenario `a` seed 2: only in the baseline"));
    }
}

//! Measures how the shipped suites split the search space: samples configurations
//! uniformly from `configs/search_space.yaml` (as the study's first generation does), runs
//! each suite against every one, and prints pass rates per suite, scenario and invariant,
//! the spread of each scenario's worst values (to choose invariant limits), and the
//! verdicts of a few named configurations.
//!
//! `cargo run --release -p paraphina --example suite_pass_rates -- [SAMPLES] [SEED] [SUITE...]`
//! (from the repository root; default 1000 samples, seed 7, the two shipped suites). The
//! pass rates recorded at the top of each suite file come from this program.

use std::collections::BTreeMap;
use std::path::Path;

use paraphina::config::Overlay;
use paraphina::scenario::CaseRun;
use paraphina::suite::{self, Suite};
use paraphina::{input, stats};
use rand::{RngExt, SeedableRng};
use rand_pcg::Pcg64Mcg;
use serde::Deserialize;

const SUITES: [&str; 2] = [
    "scenarios/suites/research_v1.yaml",
    "scenarios/suites/adversarial_regression_v1.yaml",
];

#[derive(Deserialize)]
struct SearchSpace {
    #[allow(dead_code)]
    version: u32,
    knobs: BTreeMap<String, KnobSpace>,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum KnobSpace {
    Float { low: f64, high: f64 },
    Categorical { choices: Vec<String> },
}

fn sample(space: &SearchSpace, rng: &mut Pcg64Mcg) -> Vec<(String, String)> {
    space
        .knobs
        .iter()
        .map(|(name, k)| {
            let v = match k {
                KnobSpace::Float { low, high } => {
                    format!("{}", low + (high - low) * rng.random::<f64>())
                }
                KnobSpace::Categorical { choices } => {
                    choices[rng.random_range(0..choices.len())].clone()
                }
            };
            (name.clone(), v)
        })
        .collect()
}

/// Worst values of a scenario run over its seeds.
struct Worst {
    min_pnl: f64,
    max_dd: f64,
    kills: usize,
    overshoot: f64,
}

fn worst(r: &CaseRun) -> Worst {
    let limit = r.built.config.strategy.daily_loss_limit_usd;
    let min_pnl = r
        .runs
        .iter()
        .map(|x| x.final_pnl)
        .fold(f64::INFINITY, f64::min);
    Worst {
        min_pnl,
        max_dd: r.runs.iter().map(|x| x.max_drawdown).fold(0.0, f64::max),
        kills: r.runs.iter().filter(|x| x.killed).count(),
        overshoot: -min_pnl / limit - 1.0,
    }
}

fn pct(xs: &[f64]) -> String {
    let s = stats::sorted(xs);
    let q = |p| stats::quantile_sorted(&s, p);
    format!(
        "p10 {:8.1} p25 {:8.1} p50 {:8.1} p75 {:8.1} p90 {:8.1}",
        q(0.10),
        q(0.25),
        q(0.50),
        q(0.75),
        q(0.90)
    )
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let samples: usize = args
        .get(1)
        .map_or(1000, |s| s.parse().expect("SAMPLES: a whole number"));
    let seed: u64 = args
        .get(2)
        .map_or(7, |s| s.parse().expect("SEED: a whole number"));
    let (space, _): (SearchSpace, String) = input::read_yaml(
        Path::new("configs/search_space.yaml"),
        "configs/search_space.yaml",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let paths: Vec<String> = if args.len() > 3 {
        args[3..].to_vec()
    } else {
        SUITES.iter().map(|s| s.to_string()).collect()
    };
    let suites: Vec<Suite> = paths
        .iter()
        .map(|p| suite::load(Path::new(p), p).unwrap_or_else(|e| panic!("{e}")))
        .collect();

    let mut rng = Pcg64Mcg::seed_from_u64(seed);
    let configs: Vec<Vec<(String, String)>> =
        (0..samples).map(|_| sample(&space, &mut rng)).collect();
    println!(
        "{samples} configurations sampled uniformly from configs/search_space.yaml (seed {seed})\n"
    );

    let started = std::time::Instant::now();
    let mut all_pass = vec![true; samples];
    for s in &suites {
        let mut passed = 0usize;
        let mut by_profile: BTreeMap<String, (usize, usize)> = BTreeMap::new();
        // Per numeric knob: (passes, count) in the lower and upper third of its range, for
        // the suite and for each scenario.
        let mut by_knob: BTreeMap<String, [(usize, usize); 2]> = BTreeMap::new();
        let mut by_knob_scenario: BTreeMap<(usize, String), [(usize, usize); 2]> = BTreeMap::new();
        let mut scenario_pass: Vec<usize> = vec![0; s.cases.len()];
        let mut invariant_fail: BTreeMap<(usize, &str), usize> = BTreeMap::new();
        let mut worsts: Vec<Vec<Worst>> = (0..s.cases.len()).map(|_| Vec::new()).collect();
        for (c, cfg) in configs.iter().enumerate() {
            let overlay =
                Overlay::from_pairs(cfg.iter().map(|(k, v)| (k.as_str(), v.as_str()))).unwrap();
            let run = suite::run(s, &overlay).unwrap();
            let ok = run.passed();
            passed += usize::from(ok);
            all_pass[c] &= ok;
            let profile = overlay
                .profile()
                .map_or("balanced", |p| p.name())
                .to_string();
            let e = by_profile.entry(profile).or_default();
            e.0 += usize::from(ok);
            e.1 += 1;
            for (name, value) in cfg {
                if let (Some(KnobSpace::Float { low, high }), Ok(v)) =
                    (space.knobs.get(name), value.parse::<f64>())
                {
                    // A signed knob (inventory) is judged by its size.
                    let pos = if *low < 0.0 && *high > 0.0 {
                        v.abs() / low.abs().max(*high)
                    } else {
                        (v - low) / (high - low)
                    };
                    let slot = if pos < 1.0 / 3.0 {
                        Some(0)
                    } else if pos > 2.0 / 3.0 {
                        Some(1)
                    } else {
                        None
                    };
                    if let Some(slot) = slot {
                        let e = &mut by_knob.entry(name.clone()).or_default()[slot];
                        e.0 += usize::from(ok);
                        e.1 += 1;
                        for (i, r) in run.runs.iter().enumerate() {
                            let e =
                                &mut by_knob_scenario.entry((i, name.clone())).or_default()[slot];
                            e.0 += usize::from(r.passed());
                            e.1 += 1;
                        }
                    }
                }
            }
            for (i, r) in run.runs.iter().enumerate() {
                scenario_pass[i] += usize::from(r.passed());
                for v in r.verdicts.iter().filter(|v| !v.passed) {
                    *invariant_fail.entry((i, v.invariant)).or_default() += 1;
                }
                worsts[i].push(worst(r));
            }
        }
        let rate = |k: usize, n: usize| 100.0 * k as f64 / n as f64;
        println!(
            "== {} : {:.1} % pass ({passed} of {samples})",
            s.id,
            rate(passed, samples)
        );
        for (p, (k, n)) in &by_profile {
            println!("   profile {p:12} {:5.1} % pass ({k} of {n})", rate(*k, *n));
        }
        for (name, [lo, hi]) in &by_knob {
            println!(
                "   {name:28} lower third {:5.1} % pass, upper third {:5.1} % pass",
                rate(lo.0, lo.1.max(1)),
                rate(hi.0, hi.1.max(1))
            );
        }
        for (i, case) in s.cases.iter().enumerate() {
            println!(
                "   scenario {:24} {:5.1} % pass",
                case.id(),
                rate(scenario_pass[i], samples)
            );
            for ((j, name), n) in &invariant_fail {
                if *j == i {
                    println!("      fails {name:20} {:5.1} %", rate(*n, samples));
                }
            }
            let splits: Vec<String> = by_knob_scenario
                .iter()
                .filter(|((j, _), _)| *j == i)
                .map(|((_, name), [lo, hi])| {
                    let short = name.trim_start_matches("PARAPHINA_").to_ascii_lowercase();
                    format!(
                        "{short} {:.0}/{:.0}",
                        rate(lo.0, lo.1.max(1)),
                        rate(hi.0, hi.1.max(1))
                    )
                })
                .collect();
            println!("      pass % low/high third: {}", splits.join(", "));
            let w = &worsts[i];
            let col = |f: fn(&Worst) -> f64| w.iter().map(f).collect::<Vec<f64>>();
            println!("      worst pnl      {}", pct(&col(|w| w.min_pnl)));
            println!("      worst drawdown {}", pct(&col(|w| w.max_dd)));
            println!("      overshoot      {}", pct(&col(|w| w.overshoot)));
            println!("      kills/seeds    {}", pct(&col(|w| w.kills as f64)));
        }
        println!();
    }
    let joint = all_pass.iter().filter(|p| **p).count();
    println!(
        "== every suite: {:.1} % pass ({joint} of {samples})",
        100.0 * joint as f64 / samples as f64
    );
    println!(
        "({} suite runs in {:.2} s)\n",
        samples * suites.len(),
        started.elapsed().as_secs_f64()
    );

    let named: [(&str, &[(&str, &str)]); 6] = [
        ("profile defaults", &[]),
        (
            "prudent conservative",
            &[
                ("PARAPHINA_RISK_PROFILE", "conservative"),
                ("PARAPHINA_MM_SIZE_ETA", "0.5"),
                ("PARAPHINA_HEDGE_BAND_BASE", "0.02"),
                ("PARAPHINA_DAILY_LOSS_LIMIT", "750"),
                ("PARAPHINA_INIT_Q_TAO", "0"),
                ("PARAPHINA_HEDGE_MAX_STEP", "10"),
                ("PARAPHINA_VOL_REF", "0.08"),
            ],
        ),
        (
            "prudent balanced",
            &[
                ("PARAPHINA_RISK_PROFILE", "balanced"),
                ("PARAPHINA_MM_SIZE_ETA", "0.7"),
                ("PARAPHINA_HEDGE_BAND_BASE", "0.03"),
                ("PARAPHINA_DAILY_LOSS_LIMIT", "1000"),
                ("PARAPHINA_INIT_Q_TAO", "5"),
                ("PARAPHINA_HEDGE_MAX_STEP", "12"),
                ("PARAPHINA_VOL_REF", "0.1"),
            ],
        ),
        (
            "reckless",
            &[
                ("PARAPHINA_RISK_PROFILE", "aggressive"),
                ("PARAPHINA_MM_SIZE_ETA", "2.0"),
                ("PARAPHINA_HEDGE_BAND_BASE", "0.15"),
                ("PARAPHINA_DAILY_LOSS_LIMIT", "3000"),
                ("PARAPHINA_INIT_Q_TAO", "30"),
                ("PARAPHINA_HEDGE_MAX_STEP", "5"),
                ("PARAPHINA_VOL_REF", "0.15"),
            ],
        ),
        (
            "reckless, short",
            &[
                ("PARAPHINA_RISK_PROFILE", "aggressive"),
                ("PARAPHINA_MM_SIZE_ETA", "2.0"),
                ("PARAPHINA_HEDGE_BAND_BASE", "0.15"),
                ("PARAPHINA_DAILY_LOSS_LIMIT", "3000"),
                ("PARAPHINA_INIT_Q_TAO", "-30"),
                ("PARAPHINA_HEDGE_MAX_STEP", "20"),
                ("PARAPHINA_VOL_REF", "0.05"),
            ],
        ),
        (
            "aggressive, size 2, wide band",
            &[
                ("PARAPHINA_RISK_PROFILE", "aggressive"),
                ("PARAPHINA_MM_SIZE_ETA", "2.0"),
                ("PARAPHINA_HEDGE_BAND_BASE", "0.15"),
            ],
        ),
    ];
    for (name, pairs) in named {
        let overlay = Overlay::from_pairs(pairs.iter().copied()).unwrap();
        let verdicts: Vec<String> = suites
            .iter()
            .map(|s| {
                let run = suite::run(s, &overlay).unwrap();
                let failed: Vec<&str> = s
                    .cases
                    .iter()
                    .zip(&run.runs)
                    .filter(|(_, r)| !r.passed())
                    .map(|(c, _)| c.id())
                    .collect();
                format!(
                    "{} {}",
                    s.id,
                    if failed.is_empty() {
                        "PASS".to_string()
                    } else {
                        format!("FAIL ({})", failed.join(", "))
                    }
                )
            })
            .collect();
        println!("{name:32} {}", verdicts.join("; "));
    }
}

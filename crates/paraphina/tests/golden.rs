//! Golden outputs: `monte_carlo` and `sim_eval` write, byte for byte, what the commit named
//! in `tests/golden/README.md` wrote for the same commands. A refactoring that changes one
//! bit of one number anywhere (a run's metrics, a summary, a seed file, the evidence
//! pack's hashes) fails here and names the file and the first line that differs.
//!
//! Every data file is compared, and the file sets must agree; only
//! `evidence_pack/manifest.json` is left out, as it records the time and the exact command
//! line. `sim_eval`'s standard output (its verdict lines) is compared too, as `_stdout.txt`.
//!
//! A change that is meant to alter the outputs regenerates them with
//! `GOLDEN_UPDATE=1 cargo test --release --test golden` and says why in the commit and in
//! the README.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;

/// Stands for the output directory in a case's arguments.
const OUT: &str = "{out}";
const STDOUT_FILE: &str = "_stdout.txt";

struct Case {
    /// Directory under `tests/golden/`.
    name: &'static str,
    bin: &'static str,
    /// Run from the repository root, so the paths written into the outputs are the
    /// relative ones given here.
    args: &'static [&'static str],
    env: &'static [(&'static str, &'static str)],
    /// The exit status the command had when the goldens were made.
    status: i32,
}

const MC_ARGS: &[&str] = &[
    "--runs",
    "40",
    "--ticks",
    "200",
    "--seed",
    "42",
    "--output-dir",
    OUT,
];

/// The candidate of the `sim_eval suite` cases: off the defaults in every direction the
/// suites probe, so the stress paths (outages, wide spreads, kills) all do some work.
const SUITE_ENV: &[(&str, &str)] = &[
    ("PARAPHINA_RISK_PROFILE", "aggressive"),
    ("PARAPHINA_MM_SIZE_ETA", "1.4"),
    ("PARAPHINA_HEDGE_BAND_BASE", "0.1"),
    ("PARAPHINA_DAILY_LOSS_LIMIT", "300"),
];

const CASES: &[Case] = &[
    Case {
        name: "mc_default",
        bin: "monte_carlo",
        args: MC_ARGS,
        env: &[],
        status: 0,
    },
    Case {
        name: "mc_aggressive",
        bin: "monte_carlo",
        args: MC_ARGS,
        env: &[
            ("PARAPHINA_RISK_PROFILE", "aggressive"),
            ("PARAPHINA_MM_SIZE_ETA", "1.8"),
            ("PARAPHINA_INIT_Q_TAO", "20"),
        ],
        status: 0,
    },
    Case {
        // A loss limit tight enough that runs are killed and flattened.
        name: "mc_conservative_kills",
        bin: "monte_carlo",
        args: MC_ARGS,
        env: &[
            ("PARAPHINA_RISK_PROFILE", "conservative"),
            ("PARAPHINA_DAILY_LOSS_LIMIT", "40"),
        ],
        status: 0,
    },
    Case {
        name: "suite_research_v1",
        bin: "sim_eval",
        args: &[
            "suite",
            "scenarios/suites/research_v1.yaml",
            "--verbose",
            "--output-dir",
            OUT,
        ],
        env: SUITE_ENV,
        status: 1,
    },
    Case {
        name: "suite_adversarial_regression_v1",
        bin: "sim_eval",
        args: &[
            "suite",
            "scenarios/suites/adversarial_regression_v1.yaml",
            "--verbose",
            "--output-dir",
            OUT,
        ],
        env: SUITE_ENV,
        status: 1,
    },
    Case {
        name: "run_venue_outage",
        bin: "sim_eval",
        args: &["run", "scenarios/v1/venue_outage.yaml", "--output-dir", OUT],
        env: &[],
        status: 0,
    },
];

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn golden_dir(case: &Case) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(case.name)
}

fn bin_path(bin: &str) -> &'static str {
    match bin {
        "monte_carlo" => env!("CARGO_BIN_EXE_monte_carlo"),
        "sim_eval" => env!("CARGO_BIN_EXE_sim_eval"),
        other => panic!("no binary {other}"),
    }
}

/// Every file below `dir` (relative path → bytes), the manifest left out.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let rel = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                if rel != "evidence_pack/manifest.json" {
                    out.insert(rel, fs::read(&path).unwrap());
                }
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// Runs a case in a fresh temporary directory; returns its files and standard output.
fn produce(case: &Case) -> (TempDir, BTreeMap<String, Vec<u8>>) {
    let tmp = TempDir::new().unwrap();
    let out = tmp.path().join("out");
    let args: Vec<String> = case
        .args
        .iter()
        .map(|a| {
            if *a == OUT {
                out.display().to_string()
            } else {
                a.to_string()
            }
        })
        .collect();
    let mut cmd = Command::new(bin_path(case.bin));
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("PARAPHINA_") {
            cmd.env_remove(k);
        }
    }
    let o = cmd
        .current_dir(repo())
        .args(&args)
        .envs(case.env.iter().copied())
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(case.status),
        "{}: {} {}\nstderr: {}",
        case.name,
        case.bin,
        args.join(" "),
        String::from_utf8_lossy(&o.stderr)
    );
    let mut produced = files(&out);
    if case.bin == "sim_eval" {
        produced.insert(STDOUT_FILE.to_string(), o.stdout);
    }
    (tmp, produced)
}

/// Where two byte strings first differ, as `line N` with both lines.
fn first_difference(a: &[u8], b: &[u8]) -> String {
    let (a, b) = (String::from_utf8_lossy(a), String::from_utf8_lossy(b));
    let (mut la, mut lb) = (a.lines(), b.lines());
    let mut n = 1;
    loop {
        match (la.next(), lb.next()) {
            (Some(x), Some(y)) if x == y => n += 1,
            (x, y) => {
                return format!(
                    "line {n}:\n  golden:   {}\n  produced: {}",
                    x.unwrap_or("(end of file)"),
                    y.unwrap_or("(end of file)")
                );
            }
        }
    }
}

fn check(name: &str) {
    let case = CASES
        .iter()
        .find(|c| c.name == name)
        .expect("a golden case of that name");
    let (_tmp, produced) = produce(case);
    let dir = golden_dir(case);
    if std::env::var_os("GOLDEN_UPDATE").is_some() {
        let _ = fs::remove_dir_all(&dir);
        for (rel, bytes) in &produced {
            let path = dir.join(rel);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, bytes).unwrap();
        }
        return;
    }
    assert!(
        dir.is_dir(),
        "{}: no golden outputs in {}",
        name,
        dir.display()
    );
    let golden = files(&dir);
    let names = |m: &BTreeMap<String, Vec<u8>>| m.keys().cloned().collect::<Vec<_>>();
    assert_eq!(
        names(&produced),
        names(&golden),
        "{name}: the set of files differs"
    );
    for (rel, want) in &golden {
        let got = &produced[rel];
        assert!(
            got == want,
            "{name}: {rel} differs from the golden file at {}",
            first_difference(want, got)
        );
    }
}

#[test]
fn monte_carlo_default_outputs_are_unchanged() {
    check("mc_default");
}

#[test]
fn monte_carlo_aggressive_overlay_outputs_are_unchanged() {
    check("mc_aggressive");
}

#[test]
fn monte_carlo_outputs_with_kills_are_unchanged() {
    check("mc_conservative_kills");
}

#[test]
fn sim_eval_research_suite_outputs_are_unchanged() {
    check("suite_research_v1");
}

#[test]
fn sim_eval_adversarial_suite_outputs_are_unchanged() {
    check("suite_adversarial_regression_v1");
}

#[test]
fn sim_eval_run_outputs_are_unchanged() {
    check("run_venue_outage");
}

#[test]
fn every_case_has_a_test() {
    let src = include_str!("golden.rs");
    for c in CASES {
        assert!(
            src.contains(&format!("check(\"{}\")", c.name)),
            "{} has no #[test]",
            c.name
        );
    }
}

//! The `sim_eval run`, `suite` and `report` commands as a user (or the tuner) runs them:
//! exit statuses, the lines printed, the files written, and bad input named with file and
//! line.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tempfile::TempDir;

const KNOBS: [&str; 7] = [
    "PARAPHINA_RISK_PROFILE",
    "PARAPHINA_HEDGE_BAND_BASE",
    "PARAPHINA_MM_SIZE_ETA",
    "PARAPHINA_VOL_REF",
    "PARAPHINA_DAILY_LOSS_LIMIT",
    "PARAPHINA_INIT_Q_TAO",
    "PARAPHINA_HEDGE_MAX_STEP",
];

const PRUDENT: [(&str, &str); 7] = [
    ("PARAPHINA_RISK_PROFILE", "conservative"),
    ("PARAPHINA_HEDGE_BAND_BASE", "0.03"),
    ("PARAPHINA_MM_SIZE_ETA", "0.6"),
    ("PARAPHINA_VOL_REF", "0.08"),
    ("PARAPHINA_DAILY_LOSS_LIMIT", "1000"),
    ("PARAPHINA_INIT_Q_TAO", "5"),
    ("PARAPHINA_HEDGE_MAX_STEP", "10"),
];

const RECKLESS: [(&str, &str); 7] = [
    ("PARAPHINA_RISK_PROFILE", "aggressive"),
    ("PARAPHINA_HEDGE_BAND_BASE", "0.15"),
    ("PARAPHINA_MM_SIZE_ETA", "2.0"),
    ("PARAPHINA_VOL_REF", "0.15"),
    ("PARAPHINA_DAILY_LOSS_LIMIT", "3000"),
    ("PARAPHINA_INIT_Q_TAO", "30"),
    ("PARAPHINA_HEDGE_MAX_STEP", "5"),
];

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn suite_file(name: &str) -> PathBuf {
    repo().join("scenarios/suites").join(name)
}

/// Runs `sim_eval` with exactly the `PARAPHINA_*` variables given.
fn sim_eval(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sim_eval"));
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("PARAPHINA_") {
            cmd.env_remove(k);
        }
    }
    for k in KNOBS {
        cmd.env_remove(k);
    }
    cmd.args(args).envs(env.iter().copied()).output().unwrap()
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap()
}

fn run_suite(suite: &Path, out: &Path, env: &[(&str, &str)]) -> Output {
    sim_eval(
        &[
            "suite",
            suite.to_str().unwrap(),
            "--output-dir",
            out.to_str().unwrap(),
        ],
        env,
    )
}

/// Every file below `dir` (relative path → bytes).
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for e in fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
                out.insert(rel, fs::read(&p).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&fs::read(path).unwrap()).unwrap()
}

// ---------------------------------------------------------------------------------------
// the shipped suites discriminate

#[test]
fn a_prudent_configuration_passes_both_suites_and_a_reckless_one_fails_the_adversarial_suite() {
    let tmp = TempDir::new().unwrap();
    for suite in ["research_v1.yaml", "adversarial_regression_v1.yaml"] {
        let out = tmp.path().join(format!("prudent_{suite}"));
        let o = run_suite(&suite_file(suite), &out, &PRUDENT);
        assert_eq!(code(&o), 0, "{suite}: {:?}", text(&o));
        assert!(text(&o).0.ends_with("failed checks\n"));
        assert_eq!(json(&out.join("suite_summary.json"))["passed"], true);
    }

    let out = tmp.path().join("reckless");
    let o = run_suite(
        &suite_file("adversarial_regression_v1.yaml"),
        &out,
        &RECKLESS,
    );
    let (stdout, _) = text(&o);
    assert_eq!(code(&o), 1, "{stdout}");
    let failures: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("FAIL ") && l.contains(" seed "))
        .collect();
    assert!(!failures.is_empty());
    for line in &failures {
        // scenario, seed, invariant, observed vs limit
        assert!(
            line.contains(": observed ") && line.contains(" vs limit "),
            "{line}"
        );
    }
    assert!(
        stdout
            .lines()
            .last()
            .unwrap()
            .starts_with("FAIL suite adversarial_regression_v1 v1: ")
    );
    let summary = json(&out.join("suite_summary.json"));
    assert_eq!(summary["passed"], false);
    assert!(summary["failed_checks"].as_u64().unwrap() >= 1);
    assert_eq!(summary["candidate_overlay"]["PARAPHINA_MM_SIZE_ETA"], "2.0");
    let first = &summary["scenarios"][0];
    assert_eq!(
        first["overlay"]["effective"]["PARAPHINA_RISK_PROFILE"],
        "aggressive"
    );
    let failed_invariant = first["invariants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["passed"] == false)
        .unwrap();
    assert!(
        failed_invariant["observed_worst"].is_number() && failed_invariant["limit"].is_number()
    );
    // The outputs verify even when the candidate fails.
    assert_eq!(
        code(&sim_eval(
            &["verify-evidence-pack", out.to_str().unwrap()],
            &[]
        )),
        0
    );
}

// ---------------------------------------------------------------------------------------
// outputs

#[test]
fn running_a_suite_twice_writes_identical_files_except_the_manifest() {
    let tmp = TempDir::new().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let suite = suite_file("research_v1.yaml");
    assert_eq!(code(&run_suite(&suite, &a, &PRUDENT)), 0);
    assert_eq!(code(&run_suite(&suite, &b, &PRUDENT)), 0);
    let (mut fa, mut fb) = (files(&a), files(&b));
    let manifest = "evidence_pack/manifest.json";
    assert!(fa.remove(manifest).is_some() && fb.remove(manifest).is_some());
    assert_eq!(fa, fb);
    // One result file per scenario and seed, with the metrics and the checksum.
    let seed_files: Vec<&String> = fa.keys().filter(|k| k.contains("/seed_")).collect();
    assert_eq!(seed_files.len(), 12, "{seed_files:?}");
    let r = json(&a.join("baseline_gbm/seed_1000.json"));
    for key in [
        "final_pnl",
        "max_drawdown",
        "killed",
        "kill_reason",
        "ticks_executed",
        "path_checksum",
        "scenario_id",
    ] {
        assert!(r.get(key).is_some(), "{key} missing");
    }
    // The same directory again: the earlier output is replaced and still verifies.
    assert_eq!(code(&run_suite(&suite, &a, &PRUDENT)), 0);
    assert_eq!(
        code(&sim_eval(
            &["verify-evidence-pack", a.to_str().unwrap()],
            &[]
        )),
        0
    );
    // A directory holding something else is refused, untouched.
    fs::write(b.join("notes.txt"), "mine").unwrap();
    let o = run_suite(&suite, &b, &PRUDENT);
    assert_eq!(code(&o), 2);
    assert!(text(&o).1.contains("\"notes.txt\""), "{:?}", text(&o));
    assert!(b.join("suite_summary.json").exists());
}

#[test]
fn run_judges_one_scenario_and_writes_its_results() {
    let tmp = TempDir::new().unwrap();
    let out = tmp.path().join("run");
    let scenario = repo().join("scenarios/v1/jump_diffusion.yaml");
    let o = sim_eval(
        &[
            "run",
            scenario.to_str().unwrap(),
            "--output-dir",
            out.to_str().unwrap(),
        ],
        &PRUDENT,
    );
    assert_eq!(code(&o), 0, "{:?}", text(&o));
    assert!(text(&o).0.starts_with("PASS jump_diffusion: 4 seeds"));
    let summary = json(&out.join("scenario_summary.json"));
    assert_eq!(summary["passed"], true);
    assert_eq!(summary["runs"].as_array().unwrap().len(), 4);
    assert!(out.join("seed_2003.json").is_file());
    assert_eq!(
        code(&sim_eval(
            &["verify-evidence-pack", out.to_str().unwrap()],
            &[]
        )),
        0
    );

    let o = sim_eval(
        &[
            "run",
            scenario.to_str().unwrap(),
            "--output-dir",
            out.to_str().unwrap(),
        ],
        &RECKLESS,
    );
    assert_eq!(code(&o), 1);
    assert!(text(&o).0.contains("FAIL jump_diffusion seed 200"));
}

// ---------------------------------------------------------------------------------------
// bad input: exit 2, one line naming the file and the line

fn write(dir: &Path, name: &str, content: &str) -> PathBuf {
    let p = dir.join(name);
    fs::write(&p, content).unwrap();
    p
}

const SCENARIO: &str = "schema_version: 1\nid: s\nhorizon: {steps: 20, dt_seconds: 60}\nseeds: {base_seed: 1, num_seeds: 2}\n\
                        market: {process: gbm, vol: 0.06, drift: 0}\n";

fn suite_with(entry: &str) -> String {
    format!("suite_id: t\nsuite_version: 1\nrepeat_runs: 1\nscenarios:\n{entry}")
}

#[test]
fn bad_input_exits_2_with_one_line_naming_file_line_and_key() {
    let tmp = TempDir::new().unwrap();
    let d = tmp.path();
    write(d, "ok.yaml", SCENARIO);
    write(d, "unknown_key.yaml", &format!("{SCENARIO}colour: red\n"));
    write(
        d,
        "wrong_type.yaml",
        &SCENARIO.replace("steps: 20", "steps: twenty"),
    );
    let cases: [(&str, String, &str); 6] = [
        (
            "malformed",
            suite_with("  - path: ok.yaml\n  - {path: ok.yaml\n"),
            "suite_malformed.yaml:6:",
        ),
        (
            "missing_path",
            suite_with("  - path: nowhere.yaml\n"),
            "suite_missing_path.yaml:5:11: scenarios[0].path: cannot read scenario file",
        ),
        // In a scenario file named by the suite: the scenario file and its line.
        (
            "unknown_key",
            suite_with("  - path: unknown_key.yaml\n"),
            "unknown_key.yaml:6:1: colour: unknown field `colour`",
        ),
        (
            "wrong_type",
            suite_with("  - path: wrong_type.yaml\n"),
            "wrong_type.yaml:3:18: horizon.steps: invalid type: string \"twenty\"",
        ),
        (
            "bad_override",
            suite_with("  - path: ok.yaml\n    env_overrides: {PARAPHINA_VOL_REF: \"-1\"}\n"),
            "suite_bad_override.yaml:6:40: scenarios[0].env_overrides.PARAPHINA_VOL_REF: PARAPHINA_VOL_REF=\"-1\": not accepted",
        ),
        (
            "unknown_suite_key",
            suite_with("  - path: ok.yaml\n").replace("repeat_runs", "repeats"),
            "suite_unknown_suite_key.yaml:3:1: repeats: unknown field",
        ),
    ];
    for (name, content, expected) in cases {
        let suite = write(d, &format!("suite_{name}.yaml"), &content);
        let o = run_suite(&suite, &d.join(format!("out_{name}")), &[]);
        let (_, stderr) = text(&o);
        assert_eq!(code(&o), 2, "{name}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{name}: one line: {stderr}");
        let line = stderr.trim_end().strip_prefix("sim_eval: error: ").unwrap();
        let line = line
            .strip_prefix(&format!("{}/", d.display()))
            .unwrap_or(line);
        assert!(
            line.starts_with(expected),
            "{name}:\n got      {line}\n expected {expected}..."
        );
    }

    // A missing suite file, and a bad candidate value in the environment.
    let o = run_suite(&d.join("absent.yaml"), &d.join("o1"), &[]);
    assert_eq!(code(&o), 2);
    assert!(
        text(&o)
            .1
            .contains("absent.yaml: cannot read: no such file"),
        "{:?}",
        text(&o)
    );
    let o = run_suite(
        &d.join("ok.yaml"),
        &d.join("o2"),
        &[("PARAPHINA_MM_SIZE_ETA", "many")],
    );
    assert_eq!(code(&o), 2);
    assert!(text(&o).1.contains(
        "PARAPHINA_MM_SIZE_ETA=\"many\": not accepted; expected a finite number in (0, 10]"
    ));
    // Nothing is written on bad input.
    assert!(!d.join("out_unknown_key").exists());
}

// ---------------------------------------------------------------------------------------
// report

#[test]
fn report_compares_variants_with_the_baseline_and_enforces_gates() {
    let tmp = TempDir::new().unwrap();
    let d = tmp.path();
    let research = suite_file("research_v1.yaml");
    let (base, fat, thin) = (d.join("base"), d.join("fat"), d.join("thin"));
    let mut base_env = PRUDENT.to_vec();
    base_env[2] = ("PARAPHINA_MM_SIZE_ETA", "1.0");
    assert_eq!(code(&run_suite(&research, &base, &base_env)), 0);
    assert_eq!(
        code(&run_suite(&research, &fat, &RECKLESS)),
        1,
        "a failing suite still writes results"
    );
    assert_eq!(code(&run_suite(&research, &thin, &PRUDENT)), 0);
    let (md, js) = (d.join("r.md"), d.join("r.json"));
    let report = |variants: &[String], gates: &[&str]| {
        let mut args = vec![
            "report".to_string(),
            "--baseline".into(),
            base.display().to_string(),
        ];
        for v in variants {
            args.push("--variant".into());
            args.push(v.clone());
        }
        args.extend([
            "--out-md".into(),
            md.display().to_string(),
            "--out-json".into(),
            js.display().to_string(),
        ]);
        args.extend(gates.iter().map(|g| g.to_string()));
        sim_eval(&args.iter().map(String::as_str).collect::<Vec<_>>(), &[])
    };
    let variants = [
        format!("fat={}", fat.display()),
        format!("thin={}", thin.display()),
    ];

    // No gates: matched, deltas computed, exit 0.
    let o = report(&variants, &[]);
    assert_eq!(code(&o), 0, "{:?}", text(&o));
    let r = json(&js);
    assert_eq!(r["variants"][0]["matched"], 12);
    let v = &r["variants"][1];
    let (b, t) = (
        v["mean_baseline_pnl"].as_f64().unwrap(),
        v["mean_variant_pnl"].as_f64().unwrap(),
    );
    assert!((v["mean_delta"].as_f64().unwrap() - (t - b)).abs() < 1e-9);
    assert!(v["worst_delta"].as_f64().unwrap() <= v["best_delta"].as_f64().unwrap());
    assert_eq!(v["scenarios"].as_array().unwrap().len(), 3);
    let markdown = fs::read_to_string(&md).unwrap();
    assert!(
        markdown.contains("## Variant `fat`") && markdown.contains("| `low_vol_drift` | 4 |"),
        "{markdown}"
    );

    // A generous gate passes; a gate of 0 USD fails the variant that earns less.
    assert_eq!(
        code(&report(&variants, &["--gate-max-regression-usd", "100000"])),
        0
    );
    let worse = if r["variants"][0]["mean_delta"].as_f64().unwrap() < 0.0 {
        "fat"
    } else {
        "thin"
    };
    let o = report(
        &variants,
        &[
            "--gate-max-regression-usd",
            "0",
            "--gate-max-regression-pct",
            "1000000",
        ],
    );
    assert_eq!(code(&o), 1);
    let stdout = text(&o).0;
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with(&format!("FAIL gate max_regression_usd, variant {worse}: "))),
        "{stdout}"
    );
    assert_eq!(json(&js)["passed"], false);

    // Results of another suite do not match: listed, exit 2, reports still written.
    let adv = d.join("adv");
    run_suite(
        &suite_file("adversarial_regression_v1.yaml"),
        &adv,
        &PRUDENT,
    );
    fs::remove_file(&js).unwrap();
    let o = report(&[format!("adv={}", adv.display())], &[]);
    assert_eq!(code(&o), 2);
    let stderr = text(&o).1;
    assert!(
        stderr.contains(
            "unmatched: variant adv: scenario baseline_gbm seed 1000 is only in the baseline"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("unmatched: variant adv: scenario vol_x2 seed 2000 is only in the variant"),
        "{stderr}"
    );
    assert_eq!(json(&js)["unmatched_total"], 36);

    // Bad arguments and directories whose evidence does not verify are bad input.
    assert_eq!(code(&report(&["noequals".into()], &[])), 2);
    assert_eq!(
        code(&report(&[format!("x={}", d.join("none").display())], &[])),
        2
    );
    fs::write(thin.join("baseline_gbm/seed_1000.json"), "{}").unwrap();
    let o = report(&[format!("thin={}", thin.display())], &[]);
    assert_eq!(code(&o), 2);
    assert!(
        text(&o).1.contains("the evidence pack does not verify"),
        "{:?}",
        text(&o)
    );
}

// ---------------------------------------------------------------------------------------
// --seed-base / --num-seeds: the scenarios on a seed stream

#[test]
fn a_suite_runs_on_a_given_seed_stream_and_refuses_bad_stream_options() {
    let tmp = TempDir::new().unwrap();
    let suite = suite_file("research_v1.yaml");
    let out = tmp.path().join("stream");
    let o = sim_eval(
        &[
            "suite",
            suite.to_str().unwrap(),
            "--output-dir",
            out.to_str().unwrap(),
            "--seed-base",
            "18446744073709551610",
            "--num-seeds",
            "3",
        ],
        &PRUDENT,
    );
    assert!(code(&o) == 0 || code(&o) == 1, "{:?}", text(&o));
    // Scenario j runs base + 3j .. base + 3j + 2, wrapping at 2^64.
    let seed_files: Vec<String> = files(&out).into_keys().filter(|k| k.contains("/seed_")).collect();
    assert_eq!(
        seed_files,
        vec![
            "baseline_gbm/seed_18446744073709551610.json",
            "baseline_gbm/seed_18446744073709551611.json",
            "baseline_gbm/seed_18446744073709551612.json",
            "jump_diffusion/seed_18446744073709551613.json",
            "jump_diffusion/seed_18446744073709551614.json",
            "jump_diffusion/seed_18446744073709551615.json",
            "low_vol_drift/seed_0.json",
            "low_vol_drift/seed_1.json",
            "low_vol_drift/seed_2.json",
        ]
    );
    let summary = json(&out.join("suite_summary.json"));
    assert_eq!(summary["seed_stream"]["base"], 18446744073709551610u64);
    assert_eq!(summary["seed_stream"]["num_seeds"], 3);
    // Without the options, no seed_stream key: the files' seeds, as before.
    let plain = tmp.path().join("plain");
    run_suite(&suite, &plain, &PRUDENT);
    assert!(json(&plain.join("suite_summary.json")).get("seed_stream").is_none());
    for bad in [
        vec!["--seed-base", "5"],
        vec!["--num-seeds", "5"],
        vec!["--seed-base", "5", "--num-seeds", "0"],
        vec!["--seed-base", "-1", "--num-seeds", "2"],
        vec!["--seed-base", "x", "--num-seeds", "2"],
    ] {
        let dir = tmp.path().join("bad");
        let mut args = vec!["suite", suite.to_str().unwrap(), "--output-dir", dir.to_str().unwrap()];
        args.extend(bad.iter().copied());
        let o = sim_eval(&args, &PRUDENT);
        assert_eq!(code(&o), 2, "{bad:?}: {:?}", text(&o));
        assert!(!dir.exists(), "{bad:?} wrote {dir:?}");
    }
}

//! `sim_eval trial`: one search trial in one process. Its documents must be the bytes the
//! separate commands write (`monte_carlo`, `sim_eval suite`), whatever the layout and the
//! thread count; its evidence must verify; its document must say what the files say; bad
//! input must write nothing.

use std::collections::BTreeMap;
use std::fs;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tempfile::TempDir;

const CANDIDATE: [(&str, &str); 7] = [
    ("PARAPHINA_RISK_PROFILE", "aggressive"),
    ("PARAPHINA_HEDGE_BAND_BASE", "0.15"),
    ("PARAPHINA_MM_SIZE_ETA", "2.0"),
    ("PARAPHINA_VOL_REF", "0.15"),
    ("PARAPHINA_DAILY_LOSS_LIMIT", "3000"),
    ("PARAPHINA_INIT_Q_TAO", "30"),
    ("PARAPHINA_HEDGE_MAX_STEP", "5"),
];
const SUITES: [&str; 2] = ["research_v1", "adversarial_regression_v1"];

fn suite_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/suites").join(format!("{name}.yaml"))
}

fn command(bin: &str, args: &[String]) -> Output {
    let mut cmd = Command::new(bin);
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("PARAPHINA_") {
            cmd.env_remove(k);
        }
    }
    cmd.envs(CANDIDATE).args(args).output().expect("the binary runs")
}

fn trial(out: &Path, evidence: &str, threads: &str) -> Output {
    let mut args: Vec<String> = ["trial", "--runs", "40", "--ticks", "120", "--seed", "77"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for name in SUITES {
        args.push("--suite".into());
        args.push(format!("{name}={}", suite_file(name).display()));
    }
    args.extend(["--evidence".into(), evidence.into(), "--threads".into(), threads.into()]);
    args.extend(["--output-dir".into(), out.display().to_string()]);
    command(env!("CARGO_BIN_EXE_sim_eval"), &args)
}

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

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes).read_to_end(&mut out).expect("a complete gzip stream");
    out
}

fn sha256(bytes: &[u8]) -> String {
    paraphina::evidence::sha256_bytes(bytes)
}

fn document(o: &Output) -> serde_json::Value {
    assert_eq!(o.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).expect("one JSON document on stdout")
}

/// What the separate commands write for the same candidate, seeds and suites.
fn separate(tmp: &Path) -> PathBuf {
    let dir = tmp.join("separate");
    let mc = command(
        env!("CARGO_BIN_EXE_monte_carlo"),
        &["--runs", "40", "--ticks", "120", "--seed", "77", "--quiet", "--output-dir"]
            .iter()
            .map(|s| s.to_string())
            .chain([dir.join("mc").display().to_string()])
            .collect::<Vec<_>>(),
    );
    assert_eq!(mc.status.code(), Some(0));
    for name in SUITES {
        let o = command(
            env!("CARGO_BIN_EXE_sim_eval"),
            &[
                "suite".into(),
                suite_file(name).display().to_string(),
                "--output-dir".into(),
                dir.join("suite").join(name).display().to_string(),
            ],
        );
        assert!(matches!(o.status.code(), Some(0 | 1)));
    }
    dir
}

#[test]
fn a_compact_trial_holds_the_separate_commands_documents_in_eight_files_and_verifies() {
    let tmp = TempDir::new().unwrap();
    let out = tmp.path().join("trial");
    fs::create_dir(&out).unwrap();
    fs::write(out.join("candidate.env"), "export PARAPHINA_RISK_PROFILE=aggressive\n").unwrap();
    let doc = document(&trial(&out, "compact", "2"));
    let got = files(&out);
    let names: Vec<&str> = got.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "candidate.env",
            "evidence_pack/SHA256SUMS",
            "evidence_pack/manifest.json",
            "mc/mc_runs.jsonl.gz",
            "mc/mc_summary.json.gz",
            "suite/adversarial_regression_v1/suite_summary.json.gz",
            "suite/research_v1/suite_summary.json.gz",
            "suite/seeds.jsonl.gz",
        ]
    );

    let sep = files(&separate(tmp.path()));
    for (packed, plain) in [
        ("mc/mc_summary.json.gz", "mc/mc_summary.json"),
        ("mc/mc_runs.jsonl.gz", "mc/mc_runs.jsonl"),
        ("suite/research_v1/suite_summary.json.gz", "suite/research_v1/suite_summary.json"),
        (
            "suite/adversarial_regression_v1/suite_summary.json.gz",
            "suite/adversarial_regression_v1/suite_summary.json",
        ),
    ] {
        assert!(gunzip(&got[packed]) == sep[plain], "{packed} is not {plain} compressed");
    }
    // Every seed file of the separate suites, as one line of seeds.jsonl.
    let lines = String::from_utf8(gunzip(&got["suite/seeds.jsonl.gz"])).unwrap();
    let mut seen = 0;
    for line in lines.lines() {
        let mut v: serde_json::Value = serde_json::from_str(line).unwrap();
        let obj = v.as_object_mut().unwrap();
        let suite = obj.remove("suite_id").unwrap();
        let file = obj.remove("file").unwrap();
        let plain = format!("suite/{}/{}", suite.as_str().unwrap(), file.as_str().unwrap());
        let want: serde_json::Value = serde_json::from_slice(&sep[&plain]).unwrap();
        assert_eq!(v, want, "{plain}");
        seen += 1;
    }
    let seed_files = sep.keys().filter(|k| k.contains("/seed_")).count();
    assert_eq!(seen, seed_files);
    assert!(seen > 0);

    // The document says what the files say.
    assert_eq!(doc["evidence"], "compact");
    assert_eq!(doc["mc"]["summary_sha256"], sha256(&sep["mc/mc_summary.json"]));
    assert_eq!(doc["mc"]["runs_sha256"], sha256(&sep["mc/mc_runs.jsonl"]));
    assert_eq!(doc["seeds_sha256"], sha256(lines.as_bytes()));
    let summary: serde_json::Value = serde_json::from_slice(&sep["mc/mc_summary.json"]).unwrap();
    assert_eq!(doc["mc"]["summary"], summary);
    assert_eq!(doc["pack"]["sha256sums_sha256"], sha256(&got["evidence_pack/SHA256SUMS"]));
    assert_eq!(doc["pack"]["files"], 6);
    assert_eq!(doc["pack"]["verified"], true);
    for name in SUITES {
        let plain: serde_json::Value =
            serde_json::from_slice(&sep[&format!("suite/{name}/suite_summary.json")]).unwrap();
        let part = &doc["suites"][name];
        assert_eq!(part["passed"], plain["passed"], "{name}");
        assert_eq!(part["failed_checks"], plain["failed_checks"], "{name}");
        let messages: usize = plain["scenarios"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|s| s["invariants"].as_array().unwrap())
            .map(|v| v["failures"].as_array().unwrap().len())
            .sum();
        assert_eq!(part["failures"].as_array().unwrap().len(), messages, "{name}");
    }
    // This candidate is reckless: the adversarial suite fails, as a verdict (exit 0).
    assert_eq!(doc["suites"]["adversarial_regression_v1"]["passed"], false);

    // The evidence verifies with the verifier and lists exactly the files (what
    // `sha256sum -c` checks).
    let v = command(
        env!("CARGO_BIN_EXE_sim_eval"),
        &["verify-evidence-tree".into(), out.display().to_string()],
    );
    assert_eq!(v.status.code(), Some(0), "{}", String::from_utf8_lossy(&v.stdout));
    let sums = String::from_utf8(got["evidence_pack/SHA256SUMS"].clone()).unwrap();
    for line in sums.lines() {
        let (digest, rel) = line.split_once("  ").unwrap();
        assert_eq!(digest, sha256(&got[rel]), "{rel}");
    }
    assert_eq!(sums.lines().count(), 6);
}

#[test]
fn every_layout_and_thread_count_gives_the_same_documents() {
    let tmp = TempDir::new().unwrap();
    let runs: Vec<(String, BTreeMap<String, Vec<u8>>, serde_json::Value)> = [
        ("compact", "1"),
        ("compact", "2"),
        ("full", "1"),
        ("summary", "2"),
    ]
    .iter()
    .map(|(layout, threads)| {
        let out = tmp.path().join(format!("{layout}_{threads}"));
        let doc = document(&trial(&out, layout, threads));
        (layout.to_string(), files(&out), doc)
    })
    .collect();
    let (_, c1, d1) = &runs[0];
    let (_, c2, d2) = &runs[1];
    // Same bytes with 1 and 2 threads, manifests (time, command line) aside.
    let data = |f: &BTreeMap<String, Vec<u8>>| -> BTreeMap<String, Vec<u8>> {
        f.iter().filter(|(k, _)| !k.ends_with("manifest.json")).map(|(k, v)| (k.clone(), v.clone())).collect()
    };
    assert!(data(c1) == data(c2), "compact trials differ between 1 and 2 threads");
    assert_eq!(d1["mc"]["summary"], d2["mc"]["summary"]);
    for name in SUITES {
        for key in ["passed", "failed_checks", "failures", "summary_sha256"] {
            assert_eq!(d1["suites"][name][key], d2["suites"][name][key], "{name}.{key}");
        }
    }
    let digests = |d: &serde_json::Value| {
        (
            d["mc"]["summary_sha256"].clone(),
            d["mc"]["runs_sha256"].clone(),
            d["seeds_sha256"].clone(),
            SUITES.map(|s| d["suites"][s]["summary_sha256"].clone()),
        )
    };
    for (layout, _, d) in &runs {
        assert_eq!(digests(d), digests(d1), "{layout}");
    }
    // The full layout is the separate commands' layout: a pack per directory, a file per seed.
    let (_, full, _) = &runs[2];
    assert!(full.contains_key("mc/mc_runs.jsonl") && full.contains_key("mc/evidence_pack/SHA256SUMS"));
    assert!(full.keys().any(|k| k.starts_with("suite/research_v1/") && k.contains("/seed_")));
    assert_eq!(
        sha256(&full["suite/research_v1/suite_summary.json"]),
        d1["suites"]["research_v1"]["summary_sha256"].as_str().unwrap()
    );
    // The summary layout keeps no per-run file, only their digests in the document.
    let (_, summary, _) = &runs[3];
    assert!(!summary.contains_key("mc/mc_runs.jsonl.gz") && !summary.contains_key("suite/seeds.jsonl.gz"));
    assert_eq!(summary.len(), 5);
}

#[test]
fn bad_input_exits_2_with_one_line_and_writes_nothing() {
    let tmp = TempDir::new().unwrap();
    // A directory that already holds something is not the trial's to fill.
    let busy = tmp.path().join("busy");
    fs::create_dir(&busy).unwrap();
    fs::write(busy.join("notes.txt"), "mine").unwrap();
    let o = trial(&busy, "compact", "1");
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("notes.txt") && err.contains("new or empty"), "{err}");
    assert_eq!(fs::read_dir(&busy).unwrap().count(), 1);

    let fresh = tmp.path().join("fresh");
    let sim_eval = env!("CARGO_BIN_EXE_sim_eval");
    let base = ["trial", "--runs", "5", "--ticks", "10", "--seed", "1", "--output-dir"];
    let mut cases: Vec<(Vec<String>, &str)> = vec![
        (vec!["--suite".into(), "research".into()], "expected NAME=PATH"),
        (vec!["--suite".into(), format!("../x={}", suite_file("research_v1").display())], "NAME must be"),
        (vec!["--suite".into(), format!("a={}", tmp.path().join("missing.yaml").display())], "missing.yaml"),
        (
            vec![
                "--suite".into(),
                format!("a={}", suite_file("research_v1").display()),
                "--suite".into(),
                format!("a={}", suite_file("research_v1").display()),
            ],
            "given twice",
        ),
    ];
    cases.push((vec!["--evidence".into(), "tiny".into()], "tiny"));
    for (extra, says) in cases {
        let mut args: Vec<String> = base.iter().map(|s| s.to_string()).collect();
        args.push(fresh.display().to_string());
        args.extend(extra);
        let o = command(sim_eval, &args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
        assert!(!fresh.exists(), "{args:?} created the output directory");
    }
    // A bad knob value.
    let mut cmd = Command::new(sim_eval);
    let o = cmd
        .env("PARAPHINA_MM_SIZE_ETA", "lots")
        .args(base)
        .arg(&fresh)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("PARAPHINA_MM_SIZE_ETA"));
    assert!(!fresh.exists());
}

#[test]
fn gzip_streams_are_deterministic_and_carry_no_time() {
    let a = paraphina::trial::gzip(b"{\"x\": 1}\n").unwrap();
    let b = paraphina::trial::gzip(b"{\"x\": 1}\n").unwrap();
    assert_eq!(a, b);
    assert_eq!(&a[4..8], &[0, 0, 0, 0], "mtime field of the gzip header");
    assert_eq!(a[3] & 0x08, 0, "no file name in the header");
    assert_eq!(gunzip(&a), b"{\"x\": 1}\n");
}

#[test]
fn a_document_changed_between_writing_and_verifying_fails_the_trial() {
    use paraphina::config::Overlay;
    use paraphina::trial::{self, Evidence, Spec, TrialError};
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path().join("t");
    let overlay = Overlay::from_pairs(CANDIDATE.iter().map(|(k, v)| (k.to_string(), v.to_string()))).unwrap();
    let suites = vec![(
        "research_v1".to_string(),
        paraphina::suite::load(&suite_file("research_v1"), "research_v1").unwrap(),
    )];
    let spec = Spec { runs: 10, ticks: 50, seed: 3, suites, evidence: Evidence::Compact };
    let written = trial::write(&dir, &spec, &overlay, "test").unwrap();
    let path = dir.join("mc/mc_summary.json.gz");
    let mut bytes = fs::read(&path).unwrap();
    let last = bytes.len() - 9;
    bytes[last] ^= 1;
    fs::write(&path, bytes).unwrap();
    match trial::verify(&dir, written) {
        Err(TrialError::Unverified(lines)) => {
            let text = lines.join("\n");
            assert!(text.contains("FAIL") && text.contains("mc/mc_summary.json.gz"), "{text}");
        }
        other => panic!("a changed document verified: {:?}", other.map(|d| d.pack.sha256sums_sha256)),
    }
}

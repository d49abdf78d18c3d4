//! What the binaries print about their command line: a bad command line is one line on
//! stderr, `<prog>: error: <problem> (see --help)`, exit status 2, with a missing argument
//! named; `monte_carlo --help` lists every knob and profile the parser accepts.

use paraphina::config::{Knob, Profile};

use std::process::Command;

/// Runs `bin` with `args` (no `PARAPHINA_*` variables); returns the exit status and stderr.
fn run(bin: &str, args: &[&str]) -> (Option<i32>, String) {
    let mut cmd = Command::new(bin);
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("PARAPHINA_") {
            cmd.env_remove(k);
        }
    }
    let o = cmd.args(args).output().unwrap();
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// The one error line of a bad command line, checked for its form.
fn error_line(prog: &str, bin: &str, args: &[&str]) -> String {
    let (code, stderr) = run(bin, args);
    assert_eq!(code, Some(2), "{prog} {args:?}: {stderr}");
    assert_eq!(
        stderr.lines().count(),
        1,
        "{prog} {args:?}: not one line:\n{stderr}"
    );
    let line = stderr.trim_end().to_string();
    assert!(line.starts_with(&format!("{prog}: error: ")), "{line}");
    assert!(line.ends_with(" (see --help)"), "{line}");
    line
}

const MC: &str = env!("CARGO_BIN_EXE_monte_carlo");
const SIM_EVAL: &str = env!("CARGO_BIN_EXE_sim_eval");

#[test]
fn monte_carlo_without_arguments_names_every_required_argument() {
    let line = error_line("monte_carlo", MC, &[]);
    assert_eq!(
        line,
        "monte_carlo: error: the following required arguments were not provided: \
         --runs <RUNS> --ticks <TICKS> --seed <SEED> --output-dir <OUTPUT_DIR> (see --help)"
    );
}

#[test]
fn monte_carlo_names_only_the_arguments_still_missing() {
    let line = error_line("monte_carlo", MC, &["--runs", "3", "--seed", "1"]);
    assert!(
        line.contains("not provided: --ticks <TICKS> --output-dir <OUTPUT_DIR> (see"),
        "{line}"
    );
    assert!(
        !line.contains("--runs") && !line.contains("--seed"),
        "{line}"
    );
}

#[test]
fn sim_eval_subcommands_without_arguments_name_what_they_need() {
    for (args, needed) in [
        (
            &["run"][..],
            &["<SCENARIO>", "--output-dir <OUTPUT_DIR>"][..],
        ),
        (&["suite", "s.yaml"], &["--output-dir <OUTPUT_DIR>"]),
        (
            &["report"],
            &[
                "--baseline <BASELINE>",
                "--variant <VARIANTS>",
                "--out-md <OUT_MD>",
                "--out-json <OUT_JSON>",
            ],
        ),
        (
            &["report", "--baseline", "b"],
            &[
                "--variant <VARIANTS>",
                "--out-md <OUT_MD>",
                "--out-json <OUT_JSON>",
            ],
        ),
        (&["verify-evidence-pack"], &["<DIR>"]),
        (&["verify-evidence-tree"], &["<DIR>"]),
        (&["write-evidence-pack"], &["<DIR>"]),
    ] {
        let line = error_line("sim_eval", SIM_EVAL, args);
        assert!(
            line.contains("the following required arguments were not provided: "),
            "{line}"
        );
        for arg in needed {
            assert!(line.contains(arg), "{args:?}: {arg} not named in {line}");
        }
    }
}

#[test]
fn other_argument_errors_stay_one_line() {
    let line = error_line(
        "monte_carlo",
        MC,
        &[
            "--runs",
            "0",
            "--ticks",
            "1",
            "--seed",
            "1",
            "--output-dir",
            "x",
        ],
    );
    assert!(
        line.contains("invalid value '0' for '--runs <RUNS>'"),
        "{line}"
    );
    let line = error_line("monte_carlo", MC, &["--bogus"]);
    assert!(line.contains("unexpected argument '--bogus'"), "{line}");
    let line = error_line("sim_eval", SIM_EVAL, &["bogus"]);
    assert!(line.contains("unrecognized subcommand 'bogus'"), "{line}");
}

#[test]
fn monte_carlo_help_lists_every_knob_with_its_description_and_every_profile() {
    let o = Command::new(MC).arg("--help").output().unwrap();
    assert_eq!(o.status.code(), Some(0));
    let help = String::from_utf8_lossy(&o.stdout);
    for k in Knob::ALL {
        let line = help
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{} ", k.var_name())))
            .unwrap_or_else(|| panic!("{} not in --help:\n{help}", k.var_name()));
        assert!(line.contains(k.description()), "{line}");
    }
    for p in Profile::ALL {
        assert!(help.contains(p.name()) && help.contains(p.alias()), "{p} not in --help");
    }
}

//! Scenarios and suites through the library: invariants that can fail, every field and
//! adversarial parameter reaching the simulation, the environment's order of priority,
//! located errors, determinism checks and the shipped files.

use std::path::{Path, PathBuf};

use paraphina::config::{Overlay, Profile, StrategyParams};
use paraphina::scenario::{
    self, Case, CaseRun, Source, compare_repeat, differing_fields, run_case,
};
use paraphina::sim::RunResult;
use paraphina::suite;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn overlay(pairs: &[(&str, &str)]) -> Overlay {
    Overlay::from_pairs(pairs.iter().copied()).unwrap()
}

fn case(yaml: &str) -> Case {
    let s = scenario::parse(yaml, "t.yaml").unwrap_or_else(|e| panic!("{e}"));
    Case::alone(
        s,
        Source {
            file: None,
            sha256: None,
            entry_fields: Vec::new(),
        },
    )
}

fn run(case: &Case, candidate: &[(&str, &str)]) -> CaseRun {
    run_case(case, &overlay(candidate), 1).unwrap()
}

fn checksums(r: &CaseRun) -> Vec<String> {
    r.runs.iter().map(|x| x.path_checksum.clone()).collect()
}

/// A short jump-diffusion scenario; `extra` is appended (more sections).
fn scenario_yaml(invariants: &str, extra: &str) -> String {
    format!(
        "schema_version: 1\nid: t\nhorizon: {{steps: 120, dt_seconds: 60}}\nseeds: {{base_seed: 5, num_seeds: 3}}\n\
         market: {{process: jump_diffusion, vol: 0.06, drift: 0.0, jump_intensity: 6, jump_sigma: 0.08}}\n\
         invariants: {invariants}\n{extra}"
    )
}

fn verdict(r: &CaseRun, name: &str) -> bool {
    r.verdicts
        .iter()
        .find(|v| v.invariant == name)
        .unwrap_or_else(|| panic!("no verdict {name}"))
        .passed
}

// ---------------------------------------------------------------------------------------
// invariants

#[test]
fn expect_kill_switch_fails_when_the_kill_contradicts_it() {
    // Starting beyond the hard inventory limit kills at tick 0; a flat start with a 1e6
    // loss limit is never killed.
    let tight = [("PARAPHINA_INIT_Q_TAO", "100")];
    let loose = [("PARAPHINA_DAILY_LOSS_LIMIT", "1000000")];
    let never = case(&scenario_yaml("{expect_kill_switch: never}", ""));
    let always = case(&scenario_yaml("{expect_kill_switch: always}", ""));
    assert!(!verdict(&run(&never, &tight), "expect_kill_switch"));
    assert!(verdict(&run(&never, &loose), "expect_kill_switch"));
    let killed = run(&always, &tight);
    assert!(
        verdict(&killed, "expect_kill_switch")
            && killed.runs.iter().all(|x| x.kill_tick == Some(0))
    );
    let r = run(&always, &loose);
    assert!(!verdict(&r, "expect_kill_switch") && !r.passed());
    assert_eq!(
        r.failure_lines()[0],
        "FAIL t seed 5: expect_kill_switch: observed not killed vs limit always"
    );
    let allowed = case(&scenario_yaml("{expect_kill_switch: allowed}", ""));
    assert!(run(&allowed, &tight).passed() && run(&allowed, &loose).passed());
}

#[test]
fn min_final_pnl_fails_below_its_limit() {
    let r = run(
        &case(&scenario_yaml("{min_final_pnl_usd: 1000000}", "")),
        &[],
    );
    assert!(!verdict(&r, "min_final_pnl_usd"));
    assert_eq!(r.verdicts[1].failures.len(), 3, "every seed fails");
    assert!(r.failure_lines()[0].starts_with("FAIL t seed 5: min_final_pnl_usd: observed "));
    assert!(r.failure_lines()[0].ends_with(" USD vs limit 1000000.00 USD"));
    assert!(
        run(
            &case(&scenario_yaml("{min_final_pnl_usd: -1000000}", "")),
            &[]
        )
        .passed()
    );
}

#[test]
fn max_drawdown_fails_above_its_limit() {
    let r = run(&case(&scenario_yaml("{max_drawdown_usd: 0}", "")), &[]);
    assert!(!verdict(&r, "max_drawdown_usd"));
    assert!(r.failure_lines()[0].contains("max_drawdown_usd: observed "));
    assert!(
        run(
            &case(&scenario_yaml("{max_drawdown_usd: 1000000}", "")),
            &[]
        )
        .passed()
    );
}

#[test]
fn max_loss_overshoot_fails_when_flattening_runs_past_the_loss_limit() {
    // 50 TAO long, never hedged (band = the whole limit), in a falling market with a book
    // a twentieth as deep: the 50 USD kill fires, and flattening 50 TAO through the thin
    // book costs several times the limit.
    let extra = "initial_state: {inventory_tao: 50}\nmicrostructure: {depth_multiplier: 0.05}\n";
    let yaml = |inv: &str| scenario_yaml(inv, extra).replace("drift: 0.0", "drift: -2.0");
    let limit = [
        ("PARAPHINA_DAILY_LOSS_LIMIT", "50"),
        ("PARAPHINA_HEDGE_BAND_BASE", "1"),
    ];
    let r = run(&case(&yaml("{max_loss_overshoot: 0.5}")), &limit);
    assert!(r.runs.iter().all(|x| x.killed));
    assert!(!verdict(&r, "max_loss_overshoot"), "{:?}", r.verdicts);
    assert!(r.failure_lines()[0].contains("max_loss_overshoot: observed "));
    assert!(r.failure_lines()[0].ends_with("vs limit 0.5 (final pnl >= -75.00 USD)"));
    assert!(run(&case(&yaml("{max_loss_overshoot: 1000}")), &limit).passed());
    // Without a reachable limit nothing is killed, and the loss is within the limit.
    let unlimited = [
        ("PARAPHINA_DAILY_LOSS_LIMIT", "1000000"),
        ("PARAPHINA_HEDGE_BAND_BASE", "1"),
    ];
    let r = run(&case(&yaml("{max_loss_overshoot: 0}")), &unlimited);
    assert!(r.passed() && r.runs.iter().all(|x| !x.killed && x.final_pnl < -100.0));
}

// ---------------------------------------------------------------------------------------
// every field and parameter reaches the simulation

fn inline_suite(entries: &str) -> suite::Suite {
    let text = format!("suite_id: t\nsuite_version: 1\nrepeat_runs: 1\nscenarios:\n{entries}");
    suite::parse(&text, "suite.yaml", Path::new(".")).unwrap_or_else(|e| panic!("{e}"))
}

const ENTRY_BASE: &str =
    "    horizon: {steps: 150, dt_seconds: 60}\n    seeds: {base_seed: 21, num_seeds: 3}\n";

#[test]
fn each_adversarial_parameter_changes_the_results() {
    let entry = |id: &str, market: &str, adv: &str| {
        format!(
            "  - id: {id}\n{ENTRY_BASE}    market: {market}\n    adversarial_params: {{{adv}}}\n"
        )
    };
    let jd = "{process: jump_diffusion, vol: 0.06, drift: 0, jump_intensity: 3, jump_sigma: 0.08}";
    let gbm = "{process: gbm, vol: 0.06, drift: 0}";
    let mut entries = entry("base_jd", jd, "") + &entry("base_gbm", gbm, "");
    let params = [
        ("vol", jd, "vol_multiplier: 2"),
        // Enough jumps that every seed draws some within 150 ticks.
        ("jumps_on_gbm", gbm, "jump_intensity: 60"),
        ("jumps_on_jd", jd, "jump_intensity: 60"),
        ("spread", jd, "spread_multiplier: 3"),
        ("latency", jd, "latency_multiplier: 20"),
        ("depth", jd, "depth_collapse_factor: 0.1"),
        ("outage", jd, "venue_outage_prob: 0.05"),
    ];
    for (id, market, adv) in params {
        entries += &entry(id, market, adv);
    }
    let s = inline_suite(&entries);
    let r = suite::run(&s, &Overlay::default()).unwrap();
    let (base_jd, base_gbm) = (checksums(&r.runs[0]), checksums(&r.runs[1]));
    for (i, (id, market, _)) in params.iter().enumerate() {
        let base = if *market == gbm { &base_gbm } else { &base_jd };
        let other = checksums(&r.runs[i + 2]);
        assert!(
            base.iter().zip(&other).all(|(a, b)| a != b),
            "{id} left some runs unchanged"
        );
    }
    // The parameters show in the effective configuration too.
    let cfg = |i: usize| &r.runs[i].built.config;
    assert_eq!(cfg(2).market.vol, 0.12);
    assert_eq!(
        (cfg(3).market.jump_intensity, cfg(3).market.jump_sigma),
        (60.0, 0.08)
    );
    assert_eq!(
        cfg(5).market.venues[0].half_spread_usd,
        3.0 * cfg(0).market.venues[0].half_spread_usd
    );
    assert_eq!(
        cfg(6).market.venues[1].latency_ms,
        20.0 * cfg(0).market.venues[1].latency_ms
    );
    assert_eq!(
        cfg(7).market.venues[2].depth_tao,
        0.1 * cfg(0).market.venues[2].depth_tao
    );
    assert_eq!(r.runs[8].built.stress.venue_outage_prob, 0.05);
}

#[test]
fn each_shock_type_changes_the_results() {
    let base = run(&case(&scenario_yaml("{}", "")), &[]);
    let shocks = [
        "{type: vol_spike, start_tick: 20, duration_ticks: 40, multiplier: 3}",
        "{type: spread_shock, start_tick: 20, duration_ticks: 40, multiplier: 3}",
        "{type: depth_shock, start_tick: 0, duration_ticks: 120, factor: 0.05}",
        "{type: venue_outage, start_tick: 20, duration_ticks: 40}",
        "{type: venue_outage, start_tick: 20, duration_ticks: 40, venue: hyperliquid}",
        "{type: basis_spike, start_tick: 20, duration_ticks: 40, usd: 2.0}",
        "{type: basis_spike, start_tick: 20, duration_ticks: 40, usd: 2.0, venue: aster}",
    ];
    for shock in shocks {
        // Hedging must happen for a depth shock to matter: start with inventory.
        let extra = format!("initial_state: {{inventory_tao: 20}}\nshocks:\n  - {shock}\n");
        let with = run(&case(&scenario_yaml("{}", &extra)), &[]);
        let without = run(
            &case(&scenario_yaml("{}", "initial_state: {inventory_tao: 20}\n")),
            &[],
        );
        assert!(
            checksums(&with)
                .iter()
                .zip(checksums(&without))
                .all(|(a, b)| *a != b),
            "{shock} changed nothing"
        );
    }
    assert_eq!(checksums(&base).len(), 3);
}

#[test]
fn every_market_and_microstructure_field_changes_the_results() {
    let market = |m: &str| {
        format!(
            "schema_version: 1\nid: t\nhorizon: {{steps: 120, dt_seconds: 60}}\nseeds: {{base_seed: 5, num_seeds: 2}}\n\
             initial_state: {{inventory_tao: 15}}\nmarket: {m}\n"
        )
    };
    // Jumps frequent enough that every seed has some: a path without jumps would not
    // show a change of jump size.
    let base_market =
        "{process: jump_diffusion, vol: 0.06, drift: 0.0, jump_intensity: 60, jump_sigma: 0.05}";
    let base = checksums(&run(&case(&market(base_market)), &[]));
    let variants = [
        market("{process: gbm, vol: 0.06, drift: 0.0}"),
        market(
            "{process: jump_diffusion, s0_usd: 300, vol: 0.06, drift: 0.0, jump_intensity: 60, jump_sigma: 0.05}",
        ),
        market(
            "{process: jump_diffusion, vol: 0.09, drift: 0.0, jump_intensity: 60, jump_sigma: 0.05}",
        ),
        market(
            "{process: jump_diffusion, vol: 0.06, drift: 0.5, jump_intensity: 60, jump_sigma: 0.05}",
        ),
        market(
            "{process: jump_diffusion, vol: 0.06, drift: 0.0, jump_intensity: 120, jump_sigma: 0.05}",
        ),
        market(
            "{process: jump_diffusion, vol: 0.06, drift: 0.0, jump_intensity: 60, jump_sigma: 0.1}",
        ),
        market(base_market) + "microstructure: {maker_fee_bps: 10}\n",
        market(base_market) + "microstructure: {taker_fee_bps: 30}\n",
        market(base_market) + "microstructure: {latency_ms: 3000}\n",
        market(base_market) + "microstructure: {spread_multiplier: 3}\n",
        market(base_market) + "microstructure: {depth_multiplier: 0.05}\n",
        market(base_market).replace("dt_seconds: 60", "dt_seconds: 30"),
        market(base_market).replace("steps: 120", "steps: 100"),
    ];
    for yaml in variants {
        let other = checksums(&run(&case(&yaml), &[]));
        assert!(
            other.iter().zip(&base).all(|(a, b)| a != b),
            "unchanged by:\n{yaml}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// environment priority

#[test]
fn environment_priority_is_env_overrides_then_candidate_then_initial_state_then_defaults() {
    let text = "suite_id: t\nsuite_version: 1\nrepeat_runs: 1\nscenarios:\n  - id: p\n\
                \x20   horizon: {steps: 10, dt_seconds: 60}\n    seed: 1\n    market: {process: gbm, vol: 0.06, drift: 0}\n\
                \x20   initial_state: {profile: conservative, inventory_tao: 7}\n\
                \x20   env_overrides: {PARAPHINA_MM_SIZE_ETA: \"1.7\", PARAPHINA_INIT_Q_TAO: \"-3\"}\n";
    let s = suite::parse(text, "suite.yaml", Path::new(".")).unwrap();
    let layers = |candidate: &[(&str, &str)]| s.cases[0].layers(&overlay(candidate));
    let resolve =
        |candidate: &[(&str, &str)]| StrategyParams::resolve(&layers(candidate).effective());

    // Nothing from the candidate: the scenario's profile, the entry's overrides, defaults.
    let p = resolve(&[]);
    assert_eq!(p.profile, Profile::Conservative);
    assert_eq!(p.init_q_tao, -3.0, "env_overrides beat initial_state");
    assert_eq!(p.mm_size_eta, 1.7);
    assert_eq!(
        p.hedge_band_base,
        StrategyParams::resolve(&Overlay::default()).hedge_band_base,
        "profile default"
    );

    // The candidate beats the scenario's initial state, not the entry's overrides.
    let p = resolve(&[
        ("PARAPHINA_RISK_PROFILE", "aggressive"),
        ("PARAPHINA_MM_SIZE_ETA", "0.5"),
        ("PARAPHINA_INIT_Q_TAO", "12"),
        ("PARAPHINA_HEDGE_BAND_BASE", "0.11"),
    ]);
    assert_eq!(
        p.profile,
        Profile::Aggressive,
        "candidate beats initial_state"
    );
    assert_eq!(p.mm_size_eta, 1.7, "env_overrides beat the candidate");
    assert_eq!(p.init_q_tao, -3.0, "env_overrides beat the candidate");
    assert_eq!(
        p.hedge_band_base, 0.11,
        "candidate beats the profile default"
    );

    // Without overrides, the scenario's initial state applies under the candidate.
    let plain = case(
        "schema_version: 1\nid: q\nhorizon: {steps: 10, dt_seconds: 60}\nseeds: {base_seed: 1, num_seeds: 1}\n\
         initial_state: {profile: cons, inventory_tao: 7}\nmarket: {process: gbm, vol: 0.06, drift: 0}\n",
    );
    let eff = plain
        .layers(&overlay(&[("PARAPHINA_MM_SIZE_ETA", "0.9")]))
        .effective();
    let p = StrategyParams::resolve(&eff);
    assert_eq!(
        (p.profile, p.init_q_tao, p.mm_size_eta),
        (Profile::Conservative, 7.0, 0.9)
    );
    let r = run(&plain, &[("PARAPHINA_INIT_Q_TAO", "-2")]);
    assert_eq!(r.built.config.strategy.init_q_tao, -2.0);
    assert_eq!(
        r.built
            .overlay
            .raw()
            .get("PARAPHINA_INIT_Q_TAO")
            .map(String::as_str),
        Some("-2")
    );
}

// ---------------------------------------------------------------------------------------
// errors name file, line, column and key

fn scenario_err(yaml: &str) -> String {
    scenario::parse(yaml, "bad.yaml").unwrap_err().to_string()
}

const HEAD: &str = "schema_version: 1\nid: e\nhorizon: {steps: 100, dt_seconds: 60}\nseeds: {base_seed: 1, num_seeds: 2}\n";

#[test]
fn scenario_errors_are_one_line_with_file_line_column_key_and_what_is_accepted() {
    let gbm = "market: {process: gbm, vol: 0.06, drift: 0}\n";
    let cases: [(String, &str); 12] = [
        (
            format!("{HEAD}{gbm}colour: red\n"),
            "bad.yaml:6:1: colour: unknown field `colour`",
        ),
        (
            format!("{HEAD}market:\n  process: gbm\n  vol: high\n  drift: 0\n"),
            "bad.yaml:7:8: market.vol: invalid type: string \"high\"",
        ),
        (
            format!("{HEAD}market: {{process: levy, vol: 0.06, drift: 0}}\n"),
            "bad.yaml:5:19: market.process: unknown variant `levy`",
        ),
        (
            format!("{HEAD}{gbm}microstructure: {{spread_multiplier: 0}}\n"),
            "bad.yaml:6:37: microstructure.spread_multiplier: 0 given; expected a finite number > 0",
        ),
        (
            format!("{HEAD}market: {{process: gbm, vol: 0.06, drift: 0, jump_sigma: 0.1}}\n"),
            "bad.yaml:5:57: market.jump_sigma: processes gbm and binomial_walk have no jumps",
        ),
        (
            format!(
                "{HEAD}market: {{process: jump_diffusion, vol: 0.06, drift: 0, jump_intensity: 3}}\n"
            ),
            "bad.yaml:5:9: market: process jump_diffusion needs `jump_sigma`",
        ),
        (
            format!(
                "{HEAD}{gbm}shocks:\n  - {{type: vol_spike, start_tick: 90, duration_ticks: 20, multiplier: 2}}\n"
            ),
            "bad.yaml:7:35: shocks[0]: start_tick 90 + duration_ticks 20 ends at tick 110, outside the horizon of 100 steps",
        ),
        (
            format!(
                "{HEAD}{gbm}shocks:\n  - {{type: vol_spike, start_tick: 1, duration_ticks: 2, factor: 2}}\n"
            ),
            "bad.yaml:7:5: shocks[0].factor: a vol_spike shock has no `factor`",
        ),
        (
            format!(
                "{HEAD}{gbm}shocks:\n  - {{type: venue_outage, start_tick: 1, duration_ticks: 2, venue: nyse}}\n"
            ),
            "bad.yaml:7:67: shocks[0].venue: unknown venue \"nyse\"; known venues: extended, hyperliquid",
        ),
        (
            format!("{HEAD}{gbm}initial_state: {{profile: yolo}}\n"),
            "bad.yaml:6:26: initial_state.profile: PARAPHINA_RISK_PROFILE=\"yolo\": unknown risk profile; accepted: conservative",
        ),
        (
            HEAD.replace("schema_version: 1", "schema_version: 2") + gbm,
            "bad.yaml:1:17: schema_version: 2 given; this build reads scenario schema version 1",
        ),
        (
            format!("{HEAD}{gbm}").replace("num_seeds: 2", "num_seeds: 0"),
            "bad.yaml:4:34: seeds.num_seeds: 0 given; expected a whole number from 1 to 100000",
        ),
    ];
    for (yaml, expected) in cases {
        let e = scenario_err(&yaml);
        assert!(
            e.starts_with(expected),
            "got:      {e}\nexpected: {expected}..."
        );
        assert!(!e.contains('\n'));
    }
}

#[test]
fn suite_entry_rules_are_enforced_with_located_errors() {
    let err = |entries: &str| {
        let text = format!("suite_id: t\nsuite_version: 1\nrepeat_runs: 1\nscenarios:\n{entries}");
        suite::parse(&text, "s.yaml", Path::new("."))
            .unwrap_err()
            .to_string()
    };
    let m = "    market: {process: gbm, vol: 0.06, drift: 0}\n";
    let full = format!("  - id: a\n{ENTRY_BASE}{m}");
    let cases: [(String, &str); 7] = [
        (
            format!("  - id: a\n{m}"),
            "s.yaml:5:5: scenarios[0]: an inline scenario (no `path`) needs `horizon`",
        ),
        (
            format!("{full}    seed: 3\n"),
            "s.yaml:9:11: scenarios[0].seed: give `seed` or `seeds`, not both",
        ),
        (
            format!("{full}{full}"),
            "s.yaml:9:5: scenarios[1]: scenario id \"a\" is also the id of scenarios[0]",
        ),
        (
            format!("{full}    env_overrides: {{PARAPHINA_MM_SIZE_ETA: \"lots\"}}\n"),
            "s.yaml:9:44: scenarios[0].env_overrides.PARAPHINA_MM_SIZE_ETA: PARAPHINA_MM_SIZE_ETA=\"lots\": not accepted; expected a finite number in (0, 10]",
        ),
        (
            format!("{full}    env_overrides: {{PARAPHINA_SIZE: \"1\"}}\n"),
            "s.yaml:9:37: scenarios[0].env_overrides.PARAPHINA_SIZE: PARAPHINA_SIZE=\"1\": unknown PARAPHINA_* variable",
        ),
        (
            format!("{full}    adversarial_params: {{depth_collapse_factor: 2}}\n"),
            "s.yaml:9:49: scenarios[0].adversarial_params.depth_collapse_factor: 2 given; expected a factor in (0, 1]",
        ),
        (
            "  - path: nowhere.yaml\n".to_string(),
            "s.yaml:5:11: scenarios[0].path: cannot read scenario file ./nowhere.yaml: no such file",
        ),
    ];
    for (entries, expected) in cases {
        let e = err(&entries);
        assert!(
            e.starts_with(expected),
            "got:      {e}\nexpected: {expected}..."
        );
    }
    let conflict = format!(
        "suite_id: t\nsuite_version: 1\nrepeat_runs: 1\ninvariants: {{expect_kill_switch: never}}\nscenarios:\n{full}    invariants: {{expect_kill_switch: always}}\n"
    );
    let e = suite::parse(&conflict, "s.yaml", Path::new("."))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("expect_kill_switch: always conflicts with never"),
        "{e}"
    );
}

#[test]
fn entry_fields_replace_the_files_and_suite_invariants_tighten_them() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("base.yaml"),
        format!("{HEAD}market: {{process: gbm, vol: 0.06, drift: 0}}\ninitial_state: {{profile: aggressive, inventory_tao: 4}}\n\
                 invariants: {{min_final_pnl_usd: -500, max_drawdown_usd: 900}}\n"),
    )
    .unwrap();
    let text = "suite_id: t\nsuite_version: 1\nrepeat_runs: 1\ninvariants: {max_drawdown_usd: 300, min_final_pnl_usd: -900}\nscenarios:\n\
                \x20 - path: base.yaml\n  - path: base.yaml\n    id: other\n    seed: 40\n    profile: balanced\n    horizon: {steps: 50, dt_seconds: 30}\n";
    let s = suite::parse(text, "s.yaml", dir.path()).unwrap();
    let (a, b) = (&s.cases[0], &s.cases[1]);
    assert_eq!(
        a.invariants.max_drawdown_usd,
        Some(300.0),
        "the suite's is stricter"
    );
    assert_eq!(
        a.invariants.min_final_pnl_usd,
        Some(-500.0),
        "the scenario's is stricter"
    );
    assert_eq!(
        (
            b.id(),
            b.scenario.seeds.base_seed,
            b.scenario.seeds.num_seeds
        ),
        ("other", 40, 2)
    );
    assert_eq!(
        (b.scenario.horizon.steps, b.scenario.horizon.tick_ms),
        (50, 30_000)
    );
    let eff = b.layers(&Overlay::default()).effective();
    assert_eq!(eff.profile(), Some(Profile::Balanced));
    assert_eq!(
        eff.number(paraphina::config::Knob::InitQTao),
        Some(4.0),
        "the rest of initial_state stays"
    );
    assert_eq!(b.source.entry_fields, ["id", "seed", "profile", "horizon"]);
    assert_eq!(a.source.file.as_deref(), Some("base.yaml"));
}

// ---------------------------------------------------------------------------------------
// determinism

fn result(seed: u64) -> RunResult {
    let c = case(&scenario_yaml("{}", ""));
    let r = run(&c, &[]);
    let mut x = r.runs[0].clone();
    x.seed = seed;
    x
}

#[test]
fn repeat_comparison_names_every_differing_field() {
    let a = vec![result(5), result(6)];
    assert!(compare_repeat("s", 2, &a, &a.clone()).is_empty());

    let mut b = a.clone();
    b[1].final_pnl += 1e-9;
    b[1].path_checksum = "different".into();
    let m = compare_repeat("s", 2, &a, &b);
    assert_eq!(m.len(), 1);
    assert_eq!((m[0].repeat, m[0].seed), (2, 6));
    assert_eq!(m[0].fields, ["final_pnl", "path_checksum"]);
    assert_eq!(
        m[0].message,
        "FAIL s seed 6: determinism: repeat 2 differs from repeat 1 in final_pnl, path_checksum"
    );

    let mut c = a.clone();
    c[0].maker_fills += 1;
    c[0].kill_reason = Some(paraphina::strategy::risk::KillReason::DeltaHardBreach);
    assert_eq!(
        differing_fields(&a[0], &c[0]),
        ["kill_reason", "maker_fills"]
    );
    let missing = compare_repeat("s", 3, &a, &a[..1]);
    assert_eq!(
        (missing.len(), missing[0].seed),
        (1, 6),
        "a missing run is a mismatch"
    );
}

#[test]
fn repeats_of_a_scenario_agree() {
    let r = run_case(&case(&scenario_yaml("{}", "")), &Overlay::default(), 3).unwrap();
    assert!(r.determinism.passed && r.determinism.repeat_runs == 3 && r.passed());
}

// ---------------------------------------------------------------------------------------
// shipped files

#[test]
fn every_shipped_scenario_loads_and_the_profile_defaults_pass_it() {
    let dir = repo_root().join("scenarios/v1");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let (s, _) =
            scenario::load(&path, &path.display().to_string()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            path.file_stem().unwrap().to_str(),
            Some(s.id.as_str()),
            "file named after its id"
        );
        let c = Case::alone(
            s,
            Source {
                file: None,
                sha256: None,
                entry_fields: Vec::new(),
            },
        );
        let r = run_case(&c, &Overlay::default(), 1).unwrap();
        assert!(r.passed(), "{}: {:?}", path.display(), r.failure_lines());
        n += 1;
    }
    assert!(n >= 9, "{n} scenarios");
}

#[test]
fn shipped_suites_load_with_the_scenarios_the_design_names() {
    let load = |name: &str| {
        let p = repo_root().join("scenarios/suites").join(name);
        suite::load(&p, name).unwrap_or_else(|e| panic!("{e}"))
    };
    let ids = |s: &suite::Suite| {
        s.cases
            .iter()
            .map(|c| c.id().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        ids(&load("research_v1.yaml")),
        ["baseline_gbm", "jump_diffusion", "low_vol_drift"]
    );
    let adv = load("adversarial_regression_v1.yaml");
    assert_eq!(
        ids(&adv),
        [
            "vol_x2",
            "jumps_x3",
            "wide_spreads",
            "slow_venues",
            "depth_collapse",
            "venue_outages"
        ]
    );
    assert!(
        adv.cases
            .iter()
            .all(|c| c.invariants.max_loss_overshoot.is_some()),
        "the kill switch must hold everywhere"
    );
    assert!(adv.repeat_runs >= 2);
}

// ---------------------------------------------------------------------------------------
// seed streams (`sim_eval suite --seed-base S --num-seeds N`)

#[test]
fn a_seed_stream_gives_every_scenario_its_own_seeds() {
    let entries = format!("  - id: a\n{ENTRY_BASE}    market: {{process: gbm, vol: 0.06, drift: 0}}\n")
        + &format!("  - id: b\n{ENTRY_BASE}    market: {{process: gbm, vol: 0.06, drift: 0}}\n");
    let own = inline_suite(&entries);
    assert!(own.seed_stream.is_none());
    assert!(own.cases.iter().all(|c| c.scenario.seeds.base_seed == 21));
    let s = inline_suite(&entries).with_seed_stream(u64::MAX - 4, 5);
    let seeds: Vec<(u64, u64)> =
        s.cases.iter().map(|c| (c.scenario.seeds.base_seed, c.scenario.seeds.num_seeds)).collect();
    // Scenario j starts at base + j*N, wrapping at 2^64.
    assert_eq!(seeds, vec![(u64::MAX - 4, 5), (0, 5)]);
    let r = suite::run(&s, &Overlay::default()).unwrap();
    let used: Vec<u64> = r.runs.iter().flat_map(|c| c.runs.iter().map(|x| x.seed)).collect();
    assert_eq!(used, vec![u64::MAX - 4, u64::MAX - 3, u64::MAX - 2, u64::MAX - 1, u64::MAX, 0, 1, 2, 3, 4]);
    let stream = s.seed_stream.unwrap();
    assert_eq!((stream.base, stream.num_seeds), (u64::MAX - 4, 5));
}

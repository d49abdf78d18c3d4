//! The simulator against `simulator.md`: determinism, every knob's effect, trading
//! through the horizon, the kill switch, the calibration targets, and the contract of
//! the `monte_carlo` binary. Knob and calibration checks call `paraphina::calibration`,
//! the code behind `monte_carlo --calibration-report`, so the report and these tests
//! cannot disagree.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use paraphina::calibration::{
    self, CalibrationSpec, Direction, EXPERIMENTS, Experiment, Metric, Paired, RECKLESS,
    TIER_DD_CVAR, TIER_KILL_UCB, TIER_PNL_LCB,
};
use paraphina::config::{Knob, Overlay, SimConfig};
use paraphina::mc;
use paraphina::sim::{Model, RunResult};
use paraphina::strategy::risk::KillReason;
use paraphina::stress::CompiledStress;
use serde_json::Value;
use tempfile::TempDir;

// ---------------------------------------------------------------------------------------
// helpers

fn config(ticks: u64, pairs: &[(&str, &str)]) -> SimConfig {
    SimConfig::new(ticks, &Overlay::from_pairs(pairs.iter().copied()).unwrap())
}

fn batch(cfg: &SimConfig, runs: u64, seed: u64) -> Vec<RunResult> {
    mc::run_batch(
        &Model::new(cfg, CompiledStress::none()).unwrap(),
        runs,
        seed,
    )
}

/// Runs the real binary with only the `PARAPHINA_*` variables given, whatever the
/// environment of the test process holds.
fn monte_carlo(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_monte_carlo"));
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("PARAPHINA_") {
            cmd.env_remove(k);
        }
    }
    cmd.args(args).envs(env.iter().copied()).output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs `monte_carlo` into `dir` and insists that it succeeded.
fn mc_output(dir: &Path, runs: u64, ticks: u64, seed: u64, threads: u16, env: &[(&str, &str)]) {
    let out = monte_carlo(
        &[
            "--runs",
            &runs.to_string(),
            "--ticks",
            &ticks.to_string(),
            "--seed",
            &seed.to_string(),
            "--threads",
            &threads.to_string(),
            "--quiet",
            "--output-dir",
            dir.to_str().unwrap(),
        ],
        env,
    );
    assert!(out.status.success(), "monte_carlo failed: {}", stderr(&out));
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&fs::read(path).unwrap()).unwrap()
}

fn read_runs(dir: &Path) -> Vec<Value> {
    fs::read_to_string(dir.join("mc_runs.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn keys(v: &Value) -> BTreeSet<&str> {
    v.as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .map(String::as_str)
        .collect()
}

fn set<'a>(names: &[&'a str]) -> BTreeSet<&'a str> {
    names.iter().copied().collect()
}

fn assert_close(what: &str, got: &Value, want: f64) {
    let got = got
        .as_f64()
        .unwrap_or_else(|| panic!("{what}: not a number: {got}"));
    let tol = 1e-9 * want.abs().max(1.0);
    assert!(
        (got - want).abs() <= tol,
        "{what}: summary {got}, recomputed {want}"
    );
}

// Independent reference statistics, written from the definitions in simulator.md rather
// than shared with the library, so a wrong formula in `stats` cannot agree with itself.

fn ref_mean(x: &[f64]) -> f64 {
    x.iter().sum::<f64>() / x.len() as f64
}

fn ref_std(x: &[f64]) -> f64 {
    let m = ref_mean(x);
    (x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (x.len() - 1) as f64).sqrt()
}

/// numpy.quantile(x, p) with the default "linear" method.
fn ref_quantile(x: &[f64], p: f64) -> f64 {
    let mut s = x.to_vec();
    s.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let h = (s.len() - 1) as f64 * p;
    let (lo, frac) = (h.floor() as usize, h - h.floor());
    if lo + 1 < s.len() {
        s[lo] + frac * (s[lo + 1] - s[lo])
    } else {
        s[lo]
    }
}

fn ref_wilson(k: f64, n: f64) -> (f64, f64) {
    let z = 1.959_964;
    let p = k / n;
    let denom = 1.0 + z * z / n;
    let center = p + z * z / (2.0 * n);
    let half = z * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt();
    (
        ((center - half) / denom).max(0.0),
        ((center + half) / denom).min(1.0),
    )
}

// ---------------------------------------------------------------------------------------
// determinism

#[test]
fn same_seed_gives_identical_run_results() {
    for pairs in [
        &[][..],
        RECKLESS,
        &[
            ("PARAPHINA_INIT_Q_TAO", "-30"),
            ("PARAPHINA_HEDGE_BAND_BASE", "0.02"),
        ],
    ] {
        let model = Model::new(&config(600, pairs), CompiledStress::none()).unwrap();
        for seed in [0, 1, 42, u64::MAX] {
            assert_eq!(
                model.run(seed, 3),
                model.run(seed, 3),
                "{pairs:?}, seed {seed}"
            );
        }
    }
}

#[test]
fn run_batch_is_identical_on_one_and_on_two_threads() {
    let model = Model::new(&config(300, RECKLESS), CompiledStress::none()).unwrap();
    let on = |threads| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| mc::run_batch(&model, 200, 9))
    };
    let (one, two) = (on(1), on(2));
    assert_eq!(one.len(), 200);
    assert_eq!(one, two);
    for (i, r) in one.iter().enumerate() {
        assert_eq!((r.run_index, r.seed), (i as u64, 9 + i as u64));
    }
}

#[test]
fn monte_carlo_outputs_are_byte_identical_on_one_and_two_threads() {
    let tmp = TempDir::new().unwrap();
    let (a, b) = (tmp.path().join("t1"), tmp.path().join("t2"));
    let env = [("PARAPHINA_MM_SIZE_ETA", "1.5")];
    mc_output(&a, 200, 300, 5, 1, &env);
    mc_output(&b, 200, 300, 5, 2, &env);
    for file in [
        "mc_runs.jsonl",
        "mc_summary.json",
        "monte_carlo.yaml",
        "evidence_pack/SHA256SUMS",
    ] {
        let (x, y) = (
            fs::read(a.join(file)).unwrap(),
            fs::read(b.join(file)).unwrap(),
        );
        assert!(!x.is_empty(), "{file} is empty");
        assert!(x == y, "{file} differs between --threads 1 and --threads 2");
    }
}

#[test]
fn different_seeds_give_different_runs() {
    let results = batch(&config(600, &[]), 50, 1);
    let paths: BTreeSet<&str> = results.iter().map(|r| r.path_checksum.as_str()).collect();
    let pnls: BTreeSet<u64> = results.iter().map(|r| r.final_pnl.to_bits()).collect();
    let volumes: BTreeSet<u64> = results
        .iter()
        .map(|r| r.maker_volume_tao.to_bits())
        .collect();
    assert_eq!((paths.len(), pnls.len(), volumes.len()), (50, 50, 50));
}

// ---------------------------------------------------------------------------------------
// every knob matters, in the direction of simulator.md's table, where it binds

fn assert_knob_moves_the_metrics(knob: Knob) {
    let spec = CalibrationSpec::default();
    let experiments: Vec<&Experiment> = EXPERIMENTS.iter().filter(|e| e.knob == knob).collect();
    assert!(
        !experiments.is_empty(),
        "no experiment for {}",
        knob.var_name()
    );
    for e in experiments {
        let effect = e.measure(&spec).unwrap();
        for c in &effect.checks {
            assert!(
                c.pass,
                "{} {} -> {} ({}): {} expected {:?}, paired diff {:+.4} with se {:.4} ({:.1} se; needs {} in that direction)",
                knob.var_name(),
                e.low,
                e.high,
                e.setting,
                c.metric.name(),
                c.expected,
                c.paired.diff_mean,
                c.paired.diff_se,
                c.paired.t(),
                calibration::SIGNIFICANCE_SE
            );
        }
        assert!(effect.pass());
    }
}

#[test]
fn risk_profile_allows_more_inventory_volume_and_drawdown_in_order() {
    assert_knob_moves_the_metrics(Knob::RiskProfile);
}

#[test]
fn hedge_band_base_trades_hedging_cost_for_inventory_and_drawdown() {
    assert_knob_moves_the_metrics(Knob::HedgeBandBase);
}

#[test]
fn mm_size_eta_adds_volume_inventory_and_drawdown() {
    assert_knob_moves_the_metrics(Knob::MmSizeEta);
}

#[test]
fn vol_ref_keeps_quotes_tighter_and_larger() {
    assert_knob_moves_the_metrics(Knob::VolRef);
}

#[test]
fn daily_loss_limit_trades_kills_for_deeper_drawdowns_where_it_is_reached() {
    assert_knob_moves_the_metrics(Knob::DailyLossLimit);
}

#[test]
fn init_q_tao_of_either_sign_adds_hedging_cost_and_lowers_pnl() {
    assert_knob_moves_the_metrics(Knob::InitQTao);
}

#[test]
fn hedge_max_step_de_risks_faster_at_more_cost_where_it_caps_the_hedge() {
    assert_knob_moves_the_metrics(Knob::HedgeMaxStep);
}

#[test]
fn a_knob_that_changes_nothing_fails_its_test() {
    let spec = CalibrationSpec {
        runs: 100,
        ticks: 300,
        seed: 1,
    };
    let inert = Experiment {
        knob: Knob::HedgeMaxStep,
        setting: "the same value on both sides",
        base: &[("PARAPHINA_INIT_Q_TAO", "30")],
        low: "10",
        high: "10",
        expect: &[
            (Metric::MeanAbsQ, Direction::Down),
            (Metric::TakerCost, Direction::Up),
        ],
    };
    let effect = inert.measure(&spec).unwrap();
    assert!(!effect.pass());
    for c in &effect.checks {
        assert!(!c.pass);
        assert_eq!((c.paired.diff_mean, c.paired.diff_se), (0.0, 0.0));
        assert!(c.paired.t().is_nan());
    }
}

#[test]
fn a_knob_moving_the_wrong_way_fails_its_test() {
    let spec = CalibrationSpec {
        runs: 100,
        ticks: 300,
        seed: 1,
    };
    let backwards = Experiment {
        knob: Knob::MmSizeEta,
        setting: "defaults",
        base: &[],
        low: "0.5",
        high: "2.0",
        expect: &[(Metric::MakerVolume, Direction::Down)],
    };
    let effect = backwards.measure(&spec).unwrap();
    assert!(!effect.pass());
    assert!(effect.checks[0].paired.t() > calibration::SIGNIFICANCE_SE);
}

#[test]
#[should_panic(expected = "paired batches run the same seeds")]
fn pairing_batches_of_different_seeds_is_refused() {
    let cfg = config(50, &[]);
    Paired::measure(&batch(&cfg, 5, 1), &batch(&cfg, 5, 2), Metric::FinalPnl);
}

// ---------------------------------------------------------------------------------------
// trading through the horizon

#[test]
fn runs_not_killed_trade_through_the_whole_horizon() {
    let ticks = 600;
    let settings: [&[(&str, &str)]; 6] = [
        &[],
        &[("PARAPHINA_RISK_PROFILE", "conservative")],
        &[("PARAPHINA_RISK_PROFILE", "aggressive")],
        &[
            ("PARAPHINA_MM_SIZE_ETA", "0.5"),
            ("PARAPHINA_VOL_REF", "0.05"),
        ],
        &[
            ("PARAPHINA_INIT_Q_TAO", "-30"),
            ("PARAPHINA_HEDGE_MAX_STEP", "5"),
        ],
        RECKLESS,
    ];
    for pairs in settings {
        let results = batch(&config(ticks, pairs), 200, 1);
        let survivors: Vec<&RunResult> = results.iter().filter(|r| !r.killed).collect();
        assert!(
            survivors.len() >= 150,
            "{pairs:?}: only {} of 200 runs survive",
            survivors.len()
        );
        for r in survivors {
            assert_eq!(r.ticks_executed, ticks, "{pairs:?}, seed {}", r.seed);
            let last = r
                .last_fill_tick
                .unwrap_or_else(|| panic!("{pairs:?}, seed {}: no fill at all", r.seed));
            assert!(
                last >= ticks - ticks / 10,
                "{pairs:?}, seed {}: last fill at tick {last} of {ticks}",
                r.seed
            );
            assert!(calibration::trades_to_the_end(r, ticks));
        }
    }
}

// ---------------------------------------------------------------------------------------
// the kill switch

/// Killed runs of the reckless settings, with the limit that applied.
fn reckless_kills(cfg: &SimConfig) -> (f64, usize, Vec<RunResult>) {
    let results = batch(cfg, 400, 1);
    let n = results.len();
    (
        cfg.strategy.daily_loss_limit_usd,
        n,
        results.into_iter().filter(|r| r.killed).collect(),
    )
}

#[test]
fn kill_switch_fires_for_reckless_settings_and_stops_the_run() {
    let (limit, n, killed) = reckless_kills(&config(600, RECKLESS));
    assert_eq!(limit, 500.0);
    // Measured 49 of 400 (12 %); 5 % is far outside its sampling noise (se 1.6 %).
    assert!(
        killed.len() * 20 > n,
        "only {} of {n} runs killed",
        killed.len()
    );
    for r in &killed {
        assert_eq!(
            r.kill_reason,
            Some(KillReason::PnlHardBreach),
            "seed {}",
            r.seed
        );
        let tick = r.kill_tick.unwrap();
        assert_eq!(
            r.ticks_executed, tick,
            "seed {}: the run goes on after its kill",
            r.seed
        );
        assert!(
            r.last_fill_tick.is_none_or(|t| t < tick),
            "seed {}: a maker fill after the kill",
            r.seed
        );
        // The switch fires on the breach, not before: flattening only adds cost.
        assert!(
            r.final_pnl <= -limit,
            "seed {}: killed at {} above -{limit}",
            r.seed,
            r.final_pnl
        );
    }
}

#[test]
fn kill_switch_loss_beyond_the_limit_is_one_tick_of_gap() {
    // The check runs once a tick at fair value, so a price jump between two checks lands
    // whole: the default market jumps 3 times a day with log size sd 0.08 (about 20 USD
    // per TAO per sd at 250 USD), on the inventory held plus the quotes informed flow
    // fills just before the jump (up to five venues x 2.6 TAO here). At the 10-25 TAO
    // held when these runs die that is 0.4-1.0 of the 500 USD limit per sd of jump.
    // Measured over these 400 seeds: median 0.14, p90 0.71, worst 1.53; over 20 000
    // seeds the worst was 2.73. This is gap risk, not slippage of the switch: the same
    // settings without jumps are never killed at all (below).
    const GAP_OVERSHOOT: f64 = 3.0;
    let (limit, _, killed) = reckless_kills(&config(600, RECKLESS));
    assert!(!killed.is_empty());
    for r in &killed {
        assert!(
            r.final_pnl >= -limit * (1.0 + GAP_OVERSHOOT),
            "seed {}: final pnl {} beyond -{limit} x (1 + {GAP_OVERSHOOT})",
            r.seed,
            r.final_pnl
        );
    }
    let mut no_jumps = config(600, RECKLESS);
    no_jumps.market.jump_intensity = 0.0;
    assert_eq!(reckless_kills(&no_jumps).2.len(), 0, "kills without jumps");
}

#[test]
fn kill_switch_overshoot_is_small_where_prices_move_continuously() {
    // Without jumps and with volatility 0.3 a day (so that diffusion reaches the limit),
    // what lies beyond the limit is one tick of diffusion, 0.3 / sqrt(1440) x 250 = 2 USD
    // per TAO per sd, on at most ~18 TAO, plus the exit (half-spread 0.2, impact and a
    // 5 bps fee: about 0.5 USD per TAO): 2.5 sd and the exit make 0.2 of the limit.
    // Measured over these 400 seeds: every run killed, worst overshoot 0.071 (0.11 over
    // 20 000 seeds).
    const DIFFUSION_OVERSHOOT: f64 = 0.2;
    let mut cfg = config(600, RECKLESS);
    cfg.market.jump_intensity = 0.0;
    cfg.market.vol = 0.3;
    let (limit, n, killed) = reckless_kills(&cfg);
    assert!(killed.len() * 2 > n, "only {} of {n} killed", killed.len());
    for r in &killed {
        assert_eq!(r.kill_reason, Some(KillReason::PnlHardBreach));
        assert!(
            (-limit * (1.0 + DIFFUSION_OVERSHOOT)..=-limit).contains(&r.final_pnl),
            "seed {}: final pnl {} against limit {limit}",
            r.seed,
            r.final_pnl
        );
    }
}

// ---------------------------------------------------------------------------------------
// calibration

#[test]
fn calibration_targets_hold_on_the_owners_seed_schedule() {
    let report = calibration::calibrate(&CalibrationSpec::default()).unwrap();
    let failed: Vec<String> = report
        .targets
        .iter()
        .filter(|t| !t.pass)
        .map(|t| format!("{}: {}", t.id, t.measured))
        .collect();
    assert!(
        failed.is_empty(),
        "calibration targets failed:\n{}",
        failed.join("\n")
    );

    // The same targets, spelled out on the structured result.
    let d = report.defaults();
    assert_eq!(d.runs, 400);
    assert!(d.pnl_mean > 0.0 && d.pnl_std > 0.0, "{d:?}");
    assert!(d.kill_rate > 0.0 && d.kill_rate < 0.10, "{d:?}");
    assert!((100.0..1000.0).contains(&d.dd_cvar), "{d:?}");
    let [c, b, a] = [
        &report.profiles[0],
        &report.profiles[1],
        &report.profiles[2],
    ];
    assert_eq!(
        [c.label.as_str(), b.label.as_str(), a.label.as_str()],
        ["conservative", "balanced", "aggressive"]
    );
    assert!(c.max_abs_q_mean < b.max_abs_q_mean && b.max_abs_q_mean < a.max_abs_q_mean);
    assert!(c.dd_cvar < b.dd_cvar && b.dd_cvar < a.dd_cvar);
    for knob in Knob::ALL {
        assert!(
            report
                .target(&format!("knob.{}", knob.var_name()))
                .is_some_and(|t| t.pass),
            "{knob:?}"
        );
    }
    let k = &report.kill_case;
    assert!(k.stats.kill_count > 0 && k.all_stopped && k.all_at_breach);
    assert_eq!(k.reasons.keys().collect::<Vec<_>>(), ["PnlHardBreach"]);

    let text = report.to_string();
    assert_eq!(
        text.lines().filter(|l| l.starts_with("PASS ")).count(),
        report.targets.len()
    );
    assert!(!text.contains("\nFAIL "));
}

#[test]
fn balanced_defaults_have_a_nonzero_kill_rate_below_ten_percent_on_more_seeds() {
    // 400 runs see 7 kills; on 2000 fresh seeds the rate must stay inside (0, 10 %) too.
    let results = batch(&config(600, &[]), 2000, 10_001);
    let kills = results.iter().filter(|r| r.killed).count();
    assert!(
        kills > 0 && kills * 10 < results.len(),
        "{kills} of {}",
        results.len()
    );
}

#[test]
fn tier_constants_agree_with_configs_budgets_yaml() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs/budgets.yaml");
    let yaml: Value = serde_saphyr::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
    let tiers = yaml["tiers"].as_object().unwrap();
    let column =
        |key: &str| -> Vec<f64> { tiers.values().map(|t| t[key].as_f64().unwrap()).collect() };
    let span = |v: Vec<f64>| {
        (
            v.iter().copied().fold(f64::INFINITY, f64::min),
            v.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        )
    };
    assert_eq!(
        span(column("min_pnl_lcb_usd")),
        (TIER_PNL_LCB.loosest, TIER_PNL_LCB.strictest)
    );
    assert_eq!(
        span(column("max_dd_cvar")),
        (TIER_DD_CVAR.strictest, TIER_DD_CVAR.loosest)
    );
    assert_eq!(
        span(column("max_kill_ucb")),
        (TIER_KILL_UCB.strictest, TIER_KILL_UCB.loosest)
    );
    assert_eq!(yaml["alpha"].as_f64(), Some(0.05));
}

#[test]
fn calibration_report_prints_tables_and_a_pass_line_per_target() {
    let out = monte_carlo(&["--calibration-report", "--threads", "2"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    for heading in [
        "## Profiles",
        "## Corners",
        "## Knob effects",
        "## Reckless kill case",
        "## Calibration targets",
    ] {
        assert!(text.contains(heading), "no {heading:?} in\n{text}");
    }
    let verdicts: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("PASS ") || l.starts_with("FAIL "))
        .collect();
    assert!(verdicts.len() >= 7 + 4, "{verdicts:?}");
    assert!(
        verdicts.iter().all(|l| l.starts_with("PASS ")),
        "{verdicts:?}"
    );
    // The binary prints the library's report, and nothing else.
    assert_eq!(
        text,
        calibration::calibrate(&CalibrationSpec::default())
            .unwrap()
            .to_string()
    );
}

#[test]
fn calibration_report_refuses_an_overlay_and_too_few_runs() {
    let out = monte_carlo(&["--calibration-report"], &[("PARAPHINA_MM_SIZE_ETA", "2")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("PARAPHINA_MM_SIZE_ETA"),
        "{}",
        stderr(&out)
    );
    let out = monte_carlo(&["--calibration-report", "--runs", "1"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("at least 2"), "{}", stderr(&out));
}

// ---------------------------------------------------------------------------------------
// the monte_carlo binary's contract

#[test]
fn monte_carlo_rejects_zero_runs_and_zero_ticks() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path().join("out");
    for (runs, ticks) in [("0", "10"), ("10", "0")] {
        let out = monte_carlo(
            &[
                "--runs",
                runs,
                "--ticks",
                ticks,
                "--seed",
                "1",
                "--output-dir",
                dir.to_str().unwrap(),
            ],
            &[],
        );
        assert_eq!(
            out.status.code(),
            Some(2),
            "--runs {runs} --ticks {ticks}: {}",
            stderr(&out)
        );
        assert!(
            !dir.exists(),
            "outputs written for --runs {runs} --ticks {ticks}"
        );
    }
}

#[test]
fn monte_carlo_rejects_an_output_dir_under_a_regular_file() {
    let tmp = TempDir::new().unwrap();
    let file = tmp.path().join("file");
    fs::write(&file, "not a directory").unwrap();
    let dir = file.join("out");
    let out = monte_carlo(
        &[
            "--runs",
            "2",
            "--ticks",
            "10",
            "--seed",
            "1",
            "--output-dir",
            dir.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(dir.to_str().unwrap()),
        "{}",
        stderr(&out)
    );
}

#[test]
fn monte_carlo_rejects_a_bad_knob_value_in_one_line_naming_variable_value_and_range() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path().join("out");
    for (name, value, accepted) in [
        ("PARAPHINA_MM_SIZE_ETA", "abc", "(0, 10]"),
        ("PARAPHINA_MM_SIZE_ETA", "0", "(0, 10]"),
        ("PARAPHINA_HEDGE_BAND_BASE", "-0.1", "(0, 1]"),
        ("PARAPHINA_VOL_REF", "nan", "(0, 5]"),
        ("PARAPHINA_DAILY_LOSS_LIMIT", "inf", "(0, 1000000000]"),
        ("PARAPHINA_INIT_Q_TAO", "1e5", "[-10000, 10000]"),
        ("PARAPHINA_HEDGE_MAX_STEP", "", "(0, 10000]"),
        (
            "PARAPHINA_RISK_PROFILE",
            "yolo",
            "conservative, balanced, aggressive",
        ),
    ] {
        let out = monte_carlo(
            &[
                "--runs",
                "2",
                "--ticks",
                "10",
                "--seed",
                "1",
                "--output-dir",
                dir.to_str().unwrap(),
            ],
            &[(name, value)],
        );
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{name}={value:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{name}={value:?}: {err}");
        for part in [name, &format!("{value:?}"), accepted] {
            assert!(
                err.contains(part),
                "{name}={value:?}: {part:?} missing from {err}"
            );
        }
        assert!(!dir.exists(), "{name}={value:?}: outputs written");
    }
}

#[test]
fn monte_carlo_rejects_an_unknown_paraphina_name() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path().join("out");
    let out = monte_carlo(
        &[
            "--runs",
            "2",
            "--ticks",
            "10",
            "--seed",
            "1",
            "--output-dir",
            dir.to_str().unwrap(),
        ],
        &[("PARAPHINA_MM_SIZE", "1.0")],
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("PARAPHINA_MM_SIZE=") && err.contains("PARAPHINA_MM_SIZE_ETA"),
        "{err}"
    );
    assert!(!dir.exists());
}

#[test]
fn fresh_output_passes_sha256sum_check() {
    let have = Command::new("sha256sum")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !have {
        eprintln!("sha256sum not found: skipping the check with the real tool");
        return;
    }
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path().join("out");
    mc_output(&dir, 20, 100, 3, 2, &[]);
    let out = Command::new("sha256sum")
        .args(["-c", "--strict", "evidence_pack/SHA256SUMS"])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        stderr(&out)
    );
    let listed = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.ends_with(": OK"))
        .count();
    assert_eq!(
        listed, 3,
        "mc_runs.jsonl, mc_summary.json and monte_carlo.yaml are listed"
    );
}

#[test]
fn summary_has_exactly_the_documented_layout() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path().join("out");
    let env = [
        ("PARAPHINA_RISK_PROFILE", "agg"),
        ("PARAPHINA_HEDGE_BAND_BASE", "0.1"),
    ];
    mc_output(&dir, 30, 100, 11, 2, &env);
    let s = read_json(&dir.join("mc_summary.json"));
    let dist = set(&["mean", "std", "min", "max", "p05", "p50", "p95"]);
    let quantiles = set(&["p01", "p05", "p50", "p95", "p99"]);
    assert_eq!(
        keys(&s),
        set(&["schema_version", "config", "aggregate", "tail_risk"])
    );
    assert_eq!(s["schema_version"], 1);

    let c = &s["config"];
    assert_eq!(
        keys(c),
        set(&[
            "runs",
            "ticks",
            "seed",
            "tick_ms",
            "profile",
            "overlay",
            "effective"
        ])
    );
    assert_eq!(
        (c["runs"].as_u64(), c["ticks"].as_u64(), c["seed"].as_u64()),
        (Some(30), Some(100), Some(11))
    );
    assert_eq!(c["tick_ms"], 60_000);
    assert_eq!(c["profile"], "aggressive");
    assert_eq!(
        c["overlay"],
        serde_json::json!({"PARAPHINA_HEDGE_BAND_BASE": "0.1", "PARAPHINA_RISK_PROFILE": "agg"})
    );
    assert_eq!(
        c["effective"],
        serde_json::to_value(config(100, &env)).unwrap()
    );

    let a = &s["aggregate"];
    assert_eq!(
        keys(a),
        set(&[
            "pnl",
            "max_drawdown",
            "kill_count",
            "kill_rate",
            "maker_volume_tao",
            "hedge_volume_tao",
            "fees_usd",
            "max_abs_q_tao",
            "final_q_tao"
        ])
    );
    assert_eq!(keys(&a["final_q_tao"]), set(&["mean", "std"]));
    assert_eq!(keys(&a["pnl"]), dist);
    assert_eq!(keys(&a["max_drawdown"]), dist);
    for mean_only in ["maker_volume_tao", "hedge_volume_tao", "fees_usd"] {
        assert_eq!(keys(&a[mean_only]), set(&["mean"]), "{mean_only}");
    }
    assert_eq!(keys(&a["max_abs_q_tao"]), set(&["mean", "max"]));

    let t = &s["tail_risk"];
    assert_eq!(
        keys(t),
        set(&[
            "alpha",
            "pnl_quantiles",
            "pnl_var_cvar",
            "max_drawdown_quantiles",
            "max_drawdown_var_cvar",
            "kill_probability"
        ])
    );
    assert_eq!(t["alpha"], 0.95);
    assert_eq!(keys(&t["pnl_quantiles"]), quantiles);
    assert_eq!(keys(&t["max_drawdown_quantiles"]), quantiles);
    assert_eq!(keys(&t["pnl_var_cvar"]), set(&["var", "cvar"]));
    assert_eq!(keys(&t["max_drawdown_var_cvar"]), set(&["var", "cvar"]));
    assert_eq!(
        keys(&t["kill_probability"]),
        set(&[
            "point_estimate",
            "kill_count",
            "total_runs",
            "ci_lower",
            "ci_upper",
            "ci_level"
        ])
    );
    assert_eq!(t["kill_probability"]["ci_level"], 0.95);

    let documented = set(&[
        "run_index",
        "seed",
        "final_pnl",
        "max_drawdown",
        "killed",
        "kill_reason",
        "kill_tick",
        "ticks_executed",
        "maker_fills",
        "maker_volume_tao",
        "hedge_volume_tao",
        "fees_usd",
        "max_abs_q_tao",
    ]);
    for (i, run) in read_runs(&dir).iter().enumerate() {
        assert!(
            keys(run).is_superset(&documented),
            "run {i}: {:?}",
            keys(run)
        );
        assert_eq!(
            (run["run_index"].as_u64(), run["seed"].as_u64()),
            (Some(i as u64), Some(11 + i as u64))
        );
    }
}

#[test]
fn summary_statistics_agree_with_values_recomputed_from_mc_runs() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path().join("out");
    // Reckless settings, so the kill probability is not a degenerate 0 of n.
    mc_output(&dir, 250, 300, 21, 2, RECKLESS);
    let runs = read_runs(&dir);
    let s = read_json(&dir.join("mc_summary.json"));
    let col = |key: &str| -> Vec<f64> { runs.iter().map(|r| r[key].as_f64().unwrap()).collect() };
    let (pnl, dd) = (col("final_pnl"), col("max_drawdown"));
    let n = runs.len() as f64;
    let kills = runs.iter().filter(|r| r["killed"] == true).count() as f64;
    assert!(kills > 0.0, "the reckless batch has kills");

    let a = &s["aggregate"];
    for (name, x) in [("pnl", &pnl), ("max_drawdown", &dd)] {
        let d = &a[name];
        assert_close(&format!("{name}.mean"), &d["mean"], ref_mean(x));
        assert_close(&format!("{name}.std"), &d["std"], ref_std(x));
        assert_close(&format!("{name}.min"), &d["min"], ref_quantile(x, 0.0));
        assert_close(&format!("{name}.max"), &d["max"], ref_quantile(x, 1.0));
        for (key, p) in [("p05", 0.05), ("p50", 0.5), ("p95", 0.95)] {
            assert_close(&format!("{name}.{key}"), &d[key], ref_quantile(x, p));
        }
    }
    assert_eq!(a["kill_count"].as_f64(), Some(kills));
    assert_close("kill_rate", &a["kill_rate"], kills / n);
    for key in ["maker_volume_tao", "hedge_volume_tao", "fees_usd"] {
        assert_close(key, &a[key]["mean"], ref_mean(&col(key)));
    }
    let q = col("max_abs_q_tao");
    assert_close(
        "max_abs_q_tao.mean",
        &a["max_abs_q_tao"]["mean"],
        ref_mean(&q),
    );
    assert_close(
        "max_abs_q_tao.max",
        &a["max_abs_q_tao"]["max"],
        ref_quantile(&q, 1.0),
    );

    let t = &s["tail_risk"];
    for (name, x) in [("pnl_quantiles", &pnl), ("max_drawdown_quantiles", &dd)] {
        for (key, p) in [
            ("p01", 0.01),
            ("p05", 0.05),
            ("p50", 0.5),
            ("p95", 0.95),
            ("p99", 0.99),
        ] {
            assert_close(&format!("{name}.{key}"), &t[name][key], ref_quantile(x, p));
        }
    }
    // PnL: VaR is the 5th percentile, CVaR the mean of the runs at or below it.
    let pnl_var = ref_quantile(&pnl, 0.05);
    let low: Vec<f64> = pnl.iter().copied().filter(|x| *x <= pnl_var).collect();
    assert_close("pnl_var_cvar.var", &t["pnl_var_cvar"]["var"], pnl_var);
    assert_close(
        "pnl_var_cvar.cvar",
        &t["pnl_var_cvar"]["cvar"],
        ref_mean(&low),
    );
    // Drawdown: VaR is the 95th percentile, CVaR the mean of the worst drawdowns.
    let dd_var = ref_quantile(&dd, 0.95);
    let worst: Vec<f64> = dd.iter().copied().filter(|x| *x >= dd_var).collect();
    assert_close(
        "max_drawdown_var_cvar.var",
        &t["max_drawdown_var_cvar"]["var"],
        dd_var,
    );
    assert_close(
        "max_drawdown_var_cvar.cvar",
        &t["max_drawdown_var_cvar"]["cvar"],
        ref_mean(&worst),
    );

    let kp = &t["kill_probability"];
    let (lo, hi) = ref_wilson(kills, n);
    assert_close(
        "kill_probability.point_estimate",
        &kp["point_estimate"],
        kills / n,
    );
    assert_eq!(
        (kp["kill_count"].as_f64(), kp["total_runs"].as_f64()),
        (Some(kills), Some(n))
    );
    // z = 1.959964 here against the library's longer constant: agreement to 1e-6.
    for (key, want) in [("ci_lower", lo), ("ci_upper", hi)] {
        let got = kp[key].as_f64().unwrap();
        assert!(
            (got - want).abs() < 1e-6,
            "{key}: summary {got}, recomputed {want}"
        );
    }
    assert!(lo > 0.0 && hi < 1.0);
}

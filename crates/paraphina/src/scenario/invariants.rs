//! Invariants: what every seed of a scenario must satisfy, how a suite's invariants and a
//! scenario's combine (the stricter wins), and the verdicts with observed values and
//! limits.
//!
//! Every check is made per seed and fails closed: a non-finite PnL or drawdown fails.

use serde::Serialize;
use serde_json::{Value, json};

use crate::input::{InputError, Place};
use crate::sim::RunResult;

pub use super::schema::KillExpectation;

/// The invariants that apply to a scenario.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Invariants {
    pub expect_kill_switch: KillExpectation,
    /// Every seed's final PnL must be at least this (USD).
    pub min_final_pnl_usd: Option<f64>,
    /// Every seed's max drawdown must be at most this (USD).
    pub max_drawdown_usd: Option<f64>,
    /// Every seed's final PnL must be at least `−daily_loss_limit × (1 + this)`: the kill
    /// switch holds, flattening included.
    pub max_loss_overshoot: Option<f64>,
    /// Where `expect_kill_switch` was set, for a conflict message.
    #[serde(skip)]
    pub kill_place: Option<Place>,
}

impl Default for Invariants {
    fn default() -> Self {
        Invariants {
            expect_kill_switch: KillExpectation::Allowed,
            min_final_pnl_usd: None,
            max_drawdown_usd: None,
            max_loss_overshoot: None,
            kill_place: None,
        }
    }
}

impl Invariants {
    /// Both sets of invariants at once: for each limit the stricter one. `never` and
    /// `always` cannot both hold, which is an error naming both places.
    pub fn stricter(&self, other: &Invariants) -> Result<Invariants, InputError> {
        use KillExpectation::*;
        let (expect, place) = match (self.expect_kill_switch, other.expect_kill_switch) {
            (Allowed, _) => (other.expect_kill_switch, other.kill_place.clone()),
            (a, Allowed) => (a, self.kill_place.clone()),
            (a, b) if a == b => (a, self.kill_place.clone()),
            (a, b) => {
                let name = |p: &Option<Place>| {
                    p.as_ref()
                        .map_or("(unknown place)".to_string(), Place::to_string)
                };
                return Err(InputError(format!(
                    "{}: expect_kill_switch: {} conflicts with {} at {}; a scenario cannot expect both, \
                     so set one of them to `allowed` or make them agree",
                    name(&self.kill_place),
                    kind_name(a),
                    kind_name(b),
                    name(&other.kill_place)
                )));
            }
        };
        let pick = |a: Option<f64>, b: Option<f64>, f: fn(f64, f64) -> f64| match (a, b) {
            (Some(x), Some(y)) => Some(f(x, y)),
            (x, y) => x.or(y),
        };
        Ok(Invariants {
            expect_kill_switch: expect,
            min_final_pnl_usd: pick(self.min_final_pnl_usd, other.min_final_pnl_usd, f64::max),
            max_drawdown_usd: pick(self.max_drawdown_usd, other.max_drawdown_usd, f64::min),
            max_loss_overshoot: pick(self.max_loss_overshoot, other.max_loss_overshoot, f64::min),
            kill_place: place,
        })
    }
}

fn kind_name(k: KillExpectation) -> &'static str {
    match k {
        KillExpectation::Never => "never",
        KillExpectation::Always => "always",
        KillExpectation::Allowed => "allowed",
    }
}

/// One seed that broke an invariant.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Failure {
    pub seed: u64,
    pub observed: Value,
    pub limit: Value,
    /// The line printed for it: scenario, seed, invariant, observed vs limit.
    pub message: String,
}

/// The verdict of one invariant over every seed of a scenario.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    pub invariant: &'static str,
    pub limit: Value,
    pub passed: bool,
    /// The worst value over the seeds (for expect_kill_switch: the kill count).
    pub observed_worst: Value,
    pub failures: Vec<Failure>,
}

fn usd(x: f64) -> String {
    format!("{x:.2} USD")
}

/// Judges every invariant over the runs of one scenario. `daily_loss_limit_usd` is the
/// effective kill-switch limit of the scenario's configuration.
pub fn evaluate(
    inv: &Invariants,
    scenario_id: &str,
    daily_loss_limit_usd: f64,
    runs: &[RunResult],
) -> Vec<Verdict> {
    let mut verdicts = Vec::new();
    let line = |seed: u64, name: &str, observed: &str, limit: &str| {
        format!("FAIL {scenario_id} seed {seed}: {name}: observed {observed} vs limit {limit}")
    };
    let n = runs.len();
    let kills = runs.iter().filter(|r| r.killed).count();
    let kill_name = kind_name(inv.expect_kill_switch);
    let kill_failures: Vec<Failure> = runs
        .iter()
        .filter(|r| match inv.expect_kill_switch {
            KillExpectation::Never => r.killed,
            KillExpectation::Always => !r.killed,
            KillExpectation::Allowed => false,
        })
        .map(|r| {
            let observed = match (r.kill_reason, r.kill_tick) {
                (Some(reason), Some(tick)) => format!("killed ({reason:?} at tick {tick})"),
                _ => "not killed".to_string(),
            };
            Failure {
                seed: r.seed,
                message: line(r.seed, "expect_kill_switch", &observed, kill_name),
                observed: json!(observed),
                limit: json!(kill_name),
            }
        })
        .collect();
    verdicts.push(Verdict {
        invariant: "expect_kill_switch",
        limit: json!(kill_name),
        passed: kill_failures.is_empty(),
        observed_worst: json!(format!("killed in {kills} of {n} seeds")),
        failures: kill_failures,
    });

    if let Some(limit) = inv.min_final_pnl_usd {
        let failures = runs
            .iter()
            .filter(|r| !not_below(r.final_pnl, limit))
            .map(|r| Failure {
                seed: r.seed,
                observed: json!(r.final_pnl),
                limit: json!(limit),
                message: line(r.seed, "min_final_pnl_usd", &usd(r.final_pnl), &usd(limit)),
            })
            .collect();
        let worst = runs
            .iter()
            .map(|r| r.final_pnl)
            .fold(f64::INFINITY, nan_min);
        verdicts.push(verdict("min_final_pnl_usd", limit, worst, failures));
    }

    if let Some(limit) = inv.max_drawdown_usd {
        let failures = runs
            .iter()
            .filter(|r| !not_above(r.max_drawdown, limit))
            .map(|r| Failure {
                seed: r.seed,
                observed: json!(r.max_drawdown),
                limit: json!(limit),
                message: line(
                    r.seed,
                    "max_drawdown_usd",
                    &usd(r.max_drawdown),
                    &usd(limit),
                ),
            })
            .collect();
        let worst = runs
            .iter()
            .map(|r| r.max_drawdown)
            .fold(f64::NEG_INFINITY, nan_max);
        verdicts.push(verdict("max_drawdown_usd", limit, worst, failures));
    }

    if let Some(limit) = inv.max_loss_overshoot {
        let floor = -daily_loss_limit_usd * (1.0 + limit);
        let overshoot = |pnl: f64| -pnl / daily_loss_limit_usd - 1.0;
        let failures = runs
            .iter()
            .filter(|r| !not_below(r.final_pnl, floor))
            .map(|r| {
                let observed = format!(
                    "{:.3} (final pnl {}, daily loss limit {})",
                    overshoot(r.final_pnl),
                    usd(r.final_pnl),
                    usd(daily_loss_limit_usd)
                );
                let limit_text = format!("{limit} (final pnl >= {})", usd(floor));
                Failure {
                    seed: r.seed,
                    observed: json!(overshoot(r.final_pnl)),
                    limit: json!(limit),
                    message: line(r.seed, "max_loss_overshoot", &observed, &limit_text),
                }
            })
            .collect();
        let worst_pnl = runs
            .iter()
            .map(|r| r.final_pnl)
            .fold(f64::INFINITY, nan_min);
        verdicts.push(verdict(
            "max_loss_overshoot",
            limit,
            overshoot(worst_pnl),
            failures,
        ));
    }
    verdicts
}

fn verdict(name: &'static str, limit: f64, worst: f64, failures: Vec<Failure>) -> Verdict {
    Verdict {
        invariant: name,
        limit: json!(limit),
        passed: failures.is_empty(),
        observed_worst: json!(worst),
        failures,
    }
}

/// `x >= limit`; false for NaN, so a check fails closed.
fn not_below(x: f64, limit: f64) -> bool {
    x >= limit
}

/// `x <= limit`; false for NaN, so a check fails closed.
fn not_above(x: f64, limit: f64) -> bool {
    x <= limit
}

/// `min` that keeps a NaN, so a NaN result shows as the worst value.
fn nan_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.min(b)
    }
}

fn nan_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.max(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(seed: u64, pnl: f64, dd: f64, killed: bool) -> RunResult {
        RunResult {
            run_index: seed,
            seed,
            final_pnl: pnl,
            max_drawdown: dd,
            killed,
            kill_reason: killed.then_some(crate::strategy::risk::KillReason::PnlHardBreach),
            kill_tick: killed.then_some(10),
            ticks_executed: 10,
            maker_fills: 0,
            maker_volume_tao: 0.0,
            hedge_volume_tao: 0.0,
            fees_usd: 0.0,
            max_abs_q_tao: 0.0,
            final_q_tao: 0.0,
            mean_abs_q_tao: 0.0,
            taker_cost_usd: 0.0,
            last_fill_tick: None,
            path_checksum: "0".into(),
        }
    }

    fn inv(expect: KillExpectation) -> Invariants {
        Invariants {
            expect_kill_switch: expect,
            ..Invariants::default()
        }
    }

    #[test]
    fn the_stricter_limit_wins() {
        let a = Invariants {
            min_final_pnl_usd: Some(-100.0),
            max_drawdown_usd: Some(500.0),
            ..inv(KillExpectation::Never)
        };
        let b = Invariants {
            min_final_pnl_usd: Some(-50.0),
            max_drawdown_usd: Some(800.0),
            max_loss_overshoot: Some(0.2),
            ..inv(KillExpectation::Allowed)
        };
        let c = a.stricter(&b).unwrap();
        assert_eq!(c.expect_kill_switch, KillExpectation::Never);
        assert_eq!(c.min_final_pnl_usd, Some(-50.0));
        assert_eq!(c.max_drawdown_usd, Some(500.0));
        assert_eq!(c.max_loss_overshoot, Some(0.2));
        assert_eq!(
            b.stricter(&a).unwrap().expect_kill_switch,
            KillExpectation::Never
        );
        let e = inv(KillExpectation::Never)
            .stricter(&inv(KillExpectation::Always))
            .unwrap_err();
        assert!(e.0.contains("never conflicts with always"), "{e}");
    }

    #[test]
    fn nan_results_fail_every_numeric_invariant() {
        let i = Invariants {
            min_final_pnl_usd: Some(-1e9),
            max_drawdown_usd: Some(1e9),
            max_loss_overshoot: Some(10.0),
            ..inv(KillExpectation::Allowed)
        };
        let v = evaluate(&i, "s", 500.0, &[run(1, f64::NAN, f64::NAN, false)]);
        assert_eq!(v.iter().filter(|v| !v.passed).count(), 3);
    }

    #[test]
    fn failure_lines_name_scenario_seed_invariant_observed_and_limit() {
        let i = Invariants {
            max_loss_overshoot: Some(0.25),
            ..inv(KillExpectation::Never)
        };
        let v = evaluate(
            &i,
            "crash",
            500.0,
            &[run(7, -700.0, 900.0, true), run(8, 10.0, 5.0, false)],
        );
        let lines: Vec<&str> = v
            .iter()
            .flat_map(|v| v.failures.iter().map(|f| f.message.as_str()))
            .collect();
        assert_eq!(
            lines,
            [
                "FAIL crash seed 7: expect_kill_switch: observed killed (PnlHardBreach at tick 10) vs limit never",
                "FAIL crash seed 7: max_loss_overshoot: observed 0.400 (final pnl -700.00 USD, daily loss limit 500.00 USD) \
                 vs limit 0.25 (final pnl >= -625.00 USD)",
            ]
        );
    }
}

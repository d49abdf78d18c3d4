//! Calibration: does the model meet the targets of `simulator.md`?
//!
//! Measures the three profiles, corners of the search space, each knob's effect and the
//! kill switch under reckless settings, then checks every calibration target.
//! `monte_carlo --calibration-report` prints the result and the tests assert on the same
//! structured result, so the printed report and the tests cannot disagree.
//!
//! Knob effects use common random numbers: both sides of a comparison run the same
//! seeds, so the market's luck cancels in the per-seed differences and a small effect is
//! measurable with a few hundred runs. An effect counts when the mean paired difference
//! lies more than [`SIGNIFICANCE_SE`] standard errors from zero in the expected
//! direction; a knob that changes nothing gives differences of exactly zero and fails.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};

use crate::config::{Knob, Overlay, Profile, SimConfig};
use crate::mc;
use crate::output::TOOL_VERSION;
use crate::sim::{Model, ModelError, RunResult};
use crate::stats::{self, Z_95_TWO_SIDED};
use crate::strategy::risk::KillReason;
use crate::stress::CompiledStress;

use Direction::{Down, Up};
use Metric::{
    FinalPnl, HedgeVolume, Killed, MakerFills, MakerVolume, MaxAbsQ, MaxDrawdown, MeanAbsQ,
    TakerCost,
};

/// A paired mean difference must exceed this many standard errors to count as an effect.
pub const SIGNIFICANCE_SE: f64 = 3.0;

/// One-sided normal quantile at the budgets' alpha 0.05, for `pnl_lcb` and `kill_ucb` as
/// the promoter computes them.
pub const Z_95_ONE_SIDED: f64 = 1.644_853_626_951_472_2;

/// A budget bound, loosest and strictest over the original tiers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TierRange {
    pub loosest: f64,
    pub strictest: f64,
}

/// `min_pnl_lcb_usd` of the tiers (configs/budgets.yaml; a test checks they agree).
pub const TIER_PNL_LCB: TierRange = TierRange {
    loosest: 10.0,
    strictest: 30.0,
};
/// `max_dd_cvar` of the tiers.
pub const TIER_DD_CVAR: TierRange = TierRange {
    loosest: 2000.0,
    strictest: 500.0,
};
/// `max_kill_ucb` of the tiers.
pub const TIER_KILL_UCB: TierRange = TierRange {
    loosest: 0.15,
    strictest: 0.05,
};

/// Overlay pairs (`PARAPHINA_*` name, value) written in the code.
pub type Pairs = &'static [(&'static str, &'static str)];

/// Overlay pairs assembled at run time from [`Pairs`].
pub type PairList = Vec<(&'static str, &'static str)>;

/// Reckless settings inside the specification's ranges: the largest profile and size
/// with the tightest loss limit. The kill switch must fire here.
pub const RECKLESS: Pairs = &[
    (Knob::RiskProfile.var_name(), Profile::Aggressive.name()),
    (Knob::MmSizeEta.var_name(), "2.0"),
    (Knob::DailyLossLimit.var_name(), "500"),
];

/// Corners of the search space, so the tier checks see its extremes and not only
/// one-knob-at-a-time neighbours of the defaults.
pub const CORNERS: [(&str, Pairs); 3] = [
    (
        "cautious corner",
        &[
            (Knob::RiskProfile.var_name(), Profile::Conservative.name()),
            (Knob::MmSizeEta.var_name(), "0.5"),
            (Knob::VolRef.var_name(), "0.05"),
        ],
    ),
    (
        "reckless corner, limit 500",
        &[
            (Knob::RiskProfile.var_name(), Profile::Aggressive.name()),
            (Knob::MmSizeEta.var_name(), "2.0"),
            (Knob::HedgeBandBase.var_name(), "0.15"),
            (Knob::VolRef.var_name(), "0.15"),
            (Knob::DailyLossLimit.var_name(), "500"),
        ],
    ),
    (
        "reckless corner, limit 3000",
        &[
            (Knob::RiskProfile.var_name(), Profile::Aggressive.name()),
            (Knob::MmSizeEta.var_name(), "2.0"),
            (Knob::HedgeBandBase.var_name(), "0.15"),
            (Knob::VolRef.var_name(), "0.15"),
            (Knob::DailyLossLimit.var_name(), "3000"),
        ],
    ),
];

/// Batch size and seed schedule of a calibration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CalibrationSpec {
    pub runs: u64,
    pub ticks: u64,
    /// Run i uses seed `seed + i`, as in `monte_carlo`.
    pub seed: u64,
}

impl Default for CalibrationSpec {
    /// The model owner's measurement: 400 runs of the default 600 ticks, seeds 1..=400.
    fn default() -> Self {
        CalibrationSpec {
            runs: 400,
            ticks: 600,
            seed: 1,
        }
    }
}

impl CalibrationSpec {
    fn check(&self) -> Result<(), ModelError> {
        if self.runs < 2 {
            return Err(ModelError(format!(
                "runs: {} given; a calibration needs at least 2 (standard errors)",
                self.runs
            )));
        }
        if self.ticks < 10 {
            return Err(ModelError(format!(
                "ticks: {} given; a calibration needs at least 10 (it checks the last tenth of the horizon)",
                self.ticks
            )));
        }
        Ok(())
    }
}

/// A per-run metric a knob is expected to move.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    FinalPnl,
    MaxDrawdown,
    /// 1 for a killed run, else 0: its mean is the kill rate.
    Killed,
    MakerVolume,
    MakerFills,
    HedgeVolume,
    TakerCost,
    MaxAbsQ,
    MeanAbsQ,
}

impl Metric {
    pub fn of(self, r: &RunResult) -> f64 {
        match self {
            Metric::FinalPnl => r.final_pnl,
            Metric::MaxDrawdown => r.max_drawdown,
            Metric::Killed => f64::from(u8::from(r.killed)),
            Metric::MakerVolume => r.maker_volume_tao,
            Metric::MakerFills => r.maker_fills as f64,
            Metric::HedgeVolume => r.hedge_volume_tao,
            Metric::TakerCost => r.taker_cost_usd,
            Metric::MaxAbsQ => r.max_abs_q_tao,
            Metric::MeanAbsQ => r.mean_abs_q_tao,
        }
    }

    /// The field of `mc_runs.jsonl` it reads.
    pub fn name(self) -> &'static str {
        match self {
            Metric::FinalPnl => "final_pnl",
            Metric::MaxDrawdown => "max_drawdown",
            Metric::Killed => "killed",
            Metric::MakerVolume => "maker_volume_tao",
            Metric::MakerFills => "maker_fills",
            Metric::HedgeVolume => "hedge_volume_tao",
            Metric::TakerCost => "taker_cost_usd",
            Metric::MaxAbsQ => "max_abs_q_tao",
            Metric::MeanAbsQ => "mean_abs_q_tao",
        }
    }
}

/// Which way a metric should move when the knob goes from its low to its high value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Up,
    Down,
}

impl Direction {
    fn sign(self) -> f64 {
        match self {
            Direction::Up => 1.0,
            Direction::Down => -1.0,
        }
    }

    fn arrow(self) -> &'static str {
        match self {
            Direction::Up => "up",
            Direction::Down => "down",
        }
    }
}

/// A metric compared over the same seeds under two configurations.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Paired {
    pub runs: usize,
    pub low_mean: f64,
    pub high_mean: f64,
    /// Mean of (high − low) per seed.
    pub diff_mean: f64,
    /// Standard error of `diff_mean` (sample std of the differences / √n).
    pub diff_se: f64,
}

impl Paired {
    /// Pairs run i of `low` with run i of `high`. Panics when the batches do not share
    /// their seeds: without common random numbers the differences mean nothing.
    pub fn measure(low: &[RunResult], high: &[RunResult], metric: Metric) -> Paired {
        assert_eq!(
            low.len(),
            high.len(),
            "paired batches have the same number of runs"
        );
        assert!(
            low.iter().zip(high).all(|(a, b)| a.seed == b.seed),
            "paired batches run the same seeds"
        );
        let lo: Vec<f64> = low.iter().map(|r| metric.of(r)).collect();
        let hi: Vec<f64> = high.iter().map(|r| metric.of(r)).collect();
        let diffs: Vec<f64> = lo.iter().zip(&hi).map(|(a, b)| b - a).collect();
        Paired {
            runs: diffs.len(),
            low_mean: stats::mean(&lo),
            high_mean: stats::mean(&hi),
            diff_mean: stats::mean(&diffs),
            diff_se: stats::sample_std(&diffs) / (diffs.len() as f64).sqrt(),
        }
    }

    /// The difference in standard errors (infinite for a deterministic shift, NaN when
    /// nothing changed at all).
    pub fn t(&self) -> f64 {
        self.diff_mean / self.diff_se
    }

    /// True when the difference is nonzero, in direction `dir`, and larger than
    /// [`SIGNIFICANCE_SE`] standard errors.
    pub fn moves(&self, dir: Direction) -> bool {
        let d = dir.sign() * self.diff_mean;
        d > 0.0 && d > SIGNIFICANCE_SE * self.diff_se
    }
}

/// One knob moved from `low` to `high` in a setting where it binds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Experiment {
    pub knob: Knob,
    /// Where the knob binds, in words.
    pub setting: &'static str,
    /// The other knobs of that setting.
    pub base: Pairs,
    pub low: &'static str,
    pub high: &'static str,
    /// The effects `simulator.md`'s knob table leads one to expect.
    pub expect: &'static [(Metric, Direction)],
}

/// The knob experiments: every knob of `simulator.md`'s table over its specified range,
/// each where it binds.
pub const EXPERIMENTS: [Experiment; 9] = [
    Experiment {
        knob: Knob::RiskProfile,
        setting: "defaults",
        base: &[],
        low: Profile::Conservative.name(),
        high: Profile::Balanced.name(),
        expect: &[
            (MaxAbsQ, Up),
            (MeanAbsQ, Up),
            (MaxDrawdown, Up),
            (MakerVolume, Up),
        ],
    },
    Experiment {
        knob: Knob::RiskProfile,
        setting: "defaults",
        base: &[],
        low: Profile::Balanced.name(),
        high: Profile::Aggressive.name(),
        expect: &[
            (MaxAbsQ, Up),
            (MeanAbsQ, Up),
            (MaxDrawdown, Up),
            (MakerVolume, Up),
        ],
    },
    Experiment {
        knob: Knob::HedgeBandBase,
        setting: "defaults",
        base: &[],
        low: "0.02",
        high: "0.15",
        expect: &[
            (TakerCost, Down),
            (HedgeVolume, Down),
            (MaxAbsQ, Up),
            (MeanAbsQ, Up),
            (MaxDrawdown, Up),
        ],
    },
    Experiment {
        knob: Knob::MmSizeEta,
        setting: "defaults",
        base: &[],
        low: "0.5",
        high: "2.0",
        expect: &[
            (MakerVolume, Up),
            (MeanAbsQ, Up),
            (MaxAbsQ, Up),
            (MaxDrawdown, Up),
        ],
    },
    Experiment {
        knob: Knob::VolRef,
        setting: "defaults",
        base: &[],
        low: "0.05",
        high: "0.15",
        expect: &[(MakerVolume, Up), (MakerFills, Up)],
    },
    Experiment {
        knob: Knob::DailyLossLimit,
        setting: "aggressive, eta 2 (the limit is reached)",
        base: &[
            (Knob::RiskProfile.var_name(), Profile::Aggressive.name()),
            (Knob::MmSizeEta.var_name(), "2.0"),
        ],
        low: "500",
        high: "3000",
        expect: &[(Killed, Down), (MaxDrawdown, Up)],
    },
    Experiment {
        knob: Knob::InitQTao,
        setting: "defaults",
        base: &[],
        low: "0",
        high: "30",
        expect: &[
            (HedgeVolume, Up),
            (TakerCost, Up),
            (MeanAbsQ, Up),
            (FinalPnl, Down),
        ],
    },
    Experiment {
        knob: Knob::InitQTao,
        setting: "defaults",
        base: &[],
        low: "0",
        high: "-30",
        expect: &[
            (HedgeVolume, Up),
            (TakerCost, Up),
            (MeanAbsQ, Up),
            (FinalPnl, Down),
        ],
    },
    Experiment {
        knob: Knob::HedgeMaxStep,
        setting: "init q 30, band 0.02 (the step caps the hedge)",
        base: &[
            (Knob::InitQTao.var_name(), "30"),
            (Knob::HedgeBandBase.var_name(), "0.02"),
        ],
        low: "5",
        high: "20",
        expect: &[(MeanAbsQ, Down), (TakerCost, Up)],
    },
];

/// One expected effect, measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EffectCheck {
    pub metric: Metric,
    pub expected: Direction,
    pub paired: Paired,
    pub pass: bool,
}

/// An experiment's outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct KnobEffect {
    pub experiment: Experiment,
    pub checks: Vec<EffectCheck>,
}

impl KnobEffect {
    pub fn pass(&self) -> bool {
        !self.checks.is_empty() && self.checks.iter().all(|c| c.pass)
    }
}

impl Experiment {
    /// The overlays of the two sides.
    pub fn sides(&self) -> (PairList, PairList) {
        let side = |v: &'static str| {
            let mut pairs = self.base.to_vec();
            pairs.push((self.knob.var_name(), v));
            pairs
        };
        (side(self.low), side(self.high))
    }

    /// Runs both sides on the spec's seeds and checks each expected effect.
    pub fn measure(&self, spec: &CalibrationSpec) -> Result<KnobEffect, ModelError> {
        spec.check()?;
        self.measure_in(&mut Lab::new(*spec))
    }

    fn measure_in(&self, lab: &mut Lab) -> Result<KnobEffect, ModelError> {
        let (lo, hi) = self.sides();
        let low = lab.batch(&lo)?.results.clone();
        let high = &lab.batch(&hi)?.results;
        let checks = self
            .expect
            .iter()
            .map(|&(metric, expected)| {
                let paired = Paired::measure(&low, high, metric);
                EffectCheck {
                    metric,
                    expected,
                    paired,
                    pass: paired.moves(expected),
                }
            })
            .collect();
        Ok(KnobEffect {
            experiment: *self,
            checks,
        })
    }
}

/// What a configuration scored, in the promoter's terms.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigStats {
    pub label: String,
    pub runs: u64,
    pub pnl_mean: f64,
    pub pnl_std: f64,
    /// mean − z·std/√n at one-sided 95 %.
    pub pnl_lcb: f64,
    pub dd_mean: f64,
    /// CVaR 95 % of max drawdown, as in `mc_summary.json`.
    pub dd_cvar: f64,
    pub kill_count: u64,
    pub kill_rate: f64,
    /// One-sided 95 % Wilson upper bound of the kill rate.
    pub kill_ucb: f64,
    pub max_abs_q_mean: f64,
    pub mean_abs_q_mean: f64,
    pub maker_volume_mean: f64,
    pub hedge_volume_mean: f64,
    pub taker_cost_mean: f64,
}

impl ConfigStats {
    /// Reads the summary `monte_carlo` would write, so the report shows the product's
    /// own figures.
    fn of(
        label: String,
        cfg: &SimConfig,
        overlay: &Overlay,
        seed: u64,
        results: &[RunResult],
    ) -> ConfigStats {
        let s = mc::summarize(cfg, overlay, seed, results);
        let n = results.len() as u64;
        let mean_of = |m: Metric| stats::mean(&results.iter().map(|r| m.of(r)).collect::<Vec<_>>());
        ConfigStats {
            label,
            runs: n,
            pnl_mean: s.aggregate.pnl.mean,
            pnl_std: s.aggregate.pnl.std,
            pnl_lcb: s.aggregate.pnl.mean
                - Z_95_ONE_SIDED * s.aggregate.pnl.std / (n as f64).sqrt(),
            dd_mean: s.aggregate.max_drawdown.mean,
            dd_cvar: s.tail_risk.max_drawdown_var_cvar.cvar,
            kill_count: s.aggregate.kill_count,
            kill_rate: s.aggregate.kill_rate,
            kill_ucb: stats::wilson_interval(s.aggregate.kill_count, n, Z_95_ONE_SIDED).1,
            max_abs_q_mean: s.aggregate.max_abs_q_tao.mean,
            mean_abs_q_mean: mean_of(MeanAbsQ),
            maker_volume_mean: s.aggregate.maker_volume_tao.mean,
            hedge_volume_mean: s.aggregate.hedge_volume_tao.mean,
            taker_cost_mean: mean_of(TakerCost),
        }
    }
}

/// Loss beyond the limit of killed runs, as a fraction of the limit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Overshoot {
    pub p50: f64,
    pub p90: f64,
    pub max: f64,
}

/// The kill switch under [`RECKLESS`] settings.
#[derive(Debug, Clone, PartialEq)]
pub struct KillCase {
    pub stats: ConfigStats,
    pub loss_limit_usd: f64,
    /// Two-sided 95 % Wilson interval of the kill rate.
    pub kill_ci: (f64, f64),
    pub reasons: BTreeMap<String, u64>,
    /// Every killed run has `ticks_executed == kill_tick`.
    pub all_stopped: bool,
    /// Every killed run ends at or below −limit: the switch fired on a breach, not before.
    pub all_at_breach: bool,
    /// None without kills.
    pub overshoot: Option<Overshoot>,
    /// Kills of the same settings and seeds in the same market without price jumps.
    pub kills_without_jumps: u64,
}

impl KillCase {
    /// Fires, only for the PnL limit, and each killed run stops and ends past the limit.
    pub fn pass(&self) -> bool {
        let only_pnl = self
            .reasons
            .keys()
            .all(|k| k == &format!("{:?}", KillReason::PnlHardBreach));
        self.stats.kill_count > 0 && only_pnl && self.all_stopped && self.all_at_breach
    }
}

/// One calibration target of `simulator.md`, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// Stable identifier, e.g. `defaults.kill_rate` or `knob.PARAPHINA_VOL_REF`.
    pub id: String,
    pub description: String,
    /// What was measured, in words and numbers.
    pub measured: String,
    pub pass: bool,
}

/// Everything a calibration measured and concluded.
#[derive(Debug, Clone, PartialEq)]
pub struct CalibrationReport {
    pub spec: CalibrationSpec,
    /// Conservative, balanced (the defaults), aggressive.
    pub profiles: Vec<ConfigStats>,
    pub corners: Vec<ConfigStats>,
    pub effects: Vec<KnobEffect>,
    pub kill_case: KillCase,
    /// Every configuration measured, for the tier checks.
    pub all_configs: Vec<ConfigStats>,
    pub targets: Vec<Target>,
}

impl CalibrationReport {
    pub fn all_pass(&self) -> bool {
        self.targets.iter().all(|t| t.pass)
    }

    pub fn target(&self, id: &str) -> Option<&Target> {
        self.targets.iter().find(|t| t.id == id)
    }

    /// The balanced profile with every other knob at its default.
    pub fn defaults(&self) -> &ConfigStats {
        &self.profiles[1]
    }
}

/// A batch and what it scored.
#[derive(Debug)]
struct Batch {
    results: Vec<RunResult>,
    stats: ConfigStats,
}

/// Runs each configuration once however many sections read it.
struct Lab {
    spec: CalibrationSpec,
    batches: BTreeMap<Vec<(String, String)>, Batch>,
}

/// `name=value, …` without the common prefix, or `defaults`.
fn label(pairs: &[(String, String)]) -> String {
    if pairs.is_empty() {
        return "defaults".to_string();
    }
    let parts: Vec<String> = pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={v}",
                k.trim_start_matches("PARAPHINA_").to_ascii_lowercase()
            )
        })
        .collect();
    parts.join(", ")
}

impl Lab {
    fn new(spec: CalibrationSpec) -> Lab {
        Lab {
            spec,
            batches: BTreeMap::new(),
        }
    }

    fn config(&self, pairs: &[(&str, &str)]) -> Result<(SimConfig, Overlay), ModelError> {
        let overlay =
            Overlay::from_pairs(pairs.iter().copied()).map_err(|e| ModelError(e.to_string()))?;
        Ok((SimConfig::new(self.spec.ticks, &overlay), overlay))
    }

    fn run(&self, cfg: &SimConfig) -> Result<Vec<RunResult>, ModelError> {
        let model = Model::new(cfg, CompiledStress::none())?;
        Ok(mc::run_batch(&model, self.spec.runs, self.spec.seed))
    }

    fn batch(&mut self, pairs: &[(&str, &str)]) -> Result<&Batch, ModelError> {
        let (cfg, overlay) = self.config(pairs)?;
        // Keyed by the overlay as resolved (sorted, last value wins), so the same
        // configuration written in another order runs once.
        let key: Vec<(String, String)> = overlay.raw().clone().into_iter().collect();
        if !self.batches.contains_key(&key) {
            let results = self.run(&cfg)?;
            let stats = ConfigStats::of(label(&key), &cfg, &overlay, self.spec.seed, &results);
            self.batches.insert(key.clone(), Batch { results, stats });
        }
        Ok(&self.batches[&key])
    }

    fn labelled(&mut self, name: &str, pairs: &[(&str, &str)]) -> Result<ConfigStats, ModelError> {
        let mut stats = self.batch(pairs)?.stats.clone();
        stats.label = name.to_string();
        Ok(stats)
    }

    fn kill_case(&mut self) -> Result<KillCase, ModelError> {
        let (mut cfg, _) = self.config(RECKLESS)?;
        let limit = cfg.strategy.daily_loss_limit_usd;
        let batch = self.batch(RECKLESS)?;
        let killed: Vec<&RunResult> = batch.results.iter().filter(|r| r.killed).collect();
        let mut reasons = BTreeMap::new();
        for r in &killed {
            let reason = r
                .kill_reason
                .map_or("none".to_string(), |k| format!("{k:?}"));
            *reasons.entry(reason).or_insert(0) += 1;
        }
        let over = stats::sorted(
            &killed
                .iter()
                .map(|r| (-r.final_pnl - limit) / limit)
                .collect::<Vec<_>>(),
        );
        let overshoot = (!over.is_empty()).then(|| Overshoot {
            p50: stats::quantile_sorted(&over, 0.5),
            p90: stats::quantile_sorted(&over, 0.9),
            max: over[over.len() - 1],
        });
        let n = batch.results.len() as u64;
        let k = killed.len() as u64;
        let case = KillCase {
            stats: ConfigStats {
                label: "reckless".to_string(),
                ..batch.stats.clone()
            },
            loss_limit_usd: limit,
            kill_ci: stats::wilson_interval(k, n, Z_95_TWO_SIDED),
            reasons,
            all_stopped: killed.iter().all(|r| r.kill_tick == Some(r.ticks_executed)),
            all_at_breach: killed.iter().all(|r| r.final_pnl <= -limit),
            overshoot,
            kills_without_jumps: 0,
        };
        // Same seeds with jumps switched off: how much of the kill risk is gap risk.
        cfg.market.jump_intensity = 0.0;
        let kills_without_jumps = self.run(&cfg)?.iter().filter(|r| r.killed).count() as u64;
        Ok(KillCase {
            kills_without_jumps,
            ..case
        })
    }
}

/// Measures everything and checks every target.
pub fn calibrate(spec: &CalibrationSpec) -> Result<CalibrationReport, ModelError> {
    spec.check()?;
    let mut lab = Lab::new(*spec);
    let mut profiles = Vec::new();
    for p in Profile::ALL {
        profiles.push(lab.labelled(p.name(), &[(Knob::RiskProfile.var_name(), p.name())])?);
    }
    let mut corners = Vec::new();
    for (name, pairs) in CORNERS {
        corners.push(lab.labelled(name, pairs)?);
    }
    let effects = EXPERIMENTS
        .iter()
        .map(|e| e.measure_in(&mut lab))
        .collect::<Result<Vec<_>, _>>()?;
    let kill_case = lab.kill_case()?;
    let defaults = lab.batch(&[])?.results.clone();

    let mut targets = Vec::new();
    let mut target = |id: &str, description: &str, measured: String, pass: bool| {
        targets.push(Target {
            id: id.to_string(),
            description: description.to_string(),
            measured,
            pass,
        });
    };
    let d = &profiles[1];
    let se = d.pnl_std / (d.runs as f64).sqrt();
    target(
        "defaults.pnl_positive",
        "balanced defaults: positive mean PnL (more than 3 standard errors above 0)",
        format!("mean {:.1} USD, standard error {:.1}", d.pnl_mean, se),
        d.pnl_mean > SIGNIFICANCE_SE * se,
    );
    let distinct_pnl = distinct(defaults.iter().map(|r| r.final_pnl.to_bits()));
    target(
        "defaults.dispersion",
        "balanced defaults: real dispersion (std > 0, no two runs with the same PnL)",
        format!(
            "std {:.1} USD, {} distinct PnLs of {} runs",
            d.pnl_std, distinct_pnl, d.runs
        ),
        d.pnl_std > 0.0 && distinct_pnl as u64 == d.runs,
    );
    target(
        "defaults.kill_rate",
        "balanced defaults: kill rate nonzero and below 10 %",
        format!("{}/{} = {:.2} %", d.kill_count, d.runs, 100.0 * d.kill_rate),
        d.kill_count > 0 && d.kill_rate < 0.10,
    );
    target(
        "defaults.dd_tail",
        "balanced defaults: drawdown CVaR95 in the hundreds of USD (100 to 1000)",
        format!("{:.1} USD", d.dd_cvar),
        (100.0..1000.0).contains(&d.dd_cvar),
    );
    let increasing = |f: fn(&ConfigStats) -> f64| profiles.windows(2).all(|w| f(&w[1]) > f(&w[0]));
    let show = |f: fn(&ConfigStats) -> f64| {
        profiles
            .iter()
            .map(|p| format!("{:.1}", f(p)))
            .collect::<Vec<_>>()
            .join(" < ")
    };
    target(
        "profiles.ordered",
        "profiles ordered: more risk allowed gives larger max|q| and drawdown CVaR95 (conservative, balanced, aggressive)",
        format!(
            "max|q| mean {} TAO; dd CVaR95 {} USD",
            show(|p| p.max_abs_q_mean),
            show(|p| p.dd_cvar)
        ),
        increasing(|p| p.max_abs_q_mean) && increasing(|p| p.dd_cvar),
    );

    let all_configs: Vec<ConfigStats> = lab.batches.values().map(|b| b.stats.clone()).collect();
    for (id, description, range, field, larger_is_better) in [
        (
            "tiers.pnl_lcb",
            "tiers cut through the search space: pnl_lcb",
            TIER_PNL_LCB,
            pnl_lcb as fn(&ConfigStats) -> f64,
            true,
        ),
        (
            "tiers.dd_cvar",
            "tiers cut through the search space: dd_cvar",
            TIER_DD_CVAR,
            dd_cvar,
            false,
        ),
        (
            "tiers.kill_ucb",
            "tiers cut through the search space: kill_ucb",
            TIER_KILL_UCB,
            kill_ucb,
            false,
        ),
    ] {
        let (measured, pass) = tier_cut(&all_configs, range, field, larger_is_better);
        target(id, description, measured, pass);
    }

    for knob in Knob::ALL {
        let mine: Vec<&KnobEffect> = effects
            .iter()
            .filter(|e| e.experiment.knob == knob)
            .collect();
        let failed: Vec<String> = mine
            .iter()
            .flat_map(|e| {
                e.checks
                    .iter()
                    .filter(|c| !c.pass)
                    .map(|c| format!("{} {}", c.metric.name(), fmt_t(c.paired.t())))
            })
            .collect();
        let checks: usize = mine.iter().map(|e| e.checks.len()).sum();
        let weakest = mine
            .iter()
            .flat_map(|e| e.checks.iter())
            .map(|c| c.expected.sign() * c.paired.t())
            .fold(f64::INFINITY, f64::min);
        let measured = if failed.is_empty() {
            format!("{checks} effects, weakest {weakest:.1} standard errors")
        } else {
            format!(
                "{} of {checks} effects missing: {}",
                failed.len(),
                failed.join(", ")
            )
        };
        target(
            &format!("knob.{}", knob.var_name()),
            &format!(
                "{} moves the metrics in the direction of the knob table",
                knob.var_name()
            ),
            measured,
            !mine.is_empty() && mine.iter().all(|e| e.pass()),
        );
    }

    let batches: Vec<&Batch> = lab.batches.values().collect();
    let runs: usize = batches.iter().map(|b| b.results.len()).sum();
    let duplicated: Vec<&str> = batches
        .iter()
        .filter(|b| distinct(b.results.iter().map(|r| r.path_checksum.clone())) != b.results.len())
        .map(|b| b.stats.label.as_str())
        .collect();
    target(
        "seeds.distinct",
        "results differ between seeds: no two runs of any batch identical (equity-path checksum)",
        format!(
            "{} batches, {} with a repeated run {:?}",
            batches.len(),
            duplicated.len(),
            duplicated
        ),
        duplicated.is_empty(),
    );
    let stalled: usize = batches
        .iter()
        .map(|b| {
            b.results
                .iter()
                .filter(|r| !trades_to_the_end(r, spec.ticks))
                .count()
        })
        .sum();
    let survivors: usize = batches
        .iter()
        .map(|b| b.results.iter().filter(|r| !r.killed).count())
        .sum();
    target(
        "horizon.trading",
        "trading continues through the horizon: every run not killed executes every tick and fills in the last tenth",
        format!("{survivors} runs not killed of {runs}; {stalled} stalled"),
        stalled == 0,
    );
    let kc = &kill_case;
    target(
        "kill.reckless",
        "kill switch fires for reckless settings (aggressive, eta 2, limit 500): PnlHardBreach, run stops, PnL past the limit",
        format!(
            "{}/{} killed {:?}; stopped at kill tick: {}; at or past the limit: {}",
            kc.stats.kill_count, kc.stats.runs, kc.reasons, kc.all_stopped, kc.all_at_breach
        ),
        kc.pass(),
    );

    Ok(CalibrationReport {
        spec: *spec,
        profiles,
        corners,
        effects,
        kill_case,
        all_configs,
        targets,
    })
}

fn pnl_lcb(s: &ConfigStats) -> f64 {
    s.pnl_lcb
}

fn dd_cvar(s: &ConfigStats) -> f64 {
    s.dd_cvar
}

fn kill_ucb(s: &ConfigStats) -> f64 {
    s.kill_ucb
}

/// A tier bound cuts through the measured configurations when one of them meets the
/// strictest tier and another fails the loosest.
fn tier_cut(
    configs: &[ConfigStats],
    range: TierRange,
    field: fn(&ConfigStats) -> f64,
    larger_is_better: bool,
) -> (String, bool) {
    let better = |a: f64, b: f64| if larger_is_better { a > b } else { a < b };
    let mut best = &configs[0];
    let mut worst = &configs[0];
    for c in configs {
        if better(field(c), field(best)) {
            best = c;
        }
        if better(field(worst), field(c)) {
            worst = c;
        }
    }
    let meets_strictest = !better(range.strictest, field(best));
    let fails_loosest = better(range.loosest, field(worst));
    let measured = format!(
        "best {:.3} ({}), worst {:.3} ({}) against strictest {} and loosest {}",
        field(best),
        best.label,
        field(worst),
        worst.label,
        range.strictest,
        range.loosest
    );
    (measured, meets_strictest && fails_loosest)
}

fn distinct<T: Ord>(items: impl Iterator<Item = T>) -> usize {
    items.collect::<std::collections::BTreeSet<T>>().len()
}

/// A run not killed must execute every tick and still be filled in the last tenth of
/// the horizon; a killed run must stop at its kill tick.
pub fn trades_to_the_end(r: &RunResult, ticks: u64) -> bool {
    if r.killed {
        return r.kill_tick == Some(r.ticks_executed);
    }
    let last_tenth = ticks - ticks / 10;
    r.ticks_executed == ticks && r.last_fill_tick.is_some_and(|t| t >= last_tenth)
}

fn fmt_t(t: f64) -> String {
    if t.is_nan() {
        "no change".to_string()
    } else {
        format!("{t:+.1} se")
    }
}

impl fmt::Display for CalibrationReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.spec;
        let last = mc::run_seed(s.seed, s.runs - 1);
        writeln!(f, "# Calibration report ({})", TOOL_VERSION)?;
        writeln!(f)?;
        writeln!(
            f,
            "{} runs x {} ticks per configuration, seeds {}..={} (run i uses seed {}+i); every",
            s.runs, s.ticks, s.seed, last, s.seed
        )?;
        writeln!(
            f,
            "configuration runs the same seeds (common random numbers). An effect counts when the"
        )?;
        writeln!(
            f,
            "paired mean difference exceeds {SIGNIFICANCE_SE} standard errors in the expected direction."
        )?;
        writeln!(
            f,
            "pnl_lcb and kill_ucb are one-sided 95 % bounds as in configs/budgets.yaml."
        )?;
        writeln!(f)?;
        writeln!(f, "## Profiles (other knobs at their defaults)")?;
        writeln!(f)?;
        write_stats_table(f, &self.profiles)?;
        writeln!(f)?;
        writeln!(f, "## Corners of the search space")?;
        writeln!(f)?;
        for (name, pairs) in CORNERS {
            let owned: Vec<(String, String)> = pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            writeln!(f, "- {name}: {}", label(&owned))?;
        }
        writeln!(f)?;
        write_stats_table(f, &self.corners)?;
        writeln!(f)?;
        writeln!(f, "## Knob effects (low -> high, same seeds)")?;
        writeln!(f)?;
        writeln!(
            f,
            "| knob | setting | low -> high | metric | expected | low mean | high mean | diff | se | diff/se | result |"
        )?;
        writeln!(f, "|---|---|---|---|---|---:|---:|---:|---:|---:|---|")?;
        for e in &self.effects {
            let x = &e.experiment;
            for c in &e.checks {
                let p = &c.paired;
                writeln!(
                    f,
                    "| {} | {} | {} -> {} | {} | {} | {:.3} | {:.3} | {:+.3} | {:.3} | {} | {} |",
                    x.knob.var_name().trim_start_matches("PARAPHINA_"),
                    x.setting,
                    x.low,
                    x.high,
                    c.metric.name(),
                    c.expected.arrow(),
                    p.low_mean,
                    p.high_mean,
                    p.diff_mean,
                    p.diff_se,
                    fmt_t(p.t()),
                    if c.pass { "ok" } else { "MISSING" }
                )?;
            }
        }
        writeln!(f)?;
        let k = &self.kill_case;
        writeln!(
            f,
            "## Reckless kill case (aggressive, eta 2, loss limit {})",
            k.loss_limit_usd
        )?;
        writeln!(f)?;
        writeln!(
            f,
            "- kills: {}/{} = {:.1} % (95 % Wilson {:.1} % to {:.1} %), reasons {:?}",
            k.stats.kill_count,
            k.stats.runs,
            100.0 * k.stats.kill_rate,
            100.0 * k.kill_ci.0,
            100.0 * k.kill_ci.1,
            k.reasons
        )?;
        writeln!(
            f,
            "- every killed run stopped at its kill tick: {}; ended at or past -limit: {}",
            k.all_stopped, k.all_at_breach
        )?;
        match k.overshoot {
            Some(o) => writeln!(
                f,
                "- loss beyond the limit, as a fraction of it: median {:.3}, p90 {:.3}, max {:.3} (the check runs once a tick: a jump between two checks lands whole)",
                o.p50, o.p90, o.max
            )?,
            None => writeln!(f, "- no kills, so no overshoot")?,
        }
        writeln!(
            f,
            "- same settings and seeds without price jumps: {} kills",
            k.kills_without_jumps
        )?;
        writeln!(
            f,
            "- pnl mean {:.1}, dd CVaR95 {:.1}, max|q| mean {:.2}",
            k.stats.pnl_mean, k.stats.dd_cvar, k.stats.max_abs_q_mean
        )?;
        writeln!(f)?;
        writeln!(f, "## Calibration targets")?;
        writeln!(f)?;
        for t in &self.targets {
            writeln!(
                f,
                "{} {}: {} -- {}",
                if t.pass { "PASS" } else { "FAIL" },
                t.id,
                t.description,
                t.measured
            )?;
        }
        writeln!(f)?;
        let failed = self.targets.iter().filter(|t| !t.pass).count();
        writeln!(
            f,
            "{} of {} targets pass",
            self.targets.len() - failed,
            self.targets.len()
        )
    }
}

fn write_stats_table(f: &mut fmt::Formatter<'_>, rows: &[ConfigStats]) -> fmt::Result {
    writeln!(
        f,
        "| configuration | pnl mean | pnl sd | pnl_lcb | dd mean | dd CVaR95 | kills | kill_ucb | max abs q | mean abs q | maker vol | hedge vol | taker cost |"
    )?;
    writeln!(
        f,
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    )?;
    for r in rows {
        let mut line = String::new();
        let _ = write!(
            line,
            "| {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {}/{} | {:.3} | {:.2} | {:.2} | {:.0} | {:.0} | {:.1} |",
            r.label,
            r.pnl_mean,
            r.pnl_std,
            r.pnl_lcb,
            r.dd_mean,
            r.dd_cvar,
            r.kill_count,
            r.runs,
            r.kill_ucb,
            r.max_abs_q_mean,
            r.mean_abs_q_mean,
            r.maker_volume_mean,
            r.hedge_volume_mean,
            r.taker_cost_mean
        );
        writeln!(f, "{line}")?;
    }
    Ok(())
}

//! Configuration: the risk profiles, the seven `PARAPHINA_*` knobs, the market defaults
//! and the effective configuration of a run. Every default constant of the model lives
//! here, in one place, so the effective configuration written into every output is the
//! whole truth about a run.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// Risk profile presets, in order of caution (conservative tightest).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    Conservative,
    Balanced,
    Aggressive,
}

impl Profile {
    pub const ALL: [Profile; 3] = [Profile::Conservative, Profile::Balanced, Profile::Aggressive];

    /// Parses a profile name or alias, case-insensitively.
    pub fn parse(s: &str) -> Option<Profile> {
        let s = s.trim().to_ascii_lowercase();
        Profile::ALL.into_iter().find(|p| s == p.name() || s == p.alias())
    }

    /// The canonical name, as written into outputs.
    pub const fn name(self) -> &'static str {
        match self {
            Profile::Conservative => "conservative",
            Profile::Balanced => "balanced",
            Profile::Aggressive => "aggressive",
        }
    }

    /// The short name [`Profile::parse`] accepts as well.
    pub const fn alias(self) -> &'static str {
        match self {
            Profile::Conservative => "cons",
            Profile::Balanced => "bal",
            Profile::Aggressive => "agg",
        }
    }

    /// The canonical names, in order of caution.
    pub fn names() -> [&'static str; 3] {
        Profile::ALL.map(Profile::name)
    }

    /// The aliases, in the same order.
    pub fn aliases() -> [&'static str; 3] {
        Profile::ALL.map(Profile::alias)
    }

    /// The profile table: the one place its numbers are written.
    pub fn params(self) -> ProfileParams {
        match self {
            Profile::Conservative => ProfileParams {
                gamma: 0.08,
                hard_limit_tao: 40.0,
                delta_limit_usd: 12_000.0,
                warn_frac: 0.6,
                base_size_tao: 0.8,
                daily_loss_limit_usd: 350.0,
            },
            Profile::Balanced => ProfileParams {
                gamma: 0.04,
                hard_limit_tao: 60.0,
                delta_limit_usd: 18_000.0,
                warn_frac: 0.7,
                base_size_tao: 1.0,
                daily_loss_limit_usd: 500.0,
            },
            Profile::Aggressive => ProfileParams {
                gamma: 0.02,
                hard_limit_tao: 90.0,
                delta_limit_usd: 27_000.0,
                warn_frac: 0.8,
                base_size_tao: 1.3,
                daily_loss_limit_usd: 800.0,
            },
        }
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a risk profile sets.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ProfileParams {
    /// Risk aversion of the Avellaneda-Stoikov quoting (1/USD).
    pub gamma: f64,
    /// |inventory| at which the kill switch fires (TAO).
    pub hard_limit_tao: f64,
    /// |inventory × fair value| at which the kill switch fires (USD).
    pub delta_limit_usd: f64,
    /// Fraction of the hard limit beyond which the warning regime starts.
    pub warn_frac: f64,
    /// Quote size before the size multiplier and vol scaling (TAO).
    pub base_size_tao: f64,
    /// Default kill-switch loss limit (USD), overridden by `PARAPHINA_DAILY_LOSS_LIMIT`.
    pub daily_loss_limit_usd: f64,
}

/// The knobs a study tunes, as `PARAPHINA_*` environment variables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Knob {
    RiskProfile,
    HedgeBandBase,
    MmSizeEta,
    VolRef,
    DailyLossLimit,
    InitQTao,
    HedgeMaxStep,
}

/// The accepted domain of a numeric knob: `low < value <= high` when `low_open`,
/// else `low <= value <= high`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Domain {
    pub low: f64,
    pub high: f64,
    pub low_open: bool,
}

impl Domain {
    fn contains(&self, v: f64) -> bool {
        v.is_finite() && v <= self.high && if self.low_open { v > self.low } else { v >= self.low }
    }

    fn describe(&self) -> String {
        let open = if self.low_open { "(" } else { "[" };
        format!("a finite number in {open}{}, {}]", self.low, self.high)
    }
}

impl Knob {
    pub const ALL: [Knob; 7] = [
        Knob::RiskProfile,
        Knob::HedgeBandBase,
        Knob::MmSizeEta,
        Knob::VolRef,
        Knob::DailyLossLimit,
        Knob::InitQTao,
        Knob::HedgeMaxStep,
    ];

    pub const fn var_name(self) -> &'static str {
        match self {
            Knob::RiskProfile => "PARAPHINA_RISK_PROFILE",
            Knob::HedgeBandBase => "PARAPHINA_HEDGE_BAND_BASE",
            Knob::MmSizeEta => "PARAPHINA_MM_SIZE_ETA",
            Knob::VolRef => "PARAPHINA_VOL_REF",
            Knob::DailyLossLimit => "PARAPHINA_DAILY_LOSS_LIMIT",
            Knob::InitQTao => "PARAPHINA_INIT_Q_TAO",
            Knob::HedgeMaxStep => "PARAPHINA_HEDGE_MAX_STEP",
        }
    }

    /// What the knob means, for `--help` (the knob table of `simulator.md`).
    pub const fn description(self) -> &'static str {
        match self {
            Knob::RiskProfile => "risk profile preset",
            Knob::HedgeBandBase => "no-hedge band as a fraction of the hard inventory limit",
            Knob::MmSizeEta => "quote size multiplier",
            Knob::VolRef => "reference daily volatility for vol scaling",
            Knob::DailyLossLimit => "kill-switch loss limit, USD",
            Knob::InitQTao => "starting inventory, TAO (signed)",
            Knob::HedgeMaxStep => "most TAO hedged per tick",
        }
    }

    pub fn from_var_name(name: &str) -> Option<Knob> {
        Knob::ALL.into_iter().find(|k| k.var_name() == name)
    }

    /// Accepted domain of a numeric knob (None for the profile). Wider than the ranges a
    /// study samples, so scenarios can probe extreme settings; the study's search space
    /// must lie inside it (checked by the study's preflight).
    pub fn domain(self) -> Option<Domain> {
        let d = |low, high, low_open| Some(Domain { low, high, low_open });
        match self {
            Knob::RiskProfile => None,
            Knob::HedgeBandBase => d(0.0, 1.0, true),
            Knob::MmSizeEta => d(0.0, 10.0, true),
            Knob::VolRef => d(0.0, 5.0, true),
            Knob::DailyLossLimit => d(0.0, 1.0e9, true),
            Knob::InitQTao => d(-1.0e4, 1.0e4, false),
            Knob::HedgeMaxStep => d(0.0, 1.0e4, true),
        }
    }
}

/// A knob value that failed strict parsing: one line naming variable, value and domain.
#[derive(Debug, Clone, PartialEq)]
pub struct KnobError(pub String);

impl fmt::Display for KnobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for KnobError {}

/// The knob overlay as given (`PARAPHINA_*` name → raw string), validated.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overlay {
    values: BTreeMap<Knob, KnobValue>,
    raw: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum KnobValue {
    Profile(Profile),
    Number(f64),
}

impl Overlay {
    /// Builds an overlay from `(name, value)` pairs; only names starting with
    /// `PARAPHINA_` are considered, and each must be one of the seven knobs.
    pub fn from_pairs<I, K, V>(pairs: I) -> Result<Overlay, KnobError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let mut overlay = Overlay::default();
        for (name, value) in pairs {
            let (name, value) = (name.as_ref(), value.as_ref());
            if !name.starts_with("PARAPHINA_") {
                continue;
            }
            overlay.set(name, value)?;
        }
        Ok(overlay)
    }

    /// The overlay of the process environment. A variable whose value is not valid
    /// Unicode is an error too.
    pub fn from_env() -> Result<Overlay, KnobError> {
        let mut pairs = Vec::new();
        for (k, v) in std::env::vars_os() {
            let Some(k) = k.to_str() else { continue };
            if !k.starts_with("PARAPHINA_") {
                continue;
            }
            let v = v.into_string().map_err(|v| {
                KnobError(format!("{k}={v:?}: the value is not valid UTF-8"))
            })?;
            pairs.push((k.to_string(), v));
        }
        Overlay::from_pairs(pairs)
    }

    /// Sets one knob from its raw string, replacing an earlier value.
    pub fn set(&mut self, name: &str, raw: &str) -> Result<(), KnobError> {
        let Some(knob) = Knob::from_var_name(name) else {
            let known: Vec<&str> = Knob::ALL.iter().map(|k| k.var_name()).collect();
            return Err(KnobError(format!(
                "{name}={raw:?}: unknown PARAPHINA_* variable; accepted names: {}",
                known.join(", ")
            )));
        };
        let value = parse_knob(knob, raw)?;
        self.values.insert(knob, value);
        self.raw.insert(name.to_string(), raw.to_string());
        Ok(())
    }

    /// The raw strings as given, sorted by name.
    pub fn raw(&self) -> &BTreeMap<String, String> {
        &self.raw
    }

    pub fn profile(&self) -> Option<Profile> {
        match self.values.get(&Knob::RiskProfile) {
            Some(KnobValue::Profile(p)) => Some(*p),
            _ => None,
        }
    }

    pub fn number(&self, knob: Knob) -> Option<f64> {
        match self.values.get(&knob) {
            Some(KnobValue::Number(x)) => Some(*x),
            _ => None,
        }
    }

    /// Applies `other` on top of `self` (values of `other` win).
    pub fn overlaid_with(&self, other: &Overlay) -> Overlay {
        let mut out = self.clone();
        for (k, v) in &other.values {
            out.values.insert(*k, *v);
        }
        for (k, v) in &other.raw {
            out.raw.insert(k.clone(), v.clone());
        }
        out
    }
}

fn parse_knob(knob: Knob, raw: &str) -> Result<KnobValue, KnobError> {
    let name = knob.var_name();
    match knob.domain() {
        None => Profile::parse(raw).map(KnobValue::Profile).ok_or_else(|| {
            KnobError(format!(
                "{name}={raw:?}: unknown risk profile; accepted: {} (aliases {}, any case)",
                Profile::names().join(", "),
                Profile::aliases().join(", ")
            ))
        }),
        Some(domain) => {
            let parsed: Option<f64> = raw.trim().parse::<f64>().ok();
            match parsed {
                Some(v) if domain.contains(v) && !raw.trim().is_empty() => Ok(KnobValue::Number(v)),
                _ => Err(KnobError(format!(
                    "{name}={raw:?}: not accepted; expected {}",
                    domain.describe()
                ))),
            }
        }
    }
}

/// One perpetual venue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VenueParams {
    pub name: String,
    pub maker_fee_bps: f64,
    pub taker_fee_bps: f64,
    /// Market half-spread at the touch (USD).
    pub half_spread_usd: f64,
    /// Top-of-book depth (TAO): taker impact is `impact_usd × size / depth`.
    pub depth_tao: f64,
    /// Long-run mean of the venue's basis to fair value (USD).
    pub basis_mean_usd: f64,
    /// Uninformed arrival intensity at zero distance from the mid (per tick and side).
    pub flow_a: f64,
    /// Decay of the uninformed intensity with distance (per USD).
    pub flow_k: f64,
    /// Quote latency (ms): informed traders see this much further ahead.
    pub latency_ms: f64,
    /// Price grid of the venue's book (USD); 0 is a continuous price. Our bids are
    /// rounded down to it and our asks up.
    pub tick_size_usd: f64,
}

impl VenueParams {
    /// Maker fee as a fraction of notional.
    pub fn maker_fee(&self) -> f64 {
        self.maker_fee_bps * 1e-4
    }

    /// Taker fee as a fraction of notional.
    pub fn taker_fee(&self) -> f64 {
        self.taker_fee_bps * 1e-4
    }
}

/// The market process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarketParams {
    pub s0_usd: f64,
    /// Daily volatility of log fair value.
    pub vol: f64,
    /// Daily drift of log fair value.
    pub drift: f64,
    /// Expected jumps per day.
    pub jump_intensity: f64,
    /// Standard deviation of the log jump size.
    pub jump_sigma: f64,
    /// Mean-reversion speed of the basis per tick.
    pub basis_theta: f64,
    /// Basis noise per tick (USD).
    pub basis_sigma_usd: f64,
    /// Price impact of a taker order of one full depth (USD).
    pub impact_usd: f64,
    /// Latency at which informed traders see half of the next tick's move (ms).
    pub latency_half_ms: f64,
    /// The diffusion's shocks per tick: `normal` (GBM) or `binomial` (±1 standard
    /// deviation with equal probability, the walk of Avellaneda & Stoikov 2008).
    pub diffusion_steps: DiffusionSteps,
    /// How order flow fills our quotes.
    pub flow: FlowRules,
    /// One to [`MAX_VENUES`] venues.
    pub venues: Vec<VenueParams>,
}

/// The most venues a market may have: the hot path's per-venue arrays have this length
/// (a market with fewer venues keeps the rest permanently down).
pub const MAX_VENUES: usize = crate::market::N_VENUES;

/// The diffusion's shock per tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DiffusionSteps {
    Normal,
    Binomial,
}

/// Probability that a side with intensity `lambda = A exp(-k d)` (per tick) is hit in a
/// tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArrivalProbability {
    /// At least one arrival of a Poisson process within the tick: `1 - exp(-lambda)`.
    Poisson,
    /// `min(lambda, 1)`: the discretization of Avellaneda & Stoikov (2008), section 3.3.
    Linear,
}

/// The mid the distance `d` of the arrival intensity is measured from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArrivalMid {
    /// The mid when the quote was placed (the start of the tick).
    Start,
    /// The mid at the end of the tick, after its move (the convention that reproduces the
    /// published Avellaneda-Stoikov table, `references.md`).
    End,
}

/// How much of a quote an uninformed arrival takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FillSize {
    /// A uniform random share of the quoted size.
    RandomShare,
    /// One unit (1 TAO), or the quote if smaller; informed fills take one unit too.
    Unit,
}

/// The rules of the fill model.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlowRules {
    /// Informed flow fills a quote first, in full, when the move crosses it.
    pub informed: bool,
    pub arrival_probability: ArrivalProbability,
    pub arrival_mid: ArrivalMid,
    pub fill_size: FillSize,
}

impl Default for FlowRules {
    fn default() -> Self {
        FlowRules {
            informed: true,
            arrival_probability: ArrivalProbability::Poisson,
            arrival_mid: ArrivalMid::Start,
            fill_size: FillSize::RandomShare,
        }
    }
}

/// Where the quotes are centred.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Variant {
    /// Around the reservation price `S - gamma sigma^2 tau q` (Avellaneda-Stoikov).
    Inventory,
    /// Around the mid, whatever the inventory (the paper's benchmark strategy).
    Symmetric,
}

impl Default for MarketParams {
    fn default() -> Self {
        let v = |name: &str, maker, half, depth, basis, a, k, lat| VenueParams {
            name: name.to_string(),
            maker_fee_bps: maker,
            taker_fee_bps: 5.0,
            half_spread_usd: half,
            depth_tao: depth,
            basis_mean_usd: basis,
            flow_a: a,
            flow_k: k,
            latency_ms: lat,
            tick_size_usd: 0.0,
        };
        MarketParams {
            s0_usd: 250.0,
            vol: 0.06,
            drift: 0.0,
            jump_intensity: 3.0,
            jump_sigma: 0.08,
            basis_theta: 0.1,
            basis_sigma_usd: 0.05,
            impact_usd: 1.0,
            latency_half_ms: 8000.0,
            diffusion_steps: DiffusionSteps::Normal,
            flow: FlowRules::default(),
            venues: vec![
                v("extended", 2.0, 0.21, 50.0, 0.03, 0.67, 1.5, 120.0),
                v("hyperliquid", 1.5, 0.19, 70.0, 0.0, 0.77, 1.4, 80.0),
                v("aster", 2.0, 0.23, 40.0, -0.04, 0.59, 1.6, 150.0),
                v("lighter", 2.0, 0.22, 45.0, 0.02, 0.63, 1.55, 200.0),
                v("paradex", 2.0, 0.24, 40.0, -0.02, 0.59, 1.6, 180.0),
            ],
        }
    }
}

/// The strategy's resolved parameters: profile values, knobs and fixed constants.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StrategyParams {
    pub profile: Profile,
    pub gamma: f64,
    pub hard_limit_tao: f64,
    pub delta_limit_usd: f64,
    pub warn_frac: f64,
    pub base_size_tao: f64,
    pub daily_loss_limit_usd: f64,
    pub hedge_band_base: f64,
    pub mm_size_eta: f64,
    pub vol_ref: f64,
    pub init_q_tao: f64,
    pub hedge_max_step_tao: f64,
    /// Fraction of |inventory| hedged per tick before the step cap.
    pub k_hedge: f64,
    /// Inventory-skew horizon (ticks).
    pub tau_ticks: f64,
    /// Edge kept above the maker fee (USD).
    pub min_edge_usd: f64,
    /// Weight of the newest squared return in the EWMA variance.
    pub ewma_weight: f64,
    /// Spread multiplier in the warning regime.
    pub warn_spread_mult: f64,
    /// Largest single quote (TAO).
    pub max_order_tao: f64,
    /// Quotes around the reservation price (`inventory`) or the mid (`symmetric`).
    pub variant: Variant,
    /// Avellaneda-Stoikov horizon: the skew uses `tau = T - t` (ticks left in the run)
    /// instead of `tau_ticks`, and each half-spread gains `gamma sigma^2 (T - t) / 2`.
    pub horizon_term: bool,
    /// Hedge outside the band (false: never hedge).
    pub hedging: bool,
    /// Closest a quote may come to the venue mid (USD); negative lets a quote cross the
    /// mid, as the reservation price of the Avellaneda-Stoikov model may.
    pub min_quote_distance_usd: f64,
}

impl StrategyParams {
    /// Profile defaults overlaid by the knobs given.
    pub fn resolve(overlay: &Overlay) -> StrategyParams {
        let profile = overlay.profile().unwrap_or(Profile::Balanced);
        let p = profile.params();
        let num = |k: Knob, default: f64| overlay.number(k).unwrap_or(default);
        StrategyParams {
            profile,
            gamma: p.gamma,
            hard_limit_tao: p.hard_limit_tao,
            delta_limit_usd: p.delta_limit_usd,
            warn_frac: p.warn_frac,
            base_size_tao: p.base_size_tao,
            daily_loss_limit_usd: num(Knob::DailyLossLimit, p.daily_loss_limit_usd),
            hedge_band_base: num(Knob::HedgeBandBase, 0.05),
            mm_size_eta: num(Knob::MmSizeEta, 1.0),
            vol_ref: num(Knob::VolRef, 0.08),
            init_q_tao: num(Knob::InitQTao, 0.0),
            hedge_max_step_tao: num(Knob::HedgeMaxStep, 10.0),
            k_hedge: 0.5,
            tau_ticks: 10.0,
            min_edge_usd: 0.05,
            ewma_weight: 0.05,
            warn_spread_mult: 1.5,
            max_order_tao: 5.0,
            variant: Variant::Inventory,
            horizon_term: false,
            hedging: true,
            min_quote_distance_usd: 0.01,
        }
    }
}

/// Default tick length: one minute, so the default 600 ticks cover ten hours.
pub const DEFAULT_TICK_MS: u64 = 60_000;

/// Everything one run of the simulation depends on, besides its seed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimConfig {
    pub ticks: u64,
    pub tick_ms: u64,
    pub market: MarketParams,
    pub strategy: StrategyParams,
}

impl SimConfig {
    /// Default market, strategy from profile defaults and the overlay.
    pub fn new(ticks: u64, overlay: &Overlay) -> SimConfig {
        SimConfig {
            ticks,
            tick_ms: DEFAULT_TICK_MS,
            market: MarketParams::default(),
            strategy: StrategyParams::resolve(overlay),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_aliases_parse_case_insensitively() {
        assert_eq!(Profile::parse("CONS"), Some(Profile::Conservative));
        assert_eq!(Profile::parse("Bal"), Some(Profile::Balanced));
        assert_eq!(Profile::parse("aggressive"), Some(Profile::Aggressive));
        assert_eq!(Profile::parse("reckless"), None);
        for p in Profile::ALL {
            assert_eq!(Profile::parse(p.name()), Some(p));
            assert_eq!(Profile::parse(&p.alias().to_ascii_uppercase()), Some(p));
        }
    }

    #[test]
    fn profiles_serialize_as_their_names() {
        for p in Profile::ALL {
            assert_eq!(serde_json::to_value(p).unwrap(), p.name());
        }
    }

    #[test]
    fn the_profile_error_lists_every_name_and_alias() {
        let err = Overlay::from_pairs([("PARAPHINA_RISK_PROFILE", "yolo")]).unwrap_err().to_string();
        assert_eq!(
            err,
            "PARAPHINA_RISK_PROFILE=\"yolo\": unknown risk profile; accepted: conservative, balanced, \
             aggressive (aliases cons, bal, agg, any case)"
        );
    }

    #[test]
    fn profiles_are_ordered_by_caution() {
        let [c, b, a] = Profile::ALL.map(Profile::params);
        for (x, y) in [(c, b), (b, a)] {
            assert!(x.gamma > y.gamma);
            assert!(x.hard_limit_tao < y.hard_limit_tao);
            assert!(x.delta_limit_usd < y.delta_limit_usd);
            assert!(x.warn_frac < y.warn_frac);
            assert!(x.base_size_tao < y.base_size_tao);
            assert!(x.daily_loss_limit_usd < y.daily_loss_limit_usd);
        }
    }

    #[test]
    fn strict_parsing_rejects_bad_values_naming_variable_value_and_domain() {
        for (name, value) in [
            ("PARAPHINA_MM_SIZE_ETA", "abc"),
            ("PARAPHINA_MM_SIZE_ETA", "NaN"),
            ("PARAPHINA_MM_SIZE_ETA", "inf"),
            ("PARAPHINA_MM_SIZE_ETA", "0"),
            ("PARAPHINA_MM_SIZE_ETA", ""),
            ("PARAPHINA_HEDGE_BAND_BASE", "-0.1"),
            ("PARAPHINA_DAILY_LOSS_LIMIT", "1e400"),
            ("PARAPHINA_RISK_PROFILE", "yolo"),
        ] {
            let err = Overlay::from_pairs([(name, value)]).unwrap_err().to_string();
            assert!(err.starts_with(name), "{err}");
            assert!(err.contains(&format!("{value:?}")), "{err}");
            assert!(err.contains("accepted") || err.contains("expected"), "{err}");
            assert!(!err.contains('\n'));
        }
    }

    #[test]
    fn unknown_paraphina_names_are_rejected_and_others_ignored() {
        let err = Overlay::from_pairs([("PARAPHINA_MM_SIZE", "1")]).unwrap_err();
        assert!(err.to_string().contains("unknown PARAPHINA_* variable"));
        assert!(Overlay::from_pairs([("HOME", "/root")]).is_ok());
    }

    #[test]
    fn overlay_resolves_over_profile_defaults() {
        let o = Overlay::from_pairs([
            ("PARAPHINA_RISK_PROFILE", "agg"),
            ("PARAPHINA_MM_SIZE_ETA", "1.5"),
        ])
        .unwrap();
        let s = StrategyParams::resolve(&o);
        assert_eq!(s.profile, Profile::Aggressive);
        assert_eq!(s.mm_size_eta, 1.5);
        assert_eq!(s.daily_loss_limit_usd, Profile::Aggressive.params().daily_loss_limit_usd);
    }
}

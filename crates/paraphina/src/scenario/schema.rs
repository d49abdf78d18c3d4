//! The YAML form of a scenario file, section by section, as parsed. Every struct denies
//! unknown keys and every number is checked while parsing (see [`crate::input`]); what
//! needs more than one field is checked in [`super::resolve`]. The sections are shared
//! with suite entries, which may carry them too.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

use crate::config::{ArrivalMid, ArrivalProbability, FillSize, Variant};
use crate::input::{
    BoundedCount, Count, FeeBps, Finite, Ident, MakerFeeBps, Natural, NonNegative, Positive, Probability,
    ShrinkFactor, TickSeconds,
};

/// A scenario file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioDoc {
    pub schema_version: Spanned<u32>,
    pub id: Ident,
    #[serde(default)]
    pub description: Option<String>,
    pub horizon: Spanned<HorizonDoc>,
    pub seeds: SeedsDoc,
    #[serde(default)]
    pub initial_state: Option<Spanned<InitialStateDoc>>,
    pub market: Spanned<MarketDoc>,
    #[serde(default)]
    pub microstructure: Option<MicrostructureDoc>,
    #[serde(default)]
    pub venues: Option<Spanned<Vec<Spanned<VenueDoc>>>>,
    #[serde(default)]
    pub flow: Option<FlowDoc>,
    #[serde(default)]
    pub strategy: Option<Spanned<StrategyDoc>>,
    #[serde(default)]
    pub shocks: Option<Vec<Spanned<ShockDoc>>>,
    #[serde(default)]
    pub invariants: Option<Spanned<InvariantsDoc>>,
}

/// One venue of a scenario's market: entry `i` starts from the model's venue `i` and
/// replaces the keys it gives.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VenueDoc {
    pub name: Spanned<String>,
    /// Uninformed arrival intensity at zero distance, per tick and side (A dt).
    #[serde(default)]
    pub arrival_a_per_tick: Option<NonNegative>,
    /// Decay of the intensity with distance (k, per USD).
    #[serde(default)]
    pub arrival_k_per_usd: Option<Positive>,
    #[serde(default)]
    pub maker_fee_bps: Option<MakerFeeBps>,
    #[serde(default)]
    pub taker_fee_bps: Option<FeeBps>,
    #[serde(default)]
    pub half_spread_usd: Option<NonNegative>,
    #[serde(default)]
    pub depth_tao: Option<Positive>,
    #[serde(default)]
    pub basis_mean_usd: Option<Finite>,
    #[serde(default)]
    pub latency_ms: Option<NonNegative>,
    #[serde(default)]
    pub tick_size_usd: Option<NonNegative>,
}

/// The rules of the fill model ([`crate::config::FlowRules`]); a key left out keeps the
/// model's default.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlowDoc {
    #[serde(default)]
    pub informed: Option<bool>,
    #[serde(default)]
    pub arrival_probability: Option<ArrivalProbability>,
    #[serde(default)]
    pub arrival_mid: Option<ArrivalMid>,
    #[serde(default)]
    pub fill_size: Option<FillSize>,
}

/// Where the strategy's volatility comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VolatilitySource {
    /// The EWMA estimate of fair-value returns, scaled against `vol_ref` (the default).
    Ewma,
    /// The market's volatility, known and constant (as in Avellaneda & Stoikov): no
    /// estimate, vol ratio 1.
    Known,
}

/// Strategy settings that are not knobs; a key left out keeps the profile's value.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StrategyDoc {
    #[serde(default)]
    pub variant: Option<Variant>,
    /// Risk aversion (1/USD), replacing the profile's.
    #[serde(default)]
    pub gamma: Option<Positive>,
    #[serde(default)]
    pub horizon_term: Option<bool>,
    #[serde(default)]
    pub hedging: Option<bool>,
    #[serde(default)]
    pub volatility: Option<VolatilitySource>,
    #[serde(default)]
    pub min_edge_usd: Option<NonNegative>,
    #[serde(default)]
    pub min_quote_distance_usd: Option<Finite>,
    /// Base quote size (TAO), replacing the profile's.
    #[serde(default)]
    pub quote_size_tao: Option<Positive>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HorizonDoc {
    /// At most 10,000,000 ticks (19 years of 60 s ticks).
    pub steps: BoundedCount<10_000_000>,
    pub dt_seconds: TickSeconds,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedsDoc {
    pub base_seed: Natural,
    /// At most 100,000 seeds: every seed's result is kept in memory.
    pub num_seeds: BoundedCount<100_000>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InitialStateDoc {
    #[serde(default)]
    pub profile: Option<Spanned<String>>,
    #[serde(default)]
    pub inventory_tao: Option<Spanned<Finite>>,
}

/// The fair-value process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Process {
    /// Geometric Brownian motion: no jumps.
    Gbm,
    /// GBM plus Poisson jumps of normal log size.
    JumpDiffusion,
    /// A binomial walk in log price: ±sigma sqrt(dt) per tick with equal probability
    /// (Avellaneda & Stoikov 2008); no jumps.
    BinomialWalk,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarketDoc {
    pub process: Process,
    #[serde(default)]
    pub s0_usd: Option<Positive>,
    pub vol: NonNegative,
    pub drift: Finite,
    #[serde(default)]
    pub jump_intensity: Option<Spanned<NonNegative>>,
    #[serde(default)]
    pub jump_sigma: Option<Spanned<NonNegative>>,
    /// Noise of every venue's basis per tick (USD); 0 puts the venue mids on fair value.
    #[serde(default)]
    pub basis_sigma_usd: Option<NonNegative>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MicrostructureDoc {
    #[serde(default)]
    pub maker_fee_bps: Option<FeeBps>,
    #[serde(default)]
    pub taker_fee_bps: Option<FeeBps>,
    #[serde(default)]
    pub latency_ms: Option<NonNegative>,
    #[serde(default)]
    pub spread_multiplier: Option<Positive>,
    #[serde(default)]
    pub depth_multiplier: Option<Positive>,
}

/// The shock types of [`crate::stress::ShockKind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShockType {
    VolSpike,
    SpreadShock,
    DepthShock,
    VenueOutage,
    BasisSpike,
}

/// One shock: the fields a type takes are checked in [`super::resolve`], so a field of
/// another type is an error rather than silently ignored.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShockDoc {
    #[serde(rename = "type")]
    pub kind: ShockType,
    pub start_tick: Spanned<Natural>,
    pub duration_ticks: Count,
    #[serde(default)]
    pub multiplier: Option<Positive>,
    #[serde(default)]
    pub factor: Option<Positive>,
    #[serde(default)]
    pub venue: Option<Spanned<String>>,
    #[serde(default)]
    pub usd: Option<Finite>,
}

/// What the kill switch is expected to do in every seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KillExpectation {
    /// No seed may be killed.
    Never,
    /// Every seed must be killed.
    Always,
    /// No check.
    Allowed,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InvariantsDoc {
    #[serde(default)]
    pub expect_kill_switch: Option<KillExpectation>,
    #[serde(default)]
    pub min_final_pnl_usd: Option<Finite>,
    #[serde(default)]
    pub max_drawdown_usd: Option<NonNegative>,
    #[serde(default)]
    pub max_loss_overshoot: Option<NonNegative>,
}

/// Whole-run stress of a suite entry.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdversarialDoc {
    #[serde(default)]
    pub vol_multiplier: Option<Positive>,
    #[serde(default)]
    pub jump_intensity: Option<NonNegative>,
    #[serde(default)]
    pub spread_multiplier: Option<Positive>,
    #[serde(default)]
    pub latency_multiplier: Option<Positive>,
    #[serde(default)]
    pub depth_collapse_factor: Option<ShrinkFactor>,
    #[serde(default)]
    pub venue_outage_prob: Option<Probability>,
}

/// A suite entry: a scenario by `path`, inline, or both (the entry's fields on top of the
/// file's). See the `suite` module documentation for the rules.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntryDoc {
    #[serde(default)]
    pub path: Option<Spanned<String>>,
    #[serde(default)]
    pub id: Option<Ident>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub seed: Option<Spanned<Natural>>,
    #[serde(default)]
    pub profile: Option<Spanned<String>>,
    #[serde(default)]
    pub env_overrides: Option<BTreeMap<String, Spanned<String>>>,
    #[serde(default)]
    pub adversarial_params: Option<AdversarialDoc>,
    #[serde(default)]
    pub horizon: Option<Spanned<HorizonDoc>>,
    #[serde(default)]
    pub seeds: Option<SeedsDoc>,
    #[serde(default)]
    pub initial_state: Option<Spanned<InitialStateDoc>>,
    #[serde(default)]
    pub market: Option<Spanned<MarketDoc>>,
    #[serde(default)]
    pub microstructure: Option<MicrostructureDoc>,
    #[serde(default)]
    pub shocks: Option<Vec<Spanned<ShockDoc>>>,
    #[serde(default)]
    pub invariants: Option<Spanned<InvariantsDoc>>,
}

//! From a scenario to what the simulator runs: the `PARAPHINA_*` overlay in its order of
//! priority, the market parameters with the scenario's market, microstructure and
//! adversarial stress applied, and the timed stress.

use serde::Serialize;

use super::resolve::{Scenario, raw_overlay};
use super::schema::{AdversarialDoc, VolatilitySource};
use crate::config::{MarketParams, Overlay, SimConfig, StrategyParams};
use crate::stress::{DEFAULT_OUTAGE_TICKS, Stress};

/// Whole-run stress of a suite entry. Each parameter reaches the simulation:
/// - `vol_multiplier`: market volatility × m;
/// - `jump_intensity`: jumps per day (the scenario's jump size, or the model's default
///   size on a `gbm` market);
/// - `spread_multiplier`: every venue's half-spread × m;
/// - `latency_multiplier`: every venue's latency × m;
/// - `depth_collapse_factor`: every venue's top-of-book depth × f, f in (0, 1];
/// - `venue_outage_prob`: probability per venue and tick that a random outage of
///   [`DEFAULT_OUTAGE_TICKS`] ticks starts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Adversarial {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vol_multiplier: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jump_intensity: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spread_multiplier: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_multiplier: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub depth_collapse_factor: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub venue_outage_prob: Option<f64>,
}

impl Adversarial {
    pub fn from_doc(d: &AdversarialDoc) -> Adversarial {
        Adversarial {
            vol_multiplier: d.vol_multiplier.map(|v| v.get()),
            jump_intensity: d.jump_intensity.map(|v| v.get()),
            spread_multiplier: d.spread_multiplier.map(|v| v.get()),
            latency_multiplier: d.latency_multiplier.map(|v| v.get()),
            depth_collapse_factor: d.depth_collapse_factor.map(|v| v.get()),
            venue_outage_prob: d.venue_outage_prob.map(|v| v.get()),
        }
    }
}

/// The overlays a scenario run sees, lowest priority first.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct OverlayLayers {
    /// The scenario's own `initial_state` (profile, inventory).
    #[serde(serialize_with = "raw_overlay")]
    pub scenario: Overlay,
    /// The candidate's overlay: the `PARAPHINA_*` variables of the environment.
    #[serde(serialize_with = "raw_overlay")]
    pub candidate: Overlay,
    /// The suite entry's `env_overrides`.
    #[serde(serialize_with = "raw_overlay")]
    pub env_overrides: Overlay,
}

impl OverlayLayers {
    /// Priority, highest first: `env_overrides`, the candidate, the scenario's
    /// `initial_state`; a knob none of them sets keeps its profile default.
    pub fn effective(&self) -> Overlay {
        self.scenario
            .overlaid_with(&self.candidate)
            .overlaid_with(&self.env_overrides)
    }
}

/// The configuration and stress of one scenario run.
#[derive(Debug, Clone, PartialEq)]
pub struct Built {
    pub overlay: Overlay,
    pub config: SimConfig,
    pub stress: Stress,
}

/// Builds the simulator's input: strategy from the effective overlay, market from the
/// model defaults with the scenario and the adversarial parameters applied.
pub fn build(scenario: &Scenario, adversarial: &Adversarial, layers: &OverlayLayers) -> Built {
    let overlay = layers.effective();
    let mut market = MarketParams::default();
    let default_jump_sigma = market.jump_sigma;

    let m = &scenario.market;
    if let Some(s0) = m.s0_usd {
        market.s0_usd = s0;
    }
    market.vol = m.vol;
    market.drift = m.drift;
    if m.process == crate::scenario::Process::BinomialWalk {
        market.diffusion_steps = crate::config::DiffusionSteps::Binomial;
    }
    if let Some(b) = m.basis_sigma_usd {
        market.basis_sigma_usd = b;
    }
    // A gbm market keeps the default jump size so that an adversarial jump intensity
    // has jumps to draw.
    (market.jump_intensity, market.jump_sigma) = match m.jumps {
        Some(j) => (j.intensity, j.sigma),
        None => (0.0, default_jump_sigma),
    };

    let setup = &scenario.setup;
    if let Some(venues) = &setup.venues {
        market.venues = venues.clone();
    }
    let f = &mut market.flow;
    f.informed = setup.informed.unwrap_or(f.informed);
    f.arrival_probability = setup.arrival_probability.unwrap_or(f.arrival_probability);
    f.arrival_mid = setup.arrival_mid.unwrap_or(f.arrival_mid);
    f.fill_size = setup.fill_size.unwrap_or(f.fill_size);

    let ms = &scenario.microstructure;
    for v in &mut market.venues {
        if let Some(f) = ms.maker_fee_bps {
            v.maker_fee_bps = f;
        }
        if let Some(f) = ms.taker_fee_bps {
            v.taker_fee_bps = f;
        }
        if let Some(l) = ms.latency_ms {
            v.latency_ms = l;
        }
        v.half_spread_usd *=
            ms.spread_multiplier.unwrap_or(1.0) * adversarial.spread_multiplier.unwrap_or(1.0);
        v.depth_tao *=
            ms.depth_multiplier.unwrap_or(1.0) * adversarial.depth_collapse_factor.unwrap_or(1.0);
        v.latency_ms *= adversarial.latency_multiplier.unwrap_or(1.0);
    }
    market.vol *= adversarial.vol_multiplier.unwrap_or(1.0);
    if let Some(j) = adversarial.jump_intensity {
        market.jump_intensity = j;
    }

    let mut strategy = StrategyParams::resolve(&overlay);
    strategy.variant = setup.variant.unwrap_or(strategy.variant);
    strategy.gamma = setup.gamma.unwrap_or(strategy.gamma);
    strategy.horizon_term = setup.horizon_term.unwrap_or(strategy.horizon_term);
    strategy.hedging = setup.hedging.unwrap_or(strategy.hedging);
    strategy.min_edge_usd = setup.min_edge_usd.unwrap_or(strategy.min_edge_usd);
    strategy.min_quote_distance_usd = setup.min_quote_distance_usd.unwrap_or(strategy.min_quote_distance_usd);
    strategy.base_size_tao = setup.quote_size_tao.unwrap_or(strategy.base_size_tao);
    if setup.volatility == Some(VolatilitySource::Known) && market.vol > 0.0 {
        // The market's volatility, never re-estimated: the vol ratio stays 1.
        strategy.vol_ref = market.vol;
        strategy.ewma_weight = 0.0;
    }
    let config = SimConfig {
        ticks: scenario.horizon.steps,
        tick_ms: scenario.horizon.tick_ms,
        market,
        strategy,
    };
    let stress = Stress {
        venue_outage_prob: adversarial.venue_outage_prob.unwrap_or(0.0),
        outage_ticks: DEFAULT_OUTAGE_TICKS,
        shocks: scenario.shocks.iter().map(|s| s.shock.clone()).collect(),
    };
    Built {
        overlay,
        config,
        stress,
    }
}

//! Stress applied during a run: timed shocks (from scenarios) and random venue outages
//! (from adversarial parameters). Whole-run stress (volatility, jump intensity, spread,
//! latency and depth multipliers) changes the market parameters themselves before a run
//! starts, so the effective configuration shows it.

use rand::Rng;
use rand_pcg::Pcg64Mcg;
use serde::{Deserialize, Serialize};

use crate::market::N_VENUES;
use crate::market::flow::split_uniforms;

/// A shock over `[start_tick, start_tick + duration_ticks)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Shock {
    pub start_tick: u64,
    pub duration_ticks: u64,
    #[serde(flatten)]
    pub kind: ShockKind,
}

/// What a shock does while it lasts. A venue of `None` means every venue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ShockKind {
    /// Fair-value volatility × multiplier.
    VolSpike { multiplier: f64 },
    /// Market half-spreads × multiplier (taker costs, and our quotes' floor).
    SpreadShock { multiplier: f64 },
    /// Top-of-book depth × factor (taker impact / factor).
    DepthShock { factor: f64 },
    /// The venue quotes and fills nothing.
    VenueOutage {
        #[serde(default)]
        venue: Option<String>,
    },
    /// The venue's mid moves away from fair value by `usd`.
    BasisSpike {
        #[serde(default)]
        venue: Option<String>,
        usd: f64,
    },
}

/// Stress of a run, as configured.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stress {
    /// Probability per venue and tick that a random outage starts.
    #[serde(default)]
    pub venue_outage_prob: f64,
    /// Length of a random outage (ticks).
    #[serde(default = "default_outage_ticks")]
    pub outage_ticks: u64,
    #[serde(default)]
    pub shocks: Vec<Shock>,
}

/// Length of a random outage when none is configured (ticks).
pub const DEFAULT_OUTAGE_TICKS: u64 = 30;

fn default_outage_ticks() -> u64 {
    DEFAULT_OUTAGE_TICKS
}

/// Market conditions of one tick.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Regime {
    pub vol_mult: f64,
    pub spread_mult: f64,
    pub depth_mult: f64,
    /// Bit v set: venue v is in a scheduled outage.
    pub down_mask: u32,
    pub basis_add: [f64; N_VENUES],
}

impl Regime {
    pub const CALM: Regime = Regime {
        vol_mult: 1.0,
        spread_mult: 1.0,
        depth_mult: 1.0,
        down_mask: 0,
        basis_add: [0.0; N_VENUES],
    };
}

#[derive(Debug, Clone, Copy)]
enum Effect {
    Vol(f64),
    Spread(f64),
    Depth(f64),
    Outage(u32),
    Basis(u32, f64),
}

/// Stress resolved against the venue list, ready for the run loop.
#[derive(Debug, Clone)]
pub struct CompiledStress {
    pub venue_outage_prob: f64,
    pub outage_ticks: u64,
    shocks: Vec<(u64, u64, Effect)>,
}

impl CompiledStress {
    pub fn none() -> CompiledStress {
        CompiledStress { venue_outage_prob: 0.0, outage_ticks: 0, shocks: Vec::new() }
    }

    /// Resolves venue names; an unknown venue is an error naming it and the known ones.
    pub fn compile(stress: &Stress, venue_names: &[String]) -> Result<CompiledStress, String> {
        let all = (1u32 << venue_names.len()) - 1;
        let mask = |venue: &Option<String>| -> Result<u32, String> {
            match venue {
                None => Ok(all),
                Some(name) => venue_names
                    .iter()
                    .position(|v| v == name)
                    .map(|i| 1u32 << i)
                    .ok_or_else(|| format!("unknown venue {name:?}; known venues: {}", venue_names.join(", "))),
            }
        };
        let mut shocks = Vec::with_capacity(stress.shocks.len());
        for s in &stress.shocks {
            let effect = match &s.kind {
                ShockKind::VolSpike { multiplier } => Effect::Vol(*multiplier),
                ShockKind::SpreadShock { multiplier } => Effect::Spread(*multiplier),
                ShockKind::DepthShock { factor } => Effect::Depth(*factor),
                ShockKind::VenueOutage { venue } => Effect::Outage(mask(venue)?),
                ShockKind::BasisSpike { venue, usd } => Effect::Basis(mask(venue)?, *usd),
            };
            shocks.push((s.start_tick, s.start_tick.saturating_add(s.duration_ticks), effect));
        }
        Ok(CompiledStress {
            venue_outage_prob: stress.venue_outage_prob,
            outage_ticks: stress.outage_ticks,
            shocks,
        })
    }

    /// The random outages of one run, none started yet.
    pub fn outages(&self) -> RandomOutages {
        RandomOutages { prob: self.venue_outage_prob, ticks: self.outage_ticks, left: [0; N_VENUES] }
    }

    pub fn has_shocks(&self) -> bool {
        !self.shocks.is_empty()
    }

    /// Conditions at tick `t` (shocks that overlap multiply or add up).
    pub fn regime(&self, t: u64) -> Regime {
        let mut r = Regime::CALM;
        for &(start, end, effect) in &self.shocks {
            if t < start || t >= end {
                continue;
            }
            match effect {
                Effect::Vol(m) => r.vol_mult *= m,
                Effect::Spread(m) => r.spread_mult *= m,
                Effect::Depth(f) => r.depth_mult *= f,
                Effect::Outage(mask) => r.down_mask |= mask,
                Effect::Basis(mask, usd) => {
                    for (v, add) in r.basis_add.iter_mut().enumerate() {
                        if mask & (1 << v) != 0 {
                            *add += usd;
                        }
                    }
                }
            }
        }
        r
    }
}

/// Random venue outages during a run: a venue that is up starts an outage with
/// probability `venue_outage_prob` per tick, and stays down for `outage_ticks` ticks.
#[derive(Debug, Clone, PartialEq)]
pub struct RandomOutages {
    prob: f64,
    ticks: u64,
    /// Ticks of outage left per venue.
    left: [u64; N_VENUES],
}

impl RandomOutages {
    /// The venues down at this tick: those of the `scheduled` mask and those in a random
    /// outage. Draws one variate per venue and tick from `rng` when random outages are
    /// configured, none otherwise.
    #[inline]
    pub fn down(&mut self, scheduled: u32, rng: &mut Pcg64Mcg) -> u32 {
        let mut down = scheduled;
        if self.prob > 0.0 {
            for (v, left) in self.left.iter_mut().enumerate() {
                let u: f64 = split_uniforms(rng.next_u64()).0;
                if *left == 0 && u < self.prob {
                    *left = self.ticks;
                }
                if *left > 0 {
                    down |= 1 << v;
                    *left -= 1;
                }
            }
        }
        down
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn without_random_outages_only_the_schedule_counts_and_nothing_is_drawn() {
        let mut o = CompiledStress::none().outages();
        let mut rng = Pcg64Mcg::seed_from_u64(1);
        let before = rng.clone();
        assert_eq!(o.down(0b10010, &mut rng), 0b10010);
        assert_eq!(rng, before);
    }

    #[test]
    fn a_random_outage_lasts_its_length() {
        let stress = Stress { venue_outage_prob: 0.999_999, outage_ticks: 3, shocks: Vec::new() };
        let names: Vec<String> = (0..N_VENUES).map(|v| format!("v{v}")).collect();
        let mut o = CompiledStress::compile(&stress, &names).unwrap().outages();
        let mut rng = Pcg64Mcg::seed_from_u64(1);
        let all = (1u32 << N_VENUES) - 1;
        assert_eq!(o.down(0, &mut rng), all);
        // No new outage from here on: the started ones last 3 ticks in all.
        o.prob = f64::MIN_POSITIVE;
        assert_eq!(o.down(0, &mut rng), all);
        assert_eq!(o.down(0, &mut rng), all);
        assert_eq!(o.down(0b1, &mut rng), 0b1);
    }
}

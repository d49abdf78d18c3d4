//! Fair value: geometric Brownian motion in log price with optional Poisson jumps.

use rand::{Rng, RngExt};
use rand_distr::{Distribution, StandardNormal};
use rand_pcg::Pcg64Mcg;

use crate::config::{DiffusionSteps, MarketParams};

/// Per-tick parameters of the log fair-value process.
#[derive(Debug, Clone, Copy)]
pub struct PriceProcess {
    /// Per-tick standard deviation of the diffusion (before stress multipliers).
    pub sigma_tick: f64,
    /// Per-tick drift of log price, without the Itô correction.
    pub drift_tick: f64,
    /// Probability of a jump in one tick (`1 - exp(-intensity × dt)`).
    pub jump_prob: f64,
    /// Standard deviation of a log jump.
    pub jump_sigma: f64,
    /// ±1 shocks instead of normal ones.
    pub binomial: bool,
}

impl PriceProcess {
    pub fn new(m: &MarketParams, tick_ms: u64) -> PriceProcess {
        let dt_days = tick_ms as f64 / 86_400_000.0;
        PriceProcess {
            sigma_tick: m.vol * dt_days.sqrt(),
            drift_tick: m.drift * dt_days,
            jump_prob: -(-m.jump_intensity * dt_days).exp_m1(),
            jump_sigma: m.jump_sigma,
            binomial: m.diffusion_steps == DiffusionSteps::Binomial,
        }
    }

    /// One tick's log return. The variates drawn depend only on the market parameters,
    /// never on the strategy, so every strategy configuration scored with a seed sees
    /// the same path: common random numbers.
    #[inline]
    pub fn log_return(&self, rng: &mut Pcg64Mcg, vol_mult: f64) -> f64 {
        let z: f64 = if self.binomial {
            if rng.next_u64() >> 63 == 0 { -1.0 } else { 1.0 }
        } else {
            StandardNormal.sample(rng)
        };
        let u: f64 = rng.random();
        let sigma = self.sigma_tick * vol_mult;
        let jump = if u < self.jump_prob {
            let j: f64 = StandardNormal.sample(rng);
            self.jump_sigma * j
        } else {
            0.0
        };
        self.drift_tick - 0.5 * sigma * sigma + sigma * z + jump
    }
}

//! Volatility estimate: EWMA of squared log returns of fair value.

/// EWMA variance of per-tick log returns, expressed against a daily reference.
#[derive(Debug, Clone, Copy)]
pub struct VolEstimator {
    var_tick: f64,
    weight: f64,
    ticks_per_day: f64,
}

impl VolEstimator {
    /// Starts at the reference volatility: before any evidence the strategy assumes its
    /// reference holds (vol ratio 1).
    pub fn new(vol_ref_daily: f64, weight: f64, tick_ms: u64) -> VolEstimator {
        let ticks_per_day = 86_400_000.0 / tick_ms as f64;
        VolEstimator { var_tick: vol_ref_daily * vol_ref_daily / ticks_per_day, weight, ticks_per_day }
    }

    #[inline]
    pub fn update(&mut self, log_return: f64) {
        self.var_tick += self.weight * (log_return * log_return - self.var_tick);
    }

    /// Estimated per-tick standard deviation of log fair value.
    #[inline]
    pub fn sigma_tick(&self) -> f64 {
        self.var_tick.sqrt()
    }

    /// Estimated daily volatility over the reference, clipped to [0.25, 4].
    #[inline]
    pub fn ratio(&self, vol_ref_daily: f64) -> f64 {
        ((self.var_tick * self.ticks_per_day).sqrt() / vol_ref_daily).clamp(0.25, 4.0)
    }
}

//! Hedging: outside a volatility-scaled band, trade toward zero by a capped step.

use crate::config::StrategyParams;

/// Signed taker quantity to trade this tick (0 inside the band).
#[inline]
pub fn hedge_qty(p: &StrategyParams, q: f64, vol_ratio: f64) -> f64 {
    let band = p.hedge_band_base * p.hard_limit_tao * (1.0 + vol_ratio);
    if q.abs() <= band {
        return 0.0;
    }
    let step = p.hedge_max_step_tao.min(p.k_hedge * q.abs()).min(q.abs());
    -q.signum() * step
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Overlay, StrategyParams};

    #[test]
    fn no_hedge_inside_band_and_capped_step_outside() {
        let p = StrategyParams::resolve(&Overlay::default());
        let band = p.hedge_band_base * p.hard_limit_tao * 2.0;
        assert_eq!(hedge_qty(&p, band, 1.0), 0.0);
        assert_eq!(hedge_qty(&p, -(band + 1.0), 1.0), p.k_hedge * (band + 1.0));
        assert_eq!(hedge_qty(&p, 100.0, 1.0), -p.hedge_max_step_tao);
    }
}

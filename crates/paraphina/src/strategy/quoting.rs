//! Quoting: Avellaneda-Stoikov reservation price and half-spread, widened by the vol
//! ratio and floored by fees plus a minimum edge; size scaled by the knobs and vol.

use crate::config::StrategyParams;

/// Avellaneda-Stoikov half-spread `(1/gamma) ln(1 + gamma/k)` (USD).
#[inline]
pub fn as_half_spread(gamma: f64, k: f64) -> f64 {
    (gamma / k).ln_1p() / gamma
}

/// Distance of the reservation price below fair value: `gamma sigma² tau q`, with sigma
/// the per-tick volatility in USD. Long inventory lowers both quotes.
#[inline]
pub fn inventory_skew(p: &StrategyParams, sigma_usd: f64, q: f64) -> f64 {
    p.gamma * sigma_usd * sigma_usd * p.tau_ticks * q
}

/// Spread widening for the current vol ratio (1 at ratio 1, larger when volatile).
#[inline]
pub fn vol_widen(vol_ratio: f64) -> f64 {
    vol_ratio.sqrt()
}

/// Quote size before inventory caps: base × multiplier × a factor that shrinks as vol
/// rises, capped per order.
#[inline]
pub fn quote_size(p: &StrategyParams, vol_ratio: f64) -> f64 {
    (p.base_size_tao * p.mm_size_eta / vol_ratio.sqrt()).min(p.max_order_tao)
}

/// Closest a quote may come to the venue mid (USD): never cross it.
pub const MIN_DISTANCE_USD: f64 = 0.01;

/// Distances from the venue mid of our bid and ask for a half-spread `half` and an
/// inventory skew `skew` (bid = mid − skew − half, ask = mid − skew + half).
#[inline]
pub fn distances(half: f64, skew: f64) -> (f64, f64) {
    ((half + skew).max(MIN_DISTANCE_USD), (half - skew).max(MIN_DISTANCE_USD))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Overlay, StrategyParams};

    #[test]
    fn as_half_spread_tends_to_one_over_k_and_falls_with_gamma() {
        assert!((as_half_spread(1e-9, 1.5) - 1.0 / 1.5).abs() < 1e-6);
        assert!(as_half_spread(0.5, 1.5) < as_half_spread(0.05, 1.5));
    }

    #[test]
    fn long_inventory_moves_both_quotes_down() {
        let p = StrategyParams::resolve(&Overlay::default());
        let skew = inventory_skew(&p, 0.4, 10.0);
        assert!(skew > 0.0);
        let (bid, ask) = distances(0.6, skew);
        assert!(bid > 0.6 && ask < 0.6);
        let (_, ask) = distances(0.1, 5.0);
        assert_eq!(ask, MIN_DISTANCE_USD);
    }

    #[test]
    fn size_shrinks_with_vol_and_grows_with_the_multiplier() {
        let mut p = StrategyParams::resolve(&Overlay::default());
        assert!(quote_size(&p, 2.0) < quote_size(&p, 1.0));
        let small = quote_size(&p, 1.0);
        p.mm_size_eta = 2.0;
        assert!(quote_size(&p, 1.0) > small);
    }
}

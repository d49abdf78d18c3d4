//! Quoting: Avellaneda-Stoikov reservation price and half-spread, widened by the vol
//! ratio and floored by fees plus a minimum edge; size scaled by the knobs and vol.

use crate::config::{SimConfig, StrategyParams, Variant};
use crate::market::N_VENUES;
use crate::market::flow::Quotes;
use crate::strategy::risk::in_warning;

/// Avellaneda-Stoikov half-spread `(1/gamma) ln(1 + gamma/k)` (USD).
#[inline]
pub fn as_half_spread(gamma: f64, k: f64) -> f64 {
    (gamma / k).ln_1p() / gamma
}

/// Distance of the reservation price below fair value: `gamma sigma² tau q`, with sigma
/// the per-tick volatility in USD and `tau` the horizon in ticks. Long inventory lowers
/// both quotes.
#[inline]
pub fn inventory_skew(gamma: f64, sigma_usd: f64, tau: f64, q: f64) -> f64 {
    gamma * sigma_usd * sigma_usd * tau * q
}

/// The skew horizon (ticks) at tick `t` of a run of `ticks`: the ticks left when the
/// horizon term is on, else the fixed `tau_ticks`.
#[inline]
pub fn skew_horizon(p: &StrategyParams, t: u64, ticks: u64) -> f64 {
    if p.horizon_term { ticks.saturating_sub(t) as f64 } else { p.tau_ticks }
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

/// Default closest distance of a quote to the venue mid (USD): never cross it.
pub const MIN_DISTANCE_USD: f64 = 0.01;

/// Distances from the venue mid of our bid and ask for a half-spread `half` and an
/// inventory skew `skew` (bid = mid − skew − half, ask = mid − skew + half), each at
/// least `min_d`.
#[inline]
pub fn distances(half: f64, skew: f64, min_d: f64) -> (f64, f64) {
    ((half + skew).max(min_d), (half - skew).max(min_d))
}

/// Step 3 of a tick: our quotes on every venue, from the per-venue constants of a
/// configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Quoter {
    /// Avellaneda-Stoikov half-spread of each venue before widening (USD).
    base_half: [f64; N_VENUES],
    /// Maker fee as a fraction of notional: the half-spread covers it.
    maker_fee: [f64; N_VENUES],
    /// Market half-spread (USD): we never quote inside the market.
    mkt_half: [f64; N_VENUES],
}

impl Quoter {
    /// The constants of `cfg`'s venues (at most [`N_VENUES`]; the slots of absent venues
    /// stay zero: they are always down).
    pub fn new(cfg: &SimConfig) -> Quoter {
        assert!(cfg.market.venues.len() <= N_VENUES, "the model has at most {N_VENUES} venues");
        let mut m = Quoter { base_half: [0.0; N_VENUES], maker_fee: [0.0; N_VENUES], mkt_half: [0.0; N_VENUES] };
        for (i, v) in cfg.market.venues.iter().enumerate() {
            m.base_half[i] = as_half_spread(cfg.strategy.gamma, v.flow_k);
            m.maker_fee[i] = v.maker_fee();
            m.mkt_half[i] = v.half_spread_usd;
        }
        m
    }

    /// The quotes at fair value `s` with inventory `q`, per-tick volatility `sigma_tick`
    /// (of log price), skew horizon `tau` (ticks, [`skew_horizon`]), vol ratio
    /// `vol_ratio`, market spreads × `spread_mult`, venues of `down` out. The
    /// `symmetric` variant centres the quotes on the mid; with the horizon term each
    /// half-spread gains `gamma sigma² tau / 2`. In the warning regime spreads widen and the side that adds risk is not
    /// quoted; otherwise that side's size is capped by the room left to the hard limit,
    /// shared by the live venues.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    pub fn quote(
        &self,
        p: &StrategyParams,
        s: f64,
        sigma_tick: f64,
        tau: f64,
        q: f64,
        vol_ratio: f64,
        spread_mult: f64,
        down: u32,
    ) -> Quotes {
        let sigma_usd = sigma_tick * s;
        let skew = match p.variant {
            Variant::Inventory => inventory_skew(p.gamma, sigma_usd, tau, q),
            Variant::Symmetric => 0.0,
        };
        let horizon_half = if p.horizon_term { 0.5 * p.gamma * sigma_usd * sigma_usd * tau } else { 0.0 };
        let warning = in_warning(p, q);
        let widen = vol_widen(vol_ratio) * if warning { p.warn_spread_mult } else { 1.0 };
        let size = quote_size(p, vol_ratio);
        let n_live = (N_VENUES as u32 - down.count_ones()).max(1) as f64;
        // Buying adds risk when flat or long; the room left is shared by the venues.
        let bid_size = if q >= 0.0 {
            if warning { 0.0 } else { size.min((p.hard_limit_tao - q).max(0.0) / n_live) }
        } else {
            size
        };
        let ask_size = if q <= 0.0 {
            if warning { 0.0 } else { size.min((p.hard_limit_tao + q).max(0.0) / n_live) }
        } else {
            size
        };
        let mut d_bid = [0.0f64; N_VENUES];
        let mut d_ask = [0.0f64; N_VENUES];
        for v in 0..N_VENUES {
            let floor = (self.maker_fee[v] * s + p.min_edge_usd).max(self.mkt_half[v] * spread_mult);
            let half = (self.base_half[v] * widen + horizon_half).max(floor);
            (d_bid[v], d_ask[v]) = distances(half, skew, p.min_quote_distance_usd);
        }
        Quotes { d_bid, d_ask, bid_size, ask_size, down }
    }
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
        let skew = inventory_skew(p.gamma, 0.4, p.tau_ticks, 10.0);
        assert!(skew > 0.0);
        let (bid, ask) = distances(0.6, skew, MIN_DISTANCE_USD);
        assert!(bid > 0.6 && ask < 0.6);
        let (_, ask) = distances(0.1, 5.0, MIN_DISTANCE_USD);
        assert_eq!(ask, MIN_DISTANCE_USD);
        // A negative floor lets the ask cross the mid, as the reservation price may.
        let (_, ask) = distances(0.1, 5.0, -1e9);
        assert_eq!(ask, 0.1 - 5.0);
    }

    #[test]
    fn size_shrinks_with_vol_and_grows_with_the_multiplier() {
        let mut p = StrategyParams::resolve(&Overlay::default());
        assert!(quote_size(&p, 2.0) < quote_size(&p, 1.0));
        let small = quote_size(&p, 1.0);
        p.mm_size_eta = 2.0;
        assert!(quote_size(&p, 1.0) > small);
    }

    fn quoter() -> (Quoter, StrategyParams) {
        let cfg = SimConfig::new(10, &Overlay::default());
        (Quoter::new(&cfg), cfg.strategy)
    }

    #[test]
    fn the_warning_regime_stops_the_side_that_adds_risk() {
        let (qt, p) = quoter();
        let q = p.warn_frac * p.hard_limit_tao + 1.0;
        let long = qt.quote(&p, 250.0, 0.002, 10.0, q, 1.0, 1.0, 0);
        assert_eq!(long.bid_size, 0.0);
        assert_eq!(long.ask_size, quote_size(&p, 1.0));
        let short = qt.quote(&p, 250.0, 0.002, 10.0, -q, 1.0, 1.0, 0);
        assert_eq!((short.ask_size, short.bid_size), (0.0, quote_size(&p, 1.0)));
        // Warning widens both quotes.
        let calm = qt.quote(&p, 250.0, 0.002, 10.0, 0.0, 1.0, 1.0, 0);
        let warned = qt.quote(&p, 250.0, 0.002, 10.0, q, 1.0, 1.0, 0);
        assert!(warned.d_ask[0] + warned.d_bid[0] > calm.d_ask[0] + calm.d_bid[0]);
    }

    #[test]
    fn the_room_left_to_the_limit_is_shared_by_the_live_venues() {
        let (qt, mut p) = quoter();
        p.mm_size_eta = 10.0;
        p.max_order_tao = 100.0;
        let q = 30.0;
        let all = qt.quote(&p, 250.0, 0.002, 10.0, q, 1.0, 1.0, 0);
        assert_eq!(all.bid_size, (p.hard_limit_tao - q) / N_VENUES as f64);
        let two_down = qt.quote(&p, 250.0, 0.002, 10.0, q, 1.0, 1.0, 0b00101);
        assert_eq!(two_down.bid_size, (p.hard_limit_tao - q) / 3.0);
        assert_eq!(two_down.down, 0b00101);
        // Selling reduces risk when long: not capped.
        assert_eq!(all.ask_size, quote_size(&p, 1.0));
    }

    #[test]
    fn quotes_stay_outside_the_market_spread_and_cover_the_fee() {
        let (qt, p) = quoter();
        let cfg = SimConfig::new(10, &Overlay::default());
        let wide = qt.quote(&p, 250.0, 0.002, 10.0, 0.0, 1.0, 10.0, 0);
        for (v, venue) in cfg.market.venues.iter().enumerate() {
            assert_eq!(wide.d_ask[v], venue.half_spread_usd * 10.0);
            assert_eq!(wide.d_bid[v], wide.d_ask[v]);
            let q = qt.quote(&p, 250.0, 0.002, 10.0, 0.0, 1.0, 1.0, 0);
            assert!(q.d_ask[v] >= venue.maker_fee() * 250.0 + p.min_edge_usd);
        }
    }
}


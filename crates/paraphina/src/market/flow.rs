//! The fill model: order flow against our quotes, venue by venue and side by side.
//!
//! - Uninformed flow arrives with Avellaneda-Stoikov intensity `A exp(-k d)` per tick and
//!   side (`d` = the quote's distance from the venue mid); an arrival takes a random part
//!   of the quoted size.
//! - Informed flow fills a quote first, in full, when the venue mid's move over the tick
//!   crosses it; with latency the informed trader also sees part of the next tick's move
//!   ([`lookahead_share`]), so more quotes are picked off, and the worse ones.
//! - Every fill pays the venue's maker fee on its notional.
//!
//! [`FillModel::tick`] is what the run loop calls, once per tick for every venue: plain
//! arithmetic over per-venue arrays, without a data-dependent branch (arrivals are coin
//! flips a branch predictor cannot learn), the ten decay factors in one batch
//! ([`fastmath::exp_many`]). Its variates come from [`FlowDraws::draw`], a fixed number
//! per tick whatever the quotes, so every configuration scored with a seed sees the same
//! arrivals (common random numbers).

use rand::Rng;
use rand_distr::{Distribution, Exp1};
use rand_pcg::Pcg64Mcg;

use super::{N_VENUES, per_venue};
use crate::config::{ArrivalMid, ArrivalProbability, FillSize, MarketParams};
use crate::fastmath;

/// 1.0 when the tick holds an uninformed arrival, else 0.0, given `e`, a standard
/// exponential variate, the intensity `a` at zero distance and the decay factor
/// `exp(-k d)`. The first arrival of a Poisson process of intensity `lambda = a exp(-k d)`
/// comes within the tick exactly when `e < lambda`: probability `1 - exp(-lambda)`, from
/// one variate.
///
/// Computed without a comparison, as the sign bit of `e - lambda` spread into a mask over
/// the bits of 1.0: for finite `e, lambda >= 0` the difference is negative exactly when
/// `e < lambda` (+0 when they are equal), so this is `f64::from(e < lambda)` bit for bit.
/// Through a `bool`, the compiler turns the conversion of a vectorized comparison back
/// into a branch on some lanes, a branch on a coin flip that no predictor learns.
#[inline(always)]
pub fn arrival(e: f64, a: f64, decay: f64) -> f64 {
    let negative = ((e - a * decay).to_bits() as i64 >> 63) as u64;
    f64::from_bits(negative & 1.0f64.to_bits())
}

/// The part of a quote one side fills in a tick: all of it when informed flow crosses it
/// (`informed` 1.0), else the random `fraction` when an uninformed trader arrives
/// (`arrived` 1.0), else nothing. Arithmetic on 0/1, not branches.
#[inline(always)]
pub fn fill_share(informed: f64, arrived: f64, fraction: f64) -> f64 {
    informed + (1.0 - informed) * arrived * fraction
}

/// Share of the next tick's move an informed trader sees at `latency_ms`.
#[inline]
pub fn lookahead_share(latency_ms: f64, latency_half_ms: f64) -> f64 {
    if latency_ms <= 0.0 { 0.0 } else { latency_ms / (latency_ms + latency_half_ms) }
}

/// Two uniforms in (0, 1] from one 64-bit draw (32 bits of resolution each is plenty
/// for arrival and fill-size decisions, and halves the generator calls on the hot path).
#[inline]
pub fn split_uniforms(x: u64) -> (f64, f64) {
    const SCALE: f64 = 1.0 / 4_294_967_296.0;
    // Through i64: a signed conversion is one instruction, an unsigned one is not.
    let hi = (((x >> 32) as i64) as f64 + 1.0) * SCALE;
    let lo = (((x & 0xFFFF_FFFF) as i64) as f64 + 1.0) * SCALE;
    (hi, lo)
}

/// Our quotes of one tick on every venue.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quotes {
    /// Distance of our bid below the venue mid (USD).
    pub d_bid: [f64; N_VENUES],
    /// Distance of our ask above the venue mid (USD).
    pub d_ask: [f64; N_VENUES],
    /// Size of every bid and every ask (TAO).
    pub bid_size: f64,
    pub ask_size: f64,
    /// Bit v set: venue v is down and quotes nothing.
    pub down: u32,
}

impl Quotes {
    /// Puts every quote on its venue's price grid (`tick` USD; 0 leaves it continuous),
    /// away from the mid: bids rounded down, asks up.
    pub fn snap_to_grid(&mut self, mid: &[f64; N_VENUES], tick: &[f64; N_VENUES]) {
        for v in 0..N_VENUES {
            let t = tick[v];
            if t > 0.0 {
                let bid = ((mid[v] - self.d_bid[v]) / t).floor() * t;
                let ask = ((mid[v] + self.d_ask[v]) / t).ceil() * t;
                self.d_bid[v] = mid[v] - bid;
                self.d_ask[v] = ask - mid[v];
            }
        }
    }
}

/// The flow variates of one tick, drawn before the fills so that the fill arithmetic has
/// no generator call in it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FlowDraws {
    /// Standard exponential variates of the ask and the bid side, per venue.
    pub e_ask: [f64; N_VENUES],
    pub e_bid: [f64; N_VENUES],
    /// The part of the quote an uninformed arrival takes: (ask, bid) per venue, in (0, 1].
    pub fraction: [(f64, f64); N_VENUES],
}

impl FlowDraws {
    /// Draws a tick's variates: five ask exponentials, five bid exponentials, then five
    /// 64-bit words split into the fill fractions. The order is part of the results.
    #[inline(always)]
    pub fn draw(rng: &mut Pcg64Mcg) -> FlowDraws {
        let e_ask = per_venue(|| Exp1.sample(&mut *rng));
        let e_bid = per_venue(|| Exp1.sample(&mut *rng));
        let fraction = per_venue(|| split_uniforms(rng.next_u64()));
        FlowDraws { e_ask, e_bid, fraction }
    }
}

/// What one side filled over a tick, summed over the venues.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SideFills {
    /// TAO filled.
    pub qty: f64,
    /// Σ qty × price (USD).
    pub notional: f64,
    /// Maker fees (USD).
    pub fee: f64,
    /// Quotes that filled (a venue counts once per side).
    pub count: u64,
}

impl SideFills {
    #[inline(always)]
    fn add(&mut self, filled: f64, price: f64, fee_rate: f64) {
        self.qty += filled;
        self.notional += filled * price;
        self.fee += fee_rate * price * filled;
        self.count += (filled > 0.0) as u64;
    }

    /// Volume-weighted price of the fills (meaningful when `qty > 0`).
    #[inline]
    pub fn vwap(&self) -> f64 {
        self.notional / self.qty
    }
}

/// A tick's fills: our bids are bought, our asks sold. Booked as two trades: equity does
/// not depend on the booking order within a tick.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct TickFills {
    pub buy: SideFills,
    pub sell: SideFills,
}

impl TickFills {
    /// Quotes filled over both sides.
    pub fn count(&self) -> u64 {
        self.buy.count + self.sell.count
    }
}

/// The fill model's per-venue constants.
#[derive(Debug, Clone, PartialEq)]
pub struct FillModel {
    /// Uninformed intensity at zero distance (per tick and side).
    a: [f64; N_VENUES],
    /// Decay of the intensity with distance (per USD).
    k: [f64; N_VENUES],
    /// Share of the next tick's move informed flow sees.
    lookahead: [f64; N_VENUES],
    /// Maker fee as a fraction of notional (negative: a rebate).
    maker_fee: [f64; N_VENUES],
    /// 1.0 when informed flow trades, else 0.0.
    informed: f64,
    /// Share of the tick's move of the mid the arrival distance is measured after: 0
    /// (the mid at the start of the tick) or 1 (at its end).
    move_weight: f64,
    /// Arrival probability `min(lambda, 1)` instead of `1 - exp(-lambda)`.
    linear: bool,
    /// Every fill is one unit (capped by the quote) instead of a random share.
    unit: bool,
}

impl FillModel {
    /// The constants of `market`'s venues (at most [`N_VENUES`]; the slots of absent
    /// venues stay zero: they are always down).
    pub fn new(market: &MarketParams) -> FillModel {
        assert!(market.venues.len() <= N_VENUES, "the model has at most {N_VENUES} venues");
        let f = &market.flow;
        let mut m = FillModel {
            a: [0.0; N_VENUES],
            k: [0.0; N_VENUES],
            lookahead: [0.0; N_VENUES],
            maker_fee: [0.0; N_VENUES],
            informed: if f.informed { 1.0 } else { 0.0 },
            move_weight: match f.arrival_mid {
                ArrivalMid::Start => 0.0,
                ArrivalMid::End => 1.0,
            },
            linear: f.arrival_probability == ArrivalProbability::Linear,
            unit: f.fill_size == FillSize::Unit,
        };
        for (i, v) in market.venues.iter().enumerate() {
            m.a[i] = v.flow_a;
            m.k[i] = v.flow_k;
            m.lookahead[i] = lookahead_share(v.latency_ms, market.latency_half_ms);
            m.maker_fee[i] = v.maker_fee();
        }
        m
    }

    /// The fills of one tick. `mid` and `mid_new` are the venue mids at the start and the
    /// end of the tick, `look` the next tick's move of fair value (USD), of which informed
    /// flow sees each venue's [`lookahead_share`].
    #[inline(always)]
    pub fn tick(
        &self,
        quotes: &Quotes,
        mid: &[f64; N_VENUES],
        mid_new: &[f64; N_VENUES],
        look: f64,
        draws: &FlowDraws,
    ) -> TickFills {
        // The ten decay factors exp(-k d) in one batch: written over an array, the
        // exponential vectorizes (same bits as one at a time, a third faster overall).
        let mut xs = [0.0f64; 2 * N_VENUES];
        let w = self.move_weight;
        for v in 0..N_VENUES {
            // With `arrival_mid: end` the distance is the quote's from the mid after the
            // move (w = 1); with w = 0 this is -k d bit for bit.
            let mv = w * (mid_new[v] - mid[v]);
            xs[v] = -self.k[v] * (quotes.d_ask[v] - mv);
            xs[N_VENUES + v] = -self.k[v] * (quotes.d_bid[v] + mv);
        }
        let decay = fastmath::exp_many(xs);
        // Sizes and fractions under the fill-size rule (a unit fill takes one TAO).
        let (ask_size, bid_size) = if self.unit {
            (quotes.ask_size.min(1.0), quotes.bid_size.min(1.0))
        } else {
            (quotes.ask_size, quotes.bid_size)
        };
        let mut fills = TickFills::default();
        for v in 0..N_VENUES {
            let (f_ask, f_bid) = if self.unit { (1.0, 1.0) } else { draws.fraction[v] };
            // Under the linear rule the exponential variate becomes the uniform
            // 1 - exp(-e): arrival when u < lambda, probability min(lambda, 1).
            let (e_ask, e_bid) = if self.linear {
                (-fastmath::exp_m1(-draws.e_ask[v]), -fastmath::exp_m1(-draws.e_bid[v]))
            } else {
                (draws.e_ask[v], draws.e_bid[v])
            };
            // A venue that is down fills nothing (size 0), without a branch.
            let live = f64::from(u8::from(quotes.down & (1 << v) == 0));
            let informed_move = mid_new[v] - mid[v] + self.lookahead[v] * look;
            let a = self.a[v];
            let (d_ask, d_bid) = (quotes.d_ask[v], quotes.d_bid[v]);

            let informed = self.informed * f64::from(u8::from(informed_move >= d_ask));
            let share = fill_share(informed, arrival(e_ask, a, decay[v]), f_ask);
            fills.sell.add(live * ask_size * share, mid[v] + d_ask, self.maker_fee[v]);

            let informed = self.informed * f64::from(u8::from(-informed_move >= d_bid));
            let share = fill_share(informed, arrival(e_bid, a, decay[N_VENUES + v]), f_bid);
            fills.buy.add(live * bid_size * share, mid[v] - d_bid, self.maker_fee[v]);
        }
        fills
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};

    fn model() -> FillModel {
        FillModel::new(&MarketParams::default())
    }

    fn quotes(d: f64) -> Quotes {
        Quotes { d_bid: [d; N_VENUES], d_ask: [d; N_VENUES], bid_size: 1.0, ask_size: 2.0, down: 0 }
    }

    /// Draws in which no uninformed trader arrives (an exponential variate above any
    /// intensity) and arrivals would take a quarter of the quote.
    fn no_arrivals() -> FlowDraws {
        FlowDraws { e_ask: [1e9; N_VENUES], e_bid: [1e9; N_VENUES], fraction: [(0.25, 0.25); N_VENUES] }
    }

    const MID: [f64; N_VENUES] = [250.0; N_VENUES];

    #[test]
    fn nothing_fills_without_arrivals_or_informed_moves() {
        let f = model().tick(&quotes(0.3), &MID, &MID, 0.0, &no_arrivals());
        assert_eq!(f, TickFills::default());
    }

    #[test]
    fn informed_flow_crossing_the_ask_takes_it_whole_at_the_quoted_price_and_pays_the_maker_fee() {
        let m = model();
        let up = MID.map(|x| x + 0.5);
        let f = m.tick(&quotes(0.3), &MID, &up, 0.0, &no_arrivals());
        assert_eq!(f.buy, SideFills::default());
        assert_eq!(f.sell.count, N_VENUES as u64);
        assert_eq!(f.sell.qty, 2.0 * N_VENUES as f64);
        assert!((f.sell.vwap() - 250.3).abs() < 1e-12);
        let fees: f64 = m.maker_fee.iter().map(|r| r * 250.3 * 2.0).sum();
        assert!((f.sell.fee - fees).abs() < 1e-12);
        // A move short of the quote is not informed flow.
        let small = MID.map(|x| x + 0.29);
        assert_eq!(m.tick(&quotes(0.3), &MID, &small, 0.0, &no_arrivals()), TickFills::default());
    }

    #[test]
    fn latency_lets_informed_flow_see_part_of_the_next_move() {
        let m = model();
        // No move over the tick, a next move of -15 USD: the slowest venues' bids are hit.
        let f = m.tick(&quotes(0.3), &MID, &MID, -15.0, &no_arrivals());
        let expect = m.lookahead.iter().filter(|s| 15.0 * **s >= 0.3).count() as u64;
        assert!(expect > 0 && expect < N_VENUES as u64, "{:?}", m.lookahead);
        assert_eq!(f.buy.count, expect);
        assert_eq!(f.sell, SideFills::default());
    }

    #[test]
    fn an_uninformed_arrival_takes_its_fraction_and_a_down_venue_fills_nothing() {
        let mut draws = no_arrivals();
        draws.e_bid[1] = 0.0;
        draws.e_ask[3] = 0.0;
        let mut q = quotes(0.3);
        let f = model().tick(&q, &MID, &MID, 0.0, &draws);
        assert_eq!((f.buy.qty, f.buy.count), (0.25, 1));
        assert_eq!((f.sell.qty, f.sell.count), (0.5, 1));
        assert!((f.buy.vwap() - 249.7).abs() < 1e-12);
        q.down = 1 << 1 | 1 << 3;
        assert_eq!(model().tick(&q, &MID, &MID, 0.0, &draws), TickFills::default());
    }

    #[test]
    fn fill_share_is_all_when_informed_else_the_fraction_of_an_arrival() {
        assert_eq!(fill_share(1.0, 0.0, 0.3), 1.0);
        assert_eq!(fill_share(1.0, 1.0, 0.3), 1.0);
        assert_eq!(fill_share(0.0, 1.0, 0.3), 0.3);
        assert_eq!(fill_share(0.0, 0.0, 0.3).to_bits(), 0.0f64.to_bits());
    }

    #[test]
    fn arrival_is_the_comparison_bit_for_bit() {
        let mut rng = Pcg64Mcg::seed_from_u64(5);
        for _ in 0..100_000 {
            let e: f64 = Exp1.sample(&mut rng);
            let decay = (-1.5 * rng.random::<f64>() * 3.0).exp();
            let want = f64::from(u8::from(e < 0.67 * decay));
            assert_eq!(arrival(e, 0.67, decay).to_bits(), want.to_bits(), "e={e} decay={decay}");
        }
        // A tie is no arrival, zero intensity never arrives, and tiny values do not underflow
        // into a tie.
        assert_eq!(arrival(0.5, 1.0, 0.5).to_bits(), 0.0f64.to_bits());
        assert_eq!(arrival(0.0, 0.0, 1.0).to_bits(), 0.0f64.to_bits());
        assert_eq!(arrival(f64::MIN_POSITIVE, 0.67, 1e-300), 1.0);
        assert_eq!(arrival(5e-324, 1.0, 1e-323), 1.0);
    }

    #[test]
    fn arrivals_happen_with_the_poisson_probability_and_fall_with_distance() {
        // The reference: at least one arrival of a Poisson process of intensity
        // A exp(-k d) within a tick, 1 - exp(-A exp(-k d)). One venue live at a time, so
        // its count of filled bids is its count of arrivals.
        let m = model();
        let n = 40_000;
        for v in 0..N_VENUES {
            let mut last = 1.0;
            for d in [0.05, 0.4, 0.8, 1.5] {
                let mut rng = Pcg64Mcg::seed_from_u64(11 + v as u64);
                let mut q = quotes(d);
                q.down = !(1u32 << v) & ((1 << N_VENUES) - 1);
                let hits: u64 = (0..n)
                    .map(|_| m.tick(&q, &MID, &MID, 0.0, &FlowDraws::draw(&mut rng)).buy.count)
                    .sum();
                let p = 1.0 - (-m.a[v] * (-m.k[v] * d).exp()).exp();
                let se = (p * (1.0 - p) / n as f64).sqrt();
                let freq = hits as f64 / n as f64;
                assert!((freq - p).abs() < 5.0 * se, "venue {v}, d={d}: {freq} vs {p}");
                assert!(p < last);
                last = p;
            }
        }
    }

    #[test]
    fn draws_take_the_stream_in_order_asks_bids_fractions() {
        let mut a = Pcg64Mcg::seed_from_u64(3);
        let mut b = a.clone();
        let d = FlowDraws::draw(&mut a);
        let e: Vec<f64> = (0..2 * N_VENUES).map(|_| Exp1.sample(&mut b)).collect();
        assert_eq!(&e[..N_VENUES], &d.e_ask);
        assert_eq!(&e[N_VENUES..], &d.e_bid);
        for v in 0..N_VENUES {
            assert_eq!(d.fraction[v], split_uniforms(b.next_u64()));
        }
    }

    #[test]
    fn uniforms_cover_the_unit_interval_without_zero() {
        assert_eq!(split_uniforms(0), (1.0 / 4_294_967_296.0, 1.0 / 4_294_967_296.0));
        assert_eq!(split_uniforms(u64::MAX), (1.0, 1.0));
    }

    #[test]
    fn lookahead_grows_with_latency_and_is_half_at_the_half_latency() {
        assert_eq!(lookahead_share(0.0, 8000.0), 0.0);
        assert_eq!(lookahead_share(8000.0, 8000.0), 0.5);
        assert!(lookahead_share(150.0, 8000.0) < lookahead_share(1500.0, 8000.0));
    }
}

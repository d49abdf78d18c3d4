//! One run of the simulation: the tick loop of `simulator.md`, in its order.
//!
//! Per tick: (1) update the volatility estimate, (2) risk check (kill switch, warning
//! regime), (3) quote on every live venue, the market moves, (4) fills from uninformed and
//! informed flow, (5) hedge outside the band, (6) track equity and drawdown.
//!
//! Randomness comes from three seeded PCG streams per run: the market path (fair value,
//! jumps, basis), the order flow, and random outages. Each draws a fixed number of
//! variates per tick whatever the strategy does, so every configuration scored with the
//! same seed sees the same market and the same arrivals (common random numbers).

use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Exp1};
use rand_pcg::Pcg64Mcg;
use serde::{Deserialize, Serialize};

use crate::config::SimConfig;
use crate::fastmath;
use crate::market::N_VENUES;
use crate::market::execution::{self, TakerQuote};
use crate::market::flow::{arrives, lookahead_share, split_uniforms};
use crate::market::price::PriceProcess;
use crate::market::venue::basis_step;
use crate::strategy::hedging::hedge_qty;
use crate::strategy::position::Position;
use crate::strategy::quoting::{as_half_spread, distances, inventory_skew, quote_size, vol_widen};
use crate::strategy::risk::{KillReason, in_warning, kill_check};
use crate::strategy::vol::VolEstimator;
use crate::stress::{CompiledStress, Regime};

const FLOW_SALT: u64 = 0x9E37_79B9_7F4A_7C15;
const OUTAGE_SALT: u64 = 0xD1B5_4A32_D192_ED03;

/// One value per venue, in venue order, written out rather than looped: a loop around
/// random draws ends with a branch the predictor keeps missing.
#[inline(always)]
fn per_venue<T>(mut f: impl FnMut() -> T) -> [T; N_VENUES] {
    [f(), f(), f(), f(), f()]
}

/// Metrics of one run (one line of `mc_runs.jsonl`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunResult {
    pub run_index: u64,
    pub seed: u64,
    /// USD, after fees and any kill flattening.
    pub final_pnl: f64,
    /// Largest fall of equity from its running peak (which starts at 0), USD.
    pub max_drawdown: f64,
    pub killed: bool,
    pub kill_reason: Option<KillReason>,
    pub kill_tick: Option<u64>,
    pub ticks_executed: u64,
    pub maker_fills: u64,
    pub maker_volume_tao: f64,
    pub hedge_volume_tao: f64,
    pub fees_usd: f64,
    pub max_abs_q_tao: f64,
    /// Time-average |inventory| over the ticks executed (TAO).
    pub mean_abs_q_tao: f64,
    /// What taker trades (hedges, flattening) cost against fair value, fees included (USD).
    pub taker_cost_usd: f64,
    /// Last tick with a maker fill (None if there was none).
    pub last_fill_tick: Option<u64>,
    /// FNV-1a over the equity path's bits: two runs agree on it only if they agree on
    /// every tick.
    pub path_checksum: String,
}

/// A configuration prepared for many runs: per-venue constants computed once.
#[derive(Debug, Clone)]
pub struct Model {
    cfg: SimConfig,
    stress: CompiledStress,
    price: PriceProcess,
    base_half: [f64; N_VENUES],
    maker_fee: [f64; N_VENUES],
    taker_fee: [f64; N_VENUES],
    mkt_half: [f64; N_VENUES],
    slope: [f64; N_VENUES],
    flow_a: [f64; N_VENUES],
    flow_k: [f64; N_VENUES],
    share: [f64; N_VENUES],
    basis_mean: [f64; N_VENUES],
}

/// A configuration the simulator cannot run.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelError(pub String);

impl std::fmt::Display for ModelError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ModelError {}

impl Model {
    pub fn new(cfg: &SimConfig, stress: CompiledStress) -> Result<Model, ModelError> {
        let n = cfg.market.venues.len();
        if n != N_VENUES {
            return Err(ModelError(format!("venues: {n} given; the model has exactly {N_VENUES}")));
        }
        if cfg.tick_ms == 0 {
            return Err(ModelError("tick_ms: 0 given; a positive number of milliseconds accepted".into()));
        }
        let mut m = Model {
            cfg: cfg.clone(),
            stress,
            price: PriceProcess::new(&cfg.market, cfg.tick_ms),
            base_half: [0.0; N_VENUES],
            maker_fee: [0.0; N_VENUES],
            taker_fee: [0.0; N_VENUES],
            mkt_half: [0.0; N_VENUES],
            slope: [0.0; N_VENUES],
            flow_a: [0.0; N_VENUES],
            flow_k: [0.0; N_VENUES],
            share: [0.0; N_VENUES],
            basis_mean: [0.0; N_VENUES],
        };
        let gamma = cfg.strategy.gamma;
        for (i, v) in cfg.market.venues.iter().enumerate() {
            m.base_half[i] = as_half_spread(gamma, v.flow_k);
            m.maker_fee[i] = v.maker_fee_bps * 1e-4;
            m.taker_fee[i] = v.taker_fee_bps * 1e-4;
            m.mkt_half[i] = v.half_spread_usd;
            m.slope[i] = cfg.market.impact_usd / v.depth_tao;
            m.flow_a[i] = v.flow_a;
            m.flow_k[i] = v.flow_k;
            m.share[i] = lookahead_share(v.latency_ms, cfg.market.latency_half_ms);
            m.basis_mean[i] = v.basis_mean_usd;
        }
        Ok(m)
    }

    pub fn config(&self) -> &SimConfig {
        &self.cfg
    }

    #[inline]
    fn regime(&self, t: u64) -> Regime {
        if self.stress.has_shocks() { self.stress.regime(t) } else { Regime::CALM }
    }

    /// Taker view of every venue at fair value `s` (venues down are not live).
    fn taker_quotes(&self, s: f64, basis: &[f64; N_VENUES], reg: &Regime, down: u32) -> [TakerQuote; N_VENUES] {
        let mut out = [TakerQuote::default(); N_VENUES];
        for v in 0..N_VENUES {
            out[v] = TakerQuote {
                mid: s + basis[v] + reg.basis_add[v],
                half_spread: self.mkt_half[v] * reg.spread_mult,
                slope: self.slope[v] / reg.depth_mult,
                fee: self.taker_fee[v],
                live: down & (1 << v) == 0,
            };
        }
        out
    }

    /// Runs the simulation for one seed.
    pub fn run(&self, seed: u64, run_index: u64) -> RunResult {
        let p = &self.cfg.strategy;
        let ticks = self.cfg.ticks;
        let mut mrng = Pcg64Mcg::seed_from_u64(seed);
        let mut frng = Pcg64Mcg::seed_from_u64(seed ^ FLOW_SALT);
        let mut orng = Pcg64Mcg::seed_from_u64(seed ^ OUTAGE_SALT);

        let mut s = self.cfg.market.s0_usd;
        let mut basis = self.basis_mean;
        let mut pos = Position::opening(p.init_q_tao, s);
        let mut vol = VolEstimator::new(p.vol_ref, p.ewma_weight, self.cfg.tick_ms);
        let mut outage_left = [0u64; N_VENUES];

        let mut reg = self.regime(0);
        let mut r_next = self.price.log_return(&mut mrng, reg.vol_mult);
        let mut r_prev: Option<f64> = None;

        let (mut peak, mut max_dd) = (0.0f64, 0.0f64);
        let (mut maker_fills, mut maker_volume, mut hedge_volume) = (0u64, 0.0, 0.0);
        let (mut max_abs_q, mut sum_abs_q, mut taker_cost) = (p.init_q_tao.abs(), 0.0, 0.0);
        let mut last_fill_tick = None;
        let mut kill: Option<(KillReason, u64)> = None;
        let mut ticks_executed = 0;
        let mut checksum: u64 = 0xcbf2_9ce4_8422_2325;

        for t in 0..=ticks {
            // (1) volatility estimate from the last fair-value return.
            if let Some(r) = r_prev {
                vol.update(r);
            }
            let ratio = vol.ratio(p.vol_ref);

            // Scheduled and random outages of this tick.
            let mut down = reg.down_mask;
            if self.stress.venue_outage_prob > 0.0 {
                for (v, left) in outage_left.iter_mut().enumerate() {
                    let u: f64 = split_uniforms(orng.next_u64()).0;
                    if *left == 0 && u < self.stress.venue_outage_prob {
                        *left = self.stress.outage_ticks;
                    }
                    if *left > 0 {
                        down |= 1 << v;
                        *left -= 1;
                    }
                }
            }

            // (2) risk check at fair value.
            let equity = pos.equity(s);
            if let Some(reason) = kill_check(p, equity, pos.q, s) {
                // Flatten as taker; with every venue down, the emergency exit uses them all.
                let mut quotes = self.taker_quotes(s, &basis, &reg, down);
                if quotes.iter().all(|q| !q.live) {
                    quotes = self.taker_quotes(s, &basis, &reg, 0);
                }
                let qty = -pos.q;
                if let Some(e) = execution::execute(&quotes, qty) {
                    pos.trade(e.qty, e.avg_price, e.fees);
                    taker_cost += (e.avg_price - s) * e.qty + e.fees;
                }
                let eq = pos.equity(s);
                max_dd = max_dd.max(peak - eq);
                kill = Some((reason, t));
                break;
            }
            if t == ticks {
                break;
            }

            // (3) quotes on each live venue, from the state at the start of the tick.
            let q = pos.q;
            let sigma_usd = vol.sigma_tick() * s;
            let skew = inventory_skew(p, sigma_usd, q);
            let warning = in_warning(p, q);
            let widen = vol_widen(ratio) * if warning { p.warn_spread_mult } else { 1.0 };
            let size = quote_size(p, ratio);
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

            // The market moves; the next tick's return is drawn now so informed traders
            // with latency can see part of it.
            let r = r_next;
            let s_new = s * fastmath::exp(r);
            let reg_new = self.regime(t + 1);
            r_next = self.price.log_return(&mut mrng, reg_new.vol_mult);
            let look = s_new * fastmath::exp_m1(r_next);
            let mut v = 0;
            let basis_new: [f64; N_VENUES] = per_venue(|| {
                let b = basis_step(
                    basis[v],
                    self.basis_mean[v],
                    self.cfg.market.basis_theta,
                    self.cfg.market.basis_sigma_usd,
                    &mut mrng,
                );
                v += 1;
                b
            });
            // This tick's flow variates, drawn up front: the fill loop below is then
            // plain arithmetic.
            let e_asks: [f64; N_VENUES] = per_venue(|| Exp1.sample(&mut frng));
            let e_bids: [f64; N_VENUES] = per_venue(|| Exp1.sample(&mut frng));
            let fractions: [(f64, f64); N_VENUES] = per_venue(|| split_uniforms(frng.next_u64()));

            // (4) fills. Fills of a tick are summed per side and booked as two trades:
            // equity does not depend on the booking order within a tick, and the loop
            // stays free of data-dependent branches (the arrivals are coin flips the
            // branch predictor cannot learn).
            let (mut buy_q, mut buy_notional, mut sell_q, mut sell_notional) = (0.0, 0.0, 0.0, 0.0);
            let (mut buy_fee, mut sell_fee, mut fills) = (0.0, 0.0, 0u64);
            let mut d_ask = [0.0f64; N_VENUES];
            let mut d_bid = [0.0f64; N_VENUES];
            let mut xs = [0.0f64; 2 * N_VENUES];
            for v in 0..N_VENUES {
                let floor = (self.maker_fee[v] * s + p.min_edge_usd).max(self.mkt_half[v] * reg.spread_mult);
                let half = (self.base_half[v] * widen).max(floor);
                let (db, da) = distances(half, skew);
                d_ask[v] = da;
                d_bid[v] = db;
                xs[v] = -self.flow_k[v] * da;
                xs[N_VENUES + v] = -self.flow_k[v] * db;
            }
            // The ten decay factors exp(-k d) in one batch: written over an array, the
            // exponential vectorizes (same bits as one at a time, a third faster overall).
            let decay = fastmath::exp_many(xs);
            for v in 0..N_VENUES {
                let (e_ask, e_bid, (f_ask, f_bid)) = (e_asks[v], e_bids[v], fractions[v]);
                // A venue in outage quotes nothing (size 0), without a branch.
                let live = f64::from(u8::from(down & (1 << v) == 0));
                let mid = s + basis[v] + reg.basis_add[v];
                let mid_new = s_new + basis_new[v] + reg_new.basis_add[v];
                let informed_move = mid_new - mid + self.share[v] * look;
                let a = self.flow_a[v];
                let (d_ask, d_bid) = (d_ask[v], d_bid[v]);
                // Informed flow takes the whole quote; otherwise an uninformed arrival a
                // random part of it. Arithmetic, not branches (see above).
                let informed = f64::from(u8::from(informed_move >= d_ask));
                let arrived = f64::from(u8::from(arrives(e_ask, a, decay[v])));
                let ask_share = informed + (1.0 - informed) * arrived * f_ask;
                let filled = live * ask_size * ask_share;
                let px = mid + d_ask;
                sell_q += filled;
                sell_notional += filled * px;
                sell_fee += self.maker_fee[v] * px * filled;
                fills += (filled > 0.0) as u64;

                let informed = f64::from(u8::from(-informed_move >= d_bid));
                let arrived = f64::from(u8::from(arrives(e_bid, a, decay[N_VENUES + v])));
                let bid_share = informed + (1.0 - informed) * arrived * f_bid;
                let filled = live * bid_size * bid_share;
                let px = mid - d_bid;
                buy_q += filled;
                buy_notional += filled * px;
                buy_fee += self.maker_fee[v] * px * filled;
                fills += (filled > 0.0) as u64;
            }
            if buy_q > 0.0 {
                pos.trade(buy_q, buy_notional / buy_q, buy_fee);
            }
            if sell_q > 0.0 {
                pos.trade(-sell_q, sell_notional / sell_q, sell_fee);
            }
            if fills > 0 {
                maker_fills += fills;
                maker_volume += buy_q + sell_q;
                last_fill_tick = Some(t);
            }
            s = s_new;
            basis = basis_new;
            reg = reg_new;

            // (5) hedge toward zero outside the band, on the best all-in venues.
            let hq = hedge_qty(p, pos.q, ratio);
            if hq != 0.0 {
                let quotes = self.taker_quotes(s, &basis, &reg, down);
                if let Some(e) = execution::execute(&quotes, hq) {
                    pos.trade(e.qty, e.avg_price, e.fees);
                    hedge_volume += hq.abs();
                    taker_cost += (e.avg_price - s) * e.qty + e.fees;
                }
            }

            // (6) equity, running peak and drawdown.
            let eq = pos.equity(s);
            peak = peak.max(eq);
            max_dd = max_dd.max(peak - eq);
            max_abs_q = max_abs_q.max(pos.q.abs());
            sum_abs_q += pos.q.abs();
            checksum = (checksum ^ eq.to_bits()).wrapping_mul(0x0100_0000_01b3);
            r_prev = Some(r);
            ticks_executed = t + 1;
        }

        let final_pnl = pos.equity(s);
        checksum = (checksum ^ final_pnl.to_bits()).wrapping_mul(0x0100_0000_01b3);
        RunResult {
            run_index,
            seed,
            final_pnl,
            max_drawdown: max_dd,
            killed: kill.is_some(),
            kill_reason: kill.map(|k| k.0),
            kill_tick: kill.map(|k| k.1),
            ticks_executed,
            maker_fills,
            maker_volume_tao: maker_volume,
            hedge_volume_tao: hedge_volume,
            fees_usd: pos.fees,
            max_abs_q_tao: max_abs_q,
            mean_abs_q_tao: if ticks_executed > 0 { sum_abs_q / ticks_executed as f64 } else { pos.q.abs() },
            taker_cost_usd: taker_cost,
            last_fill_tick,
            path_checksum: format!("{checksum:016x}"),
        }
    }
}

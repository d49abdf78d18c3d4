//! One run of the simulation: the tick loop of `simulator.md`, in its order.
//!
//! Per tick: (1) update the volatility estimate, (2) risk check (kill switch, warning
//! regime), (3) quote on every live venue ([`Quoter`]), the market moves, (4) fills from
//! the fill model ([`FillModel`]), booked, (5) hedge outside the band, (6) track equity
//! and drawdown (`RunStats`, in `sim/run_stats.rs`). Each step is a call into the module
//! that models it; this file only sequences them.
//!
//! Randomness comes from three seeded PCG streams per run: the market path (fair value,
//! jumps, basis), the order flow, and random outages. Each draws a fixed number of
//! variates per tick whatever the strategy does, so every configuration scored with the
//! same seed sees the same market and the same arrivals (common random numbers).

mod run_stats;

use rand::SeedableRng;
use rand_pcg::Pcg64Mcg;

use crate::config::SimConfig;
use crate::fastmath;
use crate::market::N_VENUES;
use crate::market::execution::{self, TakerQuote};
use crate::market::flow::{FillModel, FlowDraws, TickFills};
use crate::market::price::PriceProcess;
use crate::market::venue::basis_steps;
use crate::strategy::hedging::hedge_qty;
use crate::strategy::position::Position;
use crate::strategy::quoting::{Quoter, skew_horizon};
use crate::strategy::risk::kill_check;
use crate::strategy::vol::VolEstimator;
use crate::stress::{CompiledStress, Regime};

use run_stats::RunStats;
pub use run_stats::RunResult;

const FLOW_SALT: u64 = 0x9E37_79B9_7F4A_7C15;
const OUTAGE_SALT: u64 = 0xD1B5_4A32_D192_ED03;

/// A configuration prepared for many runs: per-venue constants computed once.
#[derive(Debug, Clone)]
pub struct Model {
    cfg: SimConfig,
    stress: CompiledStress,
    price: PriceProcess,
    quoter: Quoter,
    fills: FillModel,
    taker_fee: [f64; N_VENUES],
    mkt_half: [f64; N_VENUES],
    slope: [f64; N_VENUES],
    basis_mean: [f64; N_VENUES],
    /// Price grid per venue (USD; 0 continuous), and whether any venue has one.
    tick_size: [f64; N_VENUES],
    has_tick_size: bool,
    /// Bit v set: slot v holds no venue (a market of fewer than [`N_VENUES`] venues);
    /// such a slot is down on every tick.
    absent: u32,
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
        if n == 0 || n > N_VENUES {
            return Err(ModelError(format!("venues: {n} given; accepted 1 to {N_VENUES}")));
        }
        if cfg.tick_ms == 0 {
            return Err(ModelError("tick_ms: 0 given; a positive number of milliseconds accepted".into()));
        }
        let mut m = Model {
            cfg: cfg.clone(),
            stress,
            price: PriceProcess::new(&cfg.market, cfg.tick_ms),
            quoter: Quoter::new(cfg),
            fills: FillModel::new(&cfg.market),
            taker_fee: [0.0; N_VENUES],
            mkt_half: [0.0; N_VENUES],
            slope: [0.0; N_VENUES],
            basis_mean: [0.0; N_VENUES],
            tick_size: [0.0; N_VENUES],
            has_tick_size: false,
            absent: ((1u32 << N_VENUES) - 1) & !((1u32 << n) - 1),
        };
        for (i, v) in cfg.market.venues.iter().enumerate() {
            m.taker_fee[i] = v.taker_fee();
            m.mkt_half[i] = v.half_spread_usd;
            m.slope[i] = cfg.market.impact_usd / v.depth_tao;
            m.basis_mean[i] = v.basis_mean_usd;
            m.tick_size[i] = v.tick_size_usd;
        }
        m.has_tick_size = m.tick_size.iter().any(|t| *t > 0.0);
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

    /// Venue mids at fair value `s`.
    #[inline(always)]
    fn mids(s: f64, basis: &[f64; N_VENUES], reg: &Regime) -> [f64; N_VENUES] {
        let mut mid = [0.0; N_VENUES];
        for v in 0..N_VENUES {
            mid[v] = s + basis[v] + reg.basis_add[v];
        }
        mid
    }

    /// Runs the simulation for one seed.
    pub fn run(&self, seed: u64, run_index: u64) -> RunResult {
        let p = &self.cfg.strategy;
        let m = &self.cfg.market;
        let ticks = self.cfg.ticks;
        let mut mrng = Pcg64Mcg::seed_from_u64(seed);
        let mut frng = Pcg64Mcg::seed_from_u64(seed ^ FLOW_SALT);
        let mut orng = Pcg64Mcg::seed_from_u64(seed ^ OUTAGE_SALT);

        let mut s = m.s0_usd;
        let mut basis = self.basis_mean;
        let mut pos = Position::opening(p.init_q_tao, s);
        let mut vol = VolEstimator::new(p.vol_ref, p.ewma_weight, self.cfg.tick_ms);
        let mut outages = self.stress.outages();
        let mut stats = RunStats::new(p.init_q_tao);

        let mut reg = self.regime(0);
        let mut r_next = self.price.log_return(&mut mrng, reg.vol_mult);
        let mut r_prev: Option<f64> = None;

        for t in 0..=ticks {
            // (1) volatility estimate from the last fair-value return.
            if let Some(r) = r_prev {
                vol.update(r);
            }
            let ratio = vol.ratio(p.vol_ref);
            let down = outages.down(reg.down_mask, &mut orng) | self.absent;

            // (2) risk check at fair value; a kill flattens as taker and ends the run.
            if let Some(reason) = kill_check(p, pos.equity(s), pos.q, s) {
                // Flatten as taker; with every venue down, the emergency exit uses them all.
                let mut quotes = self.taker_quotes(s, &basis, &reg, down);
                if quotes.iter().all(|q| !q.live) {
                    quotes = self.taker_quotes(s, &basis, &reg, self.absent);
                }
                if let Some(e) = execution::execute(&quotes, -pos.q) {
                    pos.trade(e.qty, e.avg_price, e.fees);
                    stats.taker(&e, s);
                }
                stats.kill(reason, t, pos.equity(s));
                break;
            }
            if t == ticks {
                break;
            }

            // (3) quotes on each live venue, from the state at the start of the tick, on
            // each venue's price grid.
            let tau = skew_horizon(p, t, ticks);
            let mut quotes = self.quoter.quote(p, s, vol.sigma_tick(), tau, pos.q, ratio, reg.spread_mult, down);
            let mid = Self::mids(s, &basis, &reg);
            if self.has_tick_size {
                quotes.snap_to_grid(&mid, &self.tick_size);
            }
            // The market moves; the next tick's return is drawn now so informed traders
            // with latency can see part of it.
            let r = r_next;
            let s_new = s * fastmath::exp(r);
            let reg_new = self.regime(t + 1);
            r_next = self.price.log_return(&mut mrng, reg_new.vol_mult);
            let look = s_new * fastmath::exp_m1(r_next);
            let basis_new = basis_steps(&basis, &self.basis_mean, m.basis_theta, m.basis_sigma_usd, &mut mrng);

            // (4) fills from the order flow, booked.
            let mid_new = Self::mids(s_new, &basis_new, &reg_new);
            let fills = self.fills.tick(&quotes, &mid, &mid_new, look, &FlowDraws::draw(&mut frng));
            book(&mut pos, &fills);
            stats.fills(&fills, t);
            s = s_new;
            basis = basis_new;
            reg = reg_new;

            // (5) hedge toward zero outside the band, on the best all-in venues.
            let hq = if p.hedging { hedge_qty(p, pos.q, ratio) } else { 0.0 };
            if hq != 0.0 {
                let quotes = self.taker_quotes(s, &basis, &reg, down);
                if let Some(e) = execution::execute(&quotes, hq) {
                    pos.trade(e.qty, e.avg_price, e.fees);
                    stats.hedge(hq, &e, s);
                }
            }

            // (6) equity, running peak and drawdown.
            stats.end_tick(t, pos.equity(s), pos.q);
            r_prev = Some(r);
        }
        stats.finish(&pos, s, seed, run_index)
    }
}

/// Books a tick's fills as two trades, buys then sells.
#[inline(always)]
fn book(pos: &mut Position, fills: &TickFills) {
    if fills.buy.qty > 0.0 {
        pos.trade(fills.buy.qty, fills.buy.vwap(), fills.buy.fee);
    }
    if fills.sell.qty > 0.0 {
        pos.trade(-fills.sell.qty, fills.sell.vwap(), fills.sell.fee);
    }
}

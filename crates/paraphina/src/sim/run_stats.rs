//! What one run accumulates tick by tick, and the metrics it ends with.

use serde::{Deserialize, Serialize};

use crate::market::execution::Execution;
use crate::market::flow::TickFills;
use crate::strategy::position::Position;
use crate::strategy::risk::KillReason;

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
    /// Inventory at the end of the run (TAO; 0 after a kill's flattening).
    pub final_q_tao: f64,
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

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0100_0000_01b3;

/// The per-run accumulators: equity peak and drawdown, volumes, costs, inventory, the
/// kill, and the path checksum.
#[derive(Debug, Clone)]
pub(crate) struct RunStats {
    peak: f64,
    max_dd: f64,
    maker_fills: u64,
    maker_volume: f64,
    hedge_volume: f64,
    max_abs_q: f64,
    sum_abs_q: f64,
    taker_cost: f64,
    last_fill_tick: Option<u64>,
    kill: Option<(KillReason, u64)>,
    ticks_executed: u64,
    checksum: u64,
}

impl RunStats {
    /// Before the first tick, holding `init_q` TAO.
    pub(crate) fn new(init_q: f64) -> RunStats {
        RunStats {
            peak: 0.0,
            max_dd: 0.0,
            maker_fills: 0,
            maker_volume: 0.0,
            hedge_volume: 0.0,
            max_abs_q: init_q.abs(),
            sum_abs_q: 0.0,
            taker_cost: 0.0,
            last_fill_tick: None,
            kill: None,
            ticks_executed: 0,
            checksum: FNV_OFFSET,
        }
    }

    /// A tick's maker fills, at tick `t`.
    #[inline(always)]
    pub(crate) fn fills(&mut self, fills: &TickFills, t: u64) {
        let count = fills.count();
        if count > 0 {
            self.maker_fills += count;
            self.maker_volume += fills.buy.qty + fills.sell.qty;
            self.last_fill_tick = Some(t);
        }
    }

    /// A taker trade at fair value `s`: its cost against fair value, fees included.
    #[inline]
    pub(crate) fn taker(&mut self, e: &Execution, s: f64) {
        self.taker_cost += (e.avg_price - s) * e.qty + e.fees;
    }

    /// A hedge of `qty` TAO (signed) at fair value `s`.
    #[inline]
    pub(crate) fn hedge(&mut self, qty: f64, e: &Execution, s: f64) {
        self.hedge_volume += qty.abs();
        self.taker(e, s);
    }

    /// The end of tick `t`: equity `eq`, inventory `q`.
    #[inline(always)]
    pub(crate) fn end_tick(&mut self, t: u64, eq: f64, q: f64) {
        self.peak = self.peak.max(eq);
        self.max_dd = self.max_dd.max(self.peak - eq);
        self.max_abs_q = self.max_abs_q.max(q.abs());
        self.sum_abs_q += q.abs();
        self.checksum = (self.checksum ^ eq.to_bits()).wrapping_mul(FNV_PRIME);
        self.ticks_executed = t + 1;
    }

    /// The kill switch fired at tick `t`; `eq` is the equity after flattening.
    pub(crate) fn kill(&mut self, reason: KillReason, t: u64, eq: f64) {
        self.max_dd = self.max_dd.max(self.peak - eq);
        self.kill = Some((reason, t));
    }

    /// The run's metrics, with the book `pos` marked at the final fair value `s`.
    pub(crate) fn finish(mut self, pos: &Position, s: f64, seed: u64, run_index: u64) -> RunResult {
        let final_pnl = pos.equity(s);
        self.checksum = (self.checksum ^ final_pnl.to_bits()).wrapping_mul(FNV_PRIME);
        let ticks = self.ticks_executed;
        RunResult {
            run_index,
            seed,
            final_pnl,
            max_drawdown: self.max_dd,
            killed: self.kill.is_some(),
            kill_reason: self.kill.map(|k| k.0),
            kill_tick: self.kill.map(|k| k.1),
            ticks_executed: ticks,
            maker_fills: self.maker_fills,
            maker_volume_tao: self.maker_volume,
            hedge_volume_tao: self.hedge_volume,
            fees_usd: pos.fees,
            max_abs_q_tao: self.max_abs_q,
            final_q_tao: pos.q,
            mean_abs_q_tao: if ticks > 0 { self.sum_abs_q / ticks as f64 } else { pos.q.abs() },
            taker_cost_usd: self.taker_cost,
            last_fill_tick: self.last_fill_tick,
            path_checksum: format!("{:016x}", self.checksum),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market::flow::SideFills;

    #[test]
    fn drawdown_is_measured_from_a_peak_that_starts_at_zero() {
        let mut st = RunStats::new(0.0);
        for (t, eq) in [-5.0, 10.0, 4.0, 12.0, 7.0].into_iter().enumerate() {
            st.end_tick(t as u64, eq, 0.0);
        }
        let r = st.finish(&Position::default(), 250.0, 1, 0);
        assert_eq!(r.max_drawdown, 6.0);
        assert_eq!(r.ticks_executed, 5);
    }

    #[test]
    fn a_kill_counts_the_drawdown_of_the_flattening_and_the_ticks_before_it() {
        let mut st = RunStats::new(3.0);
        st.end_tick(0, 20.0, 3.0);
        st.kill(KillReason::PnlHardBreach, 1, -30.0);
        let r = st.finish(&Position::default(), 250.0, 1, 0);
        assert_eq!((r.killed, r.kill_reason, r.kill_tick), (true, Some(KillReason::PnlHardBreach), Some(1)));
        assert_eq!(r.max_drawdown, 50.0);
        assert_eq!((r.ticks_executed, r.max_abs_q_tao, r.mean_abs_q_tao), (1, 3.0, 3.0));
    }

    #[test]
    fn fills_count_volume_and_the_last_tick_with_a_fill() {
        let mut st = RunStats::new(0.0);
        let side = |qty, count| SideFills { qty, notional: qty * 250.0, fee: 0.0, count };
        st.fills(&TickFills { buy: side(1.5, 2), sell: side(0.5, 1) }, 3);
        st.fills(&TickFills::default(), 4);
        let r = st.finish(&Position::default(), 250.0, 1, 0);
        assert_eq!((r.maker_fills, r.maker_volume_tao, r.last_fill_tick), (3, 2.0, Some(3)));
    }

    #[test]
    fn taker_cost_is_paid_against_fair_value_with_fees() {
        let mut st = RunStats::new(0.0);
        st.hedge(-2.0, &Execution { qty: -2.0, avg_price: 249.5, fees: 0.25 }, 250.0);
        let r = st.finish(&Position::default(), 250.0, 1, 0);
        assert_eq!((r.taker_cost_usd, r.hedge_volume_tao), (1.25, 2.0));
    }

    #[test]
    fn the_checksum_depends_on_every_tick() {
        let path = |eqs: &[f64]| {
            let mut st = RunStats::new(0.0);
            for (t, eq) in eqs.iter().enumerate() {
                st.end_tick(t as u64, *eq, 0.0);
            }
            st.finish(&Position::default(), 250.0, 1, 0).path_checksum
        };
        assert_ne!(path(&[1.0, 2.0, 3.0]), path(&[1.0, 2.5, 3.0]));
        assert_eq!(path(&[1.0, 2.0]), path(&[1.0, 2.0]));
    }
}

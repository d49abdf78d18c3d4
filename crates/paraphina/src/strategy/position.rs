//! The book: inventory with a volume-weighted entry price, realized PnL on reductions,
//! and fees paid.

/// Inventory and PnL accounting in USD and TAO.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Position {
    /// Signed inventory (TAO).
    pub q: f64,
    /// Volume-weighted entry price of the open inventory (USD).
    pub entry: f64,
    /// PnL realized on reductions (USD), before fees.
    pub realized: f64,
    /// Fees paid, maker and taker (USD; rebates are negative).
    pub fees: f64,
}

impl Position {
    /// A starting inventory entered at `price` (the initial mark, so equity starts at 0).
    pub fn opening(q: f64, price: f64) -> Position {
        Position { q, entry: price, realized: 0.0, fees: 0.0 }
    }

    /// Books a trade of signed `qty` at `price`, paying `fee`.
    #[inline]
    pub fn trade(&mut self, qty: f64, price: f64, fee: f64) {
        self.fees += fee;
        if qty == 0.0 {
            return;
        }
        let q = self.q;
        if q == 0.0 || (q > 0.0) == (qty > 0.0) {
            let new_q = q + qty;
            self.entry = (self.entry * q.abs() + price * qty.abs()) / new_q.abs();
            self.q = new_q;
            return;
        }
        let reduce = qty.abs().min(q.abs());
        self.realized += reduce * (price - self.entry) * q.signum();
        let new_q = q + qty;
        if new_q == 0.0 || (new_q > 0.0) != (q > 0.0) {
            // Flipped through zero: the remainder opens at this price.
            self.entry = price;
        }
        self.q = new_q;
    }

    /// Equity marked at `mark`: realized + unrealized − fees.
    #[inline]
    pub fn equity(&self, mark: f64) -> f64 {
        self.realized + self.q * (mark - self.entry) - self.fees
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vwap_entry_and_realized_pnl_on_reduction() {
        let mut p = Position::default();
        p.trade(2.0, 100.0, 0.0);
        p.trade(2.0, 110.0, 0.0);
        assert_eq!(p.entry, 105.0);
        p.trade(-1.0, 115.0, 0.5);
        assert_eq!(p.realized, 10.0);
        assert_eq!(p.q, 3.0);
        assert!((p.equity(105.0) - 9.5).abs() < 1e-12);
    }

    #[test]
    fn flipping_through_zero_opens_the_rest_at_the_trade_price() {
        let mut p = Position::opening(-3.0, 250.0);
        p.trade(5.0, 240.0, 0.0);
        assert_eq!(p.realized, 30.0);
        assert_eq!(p.q, 2.0);
        assert_eq!(p.entry, 240.0);
    }

    #[test]
    fn equity_equals_cash_accounting() {
        // realized + unrealized − fees must equal cash + q·mark − q0·p0 for any path.
        let trades = [(1.5, 250.1), (-0.7, 251.0), (-2.0, 249.5), (3.3, 248.0), (-2.1, 252.2)];
        let mut p = Position::opening(4.0, 250.0);
        let mut cash = 0.0;
        for (i, (qty, price)) in trades.iter().enumerate() {
            p.trade(*qty, *price, 0.01 * i as f64);
            cash -= qty * price + 0.01 * i as f64;
        }
        let mark = 251.3;
        let by_cash = cash + p.q * mark - 4.0 * 250.0;
        assert!((p.equity(mark) - by_cash).abs() < 1e-9);
    }
}

//! Taker execution (hedges and kill-switch flattening): each venue fills at its touch
//! plus a linear impact `slope × size` (slope = impact / depth) and charges its taker
//! fee. An order is split over the live venues so the marginal all-in price is equal on
//! every venue used (water filling), i.e. it goes to the venue(s) with the best all-in
//! price.

use super::N_VENUES;

/// One venue as seen by a taker at this instant.
#[derive(Debug, Clone, Copy, Default)]
pub struct TakerQuote {
    pub mid: f64,
    pub half_spread: f64,
    /// Average-price impact per TAO traded (USD/TAO).
    pub slope: f64,
    /// Taker fee as a fraction of notional.
    pub fee: f64,
    pub live: bool,
}

/// Result of a taker order.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Execution {
    /// Signed quantity traded (TAO; + bought).
    pub qty: f64,
    /// Volume-weighted average price before fees (USD).
    pub avg_price: f64,
    /// Fees paid (USD).
    pub fees: f64,
}

/// Executes `qty` (+ buy, − sell) across `venues`. Returns `None` when no venue is live.
pub fn execute(venues: &[TakerQuote], qty: f64) -> Option<Execution> {
    if qty == 0.0 {
        return Some(Execution::default());
    }
    let buy = qty > 0.0;
    let total = qty.abs();
    // Cost per unit to minimise: c + m x (marginal), as a buyer pays and a seller forgoes.
    let mut idx = [0usize; N_VENUES];
    let mut c = [0.0f64; N_VENUES];
    let mut m = [0.0f64; N_VENUES];
    let mut n = 0;
    for (i, v) in venues.iter().enumerate() {
        if !v.live {
            continue;
        }
        let (touch, scale) = if buy {
            (v.mid + v.half_spread, 1.0 + v.fee)
        } else {
            (v.mid - v.half_spread, 1.0 - v.fee)
        };
        idx[n] = i;
        c[n] = if buy { scale * touch } else { -scale * touch };
        m[n] = 2.0 * scale * v.slope.max(1e-12);
        n += 1;
    }
    if n == 0 {
        return None;
    }
    // Sort the live venues by marginal cost at zero size (n ≤ 8: insertion sort).
    for i in 1..n {
        let mut j = i;
        while j > 0 && c[j] < c[j - 1] {
            c.swap(j, j - 1);
            m.swap(j, j - 1);
            idx.swap(j, j - 1);
            j -= 1;
        }
    }
    // Grow the active set until the water level no longer reaches the next venue.
    let (mut sum_inv_m, mut sum_c_over_m) = (0.0, 0.0);
    let mut level = 0.0;
    let mut active = 0;
    for j in 0..n {
        sum_inv_m += 1.0 / m[j];
        sum_c_over_m += c[j] / m[j];
        level = (total + sum_c_over_m) / sum_inv_m;
        active = j + 1;
        if j + 1 == n || level <= c[j + 1] {
            break;
        }
    }
    let (mut filled, mut notional, mut fees) = (0.0, 0.0, 0.0);
    for j in 0..active {
        let x = ((level - c[j]) / m[j]).max(0.0);
        let v = &venues[idx[j]];
        let price = if buy {
            v.mid + v.half_spread + v.slope * x
        } else {
            v.mid - v.half_spread - v.slope * x
        };
        filled += x;
        notional += x * price;
        fees += x * price.abs() * v.fee;
    }
    // The water level solves Σx = total up to rounding; price what was actually split.
    Some(Execution { qty, avg_price: notional / filled, fees })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn venue(mid: f64, slope: f64) -> TakerQuote {
        TakerQuote { mid, half_spread: 0.2, slope, fee: 5e-4, live: true }
    }

    #[test]
    fn a_small_order_goes_to_the_cheapest_venue_only() {
        let vs = [venue(250.0, 0.02), venue(250.5, 0.02)];
        let e = execute(&vs, 1.0).unwrap();
        assert!((e.avg_price - (250.2 + 0.02)).abs() < 1e-9);
        assert!((e.fees - e.avg_price * 5e-4).abs() < 1e-9);
    }

    #[test]
    fn a_large_order_is_split_with_equal_marginal_cost() {
        let vs = [venue(250.0, 0.02), venue(250.0, 0.04)];
        let e = execute(&vs, 30.0).unwrap();
        // Equal marginal: 2·0.02·x1 = 2·0.04·x2, x1 + x2 = 30 → x1 = 20, x2 = 10.
        let expect = (20.0 * (250.2 + 0.4) + 10.0 * (250.2 + 0.4)) / 30.0;
        assert!((e.avg_price - expect).abs() < 1e-9, "{e:?}");
        // Splitting beats the best single venue.
        let single = execute(&vs[..1], 30.0).unwrap();
        assert!(e.avg_price < single.avg_price);
    }

    #[test]
    fn sells_receive_less_than_the_bid_and_dead_venues_are_skipped() {
        let mut vs = [venue(250.0, 0.02), venue(240.0, 0.02)];
        let e = execute(&vs, -2.0).unwrap();
        assert!((e.avg_price - (249.8 - 0.04)).abs() < 1e-9);
        vs[0].live = false;
        let e = execute(&vs, -2.0).unwrap();
        assert!(e.avg_price < 240.0);
        vs[1].live = false;
        assert!(execute(&vs, -2.0).is_none());
    }
}

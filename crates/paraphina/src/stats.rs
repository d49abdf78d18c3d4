//! Statistics of a Monte Carlo batch: quantiles (linear interpolation between order
//! statistics, numpy's default), sample standard deviation, VaR/CVaR for both tails,
//! and the two-sided Wilson score interval.

/// Exact two-sided 95 % normal quantile used for the displayed kill-probability interval.
pub const Z_95_TWO_SIDED: f64 = 1.959_963_984_540_054;

/// Quantile `p` in [0, 1] of sorted data, linear interpolation (numpy's "linear").
/// NaN for empty data.
pub fn quantile_sorted(sorted: &[f64], p: f64) -> f64 {
    let n = sorted.len();
    if n == 0 {
        return f64::NAN;
    }
    let h = (n - 1) as f64 * p.clamp(0.0, 1.0);
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(n - 1);
    let frac = h - lo as f64;
    sorted[lo] + (sorted[hi] - sorted[lo]) * frac
}

/// Sorted copy (total order, NaN last).
pub fn sorted(data: &[f64]) -> Vec<f64> {
    let mut v = data.to_vec();
    v.sort_by(f64::total_cmp);
    v
}

pub fn mean(data: &[f64]) -> f64 {
    if data.is_empty() {
        return f64::NAN;
    }
    data.iter().sum::<f64>() / data.len() as f64
}

/// Sample standard deviation (n − 1); NaN below two observations.
pub fn sample_std(data: &[f64]) -> f64 {
    let n = data.len();
    if n < 2 {
        return f64::NAN;
    }
    let m = mean(data);
    let ss: f64 = data.iter().map(|x| (x - m) * (x - m)).sum();
    (ss / (n - 1) as f64).sqrt()
}

/// Lower-tail VaR and CVaR: VaR is the quantile `p` (0.05 for 95 % confidence) and CVaR
/// the mean of the observations at or below it (for PnL: a level, more negative is worse).
pub fn lower_tail(sorted: &[f64], p: f64) -> (f64, f64) {
    let var = quantile_sorted(sorted, p);
    let tail: Vec<f64> = sorted.iter().copied().filter(|x| *x <= var).collect();
    (var, mean(&tail))
}

/// Upper-tail VaR and CVaR: VaR is the quantile `p` (0.95 for 95 % confidence) and CVaR
/// the mean of the observations at or above it (for drawdowns: the worst ones).
pub fn upper_tail(sorted: &[f64], p: f64) -> (f64, f64) {
    let var = quantile_sorted(sorted, p);
    let tail: Vec<f64> = sorted.iter().copied().filter(|x| *x >= var).collect();
    (var, mean(&tail))
}

/// Two-sided Wilson score interval for `k` successes in `n` trials at normal quantile
/// `z`. Returns (lower, upper); NaNs for n = 0.
pub fn wilson_interval(k: u64, n: u64, z: f64) -> (f64, f64) {
    if n == 0 {
        return (f64::NAN, f64::NAN);
    }
    let n_f = n as f64;
    let p = k as f64 / n_f;
    let z2 = z * z;
    let denom = 1.0 + z2 / n_f;
    let center = (p + z2 / (2.0 * n_f)) / denom;
    let half = z * (p * (1.0 - p) / n_f + z2 / (4.0 * n_f * n_f)).sqrt() / denom;
    // The bounds are exactly 0 with no successes and 1 with no failures; rounding would
    // leave a few 1e-17 otherwise.
    let lower = if k == 0 { 0.0 } else { (center - half).max(0.0) };
    let upper = if k == n { 1.0 } else { (center + half).min(1.0) };
    (lower, upper)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    fn range(n: usize) -> Vec<f64> {
        (1..=n).map(|x| x as f64).collect()
    }

    #[test]
    fn quantiles_of_1_to_10_match_numpy_linear() {
        let d = range(10);
        // numpy.quantile(range(1, 11), [.01, .05, .5, .95, .99])
        for (p, want) in [(0.01, 1.09), (0.05, 1.45), (0.5, 5.5), (0.95, 9.55), (0.99, 9.91)] {
            assert!(close(quantile_sorted(&d, p), want, 1e-12), "p={p}");
        }
        assert_eq!(quantile_sorted(&d, 0.0), 1.0);
        assert_eq!(quantile_sorted(&d, 1.0), 10.0);
    }

    #[test]
    fn quantiles_of_1_to_100_match_numpy_linear() {
        let d = range(100);
        for (p, want) in [(0.01, 1.99), (0.05, 5.95), (0.5, 50.5), (0.95, 95.05), (0.99, 99.01)] {
            assert!(close(quantile_sorted(&d, p), want, 1e-9), "p={p}");
        }
    }

    #[test]
    fn tails_of_known_vectors() {
        let d = range(10);
        assert_eq!(lower_tail(&d, 0.05), (1.45, 1.0));
        let (var, cvar) = upper_tail(&d, 0.95);
        assert!(close(var, 9.55, 1e-12) && cvar == 10.0);
        let d = range(100);
        let (var, cvar) = lower_tail(&d, 0.05);
        assert!(close(var, 5.95, 1e-12) && close(cvar, 3.0, 1e-12));
        let (var, cvar) = upper_tail(&d, 0.95);
        assert!(close(var, 95.05, 1e-9) && close(cvar, 98.0, 1e-12));
    }

    #[test]
    fn sample_std_uses_n_minus_one() {
        assert!(close(sample_std(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]), 2.138_089_935_299_395, 1e-12));
        assert!(sample_std(&[1.0]).is_nan());
        assert!(close(sample_std(&range(10)), 3.027_650_354_097_491_7, 1e-12));
    }

    #[test]
    fn wilson_known_values() {
        // 0 of 50: two-sided 95 % upper bound z²/(n+z²) = 0.07135.
        let (lo, hi) = wilson_interval(0, 50, Z_95_TWO_SIDED);
        assert_eq!(lo, 0.0);
        assert!(close(hi, 0.071_35, 5e-6), "{hi}");
        // One-sided alpha 0.05 uses z = 1.644854: upper z²/(n+z²) = 0.05133.
        let (_, hi) = wilson_interval(0, 50, 1.644_853_626_951_472_2);
        assert!(close(hi, 0.051_33, 5e-6), "{hi}");
        // 5 of 20 at 95 %: (0.1119, 0.4687) (textbook, e.g. Newcombe 1998).
        let (lo, hi) = wilson_interval(5, 20, Z_95_TWO_SIDED);
        assert!(close(lo, 0.1119, 5e-5) && close(hi, 0.4687, 5e-5), "{lo} {hi}");
        // All successes: the upper bound is 1.
        assert_eq!(wilson_interval(10, 10, Z_95_TWO_SIDED).1, 1.0);
    }
}

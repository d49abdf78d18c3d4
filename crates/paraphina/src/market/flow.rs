//! Order flow against our quotes.
//!
//! Uninformed flow arrives with Avellaneda-Stoikov intensity `A exp(-k d)` per tick and
//! side (`d` = the quote's distance from the venue mid); a fill takes a random part of
//! the quoted size. Informed flow fills a quote first, in full, when the venue mid's move
//! over the tick crosses it; with latency the informed trader also sees part of the
//! next tick's move, so more quotes are picked off, and the worse ones.

use crate::fastmath;

/// Probability of at least one uninformed arrival in a tick at distance `d`.
#[inline]
pub fn uninformed_fill_prob(a: f64, k: f64, d: f64) -> f64 {
    -fastmath::exp_m1(-(a * fastmath::exp(-k * d)))
}

/// Whether the tick holds an uninformed arrival at distance `d`, given `e`, a standard
/// exponential variate. The first arrival of a Poisson process of intensity `lambda`
/// comes within the tick exactly when `e < lambda`, so the probability is
/// `uninformed_fill_prob(a, k, d)` with one exponential and no branch (arrivals are
/// coin flips a branch predictor cannot learn).
#[inline(always)]
pub fn uninformed_arrives(e: f64, a: f64, k: f64, d: f64) -> bool {
    arrives(e, a, fastmath::exp(-k * d))
}

/// [`uninformed_arrives`] with the decay factor `exp(-k d)` already computed (the run
/// loop computes a tick's ten factors in one batch).
#[inline(always)]
pub fn arrives(e: f64, a: f64, decay: f64) -> bool {
    e < a * decay
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_probability_falls_with_distance_and_stays_a_probability() {
        let p0 = uninformed_fill_prob(0.5, 1.5, 0.0);
        assert!((p0 - (1.0 - (-0.5f64).exp())).abs() < 1e-15);
        let mut last = p0;
        for i in 1..50 {
            let p = uninformed_fill_prob(0.5, 1.5, i as f64 * 0.1);
            assert!(p < last && p > 0.0);
            last = p;
        }
    }

    #[test]
    fn arrivals_happen_with_the_poisson_probability() {
        use rand::SeedableRng;
        use rand_distr::{Distribution, Exp1};
        let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(7);
        for d in [0.05, 0.4, 0.8, 1.5] {
            let n = 200_000;
            let hits = (0..n)
                .filter(|_| uninformed_arrives(Exp1.sample(&mut rng), 0.65, 1.5, d))
                .count() as f64;
            let p = uninformed_fill_prob(0.65, 1.5, d);
            let se = (p * (1.0 - p) / n as f64).sqrt();
            assert!((hits / n as f64 - p).abs() < 5.0 * se, "d={d}: {} vs {p}", hits / n as f64);
        }
    }

    #[test]
    fn uniforms_cover_the_unit_interval_without_zero() {
        assert_eq!(split_uniforms(0), (1.0 / 4_294_967_296.0, 1.0 / 4_294_967_296.0));
        assert_eq!(split_uniforms(u64::MAX), (1.0, 1.0));
    }
}

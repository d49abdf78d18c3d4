//! Venue state: the basis to fair value, a mean-reverting Ornstein-Uhlenbeck process.

use rand_distr::{Distribution, StandardNormal};
use rand_pcg::Pcg64Mcg;

/// Discrete OU step: `b += theta (mean - b) + sigma z`.
#[inline]
pub fn basis_step(b: f64, mean: f64, theta: f64, sigma: f64, rng: &mut Pcg64Mcg) -> f64 {
    let z: f64 = StandardNormal.sample(rng);
    b + theta * (mean - b) + sigma * z
}

//! Venue state: the basis to fair value, a mean-reverting Ornstein-Uhlenbeck process.

use rand_distr::{Distribution, StandardNormal};
use rand_pcg::Pcg64Mcg;

use super::{N_VENUES, per_venue};

/// Discrete OU step: `b += theta (mean - b) + sigma z`.
#[inline]
pub fn basis_step(b: f64, mean: f64, theta: f64, sigma: f64, rng: &mut Pcg64Mcg) -> f64 {
    let z: f64 = StandardNormal.sample(rng);
    b + theta * (mean - b) + sigma * z
}

/// One OU step of every venue's basis around its `mean`, in venue order (one normal
/// variate each).
#[inline(always)]
pub fn basis_steps(
    basis: &[f64; N_VENUES],
    mean: &[f64; N_VENUES],
    theta: f64,
    sigma: f64,
    rng: &mut Pcg64Mcg,
) -> [f64; N_VENUES] {
    let mut v = 0;
    per_venue(|| {
        let b = basis_step(basis[v], mean[v], theta, sigma, rng);
        v += 1;
        b
    })
}

//! Exponentials for the hot path, in plain IEEE-754 arithmetic (no libm), so a run's
//! results are the same bits on every platform and faster than the C library.
//!
//! `exp`: x = (32 n + j) ln2/32 + r with |r| ≤ ln2/64, exp(x) = 2^n · 2^(j/32) · p(r),
//! p the degree-6 Taylor polynomial (truncation error below 4e-18 relative); the table
//! holds 2^(j/32) correctly rounded. Relative error stays within a few ulp.

const TABLE: [u64; 32] = [
    0x3ff0000000000000,
    0x3ff059b0d3158574,
    0x3ff0b5586cf9890f,
    0x3ff11301d0125b51,
    0x3ff172b83c7d517b,
    0x3ff1d4873168b9aa,
    0x3ff2387a6e756238,
    0x3ff29e9df51fdee1,
    0x3ff306fe0a31b715,
    0x3ff371a7373aa9cb,
    0x3ff3dea64c123422,
    0x3ff44e086061892d,
    0x3ff4bfdad5362a27,
    0x3ff5342b569d4f82,
    0x3ff5ab07dd485429,
    0x3ff6247eb03a5585,
    0x3ff6a09e667f3bcd,
    0x3ff71f75e8ec5f74,
    0x3ff7a11473eb0187,
    0x3ff82589994cce13,
    0x3ff8ace5422aa0db,
    0x3ff93737b0cdc5e5,
    0x3ff9c49182a3f090,
    0x3ffa5503b23e255d,
    0x3ffae89f995ad3ad,
    0x3ffb7f76f2fb5e47,
    0x3ffc199bdd85529c,
    0x3ffcb720dcef9069,
    0x3ffd5818dcfba487,
    0x3ffdfc97337b9b5f,
    0x3ffea4afa2a490da,
    0x3fff50765b6e4540,
];
const LN2_32_HI: f64 = 0.02166084938653512;
const LN2_32_LO: f64 = 5.9631716539705866e-12;
const INV_LN2_32: f64 = 46.16624130844683;

/// 1.5 · 2^52: adding it rounds a double of moderate size to an integer in its low bits.
const ROUND_MAGIC: f64 = 6_755_399_441_055_744.0;

/// e^x. Arguments beyond ±700 (never reached by the model) use the C library.
#[inline(always)]
pub fn exp(x: f64) -> f64 {
    // Also true for NaN, which the C library turns into NaN.
    if x.is_nan() || x.abs() >= 700.0 {
        return x.exp();
    }
    let t = x * INV_LN2_32 + ROUND_MAGIC;
    let k = t.to_bits() as i64 as i32; // low bits hold round(x · 32/ln2)
    let kf = t - ROUND_MAGIC;
    let r = (x - kf * LN2_32_HI) - kf * LN2_32_LO;
    let r2 = r * r;
    // Estrin's scheme: shorter dependency chain than Horner.
    let p01 = 1.0 + r;
    let p23 = 0.5 + r * (1.0 / 6.0);
    let p45 = (1.0 / 24.0) + r * (1.0 / 120.0);
    let p6 = 1.0 / 720.0;
    let p = p01 + r2 * (p23 + r2 * (p45 + r2 * p6));
    let j = (k & 31) as usize;
    let n = (k >> 5) as i64;
    let scale = f64::from_bits(((n + 1023) as u64) << 52);
    f64::from_bits(TABLE[j]) * p * scale
}

/// e^x of every element, each exactly as [`exp`] computes it: written as a plain loop
/// over an array so the compiler can evaluate the polynomial two lanes at a time.
#[inline(always)]
pub fn exp_many<const N: usize>(xs: [f64; N]) -> [f64; N] {
    let mut t = [0.0f64; N];
    let mut kf = [0.0f64; N];
    let mut p = [0.0f64; N];
    let mut out = [0.0f64; N];
    let mut special = false;
    for i in 0..N {
        special |= xs[i].is_nan() || xs[i].abs() >= 700.0;
        t[i] = xs[i] * INV_LN2_32 + ROUND_MAGIC;
        kf[i] = t[i] - ROUND_MAGIC;
    }
    for i in 0..N {
        let x = xs[i];
        let r = (x - kf[i] * LN2_32_HI) - kf[i] * LN2_32_LO;
        let r2 = r * r;
        let p01 = 1.0 + r;
        let p23 = 0.5 + r * (1.0 / 6.0);
        let p45 = (1.0 / 24.0) + r * (1.0 / 120.0);
        let p6 = 1.0 / 720.0;
        p[i] = p01 + r2 * (p23 + r2 * (p45 + r2 * p6));
    }
    for i in 0..N {
        let k = t[i].to_bits() as i64 as i32;
        let j = (k & 31) as usize;
        let n = (k >> 5) as i64;
        let scale = f64::from_bits(((n + 1023) as u64) << 52);
        out[i] = f64::from_bits(TABLE[j]) * p[i] * scale;
    }
    if special {
        for i in 0..N {
            if xs[i].is_nan() || xs[i].abs() >= 700.0 {
                out[i] = xs[i].exp();
            }
        }
    }
    out
}

/// e^x − 1, accurate near 0 as well.
#[inline]
pub fn exp_m1(x: f64) -> f64 {
    if x.abs() < 0.03 {
        // Taylor to x^7: truncation below 1e-16 relative for |x| < 0.03.
        let x2 = x * x;
        let a = x + x2 * 0.5;
        let b = (1.0 / 6.0) + x * (1.0 / 24.0);
        let c = (1.0 / 120.0) + x * (1.0 / 720.0);
        let d = 1.0 / 5040.0;
        a + x2 * x * (b + x2 * (c + x2 * d))
    } else {
        exp(x) - 1.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(a: f64, b: f64) -> f64 {
        ((a - b) / b).abs()
    }

    #[test]
    fn exp_matches_the_c_library_within_a_few_ulp() {
        let mut worst = 0.0f64;
        for i in -200_000..200_000 {
            let x = i as f64 * 1.7e-4 + 0.123_456_7e-5;
            worst = worst.max(rel(exp(x), x.exp()));
        }
        for x in [-699.0, -300.0, -50.0, 0.0, 1e-300, 50.0, 300.0, 699.0] {
            worst = worst.max(rel(exp(x), x.exp()));
        }
        assert!(worst < 1e-15, "worst relative error {worst:e}");
        assert_eq!(exp(0.0), 1.0);
        assert!(exp(f64::NAN).is_nan());
        assert_eq!(exp(-1e4), 0.0);
    }

    #[test]
    fn exp_m1_is_accurate_near_zero() {
        let mut worst = 0.0f64;
        for i in 1..100_000 {
            for s in [-1.0, 1.0] {
                let x = s * i as f64 * 1e-6;
                worst = worst.max(rel(exp_m1(x), x.exp_m1()));
            }
        }
        for i in 1..1000 {
            let x = -(i as f64) * 2e-3;
            worst = worst.max(rel(exp_m1(x), x.exp_m1()));
        }
        assert!(worst < 2e-14, "worst relative error {worst:e}");
    }

    #[test]
    fn exp_many_gives_the_same_bits_as_exp() {
        let mut xs = [0.0f64; 13];
        for round in 0..20_000 {
            for (i, x) in xs.iter_mut().enumerate() {
                *x = ((round * 13 + i) as f64 * 0.000_731).sin() * 12.0 - 3.0;
            }
            let many = exp_many(xs);
            for (x, e) in xs.iter().zip(many) {
                assert_eq!(e.to_bits(), exp(*x).to_bits(), "x = {x}");
            }
        }
        let special = [f64::NAN, -1e4, 800.0, 0.0, -0.0, 1e-300];
        for (x, e) in special.iter().zip(exp_many(special)) {
            assert_eq!(e.to_bits(), exp(*x).to_bits(), "x = {x}");
        }
    }

    #[test]
    fn table_holds_powers_of_two() {
        for (j, bits) in TABLE.iter().enumerate() {
            assert!(rel(f64::from_bits(*bits), (j as f64 / 32.0).exp2()) < 2.3e-16);
        }
    }
}

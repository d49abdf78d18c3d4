use rand::{Rng, RngExt, SeedableRng};
use rand_distr::{Distribution, StandardNormal};
use rand_pcg::Pcg64Mcg;
use std::time::Instant;
fn main() {
    let n = 2_400_000u64;
    let mut rng = Pcg64Mcg::seed_from_u64(1);
    let t = Instant::now(); let mut acc = 0.0f64;
    for _ in 0..n { for _ in 0..7 { let z: f64 = StandardNormal.sample(&mut rng); acc += z; } }
    println!("7 normals/tick: {:.1} ns/tick {acc}", t.elapsed().as_nanos() as f64 / n as f64);
    let t = Instant::now(); let mut acc2 = 0u64;
    for _ in 0..n { for _ in 0..10 { acc2 ^= rng.next_u64(); } }
    println!("10 u64/tick: {:.1} ns/tick {acc2}", t.elapsed().as_nanos() as f64 / n as f64);
    let t = Instant::now(); let mut acc = 0.0f64;
    for i in 0..n { for j in 0..10 { acc += paraphina::fastmath::exp(-(i as f64 * 1e-7 + j as f64 * 0.01)); } }
    println!("10 fast exp/tick: {:.1} ns/tick {acc}", t.elapsed().as_nanos() as f64 / n as f64);
    let t = Instant::now(); let mut acc = 0.0f64;
    for i in 0..n { for j in 0..10 { acc += (-(i as f64 * 1e-7 + j as f64 * 0.01)).exp(); } }
    println!("10 libm exp/tick: {:.1} ns/tick {acc}", t.elapsed().as_nanos() as f64 / n as f64);
    let us: Vec<f64> = (0..n as usize * 10).map(|_| rng.random::<f64>()).collect();
    let t = Instant::now(); let mut c = 0u64;
    for i in 0..n as usize { for j in 0..10 { c += paraphina::market::flow::arrival(us[i*10+j], 0.65, paraphina::fastmath::exp(-1.5 * (0.5 + 0.01 * j as f64))) as u64; } }
    println!("10 arrivals/tick: {:.1} ns/tick {c}", t.elapsed().as_nanos() as f64 / n as f64);
    use paraphina::fastmath::exp;
    let t = Instant::now(); let mut c = 0u64;
    for i in 0..n as usize { for j in 0..10 { let u = us[i*10+j]; let lam = 0.65 * exp(-1.5 * (0.5 + 0.01 * j as f64)); c += (u < 1.0 - exp(-lam)) as u64; } }
    println!("10 branchless 2exp/tick: {:.1} ns/tick {c}", t.elapsed().as_nanos() as f64 / n as f64);
    let t = Instant::now(); let mut c = 0u64;
    for i in 0..n as usize { for j in 0..10 { let u = us[i*10+j]; let lam = 0.65 * exp(-1.5 * (0.5 + 0.01 * j as f64)); c += (u < lam) as u64; } }
    println!("10 branchless 1exp/tick: {:.1} ns/tick {c}", t.elapsed().as_nanos() as f64 / n as f64);
    let t = Instant::now(); let mut acc = 0.0f64;
    for _ in 0..n { let u: f64 = rng.random(); acc += u; }
    println!("1 uniform/tick: {:.1} ns/tick {acc}", t.elapsed().as_nanos() as f64 / n as f64);
}
#[allow(dead_code)]
fn unused() {}

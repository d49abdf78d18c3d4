//! The field's reference experiments, run through the ordinary machinery.
//!
//! - [`avellaneda_stoikov`]: the simulation study of Avellaneda & Stoikov (2008), section
//!   3.3, from the shipped scenario file `scenarios/reference/avellaneda_stoikov.yaml`
//!   (embedded at build time; `sim_eval reference avellaneda-stoikov --scenario FILE` runs
//!   another). Each row replaces the scenario's `strategy.gamma` and `strategy.variant`,
//!   as a file would, and runs it with [`crate::scenario::run_case`] and no knobs.
//! - [`glft`]: the optimal quotes of Guéant, Lehalle & Fernandez-Tapia (2013), exact (the
//!   linear ODE system) and the closed-form approximation far from the horizon.

use serde::Serialize;

use crate::config::{Overlay, Variant};
use crate::input::InputError;
use crate::scenario::{self, Case, Scenario, Source};
use crate::stats;

/// The shipped scenario file of the Avellaneda-Stoikov experiment.
pub const AS_SCENARIO: &str = include_str!("../../../scenarios/reference/avellaneda_stoikov.yaml");
/// How outputs name the shipped file.
pub const AS_SCENARIO_LABEL: &str = "scenarios/reference/avellaneda_stoikov.yaml";

/// One published row of Avellaneda & Stoikov (2008), table of section 3.3 (1000 paths).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PublishedRow {
    pub gamma: f64,
    pub variant: Variant,
    pub spread: f64,
    pub profit_mean: f64,
    pub profit_sd: f64,
    pub final_q_mean: f64,
    pub final_q_sd: f64,
}

/// Paths behind each published row.
pub const PUBLISHED_PATHS: u64 = 1000;

/// The paper's table, in its order (values from `references.md`).
pub const PUBLISHED: [PublishedRow; 6] = {
    const fn row(gamma: f64, variant: Variant, spread: f64, pm: f64, ps: f64, qm: f64, qs: f64) -> PublishedRow {
        PublishedRow { gamma, variant, spread, profit_mean: pm, profit_sd: ps, final_q_mean: qm, final_q_sd: qs }
    }
    [
        row(0.1, Variant::Inventory, 1.29, 62.94, 5.89, 0.10, 2.80),
        row(0.1, Variant::Symmetric, 1.29, 67.21, 13.43, -0.018, 8.66),
        row(0.01, Variant::Inventory, 1.33, 66.78, 8.76, -0.02, 4.70),
        row(0.01, Variant::Symmetric, 1.33, 67.36, 13.40, -0.31, 8.65),
        row(0.5, Variant::Inventory, 1.15, 33.92, 4.72, -0.02, 1.88),
        row(0.5, Variant::Symmetric, 1.15, 66.20, 14.53, 0.25, 9.06),
    ]
};

/// One row as simulated.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SimulatedRow {
    pub gamma: f64,
    pub variant: Variant,
    pub paths: u64,
    /// `(2/gamma) ln(1 + gamma/k)`: the paper's spread column (without the horizon term).
    pub spread: f64,
    /// The quoted spread averaged over the horizon, horizon term included:
    /// `(2/gamma) ln(1 + gamma/k) + gamma sigma^2 T / 2`.
    pub mean_quoted_spread: f64,
    pub profit_mean: f64,
    pub profit_sd: f64,
    pub final_q_mean: f64,
    pub final_q_sd: f64,
    pub kills: u64,
    pub published: PublishedRow,
    /// (simulated mean − published mean) / the published mean's standard error.
    pub profit_mean_z: f64,
    /// simulated sd / published sd − 1.
    pub profit_sd_rel: f64,
    pub final_q_sd_rel: f64,
}

/// The experiment's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AsReport {
    pub scenario: String,
    pub paths: u64,
    pub seed: u64,
    pub rows: Vec<SimulatedRow>,
}

/// Runs every published row over `paths` paths from `seed` (the same seeds for every
/// row: common random numbers). `scenario` is the experiment's scenario (see
/// [`load_as_scenario`]).
pub fn avellaneda_stoikov(scenario: &Scenario, label: &str, paths: u64, seed: u64) -> Result<AsReport, InputError> {
    let mut rows = Vec::with_capacity(PUBLISHED.len());
    for published in PUBLISHED {
        rows.push(run_row(scenario, label, &published, paths, seed)?);
    }
    Ok(AsReport { scenario: label.to_string(), paths, seed, rows })
}

/// The shipped scenario, or the file at `path`.
pub fn load_as_scenario(path: Option<&std::path::Path>) -> Result<(Scenario, String), InputError> {
    match path {
        None => Ok((scenario::parse(AS_SCENARIO, AS_SCENARIO_LABEL)?, AS_SCENARIO_LABEL.to_string())),
        Some(p) => {
            let label = p.display().to_string();
            Ok((scenario::load(p, &label)?.0, label))
        }
    }
}

/// One row: the scenario with the row's gamma and variant.
pub fn run_row(
    base: &Scenario,
    label: &str,
    published: &PublishedRow,
    paths: u64,
    seed: u64,
) -> Result<SimulatedRow, InputError> {
    let mut sc = base.clone();
    sc.setup.gamma = Some(published.gamma);
    sc.setup.variant = Some(published.variant);
    sc.seeds.base_seed = seed;
    sc.seeds.num_seeds = paths;
    let source = Source { file: Some(label.to_string()), sha256: None, entry_fields: Vec::new() };
    let case = Case::alone(sc, source);
    let run = scenario::run_case(&case, &Overlay::default(), 1)?;
    let cfg = &run.built.config;
    let k = cfg.market.venues[0].flow_k;
    let g = published.gamma;
    let spread = 2.0 / g * (g / k).ln_1p();
    // sigma^2 T in USD^2: per-tick variance of the price times the ticks.
    let sigma_tick_usd = cfg.market.vol * cfg.market.s0_usd * (cfg.tick_ms as f64 / 86_400_000.0).sqrt();
    let sigma2_t = sigma_tick_usd * sigma_tick_usd * cfg.ticks as f64;
    let pnl: Vec<f64> = run.runs.iter().map(|r| r.final_pnl).collect();
    let q: Vec<f64> = run.runs.iter().map(|r| r.final_q_tao).collect();
    let (pm, ps) = (stats::mean(&pnl), stats::sample_std(&pnl));
    let (qm, qs) = (stats::mean(&q), stats::sample_std(&q));
    let se = published.profit_sd / (PUBLISHED_PATHS as f64).sqrt();
    Ok(SimulatedRow {
        gamma: g,
        variant: published.variant,
        paths,
        spread,
        mean_quoted_spread: spread + g * sigma2_t / 2.0,
        profit_mean: pm,
        profit_sd: ps,
        final_q_mean: qm,
        final_q_sd: qs,
        kills: run.runs.iter().filter(|r| r.killed).count() as u64,
        published: *published,
        profit_mean_z: (pm - published.profit_mean) / se,
        profit_sd_rel: ps / published.profit_sd - 1.0,
        final_q_sd_rel: qs / published.final_q_sd - 1.0,
    })
}

fn variant_name(v: Variant) -> &'static str {
    match v {
        Variant::Inventory => "inventory",
        Variant::Symmetric => "symmetric",
    }
}

/// The table `sim_eval reference avellaneda-stoikov` prints: simulated beside published.
pub fn format_as_table(r: &AsReport) -> String {
    let mut out = format!(
        "Avellaneda & Stoikov (2008), section 3.3: {} paths from seed {} ({})\n",
        r.paths, r.seed, r.scenario
    );
    out.push_str(
        "gamma  strategy   spread  profit mean (paper)  z vs paper SE  profit sd (paper)  final q mean (paper)  final q sd (paper)\n",
    );
    for row in &r.rows {
        let p = &row.published;
        out.push_str(&format!(
            "{:<6} {:<10} {:>6.4}  {:>7.2} ({:>6.2})      {:>+6.2}        {:>6.2} ({:>5.2})     {:>+6.3} ({:>+6.3})       {:>5.2} ({:>5.2})\n",
            row.gamma,
            variant_name(row.variant),
            row.spread,
            row.profit_mean,
            p.profit_mean,
            row.profit_mean_z,
            row.profit_sd,
            p.profit_sd,
            row.final_q_mean,
            p.final_q_mean,
            row.final_q_sd,
            p.final_q_sd,
        ));
    }
    out.push_str(
        "spread = (2/gamma) ln(1 + gamma/k), the paper's column; the quotes also carry gamma sigma^2 (T - t).\n\
         The gamma = 0.5 inventory profit (33.92) is not reproduced by independent reimplementations either.\n",
    );
    out
}

/// Guéant, Lehalle & Fernandez-Tapia (2013): optimal bid and ask distances.
pub mod glft {
    /// Parameters: `sigma` (price units per sqrt(time)), `a` (arrivals per time at zero
    /// distance), `k` (per price unit), `gamma` (CARA risk aversion), inventory bound `q_max`.
    #[derive(Debug, Clone, Copy, PartialEq)]
    pub struct Params {
        pub sigma: f64,
        pub a: f64,
        pub k: f64,
        pub gamma: f64,
        pub q_max: i64,
    }

    impl Params {
        /// `(1/gamma) ln(1 + gamma/k)`.
        pub fn base(&self) -> f64 {
            (self.gamma / self.k).ln_1p() / self.gamma
        }

        /// `C = sqrt(sigma^2 gamma / (2 k A) (1 + gamma/k)^(1 + k/gamma))`.
        pub fn c(&self) -> f64 {
            let g = self.gamma / self.k;
            (self.sigma * self.sigma * self.gamma / (2.0 * self.k * self.a) * (1.0 + g).powf(1.0 + 1.0 / g)).sqrt()
        }

        /// The closed-form approximation far from the horizon: (bid, ask) distances at `q`.
        pub fn approx(&self, q: i64) -> (f64, f64) {
            let (b, c, q) = (self.base(), self.c(), q as f64);
            (b + (2.0 * q + 1.0) / 2.0 * c, b - (2.0 * q - 1.0) / 2.0 * c)
        }

        /// The exact quotes at time-to-horizon `tau` from the ODE system
        /// `dv_q/dt = alpha q^2 v_q - eta (v_{q-1} + v_{q+1})`, `v_q(T) = 1`, integrated
        /// backward with RK4 in `steps` steps (normalized each step: only ratios matter).
        /// Returns (bid, ask) distances for q in -q_max..=q_max (None where that side is
        /// not quoted: no bid at q_max, no ask at -q_max).
        pub fn exact(&self, tau: f64, steps: usize) -> Vec<(Option<f64>, Option<f64>)> {
            let n = (2 * self.q_max + 1) as usize;
            let alpha = self.k / 2.0 * self.gamma * self.sigma * self.sigma;
            let eta = self.a * (1.0 + self.gamma / self.k).powf(-(1.0 + self.k / self.gamma));
            let qv: Vec<f64> = (0..n).map(|i| (i as i64 - self.q_max) as f64).collect();
            // In time to horizon s = T - t: dv/ds = -alpha q^2 v + eta (v_{q-1} + v_{q+1}).
            let f = |v: &[f64]| -> Vec<f64> {
                (0..n)
                    .map(|i| {
                        let lo = if i > 0 { v[i - 1] } else { 0.0 };
                        let hi = if i + 1 < n { v[i + 1] } else { 0.0 };
                        -alpha * qv[i] * qv[i] * v[i] + eta * (lo + hi)
                    })
                    .collect()
            };
            let mut v = vec![1.0; n];
            let h = tau / steps as f64;
            let axpy = |x: &[f64], y: &[f64], c: f64| -> Vec<f64> { x.iter().zip(y).map(|(a, b)| a + c * b).collect() };
            for _ in 0..steps {
                let k1 = f(&v);
                let k2 = f(&axpy(&v, &k1, h / 2.0));
                let k3 = f(&axpy(&v, &k2, h / 2.0));
                let k4 = f(&axpy(&v, &k3, h));
                for i in 0..n {
                    v[i] += h / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]);
                }
                let m = v.iter().cloned().fold(0.0, f64::max);
                v.iter_mut().for_each(|x| *x /= m);
            }
            let base = self.base();
            (0..n)
                .map(|i| {
                    let bid = (i + 1 < n).then(|| (v[i] / v[i + 1]).ln() / self.k + base);
                    let ask = (i > 0).then(|| (v[i] / v[i - 1]).ln() / self.k + base);
                    (bid, ask)
                })
                .collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::glft::Params;
    use super::*;

    /// `references.md`: exact (RK4, Q = 30, t = 0, T = 600 s) and approximate quotes.
    /// sigma, A, k, gamma, q, exact bid, exact ask, approx bid, approx ask.
    type Row = (f64, f64, f64, f64, i64, f64, f64, f64, f64);
    const GLFT: [Row; 6] = [
        (0.4, 0.9, 0.3, 0.01, 0, 3.3245, 3.3245, 3.3242, 3.3242),
        (0.4, 0.9, 0.3, 0.01, 1, 3.4154, 3.2335, 3.4147, 3.2337),
        (0.4, 0.9, 0.3, 0.01, 3, 3.5972, 3.0516, 3.5957, 3.0528),
        (1.0, 0.2, 0.3, 0.01, 0, 3.5257, 3.5257, 3.5189, 3.5189),
        (1.0, 0.2, 0.3, 0.01, 1, 4.0175, 3.0323, 3.9988, 3.0390),
        (1.0, 0.2, 0.3, 0.01, 3, 4.9860, 2.0528, 4.9586, 2.0793),
    ];

    #[test]
    fn glft_closed_form_matches_the_reference_values() {
        for (sigma, a, k, gamma, q, _, _, ab, aa) in GLFT {
            let p = Params { sigma, a, k, gamma, q_max: 30 };
            let (b, s) = p.approx(q);
            assert!((b - ab).abs() < 1e-4 && (s - aa).abs() < 1e-4, "q={q}: {b} {s} vs {ab} {aa}");
            // For -q bid and ask swap.
            let (b2, s2) = p.approx(-q);
            assert!((b2 - s).abs() < 1e-12 && (s2 - b).abs() < 1e-12);
        }
    }

    #[test]
    fn glft_exact_quotes_match_the_reference_values() {
        for (sigma, a, k, gamma, q, eb, ea, _, _) in GLFT {
            let p = Params { sigma, a, k, gamma, q_max: 30 };
            let quotes = p.exact(600.0, 6000);
            let (b, s) = quotes[(q + 30) as usize];
            let (b, s) = (b.unwrap(), s.unwrap());
            assert!((b - eb).abs() < 2e-4 && (s - ea).abs() < 2e-4, "sigma={sigma} q={q}: {b} {s} vs {eb} {ea}");
            let (b2, s2) = quotes[(30 - q) as usize];
            assert!((b2.unwrap() - s).abs() < 1e-9 && (s2.unwrap() - b).abs() < 1e-9);
        }
        let p = Params { sigma: 0.4, a: 0.9, k: 0.3, gamma: 0.01, q_max: 30 };
        let quotes = p.exact(600.0, 600);
        assert!(quotes[60].0.is_none() && quotes[0].1.is_none());
    }

    #[test]
    fn the_published_spread_column_is_the_as_formula() {
        for row in PUBLISHED {
            let s = 2.0 / row.gamma * (row.gamma / 1.5f64).ln_1p();
            assert!((s - row.spread).abs() < 0.005, "{s} vs {}", row.spread);
        }
    }
}

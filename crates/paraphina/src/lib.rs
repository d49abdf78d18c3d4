//! paraphina: a deterministic Monte Carlo simulator of a perpetual-futures market maker.
//!
//! Layers, from the configuration up to the commands:
//! - [`config`]: risk profiles, the `PARAPHINA_*` knobs (names, descriptions, domains),
//!   market defaults, the effective configuration of a run;
//! - [`market`]: fair value ([`market::price`]), venues and their basis
//!   ([`market::venue`]), the fill model of order flow against our quotes
//!   ([`market::flow`]), taker execution ([`market::execution`]);
//! - [`strategy`]: volatility estimate, risk checks, quoting, hedging, the book;
//! - [`stress`]: timed shocks and random venue outages;
//! - [`sim`]: one run, the tick loop in the order of `simulator.md`, and its per-run
//!   metrics ([`sim::RunResult`]);
//! - [`mc`]: the Monte Carlo driver (runs in parallel, summary, output directory);
//! - [`scenario`]: scenario files (schema v1), suite entries resolved against them, their
//!   runs, invariants and output files;
//! - [`suite`]: suites of scenarios, the promotion gate of `sim_eval suite`;
//! - [`report`]: comparing suite results of a baseline and variants;
//! - [`calibration`]: the calibration targets of `simulator.md`, measured and checked.
//!
//! Shared by all of them: [`input`] (YAML and command lines read with one-line, located
//! errors), [`output`] (the tool version and the JSON forms of every output file),
//! [`evidence`] (evidence packs), [`stats`] (quantiles, tails, Wilson intervals) and
//! [`fastmath`] (the hot path's exponentials). The binaries `monte_carlo` and `sim_eval`
//! parse arguments and call these modules.

pub mod calibration;
pub mod config;
pub mod evidence;
pub mod fastmath;
pub mod input;
pub mod market;
pub mod mc;
pub mod output;
pub mod reference;
pub mod report;
pub mod scenario;
pub mod sim;
pub mod stats;
pub mod strategy;
pub mod stress;
pub mod suite;
pub mod trial;

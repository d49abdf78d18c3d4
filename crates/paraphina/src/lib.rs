//! paraphina: a deterministic Monte Carlo simulator of a perpetual-futures market maker.
//!
//! - [`config`]: risk profiles, the `PARAPHINA_*` knobs, market defaults, effective config;
//! - [`market`]: fair value, venues, order flow, taker execution;
//! - [`strategy`]: volatility estimate, risk, quoting, hedging, the book;
//! - [`stress`]: timed shocks and random outages;
//! - [`sim`]: one run (the tick loop);
//! - [`mc`]: the Monte Carlo driver, summary and outputs;
//! - [`stats`]: quantiles, tails, Wilson intervals;
//! - [`calibration`]: the calibration targets of `simulator.md`, measured and checked;
//! - [`evidence`]: evidence packs;
//! - [`input`]: reading YAML inputs with located one-line errors;
//! - [`scenario`]: scenario files (schema v1), their runs and invariants;
//! - [`suite`]: suites of scenarios, the promotion gate of `sim_eval suite`;
//! - [`report`]: comparing suite results of a baseline and variants.

pub mod calibration;
pub mod config;
pub mod evidence;
pub mod fastmath;
pub mod input;
pub mod market;
pub mod mc;
pub mod output;
pub mod report;
pub mod scenario;
pub mod sim;
pub mod stats;
pub mod strategy;
pub mod stress;
pub mod suite;

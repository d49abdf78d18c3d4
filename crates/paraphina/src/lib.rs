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
//! - [`evidence`]: evidence packs.

pub mod calibration;
pub mod config;
pub mod evidence;
pub mod fastmath;
pub mod market;
pub mod mc;
pub mod sim;
pub mod stats;
pub mod strategy;
pub mod stress;

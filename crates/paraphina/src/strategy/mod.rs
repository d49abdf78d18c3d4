//! The market-making strategy: volatility estimate, risk checks, quoting, hedging and the
//! book, each in its own file. `crate::sim` calls them in the order of `simulator.md`.

pub mod hedging;
pub mod position;
pub mod quoting;
pub mod risk;
pub mod vol;

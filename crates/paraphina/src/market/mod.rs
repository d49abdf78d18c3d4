//! The market: fair value, venues and their basis, order flow against our quotes, and
//! taker execution. Each model is a small type in its own file so a scenario can swap
//! or stress it, and the run loop (`crate::sim`) reads like `simulator.md`.

pub mod execution;
pub mod flow;
pub mod price;
pub mod venue;

/// Number of venues of the model (`extended`, `hyperliquid`, `aster`, `lighter`,
/// `paradex`). Fixed at compile time so the per-venue loops of the hot path unroll.
pub const N_VENUES: usize = 5;

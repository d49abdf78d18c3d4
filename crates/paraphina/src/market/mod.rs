//! The market: fair value ([`price`]), venues and their basis ([`venue`]), the fill
//! model of order flow against our quotes ([`flow`]), and taker execution
//! ([`execution`]). Each model is a small type in its own file so a scenario can swap
//! or stress it, and the run loop (`crate::sim`) reads like `simulator.md`.

pub mod execution;
pub mod flow;
pub mod price;
pub mod venue;

/// Number of venues of the model (`extended`, `hyperliquid`, `aster`, `lighter`,
/// `paradex`). Fixed at compile time so the per-venue loops of the hot path unroll.
pub const N_VENUES: usize = 5;

/// One value per venue, in venue order, written out rather than looped: a loop around
/// random draws ends with a branch the predictor keeps missing.
#[inline(always)]
pub(crate) fn per_venue<T>(mut f: impl FnMut() -> T) -> [T; N_VENUES] {
    [f(), f(), f(), f(), f()]
}

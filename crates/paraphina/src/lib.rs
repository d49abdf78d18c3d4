//! paraphina: a deterministic Monte Carlo simulator of a perpetual-futures market maker.

pub mod evidence;

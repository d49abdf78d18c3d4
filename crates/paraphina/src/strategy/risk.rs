//! Risk checks: the kill switch and the warning regime.

use serde::{Deserialize, Serialize};

use crate::config::StrategyParams;

/// Why the kill switch fired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum KillReason {
    PnlHardBreach,
    InventoryHardBreach,
    DeltaHardBreach,
}

/// Checks the hard limits at mark `fair`, in the order PnL, inventory, delta.
#[inline]
pub fn kill_check(p: &StrategyParams, equity: f64, q: f64, fair: f64) -> Option<KillReason> {
    if equity <= -p.daily_loss_limit_usd {
        Some(KillReason::PnlHardBreach)
    } else if q.abs() >= p.hard_limit_tao {
        Some(KillReason::InventoryHardBreach)
    } else if (q * fair).abs() >= p.delta_limit_usd {
        Some(KillReason::DeltaHardBreach)
    } else {
        None
    }
}

/// True beyond the warning fraction of the hard inventory limit.
#[inline]
pub fn in_warning(p: &StrategyParams, q: f64) -> bool {
    q.abs() > p.warn_frac * p.hard_limit_tao
}

//! Scenarios: a market, a horizon, seeds and the invariants a strategy configuration must
//! keep there. Read from YAML (schema v1), run over every seed, judged per seed.
//!
//! # Schema v1
//!
//! ```yaml
//! schema_version: 1                 # required, 1
//! id: vol_spike                     # required; letters, digits, _ . -; names the output directory
//! description: "..."                # optional
//! horizon: {steps: 300, dt_seconds: 60}      # ticks, and the length of one (whole milliseconds)
//! seeds: {base_seed: 1000, num_seeds: 4}     # seed i is base_seed + i (as monte_carlo)
//! initial_state:                    # optional, and each field in it
//!   profile: balanced               # -> PARAPHINA_RISK_PROFILE (lowest priority, see below)
//!   inventory_tao: 10               # -> PARAPHINA_INIT_Q_TAO
//! market:
//!   process: jump_diffusion         # gbm (no jumps: leave out the jump fields) | jump_diffusion
//!   s0_usd: 250                     # optional (model default 250)
//!   vol: 0.06                       # daily volatility of log fair value, >= 0
//!   drift: 0.0                      # daily drift
//!   jump_intensity: 3               # jump_diffusion only, > 0: jumps per day
//!   jump_sigma: 0.08                # jump_diffusion only, > 0: sd of the log jump
//! microstructure:                   # optional, and each field in it; applies to every venue
//!   maker_fee_bps: 2                # [0, 100]
//!   taker_fee_bps: 5                # [0, 100]
//!   latency_ms: 150                 # >= 0
//!   spread_multiplier: 1.5          # market half-spreads x m, > 0
//!   depth_multiplier: 0.5           # top-of-book depth x m, > 0
//! shocks:                           # optional; each inside the horizon
//!   - {type: vol_spike, start_tick: 100, duration_ticks: 30, multiplier: 3}
//!   - {type: spread_shock, start_tick: 0, duration_ticks: 60, multiplier: 4}
//!   - {type: depth_shock, start_tick: 0, duration_ticks: 60, factor: 0.2}
//!   - {type: venue_outage, start_tick: 50, duration_ticks: 40, venue: hyperliquid}   # venue optional: all
//!   - {type: basis_spike, start_tick: 50, duration_ticks: 40, usd: 1.5, venue: aster} # venue optional: all
//! invariants:                       # optional; every check is per seed
//!   expect_kill_switch: never       # never | always | allowed (default)
//!   min_final_pnl_usd: -300         # final PnL >= this
//!   max_drawdown_usd: 800           # max drawdown <= this
//!   max_loss_overshoot: 0.25        # final PnL >= -daily_loss_limit x (1 + this)
//! ```
//!
//! Every key is checked: an unknown key, a wrong type or a value out of its domain is an
//! error `file:line:col: key: problem` ([`crate::input`]), as is a shock field its type
//! does not take, a jump field on a `gbm` market, a shock outside the horizon or an
//! unknown venue.
//!
//! # Configuration of a run
//! Strategy knobs come from `PARAPHINA_*` overlays, highest priority first: a suite
//! entry's `env_overrides`, the candidate's overlay (the process environment), the
//! scenario's `initial_state`, then the profile defaults ([`OverlayLayers::effective`]).
//! The market starts from the model defaults ([`crate::config::MarketParams`]); the
//! scenario's market and microstructure replace or scale them, then a suite entry's
//! adversarial parameters ([`Adversarial`]).

mod build;
mod entry;
mod eval;
mod invariants;
mod output;
mod resolve;
mod schema;

use std::path::Path;

pub use build::{Adversarial, Built, OverlayLayers, build};
pub use entry::resolve_entry;
pub use eval::{
    Case, CaseRun, Determinism, Mismatch, Source, compare_repeat, differing_fields, run_case,
};
pub use invariants::{Failure, Invariants, Verdict, evaluate};
pub use output::{
    Layout, OUTPUT_SCHEMA_VERSION, RunLine, SCENARIO_SUMMARY_FILE, ScenarioSummary, SeedRecord,
    prepare_output_dir, seed_file_name, write_run_outputs, write_seed_files,
};
pub use resolve::{
    Horizon, InitialState, Jumps, Market, Microstructure, PlacedShock, SCHEMA_VERSION, Scenario,
    Seeds, Setup,
};
pub use schema::VolatilitySource;
pub use schema::{AdversarialDoc, EntryDoc, InvariantsDoc, KillExpectation, Process, ScenarioDoc};

pub(crate) use resolve::invariants as invariants_of;

use crate::evidence::sha256_bytes;
use crate::input::{InputError, read_yaml};

/// Reads and checks a scenario file; `label` is how errors name it (the path as the user
/// wrote it). Returns the scenario and the SHA-256 of the file.
pub fn load(path: &Path, label: &str) -> Result<(Scenario, String), InputError> {
    let (doc, text): (ScenarioDoc, String) = read_yaml(path, label)?;
    Ok((
        Scenario::from_doc(doc, label)?,
        sha256_bytes(text.as_bytes()),
    ))
}

/// Parses and checks a scenario from text (tests, tools).
pub fn parse(text: &str, label: &str) -> Result<Scenario, InputError> {
    Scenario::from_doc(crate::input::parse_yaml(text, label)?, label)
}

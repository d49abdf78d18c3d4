//! A suite entry resolved against its scenario file: the rules of the suite schema
//! ([`crate::suite`]) for what an entry may give and what it replaces. With `path`, the
//! file is read and checked first and every top-level field of the entry replaces the
//! file's (a section whole); without, the entry is the whole scenario. Errors name the
//! suite file, the entry and the key.

use std::path::Path;

use super::build::Adversarial;
use super::eval::{Case, Source};
use super::invariants::Invariants;
use super::resolve::{
    InitialState, Scenario, Seeds, horizon, initial_state, invariants as invariants_of, market,
    microstructure, seeds, set_knob, shocks,
};
use super::schema::EntryDoc;
use crate::config::{Knob, Overlay};
use crate::input::{InputError, Place};

/// The names of the fields an entry gives besides `path`, for the record.
fn given_fields(e: &EntryDoc) -> Vec<String> {
    let fields = [
        ("id", e.id.is_some()),
        ("description", e.description.is_some()),
        ("seed", e.seed.is_some()),
        ("profile", e.profile.is_some()),
        ("env_overrides", e.env_overrides.is_some()),
        ("adversarial_params", e.adversarial_params.is_some()),
        ("horizon", e.horizon.is_some()),
        ("seeds", e.seeds.is_some()),
        ("initial_state", e.initial_state.is_some()),
        ("market", e.market.is_some()),
        ("microstructure", e.microstructure.is_some()),
        ("shocks", e.shocks.is_some()),
        ("invariants", e.invariants.is_some()),
    ];
    fields
        .iter()
        .filter(|(_, given)| *given)
        .map(|(name, _)| name.to_string())
        .collect()
}

/// Resolves suite entry `e` (at `place` of the suite file; scenario paths relative to
/// `base_dir`) into a case, with the suite's invariants folded into its own.
pub fn resolve_entry(
    e: &EntryDoc,
    place: &Place,
    base_dir: &Path,
    suite_invariants: &Invariants,
) -> Result<Case, InputError> {
    let file = place.file.as_str();
    let child = |v_ref: serde_saphyr::Location, key: &str| {
        Place::new(file, v_ref, format!("{}.{key}", place.key))
    };

    let (base, source) = match &e.path {
        Some(p) => {
            let resolved = base_dir.join(&p.value);
            let scenario_label = resolved.display().to_string();
            if !resolved.is_file() {
                let why = if resolved.exists() {
                    "not a regular file"
                } else {
                    "no such file"
                };
                return Err(child(p.referenced, "path").error(format!(
                    "cannot read scenario file {scenario_label}: {why} (paths are relative to the suite file's directory)"
                )));
            }
            let (s, sha) = super::load(&resolved, &scenario_label)?;
            let source = Source {
                file: Some(p.value.clone()),
                sha256: Some(sha),
                entry_fields: given_fields(e),
            };
            (Some(s), source)
        }
        None => (
            None,
            Source {
                file: None,
                sha256: None,
                entry_fields: given_fields(e),
            },
        ),
    };
    let need = |what: &str| {
        place.error(format!(
            "an inline scenario (no `path`) needs `{what}`; give it, or a `path:` to a scenario file to start from"
        ))
    };

    let id = match (&e.id, &base) {
        (Some(id), _) => id.clone(),
        (None, Some(b)) => b.id.clone(),
        (None, None) => return Err(need("id")),
    };
    let horizon = match (&e.horizon, &base) {
        (Some(h), _) => horizon(&h.value),
        (None, Some(b)) => b.horizon,
        (None, None) => return Err(need("horizon")),
    };
    let mut seeds = match (&e.seeds, &base) {
        (Some(s), _) => seeds(s),
        (None, Some(b)) => b.seeds,
        (None, None) if e.seed.is_some() => Seeds {
            base_seed: 0,
            num_seeds: 1,
        },
        (None, None) => return Err(need("seeds` (or `seed")),
    };
    if let Some(seed) = &e.seed {
        if e.seeds.is_some() {
            return Err(child(seed.referenced, "seed")
                .error("give `seed` or `seeds`, not both (`seed` sets seeds.base_seed)"));
        }
        seeds.base_seed = seed.value.get();
    }
    let mut initial_state = match (&e.initial_state, &base) {
        (Some(s), _) => initial_state(s, &child(s.referenced, "initial_state"))?,
        (None, Some(b)) => b.initial_state.clone(),
        (None, None) => InitialState::default(),
    };
    if let Some(p) = &e.profile {
        if e.initial_state
            .as_ref()
            .is_some_and(|s| s.value.profile.is_some())
        {
            return Err(child(p.referenced, "profile")
                .error("give `profile` or `initial_state.profile`, not both (`profile` sets initial_state.profile)"));
        }
        set_knob(
            &mut initial_state.overlay,
            Knob::RiskProfile,
            &p.value,
            &child(p.referenced, "profile"),
        )?;
    }
    let market = match (&e.market, &base) {
        (Some(m), _) => market(m, &child(m.referenced, "market"))?,
        (None, Some(b)) => b.market,
        (None, None) => return Err(need("market")),
    };
    let microstructure = match (&e.microstructure, &base) {
        (Some(m), _) => microstructure(m),
        (None, Some(b)) => b.microstructure,
        (None, None) => Default::default(),
    };
    // Venues, flow rules and strategy settings come from the scenario file only.
    let setup = base.as_ref().map(|b| b.setup.clone()).unwrap_or_default();
    let shocks = match (&e.shocks, &base) {
        (Some(s), _) => shocks(s, file, &format!("{}.shocks", place.key), &setup)?,
        (None, Some(b)) => b.shocks.clone(),
        (None, None) => Vec::new(),
    };
    let invariants = match (&e.invariants, &base) {
        (Some(i), _) => invariants_of(i, &child(i.referenced, "invariants")),
        (None, Some(b)) => b.invariants.clone(),
        (None, None) => Invariants::default(),
    };
    let scenario = Scenario {
        id,
        description: e
            .description
            .clone()
            .or_else(|| base.as_ref().and_then(|b| b.description.clone())),
        horizon,
        seeds,
        initial_state,
        market,
        microstructure,
        setup,
        shocks,
        invariants,
    };
    scenario.check_shocks_in_horizon()?;

    let mut env_overrides = Overlay::default();
    for (name, value) in e.env_overrides.iter().flatten() {
        env_overrides
            .set(name, &value.value)
            .map_err(|err| child(value.referenced, &format!("env_overrides.{name}")).error(err))?;
    }
    let adversarial = e
        .adversarial_params
        .as_ref()
        .map(Adversarial::from_doc)
        .unwrap_or_default();
    let invariants = scenario.invariants.stricter(suite_invariants)?;
    Ok(Case {
        scenario,
        env_overrides,
        adversarial,
        invariants,
        source,
    })
}


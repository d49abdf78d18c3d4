//! From the parsed sections to a checked [`Scenario`]: the checks that involve more than
//! one field, each error naming the file, the place and the key.

use serde::Serialize;
use serde_saphyr::Spanned;

use super::invariants::Invariants;
use super::schema::{
    FlowDoc, HorizonDoc, InitialStateDoc, InvariantsDoc, KillExpectation, MarketDoc, MicrostructureDoc,
    Process, ScenarioDoc, SeedsDoc, ShockDoc, ShockType, StrategyDoc, VenueDoc, VolatilitySource,
};
use crate::config::{
    ArrivalMid, ArrivalProbability, FillSize, Knob, MAX_VENUES, MarketParams, Overlay, VenueParams, Variant,
};
use crate::input::{Ident, InputError, NonNegative, Place};
use crate::stress::{Shock, ShockKind};

/// Schema version of scenario files this build reads.
pub const SCHEMA_VERSION: u32 = 1;

/// A checked scenario: everything a run of it needs besides the candidate's overlay.
#[derive(Debug, Clone, Serialize)]
pub struct Scenario {
    pub id: Ident,
    pub description: Option<String>,
    pub horizon: Horizon,
    pub seeds: Seeds,
    pub initial_state: InitialState,
    pub market: Market,
    pub microstructure: Microstructure,
    /// The venues, flow rules and strategy settings the file gives (written into the
    /// outputs only when it gives any).
    #[serde(skip_serializing_if = "Setup::is_default")]
    pub setup: Setup,
    pub shocks: Vec<PlacedShock>,
    pub invariants: Invariants,
}

/// What a scenario sets of the market's venues, the fill model's rules and the strategy
/// beyond the knobs. `None` keeps the model's or the profile's value.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Setup {
    /// The venues, 1 to [`MAX_VENUES`], complete (each from the model's venue at its
    /// position with the file's keys applied).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub venues: Option<Vec<VenueParams>>,
    pub informed: Option<bool>,
    pub arrival_probability: Option<ArrivalProbability>,
    pub arrival_mid: Option<ArrivalMid>,
    pub fill_size: Option<FillSize>,
    pub variant: Option<Variant>,
    pub gamma: Option<f64>,
    pub horizon_term: Option<bool>,
    pub hedging: Option<bool>,
    pub volatility: Option<VolatilitySource>,
    pub min_edge_usd: Option<f64>,
    pub min_quote_distance_usd: Option<f64>,
    pub quote_size_tao: Option<f64>,
}

impl Setup {
    pub fn is_default(&self) -> bool {
        *self == Setup::default()
    }
}

/// The `venues`, `flow` and `strategy` sections of a scenario file.
pub(crate) fn setup(
    venues: Option<&Spanned<Vec<Spanned<VenueDoc>>>>,
    flow: Option<&FlowDoc>,
    strategy: Option<&Spanned<StrategyDoc>>,
    file: &str,
) -> Result<Setup, InputError> {
    let mut out = Setup::default();
    if let Some(list) = venues {
        let place = place_of(file, list, "venues");
        let n = list.value.len();
        if n == 0 || n > MAX_VENUES {
            return Err(place.error(format!("{n} venues given; accepted 1 to {MAX_VENUES}")));
        }
        let defaults = MarketParams::default().venues;
        let mut resolved: Vec<VenueParams> = Vec::with_capacity(n);
        for (i, doc) in list.value.iter().enumerate() {
            let d = &doc.value;
            let name = d.name.value.trim().to_string();
            if name.is_empty() || resolved.iter().any(|v| v.name == name) {
                return Err(place_of(file, &d.name, &format!("venues[{i}].name")).error(format!(
                    "{:?} given; expected a non-empty name no other venue has",
                    d.name.value
                )));
            }
            let mut v = defaults[i].clone();
            v.name = name;
            let set = |slot: &mut f64, x: Option<f64>| {
                if let Some(x) = x {
                    *slot = x;
                }
            };
            set(&mut v.flow_a, d.arrival_a_per_tick.map(|x| x.get()));
            set(&mut v.flow_k, d.arrival_k_per_usd.map(|x| x.get()));
            set(&mut v.maker_fee_bps, d.maker_fee_bps.map(|x| x.get()));
            set(&mut v.taker_fee_bps, d.taker_fee_bps.map(|x| x.get()));
            set(&mut v.half_spread_usd, d.half_spread_usd.map(|x| x.get()));
            set(&mut v.depth_tao, d.depth_tao.map(|x| x.get()));
            set(&mut v.basis_mean_usd, d.basis_mean_usd.map(|x| x.get()));
            set(&mut v.latency_ms, d.latency_ms.map(|x| x.get()));
            set(&mut v.tick_size_usd, d.tick_size_usd.map(|x| x.get()));
            resolved.push(v);
        }
        out.venues = Some(resolved);
    }
    if let Some(f) = flow {
        out.informed = f.informed;
        out.arrival_probability = f.arrival_probability;
        out.arrival_mid = f.arrival_mid;
        out.fill_size = f.fill_size;
    }
    if let Some(st) = strategy {
        let st = &st.value;
        out.variant = st.variant;
        out.gamma = st.gamma.map(|x| x.get());
        out.horizon_term = st.horizon_term;
        out.hedging = st.hedging;
        out.volatility = st.volatility;
        out.min_edge_usd = st.min_edge_usd.map(|x| x.get());
        out.min_quote_distance_usd = st.min_quote_distance_usd.map(|x| x.get());
        out.quote_size_tao = st.quote_size_tao.map(|x| x.get());
    }
    Ok(out)
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Horizon {
    pub steps: u64,
    pub dt_seconds: f64,
    /// `dt_seconds` in the simulator's unit.
    pub tick_ms: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Seeds {
    /// Seed of the first run; run `i` uses `base_seed + i` (wrapping), as `monte_carlo`.
    pub base_seed: u64,
    pub num_seeds: u64,
}

/// The scenario's own starting state, as the lowest-priority `PARAPHINA_*` overlay.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(transparent)]
pub struct InitialState {
    /// `PARAPHINA_RISK_PROFILE` and/or `PARAPHINA_INIT_Q_TAO`, as given.
    #[serde(serialize_with = "raw_overlay")]
    pub overlay: Overlay,
}

pub(crate) fn raw_overlay<S: serde::Serializer>(o: &Overlay, s: S) -> Result<S::Ok, S::Error> {
    o.raw().serialize(s)
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Jumps {
    /// Expected jumps per day.
    pub intensity: f64,
    /// Standard deviation of the log jump size.
    pub sigma: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Market {
    pub process: Process,
    pub s0_usd: Option<f64>,
    pub vol: f64,
    pub drift: f64,
    /// None for `gbm`.
    pub jumps: Option<Jumps>,
    /// The basis noise (USD per tick), when the file sets it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub basis_sigma_usd: Option<f64>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Microstructure {
    pub maker_fee_bps: Option<f64>,
    pub taker_fee_bps: Option<f64>,
    pub latency_ms: Option<f64>,
    pub spread_multiplier: Option<f64>,
    pub depth_multiplier: Option<f64>,
}

/// A shock and where it was written, so a later check (the horizon may come from a suite
/// entry) can still point at it.
#[derive(Debug, Clone, Serialize)]
#[serde(transparent)]
pub struct PlacedShock {
    pub shock: Shock,
    #[serde(skip)]
    pub place: Place,
}

fn place_of<T>(file: &str, v: &Spanned<T>, key: &str) -> Place {
    Place::new(file, v.referenced, key)
}

impl Scenario {
    /// Checks a parsed scenario file; `file` is how errors name it.
    pub fn from_doc(doc: ScenarioDoc, file: &str) -> Result<Scenario, InputError> {
        if doc.schema_version.value != SCHEMA_VERSION {
            return Err(
                place_of(file, &doc.schema_version, "schema_version").error(format!(
                    "{} given; this build reads scenario schema version {SCHEMA_VERSION}",
                    doc.schema_version.value
                )),
            );
        }
        let setup = setup(doc.venues.as_ref(), doc.flow.as_ref(), doc.strategy.as_ref(), file)?;
        let shocks = shocks(doc.shocks.as_deref().unwrap_or_default(), file, "shocks", &setup)?;
        let scenario = Scenario {
            id: doc.id,
            description: doc.description,
            horizon: horizon(&doc.horizon.value),
            seeds: seeds(&doc.seeds),
            initial_state: match &doc.initial_state {
                Some(s) => initial_state(s, &place_of(file, s, "initial_state"))?,
                None => InitialState::default(),
            },
            market: market(&doc.market, &place_of(file, &doc.market, "market"))?,
            microstructure: doc
                .microstructure
                .as_ref()
                .map(microstructure)
                .unwrap_or_default(),
            setup,
            shocks,
            invariants: match &doc.invariants {
                Some(i) => invariants(i, &place_of(file, i, "invariants")),
                None => Invariants::default(),
            },
        };
        scenario.check_shocks_in_horizon()?;
        Ok(scenario)
    }

    /// Every shock must start and end inside the horizon: a shock past the end would be
    /// parsed and then have no effect.
    pub fn check_shocks_in_horizon(&self) -> Result<(), InputError> {
        let steps = self.horizon.steps;
        for s in &self.shocks {
            let (start, len) = (s.shock.start_tick, s.shock.duration_ticks);
            if start >= steps || start.saturating_add(len) > steps {
                return Err(s.place.error(format!(
                    "start_tick {start} + duration_ticks {len} ends at tick {}, outside the horizon of {steps} steps; \
                     expected start_tick + duration_ticks <= {steps}",
                    start.saturating_add(len)
                )));
            }
        }
        Ok(())
    }
}

pub(crate) fn horizon(h: &HorizonDoc) -> Horizon {
    let dt = h.dt_seconds.get();
    Horizon {
        steps: h.steps.get(),
        dt_seconds: dt,
        tick_ms: (dt * 1000.0).round() as u64,
    }
}

pub(crate) fn seeds(s: &SeedsDoc) -> Seeds {
    Seeds {
        base_seed: s.base_seed.get(),
        num_seeds: s.num_seeds.get(),
    }
}

/// Sets one knob of `overlay` from a scenario value, the error naming the YAML place.
pub(crate) fn set_knob(
    overlay: &mut Overlay,
    knob: Knob,
    raw: &str,
    place: &Place,
) -> Result<(), InputError> {
    overlay
        .set(knob.var_name(), raw)
        .map_err(|e| place.error(e))
}

pub(crate) fn initial_state(
    doc: &Spanned<InitialStateDoc>,
    place: &Place,
) -> Result<InitialState, InputError> {
    let mut overlay = Overlay::default();
    if let Some(p) = &doc.value.profile {
        set_knob(
            &mut overlay,
            Knob::RiskProfile,
            &p.value,
            &place.at(p.referenced, "profile"),
        )?;
    }
    if let Some(q) = &doc.value.inventory_tao {
        let raw = q.value.get().to_string();
        set_knob(
            &mut overlay,
            Knob::InitQTao,
            &raw,
            &place.at(q.referenced, "inventory_tao"),
        )?;
    }
    Ok(InitialState { overlay })
}

pub(crate) fn market(doc: &Spanned<MarketDoc>, place: &Place) -> Result<Market, InputError> {
    let m = &doc.value;
    let fields = [
        (&m.jump_intensity, "jump_intensity"),
        (&m.jump_sigma, "jump_sigma"),
    ];
    let jumps = match m.process {
        Process::Gbm | Process::BinomialWalk => {
            // A jump field on gbm would be parsed and ignored: refuse it.
            if let Some((Some(j), key)) = fields.iter().find(|(f, _)| f.is_some()) {
                return Err(place.at(j.referenced, key).error(
                    "processes gbm and binomial_walk have no jumps; remove the jump fields or use process: jump_diffusion",
                ));
            }
            None
        }
        Process::JumpDiffusion => {
            let [intensity, sigma] = fields.map(|(f, key)| jump_param(f, key, place));
            Some(Jumps {
                intensity: intensity?,
                sigma: sigma?,
            })
        }
    };
    Ok(Market {
        process: m.process,
        s0_usd: m.s0_usd.map(|s| s.get()),
        vol: m.vol.get(),
        drift: m.drift.get(),
        jumps,
        basis_sigma_usd: m.basis_sigma_usd.map(|v| v.get()),
    })
}

/// A jump parameter of a jump_diffusion market: present and > 0 (a jump process
/// without jumps is gbm, and should say so).
fn jump_param(
    v: &Option<Spanned<NonNegative>>,
    key: &str,
    place: &Place,
) -> Result<f64, InputError> {
    match v {
        Some(j) if j.value.get() > 0.0 => Ok(j.value.get()),
        Some(j) => Err(place.at(j.referenced, key).error(format!(
            "{} given; process jump_diffusion needs a finite number > 0 (without jumps use process: gbm)",
            j.value.get()
        ))),
        None => Err(place.error(format!(
            "process jump_diffusion needs `{key}` (a finite number > 0)"
        ))),
    }
}

pub(crate) fn microstructure(m: &MicrostructureDoc) -> Microstructure {
    Microstructure {
        maker_fee_bps: m.maker_fee_bps.map(|v| v.get()),
        taker_fee_bps: m.taker_fee_bps.map(|v| v.get()),
        latency_ms: m.latency_ms.map(|v| v.get()),
        spread_multiplier: m.spread_multiplier.map(|v| v.get()),
        depth_multiplier: m.depth_multiplier.map(|v| v.get()),
    }
}

/// The venue names a shock may name: the scenario's venues, else the model's.
fn venue_names(setup: &Setup) -> Vec<String> {
    setup
        .venues
        .clone()
        .unwrap_or_else(|| MarketParams::default().venues)
        .into_iter()
        .map(|v| v.name)
        .collect()
}

pub(crate) fn shocks(
    docs: &[Spanned<ShockDoc>],
    file: &str,
    key: &str,
    setup: &Setup,
) -> Result<Vec<PlacedShock>, InputError> {
    let venues = venue_names(setup);
    let mut out = Vec::with_capacity(docs.len());
    for (i, doc) in docs.iter().enumerate() {
        let place = place_of(file, doc, &format!("{key}[{i}]"));
        let s = &doc.value;
        let type_name = match s.kind {
            ShockType::VolSpike => "vol_spike",
            ShockType::SpreadShock => "spread_shock",
            ShockType::DepthShock => "depth_shock",
            ShockType::VenueOutage => "venue_outage",
            ShockType::BasisSpike => "basis_spike",
        };
        // Which of the optional fields this type takes; any other is an error, not ignored.
        let takes: &[&str] = match s.kind {
            ShockType::VolSpike | ShockType::SpreadShock => &["multiplier"],
            ShockType::DepthShock => &["factor"],
            ShockType::VenueOutage => &["venue"],
            ShockType::BasisSpike => &["venue", "usd"],
        };
        let given = [
            ("multiplier", s.multiplier.is_some()),
            ("factor", s.factor.is_some()),
            ("venue", s.venue.is_some()),
            ("usd", s.usd.is_some()),
        ];
        for (field, present) in given {
            if present && !takes.contains(&field) {
                return Err(place.child(field).error(format!(
                    "a {type_name} shock has no `{field}`; it takes start_tick, duration_ticks, {}",
                    takes.join(", ")
                )));
            }
        }
        let required = |present: bool, field: &str| {
            if present {
                Ok(())
            } else {
                Err(place.error(format!("a {type_name} shock needs `{field}`")))
            }
        };
        let venue = match &s.venue {
            None => None,
            Some(v) if venues.contains(&v.value) => Some(v.value.clone()),
            Some(v) => {
                return Err(place.at(v.referenced, "venue").error(format!(
                    "unknown venue {:?}; known venues: {} (or leave `venue` out for all of them)",
                    v.value,
                    venues.join(", ")
                )));
            }
        };
        let kind = match s.kind {
            ShockType::VolSpike => {
                required(s.multiplier.is_some(), "multiplier")?;
                ShockKind::VolSpike {
                    multiplier: s.multiplier.map_or(1.0, |m| m.get()),
                }
            }
            ShockType::SpreadShock => {
                required(s.multiplier.is_some(), "multiplier")?;
                ShockKind::SpreadShock {
                    multiplier: s.multiplier.map_or(1.0, |m| m.get()),
                }
            }
            ShockType::DepthShock => {
                required(s.factor.is_some(), "factor")?;
                ShockKind::DepthShock {
                    factor: s.factor.map_or(1.0, |m| m.get()),
                }
            }
            ShockType::VenueOutage => ShockKind::VenueOutage { venue },
            ShockType::BasisSpike => {
                required(s.usd.is_some(), "usd")?;
                ShockKind::BasisSpike {
                    venue,
                    usd: s.usd.map_or(0.0, |u| u.get()),
                }
            }
        };
        let shock = Shock {
            start_tick: s.start_tick.value.get(),
            duration_ticks: s.duration_ticks.get(),
            kind,
        };
        out.push(PlacedShock {
            shock,
            place: place.at(s.start_tick.referenced, ""),
        });
    }
    Ok(out)
}

pub(crate) fn invariants(doc: &Spanned<InvariantsDoc>, place: &Place) -> Invariants {
    let i = &doc.value;
    Invariants {
        expect_kill_switch: i.expect_kill_switch.unwrap_or(KillExpectation::Allowed),
        min_final_pnl_usd: i.min_final_pnl_usd.map(|v| v.get()),
        max_drawdown_usd: i.max_drawdown_usd.map(|v| v.get()),
        max_loss_overshoot: i.max_loss_overshoot.map(|v| v.get()),
        kill_place: i
            .expect_kill_switch
            .map(|_| place.child("expect_kill_switch")),
    }
}

//! Scenario files: what `crm-bench run` does, in TOML. Parsing rejects unknown keys (naming
//! the key, its line and the keys allowed there); [`Scenario::validate`] then checks what
//! the types cannot (known operations and services, positive rates, times that fit) and
//! names the offending key by its path and line (`line 40: experiment[2].target: ...`).
//!
//! The format is documented by example in `scenarios/README.md` and the shipped scenarios.

mod budget;
mod experiment;
pub(crate) mod lines;
mod problems;
mod validate;

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::seed::{SeedPath, Size};
use crate::topology::{Arch, RuntimeKind};

pub use budget::{BudgetSpec, processes_in_budget};
pub use experiment::{
    Action, ConsistencySpec, DeployMode, DeploySpec, ExperimentSpec, FaultSpec, JourneysSpec,
    NoisySpec, ResourcesSpec, ScaleSpec, Step, StepsSpec, SweepSearch, SweepSpec,
};

/// A whole scenario file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Architectures to run, in order.
    #[serde(default = "both")]
    pub architectures: Vec<Arch>,
    #[serde(default = "process")]
    pub runtime: RuntimeKind,
    /// Every measured load run is repeated this many times (for `compare`'s confidence
    /// intervals); 1 = once.
    #[serde(default = "one")]
    pub repeats: u32,
    #[serde(default)]
    pub data: Data,
    #[serde(default)]
    pub cpus: Cpus,
    #[serde(default)]
    pub slo: Slo,
    #[serde(default)]
    pub load: Load,
    /// Operation name → weight. Empty: the default mix ([`default_mix`]).
    #[serde(default)]
    pub mix: BTreeMap<String, f64>,
    /// The experiments, in order, run on each architecture.
    #[serde(default, rename = "experiment")]
    pub experiments: Vec<ExperimentSpec>,
    /// Traces every open-loop run and adds the per-hop breakdown to the report; absent:
    /// tracing off (no exporter in the CRM, no `traceparent` from the load generator).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracing: Option<Tracing>,
}

/// `[tracing]`: see the README's "Where the time goes".
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tracing {
    /// Share of the load generator's requests that are traced, in (0, 1].
    #[serde(default = "default_sample_ratio")]
    pub sample_ratio: f64,
    /// After the experiments, runs every sweep rate again with tracing off, on at 100% and
    /// on at `sample_ratio`, for tracing's own cost (CPU per request, p50, p99).
    #[serde(default)]
    pub overhead: bool,
}

/// The default share of traced requests.
pub const DEFAULT_SAMPLE_RATIO: f64 = 0.1;

fn default_sample_ratio() -> f64 {
    DEFAULT_SAMPLE_RATIO
}

fn both() -> Vec<Arch> {
    vec![Arch::Monolith, Arch::Micro]
}
fn process() -> RuntimeKind {
    RuntimeKind::Process
}
fn one() -> u32 {
    1
}

/// The data set each architecture is seeded with before its experiments.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Data {
    #[serde(default = "small")]
    pub size: Size,
    #[serde(default = "seed42")]
    pub seed: u64,
    #[serde(default = "bulk")]
    pub path: SeedPath,
}

fn small() -> Size {
    Size::Small
}
fn seed42() -> u64 {
    42
}
fn bulk() -> SeedPath {
    SeedPath::Bulk
}

impl Default for Data {
    fn default() -> Self {
        Data {
            size: small(),
            seed: seed42(),
            path: bulk(),
        }
    }
}

/// The CPU split between the system under test and the load generator.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cpus {
    /// CPUs of the system under test (taskset list); default: all but CPU 0.
    pub sut: Option<String>,
    /// CPUs of the load generator; default: CPU 0.
    pub load: Option<String>,
}

/// The service-level objective a rate must meet to count as sustained.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Slo {
    /// p99 of the corrected latency, milliseconds.
    #[serde(default = "p99_ms")]
    pub p99_ms: f64,
    /// Highest share of failed requests.
    #[serde(default = "max_error_rate")]
    pub max_error_rate: f64,
}

fn p99_ms() -> f64 {
    100.0
}
fn max_error_rate() -> f64 {
    0.01
}

impl Default for Slo {
    fn default() -> Self {
        Slo {
            p99_ms: p99_ms(),
            max_error_rate: max_error_rate(),
        }
    }
}

/// How requests arrive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Arrival {
    /// Evenly spaced.
    Constant,
    /// Exponential gaps (seeded).
    Poisson,
}

/// One step of a rate profile: from `at_s` on, `rps` (a step; `ramp = true` ramps linearly
/// from the previous step's rate instead).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateStep {
    pub at_s: f64,
    pub rps: f64,
    #[serde(default)]
    pub ramp: bool,
}

/// Load settings shared by every experiment (each may override duration, warm-up, rate).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Load {
    #[serde(default = "poisson")]
    pub arrival: Arrival,
    /// A time-varying rate instead of an experiment's fixed rate (open-loop runs).
    #[serde(default)]
    pub profile: Vec<RateStep>,
    /// Keep-alive connections of the open-loop engine (the most requests in flight).
    #[serde(default = "connections")]
    pub connections: u32,
    #[serde(default = "timeout_ms")]
    pub timeout_ms: u64,
    #[serde(default = "warmup_s")]
    pub warmup_s: f64,
    #[serde(default = "duration_s")]
    pub duration_s: f64,
    /// Seed of the mix and of the arrival process.
    #[serde(default = "seed42")]
    pub seed: u64,
    /// Points of sweeps run until precise enough (absent: each point runs `duration_s`).
    #[serde(default)]
    pub adaptive: Option<Adaptive>,
    /// A point that saw more CPU steal than this share is run again once, and flagged in
    /// the report if the second run saw as much.
    #[serde(default = "steal_max")]
    pub steal_max: f64,
}

/// Adaptive points (`[load.adaptive]`): each sweep point (and each probe of the knee
/// search) runs until its p99's 95% confidence interval is within ± `precision` of it, or
/// for `max_s`; its warm-up ends when the Mann–Kendall test finds no trend in the latency
/// of the windows since (within `warmup_min_s`..`warmup_max_s`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Adaptive {
    /// Target half-width of p99's interval, relative to p99 (0.10 = ±10%).
    #[serde(default = "precision")]
    pub precision: f64,
    /// Measured at least this long after the warm-up, seconds.
    #[serde(default = "adaptive_min_s")]
    pub min_s: f64,
    /// Measured at most this long after the warm-up (the per-point time cap), seconds.
    #[serde(default = "adaptive_max_s")]
    pub max_s: f64,
    /// The warm-up lasts at least this long, seconds.
    #[serde(default = "warmup_min_s")]
    pub warmup_min_s: f64,
    /// The warm-up ends here at the latest (the point is then flagged as not stationary).
    #[serde(default = "warmup_max_s")]
    pub warmup_max_s: f64,
}

/// The regression guard's and the paper's default: ±10% on p99.
pub const DEFAULT_PRECISION: f64 = 0.10;

fn precision() -> f64 {
    DEFAULT_PRECISION
}
fn adaptive_min_s() -> f64 {
    4.0
}
fn adaptive_max_s() -> f64 {
    20.0
}
fn warmup_min_s() -> f64 {
    1.0
}
fn warmup_max_s() -> f64 {
    6.0
}
/// Steal on this shared machine is never zero (0.1–6% over an hour); a tenth of the CPU
/// taken is heavy.
fn steal_max() -> f64 {
    0.10
}

impl Default for Adaptive {
    fn default() -> Self {
        Adaptive {
            precision: precision(),
            min_s: adaptive_min_s(),
            max_s: adaptive_max_s(),
            warmup_min_s: warmup_min_s(),
            warmup_max_s: warmup_max_s(),
        }
    }
}

fn poisson() -> Arrival {
    Arrival::Poisson
}
/// Enough that requests stuck on a broken part (up to rate × timeout of them) do not
/// hold back the others: a user does not wait for another user's request.
fn connections() -> u32 {
    256
}
fn timeout_ms() -> u64 {
    5_000
}
fn warmup_s() -> f64 {
    2.0
}
fn duration_s() -> f64 {
    10.0
}

impl Default for Load {
    fn default() -> Self {
        Load {
            arrival: poisson(),
            profile: Vec::new(),
            connections: connections(),
            timeout_ms: timeout_ms(),
            warmup_s: warmup_s(),
            duration_s: duration_s(),
            seed: seed42(),
            adaptive: None,
            steal_max: steal_max(),
        }
    }
}

/// The mix used when a scenario gives none: mostly reads, as in a CRM's day, with every
/// kind of write present.
pub fn default_mix() -> BTreeMap<String, f64> {
    [
        ("list_companies", 12.0),
        ("get_company", 14.0),
        ("list_contacts", 8.0),
        ("get_contact", 10.0),
        ("search", 6.0),
        ("customer_360", 8.0),
        ("list_opportunities", 5.0),
        ("create_company", 2.0),
        ("update_company", 3.0),
        ("create_contact", 3.0),
        ("log_activity", 6.0),
        ("create_lead", 4.0),
        ("assign_lead", 3.0),
        ("qualify_lead", 2.0),
        ("convert_lead", 2.0),
        ("create_opportunity", 1.0),
        ("move_opportunity", 4.0),
        ("analytics_pipeline", 2.0),
        ("analytics_forecast", 1.0),
        ("analytics_win_rate", 1.0),
        ("analytics_funnel", 1.0),
        ("batch_import", 0.5),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

impl Scenario {
    /// Parses TOML text; `origin` names the file in errors.
    pub fn parse(text: &str, origin: &str) -> anyhow::Result<Scenario> {
        let s: Scenario = toml::from_str(text).map_err(|e| anyhow::anyhow!("{origin}: {e}"))?;
        // Each problem with its key's line, as the parser's own errors have.
        s.validate()
            .map_err(|e| anyhow::anyhow!("{}", lines::locate(text, &e.to_string())))
            .with_context(|| format!("{origin}: invalid scenario"))?;
        Ok(s)
    }

    /// Reads and parses a scenario file.
    pub fn load(path: &Path) -> anyhow::Result<Scenario> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("read the scenario {}", path.display()))?;
        Scenario::parse(&text, &path.display().to_string())
    }

    /// The scenario at another precision (`--precision`): adaptive points with p99's
    /// interval within ± `precision`, their time cap scaled by the square of the change (an
    /// interval narrows with the square root of the samples), at most tenfold.
    pub fn with_precision(mut self, precision: f64) -> anyhow::Result<Scenario> {
        anyhow::ensure!(
            precision.is_finite() && precision > 0.0 && precision < 1.0,
            "--precision must be a fraction in (0, 1) such as 0.1 (±10%), got {precision}"
        );
        let a = self.load.adaptive.get_or_insert_with(Adaptive::default);
        let scale = (a.precision / precision).powi(2).clamp(0.1, 10.0);
        a.max_s = (a.max_s * scale).max(a.min_s);
        a.precision = precision;
        Ok(self)
    }

    /// The mix in force: the scenario's, or the default.
    pub fn effective_mix(&self) -> BTreeMap<String, f64> {
        if self.mix.is_empty() {
            default_mix()
        } else {
            self.mix.clone()
        }
    }
}

#[cfg(test)]
mod tests;

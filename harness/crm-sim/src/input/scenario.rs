//! The scenario file: what to simulate — the machines, where each process runs and how many
//! replicas it has, the load, faults, the autoscaler, how long and with which seed.
//! Documented field by field in the crate's README.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::calibration::Calibration;
use super::{Error, Problems};
use crate::dist::DistSpec;

/// The `schema` this version reads and writes.
pub const SCENARIO_SCHEMA: &str = "crm-sim/scenario/v1";

/// A whole scenario file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub schema: String,
    #[serde(default)]
    pub name: String,
    /// `monolith` or `micro`: which architecture of the calibration runs.
    pub architecture: String,
    /// Simulated seconds of load (warm-up included).
    pub duration_s: f64,
    /// Seconds at the start whose requests are not recorded.
    #[serde(default)]
    pub warmup_s: f64,
    #[serde(default = "d_seed")]
    pub seed: u64,
    /// Width of the timeline's buckets.
    #[serde(default = "d_bucket_s")]
    pub bucket_s: f64,
    /// CFS period of the CPU quotas (Linux: 100 ms).
    #[serde(default = "d_cfs_period_ms")]
    pub cfs_period_ms: f64,
    pub nodes: Vec<NodeGroup>,
    /// Placement of each process; a calibrated process not listed gets one replica, no
    /// quota, on the first node.
    #[serde(default)]
    pub processes: BTreeMap<String, Placement>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open: Option<Open>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed: Option<Closed>,
    #[serde(default)]
    pub faults: Vec<Fault>,
    /// A horizontal autoscaler per process.
    #[serde(default)]
    pub autoscale: BTreeMap<String, Autoscale>,
}

fn d_seed() -> u64 {
    42
}
fn d_bucket_s() -> f64 {
    1.0
}
fn d_cfs_period_ms() -> f64 {
    100.0
}

/// `count` identical machines named `name-0`, `name-1`, … (or `name` when `count` = 1).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeGroup {
    pub name: String,
    pub cores: f64,
    #[serde(default = "d_one")]
    pub count: u32,
    /// CPU speed relative to the calibrated machine's (2 = work takes half the time).
    #[serde(default = "d_speed")]
    pub speed: f64,
}

fn d_one() -> u32 {
    1
}
fn d_speed() -> f64 {
    1.0
}

/// Where and how a process runs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Placement {
    #[serde(default = "d_one")]
    pub replicas: u32,
    /// CFS quota per replica in cores; none = no limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpus: Option<f64>,
    /// Node groups (or single nodes) its replicas go on, spread in turn; empty = the first
    /// node.
    #[serde(default)]
    pub nodes: Vec<String>,
    /// A process that is not in the calibration, costing what `like` costs (e.g. a database
    /// per service: `[processes.pg-sales] like = "postgres"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub like: Option<String>,
    /// Its statements go to this database process instead of the calibrated one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    /// Database connections per replica, instead of the calibrated pool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool: Option<u32>,
}

/// How open-loop requests arrive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Arrival {
    Constant,
    Poisson,
}

/// From `at_s` on, `rps` requests per second (`ramp`: reached linearly from the previous
/// step's rate).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateStep {
    pub at_s: f64,
    pub rps: f64,
    #[serde(default)]
    pub ramp: bool,
}

/// Open-loop load (wrk2's method: latency from the intended send time).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Open {
    #[serde(default = "d_poisson")]
    pub arrival: Arrival,
    /// A fixed rate, or…
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
    /// …a rate profile (e.g. a day).
    #[serde(default)]
    pub profile: Vec<RateStep>,
    /// Most requests in flight at once (the load generator's connections); 0 = no limit.
    #[serde(default)]
    pub connections: u32,
    /// The client's timeout.
    #[serde(default = "d_timeout_ms")]
    pub timeout_ms: f64,
    /// Operation → weight.
    pub mix: BTreeMap<String, f64>,
}

fn d_poisson() -> Arrival {
    Arrival::Poisson
}
fn d_timeout_ms() -> f64 {
    5000.0
}

/// Closed-loop users, each running journeys with think time between requests.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Closed {
    pub users: u32,
    pub think_us: DistSpec,
    /// Users start spread evenly over this many seconds.
    #[serde(default)]
    pub ramp_s: f64,
    #[serde(default = "d_timeout_ms")]
    pub timeout_ms: f64,
    pub journeys: Vec<Journey>,
}

/// A sequence of operations a user runs, chosen by weight.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Journey {
    #[serde(default)]
    pub name: String,
    #[serde(default = "d_weight")]
    pub weight: f64,
    pub ops: Vec<String>,
}

fn d_weight() -> f64 {
    1.0
}

/// kill | pause | slow | redeploy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FaultKind {
    /// Down for `for_s`, then `restart_s` to start again.
    Kill,
    /// Stopped (SIGSTOP) for `for_s`: requests queue and time out.
    Pause,
    /// Every call to it takes `delay_ms` more for `for_s`.
    Slow,
    /// Each replica in turn leaves the rotation, stops, and takes `restart_s` to come back
    /// (a rolling restart); `for_s` is ignored.
    Redeploy,
}

/// A fault or redeploy at a time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    pub kind: FaultKind,
    pub process: String,
    /// One replica (by its index at start); none = every replica.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replica: Option<u32>,
    pub at_s: f64,
    #[serde(default)]
    pub for_s: f64,
    #[serde(default)]
    pub restart_s: f64,
    #[serde(default)]
    pub delay_ms: f64,
}

/// A Kubernetes-style horizontal autoscaler: every `sync_s`, desired = ceil(current ×
/// utilisation / target), unless within `tolerance`; scale-down takes the highest desired
/// count of the last `stabilisation_s`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Autoscale {
    /// Target CPU utilisation of a replica, as a share of its quota (of 1 core without one).
    pub target: f64,
    #[serde(default = "d_one")]
    pub min: u32,
    pub max: u32,
    #[serde(default = "d_sync_s")]
    pub sync_s: f64,
    #[serde(default = "d_tolerance")]
    pub tolerance: f64,
    #[serde(default = "d_stabilisation_s")]
    pub stabilisation_s: f64,
    /// From scheduling a replica to its first request.
    #[serde(default)]
    pub startup_s: f64,
}

fn d_sync_s() -> f64 {
    15.0
}
fn d_tolerance() -> f64 {
    0.1
}
fn d_stabilisation_s() -> f64 {
    300.0
}

impl Scenario {
    /// Parses TOML text and validates it against `calibration`; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str, calibration: &Calibration) -> Result<Scenario, Error> {
        let s: Scenario = super::parse(text, origin, SCENARIO_SCHEMA)?;
        let mut p = Problems::default();
        s.check(calibration, &mut p);
        p.finish(text, origin)?;
        Ok(s)
    }

    /// Validates a value built in code (problems carry paths; there are no lines).
    pub fn validate(&self, calibration: &Calibration) -> Result<(), Error> {
        let mut p = Problems::default();
        self.check(calibration, &mut p);
        p.finish("", "scenario")
    }

    /// Reads, parses and validates a scenario file.
    pub fn load(path: &Path, calibration: &Calibration) -> Result<Scenario, Error> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
            path: path.display().to_string(),
            source,
        })?;
        Scenario::parse(&text, &path.display().to_string(), calibration)
    }
}

//! The results of a scenario run: what `results.json` holds (schema [`SCHEMA`]), what every
//! report format renders, and what `compare` reads. Every figure in here was measured by the
//! run that wrote it; nothing is filled in by hand.
//!
//! Times are microseconds (`*_us`) or seconds (`*_s`); rates are requests per second.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::seed::SeedReport;
use crate::topology::{Arch, RuntimeKind};

pub mod breakdown;
mod experiment;
mod machine;
pub mod model;
mod precision;

pub use breakdown::Breakdown;
pub use experiment::{
    Budget, BudgetCalibration, BudgetPoint, Consistency, CoresForRate, Deploy, Experiment, Fault,
    Journeys, NoisyNeighbour, ProjectionLag, Resources, Scale, ScalePoint, Sweep, SweepPoint,
};
pub use machine::{Calibration, Machine, median};
pub use model::ModelCheck;
pub use precision::{
    Ci, DeployCycle, FaultCycle, Knee, LatencyCis, LoadSource, PointInfo, Repeated,
};

/// The schema id written into every results.json; bump the version on incompatible changes.
/// v2 added the per-hop breakdown of traced load runs ([`LoadRun::breakdown`]), confidence
/// intervals and how each point was measured (all optional).
pub const SCHEMA: &str = "crm-bench/results/v2";

/// Schemas this build reads: v2 only added optional fields, so v1 files (the committed CI
/// baseline) load as they are.
pub const READABLE: [&str; 2] = ["crm-bench/results/v1", SCHEMA];

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Results {
    pub schema: String,
    pub scenario: ScenarioEcho,
    pub machine: Machine,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    /// One entry per architecture, in the scenario's order.
    pub runs: Vec<ArchRun>,
    /// One row per paper metric, derived from `runs`.
    pub verdicts: Vec<Verdict>,
    /// Every consistency check of every architecture passed.
    pub reconciliation_passed: bool,
    /// What the calibrated model predicts for this run's points, beside what was measured
    /// (*simulated*; runs with a per-hop breakdown only). Added within v2: optional, and
    /// ignored by builds that do not know it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<ModelCheck>,
}

/// The scenario as it was run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScenarioEcho {
    pub name: String,
    pub description: String,
    /// The scenario file's path as given.
    pub file: String,
    /// The parsed scenario, as JSON.
    pub config: serde_json::Value,
}

/// Everything measured on one architecture.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ArchRun {
    pub arch: Arch,
    pub runtime: RuntimeKind,
    /// From `up` until every instance was ready.
    pub up_s: f64,
    pub seed: Option<SeedReport>,
    pub experiments: Vec<Experiment>,
    /// Experiments that could not be measured on this architecture, and why (the run goes
    /// on with the next one; the report lists them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<Failure>,
    /// Experiments not run on this architecture because the deployment cannot perform what
    /// they need (an external target without a `kill` action, say), and why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<Failure>,
    /// Tracing's own cost at the sweeps' rates (`[tracing] overhead = true`; v2).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trace_overhead: Vec<breakdown::TraceOverhead>,
}

/// An experiment that failed part-way; nothing of it is reported as measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Failure {
    pub experiment: String,
    pub kind: String,
    pub error: String,
}

/// Latency percentiles of one histogram (HdrHistogram, µs, 3 significant digits).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencyStats {
    pub count: u64,
    pub min_us: u64,
    pub mean_us: f64,
    pub p50_us: u64,
    pub p90_us: u64,
    pub p99_us: u64,
    pub p999_us: u64,
    pub max_us: u64,
    /// 95% intervals of the percentiles (v2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ci: Option<LatencyCis>,
}

/// One operation's figures in one load run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct OpStats {
    pub requests: u64,
    /// Requests that did not succeed (any class in `errors`).
    pub failed: u64,
    /// Failures by class: `connect`, `timeout`, `io`, `429`, `4xx:409`, `5xx:503`, ...
    pub errors: BTreeMap<String, u64>,
    /// From the intended send time (coordinated omission corrected).
    pub corrected: LatencyStats,
    /// From the actual send time.
    pub uncorrected: LatencyStats,
    /// Percentile spectrum of the corrected histogram: `(percentile, µs)` points from 0 to
    /// 99.999, for the spectrum chart.
    pub spectrum: Vec<(f64, u64)>,
    /// The corrected and uncorrected histograms, serialised (HdrHistogram V2 + deflate,
    /// base64), so any other figure can be recomputed.
    pub hist_corrected: String,
    pub hist_uncorrected: String,
}

/// One interval of a run's timeline (relative to the run's start, warm-up included).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Bucket {
    pub t_s: f64,
    pub width_s: f64,
    pub requests: u64,
    pub failed: u64,
    /// Corrected latency of all operations in the bucket.
    pub p50_us: u64,
    pub p99_us: u64,
    /// Per operation group (e.g. `unaffected`, `affected`), when the experiment defines groups.
    pub groups: BTreeMap<String, GroupBucket>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct GroupBucket {
    pub requests: u64,
    pub failed: u64,
    pub p99_us: u64,
}

/// A time window marked on a run (a fault, a deploy, warm-up), in seconds from its start.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Window {
    pub label: String,
    pub start_s: f64,
    pub end_s: f64,
}

/// One load run (open or closed loop).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LoadRun {
    /// `open` (scheduled arrivals) or `closed` (journeys / saturation).
    pub mode: String,
    /// Scheduled rate (open loop); 0 for closed loop.
    pub offered_rps: f64,
    /// Completed requests per second over the measured part.
    pub achieved_rps: f64,
    pub warmup_s: f64,
    /// Measured part, warm-up excluded.
    pub duration_s: f64,
    pub requests: u64,
    pub failed: u64,
    /// All operations together.
    pub total: OpStats,
    pub ops: BTreeMap<String, OpStats>,
    pub timeline: Vec<Bucket>,
    pub windows: Vec<Window>,
    /// CPU seconds and peak memory of each instance over this run.
    pub resources: Vec<InstanceUsage>,
    /// Where each operation's time went, from the run's traces (traced runs only; v2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub breakdown: Option<Box<Breakdown>>,
    /// How it was measured (v2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub point: Option<PointInfo>,
}

/// One instance's resource use over a run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct InstanceUsage {
    pub instance: String,
    pub cpu_s: f64,
    pub peak_rss_bytes: u64,
}

/// Success and tail latency of a group of operations over a window.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct GroupStats {
    pub ops: Vec<String>,
    pub requests: u64,
    pub success_rate: f64,
    pub p50_us: u64,
    pub p99_us: u64,
    /// 95% intervals of the success rate and p99 (v2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success_ci: Option<Ci>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p99_ci: Option<Ci>,
}

/// Which architecture did better on one paper metric, and by how much.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// The paper's metric: `response time`, `throughput`, `fault tolerance`,
    /// `resource use`, `scalability`, `deployment`.
    pub metric: String,
    /// What was compared, precisely (`p99 at 200 req/s, mixed workload`).
    pub measure: String,
    pub unit: String,
    pub monolith: Option<f64>,
    pub micro: Option<f64>,
    /// Their 95% intervals, when measured with one (v2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monolith_ci: Option<Ci>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub micro_ci: Option<Ci>,
    pub lower_is_better: bool,
    /// `None` when one side was not measured or they tie within the noise.
    pub winner: Option<Arch>,
    /// `2.1× lower`, `+35%`, `n/a`.
    pub by: String,
    pub note: String,
}

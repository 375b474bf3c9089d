//! What each experiment kind measured on one architecture: the `experiments` of an
//! [`ArchRun`](super::ArchRun) in `results.json`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{
    Ci, DeployCycle, FaultCycle, GroupStats, InstanceUsage, Knee, LatencyStats, LoadRun, Repeated,
    Window,
};

/// The result of one experiment on one architecture.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
// A handful per run, built once and serialised: boxing the larger variants would only add
// indirection to every reader.
#[allow(clippy::large_enum_variant)]
pub enum Experiment {
    Sweep(Sweep),
    Fault(Fault),
    Deploy(Deploy),
    Scale(Scale),
    Budget(Budget),
    NoisyNeighbour(NoisyNeighbour),
    Consistency(Consistency),
    Resources(Resources),
    Journeys(Journeys),
}

/// Latency–throughput curve and the highest rate within the SLO.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Sweep {
    pub name: String,
    /// The SLO: p99 (corrected) under this, and at most `slo_max_error_rate` failed.
    pub slo_p99_us: u64,
    pub slo_max_error_rate: f64,
    pub points: Vec<SweepPoint>,
    /// Highest rate under the SLO: the knee of the monotone fit when a search ran (v2),
    /// else the highest offered rate whose point met the SLO.
    pub max_rate_under_slo: Option<f64>,
    /// The knee with its interval (v2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub knee: Option<Knee>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepPoint {
    pub offered_rps: f64,
    pub achieved_rps: f64,
    pub error_rate: f64,
    pub latency: LatencyStats,
    pub meets_slo: bool,
    pub run: LoadRun,
    /// Further runs of the same point when the scenario repeats it (`run` is the first, and
    /// the point's own figures are `run`'s). `compare` uses every run as a sample for its
    /// confidence intervals. Absent in results.json when empty (added in v1, additively).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub repeats: Vec<LoadRun>,
}

/// A fault injected into one part while load runs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Fault {
    pub name: String,
    /// The request path both ways in (e.g. "client → balancer → one of 2 monolith
    /// replicas"): what this architecture was given. Absent in reports before v-fair.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The broken part: a service (`analytics`), or in the monolith the module of that name.
    pub target: String,
    /// `kill`, `pause`, `slow`, and for the monolith's modules `panic`, `cpu-hog`, `slow-query`.
    pub action: String,
    /// How it was done, in words (`SIGKILL analytics-svc`, `panic loop in the analytics
    /// module`, ...).
    pub method: String,
    pub run: LoadRun,
    /// The fault window (also in `run.windows`).
    pub window: Window,
    /// Operations that do not need the broken part, before / during / after the fault.
    pub unaffected_before: GroupStats,
    pub unaffected_during: GroupStats,
    pub unaffected_after: GroupStats,
    /// Operations that need it, during the fault.
    pub affected_during: GroupStats,
    /// From the start of healing until the affected operations were served continuously
    /// (v2: from the per-request log, the mean over cycles; v1: 0.5 s buckets); `None` if
    /// they never did within the run.
    pub recovery_s: Option<f64>,
    /// Every cycle's window and recovery (v2).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cycles: Vec<FaultCycle>,
    /// Recovery over the cycles, with its interval (v2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery: Option<Repeated>,
}

/// A redeploy of one service (or the whole monolith) under load.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Deploy {
    pub name: String,
    /// The request path both ways in (e.g. "client → balancer → one of 2 monolith
    /// replicas"): what this architecture was given. Absent in reports before v-fair.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    pub service: String,
    /// `restart` (one instance) or `rolling` (replica by replica, drained from the gateway).
    pub mode: String,
    pub replicas: u32,
    /// From the stop signal until the redeployed part answered `/readyz` again (the last
    /// replica, for a rolling restart).
    pub time_to_healthy_s: f64,
    pub requests_during: u64,
    pub failed_during: u64,
    pub run: LoadRun,
    pub window: Window,
    /// Every redeploy of the run (v2).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cycles: Vec<DeployCycle>,
    /// Time to healthy over the redeploys, with its interval (v2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthy: Option<Repeated>,
    /// Requests failed per redeploy, with its interval (v2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed: Option<Repeated>,
}

/// Throughput of N replicas of one service under a CPU quota each.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Scale {
    pub name: String,
    /// The request path both ways in (e.g. "client → balancer → one of 2 monolith
    /// replicas"): what this architecture was given. Absent in reports before v-fair.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    pub service: String,
    pub cpus_per_replica: f64,
    pub points: Vec<ScalePoint>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScalePoint {
    pub replicas: u32,
    pub throughput_rps: f64,
    pub p99_us: u64,
    /// `thr(N) / (N · thr(1))`.
    pub efficiency: f64,
    pub run: LoadRun,
    /// Further runs of the same point, as [`SweepPoint::repeats`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub repeats: Vec<LoadRun>,
}

/// The max rate under the SLO at equal total CPU budgets of the system under test.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Budget {
    pub name: String,
    /// The request path (e.g. "client → monolith (direct)").
    pub path: String,
    /// What shares a budget and how it is split, in words (for the report).
    pub rule: String,
    /// The least any process was given, cores.
    pub min_cpus: f64,
    pub calibration: BudgetCalibration,
    /// One per budget, in increasing order.
    pub points: Vec<BudgetPoint>,
    /// Cores needed for a configured rate, by linear interpolation over the budgets.
    pub cores_for_rate: CoresForRate,
}

/// The short unlimited run whose per-process CPU splits the budgets.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BudgetCalibration {
    pub rate_rps: f64,
    /// Seconds the CPU was sampled over (warm-up included).
    pub wall_s: f64,
    /// CPU seconds per instance over the run.
    pub cpu_s: BTreeMap<String, f64>,
    /// Each instance's share of the total.
    pub shares: BTreeMap<String, f64>,
}

/// One budget: the split, and the knee search under it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BudgetPoint {
    /// Total cores of the system under test.
    pub budget_cpus: f64,
    /// Cores (CPU quota) per instance; they sum to `budget_cpus`.
    pub split: BTreeMap<String, f64>,
    pub max_rate_under_slo: Option<f64>,
    /// `max_rate_under_slo / budget_cpus`, with its interval from the knee's.
    pub max_rate_per_cpu: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_rate_per_cpu_ci: Option<Ci>,
    /// The knee search run under this budget.
    pub sweep: Sweep,
}

/// "Cores needed for rate R", interpolated between the budgets measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CoresForRate {
    pub rate_rps: f64,
    /// `None` when R is outside the max rates measured (`how` says which side).
    pub cores: Option<f64>,
    /// How it was found, e.g. "linear interpolation between 0.5 and 1 CPU".
    pub how: String,
}

/// Interactive traffic alone and beside heavy analytics queries.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NoisyNeighbour {
    pub name: String,
    pub alone: GroupStats,
    pub beside_neighbour: GroupStats,
    /// What the neighbour achieved (its requests per second).
    pub neighbour_rps: f64,
    /// `beside.p99 / alone.p99`.
    pub p99_ratio: f64,
    /// Its interval, from the two p99s' intervals (v2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p99_ratio_ci: Option<Ci>,
    pub run_alone: LoadRun,
    pub run_beside: LoadRun,
}

/// Event → projection lag and the reconciliation after the load.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Consistency {
    pub name: String,
    /// Time from an acknowledged write until the analytics projection reflected it (µs).
    pub lag: LatencyStats,
    pub lag_samples: u64,
    /// Writes the load generator saw acknowledged, by kind.
    pub acknowledged_writes: BTreeMap<String, u64>,
    /// Acknowledged writes not found, or found more than once.
    pub missing: u64,
    pub duplicated: u64,
    /// Analytics totals that differ from a direct count of the source tables.
    pub mismatches: Vec<String>,
    pub passed: bool,
    /// The analytics service's own event → projection lag over the run (from each event's
    /// time at its source to its commit into the projections), when it could be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub projection_lag: Option<ProjectionLag>,
}

/// `GET /analytics/lag` after a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProjectionLag {
    pub events: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// Resource use over the whole architecture run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Resources {
    pub name: String,
    pub instances: Vec<InstanceUsage>,
    pub total_cpu_s: f64,
    pub total_peak_rss_bytes: u64,
    pub requests: u64,
    pub cpu_ms_per_request: f64,
    /// Cores the system under test needed for `at_rps` (CPU-s / wall-s at that rate).
    pub cores_at_rate: f64,
    pub at_rps: f64,
}

/// Closed-loop user journeys (goose).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Journeys {
    pub name: String,
    pub users: u32,
    pub journeys_completed: u64,
    pub run: LoadRun,
}

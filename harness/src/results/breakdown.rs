//! Where the time of each operation went, from traces (schema v2): what the load run's
//! `breakdown` holds. Built by `crate::trace::summarize`; read by the report and by the
//! simulation's calibration, whose names (`sample_ratio`, `spans`, `traces`, `spans_file`,
//! `ops`, `end_to_end`, `parts`, `shapes`, `exemplars`, the node fields) are a contract.
//!
//! Parts of an operation's latency, per request:
//! - `gateway`, `service:<name>`, `monolith`: self time of the process's spans (a span's time
//!   not covered by its children);
//! - `postgres`: SQL statements, as sqlx timed them (sending, executing, reading the rows);
//! - `wire`: between processes — a client span's time not covered by the server span it
//!   called (serialising, the kernel, the callee's queue before its first span);
//! - `wait`: database pool checkouts, retry backoffs, a client's call-slot queue;
//! - `unaccounted`: the load generator's end-to-end latency (from sending to the whole
//!   response) minus the parts above — the hop from the generator to the first process and
//!   whatever no span saw.
//!
//! Where children run in parallel their overlapping time is shared equally among them, so
//! the parts of one request add up to its first span's duration exactly.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The quantiles every distribution lists.
pub const QUANTILES: [f64; 10] = [0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1.0];

/// A distribution in µs: its mean and `[quantile, µs]` at [`QUANTILES`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Dist {
    pub mean: f64,
    pub q: Vec<(f64, f64)>,
}

impl Dist {
    /// From samples (any order); empty gives zeros.
    pub fn of(samples: &[f64]) -> Dist {
        if samples.is_empty() {
            return Dist {
                mean: 0.0,
                q: QUANTILES.iter().map(|q| (*q, 0.0)).collect(),
            };
        }
        let mut v = samples.to_vec();
        v.sort_by(f64::total_cmp);
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        Dist {
            mean,
            q: QUANTILES
                .iter()
                .map(|q| (*q, quantile_sorted(&v, *q)))
                .collect(),
        }
    }

    /// The value at quantile `q` (the nearest listed one).
    pub fn at(&self, q: f64) -> f64 {
        self.q
            .iter()
            .min_by(|a, b| (a.0 - q).abs().total_cmp(&(b.0 - q).abs()))
            .map_or(0.0, |p| p.1)
    }

    pub fn p50(&self) -> f64 {
        self.at(0.5)
    }

    pub fn p99(&self) -> f64 {
        self.at(0.99)
    }
}

/// Nearest-rank quantile of sorted samples.
pub fn quantile_sorted(v: &[f64], q: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let rank = (q * v.len() as f64).ceil() as usize;
    v[rank.clamp(1, v.len()) - 1]
}

/// The traced part of one load run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Breakdown {
    /// Share of requests the load generator marked sampled.
    pub sample_ratio: f64,
    /// Spans received during the run (all traces, async work included).
    pub spans: u64,
    /// Traces matched to a request of the load generator's measured window.
    pub traces: u64,
    /// The run's spans, relative to the report directory (gzip-compressed JSON lines).
    pub spans_file: String,
    /// Requests the generator sampled in the measured window (matched or not).
    #[serde(default)]
    pub sampled_requests: u64,
    /// Spans the receiver refused (bad OTLP input) during the run.
    #[serde(default)]
    pub rejected_exports: u64,
    /// The HTTP edge (µs): the median round trip of `GET /healthz` through the load
    /// generator right after the run, the time a request spends outside every span
    /// ([`crate::trace::edge`]); absent when it could not be measured (v2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edge_us: Option<f64>,
    pub ops: BTreeMap<String, OpBreakdown>,
}

/// One operation's decomposition.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct OpBreakdown {
    pub traces: u64,
    /// The load generator's latency of the same requests, from the actual send (µs).
    pub end_to_end: Dist,
    /// Part name → its time per request.
    pub parts: BTreeMap<String, Dist>,
    /// Median of the parts' sum (without `unaccounted`) over the median end-to-end latency.
    #[serde(default)]
    pub accounted_share: f64,
    /// The same with each request's unaccounted time up to the run's edge counted as the
    /// edge's ([`Breakdown::edge_us`]; v2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accounted_with_edge: Option<f64>,
    /// The most common span-tree shapes, most common first.
    pub shapes: Vec<Shape>,
    /// The slowest traces, slowest first.
    pub exemplars: Vec<Exemplar>,
    /// The critical path of the trace nearest the median: from the first span down through
    /// the child that finished last, with each step's own time.
    #[serde(default)]
    pub critical_path: Vec<PathStep>,
}

/// One shape: traces whose spans have the same sequence of (process, name).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Shape {
    pub probability: f64,
    pub traces: u64,
    pub nodes: Vec<ShapeNode>,
}

/// One span of a shape (SQL statements and waits folded into their parent).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ShapeNode {
    pub process: String,
    pub name: String,
    pub parent: Option<usize>,
    /// `server`, `client`, `db`, `consumer`, `internal`.
    pub kind: String,
    /// Runs in parallel with its preceding sibling.
    pub concurrent: bool,
    /// Not on the response path (event relay, publish, consumers).
    #[serde(rename = "async")]
    pub is_async: bool,
    pub self_us: Dist,
    pub db_us: Dist,
    /// Mean number of statements.
    pub db_statements: f64,
    pub wire_us: Dist,
    /// Pool checkouts, backoffs and queues under this span.
    #[serde(default)]
    pub wait_us: Dist,
}

/// One slow trace, with its span tree as text.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Exemplar {
    pub trace_id: String,
    pub end_to_end_us: f64,
    pub parts: BTreeMap<String, f64>,
    pub tree: String,
}

/// One step of a critical path.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PathStep {
    pub process: String,
    pub name: String,
    /// Depth in the tree (0 = the first span).
    pub depth: usize,
    pub duration_us: f64,
    pub self_us: f64,
}

/// Tracing's own cost at one sweep point: the same rate with tracing off, and on at each
/// sampling ratio (`[tracing] overhead = true`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TraceOverhead {
    pub sweep: String,
    pub rate: f64,
    /// `off` first, then `on` at 100% and at the scenario's ratio.
    pub modes: Vec<OverheadMode>,
}

/// One mode of a [`TraceOverhead`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct OverheadMode {
    /// `off` (no exporter, no header) or `on`.
    pub mode: String,
    /// Share of requests traced (0 when off).
    pub sample_ratio: f64,
    /// Requests of the whole run, warm-up included (the CPU sampler covers it all).
    pub requests: u64,
    /// CPU time of every process of the system under test per request.
    pub cpu_ms_per_request: f64,
    /// Corrected latency of all operations.
    pub p50_us: u64,
    pub p99_us: u64,
    pub run: super::LoadRun,
}

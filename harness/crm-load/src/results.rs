//! What a run reports (serde, for results.json): per-operation counts, summaries and raw
//! histograms, totals, errors by class, offered and achieved rate, the timeline, the marks
//! and an echo of the configuration. Versioned by [`SCHEMA_VERSION`].

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::engine::{OpenLoopConfig, SaturationConfig};
use crate::errors::ErrorCounts;
use crate::histogram::{LatencyHistogram, LatencySummary};
use crate::journeys::JourneyConfig;
use crate::record::{OpStats, Recorder};

/// Version of the [`RunResults`] layout; bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// How the load was generated, with the configuration it ran with.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum RunConfig {
    /// Scheduled arrivals; latency corrected for coordinated omission.
    OpenLoop(OpenLoopConfig),
    /// Connections sending back to back, for the peak rate.
    Saturation(SaturationConfig),
    /// Goose users with think time (closed loop: corrected equals uncorrected).
    Journeys(JourneyConfig),
}

/// Counts and latency of one operation (or of all of them, in [`RunResults::totals`]).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OpResults {
    /// Operations recorded after warm-up.
    pub requests: u64,
    /// Those that got a 1xx–3xx response.
    pub ok: u64,
    /// Failures by class.
    pub errors: ErrorCounts,
    /// Latency from the intended send time, of every operation that got a response.
    pub corrected: LatencySummary,
    /// Latency from the actual send time.
    pub uncorrected: LatencySummary,
    /// The raw corrected histogram (µs).
    pub corrected_histogram: LatencyHistogram,
    /// The raw uncorrected histogram (µs).
    pub uncorrected_histogram: LatencyHistogram,
}

impl OpResults {
    fn from_stats(s: &OpStats) -> Self {
        Self {
            requests: s.requests,
            ok: s.ok,
            errors: s.errors.clone(),
            corrected: s.corrected.summary(),
            uncorrected: s.uncorrected.summary(),
            corrected_histogram: s.corrected.clone(),
            uncorrected_histogram: s.uncorrected.clone(),
        }
    }
}

/// One operation in one timeline bucket.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BucketOpResults {
    /// Operations intended in this bucket.
    pub requests: u64,
    /// Those that failed.
    pub errors: u64,
    /// Those that failed other than by a 4xx answer (5xx, 429, connect, timeout, io): the
    /// service did not serve them.
    #[serde(default)]
    pub unavailable: u64,
    /// Corrected median (µs).
    pub p50_us: u64,
    /// Corrected 99th percentile (µs).
    pub p99_us: u64,
    /// Corrected maximum (µs).
    pub max_us: u64,
    /// The bucket's corrected histogram (2 significant digits).
    pub histogram: LatencyHistogram,
}

/// One slice of the run, warm-up included.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TimelineBucket {
    /// Start of the bucket, seconds from the run's start.
    pub t_s: f64,
    /// Operations intended in this bucket.
    pub requests: u64,
    /// Operations that finished in this bucket (the achieved rate over time).
    pub completed: u64,
    /// Failures among the operations intended in this bucket (not-sent included).
    pub errors: u64,
    /// Per operation.
    pub ops: BTreeMap<String, BucketOpResults>,
}

/// Latency and throughput over time.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Timeline {
    /// Width of each bucket, seconds.
    pub bucket_s: f64,
    /// Buckets from t = 0.
    pub buckets: Vec<TimelineBucket>,
}

/// A labelled instant of the run (a fault injected, a deploy started), seconds from its start.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Mark {
    /// Seconds from the run's start (negative if marked before it started).
    pub t_s: f64,
    /// What happened.
    pub label: String,
}

/// Everything one run measured.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunResults {
    /// [`SCHEMA_VERSION`] at the time of writing.
    pub schema: u32,
    /// The mode and its configuration.
    pub config: RunConfig,
    /// Base URL of the target.
    pub target: String,
    /// Wall-clock time of the run's t = 0 (timeline and marks are relative to it).
    pub started_at: DateTime<Utc>,
    /// Warm-up excluded from `ops` and `totals`, seconds.
    pub warmup_s: f64,
    /// Length of the measured window (warm-up end to run end), seconds.
    pub measured_s: f64,
    /// Open loop: requests the schedule intended in the measured window, per second.
    pub offered_rate: Option<f64>,
    /// Completions (any outcome) inside the measured window, per second.
    pub achieved_rate: f64,
    /// Successful completions inside the measured window, per second.
    pub ok_rate: f64,
    /// Requests intended during warm-up (sent, not recorded in `ops`).
    pub warmup_requests: u64,
    /// True when the run was stopped before its planned end.
    pub stopped_early: bool,
    /// All operations together (not-sent arrivals counted in `errors.not_sent`).
    pub totals: OpResults,
    /// Per operation, by name.
    pub ops: BTreeMap<String, OpResults>,
    /// Over time.
    pub timeline: Timeline,
    /// Marks set through the run handle.
    pub marks: Vec<Mark>,
    /// The sampled requests of the measured window (open loop with a trace ratio).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub traced: Vec<crate::trace::TracedRequest>,
}

impl RunResults {
    /// One operation's results.
    pub fn op(&self, name: &str) -> Option<&OpResults> {
        self.ops.get(name)
    }

    /// Per operation, the timeline buckets that start in `[from_s, to_s)` added together
    /// (bucket resolution): what a fault window between two [`marks`](Self::marks) did to
    /// each operation. Warm-up buckets count too if the window covers them.
    pub fn window(&self, from_s: f64, to_s: f64) -> BTreeMap<String, WindowStats> {
        let mut out: BTreeMap<String, WindowStats> = BTreeMap::new();
        let inside = self
            .timeline
            .buckets
            .iter()
            .filter(|b| b.t_s >= from_s && b.t_s < to_s);
        for bucket in inside {
            for (name, op) in &bucket.ops {
                let w = out.entry(name.clone()).or_default();
                w.requests += op.requests;
                w.errors += op.errors;
                w.corrected.add(&op.histogram);
            }
        }
        out
    }
}

/// One operation over a window of the timeline.
#[derive(Clone, Debug, Default)]
pub struct WindowStats {
    /// Operations intended in the window.
    pub requests: u64,
    /// Those that failed.
    pub errors: u64,
    /// Their corrected latency (timeline precision: 2 significant digits).
    pub corrected: LatencyHistogram,
}

impl WindowStats {
    /// Fraction that succeeded (1.0 for an empty window).
    pub fn success_rate(&self) -> f64 {
        if self.requests == 0 {
            1.0
        } else {
            1.0 - self.errors as f64 / self.requests as f64
        }
    }
}

/// What the engine knows about a run besides the recorder.
pub(crate) struct RunMeta {
    pub(crate) config: RunConfig,
    pub(crate) target: String,
    pub(crate) started_at: DateTime<Utc>,
    /// Arrivals intended in the measured window (open loop only).
    pub(crate) offered: Option<u64>,
    pub(crate) stopped_early: bool,
    pub(crate) marks: Vec<Mark>,
}

/// Turns a (merged) recorder into results.
pub(crate) fn build(rec: &Recorder, meta: RunMeta) -> RunResults {
    let warmup = rec.warmup();
    let measured = rec.end().saturating_sub(warmup);
    let per_sec = |n: u64| {
        if measured.is_zero() {
            0.0
        } else {
            n as f64 / measured.as_secs_f64()
        }
    };
    let mut all = OpStats::default();
    let mut ops = BTreeMap::new();
    for (name, stats) in &rec.ops {
        all.corrected.add(&stats.corrected);
        all.uncorrected.add(&stats.uncorrected);
        all.requests += stats.requests;
        all.ok += stats.ok;
        all.errors.merge(&stats.errors);
        ops.insert(name.to_string(), OpResults::from_stats(stats));
    }
    all.errors.not_sent += rec.not_sent;
    let bucket = rec.bucket();
    let buckets = rec
        .timeline
        .iter()
        .enumerate()
        .map(|(i, b)| TimelineBucket {
            t_s: (bucket * i as u32).as_secs_f64(),
            requests: b.requests,
            completed: b.completed,
            errors: b.errors,
            ops: b
                .ops
                .iter()
                .map(|(name, op)| {
                    let s = op.corrected.summary();
                    let r = BucketOpResults {
                        requests: op.requests,
                        errors: op.errors,
                        unavailable: op.unavailable,
                        p50_us: s.p50_us,
                        p99_us: s.p99_us,
                        max_us: s.max_us,
                        histogram: op.corrected.clone(),
                    };
                    (name.to_string(), r)
                })
                .collect(),
        })
        .collect();
    RunResults {
        schema: SCHEMA_VERSION,
        config: meta.config,
        target: meta.target,
        started_at: meta.started_at,
        warmup_s: warmup.as_secs_f64(),
        measured_s: measured.as_secs_f64(),
        offered_rate: meta.offered.map(per_sec),
        achieved_rate: per_sec(rec.completed_in_window),
        ok_rate: per_sec(rec.ok_in_window),
        warmup_requests: rec.warmup_requests,
        stopped_early: meta.stopped_early,
        totals: OpResults::from_stats(&all),
        ops,
        timeline: Timeline {
            bucket_s: bucket.as_secs_f64(),
            buckets,
        },
        marks: meta.marks,
        traced: rec.traced.clone(),
    }
}

//! What a run is asked to do: the open-loop run's schedule, connections, warm-up, drain,
//! tracing, request log and common start, and the saturation run's connections and length,
//! with their defaults.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::schedule::Schedule;
use crate::serde_secs;

/// An open-loop run: a schedule of intended send times over a bounded connection pool.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OpenLoopConfig {
    /// When requests are meant to be sent; its length is the run's length, warm-up included.
    pub schedule: Schedule,
    /// Keep-alive connections (the most requests in flight at once). Default 16.
    pub connections: usize,
    /// Worker threads sharing the connections and the arrivals. Default 1.
    pub workers: usize,
    /// Per-request timeout, connecting included. Default 5 s.
    #[serde(rename = "timeout_s", with = "serde_secs")]
    pub timeout: Duration,
    /// The start of the schedule excluded from the per-operation results. Default 0.
    #[serde(rename = "warmup_s", with = "serde_secs")]
    pub warmup: Duration,
    /// After the schedule ends, overdue requests are still sent for this long; the rest
    /// count as not sent. Default 2 s.
    #[serde(rename = "drain_s", with = "serde_secs")]
    pub drain: Duration,
    /// Width of a timeline bucket. Default 1 s.
    #[serde(rename = "bucket_s", with = "serde_secs")]
    pub bucket: Duration,
    /// Seed of the workers' random number generators. Default 0.
    pub seed: u64,
    /// CPUs to pin the worker threads to (worker i on `cpus[i % len]`); empty: no pinning.
    pub cpus: Vec<usize>,
    /// Share of requests to trace (see [`crate::trace`]); `None`: no `traceparent` is sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_ratio: Option<f64>,
    /// Keep a per-request log of up to this many records (16 bytes each), read through
    /// [`LoadRun::take_log`]; 0 (the default) keeps none.
    #[serde(default)]
    pub request_log: usize,
    /// Start on this wall-clock instant (several engines on a common clock) rather than as
    /// soon as the connections are made; an error if it has passed by then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_at: Option<DateTime<Utc>>,
}

impl OpenLoopConfig {
    /// The defaults around `schedule`.
    pub fn new(schedule: Schedule) -> Self {
        Self {
            schedule,
            connections: 16,
            workers: 1,
            timeout: Duration::from_secs(5),
            warmup: Duration::ZERO,
            drain: Duration::from_secs(2),
            bucket: Duration::from_secs(1),
            seed: 0,
            cpus: Vec::new(),
            trace_ratio: None,
            request_log: 0,
            start_at: None,
        }
    }
}

/// A saturation run: `connections` requests always in flight, for the peak rate.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SaturationConfig {
    /// Connections, each sending its next request as soon as the last one is answered.
    pub connections: usize,
    /// Worker threads. Default 1.
    pub workers: usize,
    /// Measured length, after the warm-up.
    #[serde(rename = "duration_s", with = "serde_secs")]
    pub duration: Duration,
    /// Excluded from the results, before `duration`. Default 0.
    #[serde(rename = "warmup_s", with = "serde_secs")]
    pub warmup: Duration,
    /// Per-request timeout. Default 5 s.
    #[serde(rename = "timeout_s", with = "serde_secs")]
    pub timeout: Duration,
    /// Width of a timeline bucket. Default 1 s.
    #[serde(rename = "bucket_s", with = "serde_secs")]
    pub bucket: Duration,
    /// Seed of the workers' random number generators. Default 0.
    pub seed: u64,
    /// CPUs to pin the worker threads to; empty: no pinning.
    pub cpus: Vec<usize>,
}

impl SaturationConfig {
    /// The defaults around `connections` and `duration`.
    pub fn new(connections: usize, duration: Duration) -> Self {
        Self {
            connections,
            workers: 1,
            duration,
            warmup: Duration::ZERO,
            timeout: Duration::from_secs(5),
            bucket: Duration::from_secs(1),
            seed: 0,
            cpus: Vec::new(),
        }
    }
}

//! What a run produces, bounded by histograms: nothing here grows with the number of
//! requests, only with operations, processes, nodes and timeline buckets.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;

use crate::engine::{SEC, Time};

/// Longest latency a histogram holds, in µs (an hour); longer ones count as an hour.
const HIGHEST_US: u64 = 3_600_000_000;

pub(crate) fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, HIGHEST_US, 3).expect("valid histogram bounds")
}

/// How a request ended badly, as the client sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureClass {
    /// No answer in time (the client's timeout, or a 504).
    Timeout,
    /// 503: refused, no replica, a breaker open, saturated.
    Unavailable,
    /// 500: e.g. a pool timeout.
    Error,
}

/// One operation's (or all operations') outcome over the measured window.
#[derive(Clone, Debug, PartialEq)]
pub struct OpOutcome {
    /// End-to-end latency of successful requests, µs, from the intended send time.
    pub latency_us: Histogram<u64>,
    /// The exact mean of those latencies, µs (the histogram's is rounded to 3 digits).
    pub mean_us: f64,
    pub ok: u64,
    pub timeout: u64,
    pub unavailable: u64,
    pub error: u64,
    /// Successful requests per second.
    pub achieved_rps: f64,
}

impl OpOutcome {
    fn new() -> OpOutcome {
        OpOutcome {
            latency_us: histogram(),
            mean_us: 0.0,
            ok: 0,
            timeout: 0,
            unavailable: 0,
            error: 0,
            achieved_rps: 0.0,
        }
    }

    pub fn failed(&self) -> u64 {
        self.timeout + self.unavailable + self.error
    }

    pub fn requests(&self) -> u64 {
        self.ok + self.failed()
    }
}

/// A process's use of CPU and its pool over the measured window.
#[derive(Clone, Debug, PartialEq)]
pub struct ProcessOutcome {
    pub cpu_seconds: f64,
    /// Cores used on average (CPU seconds per second).
    pub cores_used: f64,
    /// Mean utilisation of its replicas' quotas (of one core each without a quota).
    pub utilisation: f64,
    /// Waits for a database connection, µs (a wait of 0 counts as 1).
    pub pool_wait_us: Histogram<u64>,
    pub replicas_at_end: u32,
    pub replicas_max: u32,
}

/// A node's use over the measured window.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeOutcome {
    pub name: String,
    pub cores: f64,
    /// Busy core-time / (cores × window).
    pub utilisation: f64,
}

/// One bucket of the timeline (the whole run, warm-up included), by completion time.
#[derive(Clone, Debug, PartialEq)]
pub struct Bucket {
    pub start_s: f64,
    pub requests: u64,
    pub failures: u64,
    pub p50_us: u64,
    pub p99_us: u64,
    /// Replicas in service per process at the bucket's end.
    pub replicas: BTreeMap<String, u32>,
}

/// Everything a run measured.
#[derive(Clone, Debug, PartialEq)]
pub struct Outputs {
    pub architecture: String,
    pub scenario: String,
    /// The measured window (after the warm-up), seconds.
    pub window_s: f64,
    /// Events the engine processed, over the whole run.
    pub events: u64,
    /// Requests sent in the window per second.
    pub offered_rps: f64,
    pub ops: BTreeMap<String, OpOutcome>,
    pub total: OpOutcome,
    pub processes: BTreeMap<String, ProcessOutcome>,
    pub nodes: Vec<NodeOutcome>,
    /// Commit → projection lag of asynchronous work, µs.
    pub lag_us: Histogram<u64>,
    pub lag_by_op: BTreeMap<String, Histogram<u64>>,
    /// Time-averaged requests in the system over the window (Little's L).
    pub mean_in_system: f64,
    pub timeline: Vec<Bucket>,
}

struct Acc {
    hist: Histogram<u64>,
    sum_us: f64,
    ok: u64,
    timeout: u64,
    unavailable: u64,
    error: u64,
}

impl Acc {
    fn new() -> Acc {
        Acc {
            hist: histogram(),
            sum_us: 0.0,
            ok: 0,
            timeout: 0,
            unavailable: 0,
            error: 0,
        }
    }

    fn record(&mut self, latency: Time, outcome: Result<(), FailureClass>) {
        match outcome {
            Ok(()) => {
                let us = latency as f64 / 1e3;
                self.hist.saturating_record((us.round() as u64).max(1));
                self.sum_us += us;
                self.ok += 1;
            }
            Err(FailureClass::Timeout) => self.timeout += 1,
            Err(FailureClass::Unavailable) => self.unavailable += 1,
            Err(FailureClass::Error) => self.error += 1,
        }
    }

    fn outcome(self, window_s: f64) -> OpOutcome {
        let mut o = OpOutcome::new();
        o.mean_us = if self.ok > 0 {
            self.sum_us / self.ok as f64
        } else {
            0.0
        };
        o.achieved_rps = self.ok as f64 / window_s;
        o.latency_us = self.hist;
        o.ok = self.ok;
        o.timeout = self.timeout;
        o.unavailable = self.unavailable;
        o.error = self.error;
        o
    }
}

/// Collects outcomes as the run goes.
pub(crate) struct Recorder {
    warm: Time,
    end: Time,
    ops: Vec<Acc>,
    total: Acc,
    sent: u64,
    pub(crate) lag: Histogram<u64>,
    pub(crate) lag_ops: Vec<Histogram<u64>>,
    pub(crate) pool_wait: Vec<Histogram<u64>>,
    bucket: Histogram<u64>,
    bucket_requests: u64,
    bucket_failures: u64,
    pub(crate) timeline: Vec<Bucket>,
    population: u64,
    area: f64,
    last_change: Time,
}

impl Recorder {
    pub(crate) fn new(warm: Time, end: Time, ops: usize, procs: usize) -> Recorder {
        Recorder {
            warm,
            end,
            ops: (0..ops).map(|_| Acc::new()).collect(),
            total: Acc::new(),
            sent: 0,
            lag: histogram(),
            lag_ops: (0..ops).map(|_| histogram()).collect(),
            pool_wait: (0..procs).map(|_| histogram()).collect(),
            bucket: histogram(),
            bucket_requests: 0,
            bucket_failures: 0,
            timeline: Vec::new(),
            population: 0,
            area: 0.0,
            last_change: 0,
        }
    }

    /// Whether a request sent at `t` is measured.
    pub(crate) fn measured(&self, t: Time) -> bool {
        t >= self.warm && t < self.end
    }

    fn population_changes(&mut self, now: Time, up: bool) {
        let from = self.last_change.max(self.warm);
        let to = now.min(self.end);
        if to > from {
            self.area += self.population as f64 * (to - from) as f64;
        }
        self.last_change = now;
        if up {
            self.population += 1;
        } else {
            self.population -= 1;
        }
    }

    pub(crate) fn sent(&mut self, now: Time) {
        if self.measured(now) {
            self.sent += 1;
        }
        self.population_changes(now, true);
    }

    pub(crate) fn done(
        &mut self,
        now: Time,
        start: Time,
        op: usize,
        outcome: Result<(), FailureClass>,
    ) {
        self.population_changes(now, false);
        let latency = now - start;
        self.bucket_requests += 1;
        match outcome {
            Ok(()) => self.bucket.saturating_record((latency / 1_000).max(1)),
            Err(_) => self.bucket_failures += 1,
        }
        if self.measured(start) {
            self.ops[op].record(latency, outcome);
            self.total.record(latency, outcome);
        }
    }

    pub(crate) fn lag(&mut self, op: usize, lag: Time) {
        let us = (lag / 1_000).max(1);
        self.lag.saturating_record(us);
        self.lag_ops[op].saturating_record(us);
    }

    /// Closes the bucket that started at `start`.
    pub(crate) fn close_bucket(&mut self, start: Time, replicas: BTreeMap<String, u32>) {
        self.timeline.push(Bucket {
            start_s: start as f64 / SEC as f64,
            requests: self.bucket_requests,
            failures: self.bucket_failures,
            p50_us: self.bucket.value_at_quantile(0.5),
            p99_us: self.bucket.value_at_quantile(0.99),
            replicas,
        });
        self.bucket.reset();
        self.bucket_requests = 0;
        self.bucket_failures = 0;
    }

    /// The per-operation and total outcomes over the window.
    pub(crate) fn finish(mut self, names: &[String]) -> Recorded {
        self.population_changes(self.end, true);
        let window_s = (self.end - self.warm) as f64 / SEC as f64;
        Recorded {
            mean_in_system: self.area / (self.end - self.warm) as f64,
            offered_rps: self.sent as f64 / window_s,
            ops: names
                .iter()
                .cloned()
                .zip(self.ops.into_iter().map(|a| a.outcome(window_s)))
                .collect(),
            total: self.total.outcome(window_s),
            lag_by_op: names
                .iter()
                .cloned()
                .zip(self.lag_ops)
                .filter(|(_, h)| !h.is_empty())
                .collect(),
            lag: self.lag,
            timeline: self.timeline,
            pool_wait: self.pool_wait,
        }
    }
}

/// A recorder's results, for [`Outputs`].
pub(crate) struct Recorded {
    pub(crate) ops: BTreeMap<String, OpOutcome>,
    pub(crate) total: OpOutcome,
    pub(crate) mean_in_system: f64,
    pub(crate) offered_rps: f64,
    pub(crate) lag: Histogram<u64>,
    pub(crate) lag_by_op: BTreeMap<String, Histogram<u64>>,
    pub(crate) timeline: Vec<Bucket>,
    pub(crate) pool_wait: Vec<Histogram<u64>>,
}

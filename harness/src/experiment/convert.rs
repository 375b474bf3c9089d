//! From the load engine's results to the report's: per-operation figures with their
//! spectra and serialised histograms, the timeline with per-group figures, and the success
//! and tail latency of a group of operations over a window (merged histograms, never
//! averaged percentiles).

use std::collections::{BTreeMap, BTreeSet};

use crm_load::{ErrorCounts, LatencyHistogram, LatencySummary, OpResults, RunConfig, RunResults};

use crate::results::{
    self, Bucket, GroupBucket, GroupStats, InstanceUsage, LatencyStats, OpStats, Window,
};

/// Percentiles of the spectrum chart.
const SPECTRUM: [f64; 19] = [
    0.0, 10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 95.0, 97.5, 99.0, 99.5, 99.75, 99.9,
    99.95, 99.99, 99.999,
];

fn stats(s: &LatencySummary) -> LatencyStats {
    LatencyStats {
        count: s.count,
        min_us: s.min_us,
        mean_us: s.mean_us,
        p50_us: s.p50_us,
        p90_us: s.p90_us,
        p99_us: s.p99_us,
        p999_us: s.p999_us,
        max_us: s.max_us,
        ci: None,
    }
}

/// Failures by class, as the report names them.
pub fn error_classes(e: &ErrorCounts) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for (name, n) in [
        ("connect", e.connect),
        ("timeout", e.timeout),
        ("io", e.io),
        ("not-sent", e.not_sent),
        ("429", e.rate_limited),
    ] {
        if n > 0 {
            out.insert(name.to_owned(), n);
        }
    }
    for (code, n) in &e.client {
        out.insert(format!("4xx:{code}"), *n);
    }
    for (code, n) in &e.server {
        out.insert(format!("5xx:{code}"), *n);
    }
    out
}

fn op_stats(o: &OpResults) -> OpStats {
    let h = &o.corrected_histogram;
    OpStats {
        requests: o.requests,
        failed: o.requests.saturating_sub(o.ok),
        errors: error_classes(&o.errors),
        corrected: stats(&o.corrected),
        uncorrected: stats(&o.uncorrected),
        spectrum: if h.count() == 0 {
            Vec::new()
        } else {
            SPECTRUM
                .iter()
                .map(|p| (*p, h.quantile_us(p / 100.0)))
                .collect()
        },
        hist_corrected: o.corrected_histogram.encode(),
        hist_uncorrected: o.uncorrected_histogram.encode(),
    }
}

/// Operation groups of a run (e.g. `affected` / `unaffected` by a fault).
pub type Groups = BTreeMap<String, BTreeSet<String>>;

/// The report's view of one load run.
pub fn load_run(
    r: &RunResults,
    groups: &Groups,
    windows: Vec<Window>,
    resources: Vec<InstanceUsage>,
) -> results::LoadRun {
    let (mode, offered) = match &r.config {
        RunConfig::OpenLoop(_) => ("open", r.offered_rate.unwrap_or(0.0)),
        RunConfig::Saturation(_) => ("closed", 0.0),
        RunConfig::Journeys(_) => ("closed", 0.0),
    };
    let width = r.timeline.bucket_s;
    let timeline = r
        .timeline
        .buckets
        .iter()
        .map(|b| {
            let mut all = LatencyHistogram::new();
            for o in b.ops.values() {
                all.add(&o.histogram);
            }
            let groups = groups
                .iter()
                .map(|(g, ops)| {
                    let mut h = LatencyHistogram::new();
                    let (mut requests, mut failed) = (0, 0);
                    for (name, o) in b.ops.iter().filter(|(n, _)| ops.contains(*n)) {
                        let _ = name;
                        h.add(&o.histogram);
                        requests += o.requests;
                        failed += o.unavailable;
                    }
                    let gb = GroupBucket {
                        requests,
                        failed,
                        p99_us: if h.count() > 0 {
                            h.quantile_us(0.99)
                        } else {
                            0
                        },
                    };
                    (g.clone(), gb)
                })
                .collect();
            Bucket {
                t_s: b.t_s,
                width_s: width,
                requests: b.requests,
                failed: b.errors,
                p50_us: if all.count() > 0 {
                    all.quantile_us(0.5)
                } else {
                    0
                },
                p99_us: if all.count() > 0 {
                    all.quantile_us(0.99)
                } else {
                    0
                },
                groups,
            }
        })
        .collect();
    results::LoadRun {
        mode: mode.to_owned(),
        offered_rps: offered,
        achieved_rps: r.achieved_rate,
        warmup_s: r.warmup_s,
        duration_s: r.measured_s,
        requests: r.totals.requests,
        failed: r.totals.requests.saturating_sub(r.totals.ok),
        total: op_stats(&r.totals),
        ops: r
            .ops
            .iter()
            .map(|(k, v)| (k.clone(), op_stats(v)))
            .collect(),
        timeline,
        windows,
        resources,
        breakdown: None,
        point: None,
    }
}

/// Success rate and latency of `ops` over `[from_s, to_s)` of the run, from the timeline's
/// per-bucket histograms (a bucket counts when it starts inside the window). Success means
/// served: a 4xx answer (a conflict the workload provoked, a stale `If-Match`) is the API
/// working as specified; 5xx, 429, refused connections, timeouts and broken ones are not.
pub fn group_stats(r: &RunResults, ops: &BTreeSet<String>, from_s: f64, to_s: f64) -> GroupStats {
    let mut h = LatencyHistogram::new();
    let (mut requests, mut failed) = (0u64, 0u64);
    for b in r
        .timeline
        .buckets
        .iter()
        .filter(|b| b.t_s >= from_s - 1e-9 && b.t_s < to_s - 1e-9)
    {
        for (_, o) in b.ops.iter().filter(|(n, _)| ops.contains(*n)) {
            h.add(&o.histogram);
            requests += o.requests;
            failed += o.unavailable;
        }
    }
    GroupStats {
        ops: ops.iter().cloned().collect(),
        requests,
        success_rate: if requests == 0 {
            1.0
        } else {
            1.0 - failed as f64 / requests as f64
        },
        p50_us: if h.count() > 0 { h.quantile_us(0.5) } else { 0 },
        p99_us: if h.count() > 0 {
            h.quantile_us(0.99)
        } else {
            0
        },
        success_ci: None,
        p99_ci: None,
    }
}

/// Seconds after `from_s` until the affected operations work again: the start of the first
/// bucket from which on (it and the two after it, as far as the run goes) every request of
/// `ops` was served (as in [`group_stats`]); `None` if that never happens.
pub fn recovery(r: &RunResults, ops: &BTreeSet<String>, from_s: f64) -> Option<f64> {
    let buckets: Vec<(f64, u64, u64)> = r
        .timeline
        .buckets
        .iter()
        .filter(|b| b.t_s >= from_s - 1e-9)
        .map(|b| {
            let (req, err) = b
                .ops
                .iter()
                .filter(|(n, _)| ops.contains(*n))
                .fold((0, 0), |(q, e), (_, o)| (q + o.requests, e + o.unavailable));
            (b.t_s, req, err)
        })
        .collect();
    (0..buckets.len())
        .find(|&i| {
            buckets[i].1 > 0
                && buckets[i..buckets.len().min(i + 3)]
                    .iter()
                    .all(|(_, _, e)| *e == 0)
        })
        .map(|i| (buckets[i].0 - from_s).max(0.0))
}

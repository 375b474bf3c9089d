//! Confidence intervals of a run's figures from its per-request log (samples in time order,
//! so the batch-means widening of `crm_load::stats` sees stalls), and the figures of an
//! operation group over windows of the run at the log's resolution.

use std::collections::BTreeSet;

use crm_load::RequestLog;
use crm_load::stats::{self, LEVEL};

use crate::results::{self, Ci, GroupStats, LatencyCis};

/// The corrected latencies (µs, time order) of the responded requests of `ops` (a mask over
/// the log's operations; `None`: all) intended in any of `windows` (seconds).
fn latencies(log: &RequestLog, ops: Option<&[bool]>, windows: &[(f64, f64)]) -> Vec<f64> {
    chosen(log, ops, windows)
        .filter(|r| r.responded())
        .map(|r| f64::from(r.latency_us))
        .collect()
}

fn chosen<'a>(
    log: &'a RequestLog,
    ops: Option<&'a [bool]>,
    windows: &'a [(f64, f64)],
) -> impl Iterator<Item = &'a crm_load::RequestRecord> + 'a {
    log.records.iter().filter(move |r| {
        let t = f64::from(r.intended_us) / 1e6;
        let op_ok = match ops {
            None => r.op != crm_load::reqlog::NOT_SENT_OP,
            Some(m) => m.get(usize::from(r.op)).copied().unwrap_or(false),
        };
        op_ok && windows.iter().any(|(a, b)| t >= *a && t < *b)
    })
}

/// The percentiles' intervals of `samples` (time order).
pub fn latency_cis(samples: &[f64]) -> Option<LatencyCis> {
    let q = |p: f64| stats::quantile_interval(samples, p, LEVEL);
    let p99 = q(0.99)?;
    Some(LatencyCis {
        p50: q(0.5).map(Ci::from),
        p90: q(0.9).map(Ci::from),
        p99: Some(Ci::from(p99)),
        p999: q(0.999).map(Ci::from),
        batched: p99.batched,
        p99_n_eff: p99.n_eff,
    })
}

/// Adds intervals to a run's total and per-operation latency, from its log over its
/// measured window; returns the interval of its failure share.
pub fn add_to_run(run: &mut results::LoadRun, log: &RequestLog) -> Option<Ci> {
    let window = [(run.warmup_s, run.warmup_s + run.duration_s)];
    run.total.corrected.ci = latency_cis(&latencies(log, None, &window));
    for (name, op) in run.ops.iter_mut() {
        let mask = log.select(|n| n == name);
        op.corrected.ci = latency_cis(&latencies(log, Some(mask.as_slice()), &window));
    }
    let outcomes: Vec<bool> = log
        .records
        .iter()
        .filter(|r| {
            let t = f64::from(r.intended_us) / 1e6;
            t >= window[0].0 && t < window[0].1
        })
        .map(|r| r.error().is_some())
        .collect();
    stats::proportion_interval(&outcomes, LEVEL).map(|s| Ci {
        lo: s.lo,
        hi: s.hi,
        open: false,
    })
}

/// Success (served: a 4xx answer counts as served) and latency of `ops` over `windows`
/// (seconds), with intervals; exact windows, not buckets.
pub fn group(log: &RequestLog, ops: &BTreeSet<String>, windows: &[(f64, f64)]) -> GroupStats {
    let mask = log.select(|n| ops.contains(n));
    let served: Vec<bool> = chosen(log, Some(mask.as_slice()), windows)
        .map(|r| r.served())
        .collect();
    let lat = latencies(log, Some(mask.as_slice()), windows);
    let share = stats::proportion_interval(&served, LEVEL);
    let p50 = stats::quantile_interval(&lat, 0.5, LEVEL);
    let p99 = stats::quantile_interval(&lat, 0.99, LEVEL);
    GroupStats {
        ops: ops.iter().cloned().collect(),
        requests: served.len() as u64,
        success_rate: share.map_or(1.0, |s| s.value),
        p50_us: p50.map_or(0, |q| q.value as u64),
        p99_us: p99.map_or(0, |q| q.value as u64),
        success_ci: share.map(|s| Ci {
            lo: s.lo,
            hi: s.hi,
            open: false,
        }),
        p99_ci: p99.map(Ci::from),
    }
}

/// Seconds from `from_s` until the operations of `ops` (`None`: all) were served
/// continuously up to `to_s`: the first served request after the last failure.
pub fn recovery(
    log: &RequestLog,
    ops: Option<&BTreeSet<String>>,
    from_s: f64,
    to_s: f64,
) -> Option<f64> {
    let mask = log.select(|n| ops.is_none_or(|o| o.contains(n)));
    let us = |s: f64| (s.max(0.0) * 1e6) as u64;
    log.recovered_at(&mask, us(from_s), us(to_s))
        .map(|t| (t as f64 / 1e6 - from_s).max(0.0))
}

/// Requests intended in `[from_s, to_s)` that were not served.
pub fn unserved(log: &RequestLog, from_s: f64, to_s: f64) -> u64 {
    let w = [(from_s, to_s)];
    chosen(log, None, &w).filter(|r| !r.served()).count() as u64
        + log
            .records
            .iter()
            .filter(|r| {
                let t = f64::from(r.intended_us) / 1e6;
                r.op == crm_load::reqlog::NOT_SENT_OP && t >= from_s && t < to_s
            })
            .count() as u64
}

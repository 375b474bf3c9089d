//! The HTTP edge: what a request costs outside every span — the load generator's client, the
//! loopback, the server reading the request before its first span and writing the answer
//! after its last. No span can see it, so it is measured beside the traces: right after a
//! traced run, with the system under test idle again, the load generator's own engine sends
//! `GET /healthz` (no database, nothing downstream) to the same URL at a light rate, and the
//! median round trip is the run's edge. A request's unaccounted time is then set against it:
//! up to the edge, it is the edge's.

use std::time::Duration;

use crm_load::{Op, OpenLoopConfig, Schedule, Target};

/// Probes per measurement, and their rate (sequential in effect: each answers in well under
/// the gap).
const PROBES: f64 = 100.0;
const RATE: f64 = 50.0;
/// The first probes open the connection and warm it; they are left out.
const WARMUP_S: f64 = 0.2;

/// The median round trip (µs) of `GET /healthz` at `public_url` through the load
/// generator's engine pinned to `cpus`; `None` when it cannot be measured (nothing answers,
/// every probe failed).
pub async fn round_trip_us(public_url: &str, cpus: &[usize]) -> Option<f64> {
    let target = Target::parse(public_url).ok()?;
    let total = Duration::from_secs_f64(WARMUP_S + PROBES / RATE);
    let mut c = OpenLoopConfig::new(Schedule::constant(RATE, total));
    c.connections = 1;
    c.warmup = Duration::from_secs_f64(WARMUP_S);
    c.timeout = Duration::from_secs(2);
    c.cpus = cpus.to_vec();
    let probe = |_: u64, _: &mut crm_load::WorkloadRng| {
        Op::get("edge", "/healthz").expect("an origin-form path")
    };
    let results = crm_load::run_open_loop(&target, c, std::sync::Arc::new(probe))
        .await
        .ok()?;
    let op = results.ops.get("edge")?;
    (op.ok > 0).then_some(op.uncorrected.p50_us as f64)
}

/// The share of the median end-to-end latency that the spans and the edge account for:
/// per request its spans' time plus its unaccounted time up to `edge_us`, the median of that
/// over the median end to end.
pub fn accounted_share(e2e: &[f64], spans: &[f64], edge_us: f64) -> f64 {
    let mut with_edge: Vec<f64> = e2e
        .iter()
        .zip(spans)
        .map(|(e, a)| a + (e - a).clamp(0.0, edge_us.max(0.0)))
        .collect();
    let mut e: Vec<f64> = e2e.to_vec();
    with_edge.sort_by(f64::total_cmp);
    e.sort_by(f64::total_cmp);
    let m = crate::results::breakdown::quantile_sorted(&e, 0.5);
    if m > 0.0 {
        crate::results::breakdown::quantile_sorted(&with_edge, 0.5) / m
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_edge_takes_unaccounted_time_up_to_its_size_and_no_more() {
        // Spans see 600 of 1,000 µs, 900 of 1,000, all of 500; an edge of 250 µs.
        let e2e = [1_000.0, 1_000.0, 500.0];
        let spans = [600.0, 900.0, 500.0];
        // With the edge: 850, 1,000, 500 → median 850 over a median of 1,000.
        assert!((accounted_share(&e2e, &spans, 250.0) - 0.85).abs() < 1e-9);
        assert!((accounted_share(&e2e, &spans, 0.0) - 0.6).abs() < 1e-9);
        // Never above the end to end.
        assert!((accounted_share(&e2e, &spans, 10_000.0) - 1.0).abs() < 1e-9);
    }
}

//! The latency–throughput curve: the given rates, then a binary search (as Barista does)
//! for the highest rate whose corrected p99 and error rate meet the SLO.

use super::ArchCtx;
use super::measure::{Pace, Plan};
use crate::results::{LatencyStats, LoadRun, Sweep, SweepPoint};
use crate::scenario::SweepSpec;

/// `rate` is the scheduled rate (the run's `offered_rps` is what the arrival process
/// actually produced in the measured window).
fn point_from(rate: f64, run: LoadRun, slo_p99_us: u64, slo_errors: f64) -> SweepPoint {
    let error_rate = if run.requests == 0 {
        0.0
    } else {
        run.failed as f64 / run.requests as f64
    };
    let latency: LatencyStats = run.total.corrected.clone();
    SweepPoint {
        offered_rps: rate,
        achieved_rps: run.achieved_rps,
        error_rate,
        meets_slo: run.requests > 0 && latency.p99_us <= slo_p99_us && error_rate <= slo_errors,
        latency,
        run,
        repeats: Vec::new(),
    }
}

/// Measures one offered rate, `repeats` times; the first run gives the point's figures.
async fn point(ctx: &mut ArchCtx, s: &SweepSpec, rate: f64) -> anyhow::Result<SweepPoint> {
    let (warmup_s, duration_s) = ctx.times(s.warmup_s, s.duration_s);
    let mix = ctx.mix(&s.mix);
    let slo_us = (ctx.scenario.slo.p99_ms * 1000.0) as u64;
    let slo_err = ctx.scenario.slo.max_error_rate;
    let plan = Plan {
        label: format!("{} {rate:.0}/s", ctx.d.arch),
        pace: Pace::Open { rate },
        warmup_s,
        duration_s,
        mix,
        steps: Vec::new(),
        bucket_s: 1.0,
    };
    let runs = ctx.measure_repeated(&plan).await?;
    let mut runs = runs.into_iter();
    let mut p = point_from(
        rate,
        runs.next().expect("at least one run"),
        slo_us,
        slo_err,
    );
    p.repeats = runs.collect();
    ctx.progress.note(format!(
        "  {}: offered {:.0}/s achieved {:.0}/s p99 {:.1} ms errors {:.2}% {}",
        ctx.d.arch,
        p.offered_rps,
        p.achieved_rps,
        p.latency.p99_us as f64 / 1000.0,
        p.error_rate * 100.0,
        if p.meets_slo {
            "meets the SLO"
        } else {
            "misses the SLO"
        }
    ));
    Ok(p)
}

pub(super) async fn run(ctx: &mut ArchCtx, s: &SweepSpec) -> anyhow::Result<Sweep> {
    let mut points = Vec::new();
    for rate in &s.rates {
        points.push(point(ctx, s, *rate).await?);
    }
    if let Some(search) = &s.search {
        let (mut lo, mut hi) = (search.low, search.high);
        for _ in 0..search.iterations {
            let mid = ((lo + hi) / 2.0).round();
            let p = point(ctx, s, mid).await?;
            if p.meets_slo {
                lo = mid;
            } else {
                hi = mid;
            }
            points.push(p);
        }
    }
    points.sort_by(|a, b| a.offered_rps.total_cmp(&b.offered_rps));
    let max_rate_under_slo = points
        .iter()
        .filter(|p| p.meets_slo)
        .map(|p| p.offered_rps)
        .fold(None, |m: Option<f64>, r| Some(m.map_or(r, |m| m.max(r))));
    Ok(Sweep {
        name: s.name.clone().unwrap_or_else(|| "sweep".into()),
        slo_p99_us: (ctx.scenario.slo.p99_ms * 1000.0) as u64,
        slo_max_error_rate: ctx.scenario.slo.max_error_rate,
        points,
        max_rate_under_slo,
    })
}

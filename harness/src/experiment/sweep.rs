//! The latency–throughput curve: the given rates, then a search for the knee — the highest
//! rate whose p99 and error rate meet the SLO — that treats each point as the noisy
//! observation it is (see [`super::knee`]). Points run until precise enough when the
//! scenario asks for adaptive points; a point taken during heavy CPU steal is run again once
//! and flagged if the steal stays.

use super::ArchCtx;
use super::knee::{self, Observation, Probe};
use super::measure::{Pace, Plan};
use crate::results::{Ci, LatencyStats, LoadRun, Sweep, SweepPoint};
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

fn steal(run: &LoadRun) -> f64 {
    run.point.as_ref().and_then(|p| p.cpu_steal).unwrap_or(0.0)
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
        adaptive: ctx.scenario.load.adaptive.clone(),
    };
    let mut runs = ctx.measure_repeated(&plan).await?;
    let steal_max = ctx.scenario.load.steal_max;
    if steal(&runs[0]) > steal_max {
        ctx.progress.note(format!(
            "  {}: {:.1}% CPU steal at {rate:.0}/s: measuring it again",
            ctx.d.arch,
            steal(&runs[0]) * 100.0
        ));
        let again = ctx.measure_repeated(&plan).await?;
        if steal(&again[0]) < steal(&runs[0]) {
            runs = again;
        }
        let first = &mut runs[0];
        let still = steal(first);
        if let Some(p) = first.point.as_mut() {
            p.attempts = 2;
            if still > steal_max {
                let steal = format!(
                    "{:.1}% CPU steal in both attempts (over {:.0}%)",
                    still * 100.0,
                    steal_max * 100.0
                );
                // Kept beside a flag the point already has (a lost load worker).
                p.flag = Some(match p.flag.take() {
                    Some(f) => format!("{f}; {steal}"),
                    None => steal,
                });
            }
        }
    }
    let mut runs = runs.into_iter();
    let mut p = point_from(
        rate,
        runs.next().expect("at least one run"),
        slo_us,
        slo_err,
    );
    p.repeats = runs.collect();
    let ci = p.latency.ci.as_ref().and_then(|c| c.p99);
    ctx.progress.note(format!(
        "  {}: offered {:.0}/s achieved {:.0}/s p99 {:.1} ms{} errors {:.2}% over {:.1} s {}",
        ctx.d.arch,
        p.offered_rps,
        p.achieved_rps,
        p.latency.p99_us as f64 / 1000.0,
        ci.map_or(String::new(), |c| format!(
            " [{:.1}, {:.1}{}]",
            c.lo / 1000.0,
            c.hi / 1000.0,
            if c.open { "+" } else { "" }
        )),
        p.error_rate * 100.0,
        p.run.duration_s,
        if p.meets_slo {
            "meets the SLO"
        } else {
            "misses the SLO"
        }
    ));
    Ok(p)
}

/// Real load at a rate, for the knee search.
struct SweepProbe<'a> {
    ctx: &'a mut ArchCtx,
    spec: &'a SweepSpec,
    points: Vec<SweepPoint>,
}

impl Probe for SweepProbe<'_> {
    async fn probe(&mut self, rate: f64) -> anyhow::Result<Observation> {
        let p = point(self.ctx, self.spec, rate).await?;
        let o = Observation::of(p.offered_rps, &p.run);
        self.points.push(p);
        Ok(o)
    }
}

pub(super) async fn run(ctx: &mut ArchCtx, s: &SweepSpec) -> anyhow::Result<Sweep> {
    let slo = knee::Slo {
        p99_us: ctx.scenario.slo.p99_ms * 1000.0,
        max_error_rate: ctx.scenario.slo.max_error_rate,
    };
    let mut probe = SweepProbe {
        ctx,
        spec: s,
        points: Vec::new(),
    };
    let mut prior = Vec::new();
    for rate in &s.rates {
        prior.push(probe.probe(*rate).await?);
    }
    let (k, method) = match &s.search {
        Some(search) => {
            let bounds = knee::Search {
                low: search.low,
                high: search.high,
                budget: search.iterations,
                precision: search.precision,
            };
            let (k, _) = knee::search(&mut probe, slo, bounds, prior).await?;
            (
                k,
                "isotonic fit of p99 and errors against rate, probes near the knee",
            )
        }
        None => (
            knee::estimate(&prior, slo),
            "isotonic fit of p99 and errors against the given rates",
        ),
    };
    let SweepProbe { ctx, points, .. } = probe;
    let mut points = points;
    points.sort_by(|a, b| a.offered_rps.total_cmp(&b.offered_rps));
    let knee = (!points.is_empty()).then(|| crate::results::Knee {
        rate: k.rate,
        ci: Ci {
            lo: k.lo,
            hi: k.hi,
            open: k.hi_open,
        },
        method: method.to_owned(),
    });
    if let Some(r) = k.rate {
        ctx.progress.note(format!(
            "  {}: max rate under the SLO {r:.0}/s [{:.0}, {:.0}{}]",
            ctx.d.arch,
            k.lo,
            k.hi,
            if k.hi_open { "+" } else { "" }
        ));
    }
    Ok(Sweep {
        name: s.name.clone().unwrap_or_else(|| "sweep".into()),
        slo_p99_us: (ctx.scenario.slo.p99_ms * 1000.0) as u64,
        slo_max_error_rate: ctx.scenario.slo.max_error_rate,
        points,
        max_rate_under_slo: k.rate,
        knee,
    })
}

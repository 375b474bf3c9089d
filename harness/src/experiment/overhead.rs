//! Tracing's own cost (`[tracing] overhead = true`): every sweep rate of the scenario run
//! again with tracing off (the CRM restarted without an exporter, no `traceparent` from the
//! load generator), on at 100%, and on at the scenario's ratio; CPU per request, p50 and p99
//! of each. Restarts happen between modes, so each mode starts from the same state of the
//! processes (warm connection pools, caches refilled by the warm-up).

use super::ArchCtx;
use super::measure::{Pace, Plan};
use crate::results::breakdown::{OverheadMode, TraceOverhead};
use crate::scenario::ExperimentSpec;

impl ArchCtx {
    /// Restarts every CRM instance with span export on (`true`) or off.
    async fn set_export(&mut self, on: bool) -> anyhow::Result<()> {
        let export = if on {
            self.tracing.as_ref().map(|t| t.export())
        } else {
            None
        };
        if self.d.topology.tracing == export {
            return Ok(());
        }
        self.d.topology.tracing = export;
        let names: Vec<String> = self
            .d
            .instances
            .iter()
            .filter(|i| i.url.is_some())
            .map(|i| i.name.clone())
            .collect();
        for name in names {
            self.rt.restart(&mut self.d, &name).await?;
        }
        self.save_state();
        Ok(())
    }
}

/// Runs the overhead points on this architecture; leaves tracing on, as the scenario has it.
pub(super) async fn run(ctx: &mut ArchCtx) -> anyhow::Result<Vec<TraceOverhead>> {
    let Some(ratio) = ctx.tracing.as_ref().map(|t| t.sample_ratio) else {
        return Ok(Vec::new());
    };
    let sweeps: Vec<_> = ctx
        .scenario
        .experiments
        .iter()
        .filter_map(|e| match e {
            ExperimentSpec::Sweep(s) => Some(s.clone()),
            _ => None,
        })
        .collect();
    let mut modes = vec![(false, 0.0), (true, 1.0)];
    if ratio < 1.0 {
        modes.push((true, ratio));
    }
    let mut out = Vec::new();
    for s in &sweeps {
        let name = s.name.clone().unwrap_or_else(|| "sweep".into());
        let (warmup_s, duration_s) = ctx.times(s.warmup_s, s.duration_s);
        let mut points: Vec<TraceOverhead> = s
            .rates
            .iter()
            .map(|r| TraceOverhead {
                sweep: name.clone(),
                rate: *r,
                modes: Vec::new(),
            })
            .collect();
        // Mode by mode (one restart each), every rate within a mode.
        for (on, share) in &modes {
            ctx.set_export(*on).await?;
            ctx.sample_ratio = on.then_some(*share);
            for point in &mut points {
                let plan = Plan {
                    label: format!(
                        "{} {:.0}/s tracing {}",
                        ctx.d.arch,
                        point.rate,
                        if *on {
                            format!("{:.0}%", share * 100.0)
                        } else {
                            "off".into()
                        }
                    ),
                    pace: Pace::Open { rate: point.rate },
                    warmup_s,
                    duration_s,
                    mix: ctx.mix(&s.mix),
                    steps: Vec::new(),
                    bucket_s: 1.0,
                    // Equal durations in every mode, so off and on compare like for like.
                    adaptive: None,
                };
                let m = ctx.measure(&plan).await?;
                let requests = m.raw.totals.requests + m.raw.warmup_requests;
                let cpu_s: f64 = m.resources.iter().map(|u| u.cpu_s).sum();
                let mut run =
                    super::convert::load_run(&m.raw, &Default::default(), Vec::new(), m.resources);
                run.breakdown = m.breakdown.map(Box::new);
                let mode = OverheadMode {
                    mode: if *on { "on" } else { "off" }.into(),
                    sample_ratio: *share,
                    requests,
                    cpu_ms_per_request: if requests > 0 {
                        cpu_s * 1000.0 / requests as f64
                    } else {
                        0.0
                    },
                    p50_us: run.total.corrected.p50_us,
                    p99_us: run.total.corrected.p99_us,
                    run,
                };
                ctx.progress.note(format!(
                    "  {}: {:.0}/s tracing {}: {:.2} CPU-ms/req, p50 {:.2} ms, p99 {:.2} ms",
                    ctx.d.arch,
                    point.rate,
                    plan.label.rsplit(' ').next().unwrap_or(""),
                    mode.cpu_ms_per_request,
                    mode.p50_us as f64 / 1000.0,
                    mode.p99_us as f64 / 1000.0
                ));
                point.modes.push(mode);
            }
        }
        out.extend(points);
    }
    ctx.sample_ratio = Some(ratio);
    ctx.set_export(true).await?;
    Ok(out)
}

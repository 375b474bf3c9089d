//! Resource use at a fixed rate: CPU seconds and peak memory of every process or container
//! of the architecture, CPU-ms per request, and the cores the rate needs.

use super::ArchCtx;
use super::measure::{Pace, Plan};
use crate::results::Resources;
use crate::scenario::ResourcesSpec;

pub(super) async fn run(ctx: &mut ArchCtx, r: &ResourcesSpec) -> anyhow::Result<Resources> {
    let (warmup_s, duration_s) = ctx.times(r.warmup_s, r.duration_s);
    let plan = Plan {
        label: format!("{} resources", ctx.d.arch),
        pace: Pace::Open { rate: r.rate },
        warmup_s,
        duration_s,
        mix: ctx.mix(&r.mix),
        steps: Vec::new(),
        bucket_s: 1.0,
        adaptive: None,
    };
    let m = ctx.measure(&plan).await?;
    // The sampler covers the whole run, warm-up included: so do the requests and the time.
    let requests = m.raw.totals.requests + m.raw.warmup_requests;
    let wall = m.raw.warmup_s + m.raw.measured_s;
    let total_cpu_s: f64 = m.resources.iter().map(|u| u.cpu_s).sum();
    let total_peak_rss_bytes: u64 = m.resources.iter().map(|u| u.peak_rss_bytes).sum();
    let res = Resources {
        name: r.name.clone().unwrap_or_else(|| "resources".into()),
        instances: m.resources.clone(),
        total_cpu_s,
        total_peak_rss_bytes,
        requests,
        cpu_ms_per_request: if requests > 0 {
            total_cpu_s * 1000.0 / requests as f64
        } else {
            0.0
        },
        cores_at_rate: if wall > 0.0 { total_cpu_s / wall } else { 0.0 },
        at_rps: r.rate,
    };
    ctx.progress.note(format!(
        "  {}: {:.2} CPU-ms per request, {:.2} cores at {:.0} req/s, {:.0} MiB peak",
        ctx.d.arch,
        res.cpu_ms_per_request,
        res.cores_at_rate,
        r.rate,
        res.total_peak_rss_bytes as f64 / (1 << 20) as f64
    ));
    Ok(res)
}

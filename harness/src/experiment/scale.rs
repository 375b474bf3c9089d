//! Replicas 1..N under a CPU quota each, driven to saturation by requests that need only
//! one service: throughput and scaling efficiency `thr(N) / (N · thr(1))`. The
//! microservices replicate that service behind the gateway; the monolith, which scales only
//! as a whole, replicates the whole monolith behind its balancer (the gateway in balancer
//! mode) with the same quota per replica and the same requests — every point, N = 1
//! included, through the balancer, so the extra hop does not count as scaling.

use std::collections::BTreeMap;

use super::ArchCtx;
use super::measure::{Pace, Plan};
use crate::results::{Scale, ScalePoint};
use crate::scenario::ScaleSpec;
use crate::topology::Arch;
use crate::workload::catalog;

/// The default mix of a scale run: every read that needs only `service`.
fn own_reads(service: &str) -> BTreeMap<String, f64> {
    catalog::OPS
        .iter()
        .filter(|o| !o.writes && o.needs == [service])
        .map(|o| (o.name.to_owned(), 1.0))
        .collect()
}

pub(super) async fn run(ctx: &mut ArchCtx, s: &ScaleSpec) -> anyhow::Result<Scale> {
    // What is replicated: the service, or the whole monolith.
    let scaled = match ctx.d.arch {
        Arch::Micro => s.service.clone(),
        Arch::Monolith => "monolith".to_owned(),
    };
    let mix = match &s.mix {
        Some(m) => m.clone(),
        None => own_reads(&s.service),
    };
    anyhow::ensure!(
        !mix.is_empty(),
        "no read needs only {}: give the scale experiment a mix",
        s.service
    );
    if ctx.d.arch == Arch::Monolith {
        ctx.scale_to(&scaled, 1).await?;
    }
    // Every replica, the present one included, runs under the quota.
    let external = ctx.d.runtime == crate::topology::RuntimeKind::External;
    if external {
        ctx.progress.note(format!(
            "  {scaled}: the deployment's own CPU limits hold, not {} CPU per replica",
            s.cpus_per_replica
        ));
    }
    ctx.d.topology.specs.entry(scaled.clone()).or_default().cpus = Some(s.cpus_per_replica);
    for inst in ctx
        .d
        .replicas(&scaled)
        .iter()
        .map(|i| i.name.clone())
        .collect::<Vec<_>>()
        .into_iter()
        .filter(|_| !external)
    {
        ctx.rt.restart(&mut ctx.d, &inst).await?;
    }
    let (warmup_s, duration_s) = ctx.times(s.warmup_s, s.duration_s);
    let mut points: Vec<ScalePoint> = Vec::new();
    let mut path = ctx.d.request_path();
    let result = async {
        for &n in &s.replicas {
            ctx.scale_to(&scaled, n).await?;
            path = ctx.d.request_path();
            let plan = Plan {
                label: format!("{scaled} x{n}"),
                pace: Pace::Saturate {
                    connections: s.connections as usize,
                },
                warmup_s,
                duration_s,
                mix: mix.clone(),
                steps: Vec::new(),
                bucket_s: 1.0,
                adaptive: None,
            };
            let runs = ctx.measure_repeated(&plan).await?;
            let mut runs = runs.into_iter();
            let run = runs.next().expect("one run");
            let throughput =
                run.achieved_rps * (1.0 - run.failed as f64 / run.requests.max(1) as f64);
            let base = points.first().map_or(throughput, |p| p.throughput_rps);
            let point = ScalePoint {
                replicas: n,
                throughput_rps: throughput,
                p99_us: run.total.corrected.p99_us,
                efficiency: if base > 0.0 {
                    throughput / (n as f64 * base)
                } else {
                    0.0
                },
                run,
                repeats: runs.collect(),
            };
            ctx.progress.note(format!(
                "  {scaled} x{n} at {} CPU each: {:.0} req/s ok, efficiency {:.2}",
                s.cpus_per_replica, point.throughput_rps, point.efficiency
            ));
            points.push(point);
        }
        anyhow::Ok(())
    }
    .await;
    // Back to an unlimited single replica, whatever happened.
    // (The monolith's balancer goes when the deployment is restored.)
    if let Some(spec) = ctx.d.topology.specs.get_mut(&scaled) {
        spec.cpus = None;
    }
    ctx.rt.scale(&mut ctx.d, &scaled, 1).await?;
    let name = ctx.d.replicas(&scaled).first().map(|i| i.name.clone());
    if let Some(name) = name.filter(|_| !external) {
        ctx.rt.restart(&mut ctx.d, &name).await?;
    }
    result?;
    Ok(Scale {
        name: s
            .name
            .clone()
            .unwrap_or_else(|| format!("scale-{}", s.service)),
        service: scaled,
        path: Some(path),
        cpus_per_replica: s.cpus_per_replica,
        points,
    })
}

//! Redeploy under load. `restart`: one service of the microservices against the whole
//! monolith, one process each, stopped and started. `rolling` with 2+ replicas: both roll
//! replica by replica through the same code — a service's replicas drained from the
//! gateway, the monolith's replicas (behind the gateway in balancer mode) drained from the
//! balancer. Time to healthy and the requests that failed meanwhile.

use std::time::Duration;

use super::ArchCtx;
use super::convert;
use super::intervals;
use super::measure::{Pace, Plan, PlannedStep};
use crate::results::{Deploy, DeployCycle, Repeated, Window};
use crate::scenario::{Action, DeployMode, DeploySpec};
use crate::topology::Arch;

pub(super) async fn run(ctx: &mut ArchCtx, s: &DeploySpec) -> anyhow::Result<Deploy> {
    let micro = ctx.d.arch == Arch::Micro;
    let service = if micro {
        s.service.clone()
    } else {
        "monolith".to_owned()
    };
    let replicas = s.replicas;
    if replicas > 1 {
        ctx.scale_to(&service, replicas).await?;
    }
    let path = ctx.d.request_path();
    let action = match (s.mode, replicas > 1) {
        (DeployMode::Rolling, true) => Action::RollingRestart,
        _ => Action::Restart,
    };
    let (warmup_s, duration_s) = ctx.times(s.warmup_s, s.duration_s);
    let plan = Plan {
        label: format!("{} redeploy {service}", ctx.d.arch),
        pace: Pace::Open { rate: s.rate },
        warmup_s,
        duration_s,
        mix: ctx.mix(&s.mix),
        steps: (0..s.cycles.max(1))
            .map(|c| PlannedStep {
                at_s: s.at_s + f64::from(c) * s.every_s,
                action,
                target: service.clone(),
                delay: Duration::ZERO,
                replicas: None,
            })
            .collect(),
        bucket_s: 0.5,
        adaptive: None,
    };
    let m = ctx.measure(&plan).await?;
    if let Some(e) = m.steps.iter().find_map(|st| st.error.clone()) {
        anyhow::bail!("the redeploy failed: {e}");
    }
    let step = m.steps.first().cloned().expect("one step");
    let end_s = m.raw.warmup_s + m.raw.measured_s;
    // Each redeploy: ready again (polled), served again and failures (from the log) until
    // the next one.
    let cycles: Vec<DeployCycle> = m
        .steps
        .iter()
        .enumerate()
        .map(|(i, st)| {
            let until = m.steps.get(i + 1).map_or(end_s, |n| n.started_s);
            DeployCycle {
                start_s: st.started_s,
                time_to_healthy_s: st.finished_s - st.started_s,
                served_again_s: m
                    .log
                    .as_ref()
                    .and_then(|l| intervals::recovery(l, None, st.started_s, until)),
                failed: m
                    .log
                    .as_ref()
                    .map_or(0, |l| intervals::unserved(l, st.started_s, until)),
            }
        })
        .collect();
    let window = Window {
        label: format!("redeploy {service}"),
        start_s: step.started_s,
        end_s: step.finished_s,
    };
    // Requests intended while the redeploy ran (the timeline counts by intended time).
    let (mut requests, mut failed) = (0, 0);
    for b in m
        .raw
        .timeline
        .buckets
        .iter()
        .filter(|b| b.t_s + m.raw.timeline.bucket_s > window.start_s && b.t_s < window.end_s)
    {
        requests += b.requests;
        // Not served: 5xx, refused or broken connections, timeouts (a 4xx is an answer).
        failed += b.ops.values().map(|o| o.unavailable).sum::<u64>();
    }
    let windows = vec![
        Window {
            label: "warm-up".into(),
            start_s: 0.0,
            end_s: warmup_s,
        },
        window.clone(),
    ];
    let deploy = Deploy {
        name: s
            .name
            .clone()
            .unwrap_or_else(|| format!("redeploy-{}", s.service)),
        service,
        path: Some(path),
        mode: if action == Action::RollingRestart {
            "rolling"
        } else {
            "restart"
        }
        .to_owned(),
        replicas,
        time_to_healthy_s: step.finished_s - step.started_s,
        requests_during: requests,
        failed_during: failed,
        run: {
            let mut run =
                convert::load_run(&m.raw, &Default::default(), windows, m.resources.clone());
            m.annotate(&mut run);
            run
        },
        window,
        healthy: Repeated::of(cycles.iter().map(|c| c.time_to_healthy_s).collect()),
        failed: (m.log.is_some())
            .then(|| Repeated::of(cycles.iter().map(|c| c.failed as f64).collect()))
            .flatten(),
        cycles,
    };
    ctx.progress.note(format!(
        "  {}: {} ready again after {:.1} s; {} of {} requests failed meanwhile",
        ctx.d.arch,
        deploy.service,
        deploy.time_to_healthy_s,
        deploy.failed_during,
        deploy.requests_during
    ));
    Ok(deploy)
}

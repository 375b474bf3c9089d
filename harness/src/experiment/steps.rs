//! A load run with arbitrary actions at given times, reported like a fault: the window runs
//! from the first action to the end of the last, the affected operations are those that need
//! any target.

use std::time::Duration;

use super::ArchCtx;
use super::fault;
use super::measure::{Pace, Plan, PlannedStep};
use crate::results::{Fault, Window};
use crate::scenario::StepsSpec;

pub(super) async fn run(ctx: &mut ArchCtx, s: &StepsSpec) -> anyhow::Result<Fault> {
    let (warmup_s, duration_s) = ctx.times(s.warmup_s, s.duration_s);
    let mix = ctx.mix(&s.mix);
    let targets: Vec<&str> = s
        .steps
        .iter()
        .map(|st| st.target.split('#').next().unwrap_or(""))
        .collect();
    let (affected, unaffected) = fault::split(&mix, &targets);
    let mut steps: Vec<PlannedStep> = s
        .steps
        .iter()
        .map(|st| PlannedStep {
            at_s: st.at_s,
            action: st.action,
            target: st.target.clone(),
            delay: Duration::from_millis(st.delay_ms.unwrap_or(200)),
            replicas: st.replicas,
        })
        .collect();
    steps.sort_by(|a, b| a.at_s.total_cmp(&b.at_s));
    let plan = Plan {
        label: format!("{} steps", ctx.d.arch),
        pace: Pace::Open { rate: s.rate },
        warmup_s,
        duration_s,
        mix,
        steps,
        bucket_s: 0.5,
        adaptive: None,
    };
    let m = ctx.measure(&plan).await?;
    let (first, last) = (m.steps.first().cloned(), m.steps.last().cloned());
    let window = Window {
        label: "steps".into(),
        start_s: first.as_ref().map_or(warmup_s, |f| f.started_s),
        end_s: last.as_ref().map_or(warmup_s, |l| l.finished_s),
    };
    let method = m
        .steps
        .iter()
        .map(|st| match &st.error {
            None => format!("{:.1} s: {}", st.started_s, st.how),
            Some(e) => format!(
                "{:.1} s: {} {} failed: {e}",
                st.started_s,
                st.action.as_str(),
                st.target
            ),
        })
        .collect::<Vec<_>>()
        .join("; ");
    let heal_started = last.as_ref().map_or(window.end_s, |l| l.started_s);
    Ok(fault::record(
        fault::Applied {
            name: s.name.clone().unwrap_or_else(|| "steps".into()),
            target: targets.join(","),
            action: "steps".into(),
            method,
            cycles: vec![(window, heal_started)],
            affected,
            unaffected,
            path: ctx.d.request_path(),
        },
        m,
    ))
}

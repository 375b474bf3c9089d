//! Break one part while load runs; the blast radius (how the operations that do not need
//! the broken part fare during the fault) and the time to recover once it is healed.

use std::collections::BTreeSet;
use std::time::Duration;

use super::ArchCtx;
use super::convert::{self, Groups};
use super::intervals;
use super::measure::{Measured, Pace, Plan, PlannedStep};
use crate::results::{Fault, FaultCycle, Repeated, Window};
use crate::scenario::{Action, FaultSpec};
use crate::topology::Arch;
use crate::workload::catalog;

/// Operations of `mix` that need any of `targets` (the gateway: every one), and the rest.
pub(super) fn split(
    mix: &std::collections::BTreeMap<String, f64>,
    targets: &[&str],
) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut affected = BTreeSet::new();
    let mut unaffected = BTreeSet::new();
    for name in mix.keys() {
        let needs = catalog::find(name).map_or(&[][..], |o| o.needs);
        if targets.contains(&"gateway") || needs.iter().any(|n| targets.contains(n)) {
            affected.insert(name.clone());
        } else {
            unaffected.insert(name.clone());
        }
    }
    (affected, unaffected)
}

/// What a fault-like run did, besides what it measured.
pub(super) struct Applied {
    pub name: String,
    pub target: String,
    pub action: String,
    pub method: String,
    /// Each cycle's fault window, and when its healing began (recovery counts from there).
    pub cycles: Vec<(Window, f64)>,
    pub affected: BTreeSet<String>,
    pub unaffected: BTreeSet<String>,
    /// The request path during the run.
    pub path: String,
}

/// The report's fault record from a measured run with one or more fault windows. With the
/// request log, windows are exact and recovery is timed per cycle to the request; without
/// it, the timeline's buckets give them.
pub(super) fn record(a: Applied, m: Measured) -> Fault {
    let Applied {
        name,
        target,
        action,
        method,
        cycles,
        affected,
        unaffected,
        path,
    } = a;
    let warmup = m.raw.warmup_s;
    let end = m.raw.warmup_s + m.raw.measured_s;
    let groups: Groups = [
        ("affected".to_owned(), affected.clone()),
        ("unaffected".to_owned(), unaffected.clone()),
    ]
    .into();
    let first = cycles.first().map_or(warmup, |c| c.0.start_s);
    let last = cycles.last().map_or(warmup, |c| c.0.end_s);
    let during: Vec<(f64, f64)> = cycles.iter().map(|c| (c.0.start_s, c.0.end_s)).collect();
    // Recovery of cycle i: from its healing until the next cycle's fault (or the run's end).
    let until = |i: usize| cycles.get(i + 1).map_or(end, |c| c.0.start_s);
    let (before, during_stats, after, affected_during, timed) = match &m.log {
        Some(log) => {
            let timed: Vec<FaultCycle> = cycles
                .iter()
                .enumerate()
                .map(|(i, (w, heal))| FaultCycle {
                    start_s: w.start_s,
                    end_s: w.end_s,
                    recovery_s: intervals::recovery(log, Some(&affected), *heal, until(i)),
                })
                .collect();
            (
                intervals::group(log, &unaffected, &[(warmup, first)]),
                intervals::group(log, &unaffected, &during),
                intervals::group(log, &unaffected, &[(last, end)]),
                intervals::group(log, &affected, &during),
                timed,
            )
        }
        None => {
            let timed = cycles
                .iter()
                .enumerate()
                .map(|(i, (w, heal))| FaultCycle {
                    start_s: w.start_s,
                    end_s: w.end_s,
                    recovery_s: convert::recovery(&m.raw, &affected, *heal)
                        .filter(|r| heal + r < until(i)),
                })
                .collect();
            (
                convert::group_stats(&m.raw, &unaffected, warmup, first),
                convert::group_stats(&m.raw, &unaffected, first, last),
                convert::group_stats(&m.raw, &unaffected, last, end),
                convert::group_stats(&m.raw, &affected, first, last),
                timed,
            )
        }
    };
    // Never recovering in any cycle is never recovering.
    let recoveries: Option<Vec<f64>> = timed.iter().map(|c| c.recovery_s).collect();
    let recovery = recoveries.and_then(Repeated::of);
    let mut windows = vec![Window {
        label: "warm-up".into(),
        start_s: 0.0,
        end_s: warmup,
    }];
    windows.extend(cycles.iter().map(|c| c.0.clone()));
    let mut run = convert::load_run(&m.raw, &groups, windows, m.resources.clone());
    m.annotate(&mut run);
    Fault {
        name,
        path: Some(path),
        target,
        action,
        method,
        run,
        window: cycles.first().map_or_else(
            || Window {
                label: "fault".into(),
                start_s: warmup,
                end_s: warmup,
            },
            |c| c.0.clone(),
        ),
        unaffected_before: before,
        unaffected_during: during_stats,
        unaffected_after: after,
        affected_during,
        recovery_s: recovery.as_ref().map(|r| r.mean),
        cycles: timed,
        recovery,
    }
}

pub(super) async fn run(ctx: &mut ArchCtx, f: &FaultSpec) -> anyhow::Result<Fault> {
    // With replicas, one replica of N is killed or paused: of the target service, or of the
    // whole monolith (behind its balancer). Its first replica carries the service's name.
    let replicated = f.replicas > 1;
    let holder = match ctx.d.arch {
        Arch::Micro => f.target.clone(),
        Arch::Monolith => "monolith".to_owned(),
    };
    if replicated {
        ctx.scale_to(&holder, f.replicas).await?;
    }
    let action = match ctx.d.arch {
        Arch::Micro => f.action,
        Arch::Monolith if replicated => f.action,
        Arch::Monolith => f.monolith.unwrap_or(f.action.monolith_equivalent()),
    };
    let target = if replicated {
        holder.clone()
    } else {
        f.target.clone()
    };
    let heal = action.heal().unwrap_or(Action::Heal);
    let (warmup_s, duration_s) = ctx.times(f.warmup_s, f.duration_s);
    let mix = ctx.mix(&f.mix);
    let (affected, unaffected) = split(&mix, &[f.target.as_str()]);
    let delay = Duration::from_millis(f.delay_ms);
    let plan = Plan {
        label: format!("{} {} {target}", ctx.d.arch, action.as_str()),
        pace: Pace::Open { rate: f.rate },
        warmup_s,
        duration_s,
        mix,
        steps: (0..f.cycles.max(1))
            .flat_map(|c| {
                let at = f.at_s + f64::from(c) * f.period_s();
                [(at, action), (at + f.for_s, heal)].map(|(at_s, action)| PlannedStep {
                    at_s,
                    action,
                    target: target.clone(),
                    delay,
                    replicas: None,
                })
            })
            .collect(),
        bucket_s: 0.5,
        adaptive: None,
    };
    let m = ctx.measure(&plan).await?;
    if let Some(e) = m.steps.iter().find_map(|s| s.error.clone()) {
        anyhow::bail!("the fault could not be applied or healed: {e}");
    }
    let cycles: Vec<(Window, f64)> = m
        .steps
        .chunks(2)
        .filter(|pair| pair.len() == 2)
        .map(|pair| {
            let window = Window {
                label: if replicated {
                    format!("{} {target} (1 of {})", action.as_str(), f.replicas)
                } else {
                    format!("{} {target}", action.as_str())
                },
                start_s: pair[0].started_s,
                end_s: pair[1].finished_s,
            };
            (window, pair[1].started_s)
        })
        .collect();
    let method = format!(
        "{}{}; then {}{}",
        m.steps[0].how,
        if replicated {
            format!(
                " (one replica of {} behind the {})",
                f.replicas,
                if ctx.d.arch == Arch::Micro {
                    "gateway"
                } else {
                    "balancer"
                }
            )
        } else {
            String::new()
        },
        m.steps[1].how,
        if cycles.len() > 1 {
            format!(" ({} times)", cycles.len())
        } else {
            String::new()
        }
    );
    let name = f.name.clone().unwrap_or_else(|| {
        if replicated {
            format!("{}-{}-1-of-{}", f.action.as_str(), f.target, f.replicas)
        } else {
            format!("{}-{}", f.action.as_str(), f.target)
        }
    });
    let fault = record(
        Applied {
            name,
            target: f.target.clone(),
            action: action.as_str().to_owned(),
            method,
            cycles,
            affected,
            unaffected,
            path: ctx.d.request_path(),
        },
        m,
    );
    ctx.progress.note(format!(
        "  {}: unaffected ops during the fault: {:.2}% ok, p99 {:.1} ms; recovery {}",
        ctx.d.arch,
        fault.unaffected_during.success_rate * 100.0,
        fault.unaffected_during.p99_us as f64 / 1000.0,
        match &fault.recovery {
            None => "never".to_owned(),
            Some(r) => match r.ci {
                Some(ci) => format!("{:.3} s [{:.3}, {:.3}]", r.mean, ci.lo, ci.hi),
                None => format!("{:.3} s", r.mean),
            },
        }
    ));
    Ok(fault)
}

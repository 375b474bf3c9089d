//! Break one part while load runs; the blast radius (how the operations that do not need
//! the broken part fare during the fault) and the time to recover once it is healed.

use std::collections::BTreeSet;
use std::time::Duration;

use super::ArchCtx;
use super::convert::{self, Groups};
use super::measure::{Measured, Pace, Plan, PlannedStep};
use crate::results::{Fault, Window};
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
    pub window: Window,
    /// When healing began (recovery is counted from here).
    pub heal_started_s: f64,
    pub affected: BTreeSet<String>,
    pub unaffected: BTreeSet<String>,
}

/// The report's fault record from a measured run with a fault window.
pub(super) fn record(a: Applied, m: Measured) -> Fault {
    let Applied {
        name,
        target,
        action,
        method,
        window,
        heal_started_s,
        affected,
        unaffected,
    } = a;
    let warmup = m.raw.warmup_s;
    let end = m.raw.warmup_s + m.raw.measured_s;
    let groups: Groups = [
        ("affected".to_owned(), affected.clone()),
        ("unaffected".to_owned(), unaffected.clone()),
    ]
    .into();
    let before = convert::group_stats(&m.raw, &unaffected, warmup, window.start_s);
    let during = convert::group_stats(&m.raw, &unaffected, window.start_s, window.end_s);
    let after = convert::group_stats(&m.raw, &unaffected, window.end_s, end);
    let affected_during = convert::group_stats(&m.raw, &affected, window.start_s, window.end_s);
    let recovery_s = convert::recovery(&m.raw, &affected, heal_started_s);
    let windows = vec![
        Window {
            label: "warm-up".into(),
            start_s: 0.0,
            end_s: warmup,
        },
        window.clone(),
    ];
    Fault {
        name,
        target,
        action,
        method,
        run: convert::load_run(&m.raw, &groups, windows, m.resources),
        window,
        unaffected_before: before,
        unaffected_during: during,
        unaffected_after: after,
        affected_during,
        recovery_s,
    }
}

pub(super) async fn run(ctx: &mut ArchCtx, f: &FaultSpec) -> anyhow::Result<Fault> {
    let action = match ctx.d.arch {
        Arch::Micro => f.action,
        Arch::Monolith => f.monolith.unwrap_or(f.action.monolith_equivalent()),
    };
    let heal = action.heal().unwrap_or(Action::Heal);
    let (warmup_s, duration_s) = ctx.times(f.warmup_s, f.duration_s);
    let mix = ctx.mix(&f.mix);
    let (affected, unaffected) = split(&mix, &[f.target.as_str()]);
    let delay = Duration::from_millis(f.delay_ms);
    let plan = Plan {
        label: format!("{} {} {}", ctx.d.arch, action.as_str(), f.target),
        pace: Pace::Open { rate: f.rate },
        warmup_s,
        duration_s,
        mix,
        steps: vec![
            PlannedStep {
                at_s: f.at_s,
                action,
                target: f.target.clone(),
                delay,
                replicas: None,
            },
            PlannedStep {
                at_s: f.at_s + f.for_s,
                action: heal,
                target: f.target.clone(),
                delay,
                replicas: None,
            },
        ],
        bucket_s: 0.5,
    };
    let m = ctx.measure(&plan).await?;
    if let Some(e) = m.steps.iter().find_map(|s| s.error.clone()) {
        anyhow::bail!("the fault could not be applied or healed: {e}");
    }
    let (hit, healed) = (&m.steps[0], &m.steps[1]);
    let window = Window {
        label: format!("{} {}", action.as_str(), f.target),
        start_s: hit.started_s,
        end_s: healed.finished_s,
    };
    let method = format!("{}; then {}", hit.how, healed.how);
    let heal_started = healed.started_s;
    let name = f
        .name
        .clone()
        .unwrap_or_else(|| format!("{}-{}", f.action.as_str(), f.target));
    let fault = record(
        Applied {
            name,
            target: f.target.clone(),
            action: action.as_str().to_owned(),
            method,
            window,
            heal_started_s: heal_started,
            affected,
            unaffected,
        },
        m,
    );
    ctx.progress.note(format!(
        "  {}: unaffected ops during the fault: {:.2}% ok, p99 {:.1} ms; recovery {}",
        ctx.d.arch,
        fault.unaffected_during.success_rate * 100.0,
        fault.unaffected_during.p99_us as f64 / 1000.0,
        fault
            .recovery_s
            .map_or("never".into(), |r| format!("{r:.1} s"))
    ));
    Ok(fault)
}

//! Equal CPU budgets: each architecture gets the same total CPU of the system under test
//! (say 0.5 and 1.0 core), divided among its processes by CPU quotas (cgroups, as `scale`
//! uses), and the knee search of `sweep` finds its max rate under the SLO within each.
//!
//! A kind of its own rather than a mode of `scale`: `scale` saturates replicas of one
//! service with closed-loop load under a quota per replica; this one divides one budget
//! over the *whole* system under test and searches the open-loop knee under the SLO with
//! the scenario's mix — a different subject and a different load method.
//!
//! **What shares a budget**, the same rule for both sides: every process of the deployment
//! — the CRM's processes (the monolith; the gateway and every service), PostgreSQL (its
//! postmaster and backends) and NATS. The database and the broker do work for the CRM, so a
//! budget that left them out would hand the side that leans on them more free CPU.
//!
//! **The split**: a short calibration run without quotas (`calibration_rate`) measures each
//! process's CPU seconds (the sampler every run has); each process then gets `min_cpus` plus
//! its share of the rest in proportion to that measured demand — the monolith's process and
//! its PostgreSQL likewise. The split is stored in the results and printed in the report.
//! Quotas are set on the running processes and lifted afterwards; nothing restarts.
//!
//! The monolith runs as `up` started it: one process reached directly (brought up with
//! replicas, the replicas and their balancer share the budget the same way).
//!
//! Limits: the split is static, as per-container limits are in a deployment — a process
//! cannot borrow another's idle share, which costs the side with more processes more — and
//! the demand is measured at the calibration rate, not at each knee.

use std::collections::BTreeMap;

use super::ArchCtx;
use super::measure::{Pace, Plan};
use crate::results::{Budget, BudgetCalibration, BudgetPoint, Ci, CoresForRate};
use crate::scenario::{BudgetSpec, SweepSearch, SweepSpec};

/// `min_cpus` for every process, and the rest of `budget` by `shares` (which sum to 1).
pub(crate) fn split(
    budget: f64,
    shares: &BTreeMap<String, f64>,
    min: f64,
) -> BTreeMap<String, f64> {
    let spare = (budget - min * shares.len() as f64).max(0.0);
    shares
        .iter()
        .map(|(name, s)| (name.clone(), min + spare * s))
        .collect()
}

/// The cores needed for `rate` from `(budget, max rate)` pairs in increasing budget: linear
/// interpolation between the two budgets whose max rates bracket it; `None` outside them.
pub(crate) fn cores_for(rate: f64, measured: &[(f64, Option<f64>)]) -> CoresForRate {
    let known: Vec<(f64, f64)> = measured
        .iter()
        .filter_map(|(b, r)| r.map(|r| (*b, r)))
        .collect();
    let answer = |cores: Option<f64>, how: String| CoresForRate {
        rate_rps: rate,
        cores,
        how,
    };
    let Some(&(b_first, r_first)) = known.first() else {
        return answer(None, "no budget met the SLO at any rate".into());
    };
    if let Some(&(b, _)) = known.iter().find(|(_, r)| (r - rate).abs() < 1e-9) {
        return answer(Some(b), format!("measured at {b} CPU"));
    }
    for w in known.windows(2) {
        let ((b0, r0), (b1, r1)) = (w[0], w[1]);
        if (r0 < rate && rate < r1) || (r1 < rate && rate < r0) {
            return answer(
                Some(b0 + (rate - r0) / (r1 - r0) * (b1 - b0)),
                format!("linear interpolation between {b0} and {b1} CPU"),
            );
        }
    }
    let (b_last, r_last) = known[known.len() - 1];
    if rate < r_first {
        answer(
            None,
            format!(
                "at most {b_first} CPU ({b_first} CPU sustains {r_first:.0} req/s; smaller budgets were not measured)"
            ),
        )
    } else {
        answer(
            None,
            format!("more than {b_last} CPU ({b_last} CPU sustains {r_last:.0} req/s)"),
        )
    }
}

/// The calibration run: each instance's CPU seconds at `calibration_rate`, unlimited.
async fn calibrate(ctx: &mut ArchCtx, b: &BudgetSpec) -> anyhow::Result<BudgetCalibration> {
    let (warmup_s, duration_s) = ctx.times(b.warmup_s, b.duration_s);
    let plan = Plan {
        label: format!("{} budget calibration", ctx.d.arch),
        pace: Pace::Open {
            rate: b.calibration_rate,
        },
        warmup_s,
        duration_s: b.calibration_s.unwrap_or(duration_s),
        mix: ctx.mix(&b.mix),
        steps: Vec::new(),
        bucket_s: 1.0,
        adaptive: None,
    };
    let m = ctx.measure(&plan).await?;
    let cpu_s: BTreeMap<String, f64> = ctx
        .d
        .instances
        .iter()
        .map(|i| {
            let used = m
                .resources
                .iter()
                .find(|u| u.instance == i.name)
                .map_or(0.0, |u| u.cpu_s.max(0.0));
            (i.name.clone(), used)
        })
        .collect();
    let total: f64 = cpu_s.values().sum();
    anyhow::ensure!(
        total > 0.0,
        "the calibration run measured no CPU on any process: the budget cannot be split"
    );
    let shares = cpu_s.iter().map(|(k, v)| (k.clone(), v / total)).collect();
    Ok(BudgetCalibration {
        rate_rps: b.calibration_rate,
        wall_s: m.raw.warmup_s + m.raw.measured_s,
        cpu_s,
        shares,
    })
}

/// Sets every instance's quota from `split` (`None`: lifts them all).
async fn apply(ctx: &ArchCtx, split: Option<&BTreeMap<String, f64>>) -> anyhow::Result<()> {
    for inst in &ctx.d.instances {
        let cpus = split.map(|s| *s.get(&inst.name).unwrap_or(&0.0));
        ctx.rt.set_cpu_quota(&ctx.d, &inst.name, cpus).await?;
    }
    Ok(())
}

/// The knee search under one budget: the search's bounds are per CPU of the budget.
async fn point(
    ctx: &mut ArchCtx,
    b: &BudgetSpec,
    budget: f64,
    split: BTreeMap<String, f64>,
) -> anyhow::Result<BudgetPoint> {
    let spec = SweepSpec {
        name: Some(format!("{budget} CPU")),
        rates: Vec::new(),
        search: Some(SweepSearch {
            low: b.search.low * budget,
            high: b.search.high * budget,
            ..b.search.clone()
        }),
        duration_s: b.duration_s,
        warmup_s: b.warmup_s,
        mix: b.mix.clone(),
    };
    let sweep = super::sweep::run(ctx, &spec).await?;
    let per_cpu = sweep.max_rate_under_slo.map(|r| r / budget);
    let per_cpu_ci = sweep.knee.as_ref().map(|k| Ci {
        lo: k.ci.lo / budget,
        hi: k.ci.hi / budget,
        open: k.ci.open,
    });
    Ok(BudgetPoint {
        budget_cpus: budget,
        split,
        max_rate_under_slo: sweep.max_rate_under_slo,
        max_rate_per_cpu: per_cpu,
        max_rate_per_cpu_ci: per_cpu.and(per_cpu_ci),
        sweep,
    })
}

pub(super) async fn run(ctx: &mut ArchCtx, b: &BudgetSpec) -> anyhow::Result<Budget> {
    let n = ctx.d.instances.len();
    for budget in &b.budgets {
        anyhow::ensure!(
            *budget >= b.min_cpus * n as f64 - 1e-9,
            "a budget of {budget} cores is below what the {}'s {n} processes minimally need \
             ({n} × min_cpus {})",
            ctx.d.arch,
            b.min_cpus
        );
        let sut = ctx.sut_cpus.len();
        anyhow::ensure!(
            sut == 0 || *budget <= sut as f64,
            "a budget of {budget} cores is more than the system under test's {sut} CPUs"
        );
    }
    let calibration = calibrate(ctx, b).await?;
    ctx.progress.note(format!(
        "  {}: CPU demand at {:.0} req/s: {}",
        ctx.d.arch,
        b.calibration_rate,
        calibration
            .shares
            .iter()
            .map(|(k, s)| format!("{k} {:.0}%", s * 100.0))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    let mut points = Vec::new();
    let measured = async {
        for &budget in &b.budgets {
            let split = split(budget, &calibration.shares, b.min_cpus);
            apply(ctx, Some(&split)).await?;
            ctx.progress.note(format!(
                "  {}: {budget} CPU: {}",
                ctx.d.arch,
                split
                    .iter()
                    .map(|(k, c)| format!("{k} {c:.3}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            let p = point(ctx, b, budget, split).await?;
            if let Some(r) = p.max_rate_per_cpu {
                ctx.progress.note(format!(
                    "  {}: {r:.0} req/s per CPU at {budget} CPU",
                    ctx.d.arch
                ));
            }
            points.push(p);
        }
        anyhow::Ok(())
    }
    .await;
    // Unlimited again, whatever happened.
    let lifted = apply(ctx, None).await;
    measured?;
    lifted?;
    let pairs: Vec<(f64, Option<f64>)> = points
        .iter()
        .map(|p: &BudgetPoint| (p.budget_cpus, p.max_rate_under_slo))
        .collect();
    Ok(Budget {
        name: b.name.clone().unwrap_or_else(|| "budget".into()),
        path: ctx.d.request_path(),
        rule: format!(
            "every process shares the budget (the CRM's, PostgreSQL with its backends{}); \
             each gets {} CPU plus the rest in proportion to its CPU at {:.0} req/s, \
             measured without quotas",
            if ctx.d.nats_url.is_some() {
                ", NATS"
            } else {
                ""
            },
            b.min_cpus,
            b.calibration_rate
        ),
        min_cpus: b.min_cpus,
        calibration,
        cores_for_rate: cores_for(b.rate_for_cores, &pairs),
        points,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_split_gives_each_its_floor_and_the_rest_by_demand() {
        let shares = BTreeMap::from([("a".to_owned(), 0.75), ("b".to_owned(), 0.25)]);
        let s = split(1.0, &shares, 0.1);
        assert!((s["a"] - 0.7).abs() < 1e-9, "{s:?}");
        assert!((s["b"] - 0.3).abs() < 1e-9, "{s:?}");
        assert!((s.values().sum::<f64>() - 1.0).abs() < 1e-9);
    }

    #[test]
    fn cores_for_a_rate_interpolate_between_bracketing_budgets_only() {
        let m = [(0.5, Some(100.0)), (1.0, Some(300.0))];
        let c = cores_for(200.0, &m);
        assert!((c.cores.unwrap() - 0.75).abs() < 1e-9, "{c:?}");
        assert!(c.how.contains("interpolation"), "{}", c.how);
        assert_eq!(cores_for(300.0, &m).cores, Some(1.0));
        let above = cores_for(400.0, &m);
        assert_eq!(above.cores, None);
        assert!(above.how.starts_with("more than 1 CPU"), "{}", above.how);
        let below = cores_for(50.0, &m);
        assert_eq!(below.cores, None);
        assert!(below.how.starts_with("at most 0.5 CPU"), "{}", below.how);
        assert_eq!(cores_for(50.0, &[(0.5, None)]).cores, None);
    }
}

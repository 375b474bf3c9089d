//! The verdict rows of the equal-budget experiment: max rate under the SLO per CPU at each
//! budget both architectures were given, and the cores each needs for the configured rate.

use crate::results::{ArchRun, Budget, BudgetPoint, Verdict};

use super::super::format;
use super::super::pick::{self, pairs};
use super::rows::{both, side};
use super::{Side, Spec, decide};

fn at(b: &Budget, cpus: f64) -> Option<&BudgetPoint> {
    b.points
        .iter()
        .find(|p| (p.budget_cpus - cpus).abs() < 1e-9)
}

pub(super) fn equal_budget(runs: &[ArchRun]) -> Vec<Verdict> {
    let mut out = Vec::new();
    for pair in pairs(runs, pick::budgets, |b| &b.name) {
        // Every budget either side measured, in increasing order.
        let mut budgets: Vec<f64> = pick::ARCHS
            .iter()
            .filter_map(|&a| pair.get(a))
            .flat_map(|b| b.points.iter().map(|p| p.budget_cpus))
            .collect();
        budgets.sort_by(f64::total_cmp);
        budgets.dedup_by(|a, b| (*a - *b).abs() < 1e-9);
        for cpus in budgets {
            let s = |x: Option<&Budget>| {
                side(x, |b| {
                    match at(b, cpus).and_then(|p| p.max_rate_per_cpu.map(|r| (p, r))) {
                        Some((p, r)) => Side::of(r, p.max_rate_per_cpu_ci),
                        None if at(b, cpus).is_some() => {
                            Side::Failed("met the SLO at no tested rate")
                        }
                        None => Side::Missing,
                    }
                })
            };
            let note = both(&pair, |b| {
                let split = at(b, cpus).map_or(String::new(), |p| {
                    p.split
                        .iter()
                        .map(|(k, c)| format!("{k} {c:.2}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                });
                format!("{cpus} CPU split {split}; {}", b.path)
            });
            out.push(decide(
                Spec {
                    metric: "resource use",
                    measure: format!(
                        "max rate under the SLO per CPU at an equal budget of {cpus} CPU ({})",
                        pair.name
                    ),
                    unit: "req/s per CPU",
                    short: "rate per CPU",
                    lower_is_better: false,
                    floor: 1.0,
                },
                s(pair.monolith),
                s(pair.micro),
                note,
            ));
        }
        let rate = pick::ARCHS
            .iter()
            .filter_map(|&a| pair.get(a))
            .map(|b| b.cores_for_rate.rate_rps)
            .next();
        if let Some(rate) = rate {
            let s = |x: Option<&Budget>| {
                side(x, |b| match b.cores_for_rate.cores {
                    Some(c) => Side::Value(c),
                    None => Side::Missing,
                })
            };
            let how = both(&pair, |b| b.cores_for_rate.how.clone());
            let mut row = decide(
                Spec {
                    metric: "resource use",
                    measure: format!(
                        "cores needed for {} (interpolated over the budgets; {})",
                        format::rps(rate),
                        pair.name
                    ),
                    unit: "CPU",
                    short: "cores",
                    lower_is_better: true,
                    floor: 0.01,
                },
                s(pair.monolith),
                s(pair.micro),
                how.clone(),
            );
            let ran = pair.monolith.is_some() && pair.micro.is_some();
            if ran && (row.monolith.is_none() || row.micro.is_none()) {
                // A side outside its budgets was measured: the note says on which side it
                // falls (the figure shows "—"), rather than "not measured".
                row.note = how;
            }
            out.push(row);
        }
    }
    out
}

//! The `budget` experiment's keys and their checks: equal total CPU budgets for both
//! architectures (see `experiment::budget`). A budget must leave every process of the
//! system under test — the CRM's processes, PostgreSQL, and NATS for the microservices —
//! at least `min_cpus` cores.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::experiment::SweepSearch;
use super::problems::Problems;
use crate::topology::{self, Arch, RuntimeKind};

/// `kind = "budget"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetSpec {
    pub name: Option<String>,
    /// Total CPU budgets of the system under test, in cores, e.g. `[0.5, 1.0]`; each
    /// architecture is measured at every one.
    pub budgets: Vec<f64>,
    /// The knee search of each budget; `low` and `high` are rates **per CPU of the budget**
    /// (a budget of 0.5 CPU searches from `low · 0.5` to `high · 0.5` req/s).
    pub search: SweepSearch,
    /// R of "cores needed for rate R", req/s (interpolated over the budgets measured).
    pub rate_for_cores: f64,
    /// Open-loop rate of the calibration run that measures each process's CPU demand,
    /// before any quota, req/s.
    pub calibration_rate: f64,
    /// Measured seconds of the calibration run (default: the experiment's duration).
    pub calibration_s: Option<f64>,
    /// The least any process gets, cores (default 0.02; the kernel enforces quotas of 0.01
    /// and more).
    #[serde(default = "min_cpus")]
    pub min_cpus: f64,
    pub duration_s: Option<f64>,
    pub warmup_s: Option<f64>,
    pub mix: Option<BTreeMap<String, f64>>,
}

fn min_cpus() -> f64 {
    0.02
}

/// The processes a budget is shared by on `arch`, as `up` starts it: the CRM's processes,
/// PostgreSQL, and NATS for the microservices.
pub fn processes_in_budget(arch: Arch) -> usize {
    topology::services(arch).len()
        + 1
        + match arch {
            Arch::Micro => 1,
            Arch::Monolith => 0,
        }
}

/// The number of CPUs in a taskset-style list (`"1"`, `"0,2"`, `"1-3"`).
fn cpus_in(list: &str) -> usize {
    list.split(',')
        .map(|part| {
            let mut ends = part.splitn(2, '-').map(|n| n.trim().parse::<usize>());
            match (ends.next(), ends.next()) {
                (Some(Ok(a)), Some(Ok(b))) if b >= a => b - a + 1,
                _ => 1,
            }
        })
        .sum()
}

/// Checks a budget experiment at `at` (`experiment[3]`) of `scenario`.
pub(super) fn validate(p: &mut Problems, at: &str, b: &BudgetSpec, scenario: &super::Scenario) {
    let archs = &scenario.architectures;
    let sut = scenario.cpus.sut.as_deref();
    p.check(
        scenario.runtime == RuntimeKind::Process,
        &format!("{at}.kind"),
        || {
            "needs runtime = \"process\": quotas are set on running processes (cgroups), \
             which the docker runtime does not do"
                .into()
        },
    );
    p.check(!b.budgets.is_empty(), &format!("{at}.budgets"), || {
        "needs at least one budget, in cores, such as [0.5, 1.0]".into()
    });
    p.check(
        b.min_cpus.is_finite() && b.min_cpus >= 0.01,
        &format!("{at}.min_cpus"),
        || {
            format!(
                "must be at least 0.01 cores (the smallest quota the kernel enforces), got {}",
                b.min_cpus
            )
        },
    );
    // The architecture with the most processes sets the least a budget can be.
    let (arch, n) = archs
        .iter()
        .map(|a| (*a, processes_in_budget(*a)))
        .max_by_key(|(_, n)| *n)
        .unwrap_or((Arch::Monolith, processes_in_budget(Arch::Monolith)));
    let least = b.min_cpus * n as f64;
    let sut_cpus = sut.map(cpus_in);
    for (j, budget) in b.budgets.iter().enumerate() {
        let path = format!("{at}.budgets[{j}]");
        if !(budget.is_finite() && *budget > 0.0) {
            p.check(false, &path, || {
                format!("must be a positive number of cores, got {budget}")
            });
            continue;
        }
        p.check(*budget >= least - 1e-9, &path, || {
            format!(
                "{budget} cores is below what the {arch}'s {n} processes minimally need \
                 ({n} × min_cpus {} = {least:.2} cores)",
                b.min_cpus
            )
        });
        if let Some(c) = sut_cpus {
            p.check(*budget <= c as f64, &path, || {
                format!("{budget} cores is more than the system under test's {c} CPUs (cpus.sut)")
            });
        }
        p.check(j == 0 || b.budgets[j - 1] < *budget, &path, || {
            "budgets must increase".into()
        });
    }
    p.positive(b.search.low, &format!("{at}.search.low"));
    p.check(
        b.search.high > b.search.low,
        &format!("{at}.search.high"),
        || "must be above search.low".into(),
    );
    p.check(
        (1..=20).contains(&b.search.iterations),
        &format!("{at}.search.iterations"),
        || "must be 1 to 20".into(),
    );
    p.check(
        b.search.precision > 0.0 && b.search.precision < 1.0,
        &format!("{at}.search.precision"),
        || "must be a fraction in (0, 1) such as 0.05".into(),
    );
    p.positive(b.rate_for_cores, &format!("{at}.rate_for_cores"));
    p.positive(b.calibration_rate, &format!("{at}.calibration_rate"));
    p.duration(b.calibration_s, &format!("{at}.calibration_s"));
    p.duration(b.duration_s, &format!("{at}.duration_s"));
    p.warmup(b.warmup_s, &format!("{at}.warmup_s"));
    if let Some(m) = &b.mix {
        p.mix(m, &format!("{at}.mix"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_budget_counts_postgres_and_nats_among_its_processes() {
        assert_eq!(processes_in_budget(Arch::Monolith), 2);
        assert_eq!(processes_in_budget(Arch::Micro), 10);
        assert_eq!(cpus_in("1"), 1);
        assert_eq!(cpus_in("0,2-3"), 3);
    }
}

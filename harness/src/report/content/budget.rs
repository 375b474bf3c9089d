//! The equal-budget section: per architecture, how the budget was split (from the measured
//! per-process CPU demand), the max rate under the SLO and per CPU at each budget, and the
//! cores needed for the configured rate.

use crate::results::{Budget, Ci, Results};

use super::super::doc::{Doc, Table};
use super::super::format::{self, rps};
use super::super::pick::{self, ARCHS};
use super::super::style::arch_label;

fn with_ci(v: Option<f64>, ci: Option<Ci>) -> String {
    match (v, ci) {
        (Some(v), Some(c)) => format!(
            "{} [{}–{}{}]",
            format::sig3(v),
            format::sig3(c.lo),
            format::sig3(c.hi),
            if c.open { "+" } else { "" }
        ),
        (Some(v), None) => format::sig3(v),
        (None, _) => "none met the SLO".to_owned(),
    }
}

fn one(doc: &mut Doc, b: &Budget, arch: crate::topology::Arch) {
    doc.p(format!(
        "{}: {}. Budget rule: {}. CPU demand measured at {} over {}: {}.",
        arch_label(arch),
        b.path,
        b.rule,
        rps(b.calibration.rate_rps),
        format::secs(b.calibration.wall_s),
        b.calibration
            .shares
            .iter()
            .map(|(k, s)| format!("{k} {}", format::pct(*s)))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    let mut t = Table::new(&[
        "budget (CPU)",
        "max rate under the SLO (req/s)",
        "per CPU (req/s)",
        "split (CPU per process)",
    ])
    .text_column(3);
    for p in &b.points {
        let knee_ci = p.sweep.knee.as_ref().map(|k| k.ci);
        t.row(vec![
            format::sig3(p.budget_cpus),
            with_ci(p.max_rate_under_slo, knee_ci),
            with_ci(p.max_rate_per_cpu, p.max_rate_per_cpu_ci),
            p.split
                .iter()
                .map(|(k, c)| format!("{k} {c:.3}"))
                .collect::<Vec<_>>()
                .join(", "),
        ]);
    }
    doc.table(t);
    let c = &b.cores_for_rate;
    doc.p(format!(
        "Cores needed for {}: {} ({}).",
        rps(c.rate_rps),
        c.cores
            .map_or("not within the budgets measured".to_owned(), |x| format!(
                "{} CPU",
                format::sig3(x)
            )),
        c.how
    ));
}

pub(super) fn budgets(doc: &mut Doc, results: &Results) {
    let pairs = pick::pairs(&results.runs, pick::budgets, |b| &b.name);
    if pairs.is_empty() {
        return;
    }
    doc.h(2, "Equal CPU budget");
    doc.p(
        "Both architectures get the same total CPU of the system under test, divided among \
         all their processes by cgroup CPU quotas; each budget's max rate under the SLO comes \
         from the sweep's knee search (isotonic fit; 95% interval in brackets, `+`: not shown \
         to miss the SLO at any tested rate), its search bounds scaled with the budget. \
         \"Cores needed\" is a linear interpolation between the budgets measured, not a \
         measurement at that many cores.",
    );
    for pair in &pairs {
        doc.h(3, format!("Budget: {}", pair.name));
        for arch in ARCHS {
            match pair.get(arch) {
                Some(b) => one(doc, b, arch),
                None => doc.p(format!("{}: {}.", arch_label(arch), format::NOT_MEASURED)),
            }
        }
    }
}

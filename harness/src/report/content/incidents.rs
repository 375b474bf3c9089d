//! Sections of the experiments that break something under load: faults and redeploys.

use crate::results::{GroupStats, Results};

use super::super::doc::{Doc, Table};
use super::super::figure::timeline_file;
use super::super::format::{self, pct, secs, us};
use super::super::pick::{self, ARCHS};
use super::super::style::arch_label;
use super::load::not_measured_row;

fn success(g: &GroupStats) -> String {
    if g.requests == 0 {
        "no requests".to_owned()
    } else {
        pct(g.success_rate)
    }
}

fn p99(g: &GroupStats) -> String {
    if g.requests == 0 {
        "—".to_owned()
    } else {
        us(g.p99_us)
    }
}

pub(super) fn faults(doc: &mut Doc, results: &Results) {
    let pairs = pick::pairs(&results.runs, pick::faults, |f| &f.name);
    if pairs.is_empty() {
        return;
    }
    doc.h(2, "Fault tolerance (blast radius)");
    doc.p(
        "Unaffected operations do not need the broken part; their success and p99 before, \
         during and after the fault show how far the failure spread. Recovery: from the end of \
         the fault until the affected operations succeed again for a whole 1 s bucket.",
    );
    for pair in &pairs {
        doc.h(3, format!("Fault: {}", pair.name));
        let mut t = Table::new(&[
            "architecture",
            "method",
            "unaffected success before / during / after",
            "unaffected p99 before / during / after",
            "affected success during",
            "affected p99 during",
            "recovery",
        ])
        .text_column(1);
        for arch in ARCHS {
            let row = match pair.get(arch) {
                Some(f) => vec![
                    arch_label(arch).to_owned(),
                    f.method.clone(),
                    [
                        &f.unaffected_before,
                        &f.unaffected_during,
                        &f.unaffected_after,
                    ]
                    .map(success)
                    .join(" / "),
                    [
                        &f.unaffected_before,
                        &f.unaffected_during,
                        &f.unaffected_after,
                    ]
                    .map(p99)
                    .join(" / "),
                    success(&f.affected_during),
                    p99(&f.affected_during),
                    f.recovery_s
                        .map_or_else(|| "never, within the run".to_owned(), secs),
                ],
                None => not_measured_row(arch, 7),
            };
            t.row(row);
        }
        doc.table(t);
        let groups: Vec<String> = ARCHS
            .iter()
            .filter_map(|&a| {
                pair.get(a).map(|f| {
                    format!(
                        "{}: fault window {}–{} s; unaffected ops {}; affected ops {}",
                        arch_label(a),
                        format::sig3(f.window.start_s),
                        format::sig3(f.window.end_s),
                        ops(&f.unaffected_during),
                        ops(&f.affected_during)
                    )
                })
            })
            .collect();
        doc.list(groups);
        doc.figure(timeline_file(&pair.name));
    }
}

fn ops(g: &GroupStats) -> String {
    if g.ops.is_empty() {
        "none listed".to_owned()
    } else {
        g.ops.join(", ")
    }
}

pub(super) fn deploys(doc: &mut Doc, results: &Results) {
    let pairs = pick::pairs(&results.runs, pick::deploys, |d| &d.name);
    if pairs.is_empty() {
        return;
    }
    doc.h(2, "Deployment");
    for pair in &pairs {
        doc.h(3, format!("Redeploy: {}", pair.name));
        let mut t = Table::new(&[
            "architecture",
            "what",
            "time to healthy",
            "requests during",
            "failed during",
            "failed share",
        ])
        .text_column(1);
        for arch in ARCHS {
            let row = match pair.get(arch) {
                Some(d) => vec![
                    arch_label(arch).to_owned(),
                    if d.replicas == 1 {
                        format!("{} of {}", d.mode, d.service)
                    } else {
                        format!("{} of {} ({} replicas)", d.mode, d.service, d.replicas)
                    },
                    secs(d.time_to_healthy_s),
                    d.requests_during.to_string(),
                    d.failed_during.to_string(),
                    if d.requests_during == 0 {
                        "no requests".to_owned()
                    } else {
                        pct(d.failed_during as f64 / d.requests_during as f64)
                    },
                ],
                None => not_measured_row(arch, 6),
            };
            t.row(row);
        }
        doc.table(t);
        doc.figure(timeline_file(&pair.name));
    }
}

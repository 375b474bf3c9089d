//! Sections about data and machines: consistency (lag and reconciliation) and resources.

use crate::results::Results;

use super::super::doc::{Doc, Table};
use super::super::format::{self, bytes, rps, us};
use super::super::pick::{self, ARCHS};
use super::super::style::arch_label;
use super::load::not_measured_row;

pub(super) fn consistency(doc: &mut Doc, results: &Results) {
    let pairs = pick::pairs(&results.runs, pick::consistency, |c| &c.name);
    if pairs.is_empty() {
        return;
    }
    doc.h(2, "Consistency");
    doc.p(
        "Lag: from an acknowledged write until the analytics projection reflected it. \
         Reconciliation: every acknowledged write present exactly once, and analytics totals \
         equal to a direct count of the source tables.",
    );
    for pair in &pairs {
        doc.h(3, format!("Consistency: {}", pair.name));
        let mut t = Table::new(&[
            "architecture",
            "lag p50",
            "lag p99",
            "lag samples",
            "acknowledged writes",
            "missing",
            "duplicated",
            "mismatches",
            "reconciliation",
        ]);
        let mut mismatches = Vec::new();
        for arch in ARCHS {
            let row = match pair.get(arch) {
                Some(c) => {
                    for m in &c.mismatches {
                        mismatches.push(format!("{}: {m}", arch_label(arch)));
                    }
                    vec![
                        arch_label(arch).to_owned(),
                        us(c.lag.p50_us),
                        us(c.lag.p99_us),
                        c.lag_samples.to_string(),
                        c.acknowledged_writes.values().sum::<u64>().to_string(),
                        c.missing.to_string(),
                        c.duplicated.to_string(),
                        c.mismatches.len().to_string(),
                        if c.passed { "passed" } else { "FAILED" }.to_owned(),
                    ]
                }
                None => not_measured_row(arch, 9),
            };
            t.row(row);
        }
        doc.table(t);
        if !mismatches.is_empty() {
            doc.warn("analytics totals that differ from a direct count:");
            doc.list(mismatches);
        }
    }
}

pub(super) fn resources(doc: &mut Doc, results: &Results) {
    let pairs = pick::pairs(&results.runs, pick::resources, |r| &r.name);
    if pairs.is_empty() {
        return;
    }
    doc.h(2, "Resource use");
    for (n, pair) in pairs.iter().enumerate() {
        doc.h(3, format!("Resources: {}", pair.name));
        let mut t = Table::new(&[
            "architecture",
            "instances",
            "CPU time",
            "peak RSS, summed",
            "requests",
            "CPU-ms per request",
            "cores at rate",
        ]);
        for arch in ARCHS {
            let row = match pair.get(arch) {
                Some(r) => vec![
                    arch_label(arch).to_owned(),
                    r.instances.len().to_string(),
                    format!("{} CPU-s", format::sig3(r.total_cpu_s)),
                    bytes(r.total_peak_rss_bytes),
                    r.requests.to_string(),
                    format::sig3(r.cpu_ms_per_request),
                    if r.at_rps > 0.0 {
                        format!("{} at {}", format::sig3(r.cores_at_rate), rps(r.at_rps))
                    } else {
                        format::NOT_MEASURED.to_owned()
                    },
                ],
                None => not_measured_row(arch, 7),
            };
            t.row(row);
        }
        doc.table(t);
        for arch in ARCHS {
            let Some(r) = pair.get(arch) else { continue };
            doc.p(format!("{} per instance:", arch_label(arch)));
            let mut t = Table::new(&["instance", "CPU time", "peak RSS"]);
            for i in &r.instances {
                t.row(vec![
                    i.instance.clone(),
                    format!("{} CPU-s", format::sig3(i.cpu_s)),
                    bytes(i.peak_rss_bytes),
                ]);
            }
            doc.table(t);
        }
        if n == 0 {
            // The chart shows the first resources experiment.
            doc.figure("resources.png");
        }
    }
}

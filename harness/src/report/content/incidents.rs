//! Sections of the experiments that break something under load: faults and redeploys.

use crate::results::{GroupStats, LoadRun, Repeated, Results};

use super::super::doc::{Doc, Table};
use super::super::figure::timeline_file;
use super::super::format::{self, pct, secs};
use super::super::pick::{self, ARCHS};
use super::super::style::arch_label;
use super::load::not_measured_row;

/// CPU steal this heavy during a run is said beside its figures (sweep points are re-run).
const HEAVY_STEAL: f64 = 0.10;

/// A warning for each architecture whose run of this experiment saw heavy CPU steal.
fn steal_warnings(doc: &mut Doc, runs: [(crate::topology::Arch, Option<&LoadRun>); 2]) {
    for (arch, run) in runs {
        if let Some(steal) = run
            .and_then(|r| r.point.as_ref())
            .and_then(|p| p.cpu_steal)
            .filter(|s| *s > HEAVY_STEAL)
        {
            doc.warn(format!(
                "{}: the hypervisor stole {} of the CPU time during this run; its timings \
                 carry that.",
                arch_label(arch),
                pct(steal)
            ));
        }
    }
}

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
        format::us_ci(g.p99_us, g.p99_ci)
    }
}

/// Seconds to the millisecond, with the interval over the cycles and their count:
/// `0.412 s [0.390–0.440], 3 cycles`.
fn repeated_secs(r: &Repeated) -> String {
    let n = r.values.len();
    match r.ci {
        Some(c) => format!(
            "{:.3} s [{:.3}–{:.3}], {n} cycles",
            r.mean,
            c.lo.max(0.0),
            c.hi
        ),
        None => format!("{:.3} s (1 cycle: no interval)", r.mean),
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
         during and after the fault show how far the failure spread (p99 with its 95% \
         interval). Recovery: from the start of healing until the affected operations were \
         served continuously — the first served request after the last failed one, from the \
         per-request log — averaged over the fault's cycles with a Student's t interval \
         (reports of schema v1: 0.5 s buckets).",
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
                    match (&f.recovery, f.recovery_s) {
                        (Some(r), _) => repeated_secs(r),
                        (None, Some(r)) => secs(r),
                        (None, None) => "never, within the run".to_owned(),
                    },
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
        steal_warnings(doc, ARCHS.map(|a| (a, pair.get(a).map(|f| &f.run))));
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
                    d.healthy
                        .as_ref()
                        .map_or_else(|| secs(d.time_to_healthy_s), repeated_secs),
                    d.requests_during.to_string(),
                    match &d.failed {
                        Some(f) if f.values.len() > 1 => format!(
                            "{} ({} per redeploy{})",
                            d.failed_during,
                            format::sig3(f.mean),
                            f.ci.map_or(String::new(), |c| format!(
                                " [{}–{}]",
                                format::sig3(c.lo.max(0.0)),
                                format::sig3(c.hi)
                            ))
                        ),
                        _ => d.failed_during.to_string(),
                    },
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
        steal_warnings(doc, ARCHS.map(|a| (a, pair.get(a).map(|d| &d.run))));
        doc.figure(timeline_file(&pair.name));
    }
}

//! Sections of the load experiments: sweeps, scaling, noisy neighbour, journeys.

use crate::results::{Results, Sweep};

use super::super::doc::{Doc, Table};
use super::super::figure::numbered;
use super::super::format::{self, pct, rps, us};
use super::super::pick::{self, ARCHS};
use super::super::style::arch_label;

/// Runs shorter than this (measured part) are flagged: METHOD.md does not trust them.
const SHORT_RUN_S: f64 = 10.0;

pub(super) fn sweeps(doc: &mut Doc, results: &Results, notes: &mut Vec<String>) {
    let pairs = pick::pairs(&results.runs, pick::sweeps, |s| &s.name);
    if pairs.is_empty() {
        return;
    }
    doc.h(2, "Response time and throughput (sweeps)");
    doc.p(
        "Percentiles carry 95% confidence intervals (order statistics, widened by batch means \
         over ten time slices of the point when its latencies are correlated; `+`: too few \
         samples above to bound it). measured: seconds after the warm-up (ended by a \
         Mann–Kendall stationarity test for adaptive points); stop: `precise` when p99's \
         interval reached the target half-width, `time cap` when the point ran out of time, \
         `fixed` for a fixed-length point, `!` flagged (see the notes); steal: CPU time the \
         hypervisor took during the point; speed: the machine-speed reference taken just \
         before the point (speed index ÷ 1000: compare points with each other and with the \
         run's reference in the machine table).",
    );
    for (i, pair) in pairs.iter().enumerate() {
        doc.h(3, format!("Sweep: {}", pair.name));
        for arch in ARCHS {
            let Some(s) = pair.get(arch) else {
                doc.p(format!("{}: {}.", arch_label(arch), format::NOT_MEASURED));
                continue;
            };
            let knee = match (&s.knee, s.max_rate_under_slo) {
                (Some(k), Some(r)) => format!(
                    "{} (95% interval {}–{}{}; {})",
                    rps(r),
                    format::sig3(k.ci.lo),
                    format::sig3(k.ci.hi),
                    if k.ci.open {
                        "+, not shown to miss it at any tested rate"
                    } else {
                        ""
                    },
                    k.method
                ),
                (_, Some(r)) => rps(r),
                (_, None) => "none of the tested rates".to_owned(),
            };
            doc.p(format!(
                "{}: max rate under the SLO (p99 ≤ {}, errors ≤ {}): {knee}.",
                arch_label(arch),
                us(s.slo_p99_us),
                pct(s.slo_max_error_rate),
            ));
            doc.table(sweep_table(s));
            for p in &s.points {
                if let Some(flag) = p.run.point.as_ref().and_then(|i| i.flag.clone()) {
                    notes.push(format!(
                        "{} sweep {} at {}: {flag}.",
                        arch_label(arch),
                        s.name,
                        rps(p.offered_rps)
                    ));
                }
                if p.run
                    .point
                    .as_ref()
                    .is_some_and(|i| i.adaptive && !i.warmup_stationary)
                {
                    notes.push(format!(
                        "{} sweep {} at {}: no stationary stretch was found within the warm-up's \
                         cap; measured from the cap on.",
                        arch_label(arch),
                        s.name,
                        rps(p.offered_rps)
                    ));
                }
                if let Some(i) = p.run.point.as_ref().filter(|i| !i.sources.is_empty()) {
                    notes.push(format!(
                        "{} sweep {} at {}: load from {}.",
                        arch_label(arch),
                        s.name,
                        rps(p.offered_rps),
                        sources_text(&i.sources)
                    ));
                }
                let adaptive = p.run.point.as_ref().is_some_and(|i| i.adaptive);
                if !adaptive && p.run.duration_s < SHORT_RUN_S {
                    notes.push(format!(
                        "{} sweep {} at {}: measured for only {} (under {} s is not trusted).",
                        arch_label(arch),
                        s.name,
                        rps(p.offered_rps),
                        format::secs(p.run.duration_s),
                        SHORT_RUN_S
                    ));
                }
            }
        }
        doc.figure(numbered("latency-throughput", i, &pair.name));
        if i == 0 {
            doc.figure("spectrum.png");
        }
    }
}

fn sweep_table(s: &Sweep) -> Table {
    let mut t = Table::new(&[
        "offered",
        "achieved",
        "p50 [95% interval]",
        "p99 [95% interval]",
        "p99.9",
        "p99 uncorrected",
        "errors",
        "SLO",
        "measured",
        "samples",
        "stop",
        "steal",
        "speed",
        "runs",
    ])
    .text_column(7)
    .text_column(10);
    for p in &s.points {
        let ci = p.latency.ci.as_ref();
        let info = p.run.point.as_ref();
        t.row(vec![
            rps(p.offered_rps),
            rps(p.achieved_rps),
            format::us_ci(p.latency.p50_us, ci.and_then(|c| c.p50)),
            format::us_ci(p.latency.p99_us, ci.and_then(|c| c.p99)),
            format::us_ci(p.latency.p999_us, ci.and_then(|c| c.p999)),
            us(p.run.total.uncorrected.p99_us),
            pct(p.error_rate),
            if p.meets_slo { "met" } else { "missed" }.to_owned(),
            format::secs(p.run.duration_s),
            p.latency.count.to_string(),
            info.map_or_else(|| "fixed".to_owned(), stop_text),
            info.and_then(|i| i.cpu_steal)
                .map_or_else(|| "—".to_owned(), pct),
            info.and_then(|i| i.speed)
                .map_or_else(|| "—".to_owned(), |v| format::sig3(v / 1000.0)),
            (1 + p.repeats.len()).to_string(),
        ]);
    }
    t
}

/// Who gave a distributed point's load: `3 engines: local 100 req/s offered, 99.8
/// achieved; 10.0.0.2:7700 100 req/s offered, MISSING (why)`.
fn sources_text(sources: &[crate::results::LoadSource]) -> String {
    let each: Vec<String> = sources
        .iter()
        .map(|s| match (s.achieved_rps, &s.error) {
            (Some(a), _) => format!(
                "{} {} offered, {} achieved",
                s.engine,
                rps(s.offered_rps),
                rps(a)
            ),
            (None, e) => format!(
                "{} {} offered, MISSING ({})",
                s.engine,
                rps(s.offered_rps),
                e.as_deref().unwrap_or("no results")
            ),
        })
        .collect();
    format!("{} engines: {}", sources.len(), each.join("; "))
}

/// How a point ended: `precise (±8.1%)`, `time cap (±14%)`, `fixed (±22%)`, with `!` when
/// flagged.
fn stop_text(i: &crate::results::PointInfo) -> String {
    let h = i
        .p99_precision
        .filter(|h| h.is_finite())
        .map_or(String::new(), |h| {
            format!(" (±{}%)", format::sig3(h * 100.0))
        });
    let flag = if i.flag.is_some() { " !" } else { "" };
    format!("{}{h}{flag}", i.stop)
}

pub(super) fn scales(doc: &mut Doc, results: &Results) {
    let pairs = pick::pairs(&results.runs, pick::scales, |s| &s.name);
    if pairs.is_empty() {
        return;
    }
    doc.h(2, "Scalability");
    for (i, pair) in pairs.iter().enumerate() {
        doc.h(3, format!("Scale: {}", pair.name));
        for arch in ARCHS {
            let Some(s) = pair.get(arch) else {
                let why = match arch {
                    crate::topology::Arch::Monolith => {
                        " (the monolith scales only as a whole: every module is replicated \
                         together, so no single part can be scaled)"
                    }
                    crate::topology::Arch::Micro => "",
                };
                doc.p(format!(
                    "{}: {}{why}.",
                    arch_label(arch),
                    format::NOT_MEASURED
                ));
                continue;
            };
            doc.p(format!(
                "{}: replicas of {} at {} CPU each.",
                arch_label(arch),
                s.service,
                s.cpus_per_replica
            ));
            let mut t = Table::new(&["replicas", "throughput", "p99", "efficiency"]);
            for p in &s.points {
                t.row(vec![
                    p.replicas.to_string(),
                    rps(p.throughput_rps),
                    us(p.p99_us),
                    format!("{:.2}", p.efficiency),
                ]);
            }
            doc.table(t);
        }
        doc.figure(numbered("scaling", i, &pair.name));
    }
}

pub(super) fn noisy(doc: &mut Doc, results: &Results) {
    let pairs = pick::pairs(&results.runs, pick::noisy, |n| &n.name);
    if pairs.is_empty() {
        return;
    }
    doc.h(2, "Noisy neighbour");
    for pair in &pairs {
        doc.h(3, format!("Noisy neighbour: {}", pair.name));
        let mut t = Table::new(&[
            "architecture",
            "p99 alone",
            "p99 beside",
            "ratio",
            "success alone",
            "success beside",
            "neighbour",
        ]);
        for arch in ARCHS {
            let row = match pair.get(arch) {
                Some(n) => vec![
                    arch_label(arch).to_owned(),
                    us(n.alone.p99_us),
                    us(n.beside_neighbour.p99_us),
                    format!("{:.2}×", n.p99_ratio),
                    pct(n.alone.success_rate),
                    pct(n.beside_neighbour.success_rate),
                    rps(n.neighbour_rps),
                ],
                None => not_measured_row(arch, 7),
            };
            t.row(row);
        }
        doc.table(t);
    }
}

pub(super) fn journeys(doc: &mut Doc, results: &Results) {
    let pairs = pick::pairs(&results.runs, pick::journeys, |j| &j.name);
    if pairs.is_empty() {
        return;
    }
    doc.h(2, "User journeys (closed loop)");
    for pair in &pairs {
        doc.h(3, format!("Journeys: {}", pair.name));
        let mut t = Table::new(&[
            "architecture",
            "users",
            "journeys",
            "journeys/s",
            "requests/s",
            "p50",
            "p99",
            "failed",
        ]);
        for arch in ARCHS {
            let row = match pair.get(arch) {
                Some(j) => vec![
                    arch_label(arch).to_owned(),
                    j.users.to_string(),
                    j.journeys_completed.to_string(),
                    if j.run.duration_s > 0.0 {
                        format::sig3(j.journeys_completed as f64 / j.run.duration_s)
                    } else {
                        format::NOT_MEASURED.to_owned()
                    },
                    rps(j.run.achieved_rps),
                    us(j.run.total.corrected.p50_us),
                    us(j.run.total.corrected.p99_us),
                    j.run.failed.to_string(),
                ],
                None => not_measured_row(arch, 8),
            };
            t.row(row);
        }
        doc.table(t);
    }
}

/// A table row saying the architecture did not run the experiment.
pub(super) fn not_measured_row(arch: crate::topology::Arch, columns: usize) -> Vec<String> {
    let mut row = vec![arch_label(arch).to_owned(), format::NOT_MEASURED.to_owned()];
    row.resize(columns, String::new());
    row
}

#[cfg(test)]
mod tests {
    use crate::results::LoadSource;

    #[test]
    fn a_lost_workers_share_is_named_and_shown_missing() {
        let ok = LoadSource {
            engine: "local".into(),
            offered_rps: 100.0,
            achieved_rps: Some(99.0),
            requests: 990,
            error: None,
        };
        let lost = LoadSource {
            engine: "10.0.0.2:7700".into(),
            offered_rps: 100.0,
            error: Some("disconnected mid-run".into()),
            ..LoadSource::default()
        };
        let text = super::sources_text(&[ok, lost]);
        assert!(
            text.starts_with("2 engines: local 100 req/s offered, 99"),
            "{text}"
        );
        assert!(
            text.contains("10.0.0.2:7700 100 req/s offered, MISSING (disconnected mid-run)"),
            "{text}"
        );
    }
}

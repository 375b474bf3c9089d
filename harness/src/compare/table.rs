//! The comparison as a text table (terminal, CI log) or a markdown table, with the summary
//! that names every regression and states the single-sample rule.

use std::fmt::Write;

use crate::report::format;

use super::{Comparison, Delta, Metric, Status};

const HEAD: [&str; 7] = [
    "metric",
    "point",
    "base",
    "current",
    "change",
    "95% interval",
    "status",
];

fn value(m: Metric, v: f64) -> String {
    match m {
        Metric::Throughput => format::rps(v),
        Metric::P50 | Metric::P99 => format::us_f(v),
        Metric::CpuPerRequest => format!("{} CPU-ms/req", format::sig3(v)),
        Metric::ErrorRate => format::pct(v),
    }
}

/// The side's mean as the change is computed (geometric for ratios, arithmetic for the
/// error rate) and its sample count.
fn side(m: Metric, xs: &[f64]) -> String {
    if xs.is_empty() {
        return "—".to_owned();
    }
    let mean = if m == Metric::ErrorRate {
        xs.iter().sum::<f64>() / xs.len() as f64
    } else {
        super::geometric_mean(xs)
    };
    format!("{} (n={})", value(m, mean), xs.len())
}

fn change(m: Metric, c: f64) -> String {
    if m == Metric::ErrorRate {
        format!("{:+.2} pp", c * 100.0)
    } else {
        let p = (c - 1.0) * 100.0;
        if p.abs() < 0.05 {
            "±0%".to_owned()
        } else {
            format!("{p:+.1}%")
        }
    }
}

fn status(d: &Delta, c: &Comparison) -> String {
    let tol = c.tolerances.get(d.metric);
    match d.status {
        Status::Regression => format!("REGRESSION (beyond {})", limit(d.metric, tol)),
        Status::Improvement => "improved".to_owned(),
        Status::WithinNoise => "within noise".to_owned(),
        Status::SingleSample => "single sample: cannot separate noise".to_owned(),
        Status::OnlyInBase => "only in base".to_owned(),
        Status::OnlyInCurrent => "only in current".to_owned(),
    }
}

/// The tolerance as the bad direction reads: `-25%`, `+50%`, `+1.0 pp`.
fn limit(m: Metric, tol: f64) -> String {
    match m {
        Metric::ErrorRate => format!("+{:.1} pp", tol * 100.0),
        Metric::Throughput => format!("-{:.0}%", tol * 100.0),
        _ => format!("+{:.0}%", tol * 100.0),
    }
}

fn rows(c: &Comparison) -> Vec<[String; 7]> {
    c.deltas
        .iter()
        .map(|d| {
            [
                d.metric.name().to_owned(),
                d.key.clone(),
                side(d.metric, &d.base),
                side(d.metric, &d.current),
                match (d.change, d.raw_change) {
                    (Some(x), Some(raw)) => {
                        format!("{} (raw {})", change(d.metric, x), change(d.metric, raw))
                    }
                    (Some(x), None) => change(d.metric, x),
                    (None, _) => "—".to_owned(),
                },
                d.interval.map_or_else(
                    || "—".to_owned(),
                    |(lo, hi)| format!("{} … {}", change(d.metric, lo), change(d.metric, hi)),
                ),
                status(d, c),
            ]
        })
        .collect()
}

/// How the two machines were put side by side.
fn machines(c: &Comparison) -> String {
    match (c.speed_ratio, c.uncalibrated) {
        (Some(r), _) if c.adjusted => format!(
            "Machine speed: the current run's reference (JSON and loopback round trips on the \
             SUT's CPU, measured in each run) ran at {r:.2}× the base's; its latency figures \
             are multiplied by {r:.2} before comparing (the change as measured in brackets); \
             CPU per request, throughput and errors are compared as measured; --raw compares \
             every figure as measured."
        ),
        (Some(r), _) => format!(
            "Machine speed: the current run's reference ran at {r:.2}× the base's; every figure \
             is compared as measured (--raw)."
        ),
        (None, side) => format!(
            "No machine-speed reference in {}: every figure is compared as measured, so a \
             slower machine reads as slower code (re-measure the baseline with this version).",
            side.unwrap_or("either side")
        ),
    }
}

/// The lines after the table: tolerances, the single-sample rule, and the verdict.
fn summary(c: &Comparison) -> Vec<String> {
    let mut out = vec![machines(c)];
    if let (Some(b), Some(cur)) = c.steal {
        out.push(format!(
            "CPU steal (time the hypervisor gave other guests) during the runs: base {}, \
             current {}.",
            format::pct(b),
            format::pct(cur)
        ));
    }
    if c.base_runs > 1 {
        out.push(format!(
            "The base pools {} runs: each point's base samples are every run of it in them.",
            c.base_runs
        ));
    }
    if let Some((b, cur)) = &c.profiles_differ {
        out.push(format!(
            "The CRM was built {b} in the base and {cur} in the current run: the figures \
             compare two builds, not two versions of the code."
        ));
    }
    let t = &c.tolerances;
    out.push(format!(
        "Tolerances (a regression needs the whole 95% interval beyond them): throughput {}, \
         p50 {}, p99 {}, cpu {}, errors {}; override with --tolerance METRIC=PERCENT.",
        limit(Metric::Throughput, t.throughput),
        limit(Metric::P50, t.p50),
        limit(Metric::P99, t.p99),
        limit(Metric::CpuPerRequest, t.cpu_per_request),
        limit(Metric::ErrorRate, t.error_rate)
    ));
    let single = c
        .deltas
        .iter()
        .filter(|d| d.status == Status::SingleSample)
        .count();
    if single > 0 {
        out.push(format!(
            "{single} of {} deltas rest on a single sample on a side: one sample cannot \
             separate a change from noise, so they are shown but never fail the comparison \
             (repeat the points to test them).",
            c.deltas.len()
        ));
    }
    let regressions: Vec<String> = c
        .regressions()
        .map(|d| {
            format!(
                "{} at {}: {}{}",
                d.metric,
                d.key,
                d.change.map_or_else(String::new, |x| change(d.metric, x)),
                d.interval.map_or_else(String::new, |(lo, hi)| format!(
                    " (95% interval {} … {})",
                    change(d.metric, lo),
                    change(d.metric, hi)
                ))
            )
        })
        .collect();
    if regressions.is_empty() {
        out.push("No regression beyond the noise.".to_owned());
    } else {
        out.push(format!(
            "REGRESSION: {} metric(s) beyond the tolerance:",
            regressions.len()
        ));
        out.extend(regressions.into_iter().map(|r| format!("  - {r}")));
    }
    out
}

pub(super) fn text(c: &Comparison) -> String {
    let rows = rows(c);
    let mut widths = HEAD.map(|h| h.chars().count());
    for r in &rows {
        for (w, cell) in widths.iter_mut().zip(r.iter()) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let line = |out: &mut String, cells: &[String]| {
        let padded: Vec<String> = cells
            .iter()
            .zip(widths.iter())
            .map(|(c, w)| format!("{c}{}", " ".repeat(w - c.chars().count())))
            .collect();
        let _ = writeln!(out, "{}", padded.join("  ").trim_end());
    };
    line(&mut out, &HEAD.map(str::to_owned));
    line(&mut out, &widths.map(|w| "-".repeat(w)));
    for r in &rows {
        line(&mut out, r);
    }
    out.push('\n');
    for s in summary(c) {
        let _ = writeln!(out, "{s}");
    }
    out
}

pub(super) fn markdown(c: &Comparison) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "| {} |", HEAD.join(" | "));
    let _ = writeln!(out, "|---|---|---:|---:|---:|---:|---|");
    for r in rows(c) {
        let cells: Vec<String> = r.iter().map(|x| x.replace('|', "\\|")).collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    out.push('\n');
    for s in summary(c) {
        let _ = writeln!(out, "{s}\n");
    }
    out
}

//! "Where the time goes": for each traced sweep point, each operation's latency decomposed
//! per hop on both architectures (p50 / p99 of each part), the stacked-bar figure, the
//! critical path of `convert_lead`, and the slowest trace of each operation as a tree.

use crate::results::Results;
use crate::results::breakdown::{Dist, OpBreakdown};

use super::super::doc::{Doc, Table};
use super::super::figure::breakdown::{TracedPoint, part_order, traced_points};
use super::super::format::{pct, rps, us_f};
use super::super::style::arch_label;

/// The operation whose two implementations differ on purpose (transaction vs saga).
const CONVERT: &str = "convert_lead";

fn p50_p99(d: &Dist) -> String {
    format!("{} / {}", us_f(d.p50()), us_f(d.p99()))
}

/// Tracing's own cost, when the scenario measured it.
fn overhead(doc: &mut Doc, results: &Results) {
    if results.runs.iter().all(|r| r.trace_overhead.is_empty()) {
        return;
    }
    doc.h(3, "Tracing's own cost");
    doc.p(
        "The sweep's rates again, with tracing off (no exporter, no header), on for every \
         request, and on at the sampled share. CPU per request is every process of the system \
         under test (warm-up included); latencies are corrected, all operations.",
    );
    let mut t = Table::new(&[
        "architecture",
        "rate",
        "tracing",
        "CPU-ms/req",
        "Δ CPU",
        "p50",
        "Δ p50",
        "p99",
        "Δ p99",
    ])
    .text_column(0)
    .text_column(2);
    let change = |on: f64, off: f64| {
        if off > 0.0 {
            format!("{:+.0}%", (on / off - 1.0) * 100.0)
        } else {
            "–".into()
        }
    };
    for run in &results.runs {
        for o in &run.trace_overhead {
            let off = o.modes.iter().find(|m| m.mode == "off");
            for m in &o.modes {
                let (c, p50, p99) = off.map_or(("–".into(), "–".into(), "–".into()), |f| {
                    (
                        change(m.cpu_ms_per_request, f.cpu_ms_per_request),
                        change(m.p50_us as f64, f.p50_us as f64),
                        change(m.p99_us as f64, f.p99_us as f64),
                    )
                });
                t.row(vec![
                    arch_label(run.arch).to_owned(),
                    rps(o.rate),
                    if m.mode == "off" {
                        "off".into()
                    } else {
                        format!("on, {}", pct(m.sample_ratio))
                    },
                    format!("{:.3}", m.cpu_ms_per_request),
                    c,
                    us_f(m.p50_us as f64),
                    p50,
                    us_f(m.p99_us as f64),
                    p99,
                ]);
            }
        }
    }
    doc.table(t);
}

pub(super) fn breakdowns(doc: &mut Doc, results: &Results, notes: &mut Vec<String>) {
    let points = traced_points(results);
    if points.is_empty() {
        return;
    }
    doc.h(2, "Where the time goes (traces)");
    doc.p(
        "Each operation's latency split per hop, from the traces of the load generator's \
         sampled requests, matched to its own end-to-end figure of the same requests (from \
         the actual send). Parts: each process's own time (span time not covered by its \
         children), PostgreSQL (every statement as sqlx timed it), the wire between processes \
         (a client span minus the server span it called), waiting (pool, backoff, queue) and \
         what no span saw (unaccounted: the hop from the load generator to the first process, \
         and the rest). Parallel children share the time they overlap. Cells: p50 / p99.",
    );
    let ratio = points
        .iter()
        .flat_map(|p| p.by_arch.iter().map(|(_, b)| b.sample_ratio))
        .fold(0.0, f64::max);
    notes.push(format!(
        "Tracing was on for every open-loop run of this report ({} of requests sampled by \
         the load generator): its figures include tracing's cost.",
        pct(ratio)
    ));
    overhead(doc, results);
    for point in &points {
        section(doc, point);
    }
}

fn section(doc: &mut Doc, point: &TracedPoint<'_>) {
    doc.h(3, format!("{} at {}", point.sweep, rps(point.rate)));
    for (arch, b) in &point.by_arch {
        let edge = b.edge_us.map_or(String::new(), |e| {
            format!(
                " The HTTP edge (a `GET /healthz` round trip through the load generator right \
                 after the run: client, loopback and the server's work outside its spans): \
                 {e:.0} µs; \"with the edge\" counts each request's unaccounted time up to it."
            )
        });
        doc.p(format!(
            "{}: {} of {} sampled requests matched to a trace ({} spans, {} refused exports; \
             spans in `{}`).{edge}",
            arch_label(*arch),
            b.traces,
            b.sampled_requests,
            b.spans,
            b.rejected_exports,
            b.spans_file
        ));
        let names: Vec<String> = b
            .ops
            .values()
            .flat_map(|o| o.parts.keys().cloned())
            .collect();
        let parts = part_order(&names);
        let mut head: Vec<String> = vec![
            "operation".into(),
            "traces".into(),
            "end to end".into(),
            "accounted".into(),
            "with the edge".into(),
        ];
        head.extend(
            parts
                .iter()
                .map(|p| p.trim_start_matches("service:").to_owned()),
        );
        let head: Vec<&str> = head.iter().map(String::as_str).collect();
        let mut t = Table::new(&head).text_column(0);
        for (op, o) in &b.ops {
            let mut row = vec![
                op.clone(),
                o.traces.to_string(),
                p50_p99(&o.end_to_end),
                pct(o.accounted_share),
                o.accounted_with_edge.map_or("–".into(), pct),
            ];
            row.extend(
                parts
                    .iter()
                    .map(|p| o.parts.get(p).map_or("–".into(), p50_p99)),
            );
            t.row(row);
        }
        doc.table(t);
    }
    doc.figure(point.file());
    critical_paths(doc, point);
    exemplars(doc, point);
}

fn critical_paths(doc: &mut Doc, point: &TracedPoint<'_>) {
    let any = point
        .by_arch
        .iter()
        .any(|(_, b)| b.ops.contains_key(CONVERT));
    if !any {
        return;
    }
    doc.h(
        4,
        format!("Critical path of {CONVERT} (the trace nearest the median)"),
    );
    for (arch, b) in &point.by_arch {
        let Some(o) = b.ops.get(CONVERT) else {
            continue;
        };
        let text: String = o
            .critical_path
            .iter()
            .map(|s| {
                format!(
                    "{:>10} {:>10}  {}{}: {}\n",
                    us_f(s.duration_us),
                    us_f(s.self_us),
                    "  ".repeat(s.depth),
                    s.process,
                    s.name
                )
            })
            .collect();
        doc.p(format!("{} (duration, own time, span):", arch_label(*arch)));
        doc.code(text);
    }
}

fn exemplars(doc: &mut Doc, point: &TracedPoint<'_>) {
    doc.h(4, "Slowest trace of each operation");
    for (arch, b) in &point.by_arch {
        for (op, o) in &b.ops {
            if let Some(e) = slowest(o) {
                doc.p(format!(
                    "{} {op}: {} end to end, trace {} (start, duration, process: span, own time):",
                    arch_label(*arch),
                    us_f(e.0),
                    e.1
                ));
                doc.code(e.2.clone());
            }
        }
    }
}

fn slowest(o: &OpBreakdown) -> Option<(f64, String, String)> {
    o.exemplars
        .first()
        .map(|e| (e.end_to_end_us, e.trace_id.clone(), e.tree.clone()))
}

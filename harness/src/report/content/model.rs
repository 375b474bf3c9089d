//! "Model vs measurement (simulated)": what the calibrated crm-sim model predicts for this
//! run's own points beside what was measured, the relative error against each accuracy
//! target, which points the model was calibrated on (held in, not predictions), and the
//! utilisation law's check of each process's service demand. Omitted, with the reason, when
//! the run has no per-hop breakdown to calibrate from.

use crate::results::Results;
use crate::results::model::ModelRow;

use super::super::doc::{Doc, Table};
use super::super::figure::Figure;
use super::super::format::{pct, rps, us_f};
use super::super::style::arch_label;

/// The section's figure (drawn by `figure::model`).
pub(crate) const FIGURE: &str = "model-vs-measurement.png";

fn value(v: Option<f64>, unit: &str) -> String {
    match (v, unit) {
        (None, _) => "–".into(),
        (Some(v), "µs") => us_f(v),
        (Some(v), "req/s") => rps(v),
        (Some(v), "ms") => format!("{v:.3} ms"),
        (Some(v), u) => format!("{v:.3} {u}"),
    }
}

fn verdict(r: &ModelRow) -> String {
    match (r.held_in, r.target, r.meets_target()) {
        (true, _, _) => "held in (calibrated)".into(),
        (_, Some(t), Some(true)) => format!("within ±{:.0}%", t * 100.0),
        (_, Some(t), Some(false)) => format!("MISSED ±{:.0}%", t * 100.0),
        (_, None, _) if r.utilisation.is_some_and(|u| u >= 0.7) && r.metric != "p99" => {
            "no target (≥ 70% utilised)".into()
        }
        _ => "–".into(),
    }
}

pub(crate) fn section(doc: &mut Doc, results: &Results, figures: &[Figure]) {
    doc.h(2, "Model vs measurement (simulated)");
    let Some(m) = &results.model else {
        doc.p(
            "Omitted: this run has no per-hop breakdown to calibrate the model from (run the \
             scenario with `--trace`).",
        );
        return;
    };
    doc.warn(format!(
        "every \"predicted\" figure in this section is SIMULATED by crm-sim, not measured. \
         Calibration: {}.",
        if m.source.is_empty() {
            "none could be derived"
        } else {
            &m.source
        }
    ));
    doc.p(
        "The model was calibrated on the held-in points only (by default each architecture's \
         lowest-rate traced sweep point) and replays every other point of this run — each \
         sweep rate and the knee found over them by the same isotonic fit, each scale step, \
         each fault window — on one node with the system under test's cores. Nothing is tuned \
         to the points it predicts. Targets: achieved rate, mean and p50 within 10% below 70% \
         utilisation, p99 within 25%, the knee within 15%, CPU per request within 10%. The \
         calibration is in results.json (`model.calibration_toml`); `crm-bench calibrate DIR` \
         writes it, `crm-bench simulate --validate DIR` prints this comparison.",
    );
    if figures.iter().any(|f| f.file == FIGURE) {
        doc.figure(FIGURE);
    }
    for a in &m.archs {
        doc.h(3, format!("{} (simulated vs measured)", arch_label(a.arch)));
        let mut t = Table::new(&[
            "experiment",
            "point",
            "metric",
            "measured",
            "predicted (simulated)",
            "error",
            "model utilisation",
            "target",
        ])
        .text_column(1)
        .text_column(2)
        .text_column(7);
        for r in &a.rows {
            t.row(vec![
                r.experiment.clone(),
                r.point.clone(),
                r.metric.clone(),
                value(r.measured, &r.unit),
                value(r.predicted, &r.unit),
                r.error()
                    .map_or("–".into(), |e| format!("{:+.1}%", e * 100.0)),
                r.utilisation.map_or("–".into(), pct),
                verdict(r),
            ]);
        }
        doc.table(t);
        let scored: Vec<&ModelRow> = a
            .rows
            .iter()
            .filter(|r| !r.held_in && r.meets_target().is_some())
            .collect();
        if !scored.is_empty() {
            let met = scored
                .iter()
                .filter(|r| r.meets_target() == Some(true))
                .count();
            doc.p(format!(
                "{}: {met} of {} held-out figures within their target.",
                arch_label(a.arch),
                scored.len()
            ));
        }
        if !a.demand.is_empty() {
            let mut d = Table::new(&[
                "process",
                "model (trees)",
                "measured (U/X)",
                "disagreement",
                "share on a core",
                "added outside spans",
                "background (cores)",
            ]);
            for c in &a.demand {
                d.row(vec![
                    c.process.clone(),
                    format!("{:.3} ms", c.model_ms),
                    c.measured_ms
                        .map_or("not sampled".into(), |v| format!("{v:.3} ms")),
                    c.disagreement()
                        .map_or("–".into(), |e| format!("{:+.0}%", e * 100.0)),
                    c.scaled_by.map_or("–".into(), |f| format!("{f:.3}")),
                    c.unspanned_ms.map_or("–".into(), |u| format!("{u:.3} ms")),
                    c.background.as_ref().map_or("–".into(), |b| b.describe()),
                ]);
            }
            doc.p(
                "Service demand per request at the held-in point(s): CPU the calibrated trees \
                 charge each process (span self times, statements, relay and broker) against \
                 the utilisation law D = U/X from its measured CPU seconds. Span self time is \
                 not CPU: a wait for a core counts in it, work outside any span does not. \
                 Where the trees charge a process more than 10% above its target — the slope \
                 b of CPU = a + b·X over two or more held-in rates, else U/X — the \
                 calibration puts only that share of its times on a core and keeps the rest \
                 as a wait that queues on nothing (the model adds the wait for cores back by \
                 itself); the share is in its column. Where they charge it more than 10% \
                 below, the difference is CPU no span covers (reading a request before its \
                 first span, writing the answer, exporting spans): the model burns it beside \
                 each visit, waited for by no one. Background is the CPU a process \
                 burns outside any request span (health checks, pollers, relays, metrics): \
                 measured CPU rate − trees × achieved rate X at the held-in point, or the \
                 intercept of the least-squares line CPU = a + b·X over two or more; the model \
                 runs it beside the requests, so its CPU per request falls as the rate rises.",
            );
            doc.table(d);
        }
    }
    if !m.notes.is_empty() {
        doc.p("What the model left out:");
        doc.list(m.notes.clone());
    }
}

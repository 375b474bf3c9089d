//! The report of `crm-bench simulate FILE`: the same directory layout and look as a measured
//! report — `summary.md`, a self-contained `index.html`, PNGs — plus `simulation.json` with
//! the figures, every heading, table and chart marked SIMULATED and naming its calibration.

use std::path::Path;

use anyhow::Context;
use crm_sim::OpOutcome;
use serde_json::json;

use super::doc::{Doc, Table};
use super::figure::simulated as figures;
use super::format::{pct, rps, us_f};
use super::style::arch_label;
use super::{INDEX_HTML, SUMMARY_MD, Written, html, markdown, png};
use crate::simulate::study::SimReport;

/// The data file of a simulated report.
pub const SIMULATION_JSON: &str = "simulation.json";

fn q(o: &OpOutcome, p: f64) -> f64 {
    o.latency_us.value_at_quantile(p) as f64
}

fn outcome_json(o: &OpOutcome) -> serde_json::Value {
    json!({
        "achieved_rps": o.achieved_rps, "mean_us": o.mean_us, "p50_us": q(o, 0.5),
        "p90_us": q(o, 0.9), "p99_us": q(o, 0.99), "p999_us": q(o, 0.999), "max_us": o.latency_us.max(),
        "ok": o.ok, "timeout": o.timeout, "unavailable": o.unavailable, "error": o.error,
    })
}

/// Everything the report shows, as JSON (histograms as percentiles).
pub(super) fn data(r: &SimReport) -> serde_json::Value {
    json!({
        "schema": "crm-bench/simulation-report/v1",
        "simulated": true,
        "name": r.name, "description": r.description, "file": r.file, "quick": r.quick,
        "calibration": { "file": r.calibration_file, "source": r.calibration_source },
        "runs": r.runs.iter().map(|a| {
            let o = &a.outputs;
            json!({
                "architecture": a.arch.to_string(), "scenario": a.scenario, "wall_s": a.wall_s,
                "window_s": o.window_s, "events": o.events, "offered_rps": o.offered_rps,
                "total": outcome_json(&o.total),
                "ops": o.ops.iter().map(|(k, v)| (k.clone(), outcome_json(v))).collect::<serde_json::Map<_, _>>(),
                "processes": o.processes.iter().map(|(k, p)| (k.clone(), json!({
                    "cpu_seconds": p.cpu_seconds, "cores_used": p.cores_used,
                    "utilisation": p.utilisation, "replicas_at_end": p.replicas_at_end,
                    "replicas_max": p.replicas_max,
                }))).collect::<serde_json::Map<_, _>>(),
                "nodes": o.nodes.iter().map(|n| json!({"name": n.name, "cores": n.cores, "utilisation": n.utilisation})).collect::<Vec<_>>(),
                "event_lag_us": { "p50": o.lag_us.value_at_quantile(0.5), "p99": o.lag_us.value_at_quantile(0.99), "count": o.lag_us.len() },
                "mean_in_system": o.mean_in_system,
                "timeline": o.timeline.iter().map(|b| json!({
                    "start_s": b.start_s, "requests": b.requests, "failures": b.failures,
                    "p50_us": b.p50_us, "p99_us": b.p99_us, "replicas": b.replicas,
                })).collect::<Vec<_>>(),
            })
        }).collect::<Vec<_>>(),
        "cores": r.cores.iter().map(|c| json!({
            "architecture": c.arch.to_string(), "rate": c.rate, "cores": c.cores,
            "target_utilisation": c.target, "p99_us": c.p99_us, "error_rate": c.error_rate,
            "replicas": c.replicas, "nodes": c.nodes,
        })).collect::<Vec<_>>(),
    })
}

fn document(r: &SimReport, figs: &[super::figure::Figure]) -> Doc {
    let mut doc = Doc::default();
    doc.h(1, title(r));
    if !r.description.is_empty() {
        doc.p(r.description.clone());
    }
    doc.warn(format!(
        "SIMULATED: every figure in this report comes out of crm-sim, a model; nothing here was \
         measured. Calibration: {} ({}).{}",
        r.calibration_file,
        r.calibration_source,
        if r.quick {
            " Run with --quick: the study's load and sizes scaled down and its times shortened."
        } else {
            ""
        }
    ));
    doc.p(format!("Simulation file: {}.", r.file));
    doc.h(2, "Outcome per architecture (simulated)");
    let mut t = Table::new(&[
        "architecture",
        "offered",
        "achieved",
        "mean",
        "p50",
        "p99",
        "max",
        "failed",
        "cores used",
        "events",
        "wall",
    ]);
    for a in &r.runs {
        let o = &a.outputs;
        t.row(vec![
            arch_label(a.arch).to_owned(),
            rps(o.offered_rps),
            rps(o.total.achieved_rps),
            us_f(o.total.mean_us),
            us_f(q(&o.total, 0.5)),
            us_f(q(&o.total, 0.99)),
            us_f(o.total.latency_us.max() as f64),
            format!(
                "{} ({})",
                o.total.failed(),
                pct(o.total.failed() as f64 / o.total.requests().max(1) as f64)
            ),
            format!(
                "{:.1}",
                o.processes.values().map(|p| p.cores_used).sum::<f64>()
            ),
            o.events.to_string(),
            format!("{:.1} s", a.wall_s),
        ]);
    }
    doc.table(t);
    for f in figs.iter().filter(|f| f.file != figures::CORES) {
        doc.figure(f.file.clone());
    }
    for a in &r.runs {
        doc.h(3, format!("{} (simulated)", arch_label(a.arch)));
        let o = &a.outputs;
        let mut ops = Table::new(&["operation", "achieved", "mean", "p50", "p99", "failed"]);
        for (name, v) in &o.ops {
            ops.row(vec![
                name.clone(),
                rps(v.achieved_rps),
                us_f(v.mean_us),
                us_f(q(v, 0.5)),
                us_f(q(v, 0.99)),
                v.failed().to_string(),
            ]);
        }
        doc.table(ops);
        let mut procs = Table::new(&[
            "process",
            "cores used",
            "utilisation of quota",
            "replicas at end",
            "replicas max",
        ]);
        for (name, p) in &o.processes {
            procs.row(vec![
                name.clone(),
                format!("{:.2}", p.cores_used),
                pct(p.utilisation),
                p.replicas_at_end.to_string(),
                p.replicas_max.to_string(),
            ]);
        }
        doc.table(procs);
        if !o.lag_us.is_empty() {
            doc.p(format!(
                "Event lag (commit → consumer done): p50 {}, p99 {} over {} events.",
                us_f(o.lag_us.value_at_quantile(0.5) as f64),
                us_f(o.lag_us.value_at_quantile(0.99) as f64),
                o.lag_us.len()
            ));
        }
    }
    if !r.cores.is_empty() {
        doc.h(2, "Cores needed to hold the SLO (simulated)");
        doc.p(
            "Replicas provisioned in proportion to each process's service demand under the \
             calibration, packed on the study's nodes; the per-replica utilisation target was \
             lowered until the simulated p99 and error rate met the SLO. Cores are the CFS \
             quota allocated.",
        );
        let mut c = Table::new(&[
            "architecture",
            "rate",
            "cores",
            "target utilisation",
            "p99",
            "errors",
            "nodes",
        ]);
        for x in &r.cores {
            c.row(vec![
                arch_label(x.arch).to_owned(),
                rps(x.rate),
                x.cores.map_or("not found".into(), |v| format!("{v:.0}")),
                x.target.map_or("–".into(), pct),
                us_f(x.p99_us),
                pct(x.error_rate),
                x.nodes.to_string(),
            ]);
        }
        doc.table(c);
        for f in figs.iter().filter(|f| f.file == figures::CORES) {
            doc.figure(f.file.clone());
        }
    }
    doc.h(2, "Scenarios (as simulated)");
    for a in &r.runs {
        doc.code(toml::to_string_pretty(&a.scenario).unwrap_or_default());
    }
    doc.p(format!(
        "Rendered by crm-bench {} (simulated report; the data is in {SIMULATION_JSON}).",
        env!("CARGO_PKG_VERSION")
    ));
    doc
}

fn title(r: &SimReport) -> String {
    format!("crm-bench simulation (SIMULATED): {}", r.name)
}

/// Writes the simulated report into `dir`.
pub fn write_simulated(dir: &Path, r: &SimReport) -> anyhow::Result<Written> {
    std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
    let mut written = Written::default();
    let json_path = dir.join(SIMULATION_JSON);
    let text = serde_json::to_string_pretty(&data(r)).context("serialise the simulation")?;
    std::fs::write(&json_path, text + "\n")
        .with_context(|| format!("write {}", json_path.display()))?;
    written.files.push(json_path);
    let figs = figures::all(r);
    let doc = document(r, &figs);
    let md = dir.join(SUMMARY_MD);
    std::fs::write(&md, markdown::render(&doc.blocks, &figs))
        .with_context(|| format!("write {}", md.display()))?;
    written.files.push(md);
    let index = dir.join(INDEX_HTML);
    std::fs::write(&index, html::render(&title(r), &doc.blocks, &figs))
        .with_context(|| format!("write {}", index.display()))?;
    written.files.push(index);
    match png::Rasteriser::new() {
        Ok(ras) => {
            for f in &figs {
                let path = dir.join(&f.file);
                std::fs::write(
                    &path,
                    ras.png(&f.svg)
                        .with_context(|| format!("render {}", f.file))?,
                )
                .with_context(|| format!("write {}", path.display()))?;
                written.files.push(path);
            }
        }
        Err(e) => written.warnings.push(format!("PNGs not written: {e:#}")),
    }
    Ok(written)
}

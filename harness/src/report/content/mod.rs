//! What the report says, as blocks (see [`super::doc`]): the headline verdicts, each
//! experiment's figures per architecture, the machine and its CPU split, the scenario,
//! honest notes about what was not measured or is not to be trusted, and the verdict rules.

mod breakdown;
mod budget;
mod incidents;
mod load;
pub(crate) mod model;
mod setup;
mod state;

use crate::results::{Results, SCHEMA};
use crate::topology::Arch;

use super::doc::{Doc, Table};
use super::figure::Figure;
use super::format;
use super::style::arch_label;
use super::verdicts::{self, shown, winner_text};

/// The report's title.
pub(crate) fn title(results: &Results) -> String {
    format!("crm-bench report: {}", results.scenario.name)
}

/// The whole report.
pub(crate) fn document(results: &Results, figures: &[Figure]) -> Doc {
    let mut doc = Doc::default();
    doc.h(1, title(results));
    if !results.scenario.description.is_empty() {
        doc.p(results.scenario.description.clone());
    }
    let took = (results.finished_at - results.started_at).num_milliseconds() as f64 / 1000.0;
    doc.p(format!(
        "Run from {} to {} ({}); architectures: {}.",
        results.started_at.format("%F %T UTC"),
        results.finished_at.format("%F %T UTC"),
        format::secs(took),
        archs(results)
    ));
    headline(&mut doc, results, figures);
    failures(&mut doc, results);
    let mut notes = Vec::new();
    load::sweeps(&mut doc, results, &mut notes);
    breakdown::breakdowns(&mut doc, results, &mut notes);
    model::section(&mut doc, results, figures);
    incidents::faults(&mut doc, results);
    incidents::deploys(&mut doc, results);
    load::scales(&mut doc, results);
    budget::budgets(&mut doc, results);
    load::noisy(&mut doc, results);
    state::consistency(&mut doc, results);
    state::resources(&mut doc, results);
    load::journeys(&mut doc, results);
    setup::machine(&mut doc, results, &mut notes);
    setup::scenario(&mut doc, results);
    setup::notes(&mut doc, results, notes);
    footer(&mut doc);
    doc
}

/// Experiments that failed part-way or were skipped: said at the top, never shown as figures.
fn failures(doc: &mut Doc, results: &Results) {
    let items: Vec<String> = results
        .runs
        .iter()
        .flat_map(|r| {
            r.failures.iter().map(move |f| {
                format!(
                    "{}: {} ({}) was not measured: {}",
                    arch_label(r.arch),
                    f.experiment,
                    f.kind,
                    f.error
                )
            })
        })
        .collect();
    if !items.is_empty() {
        doc.warn("some experiments failed and were not measured:");
        doc.list(items);
    }
    let skipped: Vec<String> = results
        .runs
        .iter()
        .flat_map(|r| {
            r.skipped.iter().map(move |f| {
                format!(
                    "{}: {} ({}) skipped: {}",
                    arch_label(r.arch),
                    f.experiment,
                    f.kind,
                    f.error
                )
            })
        })
        .collect();
    if !skipped.is_empty() {
        doc.warn("some experiments were not run: the deployment cannot do what they need");
        doc.list(skipped);
    }
}

fn archs(results: &Results) -> String {
    let names: Vec<&str> = results.runs.iter().map(|r| arch_label(r.arch)).collect();
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    }
}

fn headline(doc: &mut Doc, results: &Results, figures: &[Figure]) {
    doc.h(2, "Verdicts");
    if results.reconciliation_passed {
        doc.p("Reconciliation: every consistency check of every architecture passed.");
    } else {
        doc.warn(
            "reconciliation FAILED: at least one consistency check found missing, duplicated \
             or mismatched data (see Consistency). Figures of a run that loses data are not \
             comparable.",
        );
    }
    if results.verdicts.is_empty() {
        doc.p("No verdicts: no experiment that a verdict is derived from ran.");
        return;
    }
    let mut t = Table::new(&[
        "metric",
        "measure",
        arch_label(Arch::Monolith),
        arch_label(Arch::Micro),
        "winner",
        "by",
        "note",
    ])
    .text_column(1)
    .text_column(4)
    .text_column(5)
    .text_column(6);
    for v in &results.verdicts {
        t.row(vec![
            v.metric.clone(),
            v.measure.clone(),
            shown(v, Arch::Monolith),
            shown(v, Arch::Micro),
            winner_text(v),
            v.by.clone(),
            v.note.clone(),
        ]);
    }
    doc.table(t);
    if figures.iter().any(|f| f.file == "verdicts.png") {
        // The table itself is right here; the figure is for the PNG set (slides, issues).
        doc.p("The same table as a figure: verdicts.png.");
    }
}

fn footer(doc: &mut Doc) {
    doc.h(2, "How the verdicts are decided");
    doc.list(verdicts::RULES.iter().map(|r| (*r).to_owned()).collect());
    doc.p(format!(
        "Rendered by crm-bench {} from results.json (schema {SCHEMA}); `crm-bench report DIR` \
         renders this page, summary.md and the PNGs again from it.",
        env!("CARGO_PKG_VERSION")
    ));
}

//! Sections about the setting: the machine and its CPU split, the scenario, and the notes
//! that say what was not measured or should not be trusted.

use crate::results::{Experiment, Results};
use crate::topology::Arch;

use super::super::doc::{Doc, Table};
use super::super::format::{self, bytes, secs};
use super::super::pick::{self, ARCHS};
use super::super::style::arch_label;

pub(super) fn machine(doc: &mut Doc, results: &Results, notes: &mut Vec<String>) {
    let m = &results.machine;
    doc.h(2, "Machine");
    let mut t = Table::new(&["", "value"]).text_column(1);
    let mut kv = |k: &str, v: String| t.row(vec![k.to_owned(), v]);
    kv("CPUs", m.cpus.to_string());
    kv(
        "system under test on CPUs",
        m.sut_cpus
            .clone()
            .unwrap_or_else(|| "all (shared with the load generator)".to_owned()),
    );
    kv(
        "load generator on CPUs",
        m.load_cpus
            .clone()
            .unwrap_or_else(|| "all (shared with the system under test)".to_owned()),
    );
    kv("memory", bytes(m.memory_bytes));
    kv("kernel", m.kernel.clone());
    kv(
        "git commit",
        m.git_commit.clone().unwrap_or_else(|| "unknown".to_owned()),
    );
    kv("CRM build profile", m.build_profile.clone());
    kv(
        "machine-speed reference",
        match &m.calibration {
            Some(c) => format!(
                "{} JSON page round trips/s, {} loopback TCP round trips/s (medians of {} \
                 measurements on CPU {}, CRM down; what `crm-bench compare` scales by)",
                format::sig3(c.json_median().unwrap_or(0.0)),
                format::sig3(c.loopback_median().unwrap_or(0.0)),
                c.json_round_trips_per_s.len(),
                c.cpu.map_or_else(|| "any".to_owned(), |c| c.to_string())
            ),
            None => "not measured".to_owned(),
        },
    );
    kv(
        "CPU steal during the run",
        m.cpu_steal.map_or_else(
            || "not measured".to_owned(),
            |s| {
                format!(
                    "{} of all CPU time (given by the hypervisor to other guests)",
                    format::pct(s)
                )
            },
        ),
    );
    for r in &results.runs {
        kv(
            &format!("{} runtime", arch_label(r.arch)),
            format!("{}, up and ready in {}", r.runtime, secs(r.up_s)),
        );
        kv(
            &format!("{} seed", arch_label(r.arch)),
            match &r.seed {
                Some(s) => format!(
                    "{} rows in {} (seed {}, checksum {})",
                    s.rows.values().sum::<u64>(),
                    secs(s.seconds),
                    s.options.seed,
                    s.checksum
                ),
                None => "not seeded by this run".to_owned(),
            },
        );
    }
    doc.table(t);
    if m.sut_cpus.is_none() || m.load_cpus.is_none() {
        notes.push(
            "The load generator shared CPUs with the system under test: latencies include \
             competition with the generator."
                .to_owned(),
        );
    }
    if m.build_profile != "release" {
        notes.push(format!(
            "The CRM binaries were a {} build: absolute figures are far from a release build's; \
             compare the architectures' ratios, not the numbers with other runs.",
            m.build_profile
        ));
    }
}

pub(super) fn scenario(doc: &mut Doc, results: &Results) {
    let s = &results.scenario;
    doc.h(2, "Scenario");
    doc.p(format!("{} (file {}).", s.name, s.file));
    doc.code(serde_json::to_string_pretty(&s.config).unwrap_or_else(|_| s.config.to_string()));
}

/// The kinds of experiment, as the report names them.
const KINDS: [&str; 9] = [
    "sweep",
    "fault",
    "deploy",
    "scale",
    "equal budget",
    "noisy neighbour",
    "consistency",
    "resources",
    "journeys",
];

fn kind(e: &Experiment) -> &'static str {
    match e {
        Experiment::Sweep(_) => KINDS[0],
        Experiment::Fault(_) => KINDS[1],
        Experiment::Deploy(_) => KINDS[2],
        Experiment::Scale(_) => KINDS[3],
        Experiment::Budget(_) => KINDS[4],
        Experiment::NoisyNeighbour(_) => KINDS[5],
        Experiment::Consistency(_) => KINDS[6],
        Experiment::Resources(_) => KINDS[7],
        Experiment::Journeys(_) => KINDS[8],
    }
}

pub(super) fn notes(doc: &mut Doc, results: &Results, mut notes: Vec<String>) {
    doc.h(2, "Notes");
    let ran = |arch: Arch, k: &str| {
        pick::run(results, arch).is_some_and(|r| r.experiments.iter().any(|e| kind(e) == k))
    };
    let present: Vec<Arch> = ARCHS
        .iter()
        .copied()
        .filter(|&a| pick::run(results, a).is_some())
        .collect();
    for a in ARCHS.iter().filter(|a| !present.contains(a)) {
        notes.push(format!(
            "{}: {} at all (the scenario did not run this architecture), so no verdict has a \
             winner.",
            arch_label(*a),
            format::NOT_MEASURED
        ));
    }
    for k in KINDS {
        let missing: Vec<&str> = present
            .iter()
            .filter(|&&a| !ran(a, k))
            .map(|&a| arch_label(a))
            .collect();
        if missing.is_empty() {
            continue;
        }
        if missing.len() == present.len() {
            notes.push(format!(
                "{k}: {} (the scenario did not run it).",
                format::NOT_MEASURED
            ));
        } else {
            notes.push(format!(
                "{k}: {} on {}.",
                format::NOT_MEASURED,
                missing.join(", ")
            ));
        }
    }
    let repeated = results
        .runs
        .iter()
        .flat_map(|r| pick::sweeps(r).into_iter().flat_map(|s| s.points.iter()))
        .any(|p| !p.repeats.is_empty());
    if repeated {
        notes.push(
            "Sweep points were measured more than once (\"runs\"): the tables and charts show \
             the first run; `crm-bench compare` uses every run for its confidence intervals."
                .to_owned(),
        );
    }
    notes.push(
        "Latencies are corrected for coordinated omission (measured from the intended send \
         time) unless marked uncorrected; percentiles come from HdrHistograms merged across \
         workers, never averaged. Every histogram is in results.json."
            .to_owned(),
    );
    notes.push(
        "Both architectures ran on the same machine in one scenario run: their ratios are \
         meaningful; absolute times across runs and machines are not."
            .to_owned(),
    );
    doc.list(notes);
}

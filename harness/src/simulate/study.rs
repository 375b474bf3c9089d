//! `crm-bench simulate FILE`: a simulation file (`crm-bench/simulation/v1`) — one crm-sim
//! scenario run on each architecture, optionally a search for the cores each needs to hold
//! the SLO at given rates — and the report it writes, every figure marked *simulated*.
//!
//! ```toml
//! schema = "crm-bench/simulation/v1"
//! name = "sim-day"
//! description = "a CRM day"
//! calibration = "sim-calibration.toml"   # relative to this file
//! architectures = ["monolith", "micro"]  # default: both
//! quick = { scale = 0.001, time = 0.01 } # --quick: rates, users, nodes, replicas ×scale; times ×time
//! [scenario]                             # a crm-sim/scenario/v1 without schema and architecture
//! [micro]                                # merged into [scenario] for that architecture only
//! [cores]                                # optional: see `super::cores`
//! ```
//!
//! Problems in the scenario are reported at their key in this file, with its line.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use crm_sim::input::spans;
use crm_sim::{Calibration, Outputs, Scenario};
use serde::Deserialize;

use super::cores::{self, CoresResult, CoresSpec};
use super::quick::{self, Quick};
use crate::topology::Arch;

/// The `schema` of a simulation file.
pub const SCHEMA: &str = "crm-bench/simulation/v1";

/// A simulation file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StudyFile {
    pub schema: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// The calibration, relative to this file.
    pub calibration: String,
    #[serde(default = "both")]
    pub architectures: Vec<Arch>,
    #[serde(default)]
    pub quick: Quick,
    pub scenario: toml::Table,
    #[serde(default)]
    pub monolith: Option<toml::Table>,
    #[serde(default)]
    pub micro: Option<toml::Table>,
    #[serde(default)]
    pub cores: Option<CoresSpec>,
}

fn both() -> Vec<Arch> {
    vec![Arch::Monolith, Arch::Micro]
}

/// How to run a file.
#[derive(Clone, Debug, Default)]
pub struct Run {
    pub arch: Option<Arch>,
    /// Instead of the file's calibration.
    pub calibration: Option<PathBuf>,
    pub quick: bool,
}

/// One architecture's run.
#[derive(Clone, Debug)]
pub struct ArchSim {
    pub arch: Arch,
    pub scenario: Scenario,
    pub outputs: Outputs,
    /// Wall-clock seconds the simulation took.
    pub wall_s: f64,
}

/// Everything a simulation file produced.
#[derive(Clone, Debug)]
pub struct SimReport {
    pub name: String,
    pub description: String,
    pub file: String,
    pub calibration_file: String,
    pub calibration_source: String,
    pub quick: bool,
    pub runs: Vec<ArchSim>,
    pub cores: Vec<CoresResult>,
}

/// A file's problem at a key, with the key's line.
fn at(text: &str, origin: &str, path: &str, msg: impl std::fmt::Display) -> anyhow::Error {
    match spans::line_of(text, path) {
        Some(l) => anyhow::anyhow!("{origin}: {path}: {msg} (line {l})"),
        None => anyhow::anyhow!("{origin}: {path}: {msg}"),
    }
}

/// A simulation file read: the file, its calibration, and each architecture's scenario.
#[derive(Debug)]
pub struct Loaded {
    pub study: StudyFile,
    pub calibration: Calibration,
    pub scenarios: Vec<(Arch, Scenario)>,
}

/// Reads a simulation file, its calibration, and each architecture's scenario.
pub fn load(file: &Path, run: &Run) -> anyhow::Result<Loaded> {
    let origin = file.display().to_string();
    let text = std::fs::read_to_string(file).with_context(|| format!("read {origin}"))?;
    let study: StudyFile = toml::from_str(&text).map_err(|e| {
        let (path, line) = match e.span() {
            Some(s) => (
                spans::path_at(&text, s.start),
                Some(spans::line_at(&text, s.start)),
            ),
            None => (String::new(), None),
        };
        let line = line.map_or(String::new(), |l| format!(" (line {l})"));
        anyhow::anyhow!("{origin}: {path}: {}{line}", e.message())
    })?;
    if study.schema != SCHEMA {
        return Err(at(
            &text,
            &origin,
            "schema",
            format!(
                "\"{}\" is not supported: this crm-bench reads \"{SCHEMA}\"",
                study.schema
            ),
        ));
    }
    let cal_path = match &run.calibration {
        Some(p) => p.clone(),
        None => file
            .parent()
            .unwrap_or(Path::new("."))
            .join(&study.calibration),
    };
    let cal = Calibration::load(&cal_path)?;
    let archs: Vec<Arch> = match run.arch {
        Some(a) if study.architectures.contains(&a) => vec![a],
        Some(a) => {
            return Err(at(
                &text,
                &origin,
                "architectures",
                format!("does not include {a}"),
            ));
        }
        None => study.architectures.clone(),
    };
    let mut scenarios = Vec::new();
    for arch in archs {
        if cal.architecture(&arch.to_string()).is_none() {
            return Err(at(
                &text,
                &origin,
                "architectures",
                format!(
                    "{arch}: the calibration {} has no [{arch}]",
                    cal_path.display()
                ),
            ));
        }
        let s = scenario_of(&study, arch, &text, &origin, &cal)?;
        let s = if run.quick {
            quick::shrink(&s, &study.quick)
        } else {
            s
        };
        s.validate(&cal)
            .map_err(|e| anyhow::anyhow!("{origin} (--quick): {e}"))?;
        scenarios.push((arch, s));
    }
    Ok(Loaded {
        study,
        calibration: cal,
        scenarios,
    })
}

/// `[scenario]` with `[ARCH]` merged in, checked against the calibration; problems at the
/// key of this file that holds the value.
fn scenario_of(
    study: &StudyFile,
    arch: Arch,
    text: &str,
    origin: &str,
    cal: &Calibration,
) -> anyhow::Result<Scenario> {
    let mut table = study.scenario.clone();
    let own = match arch {
        Arch::Monolith => &study.monolith,
        Arch::Micro => &study.micro,
    };
    if let Some(o) = own {
        merge(&mut table, o);
    }
    table.insert("schema".into(), crm_sim::SCENARIO_SCHEMA.into());
    table.insert("architecture".into(), arch.to_string().into());
    let generated = toml::to_string(&table).context("the scenario as TOML")?;
    Scenario::parse(&generated, origin, cal).map_err(|e| {
        let problems: Vec<String> = e
            .problems()
            .iter()
            .map(|p| {
                let mine = format!("{arch}.{}", p.path);
                let path =
                    if own.is_some() && spans::line_of(text, &mine).is_some() && !p.path.is_empty()
                    {
                        mine
                    } else {
                        format!("scenario.{}", p.path)
                    };
                let line =
                    spans::line_of(text, &path).map_or(String::new(), |l| format!(" (line {l})"));
                format!("{path}: {}{line} [{arch}]", p.message)
            })
            .collect();
        if problems.is_empty() {
            anyhow::anyhow!("{e}")
        } else {
            anyhow::anyhow!("{origin}: {}", problems.join("\n  "))
        }
    })
}

/// Deep merge: tables key by key, anything else replaced.
fn merge(into: &mut toml::Table, from: &toml::Table) {
    for (k, v) in from {
        match (into.get_mut(k), v) {
            (Some(toml::Value::Table(a)), toml::Value::Table(b)) => merge(a, b),
            _ => {
                into.insert(k.clone(), v.clone());
            }
        }
    }
}

/// Runs a simulation file and writes its report under `reports`.
pub fn run_file(file: &Path, run: &Run, reports: &Path) -> anyhow::Result<(PathBuf, SimReport)> {
    let Loaded {
        study,
        calibration: cal,
        scenarios,
    } = load(file, run)?;
    let mut runs = Vec::new();
    for (arch, s) in scenarios {
        let t = std::time::Instant::now();
        let outputs = crm_sim::simulate(&cal, &s)?;
        runs.push(ArchSim {
            arch,
            scenario: s,
            outputs,
            wall_s: t.elapsed().as_secs_f64(),
        });
    }
    let mut cores_out = Vec::new();
    if let Some(spec) = &study.cores {
        let spec = if run.quick {
            spec.shrunk(&study.quick)
        } else {
            spec.clone()
        };
        for r in &runs {
            cores_out.extend(cores::search(&cal, &r.scenario, r.arch, &spec)?);
        }
    }
    let report = SimReport {
        name: study.name.clone(),
        description: study.description.clone(),
        file: file.display().to_string(),
        calibration_file: run
            .calibration
            .clone()
            .unwrap_or_else(|| {
                file.parent()
                    .unwrap_or(Path::new("."))
                    .join(&study.calibration)
            })
            .display()
            .to_string(),
        calibration_source: cal.source.clone(),
        quick: run.quick,
        runs,
        cores: cores_out,
    };
    let dir = reports.join(format!(
        "{}-sim-{}{}",
        chrono::Utc::now().format("%Y%m%dT%H%M%SZ"),
        study.name,
        if run.quick { "-quick" } else { "" }
    ));
    crate::report::write_simulated(&dir, &report)?;
    Ok((dir, report))
}

/// The headline figures as text, for the terminal.
pub fn summary_text(r: &SimReport) -> String {
    let mut out = format!(
        "SIMULATED: {} (calibration: {})\n",
        r.name, r.calibration_source
    );
    for a in &r.runs {
        let t = &a.outputs.total;
        let q = |p: f64| t.latency_us.value_at_quantile(p) as f64 / 1000.0;
        out.push_str(&format!(
            "  {:<9} {:>10.0} req/s achieved of {:>10.0} offered, p50 {:.2} ms, p99 {:.2} ms, {} failed, cores used {:.1} ({:.1} s wall)\n",
            a.arch.to_string(),
            t.achieved_rps,
            a.outputs.offered_rps,
            q(0.5),
            q(0.99),
            t.failed(),
            a.outputs.processes.values().map(|p| p.cores_used).sum::<f64>(),
            a.wall_s
        ));
    }
    for c in &r.cores {
        out.push_str(&format!(
            "  cores to hold the SLO: {:<9} at {:>9.0} req/s: {}\n",
            c.arch.to_string(),
            c.rate,
            c.cores
                .map_or("not found within the search".to_owned(), |n| format!(
                    "{n:.0} cores"
                )),
        ));
    }
    out
}

/// Process placements of a scenario, for the report: name → (replicas, quota).
pub fn placements(s: &Scenario) -> BTreeMap<String, (u32, Option<f64>)> {
    s.processes
        .iter()
        .map(|(k, p)| (k.clone(), (p.replicas, p.cpus)))
        .collect()
}

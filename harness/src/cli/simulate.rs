//! `crm-bench calibrate` and `crm-bench simulate`: the model calibrated from a measured
//! report, checked against it, and run at sizes no machine here can.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Args;

use crate::results::model::{ModelCheck, relative_error};
use crate::simulate::{self, Options};
use crate::topology::Arch;

#[derive(Debug, Args)]
pub struct CalibrateArgs {
    /// A report directory of a run with a per-hop breakdown (`crm-bench run SCENARIO --trace`).
    pub report: PathBuf,
    /// Only this architecture (default: every one the report has).
    #[arg(long, value_enum)]
    pub arch: Option<Arch>,
    /// Write the calibration here (default: print it).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Traced sweep points to calibrate on per architecture, lowest rates first.
    #[arg(long, default_value_t = crate::simulate::calibrate::DEFAULT_POINTS)]
    pub points: usize,
    /// Also fit each process's idle wake (faster under moderate load than alone; needs
    /// three held-in rates): experimental, see the README's "Simulation".
    #[arg(long)]
    pub idle_wake: bool,
    /// Also fit each process's CPU wake (less CPU per request when it is found busy; needs
    /// four held-in rates, e.g. `--points 5`): see the README's "Simulation".
    #[arg(long)]
    pub idle_cpu: bool,
    /// Keep the measured waits as they are, the model's own queueing at the held-in points
    /// counted twice (README "Simulation"): only to compare against.
    #[arg(long)]
    pub measured_waits: bool,
}

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// A simulation file (`scenarios/sim-day.toml`, …): run it and write a report.
    #[arg(required_unless_present = "validate", conflicts_with = "validate")]
    pub file: Option<PathBuf>,
    /// Instead: calibrate on a measured report's held-in points and predict all its points,
    /// side by side with what was measured.
    #[arg(long, value_name = "REPORT_DIR")]
    pub validate: Option<PathBuf>,
    /// Only this architecture.
    #[arg(long, value_enum)]
    pub arch: Option<Arch>,
    /// With --validate: traced sweep points held in per architecture, lowest rates first.
    #[arg(long, default_value_t = crate::simulate::calibrate::DEFAULT_POINTS)]
    pub points: usize,
    /// With --validate: also fit each process's idle wake (experimental).
    #[arg(long)]
    pub idle_wake: bool,
    /// With --validate: also fit each process's CPU wake (needs four held-in rates).
    #[arg(long)]
    pub idle_cpu: bool,
    /// With --validate: keep the measured waits (the model's queueing counted twice), to
    /// compare against.
    #[arg(long, requires = "validate")]
    pub measured_waits: bool,
    /// With --validate: also each operation's mean at every traced point — all requests,
    /// the traced ones, the calibrated tree alone, the simulation — to see where it misses.
    #[arg(long, requires = "validate")]
    pub per_op: bool,
    /// The calibration to use instead of the one the simulation file names.
    #[arg(long)]
    pub calibration: Option<PathBuf>,
    /// The same study, smaller and shorter (the file's `[quick]` factors): seconds, not minutes.
    #[arg(long)]
    pub quick: bool,
    /// Where report directories go.
    #[arg(long, default_value = "reports")]
    pub reports: PathBuf,
}

/// Loads the report at `dir`, refusing a directory that does not exist by name.
fn load_report(dir: &Path) -> anyhow::Result<crate::results::Results> {
    if !dir.exists() {
        bail!("{}: no such report directory", dir.display());
    }
    Ok(crate::report::load(dir)?)
}

pub(super) fn calibrate(args: &CalibrateArgs) -> anyhow::Result<()> {
    let results = load_report(&args.report)?;
    let opts = Options {
        arch: args.arch,
        points: args.points,
        idle_wake: args.idle_wake,
        idle_cpu: args.idle_cpu,
        measured_waits: args.measured_waits,
    };
    let name = args.report.display().to_string();
    let cal = simulate::calibrate(&results, &name, &opts)?;
    let text = simulate::calibrate::file_text(&cal);
    match &args.out {
        Some(path) => {
            std::fs::write(path, &text).with_context(|| format!("write {}", path.display()))?;
            println!("wrote {}", path.display());
            print!("{}", simulate::calibrate::demand_table(&cal));
        }
        None => print!("{text}"),
    }
    for n in &cal.notes {
        eprintln!("note: {n}");
    }
    Ok(())
}

pub(super) fn simulate(args: &SimulateArgs) -> anyhow::Result<()> {
    if let Some(dir) = &args.validate {
        let results = load_report(dir)?;
        let opts = Options {
            arch: args.arch,
            points: args.points,
            idle_wake: args.idle_wake,
            idle_cpu: args.idle_cpu,
            measured_waits: args.measured_waits,
        };
        let cal = simulate::calibrate(&results, &dir.display().to_string(), &opts)?;
        let check = simulate::validate::check(&results, &cal);
        print!("{}", validation_text(&check));
        if args.per_op {
            use simulate::validate::per_op;
            print!("\n{}", per_op::text(&per_op::per_op(&results, &cal)));
        }
        return Ok(());
    }
    let file = args
        .file
        .as_ref()
        .context("a simulation file or --validate REPORT_DIR")?;
    let run = simulate::study::Run {
        arch: args.arch,
        calibration: args.calibration.clone(),
        quick: args.quick,
    };
    let (dir, report) = simulate::study::run_file(file, &run, &args.reports)?;
    print!("{}", simulate::study::summary_text(&report));
    println!("report (simulated): {}", dir.display());
    Ok(())
}

/// The validation as text: per architecture, predicted beside measured with the error.
pub fn validation_text(check: &ModelCheck) -> String {
    let mut out = format!(
        "SIMULATED predictions beside measurements\ncalibration: {}\n",
        check.source
    );
    for a in &check.archs {
        out.push_str(&format!(
            "\n{}\n{:<22} {:<16} {:<32} {:>12} {:>12} {:>8} {:>7}  {}\n",
            a.arch,
            "experiment",
            "point",
            "metric",
            "measured",
            "predicted",
            "error",
            "target",
            "held"
        ));
        for r in &a.rows {
            let show = |v: Option<f64>| v.map_or("–".to_owned(), |v| format!("{v:.1}"));
            let error = r
                .error()
                .map_or("–".to_owned(), |e| format!("{:+.1}%", e * 100.0));
            let target = match (r.target, r.meets_target()) {
                (Some(t), Some(true)) => format!("±{:.0}% ok", t * 100.0),
                (Some(t), Some(false)) => format!("±{:.0}% MISS", t * 100.0),
                _ => "–".to_owned(),
            };
            out.push_str(&format!(
                "{:<22} {:<16} {:<32} {:>12} {:>12} {:>8} {:>7}  {}\n",
                r.experiment,
                r.point,
                format!("{} ({})", r.metric, r.unit),
                show(r.measured),
                show(r.predicted),
                error,
                target,
                if r.held_in { "held in" } else { "held out" }
            ));
        }
        out.push_str(
            "\nservice demand, CPU ms per request (model's trees vs utilisation law D = U/X), and \
             background CPU outside any span (cores), which the predicted CPU per request includes:\n",
        );
        for d in &a.demand {
            out.push_str(&format!(
                "  {:<14} model {:>8.3}  measured {:>8}  {}{}{}\n",
                d.process,
                d.model_ms,
                d.measured_ms.map_or("–".to_owned(), |m| format!("{m:.3}")),
                d.measured_ms
                    .and_then(|m| relative_error(d.model_ms, m))
                    .map_or(String::new(), |e| format!("{:+.0}%", e * 100.0)),
                d.scaled_by.map_or(String::new(), |f| format!(
                    " ({:.0}% of its times on a core)",
                    f * 100.0
                )),
                d.unspanned_ms.map_or(String::new(), |u| format!(
                    " (+{u:.3} ms outside its spans)"
                ))
            ));
            if let Some(b) = &d.background {
                out.push_str(&format!("  {:<14} background {}\n", "", b.describe()));
            }
        }
    }
    for n in &check.notes {
        out.push_str(&format!("note: {n}\n"));
    }
    out
}

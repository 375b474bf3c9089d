//! `crm-bench run`: a scenario on each architecture, then the headline table.

use crate::experiment::{self, RunOptions};
use crate::lifecycle::{self, Env};
use crate::runtime::external::Target;
use crate::scenario::Scenario;
use crate::topology::RuntimeKind;
use anyhow::Context;

use super::{RunArgs, default_sut_cpus};

/// The CPU split of a run: flags, else the scenario's, else SUT on all but CPU 0 and the
/// load generator on CPU 0 (no split on a one-CPU machine).
fn cpu_split(args: &RunArgs, s: &Scenario) -> (Option<String>, Option<String>) {
    let sut = match args.sut_cpus.as_deref().or(s.cpus.sut.as_deref()) {
        Some("all") => None,
        Some(c) => Some(c.to_owned()),
        None => default_sut_cpus(),
    };
    let load = match args.load_cpus.as_deref().or(s.cpus.load.as_deref()) {
        Some("all") => None,
        Some(c) => Some(c.to_owned()),
        None => sut.as_ref().map(|_| "0".to_owned()),
    };
    (sut, load)
}

/// `--runtime external --target FILE`: the scenario on the target's architecture only, and
/// untraced (the deployment exports its spans elsewhere, if anywhere).
fn external(env: &mut Env, args: &RunArgs, scenario: &mut Scenario) -> anyhow::Result<()> {
    let file = args
        .target
        .as_ref()
        .context("--runtime external needs --target FILE")?;
    let target = Target::load(file)?;
    anyhow::ensure!(
        scenario.architectures.contains(&target.arch),
        "{} runs the {}, but {} is a {} deployment",
        args.scenario.display(),
        scenario
            .architectures
            .iter()
            .map(|a| a.to_string())
            .collect::<Vec<_>>()
            .join(" and the "),
        file.display(),
        target.arch
    );
    let others: Vec<String> = scenario
        .architectures
        .iter()
        .filter(|a| **a != target.arch)
        .map(|a| a.to_string())
        .collect();
    if !others.is_empty() {
        eprintln!(
            "--target {}: only the {} is measured (not the {})",
            file.display(),
            target.arch,
            others.join(", ")
        );
    }
    scenario.architectures = vec![target.arch];
    if scenario.tracing.take().is_some() {
        eprintln!(
            "--runtime external: untraced (crm-bench cannot point the deployment's spans at its receiver)"
        );
    }
    env.settings.target = Some(file.clone());
    Ok(())
}

pub(super) async fn run_scenario(mut env: Env, args: RunArgs) -> anyhow::Result<()> {
    let mut scenario = Scenario::load(&args.scenario)?;
    if let Some(ratio) = args.trace {
        anyhow::ensure!(
            ratio > 0.0 && ratio <= 1.0,
            "--trace {ratio}: the share of traced requests must be in (0, 1]"
        );
        let overhead = scenario.tracing.as_ref().is_some_and(|t| t.overhead);
        scenario.tracing = Some(crate::scenario::Tracing {
            sample_ratio: ratio,
            overhead,
        });
    }
    if let Some(p) = args.precision {
        scenario = scenario.with_precision(p)?;
    }
    if let Some(runtime) = args.runtime {
        scenario.runtime = runtime;
    }
    if scenario.runtime == RuntimeKind::External {
        external(&mut env, &args, &mut scenario)?;
    } else {
        anyhow::ensure!(
            args.target.is_none(),
            "--target is for the external runtime (--runtime external)"
        );
    }
    if args.check {
        println!(
            "{}: valid ({} experiments on {})",
            args.scenario.display(),
            scenario.experiments.len(),
            scenario
                .architectures
                .iter()
                .map(|a| a.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
        return Ok(());
    }
    if !args.workers.is_empty() {
        crate::distributed::check_workers(&args.workers).await?;
        if scenario.load.adaptive.is_some() {
            eprintln!(
                "--workers: adaptive points run at their fixed length ({} s warm-up, {} s measured)",
                scenario.load.warmup_s, scenario.load.duration_s
            );
        }
    }
    let (sut_cpus, load_cpus) = cpu_split(&args, &scenario);
    let opts = RunOptions {
        reports: args.reports.clone(),
        file: args.scenario.display().to_string(),
        sut_cpus,
        load_cpus,
        workers: args.workers.clone(),
    };
    let guard_env = env.clone();
    let (dir, results) = lifecycle::guarded(&guard_env, async move {
        experiment::run(&env, &scenario, &opts).await
    })
    .await?;
    println!("\nreport: {}", dir.display());
    println!("  {}", dir.join("summary.md").display());
    println!("  {}\n", dir.join("index.html").display());
    println!("| metric | measure | monolith | microservices | winner | by |");
    println!("|---|---|---:|---:|---|---|");
    for v in &results.verdicts {
        let show =
            |x: Option<f64>| x.map_or("not measured".to_owned(), |x| format!("{x:.3} {}", v.unit));
        println!(
            "| {} | {} | {} | {} | {} | {} |",
            v.metric,
            v.measure,
            show(v.monolith),
            show(v.micro),
            v.winner.map_or("—".to_owned(), |w| w.to_string()),
            v.by
        );
    }
    if !results.reconciliation_passed {
        eprintln!(
            "reconciliation FAILED: see the consistency section of {}",
            dir.join("summary.md").display()
        );
        std::process::exit(3);
    }
    Ok(())
}

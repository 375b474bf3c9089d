//! Running a scenario: for each architecture, bring it up, seed it, run every experiment of
//! the scenario against it, reconcile, tear it down; then derive the verdicts and write the
//! report.
//!
//! # Layout
//! - [`measure`]: one load run with actions at given times and resources sampled;
//!   [`adaptive`]: points that run until precise enough, warm-up by a stationarity test.
//! - [`convert`]: the engine's results into the report's; [`intervals`]: confidence
//!   intervals and ms-resolution timings from the per-request log.
//! - [`knee`]: the search for the highest rate under the SLO, apart from HTTP.
//! - `sweep`, `fault`, `deploy`, `scale`, `budget`, `noisy`, `consistency`, `resources`,
//!   `journeys`, `steps`: one file per experiment kind.
//! - [`machine`], [`calibrate`], [`sampler`], [`progress`]: facts, the machine-speed
//!   reference, resource sampling, progress bars.
//! - `restore`: the deployment back into its starting shape between experiments;
//!   `preflight`: what the machine must have before a run starts.

pub mod adaptive;
mod budget;
pub mod calibrate;
mod consistency;
pub mod convert;
mod deploy;
mod fault;
pub mod intervals;
mod journeys;
pub mod knee;
pub mod machine;
pub mod measure;
mod noisy;
mod overhead;
mod preflight;
pub mod progress;
mod resources;
mod restore;
pub mod sampler;
mod scale;
mod steps;
mod sweep;
pub mod traced;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;

use crate::lifecycle::{self, Env};
use crate::results::{ArchRun, Calibration, Experiment, Failure, Results, SCHEMA, ScenarioEcho};
use crate::runtime::{Deployment, Runtime, runtime};
use crate::scenario::{ExperimentSpec, Scenario};
use crate::seed::{self, SeedOptions, SeedPath};
use crate::topology::{Arch, Topology};
use crate::workload::acks::Acks;
use progress::Progress;

/// Where a scenario run's report goes and how the machine is split.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Parent of the report directory (`reports/`).
    pub reports: PathBuf,
    /// The scenario file as given.
    pub file: String,
    /// CPUs of the system under test / of the load generator (`None`: not pinned).
    pub sut_cpus: Option<String>,
    pub load_cpus: Option<String>,
    /// Load workers sharing each open-loop point's rate (`run --workers`).
    pub workers: Vec<String>,
}

/// Everything an experiment needs about the architecture under test.
pub struct ArchCtx {
    pub scenario: Scenario,
    pub env: Env,
    pub rt: Arc<dyn Runtime>,
    pub d: Deployment,
    pub token: String,
    /// Every write acknowledged on this architecture, for the final reconciliation.
    pub acks: Arc<Acks>,
    pub load_cpus: Vec<usize>,
    /// CPUs of the system under test (the machine-speed reference runs there).
    pub sut_cpus: Vec<usize>,
    pub progress: Progress,
    /// Load runs so far (names each run's markers).
    runs: u32,
    /// Distinguishes this scenario run's markers from an earlier one's.
    nonce: String,
    /// The scenario's tracing, when it traces.
    pub tracing: Option<Arc<traced::RunTracing>>,
    /// Share of requests the next load run traces (`None`: untraced).
    pub sample_ratio: Option<f64>,
    /// Load workers sharing each open-loop point's rate.
    pub workers: Vec<String>,
}

impl ArchCtx {
    pub(crate) fn save_state(&self) {
        if let Err(e) = self.env.state.save(&self.d) {
            self.progress
                .note(format!("could not write the state file: {e:#}"));
        }
    }

    /// Seconds of warm-up and measurement for an experiment: its own, else the scenario's.
    pub fn times(&self, warmup: Option<f64>, duration: Option<f64>) -> (f64, f64) {
        (
            warmup.unwrap_or(self.scenario.load.warmup_s),
            duration.unwrap_or(self.scenario.load.duration_s),
        )
    }

    pub fn mix(
        &self,
        own: &Option<std::collections::BTreeMap<String, f64>>,
    ) -> std::collections::BTreeMap<String, f64> {
        own.clone().unwrap_or_else(|| self.scenario.effective_mix())
    }
}

fn cpu_list(list: &Option<String>) -> Vec<usize> {
    let Some(l) = list else { return Vec::new() };
    l.split(',')
        .flat_map(|part| {
            let mut ends = part
                .splitn(2, '-')
                .map(|n| n.trim().parse::<usize>().unwrap_or(0));
            let a = ends.next().unwrap_or(0);
            let b = ends.next().unwrap_or(a);
            a..=b
        })
        .collect()
}

/// Runs `scenario` on every architecture it names and writes the report; returns the
/// report directory.
pub async fn run(
    env: &Env,
    scenario: &Scenario,
    opts: &RunOptions,
) -> anyhow::Result<(PathBuf, Results)> {
    preflight::check(env, scenario)?;
    let started_at = chrono::Utc::now();
    if let Some(cpus) = &opts.load_cpus {
        machine::pin_self(cpus).context("pin the load generator")?;
    }
    let steps = scenario.architectures.len() as u64 * (scenario.experiments.len() as u64 + 3);
    let progress = Progress::new(steps);
    let sut_cpus = cpu_list(&opts.sut_cpus);
    let jiffies = machine::cpu_jiffies();
    let mut calibration = Calibration::default();
    let dir = opts.reports.join(format!(
        "{}-{}",
        started_at.format("%Y%m%dT%H%M%SZ"),
        scenario.name
    ));
    let tracing = match &scenario.tracing {
        Some(t) => Some(
            traced::RunTracing::start(t.sample_ratio, dir.clone())
                .await
                .context("start the OTLP receiver")?,
        ),
        None => None,
    };
    let mut runs = Vec::new();
    for arch in &scenario.architectures {
        calibrate::measure(&sut_cpus, &mut calibration);
        runs.push(run_arch(env, scenario, opts, *arch, &progress, tracing.clone()).await?);
    }
    calibrate::measure(&sut_cpus, &mut calibration);
    progress.finish();
    let mut machine = machine::describe(
        opts.sut_cpus.clone(),
        opts.load_cpus.clone(),
        &env.settings.bin_dir,
    );
    machine.calibration = calibration.speed().is_some().then_some(calibration);
    machine.cpu_steal = machine::steal_between(jiffies, machine::cpu_jiffies());
    let verdicts = crate::report::verdicts(&runs);
    let reconciliation_passed = runs.iter().all(|r| {
        r.experiments.iter().all(|e| match e {
            Experiment::Consistency(c) => c.passed,
            _ => true,
        })
    });
    let mut results = Results {
        schema: SCHEMA.to_owned(),
        scenario: ScenarioEcho {
            name: scenario.name.clone(),
            description: scenario.description.clone(),
            file: opts.file.clone(),
            config: serde_json::to_value(scenario)?,
        },
        machine,
        started_at,
        finished_at: chrono::Utc::now(),
        runs,
        verdicts,
        reconciliation_passed,
        model: None,
    };
    // Simulated, beside the measurements: only when the run has a per-hop breakdown.
    results.model = crate::simulate::model_section(&results, &dir.display().to_string());
    crate::report::write(&dir, &results)
        .with_context(|| format!("write the report {}", dir.display()))?;
    Ok((dir, results))
}

async fn run_arch(
    env: &Env,
    scenario: &Scenario,
    opts: &RunOptions,
    arch: Arch,
    progress: &Progress,
    tracing: Option<Arc<traced::RunTracing>>,
) -> anyhow::Result<ArchRun> {
    let topology = Topology {
        arch,
        runtime: scenario.runtime,
        specs: Default::default(),
        sut_cpus: opts.sut_cpus.clone(),
        tracing: tracing.as_ref().map(|t| t.export()),
    };
    progress.step(format!("{arch}: up ({} runtime)", scenario.runtime));
    let up = lifecycle::up(env, &topology).await?;
    progress.done();
    let rt: Arc<dyn Runtime> = Arc::from(runtime(scenario.runtime, &env.settings));
    let result = async {
        let d = up.deployment.clone();
        progress.step(format!(
            "{arch}: seeding {:?} ({:?} path)",
            scenario.data.size, scenario.data.path
        ));
        let path = match scenario.data.path {
            SeedPath::Bulk if d.databases.is_empty() => {
                progress.note(format!(
                    "{arch}: seeding through the API: the target gives no databases for the bulk path"
                ));
                SeedPath::Api
            }
            p => p,
        };
        let seed = seed::seed(
            &d,
            &SeedOptions {
                size: scenario.data.size,
                seed: scenario.data.seed,
                path,
            },
        )
        .await
        .context("seed")?;
        progress.done();
        let token = lifecycle::admin_token(&d).await?;
        let mut ctx = ArchCtx {
            scenario: scenario.clone(),
            env: env.clone(),
            rt: rt.clone(),
            d,
            token,
            acks: Arc::new(Acks::default()),
            load_cpus: cpu_list(&opts.load_cpus),
            sut_cpus: cpu_list(&opts.sut_cpus),
            progress: progress.clone(),
            runs: 0,
            nonce: uuid::Uuid::new_v4().simple().to_string()[..4].to_owned(),
            sample_ratio: tracing.as_ref().map(|t| t.sample_ratio),
            tracing,
            workers: opts.workers.clone(),
        };
        let mut experiments = Vec::new();
        let mut failures = Vec::new();
        let mut skipped = Vec::new();
        for spec in &scenario.experiments {
            progress.step(format!("{arch}: {} ({})", spec.name(), spec.kind()));
            if let Some(reason) = ctx.d.target.as_ref().and_then(|t| {
                crate::runtime::external::needs::skip_reason(t, arch, spec)
            }) {
                progress.note(format!("{arch}: {} skipped: {reason}", spec.name()));
                skipped.push(Failure {
                    experiment: spec.name(),
                    kind: spec.kind().to_owned(),
                    error: reason,
                });
                progress.done();
                continue;
            }
            let t = Instant::now();
            match run_experiment(&mut ctx, spec).await {
                Ok(Some(e)) => experiments.push(e),
                Ok(None) => {}
                Err(e) => {
                    // Recorded and reported; the other experiments still run.
                    let error = format!("{e:#}");
                    progress.note(format!("{arch}: {} FAILED: {error}", spec.name()));
                    failures.push(Failure {
                        experiment: spec.name(),
                        kind: spec.kind().to_owned(),
                        error,
                    });
                }
            }
            ctx.restore()
                .await
                .context("restore the deployment after an experiment")?;
            progress.note(format!(
                "{arch}: {} done in {:.0} s",
                spec.name(),
                t.elapsed().as_secs_f64()
            ));
            progress.done();
        }
        let mut trace_overhead = Vec::new();
        if scenario.tracing.as_ref().is_some_and(|t| t.overhead) {
            progress.note(format!(
                "{arch}: tracing's own cost (off, on at 100% and sampled)"
            ));
            match overhead::run(&mut ctx).await {
                Ok(points) => trace_overhead = points,
                Err(e) => {
                    let error = format!("{e:#}");
                    progress.note(format!("{arch}: tracing overhead FAILED: {error}"));
                    failures.push(Failure {
                        experiment: "trace-overhead".into(),
                        kind: "tracing".into(),
                        error,
                    });
                }
            }
        }
        anyhow::Ok(ArchRun {
            arch,
            runtime: scenario.runtime,
            up_s: up.ready_after.as_secs_f64(),
            seed: Some(seed),
            experiments,
            failures,
            skipped,
            trace_overhead,
        })
    }
    .await;
    progress.step(format!("{arch}: down"));
    let down = lifecycle::down(env).await;
    progress.done();
    let run = result?;
    down?;
    Ok(run)
}

/// One experiment on one architecture; `None` when it does not apply (with a note).
async fn run_experiment(
    ctx: &mut ArchCtx,
    spec: &ExperimentSpec,
) -> anyhow::Result<Option<Experiment>> {
    Ok(match spec {
        ExperimentSpec::Sweep(s) => Some(Experiment::Sweep(sweep::run(ctx, s).await?)),
        ExperimentSpec::Fault(f) => Some(Experiment::Fault(fault::run(ctx, f).await?)),
        ExperimentSpec::Deploy(d) => Some(Experiment::Deploy(deploy::run(ctx, d).await?)),
        ExperimentSpec::Scale(s) => Some(Experiment::Scale(scale::run(ctx, s).await?)),
        ExperimentSpec::Budget(b) => Some(Experiment::Budget(budget::run(ctx, b).await?)),
        ExperimentSpec::NoisyNeighbour(n) => {
            Some(Experiment::NoisyNeighbour(noisy::run(ctx, n).await?))
        }
        ExperimentSpec::Consistency(c) => {
            Some(Experiment::Consistency(consistency::run(ctx, c).await?))
        }
        ExperimentSpec::Resources(r) => Some(Experiment::Resources(resources::run(ctx, r).await?)),
        ExperimentSpec::Journeys(j) => Some(Experiment::Journeys(journeys::run(ctx, j).await?)),
        ExperimentSpec::Steps(s) => Some(Experiment::Fault(steps::run(ctx, s).await?)),
    })
}

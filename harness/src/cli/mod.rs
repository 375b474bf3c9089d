//! The command line: `up`, `down`, `status`, `seed`, `logs`, `images`, `run`, `report`,
//! `compare`, `calibrate`, `simulate`, `load-worker`.

mod deployment;
mod images;
mod run;
pub mod simulate;

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use crate::lifecycle::Env;
use crate::runtime::RuntimeSettings;
use crate::seed::{self, SeedOptions, SeedPath, Size};
use crate::state::{self, StateFile};
use crate::topology::{Arch, RuntimeKind, Topology};
use crate::{compare, report};

#[derive(Debug, Parser)]
#[command(
    name = "crm-bench",
    version,
    about = "Brings the monolith or the microservice CRM up, seeds it, loads it, breaks it, and reports"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct Global {
    /// The state file that records what `up` started.
    #[arg(long, global = true, env = "CRM_BENCH_STATE", default_value_os_t = state::default_path())]
    pub state: PathBuf,
    /// Directory of the CRM's binaries (crm-monolith, *-svc, gateway); default: next to
    /// crm-bench itself.
    #[arg(long, global = true, env = "CRM_BENCH_BIN_DIR")]
    pub bin_dir: Option<PathBuf>,
    /// Parent directory of each deployment's working files (logs, PostgreSQL data).
    #[arg(long, global = true, env = "CRM_BENCH_WORK_ROOT")]
    pub work_root: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start an architecture and print its public URL and the benchmark tenant's admin.
    Up(UpArgs),
    /// Stop everything `up` started and remove its work directory (PostgreSQL data, NATS
    /// store, logs).
    Down {
        /// Keep the work directory (its logs, the database files) and say where it is.
        #[arg(long)]
        keep: bool,
    },
    /// What is running, and whether it is ready.
    Status {
        /// Print the deployment as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Load a deterministic synthetic data set into the running deployment.
    Seed(SeedArgs),
    /// The last lines of an instance's log (`monolith`, `gateway`, `customers#2`, `postgres`, ...).
    Logs {
        instance: String,
        #[arg(long, default_value_t = 100)]
        lines: usize,
    },
    /// Render a report directory's summary.md, index.html and PNGs again from its results.json.
    Report {
        /// The report directory (`reports/<timestamp>-<scenario>`).
        dir: PathBuf,
    },
    /// Compare results with a baseline: per-metric deltas; exit 1 on a regression beyond the
    /// noise, 2 on bad input.
    Compare(CompareArgs),
    /// Build the Docker runtime's images locally (no registry): the base image (debootstrap),
    /// postgres, nats, and one per CRM binary; prints what it built and how long each took,
    /// then removes the images of binaries that have changed since.
    Images {
        /// Build even the images whose recipe has not changed (and re-run debootstrap).
        #[arg(long)]
        rebuild: bool,
    },
    /// Run a scenario on each of its architectures and write a report (exit 3 when the
    /// reconciliation found a lost, duplicated or mismatched write).
    Run(RunArgs),
    /// Derive a crm-sim calibration from a traced report's per-hop breakdown.
    Calibrate(simulate::CalibrateArgs),
    /// Run a simulation file (scenarios/sim-*.toml), or check the model against a measured
    /// report (--validate); every figure is simulated.
    Simulate(simulate::SimulateArgs),
    /// Serve as a load worker for `crm-bench run --workers`: run the open-loop engine for
    /// the coordinator's assignments and send back the results (histograms serialised).
    LoadWorker {
        /// Address to listen on (`HOST:PORT`; port 0 picks one, printed on start).
        #[arg(long)]
        listen: String,
    },
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The scenario file (scenarios/quick.toml, scenarios/paper.toml, ...).
    pub scenario: PathBuf,
    /// Where report directories go.
    #[arg(long, default_value = "reports")]
    pub reports: PathBuf,
    /// CPUs of the system under test (a taskset list); default: the scenario's, else all
    /// but CPU 0. `all` lifts the split.
    #[arg(long)]
    pub sut_cpus: Option<String>,
    /// CPUs of the load generator; default: the scenario's, else CPU 0.
    #[arg(long)]
    pub load_cpus: Option<String>,
    /// Only check the scenario file, run nothing.
    #[arg(long)]
    pub check: bool,
    /// Trace the scenario's open-loop runs (overriding its `[tracing]`): the share of
    /// requests to trace, 0.1 when given without a value.
    #[arg(long, value_name = "RATIO", num_args = 0..=1, default_missing_value = "0.1")]
    pub trace: Option<f64>,
    /// Trade time for tighter intervals: run every sweep point until its p99's 95%
    /// interval is within ± this fraction (0.1 = ±10%; 0.05 roughly quadruples the time cap
    /// of each point). Overrides the scenario's `[load.adaptive] precision`.
    #[arg(long)]
    pub precision: Option<f64>,
    /// Load workers (`crm-bench load-worker`) sharing each open-loop point's rate evenly
    /// with the local engine: `HOST:PORT,HOST:PORT`. Checked before the run; adaptive
    /// points then run at their fixed length.
    #[arg(long, value_name = "ADDR,...", value_delimiter = ',')]
    pub workers: Vec<String>,
    /// The runtime, overriding the scenario's `runtime`; `external` drives the deployment
    /// of `--target` instead of starting one.
    #[arg(long, value_enum)]
    pub runtime: Option<RuntimeKind>,
    /// The external runtime's target file (scenarios/targets/*.toml): the deployment's URL
    /// and the command of each action.
    #[arg(long, value_name = "FILE")]
    pub target: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// One or more baseline runs, then the run to check (report directories or
    /// results.json): BASE... CURRENT. The baseline runs' samples are pooled.
    #[arg(value_name = "BASE... CURRENT", num_args = 2.., required = true)]
    pub runs: Vec<PathBuf>,
    /// Tolerance of a metric in percent (errors: percentage points), `METRIC=PERCENT`
    /// (repeatable): throughput=25, p50=150, p99=200, cpu=30, errors=1 by default.
    #[arg(long, value_name = "METRIC=PERCENT")]
    pub tolerance: Vec<String>,
    /// Print the table as markdown.
    #[arg(long)]
    pub markdown: bool,
    /// Compare latency and CPU figures as measured, without adjusting them by the two runs'
    /// machine-speed references.
    #[arg(long)]
    pub raw: bool,
}

#[derive(Debug, Args)]
pub struct UpArgs {
    #[arg(long, value_enum, default_value_t = Arch::Monolith)]
    pub arch: Arch,
    #[arg(long, value_enum, default_value_t = RuntimeKind::Process)]
    pub runtime: RuntimeKind,
    /// Replicas of a microservice, `SERVICE=N` (repeatable).
    #[arg(long, value_name = "SERVICE=N")]
    pub replicas: Vec<String>,
    /// CPU quota of a service in cores, `SERVICE=X` (docker; reported in process mode).
    #[arg(long, value_name = "SERVICE=X")]
    pub cpus: Vec<String>,
    /// Memory limit of a service, `SERVICE=SIZE` such as `customers=512m` (docker).
    #[arg(long, value_name = "SERVICE=SIZE")]
    pub memory: Vec<String>,
    /// CPUs of the system under test (a taskset list / docker cpuset); default: every CPU
    /// but the first, which the load generator takes. `all` lifts the split.
    #[arg(long)]
    pub sut_cpus: Option<String>,
    /// Durable PostgreSQL (fsync, synchronous commit), as in production.
    #[arg(long)]
    pub durable: bool,
    /// With `--runtime external`: the target file of the deployment to connect to (its
    /// architecture is the target's).
    #[arg(long, value_name = "FILE")]
    pub target: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct SeedArgs {
    #[arg(long, value_enum, default_value_t = Size::Small)]
    pub size: Size,
    /// Seed of the generator: the same seed gives the same data.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// `bulk` (COPY straight into each context's tables) or `api` (the public batch API).
    #[arg(long, value_enum, default_value_t = SeedPath::Bulk)]
    pub path: SeedPath,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// CPUs for the system under test by default: all but CPU 0 (which the load generator
/// takes), or none given when there is only one CPU.
pub fn default_sut_cpus() -> Option<String> {
    let n = std::thread::available_parallelism().map_or(1, |n| n.get());
    match n {
        1 => None,
        2 => Some("1".to_owned()),
        n => Some(format!("1-{}", n - 1)),
    }
}

impl Global {
    pub fn env(&self) -> anyhow::Result<Env> {
        let bin_dir = match &self.bin_dir {
            Some(d) => d.clone(),
            None => std::env::current_exe()
                .context("locate crm-bench")?
                .parent()
                .context("crm-bench's directory")?
                .to_owned(),
        };
        let work_root = self
            .work_root
            .clone()
            .unwrap_or_else(|| std::env::temp_dir().join("crm-bench"));
        Ok(Env {
            state: StateFile::new(&self.state),
            settings: RuntimeSettings {
                bin_dir,
                work_root,
                durable: false,
                target: None,
            },
        })
    }
}

impl UpArgs {
    pub fn topology(&self) -> anyhow::Result<Topology> {
        let arch = match (&self.target, self.runtime) {
            (Some(file), RuntimeKind::External) => {
                crate::runtime::external::Target::load(file)?.arch
            }
            (None, RuntimeKind::External) => {
                anyhow::bail!("--runtime external needs --target FILE")
            }
            (Some(_), _) => anyhow::bail!("--target is for --runtime external"),
            _ => self.arch,
        };
        let mut t = Topology {
            arch,
            runtime: self.runtime,
            specs: BTreeMap::new(),
            sut_cpus: match self.sut_cpus.as_deref() {
                Some("all") => None,
                Some(c) => Some(c.to_owned()),
                None => default_sut_cpus(),
            },
            tracing: None,
        };
        t.apply_flags(&self.replicas, &self.cpus, &self.memory)?;
        Ok(t)
    }
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let env = cli.global.env()?;
    match cli.command {
        Command::Up(args) => deployment::up(env, &args).await?,
        Command::Down { keep } => deployment::down(&env, keep).await?,
        Command::Status { json } => deployment::status(&env, json).await?,
        Command::Seed(args) => {
            let d = env
                .state
                .load()?
                .context("nothing is up: run `crm-bench up` first")?;
            let opts = SeedOptions {
                size: args.size,
                seed: args.seed,
                path: args.path,
            };
            let report = seed::seed(&d, &opts).await?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                println!("{report}");
            }
        }
        Command::Logs { instance, lines } => deployment::logs(&env, &instance, lines).await?,
        Command::Run(args) => return run::run_scenario(env, args).await,
        Command::Report { dir } => {
            let written = report::render(&dir)?;
            for f in &written.files {
                println!("wrote {}", f.display());
            }
            for w in &written.warnings {
                eprintln!("warning: {w}");
            }
        }
        Command::Compare(args) => {
            let mut tolerances = compare::Tolerances::default();
            let code = match args.tolerance.iter().try_for_each(|t| tolerances.set(t)) {
                Ok(()) => compare::main(
                    &args.runs[..args.runs.len() - 1],
                    &args.runs[args.runs.len() - 1],
                    &tolerances,
                    args.markdown,
                    args.raw,
                ),
                Err(e) => {
                    eprintln!("crm-bench compare: {e:#}");
                    compare::INPUT_ERROR
                }
            };
            // The exit code is the command's answer (0, 1 regression, 2 bad input), which
            // `anyhow::Result` cannot carry; nothing is left to clean up at this point.
            use std::io::Write;
            let _ = std::io::stdout().flush();
            std::process::exit(code);
        }
        Command::Images { rebuild } => images::images(&env, rebuild).await?,
        Command::Calibrate(args) => simulate::calibrate(&args)?,
        Command::Simulate(args) => simulate::simulate(&args)?,
        Command::LoadWorker { listen } => crate::distributed::server::serve(&listen).await?,
    }
    Ok(())
}

/// An error as the command line shows it: the message, then each cause on its own line,
/// then the backtrace only when asked for (`CRM_BENCH_BACKTRACE=1`).
pub fn describe_error(e: &anyhow::Error, backtrace: bool) -> String {
    let mut out = format!("crm-bench: {e}\n");
    for cause in e.chain().skip(1) {
        out.push_str(&format!("  caused by: {cause}\n"));
    }
    if backtrace {
        match e.backtrace().status() {
            std::backtrace::BacktraceStatus::Captured => {
                out.push_str(&format!("\n{}\n", e.backtrace()));
            }
            _ => out.push_str("  (no backtrace was captured: set RUST_LIB_BACKTRACE=1 as well)\n"),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::describe_error;

    #[test]
    fn the_command_line_is_well_formed() {
        <super::Cli as clap::CommandFactory>::command().debug_assert();
    }

    #[test]
    fn an_error_shows_its_message_and_causes_and_a_backtrace_only_on_request() {
        let e = anyhow::anyhow!("must be a positive number, got -5")
            .context("experiment[0].rates[0]")
            .context("read scenarios/x.toml");
        let shown = describe_error(&e, false);
        assert_eq!(
            shown,
            "crm-bench: read scenarios/x.toml\n  caused by: experiment[0].rates[0]\n  caused by: must be a positive number, got -5\n"
        );
        assert!(!shown.contains("stack backtrace") && !shown.contains(" at "));
        let asked = describe_error(&e, true);
        assert!(asked.starts_with(&shown), "{asked}");
        assert!(asked.len() > shown.len(), "a backtrace or a hint follows");
    }
}

//! The load engine as a command, for cross-checks against wrk and oha
//! (scripts/crosscheck-load.sh). Prints one JSON line of figures; `--results FILE` also
//! writes the full results.
//!
//! ```text
//! loadgen saturate --url http://127.0.0.1:8080 --connections 16 --duration 10
//! loadgen open --url http://127.0.0.1:8080 --rate 2000 --duration 10 --connections 16
//! ```

use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use crm_load::{
    Op, OpenLoopConfig, RunResults, SaturationConfig, Schedule, Target, Workload, WorkloadRng,
    run_open_loop, run_saturation,
};
use serde_json::json;

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    mode: Mode,
}

#[derive(Subcommand)]
enum Mode {
    /// Every connection back to back: the peak rate.
    Saturate(Common),
    /// Open loop at a fixed rate, latency from the intended send time.
    Open {
        #[command(flatten)]
        common: Common,
        /// Requests per second.
        #[arg(long)]
        rate: f64,
        /// Poisson arrivals with this seed (default: evenly spaced).
        #[arg(long)]
        poisson: Option<u64>,
    },
}

#[derive(Args)]
struct Common {
    #[arg(long)]
    url: String,
    #[arg(long, default_value = "/ok")]
    path: String,
    #[arg(long, default_value_t = 16)]
    connections: usize,
    /// Measured seconds.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Seconds of warm-up before them.
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
    #[arg(long, default_value_t = 1)]
    workers: usize,
    /// Write the full results here.
    #[arg(long)]
    results: Option<std::path::PathBuf>,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cli = Cli::parse();
    let (common, results) = match cli.mode {
        Mode::Saturate(c) => {
            let target = Target::parse(&c.url)?;
            let mut config = SaturationConfig::new(c.connections, secs(c.duration));
            config.warmup = secs(c.warmup);
            config.workers = c.workers;
            let r = run_saturation(&target, config, workload(&c.path)?).await?;
            (c, r)
        }
        Mode::Open {
            common: c,
            rate,
            poisson,
        } => {
            let target = Target::parse(&c.url)?;
            let length = secs(c.warmup + c.duration);
            let schedule = match poisson {
                Some(seed) => Schedule::poisson(rate, length, seed),
                None => Schedule::constant(rate, length),
            };
            let mut config = OpenLoopConfig::new(schedule);
            config.connections = c.connections;
            config.warmup = secs(c.warmup);
            config.workers = c.workers;
            let r = run_open_loop(&target, config, workload(&c.path)?).await?;
            (c, r)
        }
    };
    print_figures(&results);
    if let Some(path) = common.results {
        std::fs::write(path, serde_json::to_vec_pretty(&results)?)?;
    }
    Ok(())
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

fn workload(path: &str) -> crm_load::Result<Arc<dyn Workload>> {
    let op = Op::get("get", path)?;
    Ok(Arc::new(move |_: u64, _: &mut WorkloadRng| op.clone()))
}

fn print_figures(r: &RunResults) {
    let t = &r.totals;
    let line = json!({
        "requests": t.requests,
        "warmup_requests": r.warmup_requests,
        "errors": t.errors.total(),
        "offered_rate": r.offered_rate,
        "achieved_rate": r.achieved_rate,
        "corrected_us": {
            "p50": t.corrected.p50_us, "p90": t.corrected.p90_us,
            "p99": t.corrected.p99_us, "p999": t.corrected.p999_us, "max": t.corrected.max_us,
        },
        "uncorrected_us": {
            "p50": t.uncorrected.p50_us, "p90": t.uncorrected.p90_us,
            "p99": t.uncorrected.p99_us, "p999": t.uncorrected.p999_us, "max": t.uncorrected.max_us,
        },
    });
    println!("{line}");
}

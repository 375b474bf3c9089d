//! Seeding: a deterministic synthetic data set (seeded RNG) loaded into a running deployment,
//! through the public batch API or in bulk with COPY, and what the data set must look like
//! afterwards (checksum, counts, analytics figures).
//!
//! # Layout
//! - [`plan`]: sizes and the data set's shape (skew, statuses, stages, conversions).
//! - [`generator`]: every record as a pure function of the plan and its index.
//! - `setup`: the tenant, its team and default pipeline, through the API (both paths).
//! - `api`: the API path (batch endpoints, conversions, stage moves).
//! - `bulk`, `tables` (`rows`, `projections`), `copy`, `ids`: the COPY path, table by table.
//! - [`checksum`]: the business data as stored, resolved to natural keys.
//! - [`truth`]: expected counts and analytics figures; [`check`]: a deployment against them.
//! - [`sample`]: ids of seeded records for workloads.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

use crate::runtime::{Deployment, procfs};

mod api;
mod bulk;
pub mod check;
pub mod checksum;
mod client;
mod copy;
pub mod generator;
mod ids;
pub mod plan;
mod projections;
mod rows;
pub mod sample;
pub mod setup;
mod tables;
pub mod truth;
mod words;

pub use check::{check_analytics, check_counts, wait_for_analytics};
pub use checksum::checksum;
pub use sample::{Sample, sample_ids};
pub use truth::{Truth, truth};

/// How much data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Size {
    /// A demo: enough to click through.
    Small,
    /// About ten thousand companies and a hundred thousand contacts.
    Medium,
    /// At least a million contacts (a hundred thousand companies).
    Large,
}

/// How the data gets in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum SeedPath {
    /// COPY straight into each context's tables (fast; for big data sets).
    Bulk,
    /// The public batch API (exercises the system).
    Api,
}

/// What to seed: the same size and seed give the same data on either path.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SeedOptions {
    pub size: Size,
    pub seed: u64,
    pub path: SeedPath,
}

/// What a seeding did and how fast.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SeedReport {
    pub options: SeedOptions,
    /// Rows written per kind (`companies`, `contacts`, ...).
    pub rows: BTreeMap<String, u64>,
    /// Loading the records (after the setup), the time rows per second are measured over.
    pub seconds: f64,
    pub rows_per_second: f64,
    /// Before loading: the tenant checked empty, the team and the pipeline created.
    #[serde(default)]
    pub setup_seconds: f64,
    /// After loading, until the analytics figures agreed with the truth (events of the API
    /// path are projected asynchronously; the bulk path writes the projections itself).
    #[serde(default)]
    pub settle_seconds: f64,
    /// CPU seconds PostgreSQL (postmaster, backends, background processes) spent while
    /// loading; known for a PostgreSQL of the process runtime.
    #[serde(default)]
    pub postgres_cpu_seconds: Option<f64>,
    /// CPU seconds this process (the generator, the client) spent while loading.
    #[serde(default)]
    pub seeder_cpu_seconds: Option<f64>,
    /// Checksum of the business data as stored (see [`checksum`]).
    pub checksum: String,
}

impl fmt::Display for SeedReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let total: u64 = self.rows.values().sum();
        writeln!(
            f,
            "seeded {total} rows ({:?}, seed {}, {:?} path) in {:.1} s: {:.0} rows/s \
             (setup {:.1} s, analytics agreed {:.1} s later)",
            self.options.size,
            self.options.seed,
            self.options.path,
            self.seconds,
            self.rows_per_second,
            self.setup_seconds,
            self.settle_seconds,
        )?;
        if let (Some(pg), Some(own)) = (self.postgres_cpu_seconds, self.seeder_cpu_seconds) {
            writeln!(
                f,
                "  CPU while loading: PostgreSQL {pg:.1} s, seeder {own:.1} s"
            )?;
        }
        for (kind, n) in &self.rows {
            writeln!(f, "  {kind:<24} {n}")?;
        }
        write!(f, "  checksum {}", self.checksum)
    }
}

/// Generates the data set of `opts` and loads it into `d`'s benchmark tenant, then waits
/// until the analytics figures agree with the data set's truth. Refuses, writing nothing,
/// when the tenant already holds records.
pub async fn seed(d: &Deployment, opts: &SeedOptions) -> anyhow::Result<SeedReport> {
    let password = d
        .admin
        .as_ref()
        .context("the deployment has no admin credentials")?
        .password
        .clone();
    anyhow::ensure!(
        opts.path == SeedPath::Api || !d.databases.is_empty(),
        "the bulk path writes into the databases, and this deployment gives none: seed through the API (--path api), or give the target's `databases`"
    );
    let plan = Arc::new(plan::Plan::new(opts.size, opts.seed));
    let client = client::Client::login(d).await?;
    let started = Instant::now();
    let tenant = setup::prepare(&client, &plan, &password).await?;
    let setup_seconds = started.elapsed().as_secs_f64();
    let loading = Instant::now();
    let (pg_before, own_before) = (postgres_cpu(d), own_cpu());
    let mut rows = match opts.path {
        SeedPath::Bulk => bulk::load(d, plan.clone(), &tenant).await?,
        SeedPath::Api => api::load(&client, &plan, &tenant).await?,
    };
    let seconds = loading.elapsed().as_secs_f64();
    if pg_before.is_some() {
        // Closed connections' backends count once the postmaster has reaped them.
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let postgres_cpu_seconds = pg_before.zip(postgres_cpu(d)).map(|(a, b)| b - a);
    let seeder_cpu_seconds = own_before.zip(own_cpu()).map(|(a, b)| b - a);
    rows.insert("users".to_owned(), u64::from(plan.team_size()));
    let total: u64 = rows.values().sum();

    let settling = Instant::now();
    let truth = truth::truth_of(&plan);
    // The bulk path wrote the projections itself; the API path's events are still on
    // their way through the outbox (and NATS).
    let patience = match opts.path {
        SeedPath::Bulk => Duration::from_secs(10),
        SeedPath::Api => Duration::from_secs(120 + u64::from(plan.opportunities()) / 100),
    };
    let diffs = check::wait_with(&client, &truth, patience).await?;
    if !diffs.is_empty() {
        bail!(
            "seeded, but the analytics figures disagree with the data set after {:.0} s:\n{}",
            patience.as_secs_f64(),
            diffs.join("\n")
        );
    }
    let settle_seconds = settling.elapsed().as_secs_f64();
    let summing = Instant::now();
    // A deployment reached without its databases (external runtime) cannot be summed.
    let checksum = if d.databases.is_empty() {
        "not computed: no database URLs".to_owned()
    } else {
        checksum(d).await?
    };
    tracing::info!(
        "checksum computed in {:.1} s",
        summing.elapsed().as_secs_f64()
    );
    Ok(SeedReport {
        options: opts.clone(),
        rows,
        seconds,
        rows_per_second: total as f64 / seconds.max(1e-9),
        setup_seconds,
        settle_seconds,
        postgres_cpu_seconds,
        seeder_cpu_seconds,
        checksum,
    })
}

/// CPU seconds of the deployment's PostgreSQL so far: the postmaster with the backends it
/// has reaped, and the processes alive now (process runtime only).
fn postgres_cpu(d: &Deployment) -> Option<f64> {
    postgres_cpu_of(d.instance("postgres")?.pid?)
}

pub(crate) fn postgres_cpu_of(pid: u32) -> Option<f64> {
    procfs::alive(pid).then(|| procfs::tree_usage(pid).0)
}

fn own_cpu() -> Option<f64> {
    Some(procfs::cpu_seconds(std::process::id(), false))
}

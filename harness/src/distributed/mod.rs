//! Distributed load: `crm-bench load-worker --listen ADDR` runs the open-loop engine for a
//! coordinator (`crm-bench run SCENARIO --workers ADDR,...`), which splits each open-loop
//! point's rate evenly between itself and its workers, starts everyone on one wall-clock
//! instant, and adds the workers' results to its own: counts and serialised HdrHistograms
//! (V2 + deflate, base64) added, never averaged percentiles. A worker lost mid-run is
//! named, and its share stays in the offered rate as load that is missing.
//!
//! The protocol is JSON over HTTP/1.1: `GET /health` → [`Hello`]; `POST /run` with an
//! [`Assignment`] → [`WorkerReply`] once the run is over (one run at a time: 409 while busy).
//!
//! # Layout
//! - [`server`]: the worker.
//! - [`fleet`]: the coordinator's side: checks, assignments, the merge.

pub mod fleet;
pub mod server;

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crm_load::{OpenLoopConfig, RunResults};

use crate::workload::acks::{Created, Updated};

/// What a worker's `/health` names itself.
pub const SERVICE: &str = "crm-bench load-worker";

/// A worker's answer to `GET /health`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Hello {
    /// [`SERVICE`].
    pub service: String,
    /// The crm-bench version (the coordinator's must be the same).
    pub version: String,
    /// True while a run is going on.
    pub busy: bool,
}

/// One worker's share of a load point.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Assignment {
    /// The CRM's public URL (loopback, as every crm-load target).
    pub target: String,
    /// The benchmark tenant admin's bearer token.
    pub token: String,
    /// Prefix of the markers in the records it writes (unique per worker and run).
    pub tag: String,
    /// Operation → weight.
    pub mix: BTreeMap<String, f64>,
    /// Its schedule (its share of the rate), warm-up, connections, timeout, bucket, seed and
    /// the common start (`start_at`).
    pub config: OpenLoopConfig,
}

/// What a worker measured, and the writes it saw acknowledged (for the reconciliation).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct WorkerReply {
    pub results: RunResults,
    pub created: Vec<Created>,
    /// The latest acknowledged version of each record it updated.
    pub updated: Vec<Updated>,
}

fn url(addr: &str, path: &str) -> String {
    format!("http://{addr}{path}")
}

/// Refuses a run before it starts when a worker does not answer `/health` as a crm-bench
/// load worker of this version, or is busy.
pub async fn check_workers(addrs: &[String]) -> anyhow::Result<()> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(3))
        .build()?;
    for addr in addrs {
        let start = format!("start it there with `crm-bench load-worker --listen {addr}`");
        let hello: Hello = async {
            let r = http.get(url(addr, "/health")).send().await?;
            anyhow::ensure!(r.status().is_success(), "/health answered {}", r.status());
            Ok(r.json().await?)
        }
        .await
        .with_context(|| format!("load worker {addr} is unreachable ({start})"))?;
        anyhow::ensure!(
            hello.service == SERVICE,
            "{addr} is not a crm-bench load worker (it says {:?})",
            hello.service
        );
        anyhow::ensure!(
            hello.version == env!("CARGO_PKG_VERSION"),
            "load worker {addr} runs crm-bench {}, this is {}",
            hello.version,
            env!("CARGO_PKG_VERSION")
        );
        anyhow::ensure!(!hello.busy, "load worker {addr} is busy with another run");
    }
    Ok(())
}

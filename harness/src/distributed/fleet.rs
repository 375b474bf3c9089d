//! The coordinator's side of distributed load: one point's assignments sent to every
//! worker, then their replies added to the local engine's results. A worker that fails or
//! disconnects mid-run is named and its share kept in the offered rate, missing from the
//! achieved one.

use std::time::Duration;

use chrono::{DateTime, Utc};
use crm_load::{RunResults, Schedule};
use tokio::task::JoinHandle;

use super::{Assignment, WorkerReply, url};
use crate::results::LoadSource;
use crate::workload::acks::Acks;

/// From sending the assignments to t = 0: long enough for a worker to fill its workload's
/// pools (a few list requests) and open its connections.
pub const LEAD: Duration = Duration::from_secs(3);

/// The common start of a point whose assignments are sent now.
pub fn start_at() -> DateTime<Utc> {
    Utc::now() + LEAD
}

/// Assignments on their way; [`finish`](Self::finish) collects them.
pub struct Fleet {
    pending: Vec<(String, f64, JoinHandle<anyhow::Result<WorkerReply>>)>,
}

/// A point's results with every worker's added, and who gave what.
pub struct Merged {
    pub results: RunResults,
    pub sources: Vec<LoadSource>,
    /// One line per worker whose share is missing, naming it.
    pub lost: Vec<String>,
}

impl Fleet {
    /// Sends worker `i` (from 1; the local engine is 0) `local` with its own schedule
    /// (`schedule(i)`), seed and marker tag; `rate` is each engine's share.
    pub fn start(
        workers: &[String],
        local: &Assignment,
        rate: f64,
        schedule: impl Fn(u64) -> Schedule,
    ) -> Fleet {
        let horizon = LEAD
            + local.config.schedule.duration()
            + local.config.drain
            + local.config.timeout
            + Duration::from_secs(30);
        let pending = workers
            .iter()
            .zip(1u64..)
            .map(|(addr, i)| {
                let mut a = local.clone();
                a.tag = format!("{}w{i}", local.tag);
                a.config.schedule = schedule(i);
                a.config.seed = local.config.seed.wrapping_add(i);
                let addr = addr.clone();
                let task = tokio::spawn(ask(addr.clone(), a, horizon));
                (addr, rate, task)
            })
            .collect();
        Fleet { pending }
    }

    /// Waits for every worker and adds its results to `local` (its writes to `acks`).
    pub async fn finish(mut self, local: RunResults, acks: &Acks) -> Merged {
        let mut sources = vec![source("local", &local)];
        let mut results = local;
        let mut lost = Vec::new();
        for (addr, rate, task) in std::mem::take(&mut self.pending) {
            let reply = match task.await {
                Ok(r) => r,
                Err(e) => Err(anyhow::anyhow!("its task failed: {e}")),
            };
            let added = reply.and_then(|reply| {
                results.add(&reply.results)?;
                for c in reply.created {
                    acks.created(c.kind, c.id, c.marker);
                }
                for u in reply.updated {
                    acks.updated(u.kind, u.id, u.version);
                }
                Ok(reply.results)
            });
            match added {
                Ok(r) => sources.push(source(&addr, &r)),
                Err(e) => {
                    let error = format!("{e:#}");
                    lost.push(format!(
                        "load worker {addr} failed: {error}; its {rate:.1} req/s are missing from the achieved rate"
                    ));
                    results.offered_rate = Some(results.offered_rate.unwrap_or(0.0) + rate);
                    sources.push(LoadSource {
                        engine: addr,
                        offered_rps: rate,
                        achieved_rps: None,
                        requests: 0,
                        error: Some(error),
                    });
                }
            }
        }
        Merged {
            results,
            sources,
            lost,
        }
    }
}

impl Drop for Fleet {
    /// A point abandoned (its local engine failed) calls its workers off: their requests are
    /// dropped, closing the connections.
    fn drop(&mut self) {
        for (_, _, task) in &self.pending {
            task.abort();
        }
    }
}

fn source(engine: &str, r: &RunResults) -> LoadSource {
    LoadSource {
        engine: engine.to_owned(),
        offered_rps: r.offered_rate.unwrap_or(0.0),
        achieved_rps: Some(r.achieved_rate),
        requests: r.totals.requests,
        error: None,
    }
}

async fn ask(addr: String, a: Assignment, horizon: Duration) -> anyhow::Result<WorkerReply> {
    let r = reqwest::Client::new()
        .post(url(&addr, "/run"))
        .json(&a)
        .timeout(horizon)
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("disconnected mid-run ({:#})", anyhow::Error::from(e)))?;
    let status = r.status();
    if !status.is_success() {
        let body = r.text().await.unwrap_or_default();
        anyhow::bail!("it answered {status}: {body}");
    }
    r.json().await.map_err(|e| {
        anyhow::anyhow!(
            "its reply was cut or unreadable ({:#})",
            anyhow::Error::from(e)
        )
    })
}

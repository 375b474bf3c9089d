//! The open-loop engine (wrk2's method: latency counted from each request's intended send
//! time, so a stalled server cannot hide its stall) and the closed-loop saturation mode (every
//! connection back to back, for the peak rate).
//!
//! Both run on dedicated worker threads, each with a single-threaded tokio runtime, its share
//! of a bounded number of keep-alive HTTP/1.1 connections and its own recorder; the
//! recorders are merged (histograms added) when the run ends. The caller's runtime only
//! waits for the results.
//!
//! The workload is used as `Arc<dyn Workload>` inside, so the whole engine is compiled (and
//! optimised, see the workspace's `profile.dev.package.crm-load`) in this crate rather than
//! monomorphised, unoptimised, in a debug build of the caller.

mod config;
mod conn;
mod handle;
mod http1;
mod timer;
mod worker;

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio::sync::{oneshot, watch};

pub use config::{OpenLoopConfig, SaturationConfig};
pub(crate) use handle::Shared;
pub use handle::{Progress, RunHandle, RunStart};

use crate::op::Workload;
use crate::record::Recorder;
use crate::reqlog::{self, LogReader};
use crate::results::{self, RunConfig, RunMeta, RunResults};
use crate::target::Target;
use crate::{LoadError, Result};
use worker::{Pace, WorkerPlan, WorkerResult};

/// A run in progress. Dropping it without [`wait`](Self::wait)ing stops the load.
pub struct LoadRun {
    handle: RunHandle,
    reports: Vec<oneshot::Receiver<WorkerResult>>,
    config: RunConfig,
    target: Target,
    start: RunStart,
    planned_end: Duration,
    finished: bool,
    log: Option<LogReader>,
    /// Kept so the workers' start signal stays open for the run's life.
    _start: watch::Sender<Option<Instant>>,
}

impl LoadRun {
    /// Progress, stop and marks, for other tasks while the run goes on.
    pub fn handle(&self) -> RunHandle {
        self.handle.clone()
    }

    /// The run's t = 0.
    pub fn started(&self) -> RunStart {
        self.start
    }

    /// The reader of the per-request log, if the run keeps one (once: later calls get
    /// `None`). Poll it while the run goes on; [`LogReader::finish`] it after
    /// [`wait`](Self::wait).
    pub fn take_log(&mut self) -> Option<LogReader> {
        self.log.take()
    }

    /// Waits for the end of the run (planned, or after a stop) and returns its results.
    pub async fn wait(mut self) -> Result<RunResults> {
        let mut merged: Option<Recorder> = None;
        for report in std::mem::take(&mut self.reports) {
            let recorder = report
                .await
                .map_err(|_| LoadError::Worker("a worker thread died".into()))?
                .map_err(LoadError::Worker)?;
            match &mut merged {
                None => merged = Some(recorder),
                Some(m) => m.merge(&recorder),
            }
        }
        self.finished = true;
        let merged = merged.ok_or_else(|| LoadError::Worker("no worker".into()))?;
        let end = merged.end();
        let offered = match &self.config {
            RunConfig::OpenLoop(c) => Some(
                c.schedule
                    .arrivals()
                    .take_while(|a| a.at < end)
                    .filter(|a| a.at >= c.warmup)
                    .count() as u64,
            ),
            _ => None,
        };
        let meta = RunMeta {
            config: self.config.clone(),
            target: self.target.base_url().to_owned(),
            started_at: self.start.wall,
            offered,
            stopped_early: end < self.planned_end,
            marks: self.handle.shared.marks(),
        };
        Ok(results::build(&merged, meta))
    }
}

impl Drop for LoadRun {
    fn drop(&mut self) {
        if !self.finished {
            self.handle.stop();
        }
    }
}

/// Starts an open-loop run; returns once every connection is made and t = 0 is set.
pub async fn start_open_loop(
    target: &Target,
    config: OpenLoopConfig,
    workload: Arc<dyn Workload>,
) -> Result<LoadRun> {
    config.schedule.profile.validate()?;
    let end = config.schedule.duration();
    check_common(
        config.connections,
        config.workers,
        config.timeout,
        config.bucket,
    )?;
    if config.warmup >= end {
        return Err(LoadError::Config(
            "the warm-up must be shorter than the schedule".into(),
        ));
    }
    let common = Common {
        connections: config.connections,
        workers: config.workers,
        warmup: config.warmup,
        end,
        timeout: config.timeout,
        bucket: config.bucket,
        seed: config.seed,
        cpus: config.cpus.clone(),
        trace_ratio: config.trace_ratio,
        request_log: config.request_log,
        start_at: config.start_at,
    };
    let schedule = config.schedule.clone();
    let drain = config.drain;
    let pace = move || Pace::Open {
        schedule: schedule.clone(),
        drain,
    };
    launch(target, workload, common, pace, RunConfig::OpenLoop(config)).await
}

/// Starts a saturation run; returns once every connection is made and t = 0 is set.
pub async fn start_saturation(
    target: &Target,
    config: SaturationConfig,
    workload: Arc<dyn Workload>,
) -> Result<LoadRun> {
    check_common(
        config.connections,
        config.workers,
        config.timeout,
        config.bucket,
    )?;
    if config.duration.is_zero() {
        return Err(LoadError::Config("the duration must be > 0".into()));
    }
    let common = Common {
        connections: config.connections,
        workers: config.workers,
        warmup: config.warmup,
        end: config.warmup + config.duration,
        timeout: config.timeout,
        bucket: config.bucket,
        seed: config.seed,
        cpus: config.cpus.clone(),
        trace_ratio: None,
        request_log: 0,
        start_at: None,
    };
    launch(
        target,
        workload,
        common,
        || Pace::Saturation,
        RunConfig::Saturation(config),
    )
    .await
}

/// [`start_open_loop`] and [`LoadRun::wait`] in one.
pub async fn run_open_loop(
    target: &Target,
    config: OpenLoopConfig,
    workload: Arc<dyn Workload>,
) -> Result<RunResults> {
    start_open_loop(target, config, workload)
        .await?
        .wait()
        .await
}

/// [`start_saturation`] and [`LoadRun::wait`] in one.
pub async fn run_saturation(
    target: &Target,
    config: SaturationConfig,
    workload: Arc<dyn Workload>,
) -> Result<RunResults> {
    start_saturation(target, config, workload)
        .await?
        .wait()
        .await
}

fn check_common(
    connections: usize,
    workers: usize,
    timeout: Duration,
    bucket: Duration,
) -> Result<()> {
    if workers == 0 || connections < workers {
        return Err(LoadError::Config(format!(
            "need at least one worker and one connection per worker ({connections} connections, {workers} workers)"
        )));
    }
    if timeout.is_zero() || bucket < Duration::from_millis(1) {
        return Err(LoadError::Config(
            "the timeout must be > 0 and a bucket at least 1 ms".into(),
        ));
    }
    Ok(())
}

struct Common {
    connections: usize,
    workers: usize,
    warmup: Duration,
    end: Duration,
    timeout: Duration,
    bucket: Duration,
    seed: u64,
    cpus: Vec<usize>,
    trace_ratio: Option<f64>,
    /// Records of the per-request log; 0: none.
    request_log: usize,
    start_at: Option<DateTime<Utc>>,
}

async fn launch(
    target: &Target,
    workload: Arc<dyn Workload>,
    common: Common,
    pace: impl Fn() -> Pace,
    config: RunConfig,
) -> Result<LoadRun> {
    let shared = Shared::new();
    let (start_tx, start_rx) = watch::channel(None);
    let mut ready = Vec::with_capacity(common.workers);
    let mut reports = Vec::with_capacity(common.workers);
    let (writers, log) = if common.request_log > 0 {
        let (w, r) = reqlog::channel_for(common.workers, common.request_log);
        (w.into_iter().map(Some).collect(), Some(r))
    } else {
        ((0..common.workers).map(|_| None).collect::<Vec<_>>(), None)
    };
    for (index, log) in writers.into_iter().enumerate() {
        let connections = common.connections / common.workers
            + usize::from(index < common.connections % common.workers);
        let plan = WorkerPlan {
            index,
            workers: common.workers,
            connections,
            pace: pace(),
            warmup: common.warmup,
            end: common.end,
            timeout: common.timeout,
            bucket: common.bucket,
            seed: common.seed,
            trace_ratio: common.trace_ratio,
            cpu: (!common.cpus.is_empty()).then(|| common.cpus[index % common.cpus.len()]),
            target: target.clone(),
            workload: workload.clone(),
            shared: shared.clone(),
            log,
        };
        let (ready_tx, ready_rx) = oneshot::channel();
        reports.push(worker::spawn(plan, ready_tx, start_rx.clone())?);
        ready.push(ready_rx);
    }
    for r in ready {
        r.await
            .map_err(|_| LoadError::Worker("a worker died while connecting".into()))?
            .map_err(LoadError::Worker)?;
    }
    let start = RunStart::at(common.start_at)?;
    shared.set_start(start);
    start_tx.send_replace(Some(start.instant));
    Ok(LoadRun {
        handle: RunHandle { shared },
        reports,
        config,
        target: target.clone(),
        start,
        planned_end: common.end,
        finished: false,
        log,
        _start: start_tx,
    })
}

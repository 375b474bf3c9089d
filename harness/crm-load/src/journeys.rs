//! Closed-loop user journeys with goose 0.19 as a library.
//!
//! The caller builds goose [`Scenario`]s with [`transaction!`](goose::transaction) as usual,
//! and inside each transaction sends its requests through [`send`], which times each one in
//! microseconds (goose's own metrics are in milliseconds, and switched off here) around the
//! whole exchange, body included, and records it under an operation name into the same
//! recorder and [`RunResults`] as the open-loop engine. [`Journeys::run`] configures goose
//! in code (never from the process's arguments), quiet, with no controllers, no metrics and
//! no report files.
//!
//! Closed loop has no intended send times: corrected and uncorrected latencies are the same.
//!
//! Goose installs a ctrl-c handler that replaces tokio's; call [`install_interrupt_handler`]
//! first thing in `main` so both keep working.

use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use chrono::Utc;
use goose::config::GooseConfiguration;
use goose::prelude::{GooseAttack, GooseRequest, GooseUser, Scenario, TransactionError};
use serde::{Deserialize, Serialize};

use crate::engine::{RunHandle, RunStart};
use crate::errors::ErrorClass;
use crate::op::{OpName, Response};
use crate::record::{Recorder, Sample};
use crate::results::{self, RunConfig, RunMeta, RunResults};
use crate::serde_secs;
use crate::target::Target;
use crate::{LoadError, Result};

/// How many goose users there are and how they behave.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct JourneyConfig {
    /// Concurrent users.
    pub users: usize,
    /// Users started per second.
    pub hatch_rate: f64,
    /// How long all users keep running once the last has started (goose counts whole
    /// seconds: rounded up).
    #[serde(rename = "run_time_s", with = "serde_secs")]
    pub run_time: Duration,
    /// Requests sent before this (from the start of the attack) are not recorded.
    #[serde(rename = "warmup_s", with = "serde_secs")]
    pub warmup: Duration,
    /// Think time between transactions: uniform in `[think_min, think_max]`, applied to
    /// every scenario given to [`Journeys::scenario`]. Zero: none.
    #[serde(rename = "think_min_s", with = "serde_secs")]
    pub think_min: Duration,
    /// Upper bound of the think time.
    #[serde(rename = "think_max_s", with = "serde_secs")]
    pub think_max: Duration,
    /// Per-request timeout.
    #[serde(rename = "timeout_s", with = "serde_secs")]
    pub timeout: Duration,
    /// Width of a timeline bucket.
    #[serde(rename = "bucket_s", with = "serde_secs")]
    pub bucket: Duration,
}

impl JourneyConfig {
    /// `users` users, all started within a second, for `run_time`; no think time,
    /// 5 s timeout, 1 s buckets.
    pub fn new(users: usize, run_time: Duration) -> Self {
        Self {
            users,
            hatch_rate: users.max(1) as f64,
            run_time,
            warmup: Duration::ZERO,
            think_min: Duration::ZERO,
            think_max: Duration::ZERO,
            timeout: Duration::from_secs(5),
            bucket: Duration::from_secs(1),
        }
    }
}

/// The recorders of the active run. Users share a few shards (user index modulo the shard
/// count): one recorder per user would hold a timeline each.
struct Registry {
    start: Instant,
    shards: Vec<Mutex<Recorder>>,
    handle: RunHandle,
}

const SHARDS: usize = 4;

/// The one active run: goose itself is process-wide (its kill switch, logger, ctrl-c).
static ACTIVE: RwLock<Option<Arc<Registry>>> = RwLock::new(None);

fn active() -> Option<Arc<Registry>> {
    ACTIVE.read().unwrap_or_else(|e| e.into_inner()).clone()
}

/// Sends `request` through goose as operation `op`, reads the whole body, and records the
/// exchange (µs) in the active run. Returns the response whatever its status (a 500 is
/// `Ok`, and recorded as an error); a failure to connect, a timeout or a broken connection
/// is recorded by class and returned as goose's error, so `?` fails the transaction.
pub async fn send(
    user: &mut GooseUser,
    op: impl Into<OpName>,
    request: GooseRequest<'_>,
) -> std::result::Result<Response, Box<TransactionError>> {
    let op = op.into();
    let sent = Instant::now();
    let answer = user.request(request).await?;
    let result = match answer.response {
        Ok(response) => {
            let status = response.status();
            let headers = response.headers().clone();
            match response.bytes().await {
                Ok(body) => Ok(Response {
                    status,
                    headers,
                    body,
                }),
                Err(e) => Err(e),
            }
        }
        Err(e) => Err(e),
    };
    let done = Instant::now();
    let error = match &result {
        Ok(r) => ErrorClass::of_status(r.status),
        Err(e) if e.is_timeout() => Some(ErrorClass::Timeout),
        Err(e) if e.is_connect() => Some(ErrorClass::Connect),
        Err(_) => Some(ErrorClass::Io),
    };
    if let Some(registry) = active() {
        registry.record(
            user.weighted_users_index,
            &op,
            sent,
            done,
            result.is_ok(),
            error,
        );
    }
    result.map_err(|e| Box::new(TransactionError::Reqwest(e)))
}

impl Registry {
    fn record(
        &self,
        user: usize,
        op: &OpName,
        sent: Instant,
        done: Instant,
        responded: bool,
        error: Option<ErrorClass>,
    ) {
        let latency = done.saturating_duration_since(sent);
        let sample = Sample {
            intended: sent.saturating_duration_since(self.start),
            done: done.saturating_duration_since(self.start),
            corrected: latency,
            uncorrected: latency,
            responded,
            error,
        };
        let shard = &self.shards[user % self.shards.len()];
        shard
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .record(op, sample);
        let shared = &self.handle.shared;
        shared
            .sent
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        shared.finished(error.is_some());
    }
}

/// A closed-loop run being assembled: a target, a configuration and goose scenarios.
pub struct Journeys {
    target: Target,
    config: JourneyConfig,
    scenarios: Vec<Scenario>,
    handle: RunHandle,
}

impl Journeys {
    /// A run against `target` with no scenarios yet.
    pub fn new(target: &Target, config: JourneyConfig) -> Self {
        Self {
            target: target.clone(),
            config,
            scenarios: Vec::new(),
            handle: RunHandle {
                shared: crate::engine::Shared::new(),
            },
        }
    }

    /// Adds a scenario (with the configured think time, if any).
    pub fn scenario(mut self, scenario: Scenario) -> Result<Self> {
        let scenario = if self.config.think_max.is_zero() {
            scenario
        } else {
            scenario
                .set_wait_time(self.config.think_min, self.config.think_max)
                .map_err(|e| LoadError::Goose(e.to_string()))?
        };
        self.scenarios.push(scenario);
        Ok(self)
    }

    /// Progress, stop (goose's kill switch) and marks.
    pub fn handle(&self) -> RunHandle {
        self.handle.clone()
    }

    /// Runs the attack to its end (or a stop) and returns what [`send`] recorded.
    pub async fn run(self) -> Result<RunResults> {
        let c = &self.config;
        if c.users == 0 || !(c.hatch_rate > 0.0 && c.hatch_rate.is_finite()) {
            return Err(LoadError::Config("need users and a hatch rate > 0".into()));
        }
        if self.scenarios.is_empty() {
            return Err(LoadError::Config("a journey run needs a scenario".into()));
        }
        let registry = Arc::new(Registry {
            start: Instant::now(),
            shards: (0..SHARDS)
                .map(|_| Mutex::new(Recorder::new(c.warmup, Duration::MAX, c.bucket)))
                .collect(),
            handle: self.handle.clone(),
        });
        {
            let mut slot = ACTIVE.write().unwrap_or_else(|e| e.into_inner());
            if slot.is_some() {
                return Err(LoadError::Goose("another journey run is active".into()));
            }
            *slot = Some(registry.clone());
        }
        let _clear = ClearActive;
        let start = RunStart {
            instant: registry.start,
            wall: Utc::now(),
        };
        self.handle.shared.set_start(start);

        let mut attack = GooseAttack::initialize_with_config(self.goose_configuration())
            .map_err(|e| LoadError::Goose(e.to_string()))?;
        for scenario in self.scenarios {
            attack = attack.register_scenario(scenario);
        }
        // A stop asked for through the handle trips goose's kill switch; again every 100 ms,
        // since goose clears the switch when its attack starts.
        let mut stop = self.handle.shared.stop_signal();
        let stopper = tokio::spawn(async move {
            if stop.wait_for(|s| *s).await.is_ok() {
                loop {
                    goose::trigger_killswitch("stopped through the run handle");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        });
        let outcome = attack.execute().await;
        stopper.abort();
        goose::reset_killswitch();
        outcome.map_err(|e| LoadError::Goose(e.to_string()))?;

        let end = registry.start.elapsed();
        let mut merged: Option<Recorder> = None;
        for shard in &registry.shards {
            let r = shard.lock().unwrap_or_else(|e| e.into_inner());
            match &mut merged {
                None => merged = Some(r.clone()),
                Some(m) => m.merge(&r),
            }
        }
        let mut merged = merged.expect("at least one shard");
        merged.set_end(end);
        let meta = RunMeta {
            config: RunConfig::Journeys(self.config.clone()),
            target: self.target.base_url().to_owned(),
            started_at: start.wall,
            offered: None,
            stopped_early: self.handle.is_stopped(),
            marks: self.handle.shared.marks(),
        };
        Ok(results::build(&merged, meta))
    }

    fn goose_configuration(&self) -> GooseConfiguration {
        let c = &self.config;
        let mut g = GooseConfiguration::default();
        g.host = Some(self.target.base_url().to_owned());
        g.users = Some(c.users);
        g.increase_rate = Some(format!("{}", c.hatch_rate));
        g.run_time = Some(c.run_time.as_secs_f64().ceil().max(1.0).to_string());
        g.timeout = Some(format!("{}", c.timeout.as_secs_f64()));
        // Quiet, no controllers, no goose metrics or report files: we record our own.
        g.quiet = 1;
        g.no_telnet = true;
        g.no_metrics = true;
        g.no_print_metrics = true;
        g.no_error_summary = true;
        g
    }
}

/// Clears the active run however `run` ends.
struct ClearActive;

impl Drop for ClearActive {
    fn drop(&mut self) {
        *ACTIVE.write().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

/// Installs the ctrl-c (SIGINT) handler goose would install, *before* tokio installs its
/// own, so that both see ctrl-c: goose overwrites whatever handler is there when its attack
/// starts (silencing `tokio::signal::ctrl_c` for good), but keeps an earlier one of its own
/// kind, and tokio chains to a handler that was there before it.
///
/// Call it at the start of a command that will run journeys, before anything listens for
/// ctrl-c through tokio. The handler only trips goose's kill switch: from then on ctrl-c no
/// longer ends the process by itself, so the program must listen for it (as the harness's
/// `guarded` does). Later calls do nothing.
pub fn install_interrupt_handler() {
    let _ = ctrlc::set_handler(|| goose::trigger_killswitch("ctrl-c"));
}

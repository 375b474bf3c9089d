//! crm-load: the measuring instrument of crm-bench — generic HTTP load machinery that knows
//! nothing about the CRM.
//!
//! - **Open loop** ([`run_open_loop`]): requests are sent at intended times from a
//!   [`Schedule`] (constant, Poisson, or a rate profile of steps and ramps) over a bounded
//!   pool of keep-alive HTTP/1.1 connections, and latency is measured from the intended time
//!   as well as from the actual send time (wrk2's correction for coordinated omission).
//! - **Saturation** ([`run_saturation`]): every connection back to back, for the peak rate.
//! - **Journeys** ([`journeys::Journeys`]): closed-loop goose 0.19 users with think time, whose
//!   requests (sent with [`journeys::send`]) land in the same histograms.
//!
//! Every mode returns [`RunResults`]: per-operation HdrHistograms in µs (corrected and
//! uncorrected), errors by class, offered and achieved rate, a timeline and marks.
//!
//! ```no_run
//! # async fn demo() -> crm_load::Result<()> {
//! use std::{sync::Arc, time::Duration};
//! use crm_load::{Op, OpenLoopConfig, Schedule, Target, WorkloadRng};
//!
//! let target = Target::parse("http://127.0.0.1:8080")?;
//! let schedule = Schedule::poisson(500.0, Duration::from_secs(12), 7);
//! let mut config = OpenLoopConfig::new(schedule);
//! config.warmup = Duration::from_secs(2);
//! let workload = Arc::new(|_seq: u64, _rng: &mut WorkloadRng| {
//!     Op::get("health", "/health").expect("a valid path")
//! });
//! let results = crm_load::run_open_loop(&target, config, workload).await?;
//! println!("p99 {} µs", results.totals.corrected.p99_us);
//! # Ok(()) }
//! ```
//!
//! # Layout
//! - [`schedule`]: rate profiles and arrival processes (intended send times).
//! - [`op`]: the caller's side — [`Workload`], [`Op`], [`Outcome`].
//! - [`target`]: the only addresses load may go to (http on 127.0.0.1).
//! - [`engine`]: the open-loop and saturation engines (worker threads, a lean HTTP/1.1
//!   client, a timerfd timer for intended send times), the run handle.
//! - [`journeys`]: goose users and [`journeys::send`].
//! - [`histogram`]: µs HdrHistograms, merged by addition, serialised for results.json.
//! - [`errors`]: error classes and counts.
//! - [`results`]: the serde results ([`RunResults`]), rebuilt from the request log with
//!   another warm-up when the caller decides it after the run, and added together
//!   ([`RunResults::add`]) when several engines ran on a common clock (`start_at`).
//! - [`trace`]: trace sampling by the generator (`traceparent` on every request, the sampled
//!   ones remembered with their latency).
//! - [`reqlog`]: the per-request log (16-byte records, read while the run goes on).
//! - [`stats`]: confidence intervals of quantiles, shares and means; the warm-up's
//!   stationarity test.

pub mod engine;
pub mod error;
pub mod errors;
pub mod histogram;
pub mod journeys;
pub mod op;
pub mod reqlog;
pub mod results;
pub mod schedule;
pub mod stats;
pub mod target;
pub mod trace;

mod merge;
mod rebuild;
mod record;
mod serde_secs;

pub use engine::{
    LoadRun, OpenLoopConfig, Progress, RunHandle, RunStart, SaturationConfig, run_open_loop,
    run_saturation, start_open_loop, start_saturation,
};
pub use error::{LoadError, Result};
pub use errors::{ErrorClass, ErrorCounts};
pub use histogram::{LatencyHistogram, LatencySummary};
pub use op::{Op, OpName, Outcome, Response, Workload, WorkloadRng};
pub use reqlog::{LogReader, RequestLog, RequestRecord};
pub use results::{Mark, OpResults, RunConfig, RunResults, SCHEMA_VERSION, WindowStats};
pub use schedule::{Arrival, RateProfile, Schedule, Segment, Spacing};
pub use target::Target;
pub use trace::TracedRequest;

/// The goose this crate drives, for building scenarios (`crm_load::goose::prelude::*`).
pub use goose;

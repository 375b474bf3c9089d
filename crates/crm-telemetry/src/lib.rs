//! Distributed tracing for every CRM process — the monolith, each microservice and the
//! gateway: logs to stderr as before, and, only when `CRM_OTLP_ENDPOINT` is set, the
//! process's `tracing` spans exported as OpenTelemetry spans over OTLP/HTTP (protobuf) to
//! Jaeger, Tempo, an OpenTelemetry Collector or crm-bench's own receiver.
//!
//! Sampling is parent-based: a request whose W3C `traceparent` says "sampled" is traced in
//! every process it reaches, one that says "not sampled" in none, and work that no caller
//! started is sampled at `CRM_TRACE_SAMPLE_RATIO`. With tracing off nothing here costs more
//! than a relaxed atomic load: no exporter, no OpenTelemetry layer, no extra header.
//!
//! # Layout
//! - [`init`]: [`init::init`], the one set-up every binary calls, and [`init::Config`] (the
//!   environment variables).
//! - [`propagate`]: W3C `traceparent` — parse, format, the current span's, and parenting a
//!   span on a remote caller's (HTTP headers, NATS message headers, outbox rows).
//! - [`sql`]: sqlx's per-statement and pool-acquire events turned into timed child spans.
//! - [`names`]: span names and attribute keys the harness's latency breakdown reads.

pub mod init;
pub mod names;
pub mod propagate;
pub mod sql;

use std::sync::atomic::{AtomicBool, Ordering};

pub use init::{Config, Telemetry, TelemetryError, init};
pub use propagate::Traceparent;

static ENABLED: AtomicBool = AtomicBool::new(false);

/// Whether this process exports spans (`CRM_OTLP_ENDPOINT` was set at start-up). Code that
/// would add span fields or headers only for the exporter's sake checks this first.
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

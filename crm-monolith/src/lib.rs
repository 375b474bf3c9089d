//! The monolith: every context in one process over one PostgreSQL database. Cross-context
//! calls are plain function calls through the context traits, events go from the outbox to
//! in-process handlers, and lead conversion is a single database transaction.
//!
//! # Layout
//! - [`settings`]: command line and environment.
//! - [`app`]: building the application (pool, migrations, contexts, routes, relay) and
//!   running it until shutdown.

mod app;
mod demo;
mod settings;

pub use app::{Application, migrate_only, openapi};
pub use settings::{Cli, Command, Settings};

/// Logs to stderr (`text` for people, `json` for machines; `RUST_LOG` picks the levels) and,
/// when `CRM_OTLP_ENDPOINT` is set, exports spans as the OpenTelemetry service `monolith`.
pub fn init_tracing(format: &str) -> anyhow::Result<crm_telemetry::Telemetry> {
    Ok(crm_telemetry::init("monolith", format, "info,sqlx=warn")?)
}

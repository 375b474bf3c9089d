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

/// Logs to stderr: `text` for people, `json` for machines. `RUST_LOG` picks the levels.
pub fn init_tracing(format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if format == "json" {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

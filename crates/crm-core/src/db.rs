//! Pool construction and the commit helper.

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Postgres, Transaction};

use crate::error::Result;
use crate::outbox;

/// Connects a pool; `acquire_timeout` bounds how long a request waits for a connection
/// before it answers 503 instead of hanging.
pub async fn connect(url: &str, max_connections: u32) -> Result<PgPool, sqlx::Error> {
    let opts: PgConnectOptions = url.parse()?;
    PgPoolOptions::new()
        .max_connections(max_connections)
        .min_connections(1)
        .acquire_timeout(Duration::from_secs(5))
        // No ping before each checkout: it doubles the round trips of a simple request, and a
        // dead connection fails the query anyway (the error maps to 503).
        .test_before_acquire(false)
        // Every checkout reports its wait as a debug event; only the span exporter (tracing
        // on) listens at that level, and turns it into a pool-wait span.
        .acquire_time_level(log::LevelFilter::Debug)
        .connect_with(opts.application_name("crm"))
        .await
}

/// Commits and wakes this process's outbox relay, so events leave without waiting for a poll.
pub async fn commit(tx: Transaction<'_, Postgres>) -> Result<()> {
    tx.commit().await?;
    outbox::signal();
    Ok(())
}

//! Schema migrations per context, recorded in one history table.
//!
//! Every context owns its migrations and its schema; in the monolith all of them share one
//! database, in the microservices each service's database holds its own context plus `core`
//! (outbox, processed events, idempotency). An advisory lock serialises concurrent starts,
//! and a changed migration that was already applied is refused rather than silently skipped.

use sha2::{Digest, Sha256};
use sqlx::{Executor, PgPool};

use crate::error::{Error, Result};

pub struct Migration {
    pub version: i32,
    pub name: &'static str,
    pub sql: &'static str,
}

/// Migrations of the shared kernel: outbox, processed events, dead letters, idempotency.
pub const CORE: &[Migration] = &[
    Migration {
        version: 1,
        name: "core",
        sql: include_str!("../migrations/0001_core.sql"),
    },
    Migration {
        version: 2,
        name: "outbox traceparent",
        sql: include_str!("../migrations/0002_outbox_traceparent.sql"),
    },
];

const LOCK_KEY: i64 = 0x63726d5f6d6967; // "crm_mig"

/// Applies the not-yet-applied migrations of `context`, each in its own transaction.
/// The context's schema (`crm_<context>`) is created first.
pub async fn run(pool: &PgPool, context: &str, migrations: &[Migration]) -> Result<()> {
    let mut conn = pool.acquire().await?;
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(LOCK_KEY)
        .execute(&mut *conn)
        .await?;
    let result = apply(&mut conn, context, migrations).await;
    sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(LOCK_KEY)
        .execute(&mut *conn)
        .await?;
    result
}

async fn apply(
    conn: &mut sqlx::PgConnection,
    context: &str,
    migrations: &[Migration],
) -> Result<()> {
    conn.execute(
        "CREATE SCHEMA IF NOT EXISTS crm_core;
         CREATE TABLE IF NOT EXISTS crm_core.schema_migrations (
             context    text        NOT NULL,
             version    integer     NOT NULL,
             name       text        NOT NULL,
             checksum   text        NOT NULL,
             applied_at timestamptz NOT NULL DEFAULT now(),
             PRIMARY KEY (context, version)
         );",
    )
    .await?;
    conn.execute(format!("CREATE SCHEMA IF NOT EXISTS crm_{context}").as_str())
        .await?;
    let applied: Vec<(i32, String)> = sqlx::query_as(
        "SELECT version, checksum FROM crm_core.schema_migrations WHERE context = $1",
    )
    .bind(context)
    .fetch_all(&mut *conn)
    .await?;
    for m in migrations {
        let checksum = hex::encode(Sha256::digest(m.sql.as_bytes()));
        match applied.iter().find(|(v, _)| *v == m.version) {
            Some((_, c)) if *c == checksum => continue,
            Some(_) => {
                return Err(Error::internal(format!(
                    "migration {context}/{} ({}) changed after it was applied",
                    m.version, m.name
                )));
            }
            None => {}
        }
        let mut tx = sqlx::Connection::begin(&mut *conn).await?;
        tx.execute(sqlx::raw_sql(m.sql)).await.map_err(|e| {
            Error::internal(format!(
                "migration {context}/{} ({}) failed: {e}",
                m.version, m.name
            ))
        })?;
        sqlx::query(
            "INSERT INTO crm_core.schema_migrations (context, version, name, checksum) VALUES ($1, $2, $3, $4)",
        )
        .bind(context)
        .bind(m.version)
        .bind(m.name)
        .bind(&checksum)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        tracing::info!(
            context,
            version = m.version,
            name = m.name,
            "applied migration"
        );
    }
    Ok(())
}

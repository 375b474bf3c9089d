//! The bulk path: COPY straight into each context's tables.
//!
//! One transaction per database (the monolith has one, the microservices one per service,
//! loaded in parallel). Rows are generated on a blocking thread and streamed to COPY in
//! 1 MiB messages while PostgreSQL ingests the previous ones.
//!
//! Into a fresh database (every table to load holds fewer rows than are coming), the load
//! goes as `pg_restore` does it, inside that one transaction: the tables' foreign keys,
//! primary keys, unique constraints and B-tree indexes are dropped, the rows copied, and
//! all of them created again from their own definitions — B-trees built by sorting rather
//! than maintained row by row (random UUIDs make that slow: the links' primary key cost
//! 10.4 s during COPY against 1.5 s built after), and every constraint checked once by
//! PostgreSQL as it is added (a broken foreign key or a duplicate e-mail fails the
//! seeding). GIN indexes (full text, e-mails, trigrams) stay: their pending list
//! (`fastupdate`) maintains them during COPY for no more than a build costs afterwards —
//! for the e-mail index of a million distinct addresses, 4.0 s of CPU against 7.3 s. The schema is never left without them: a failure, or a killed
//! seeder, rolls the whole transaction back. Into a database holding more data than is
//! coming, nothing is dropped. `CRM_SEED_INDEXES=keep` keeps everything (to measure).
//!
//! The microservices' databases commit one by one; if one fails, those that committed are
//! cleared of the tenant's rows again.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail};
use sqlx::{Connection, Executor, PgConnection};
use tokio::sync::mpsc;

use super::generator::Plan;
use super::ids::Ids;
use super::setup::Tenant;
use super::tables::{Gen, Sink, TABLES, Table};
use crate::runtime::Deployment;

/// Loads the plan's records into the deployment's databases; rows written per table kind.
pub(crate) async fn load(
    d: &Deployment,
    plan: Arc<Plan>,
    tenant: &Tenant,
) -> anyhow::Result<BTreeMap<String, u64>> {
    let ids = Ids::new(&plan, tenant.tenant_id);
    let g = Arc::new(Gen {
        plan,
        tenant: tenant.clone(),
        ids,
    });
    // Tables grouped by database, each group in dependency order.
    let mut groups: Vec<(String, Vec<&'static Table>)> = Vec::new();
    for t in TABLES {
        let url = d
            .databases
            .get(t.context)
            .with_context(|| format!("the deployment has no {} database", t.context))?;
        match groups.iter_mut().find(|(u, _)| u == url) {
            Some((_, ts)) => ts.push(t),
            None => groups.push((url.clone(), vec![t])),
        }
    }
    let pg = d.instance("postgres").and_then(|i| i.pid);
    let results = futures::future::join_all(
        groups
            .iter()
            .map(|(url, tables)| load_database(url, tables, g.clone(), pg)),
    )
    .await;
    let mut rows = BTreeMap::new();
    let mut failure = None;
    for r in &results {
        match r {
            Ok(counts) => rows.extend(counts.iter().map(|(k, v)| (k.clone(), *v))),
            Err(e) if failure.is_none() => failure = Some(format!("{e:#}")),
            Err(_) => {}
        }
    }
    if let Some(e) = failure {
        for ((url, tables), r) in groups.iter().zip(&results) {
            if r.is_ok()
                && let Err(c) = clear(url, tables, tenant).await
            {
                tracing::error!("could not clear a partly seeded database: {c:#}");
            }
        }
        bail!("bulk seeding failed, nothing kept: {e}");
    }
    Ok(rows)
}

/// PostgreSQL's CPU seconds so far (0 when unknown), for the progress log.
fn pg_cpu(pid: Option<u32>) -> f64 {
    pid.and_then(super::postgres_cpu_of).unwrap_or(0.0)
}

async fn load_database(
    url: &str,
    tables: &[&'static Table],
    g: Arc<Gen>,
    pg: Option<u32>,
) -> anyhow::Result<BTreeMap<String, u64>> {
    let started = Instant::now();
    let mut conn = PgConnection::connect(url)
        .await
        .with_context(|| format!("connect to {url}"))?;
    let mut tx = conn.begin().await?;
    tx.execute("SET LOCAL maintenance_work_mem = '512MB'")
        .await?;
    let mut fresh = std::env::var("CRM_SEED_INDEXES").as_deref() != Ok("keep");
    for t in tables {
        fresh = fresh && fewer_rows_than(&mut tx, t, &g.plan).await?;
    }
    let names: Vec<&str> = tables.iter().map(|t| t.name).collect();
    let schema = if fresh {
        Schema::take_down(&mut tx, &names).await?
    } else {
        Schema::default()
    };
    let mut counts = BTreeMap::new();
    for t in tables {
        let (copying, cpu) = (Instant::now(), pg_cpu(pg));
        let n = copy(&mut tx, t, g.clone())
            .await
            .with_context(|| format!("COPY into {}", t.name))?;
        tracing::info!(
            "{}: {n} rows copied in {:.2} s (PostgreSQL CPU {:.2} s)",
            t.name,
            copying.elapsed().as_secs_f64(),
            pg_cpu(pg) - cpu
        );
        counts.insert(t.kind.to_owned(), n);
    }
    let (rebuilding, cpu) = (Instant::now(), pg_cpu(pg));
    let restored = schema.put_back(&mut tx, pg).await?;
    let (analysing, cpu_built) = (Instant::now(), pg_cpu(pg));
    // The planner's statistics, so the API's queries are planned for the data now there.
    for t in tables {
        tx.execute(format!("ANALYZE {}", t.name).as_str()).await?;
    }
    tx.commit().await?;
    tracing::info!(
        "{} tables loaded in {:.2} s: {restored} constraints and indexes built in {:.2} s \
         (PostgreSQL CPU {:.2} s), analysed and committed in {:.2} s",
        tables.len(),
        started.elapsed().as_secs_f64(),
        (analysing - rebuilding).as_secs_f64(),
        cpu_built - cpu,
        analysing.elapsed().as_secs_f64(),
    );
    Ok(counts)
}

/// Whether the table holds fewer rows than the plan writes into it (counted no further).
async fn fewer_rows_than(conn: &mut PgConnection, t: &Table, plan: &Plan) -> anyhow::Result<bool> {
    let coming = planned_rows(t.kind, plan);
    let held: i64 = sqlx::query_scalar(&format!(
        "SELECT count(*) FROM (SELECT 1 FROM {} LIMIT $1) s",
        t.name
    ))
    .bind(coming as i64)
    .fetch_one(conn)
    .await?;
    Ok((held as u64) < coming)
}

/// About how many rows a table gets (exact for records, estimated for history and links).
fn planned_rows(kind: &str, plan: &Plan) -> u64 {
    let s = plan.sizes;
    u64::from(match kind {
        "companies" => s.companies,
        "contacts" => s.contacts,
        "leads" | "analytics.leads" => s.leads,
        "opportunities" | "analytics.opportunities" => plan.opportunities(),
        "stage_history" => plan.opportunities() * 3,
        "activities" => s.activities,
        "activity_links" => s.activities * 2,
        _ => 0,
    })
}

/// The constraints and indexes of a set of tables, as statements that create them again.
#[derive(Default)]
struct Schema {
    /// `ALTER TABLE ... ADD CONSTRAINT` for primary keys and unique constraints.
    keys: Vec<String>,
    /// `CREATE INDEX` for the indexes that back no constraint.
    indexes: Vec<String>,
    /// `ALTER TABLE ... ADD CONSTRAINT` for foreign keys from or to the tables.
    foreign_keys: Vec<String>,
}

impl Schema {
    /// Drops the foreign keys from or to `tables`, then their primary keys, unique
    /// constraints and B-tree indexes; remembers how to create each again.
    async fn take_down(conn: &mut PgConnection, tables: &[&str]) -> anyhow::Result<Schema> {
        let constraints: Vec<(String, String, String, String)> = sqlx::query_as(
            "SELECT c.contype::text, c.conrelid::regclass::text, c.conname,
                    pg_get_constraintdef(c.oid)
             FROM pg_constraint c
             WHERE c.contype IN ('p', 'u', 'f')
               AND (c.conrelid = ANY($1::regclass[])
                    OR (c.contype = 'f' AND c.confrelid = ANY($1::regclass[])))
             ORDER BY c.contype <> 'f', 2, 3",
        )
        .bind(tables)
        .fetch_all(&mut *conn)
        .await?;
        let indexes: Vec<(String, String)> = sqlx::query_as(
            "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
             FROM pg_index i
             JOIN pg_class ic ON ic.oid = i.indexrelid
             JOIN pg_am am ON am.oid = ic.relam
             WHERE i.indrelid = ANY($1::regclass[]) AND am.amname <> 'gin'
               AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
             ORDER BY 1",
        )
        .bind(tables)
        .fetch_all(&mut *conn)
        .await?;
        let mut schema = Schema::default();
        // Foreign keys first (ordered so above), then the keys they depend on.
        for (kind, table, name, def) in constraints {
            conn.execute(format!("ALTER TABLE {table} DROP CONSTRAINT {name}").as_str())
                .await?;
            let add = format!("ALTER TABLE {table} ADD CONSTRAINT {name} {def}");
            if kind == "f" {
                schema.foreign_keys.push(add);
            } else {
                schema.keys.push(add);
            }
        }
        for (name, def) in indexes {
            conn.execute(format!("DROP INDEX {name}").as_str()).await?;
            schema.indexes.push(def);
        }
        Ok(schema)
    }

    /// Creates everything again: keys, then indexes, then foreign keys (which need the
    /// keys they refer to); PostgreSQL checks every constraint as it is added.
    async fn put_back(self, conn: &mut PgConnection, pg: Option<u32>) -> anyhow::Result<usize> {
        let all: Vec<String> = self
            .keys
            .into_iter()
            .chain(self.indexes)
            .chain(self.foreign_keys)
            .collect();
        for statement in &all {
            let (started, cpu) = (Instant::now(), pg_cpu(pg));
            conn.execute(statement.as_str())
                .await
                .with_context(|| format!("restore: {statement}"))?;
            tracing::debug!(
                "{statement}: {:.2} s (PostgreSQL CPU {:.2} s)",
                started.elapsed().as_secs_f64(),
                pg_cpu(pg) - cpu
            );
        }
        Ok(all.len())
    }
}

/// Streams the table's rows into COPY; the rows PostgreSQL took.
async fn copy(conn: &mut PgConnection, t: &'static Table, g: Arc<Gen>) -> anyhow::Result<u64> {
    let (tx, mut rx) = mpsc::channel::<Vec<u8>>(8);
    let producer = tokio::task::spawn_blocking(move || {
        let mut sink = Sink::new(tx);
        (t.fill)(&g, &mut sink);
        sink.flush();
        sink.rows.rows
    });
    let mut copy = conn.copy_in_raw(&t.copy_statement()).await?;
    while let Some(chunk) = rx.recv().await {
        if let Err(e) = copy.send(chunk).await {
            drop(rx);
            let _ = producer.await;
            return Err(e.into());
        }
    }
    // A generator that panicked ends the stream early: abort rather than commit a part.
    let produced = match producer.await {
        Ok(n) => n,
        Err(e) => {
            let _ = copy.abort("the row generator failed").await;
            bail!("the row generator of {} failed: {e}", t.name);
        }
    };
    let taken = copy.finish().await?;
    if taken != produced {
        bail!("COPY took {taken} of {produced} rows");
    }
    Ok(taken)
}

/// Deletes the tenant's rows from tables a failed seeding had committed to.
async fn clear(url: &str, tables: &[&'static Table], tenant: &Tenant) -> anyhow::Result<()> {
    let mut conn = PgConnection::connect(url).await?;
    let mut tx = conn.begin().await?;
    for t in tables.iter().rev() {
        sqlx::query(&format!("DELETE FROM {} WHERE tenant_id = $1", t.name))
            .bind(tenant.tenant_id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

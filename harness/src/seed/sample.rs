//! Samples of the benchmark tenant's record ids for a workload to target, read from the
//! context's own database: a Bernoulli table sample sized from a count (one index-only
//! pass), not an `ORDER BY random()` of the whole table.

use anyhow::Context;
use rand::seq::SliceRandom;
use sqlx::{Connection, PgConnection};
use uuid::Uuid;

use super::checksum::bench_tenant;
use crate::runtime::Deployment;

/// Which records to sample.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Sample {
    Companies,
    /// The companies with the most contacts, biggest first (not random).
    BigCompanies,
    Contacts,
    /// Leads, of one status (`new`, `working`, ...) if given.
    Leads(Option<String>),
    /// Opportunities, in one stage (`proposal`, `closed_won`, ...) if given.
    Opportunities(Option<String>),
    Activities,
    /// Users of one role (`rep`, `manager`, ...) if given.
    Users(Option<String>),
}

impl Sample {
    /// Context, table and the extra condition (on `$2`).
    fn source(&self) -> (&'static str, &'static str, &'static str, Option<&str>) {
        match self {
            Sample::Companies | Sample::BigCompanies => {
                ("customers", "crm_customers.companies", "", None)
            }
            Sample::Contacts => ("customers", "crm_customers.contacts", "", None),
            Sample::Leads(s) => ("leads", "crm_leads.leads", "status", s.as_deref()),
            Sample::Opportunities(s) => (
                "sales",
                "crm_sales.opportunities",
                "stage_key",
                s.as_deref(),
            ),
            Sample::Activities => ("activities", "crm_activities.activities", "", None),
            Sample::Users(r) => ("identity", "crm_identity.users", "role", r.as_deref()),
        }
    }
}

/// Up to `n` ids of live records of the benchmark tenant matching `what`, in no particular
/// order (fewer only when fewer exist).
pub async fn sample_ids(d: &Deployment, what: &Sample, n: usize) -> anyhow::Result<Vec<Uuid>> {
    let tenant = bench_tenant(d).await?;
    let (context, table, column, value) = what.source();
    let url = d
        .databases
        .get(context)
        .with_context(|| format!("no {context} database"))?;
    let mut conn = PgConnection::connect(url).await?;
    if *what == Sample::BigCompanies {
        return Ok(sqlx::query_scalar(
            "SELECT company_id FROM crm_customers.contacts
             WHERE tenant_id = $1 AND deleted_at IS NULL AND company_id IS NOT NULL
             GROUP BY company_id ORDER BY count(*) DESC, company_id LIMIT $2",
        )
        .bind(tenant)
        .bind(n as i64)
        .fetch_all(&mut conn)
        .await?);
    }
    let filter = if value.is_some() {
        format!("AND {column} = $2")
    } else {
        "AND $2::text IS NULL".to_owned()
    };
    let matching: i64 = sqlx::query_scalar(&format!(
        "SELECT count(*) FROM {table} WHERE tenant_id = $1 AND deleted_at IS NULL {filter}"
    ))
    .bind(tenant)
    .bind(value)
    .fetch_one(&mut conn)
    .await?;
    if matching == 0 || n == 0 {
        return Ok(Vec::new());
    }
    // Twice the share asked for, so a sample rarely falls short.
    let percent = (200.0 * n as f64 / matching as f64).min(100.0);
    // All of the (about 2n) sampled rows, then n of them at random: a LIMIT would keep
    // the first pages' rows only.
    let mut ids: Vec<Uuid> = sqlx::query_scalar(&format!(
        "SELECT id FROM {table} TABLESAMPLE BERNOULLI ($3)
         WHERE tenant_id = $1 AND deleted_at IS NULL {filter}"
    ))
    .bind(tenant)
    .bind(value)
    .bind(percent as f32)
    .fetch_all(&mut conn)
    .await?;
    ids.shuffle(&mut rand::thread_rng());
    ids.truncate(n);
    if ids.len() < n.min(matching as usize) {
        ids = sqlx::query_scalar(&format!(
            "SELECT id FROM {table} WHERE tenant_id = $1 AND deleted_at IS NULL {filter}
             ORDER BY random() LIMIT $3"
        ))
        .bind(tenant)
        .bind(value)
        .bind(n as i64)
        .fetch_all(&mut conn)
        .await?;
    }
    Ok(ids)
}

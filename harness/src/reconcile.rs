//! Reconciliation after load: every write the load generator saw acknowledged is stored
//! exactly once, and the event-fed analytics totals equal a direct count of the source
//! tables. Read straight from each context's database (the one the deployment maps it to),
//! never through the API under test.

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::{Value, json};
use sqlx::Row;
use uuid::Uuid;

use crate::runtime::Deployment;
use crate::workload::acks::{Acks, Kind};

/// What reconciliation found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Reconciliation {
    /// Acknowledged creates not stored, plus acknowledged updates whose version is gone.
    pub missing: u64,
    /// Markers stored more than once (a write applied twice).
    pub duplicated: u64,
    /// Analytics figures that differ from the source tables (after waiting for the
    /// projections to catch up).
    pub mismatches: Vec<String>,
    pub details: Vec<String>,
}

impl Reconciliation {
    pub fn passed(&self) -> bool {
        self.missing == 0 && self.duplicated == 0 && self.mismatches.is_empty()
    }
}

async fn connect(d: &Deployment, context: &str) -> anyhow::Result<sqlx::PgConnection> {
    let url = d
        .databases
        .get(context)
        .with_context(|| format!("no database for {context}"))?;
    sqlx::Connection::connect(url)
        .await
        .with_context(|| format!("connect to the {context} database"))
}

/// Checks `acks` against the stored records.
pub async fn writes(d: &Deployment, acks: &Acks) -> anyhow::Result<Reconciliation> {
    let mut out = Reconciliation::default();
    let created = acks.all_created();
    let updates = acks.latest_updates();
    for kind in Kind::ALL {
        let (table, marker_col) = kind.table_and_marker_column();
        let ids: Vec<Uuid> = created
            .iter()
            .filter(|c| c.kind == kind)
            .map(|c| c.id)
            .collect();
        let markers: Vec<String> = created
            .iter()
            .filter(|c| c.kind == kind)
            .filter_map(|c| c.marker.clone())
            .collect();
        let updated: Vec<(Uuid, i64)> = updates
            .iter()
            .filter(|((k, _), _)| *k == kind)
            .map(|((_, id), v)| (*id, *v))
            .collect();
        if ids.is_empty() && updated.is_empty() {
            continue;
        }
        let mut conn = connect(d, kind.context()).await?;
        let found: HashSet<Uuid> =
            sqlx::query_scalar(&format!("SELECT id FROM {table} WHERE id = ANY($1)"))
                .bind(&ids)
                .fetch_all(&mut conn)
                .await?
                .into_iter()
                .collect();
        let lost = ids.iter().filter(|id| !found.contains(id)).count() as u64;
        if lost > 0 {
            out.details.push(format!(
                "{lost} acknowledged {} creates not stored",
                kind.as_str()
            ));
        }
        out.missing += lost;
        let dups: Vec<(String, i64)> = sqlx::query(&format!(
            "SELECT {marker_col}, count(*) FROM {table} WHERE {marker_col} = ANY($1) GROUP BY 1 HAVING count(*) > 1"
        ))
        .bind(&markers)
        .fetch_all(&mut conn)
        .await?
        .into_iter()
        .map(|r| (r.get::<String, _>(0), r.get::<i64, _>(1)))
        .collect();
        for (m, n) in &dups {
            out.details
                .push(format!("{} '{m}' stored {n} times", kind.as_str()));
        }
        out.duplicated += dups.len() as u64;
        let (uids, versions): (Vec<Uuid>, Vec<i64>) = updated.into_iter().unzip();
        let stale: i64 = sqlx::query_scalar(&format!(
            "SELECT count(*) FROM unnest($1::uuid[], $2::bigint[]) AS a(id, version)
             LEFT JOIN {table} t ON t.id = a.id
             WHERE t.id IS NULL OR t.version < a.version"
        ))
        .bind(&uids)
        .bind(&versions)
        .fetch_one(&mut conn)
        .await?;
        if stale > 0 {
            out.details.push(format!(
                "{stale} acknowledged {} updates not stored (version went back or record gone)",
                kind.as_str()
            ));
        }
        out.missing += stale as u64;
    }
    Ok(out)
}

/// The source tables' figures in the shape of `GET /analytics/totals`.
async fn source_totals(d: &Deployment, tenant: Uuid) -> anyhow::Result<Value> {
    let mut sales = connect(d, "sales").await?;
    let mut by_status: BTreeMap<String, i64> = ["open", "won", "lost"]
        .iter()
        .map(|s| ((*s).to_owned(), 0))
        .collect();
    for r in sqlx::query(
        "SELECT status, count(*) FROM crm_sales.opportunities
         WHERE tenant_id = $1 AND deleted_at IS NULL GROUP BY 1",
    )
    .bind(tenant)
    .fetch_all(&mut sales)
    .await?
    {
        by_status.insert(r.get(0), r.get(1));
    }
    let amounts: Vec<Value> = sqlx::query(
        "SELECT status, amount_currency, count(*), sum(amount_micros)::text FROM crm_sales.opportunities
         WHERE tenant_id = $1 AND deleted_at IS NULL AND amount_micros IS NOT NULL
         GROUP BY 1, 2 ORDER BY 1, 2",
    )
    .bind(tenant)
    .fetch_all(&mut sales)
    .await?
    .into_iter()
    .map(|r| {
        json!({"status": r.get::<String, _>(0), "currency": r.get::<String, _>(1),
               "count": r.get::<i64, _>(2), "amount_micros": r.get::<String, _>(3)})
    })
    .collect();
    let mut leads = connect(d, "leads").await?;
    let mut lead_status: BTreeMap<String, i64> = [
        "new",
        "assigned",
        "working",
        "converted",
        "disqualified",
        "recycled",
    ]
    .iter()
    .map(|s| ((*s).to_owned(), 0))
    .collect();
    for r in sqlx::query(
        "SELECT status, count(*) FROM crm_leads.leads
         WHERE tenant_id = $1 AND deleted_at IS NULL GROUP BY 1",
    )
    .bind(tenant)
    .fetch_all(&mut leads)
    .await?
    {
        lead_status.insert(r.get(0), r.get(1));
    }
    Ok(json!({
        "opportunities": {"live": by_status.values().sum::<i64>(), "by_status": by_status, "amounts": amounts},
        "leads": {"live": lead_status.values().sum::<i64>(), "by_status": lead_status},
    }))
}

/// The analytics projection's figures, comparable with [`source_totals`] (amounts as text:
/// they are i128 sums).
fn projected(totals: &Value) -> Value {
    let amounts: Vec<Value> = totals["opportunities"]["amounts"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| {
            let micros = match &a["amount_micros"] {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            json!({"status": a["status"], "currency": a["currency"], "count": a["count"], "amount_micros": micros})
        })
        .collect();
    json!({
        "opportunities": {"live": totals["opportunities"]["live"], "by_status": totals["opportunities"]["by_status"], "amounts": amounts},
        "leads": {"live": totals["leads"]["live"], "by_status": totals["leads"]["by_status"]},
    })
}

fn differences(path: &str, source: &Value, projection: &Value, out: &mut Vec<String>) {
    match (source, projection) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in a {
                differences(
                    &format!("{path}.{k}"),
                    v,
                    b.get(k).unwrap_or(&Value::Null),
                    out,
                );
            }
        }
        (a, b) if a != b => out.push(format!("{path}: source {a}, analytics {b}")),
        _ => {}
    }
}

/// Waits up to `patience` for the analytics totals to equal the source tables; returns the
/// differences left (empty when they agree).
pub async fn analytics(
    d: &Deployment,
    token: &str,
    patience: Duration,
) -> anyhow::Result<Vec<String>> {
    let http = reqwest::Client::new();
    let me: Value = http
        .get(format!("{}/api/v1/auth/me", d.public_url))
        .bearer_auth(token)
        .send()
        .await?
        .json()
        .await?;
    let tenant: Uuid = me["tenant_id"]
        .as_str()
        .or_else(|| me["user"]["tenant_id"].as_str())
        .and_then(|s| s.parse().ok())
        .with_context(|| format!("no tenant id in /auth/me: {me}"))?;
    let deadline = Instant::now() + patience;
    loop {
        let source = source_totals(d, tenant).await?;
        let r = http
            .get(format!("{}/api/v1/analytics/totals", d.public_url))
            .bearer_auth(token)
            .timeout(Duration::from_secs(10))
            .send()
            .await;
        let mut diffs = Vec::new();
        match r {
            Ok(r) if r.status().is_success() => {
                let totals: Value = r.json().await?;
                differences("totals", &source, &projected(&totals), &mut diffs);
            }
            Ok(r) => diffs.push(format!("GET /analytics/totals answered {}", r.status())),
            Err(e) => diffs.push(format!("GET /analytics/totals failed: {e}")),
        }
        if diffs.is_empty() || Instant::now() > deadline {
            return Ok(diffs);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

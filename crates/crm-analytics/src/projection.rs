//! The projections: other contexts' events turned into rows of `crm_analytics`.
//!
//! Every event of a projected object carries the whole record after the change, so applying
//! one is an upsert of that snapshot guarded by its version: `ON CONFLICT ... WHERE stored
//! version < event version`. That one statement makes the projection indifferent to order
//! and repetition (JetStream redelivers, several consumers race), while
//! [`crm_core::outbox::apply`] records the event id so a redelivery does not even get here.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use sqlx::PgConnection;
use tokio::sync::broadcast;
use uuid::Uuid;

use crm_core::outbox::EventHandler;
use crm_core::{Error, EventEnvelope, Result};

use crate::lag::LagHistogram;
use crate::stream::FeedEvent;

/// The objects whose events are projected; every other event is ignored.
pub const PROJECTED: [&str; 4] = ["opportunity", "lead", "pipeline", "stage"];

/// Applies sales and leads events to the projections and feeds the live stream.
#[derive(Clone)]
pub struct AnalyticsHandler {
    pub(crate) feed: broadcast::Sender<Arc<FeedEvent>>,
    pub(crate) lag: Arc<LagHistogram>,
}

/// Money as the source serialises it; read leniently, since a projection must not refuse a
/// record the source accepted.
#[derive(Deserialize)]
struct Amount {
    amount_micros: i64,
    currency: String,
}

fn split(m: Option<Amount>) -> (Option<i64>, Option<String>) {
    match m {
        Some(a) => (Some(a.amount_micros), Some(a.currency.to_ascii_uppercase())),
        None => (None, None),
    }
}

/// A probability may arrive as 50 or 50.0; it is stored as a whole percentage in 0..=100.
fn percent(p: Option<f64>) -> Option<i16> {
    p.map(|p| p.clamp(0.0, 100.0).round() as i16)
}

#[derive(Deserialize)]
struct Opportunity {
    id: Option<Uuid>,
    version: i64,
    deleted_at: Option<DateTime<Utc>>,
    name: Option<String>,
    amount: Option<Amount>,
    close_date: Option<NaiveDate>,
    pipeline_id: Option<Uuid>,
    stage_id: Option<Uuid>,
    stage_key: Option<String>,
    forecast_category: Option<String>,
    status: String,
    probability: Option<f64>,
    owner_id: Option<Uuid>,
    company_id: Option<Uuid>,
    closed_at: Option<DateTime<Utc>>,
    created_at: Option<DateTime<Utc>>,
}

#[derive(Deserialize)]
struct Lead {
    id: Option<Uuid>,
    version: i64,
    deleted_at: Option<DateTime<Utc>>,
    status: String,
    source: Option<String>,
    owner_id: Option<Uuid>,
    score: Option<f64>,
    estimated_value: Option<Amount>,
    converted_at: Option<DateTime<Utc>>,
    created_at: Option<DateTime<Utc>>,
}

#[derive(Deserialize)]
struct Pipeline {
    id: Option<Uuid>,
    version: i64,
    deleted_at: Option<DateTime<Utc>>,
    name: Option<String>,
    #[serde(default)]
    is_default: bool,
}

#[derive(Deserialize)]
struct Stage {
    id: Option<Uuid>,
    version: i64,
    deleted_at: Option<DateTime<Utc>>,
    pipeline_id: Option<Uuid>,
    key: Option<String>,
    label: Option<String>,
    position: Option<i32>,
    probability: Option<f64>,
    #[serde(default)]
    is_closed: bool,
    #[serde(default)]
    is_won: bool,
    forecast_category: Option<String>,
}

/// `data` as the snapshot type. A malformed snapshot is an error rather than a silent skip:
/// after its retries the event is parked in `dead_letters`, where a reconciliation
/// difference can be traced back to it.
fn snapshot<T: DeserializeOwned>(e: &EventEnvelope) -> Result<T> {
    T::deserialize(&e.data).map_err(|err| {
        Error::internal(format!(
            "event {} ({}) has an unreadable record: {err}",
            e.event_id, e.event
        ))
    })
}

fn object(e: &EventEnvelope) -> &str {
    e.event.split_once('.').map_or("", |(o, _)| o)
}

#[async_trait]
impl EventHandler for AnalyticsHandler {
    fn name(&self) -> &'static str {
        "analytics.projections"
    }

    fn wants(&self, event: &EventEnvelope) -> bool {
        PROJECTED.contains(&object(event))
    }

    async fn handle(&self, conn: &mut PgConnection, e: &EventEnvelope) -> Result<()> {
        match object(e) {
            "opportunity" => upsert_opportunity(conn, e, snapshot(e)?).await,
            "lead" => upsert_lead(conn, e, snapshot(e)?).await,
            "pipeline" => upsert_pipeline(conn, e, snapshot(e)?).await,
            "stage" => upsert_stage(conn, e, snapshot(e)?).await,
            _ => Ok(()),
        }
    }

    /// Lag is taken after the commit, so it is the time until the figures could be read.
    fn after_commit(&self, e: &EventEnvelope) {
        let lag = (Utc::now() - e.occurred_at).to_std().unwrap_or_default();
        self.lag.record(lag);
        // No subscriber is the usual case, not an error.
        let _ = self.feed.send(Arc::new(FeedEvent::of(e)));
    }
}

async fn upsert_opportunity(
    conn: &mut PgConnection,
    e: &EventEnvelope,
    o: Opportunity,
) -> Result<()> {
    let (amount, currency) = split(o.amount);
    sqlx::query(
        "INSERT INTO crm_analytics.opportunities AS t (tenant_id, id, version, deleted_at, name,
             amount_micros, currency, close_date, pipeline_id, stage_id, stage_key, forecast_category,
             status, probability, owner_id, company_id, closed_at, created_at, last_event_id, last_occurred_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)
         ON CONFLICT (tenant_id, id) DO UPDATE SET version = EXCLUDED.version,
             deleted_at = EXCLUDED.deleted_at, name = EXCLUDED.name,
             amount_micros = EXCLUDED.amount_micros, currency = EXCLUDED.currency,
             close_date = EXCLUDED.close_date, pipeline_id = EXCLUDED.pipeline_id,
             stage_id = EXCLUDED.stage_id, stage_key = EXCLUDED.stage_key,
             forecast_category = EXCLUDED.forecast_category, status = EXCLUDED.status,
             probability = EXCLUDED.probability, owner_id = EXCLUDED.owner_id,
             company_id = EXCLUDED.company_id, closed_at = EXCLUDED.closed_at,
             created_at = EXCLUDED.created_at, last_event_id = EXCLUDED.last_event_id,
             last_occurred_at = EXCLUDED.last_occurred_at, projected_at = now()
         WHERE t.version < EXCLUDED.version",
    )
    .bind(e.tenant_id)
    .bind(o.id.unwrap_or(e.record_id))
    .bind(o.version)
    .bind(o.deleted_at)
    .bind(o.name)
    .bind(amount)
    .bind(currency)
    .bind(o.close_date)
    .bind(o.pipeline_id)
    .bind(o.stage_id)
    .bind(o.stage_key)
    .bind(o.forecast_category)
    .bind(o.status)
    .bind(percent(o.probability).unwrap_or(0))
    .bind(o.owner_id)
    .bind(o.company_id)
    .bind(o.closed_at)
    .bind(o.created_at)
    .bind(e.event_id)
    .bind(e.occurred_at)
    .execute(conn)
    .await?;
    Ok(())
}

async fn upsert_lead(conn: &mut PgConnection, e: &EventEnvelope, l: Lead) -> Result<()> {
    let (value, currency) = split(l.estimated_value);
    sqlx::query(
        "INSERT INTO crm_analytics.leads AS t (tenant_id, id, version, deleted_at, status, source,
             owner_id, score, estimated_value_micros, currency, converted_at, created_at,
             last_event_id, last_occurred_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
         ON CONFLICT (tenant_id, id) DO UPDATE SET version = EXCLUDED.version,
             deleted_at = EXCLUDED.deleted_at, status = EXCLUDED.status, source = EXCLUDED.source,
             owner_id = EXCLUDED.owner_id, score = EXCLUDED.score,
             estimated_value_micros = EXCLUDED.estimated_value_micros, currency = EXCLUDED.currency,
             converted_at = EXCLUDED.converted_at, created_at = EXCLUDED.created_at,
             last_event_id = EXCLUDED.last_event_id, last_occurred_at = EXCLUDED.last_occurred_at,
             projected_at = now()
         WHERE t.version < EXCLUDED.version",
    )
    .bind(e.tenant_id)
    .bind(l.id.unwrap_or(e.record_id))
    .bind(l.version)
    .bind(l.deleted_at)
    .bind(l.status)
    .bind(l.source)
    .bind(l.owner_id)
    .bind(l.score.map(|s| s.round() as i32))
    .bind(value)
    .bind(currency)
    .bind(l.converted_at)
    .bind(l.created_at)
    .bind(e.event_id)
    .bind(e.occurred_at)
    .execute(conn)
    .await?;
    Ok(())
}

async fn upsert_pipeline(conn: &mut PgConnection, e: &EventEnvelope, p: Pipeline) -> Result<()> {
    sqlx::query(
        "INSERT INTO crm_analytics.pipelines AS t (tenant_id, id, version, deleted_at, name,
             is_default, last_event_id, last_occurred_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (tenant_id, id) DO UPDATE SET version = EXCLUDED.version,
             deleted_at = EXCLUDED.deleted_at, name = EXCLUDED.name, is_default = EXCLUDED.is_default,
             last_event_id = EXCLUDED.last_event_id, last_occurred_at = EXCLUDED.last_occurred_at,
             projected_at = now()
         WHERE t.version < EXCLUDED.version",
    )
    .bind(e.tenant_id)
    .bind(p.id.unwrap_or(e.record_id))
    .bind(p.version)
    .bind(p.deleted_at)
    .bind(p.name)
    .bind(p.is_default)
    .bind(e.event_id)
    .bind(e.occurred_at)
    .execute(conn)
    .await?;
    Ok(())
}

async fn upsert_stage(conn: &mut PgConnection, e: &EventEnvelope, s: Stage) -> Result<()> {
    sqlx::query(
        "INSERT INTO crm_analytics.stages AS t (tenant_id, id, version, deleted_at, pipeline_id, key,
             label, position, probability, is_closed, is_won, forecast_category, last_event_id,
             last_occurred_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
         ON CONFLICT (tenant_id, id) DO UPDATE SET version = EXCLUDED.version,
             deleted_at = EXCLUDED.deleted_at, pipeline_id = EXCLUDED.pipeline_id,
             key = EXCLUDED.key, label = EXCLUDED.label, position = EXCLUDED.position,
             probability = EXCLUDED.probability, is_closed = EXCLUDED.is_closed,
             is_won = EXCLUDED.is_won, forecast_category = EXCLUDED.forecast_category,
             last_event_id = EXCLUDED.last_event_id, last_occurred_at = EXCLUDED.last_occurred_at,
             projected_at = now()
         WHERE t.version < EXCLUDED.version",
    )
    .bind(e.tenant_id)
    .bind(s.id.unwrap_or(e.record_id))
    .bind(s.version)
    .bind(s.deleted_at)
    .bind(s.pipeline_id)
    .bind(s.key)
    .bind(s.label)
    .bind(s.position)
    .bind(percent(s.probability))
    .bind(s.is_closed)
    .bind(s.is_won)
    .bind(s.forecast_category)
    .bind(e.event_id)
    .bind(e.occurred_at)
    .execute(conn)
    .await?;
    Ok(())
}

//! The analytics context through HTTP, on a real PostgreSQL, behind the real edge stack.
//! Events are synthetic envelopes applied exactly as the relay or a consumer would apply them.

mod access;
mod openapi;
mod projections;
mod reports;
mod stream;

use std::sync::Arc;

use chrono::Utc;
use serde_json::{Value, json};
use uuid::Uuid;

use crm_analytics::{Analytics, AnalyticsHandler};
use crm_core::{Actor, EventEnvelope};
use crm_testkit::pg::PgCluster;
use crm_testkit::server::TestServer;

/// A served analytics context and the handler that feeds it.
pub struct App {
    pub server: TestServer,
    pub pool: sqlx::PgPool,
    pub svc: Arc<Analytics>,
    pub handler: AnalyticsHandler,
}

/// A fresh database and the analytics routes served on a free port.
pub async fn spawn() -> App {
    let pool = PgCluster::shared()
        .migrated_pool(&[(crm_analytics::CONTEXT, crm_analytics::MIGRATIONS)])
        .await
        .expect("database");
    let svc = Arc::new(Analytics::new(pool.clone()));
    let server = TestServer::start(crm_analytics::http::router(svc.clone()), pool.clone()).await;
    App {
        handler: svc.handler(),
        server,
        pool,
        svc,
    }
}

impl App {
    /// Applies an event exactly once; `false` when it had been applied already.
    pub async fn apply(&self, e: &EventEnvelope) -> bool {
        crm_core::outbox::apply(&self.pool, &self.handler, e)
            .await
            .expect("event applied")
    }

    pub async fn apply_all(&self, events: &[EventEnvelope]) {
        for e in events {
            assert!(self.apply(e).await, "{} applied once", e.event);
        }
    }
}

fn merge(mut base: Value, patch: Value) -> Value {
    if let (Some(b), Value::Object(p)) = (base.as_object_mut(), patch) {
        b.extend(p);
    }
    base
}

/// `opportunity.{action}` of record `id` at `version`; `patch` overrides the defaults
/// (an open, amount-less opportunity in stage prospecting).
pub fn opportunity(
    actor: &Actor,
    action: &str,
    id: Uuid,
    version: i64,
    patch: Value,
) -> EventEnvelope {
    let data = json!({
        "id": id, "tenant_id": actor.tenant_id, "version": version, "deleted_at": null,
        "name": "Deal", "amount": null, "close_date": null, "pipeline_id": null,
        "stage_id": null, "stage_key": "prospecting", "forecast_category": "pipeline",
        "status": "open", "probability": 10, "owner_id": null, "company_id": null,
        "closed_at": null, "created_at": Utc::now(),
    });
    EventEnvelope::new(actor, "opportunity", action, id, merge(data, patch))
}

/// `lead.{action}`; defaults: a new lead from the web.
pub fn lead(actor: &Actor, action: &str, id: Uuid, version: i64, patch: Value) -> EventEnvelope {
    let data = json!({
        "id": id, "tenant_id": actor.tenant_id, "version": version, "deleted_at": null,
        "status": "new", "source": "web", "owner_id": null, "score": 0,
        "estimated_value": null, "converted_at": null, "created_at": Utc::now(),
    });
    EventEnvelope::new(actor, "lead", action, id, merge(data, patch))
}

pub fn pipeline(actor: &Actor, id: Uuid, name: &str, is_default: bool) -> EventEnvelope {
    let data = json!({"id": id, "tenant_id": actor.tenant_id, "version": 1, "deleted_at": null,
        "name": name, "is_default": is_default});
    EventEnvelope::new(actor, "pipeline", "created", id, data)
}

pub fn stage(
    actor: &Actor,
    id: Uuid,
    pipeline_id: Uuid,
    key: &str,
    position: i32,
    probability: i32,
) -> EventEnvelope {
    let data = json!({"id": id, "tenant_id": actor.tenant_id, "version": 1, "deleted_at": null,
        "pipeline_id": pipeline_id, "key": key, "label": key.to_uppercase(), "position": position,
        "probability": probability, "is_closed": false, "is_won": false,
        "forecast_category": "pipeline"});
    EventEnvelope::new(actor, "stage", "created", id, data)
}

pub fn money(amount_micros: i64, currency: &str) -> Value {
    json!({"amount_micros": amount_micros, "currency": currency})
}

pub fn id() -> Uuid {
    Uuid::now_v7()
}

//! The activities context through HTTP, on a real PostgreSQL, behind the real edge stack;
//! event handlers are driven with `crm_core::outbox::apply` as the relay would.

mod access;
mod activities;
mod client;
mod linked;
mod relink;
mod tasks;
mod timeline;

use std::sync::Arc;

use crm_activities::Activities;
use crm_core::EventEnvelope;
use crm_core::outbox::{self, EventHandler};
use crm_testkit::pg::PgCluster;
use crm_testkit::server::TestServer;
use serde_json::{Value, json};
use uuid::Uuid;

/// A fresh database and the activities routes served on a free port.
pub async fn spawn() -> (TestServer, sqlx::PgPool) {
    let pool = PgCluster::shared()
        .migrated_pool(&[(crm_activities::CONTEXT, crm_activities::MIGRATIONS)])
        .await
        .expect("database");
    let svc = Arc::new(Activities::new(pool.clone()));
    let server = TestServer::start(crm_activities::http::router(svc), pool.clone()).await;
    (server, pool)
}

/// A link as clients send it.
pub fn link(record_type: &str, id: Uuid) -> Value {
    json!({"type": record_type, "id": id})
}

/// The `id` of a record as a string.
pub fn id(v: &Value) -> String {
    v["id"].as_str().expect("an id").to_owned()
}

/// The field names of a 422's errors, in order.
pub fn fields(body: &Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_owned())
        .collect()
}

/// Every event in the outbox, oldest first.
pub async fn outbox_events(pool: &sqlx::PgPool) -> Vec<EventEnvelope> {
    let rows: Vec<sqlx::types::Json<EventEnvelope>> =
        sqlx::query_scalar("SELECT payload FROM crm_core.outbox ORDER BY seq")
            .fetch_all(pool)
            .await
            .unwrap();
    rows.into_iter().map(|j| j.0).collect()
}

/// Applies every outbox event `handler` wants, as the relay would; returns how many were new.
pub async fn deliver(pool: &sqlx::PgPool, handler: &dyn EventHandler) -> usize {
    let mut fresh = 0;
    for e in outbox_events(pool).await {
        if handler.wants(&e) && outbox::apply(pool, handler, &e).await.unwrap() {
            fresh += 1;
        }
    }
    fresh
}

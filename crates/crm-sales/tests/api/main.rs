//! The sales context through HTTP, on a real PostgreSQL, behind the real edge stack, with
//! the customers context beside it (companies and contacts are created through its routes).

mod client;
mod conversion;
mod handler;
mod listing;
mod moves;
mod openapi;
mod opportunities;
mod pipelines;

use std::sync::Arc;

use serde_json::Value;

use crm_customers::Customers;
use crm_sales::Sales;
use crm_testkit::pg::PgCluster;
use crm_testkit::server::{Client, Method, Reply, TestServer};

/// A fresh database with both contexts' schemas, and both contexts' routes on a free port.
pub async fn spawn() -> (TestServer, sqlx::PgPool, Arc<Sales>) {
    let pool = PgCluster::shared()
        .migrated_pool(&[
            (crm_customers::CONTEXT, crm_customers::MIGRATIONS),
            (crm_sales::CONTEXT, crm_sales::MIGRATIONS),
        ])
        .await
        .expect("database");
    let customers = Arc::new(Customers::new(pool.clone()));
    let sales = Arc::new(Sales::new(pool.clone(), customers.clone()));
    let routes =
        crm_customers::http::router(customers).merge(crm_sales::http::router(sales.clone()));
    let server = TestServer::start(routes, pool.clone()).await;
    (server, pool, sales)
}

/// A record's id as a string.
pub fn id(v: &Value) -> String {
    v["id"].as_str().expect("record id").to_owned()
}

/// A record's version.
pub fn version(v: &Value) -> i64 {
    v["version"].as_i64().expect("record version")
}

/// POST an action with `If-Match: "<version>"` (and extra headers).
pub async fn act(
    c: &Client,
    path: &str,
    version: i64,
    body: &Value,
    extra: &[(&str, &str)],
) -> Reply {
    let v = format!("\"{version}\"");
    let mut headers = vec![("if-match", v.as_str())];
    headers.extend_from_slice(extra);
    c.send(Method::POST, path, Some(body), &headers).await
}

/// The names of the outbox events about one record, in order.
pub async fn events_of(pool: &sqlx::PgPool, record: &str) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT event FROM crm_core.outbox WHERE payload->>'record_id' = $1 ORDER BY seq",
    )
    .bind(record)
    .fetch_all(pool)
    .await
    .expect("outbox")
}

/// The field names of a validation problem.
pub fn fields(r: &Reply) -> Vec<String> {
    r.body["errors"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| e["field"].as_str().unwrap_or("").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

//! The customers context through HTTP, on a real PostgreSQL, behind the real edge stack.

mod client;
mod companies;
mod contacts;
mod merge;

use std::sync::Arc;

use crm_customers::Customers;
use crm_testkit::pg::PgCluster;
use crm_testkit::server::TestServer;

/// A fresh database and the customers routes served on a free port.
pub async fn spawn() -> (TestServer, sqlx::PgPool) {
    let pool = PgCluster::shared()
        .migrated_pool(&[(crm_customers::CONTEXT, crm_customers::MIGRATIONS)])
        .await
        .expect("database");
    let svc = Arc::new(Customers::new(pool.clone()));
    let server = TestServer::start(crm_customers::http::router(svc), pool.clone()).await;
    (server, pool)
}

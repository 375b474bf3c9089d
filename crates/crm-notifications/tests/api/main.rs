//! The notifications context through HTTP, on a real PostgreSQL, behind the real edge stack,
//! delivering to real HTTP receivers on 127.0.0.1.

mod deliveries;
mod fanout;
mod receiver;
mod webhooks;

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use crm_notifications::{Deliverer, Notifications, Settings};
use crm_testkit::pg::PgCluster;
use crm_testkit::server::{Client, TestServer};

/// A fresh database and the notifications routes served on a free port.
pub struct App {
    pub server: TestServer,
    pub pool: sqlx::PgPool,
    pub svc: Arc<Notifications>,
}

pub async fn spawn() -> App {
    let pool = PgCluster::shared()
        .migrated_pool(&[(crm_notifications::CONTEXT, crm_notifications::MIGRATIONS)])
        .await
        .expect("database");
    let svc = Arc::new(Notifications::new(pool.clone()));
    let server =
        TestServer::start(crm_notifications::http::router(svc.clone()), pool.clone()).await;
    App { server, pool, svc }
}

impl App {
    pub fn deliverer(&self, settings: Settings) -> Deliverer {
        self.svc.deliverer(settings).expect("deliverer")
    }

    /// Starts a deliverer in the background for the rest of the test.
    pub fn start_deliverer(&self, settings: Settings) {
        tokio::spawn(self.deliverer(settings).run(std::future::pending()));
    }
}

/// Creates a webhook as `admin` and returns the create response.
pub async fn create_webhook(admin: &Client, url: &str, events: &[&str], extra: Value) -> Value {
    let mut body = json!({"url": url, "events": events});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    admin.post("/webhooks", &body).await.expect(201)
}

pub fn id(v: &Value) -> String {
    v["id"].as_str().expect("an id").to_owned()
}

/// Polls a delivery until its status is `status`; panics after 15 s.
pub async fn delivery_in_status(client: &Client, delivery_id: &str, status: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let d = client
            .get(&format!("/webhook-deliveries/{delivery_id}"))
            .await
            .expect(200);
        if d["status"] == status {
            return d;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "delivery never became {status}: {d}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The deliveries of a webhook, newest first (first page of up to 200).
pub async fn deliveries_of(client: &Client, webhook_id: &str) -> Vec<Value> {
    client
        .get(&format!("/webhooks/{webhook_id}/deliveries?limit=200"))
        .await
        .expect(200)["data"]
        .as_array()
        .expect("data")
        .clone()
}

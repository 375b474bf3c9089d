//! A process killed while it held an Idempotency-Key: the key stays "in flight". After the
//! lease, the same request takes it over and runs again with the same derived ids, so it
//! finds what the first run committed instead of writing it twice.

use crm_monolith::{Application, Settings};
use crm_testkit::pg::PgCluster;
use serde_json::{Value, json};

struct App {
    api: String,
    token: String,
    pool: sqlx::PgPool,
    http: reqwest::Client,
}

async fn spawn() -> App {
    let url = PgCluster::shared()
        .fresh_database("idem")
        .await
        .expect("database");
    let app = Application::build(Settings::for_tests(url.clone()))
        .await
        .expect("build");
    let api = format!("http://{}/api/v1", app.local_addr());
    tokio::spawn(app.run(std::future::pending()));
    let http = reqwest::Client::new();
    let s: Value = http
        .post(format!("{api}/auth/signup"))
        .json(&json!({"tenant_name": "I", "name": "I", "email": "i@idem.test", "password": "long enough pw"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = s["access_token"].as_str().unwrap().to_owned();
    App {
        api,
        token,
        pool: sqlx::PgPool::connect(&url).await.unwrap(),
        http,
    }
}

impl App {
    async fn create(&self, key: &str, name: &str) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}/companies", self.api))
            .bearer_auth(&self.token)
            .header("idempotency-key", key)
            .json(&json!({"name": name}))
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }

    /// What a crash between commit and storing the response leaves: the key in flight, old.
    async fn abandon(&self, key: &str) {
        sqlx::query(
            "UPDATE crm_core.idempotency_keys SET status = NULL, headers = NULL, body = NULL,
                 created_at = now() - interval '1 hour' WHERE key = $1",
        )
        .bind(key)
        .execute(&self.pool)
        .await
        .unwrap();
    }

    async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sql).fetch_one(&self.pool).await.unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_whose_process_died_after_commit_finds_its_record_instead_of_writing_twice() {
    let app = spawn().await;
    let (s, first) = app.create("key-a", "Committed Co").await;
    assert_eq!(s, 201);
    app.abandon("key-a").await;
    let (s, again) = app.create("key-a", "Committed Co").await;
    assert_eq!(s, 201);
    assert_eq!(
        again["id"], first["id"],
        "the re-run derived the same id and found the row"
    );
    assert_eq!(
        app.count("SELECT count(*) FROM crm_customers.companies")
            .await,
        1
    );
    assert_eq!(
        app.count("SELECT count(*) FROM crm_core.outbox WHERE event = 'company.created'")
            .await,
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_whose_process_died_before_commit_runs_again_once() {
    let app = spawn().await;
    let (s, _) = app.create("key-b", "Probe").await;
    assert_eq!(s, 201);
    // Died before commit: nothing written, the key left in flight.
    sqlx::query("DELETE FROM crm_customers.companies")
        .execute(&app.pool)
        .await
        .unwrap();
    sqlx::query("DELETE FROM crm_core.outbox")
        .execute(&app.pool)
        .await
        .unwrap();
    app.abandon("key-b").await;
    let (s, _) = app.create("key-b", "Probe").await;
    assert_eq!(s, 201);
    assert_eq!(
        app.count("SELECT count(*) FROM crm_customers.companies")
            .await,
        1
    );
    let (s, _) = app.create("key-b", "Probe").await;
    assert_eq!(s, 201, "and now replays");
    assert_eq!(
        app.count("SELECT count(*) FROM crm_customers.companies")
            .await,
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_in_flight_within_its_lease_is_still_refused() {
    let app = spawn().await;
    let (s, _) = app.create("key-c", "Live").await;
    assert_eq!(s, 201);
    sqlx::query("UPDATE crm_core.idempotency_keys SET status = NULL WHERE key = 'key-c'")
        .execute(&app.pool)
        .await
        .unwrap();
    let (s, body) = app.create("key-c", "Live").await;
    assert_eq!(
        (s, body["type"].as_str()),
        (409, Some("/problems/idempotency-key-in-flight"))
    );
}

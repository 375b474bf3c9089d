//! Fault injection into one module of the monolith (the benchmark's fault experiments): the
//! module fails or slows while the others work on, its events wait, and healing brings it
//! back with nothing lost.

use std::time::Duration;

use crm_monolith::{Application, Settings};
use crm_testkit::pg::PgCluster;
use serde_json::{Value, json};

const SECRET: &str = "fault-test-secret";

struct App {
    root: String,
    api: String,
    http: reqwest::Client,
    token: String,
}

async fn spawn() -> App {
    let url = PgCluster::shared()
        .fresh_database("faults")
        .await
        .expect("database");
    let mut settings = Settings::for_tests(url);
    settings.internal_secret = SECRET.into();
    let app = Application::build(settings).await.expect("build");
    let root = format!("http://{}", app.local_addr());
    tokio::spawn(app.run(std::future::pending()));
    let api = format!("{root}/api/v1");
    let http = reqwest::Client::new();
    let r: Value = http
        .post(format!("{api}/auth/signup"))
        .json(&json!({"tenant_name": "Faults", "name": "F", "email": "f@faults.test", "password": "long enough pw"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = r["access_token"].as_str().unwrap().to_owned();
    App {
        root,
        api,
        http,
        token,
    }
}

impl App {
    async fn fault(&self, module: &str, body: Value, secret: &str) -> reqwest::Response {
        self.http
            .put(format!("{}/admin/faults/{module}", self.root))
            .header("x-internal-secret", secret)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.api))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap()
    }

    async fn leads_in_funnel(&self) -> i64 {
        let f: Value = self.get("/analytics/funnel").await.json().await.unwrap();
        f["total"]
            .as_i64()
            .unwrap_or_else(|| panic!("funnel shape: {f}"))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fault_admin_needs_the_internal_secret() {
    let app = spawn().await;
    let r = app
        .fault("analytics", json!({"action": "panic"}), "wrong")
        .await;
    assert_eq!(r.status(), 401);
    assert_eq!(
        app.get("/analytics/pipeline").await.status(),
        200,
        "nothing was switched"
    );
    let r = app
        .fault("nosuch", json!({"action": "panic"}), SECRET)
        .await;
    assert_eq!(r.status(), 404);
    let r = app
        .fault("analytics", json!({"action": "slow-query"}), SECRET)
        .await;
    assert_eq!(r.status(), 422, "a slow query needs a delay");
    let r = app
        .fault("analytics", json!({"action": "explode"}), SECRET)
        .await;
    assert_eq!(r.status(), 422, "an unknown action is refused");
    assert_eq!(
        app.get("/analytics/pipeline").await.status(),
        200,
        "and changes nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_module_fails_alone_and_its_events_wait_until_it_is_healed() {
    let app = spawn().await;
    let before = app.leads_in_funnel().await;
    let r = app
        .fault("analytics", json!({"action": "panic"}), SECRET)
        .await;
    assert_eq!(r.status(), 200);

    let r = app.get("/analytics/pipeline").await;
    assert_eq!(r.status(), 500, "the broken module's routes fail");
    assert_eq!(app.get("/companies").await.status(), 200, "the others work");
    let lead = app
        .http
        .post(format!("{}/leads", app.api))
        .bearer_auth(&app.token)
        .json(&json!({"name": "Grace Hopper", "source": "web"}))
        .send()
        .await
        .unwrap();
    assert_eq!(lead.status(), 201, "writes elsewhere succeed");

    let r = app
        .fault("analytics", json!({"action": "heal"}), SECRET)
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(app.get("/analytics/pipeline").await.status(), 200);
    // The lead.created event waited in the outbox and reaches the funnel once healed.
    let mut after = before;
    for _ in 0..100 {
        after = app.leads_in_funnel().await;
        if after > before {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(after, before + 1, "the event applied once after healing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slowed_module_still_answers_and_reports_its_fault() {
    let app = spawn().await;
    let r = app
        .fault(
            "customers",
            json!({"action": "slow-query", "delay_ms": 50}),
            SECRET,
        )
        .await;
    assert_eq!(r.status(), 200);
    let state: Value = r.json().await.unwrap();
    assert_eq!(state["slow_query_ms"], 50);
    assert_eq!(app.get("/companies").await.status(), 200);
    let r = app
        .fault(
            "customers",
            json!({"action": "cpu-hog", "threads": 1}),
            SECRET,
        )
        .await;
    assert_eq!(r.json::<Value>().await.unwrap()["cpu_hog_threads"], 1);
    let r = app
        .fault("customers", json!({"action": "heal"}), SECRET)
        .await;
    let state: Value = r.json().await.unwrap();
    assert_eq!(
        state,
        json!({"panic": false, "slow_query_ms": 0, "cpu_hog_threads": 0})
    );
}

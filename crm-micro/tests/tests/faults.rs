//! Faults in the microservices: stopped services, a killed service mid-saga, replicas
//! changing at run time. Real processes, PostgreSQL and NATS.

use std::time::{Duration, Instant};

use crm_micro_tests::{Cluster, SECRET};
use serde_json::{Value, json};

#[path = "faults/saga.rs"]
mod saga;

struct Api {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl Api {
    async fn signup(c: &Cluster) -> Api {
        let base = format!("{}/api/v1", c.root());
        let http = reqwest::Client::new();
        let email = format!("{}@faults.test", uuid::Uuid::new_v4().simple());
        let s: Value = http
            .post(format!("{base}/auth/signup"))
            .json(&json!({"tenant_name": "Faults", "name": "F", "email": email, "password": "long enough pw"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        Api {
            base,
            token: s["access_token"].as_str().unwrap().to_owned(),
            http,
        }
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }
}

async fn eventually<F, Fut>(what: &str, secs: u64, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if f().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("{what}: not within {secs} s");
}

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_crm-micro-node")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopped_analytics_and_notifications_fail_no_writes_and_catch_up_after_restart() {
    let mut c = Cluster::start(bin()).await.unwrap();
    let api = Api::signup(&c).await;
    c.kill("analytics");
    c.kill("notifications");
    let (s, company) = api
        .post("/companies", json!({"name": "Still Writable"}))
        .await;
    assert_eq!(s, 201);
    assert_eq!(
        api.post("/leads", json!({"name": "Lead While Down"}))
            .await
            .0,
        201
    );
    for i in 0..3 {
        let body = json!({"name": format!("Deal {i}"), "company_id": company["id"], "amount": {"amount_micros": 1_000_000, "currency": "EUR"}});
        assert_eq!(api.post("/opportunities", body).await.0, 201);
    }
    let started = Instant::now();
    let (s, body) = api.get("/analytics/totals").await;
    assert_eq!(
        (s, body["type"].as_str()),
        (503, Some("/problems/unavailable")),
        "{body}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "a stopped service answers at once"
    );

    c.restart("analytics").await.unwrap();
    c.restart("notifications").await.unwrap();
    c.wait_ready("gateway").await.unwrap();
    eventually(
        "analytics caught up with the events written while it was down",
        30,
        || async {
            let (s, t) = api.get("/analytics/totals").await;
            s == 200 && t["opportunities"]["by_status"]["open"] == 3 && t["leads"]["live"] == 1
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_customers_service_answers_503_fast_while_sales_routes_work() {
    let mut c = Cluster::start(bin()).await.unwrap();
    let api = Api::signup(&c).await;
    let (_, opp) = api
        .post("/opportunities", json!({"name": "Independent"}))
        .await;
    c.kill("customers");
    for _ in 0..3 {
        let started = Instant::now();
        let (s, body) = api.get("/companies").await;
        assert_eq!(s, 503, "{body}");
        assert_eq!(body["type"], "/problems/unavailable");
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "answers quickly: {:?}",
            started.elapsed()
        );
    }
    assert_eq!(api.get("/opportunities").await.0, 200);
    assert_eq!(
        api.get(&format!("/opportunities/{}", opp["id"].as_str().unwrap()))
            .await
            .0,
        200
    );
    assert_eq!(api.get("/leads").await.0, 200);
    // A write whose references customers owns cannot be checked: a 503 naming the service,
    // never a 500 and never "unknown reference"; one naming none still works.
    let company = uuid::Uuid::now_v7();
    let before = api.get("/activities?count=true&limit=1").await.1["total"].clone();
    for (path, body) in [
        (
            "/opportunities",
            json!({"name": "Needs customers", "company_id": company}),
        ),
        (
            "/activities",
            json!({"kind": "note", "body": "n", "links": [{"type": "company", "id": company}]}),
        ),
    ] {
        let (s, body) = api.post(path, body).await;
        assert_eq!(s, 503, "{path}: {body}");
        assert_eq!(body["type"], "/problems/unavailable", "{path}");
        assert!(
            body["detail"]
                .as_str()
                .unwrap_or_default()
                .contains("customers"),
            "{path} names the service: {body}"
        );
    }
    assert_eq!(
        api.get("/activities?count=true&limit=1").await.1["total"],
        before,
        "nothing written"
    );
    let (s, body) = api
        .post(
            "/activities",
            json!({"kind": "note", "body": "n", "links": [{"type": "opportunity", "id": opp["id"]}]}),
        )
        .await;
    assert_eq!(s, 201, "{body}");
    c.restart("customers").await.unwrap();
    eventually("customers routes back", 20, || async {
        api.get("/companies").await.0 == 200
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_added_at_run_time_takes_traffic_and_a_dead_one_is_taken_out() {
    let mut c = Cluster::start(bin()).await.unwrap();
    let api = Api::signup(&c).await;
    let second = c.add_replica("customers").await.unwrap();
    let http = reqwest::Client::new();
    let r = http
        .put(format!("{}/admin/registry/customers", c.root()))
        .header("x-internal-secret", SECRET)
        .json(&json!({"replicas": [c.url("customers"), c.url(&second)]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let served = |name: String| {
        let http = http.clone();
        async move {
            let m = http
                .get(format!("{name}/metrics"))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            m.lines()
                .filter(|l| {
                    l.starts_with("crm_http_requests_total") && l.contains("/api/v1/companies\"")
                })
                .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
                .sum::<f64>()
        }
    };
    for _ in 0..20 {
        assert_eq!(api.get("/companies").await.0, 200);
    }
    let (a, b) = (
        served(c.url("customers")).await,
        served(c.url(&second)).await,
    );
    assert!(a > 0.0 && b > 0.0, "both replicas served: {a} and {b}");
    c.kill(&second);
    let mut failures = 0;
    for _ in 0..30 {
        if api.get("/companies").await.0 != 200 {
            failures += 1;
        }
    }
    assert_eq!(
        failures, 0,
        "reads retried on the live replica, then the dead one is out"
    );
    let r: Value = http
        .get(format!("{}/admin/registry", c.root()))
        .header("x-internal-secret", SECRET)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let replicas = r["customers"].as_array().unwrap();
    assert_eq!(replicas.len(), 2);
    assert_eq!(
        replicas.iter().filter(|x| x["healthy"] == true).count(),
        1,
        "{r}"
    );
    assert_eq!(
        http.get(format!("{}/admin/registry", c.root()))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_serves_the_monoliths_openapi_document() {
    let c = Cluster::start(bin()).await.unwrap();
    let doc: Value = reqwest::get(format!("{}/api/v1/openapi.json", c.root()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc, crm_monolith::openapi(), "one document for both builds");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_analytics_service_fails_alone_and_catches_up_once_healed() {
    let c = Cluster::start(bin()).await.unwrap();
    let api = Api::signup(&c).await;
    let http = reqwest::Client::new();
    let fault = |action: &'static str| {
        let http = http.clone();
        let url = format!("{}/admin/faults/analytics", c.url("analytics"));
        async move {
            http.put(url)
                .header("x-internal-secret", SECRET)
                .json(&json!({ "action": action }))
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(fault("panic").await, 200);
    let (s, _) = api.get("/analytics/totals").await;
    assert_eq!(s, 500, "the broken service's routes fail");
    assert_eq!(
        api.post("/leads", json!({"name": "While Broken"})).await.0,
        201
    );
    assert_eq!(api.get("/companies").await.0, 200, "other services work");
    assert_eq!(fault("heal").await, 200);
    eventually("the event reached analytics after healing", 30, || async {
        let (s, t) = api.get("/analytics/totals").await;
        s == 200 && t["leads"]["live"] == 1
    })
    .await;
}

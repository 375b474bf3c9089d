//! Edge behaviour the base-URL contract suite cannot provoke on a default server: rate
//! limits, token expiry, oversized request targets and headers.

use std::time::Duration;

use crm_monolith::{Application, Settings};
use crm_testkit::pg::PgCluster;
use serde_json::{Value, json};

async fn spawn(configure: impl FnOnce(&mut Settings)) -> String {
    let url = PgCluster::shared()
        .fresh_database("edge")
        .await
        .expect("database");
    let mut settings = Settings::for_tests(url);
    configure(&mut settings);
    let app = Application::build(settings).await.expect("build");
    let api = format!("http://{}/api/v1", app.local_addr());
    tokio::spawn(app.run(std::future::pending()));
    api
}

async fn signup(api: &str) -> String {
    let email = format!("{}@edge.test", uuid::Uuid::new_v4().simple());
    let r: Value = reqwest::Client::new()
        .post(format!("{api}/auth/signup"))
        .json(&json!({"tenant_name": "Edge", "name": "E", "email": email, "password": "long enough pw"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    r["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_over_its_rate_limit_gets_429_with_retry_after_and_others_do_not() {
    let api = spawn(|s| s.rate_limit_tenant = 5.0).await;
    let (a, b) = (signup(&api).await, signup(&api).await);
    let http = reqwest::Client::new();
    let mut limited = None;
    for _ in 0..40 {
        let r = http
            .get(format!("{api}/companies"))
            .bearer_auth(&a)
            .send()
            .await
            .unwrap();
        assert!(
            r.headers().contains_key("ratelimit-remaining"),
            "RateLimit headers on every answer"
        );
        if r.status() == 429 {
            limited = Some(r);
            break;
        }
    }
    let r = limited.expect("the limit was reached");
    assert!(
        r.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 1
    );
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["type"], "/problems/rate-limited");
    let other = http
        .get(format!("{api}/companies"))
        .bearer_auth(&b)
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 200, "another tenant has its own budget");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_access_token_is_refused_and_says_so() {
    let api = spawn(|s| s.access_ttl_secs = 1).await;
    let token = signup(&api).await;
    let http = reqwest::Client::new();
    assert_eq!(
        http.get(format!("{api}/auth/me"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let r = http
        .get(format!("{api}/auth/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let body: Value = r.json().await.unwrap();
    assert!(
        body["detail"].as_str().unwrap().contains("expired"),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_targets_and_headers_are_refused_as_problems() {
    let api = spawn(|_| {}).await;
    let token = signup(&api).await;
    let http = reqwest::Client::new();
    let long = format!("{api}/companies?filter={}", "x".repeat(9000));
    let r = http.get(long).bearer_auth(&token).send().await.unwrap();
    assert_eq!(
        (
            r.status().as_u16(),
            r.headers()["content-type"].to_str().unwrap()
        ),
        (414, "application/problem+json")
    );
    let r = http
        .get(format!("{api}/companies"))
        .bearer_auth(&token)
        .header("x-padding", "y".repeat(40_000))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 431);
}

//! Request id, trace id and the caller's identity carried across two hops: client → A → B,
//! through A's edge stack (and its idempotency layer's spawned task) and B's.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use crm_http::Caller;
use crm_http::client::ServiceClient;
use crm_http::context::{self, trace_id_of};
use crm_testkit::pg::PgCluster;

use crate::support::{self, actor, policy, serve};

/// B echoes what it was sent and who it thinks is calling.
fn service_b() -> Router {
    Router::new().route(
        "/echo",
        get(|Caller(actor): Caller, headers: HeaderMap| async move {
            let h = |n: &str| {
                headers
                    .get(n)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned)
            };
            Json(json!({
                "request_id": h("x-request-id"),
                "traceparent": h("traceparent"),
                "user_id": actor.user_id,
                "tenant_id": actor.tenant_id,
            }))
        }),
    )
}

/// A calls B for the caller and reports what B saw, and its own trace id.
async fn relay(State(b): State<ServiceClient>, Caller(actor): Caller) -> Json<Value> {
    let seen: Value = b.get(&actor, "/api/v1/echo").await.expect("B answers");
    let mine = context::current().expect("a request context in A");
    Json(json!({"b": seen, "a_trace_id": mine.trace_id, "a_request_id": mine.request_id}))
}

#[tokio::test]
async fn request_id_trace_and_identity_cross_two_hops() {
    let pool = PgCluster::shared()
        .migrated_pool(&[])
        .await
        .expect("database");
    let signer = support::signer();
    let b = serve(support::with_edge(service_b(), &signer, None)).await;
    let to_b = support::client("b", &[&b], &signer, policy());
    let a_routes = Router::new()
        .route("/relay", get(relay).post(relay))
        .with_state(to_b);
    let a = serve(support::with_edge(a_routes, &signer, Some(pool))).await;

    let actor = actor();
    let token = signer.sign(&crm_http::jwt::Claims::new(&actor, 60));
    let http = reqwest::Client::new();
    let incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    // The POST carries an Idempotency-Key: A's handler then runs in a spawned task.
    for (method, key) in [
        (reqwest::Method::GET, None),
        (reqwest::Method::POST, Some("relay-1")),
    ] {
        let mut req = http
            .request(method.clone(), format!("{a}/api/v1/relay"))
            .bearer_auth(&token)
            .header("x-request-id", "req-123")
            .header("traceparent", incoming);
        if let Some(k) = key {
            req = req.header("idempotency-key", k);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), 200, "{method}");
        let v: Value = res.json().await.unwrap();
        assert_eq!(v["b"]["request_id"], "req-123", "{method}: {v}");
        let tp = v["b"]["traceparent"].as_str().unwrap();
        assert_eq!(
            trace_id_of(tp).as_deref(),
            Some("4bf92f3577b34da6a3ce929d0e0e4736")
        );
        assert_ne!(&tp[36..52], "00f067aa0ba902b7", "a new span id for the hop");
        assert_eq!(v["b"]["user_id"], json!(actor.user_id));
        assert_eq!(v["b"]["tenant_id"], json!(actor.tenant_id));
    }

    // Without incoming ids, A makes them and B sees A's.
    let res = http
        .get(format!("{a}/api/v1/relay"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let echoed = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["b"]["request_id"], echoed);
    assert_eq!(v["b"]["request_id"], v["a_request_id"]);
    let tp = v["b"]["traceparent"].as_str().unwrap();
    assert_eq!(trace_id_of(tp).as_deref(), v["a_trace_id"].as_str());
}

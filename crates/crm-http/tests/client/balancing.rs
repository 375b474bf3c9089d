//! Load balancing over replicas, health checks, and retries moving to another replica.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use crm_http::client::{ReplicaStatus, Upstream};

use crate::support::{self, actor, client, policy, serve};

/// A replica counting its calls, whose `/readyz` answers 503 while `ready` is false.
async fn replica(name: &'static str) -> (String, Arc<AtomicUsize>, Arc<AtomicBool>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let ready = Arc::new(AtomicBool::new(true));
    let (h, r) = (hits.clone(), ready.clone());
    let app = Router::new()
        .route(
            "/who",
            get(move || {
                h.fetch_add(1, Ordering::SeqCst);
                async move { Json(json!({"replica": name})) }
            }),
        )
        .route(
            "/readyz",
            get(move || {
                let ok = r.load(Ordering::SeqCst);
                async move {
                    if ok {
                        StatusCode::OK
                    } else {
                        StatusCode::SERVICE_UNAVAILABLE
                    }
                }
            }),
        );
    (serve(app).await, hits, ready)
}

/// Waits (up to 5 s, for a loaded machine) until `cond` holds.
async fn eventually(cond: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !cond() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "condition never held"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn calls_spread_over_replicas_and_skip_an_unhealthy_one() {
    let (a, hits_a, _) = replica("a").await;
    let (b, hits_b, ready_b) = replica("b").await;
    let c = client("customers", &[&a, &b], &support::signer(), policy());
    let actor = actor();
    for _ in 0..10 {
        c.get::<Value>(&actor, "/who").await.unwrap();
    }
    assert_eq!(hits_a.load(Ordering::SeqCst), 5, "idle replicas take turns");
    assert_eq!(hits_b.load(Ordering::SeqCst), 5);

    ready_b.store(false, Ordering::SeqCst);
    c.upstream()
        .clone()
        .spawn_health_checks(Duration::from_millis(50));
    eventually(|| !c.upstream().replicas()[1].healthy).await;
    let view = c.upstream().replicas();
    assert_eq!(
        view,
        [
            ReplicaStatus {
                url: a.clone(),
                healthy: true,
                in_flight: 0
            },
            ReplicaStatus {
                url: b.clone(),
                healthy: false,
                in_flight: 0
            },
        ]
    );
    for _ in 0..6 {
        let v: Value = c.get(&actor, "/who").await.unwrap();
        assert_eq!(v["replica"], "a");
    }
    assert_eq!(hits_b.load(Ordering::SeqCst), 5);

    ready_b.store(true, Ordering::SeqCst);
    eventually(|| c.upstream().replicas().iter().all(|r| r.healthy)).await;
}

#[tokio::test]
async fn one_failed_check_is_not_enough_to_take_a_replica_out() {
    let (a, _, ready) = replica("a").await;
    let up = Upstream::new("s", vec![a]);
    ready.store(false, Ordering::SeqCst);
    up.check_once(Duration::from_millis(500)).await;
    assert!(up.replicas()[0].healthy);
    up.check_once(Duration::from_millis(500)).await;
    assert!(!up.replicas()[0].healthy);
}

#[tokio::test]
async fn a_replica_that_refuses_connections_is_retried_around() {
    // A port that was free a moment ago: connecting to it is refused.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let (alive, hits, _) = replica("alive").await;
    let c = client("sales", &[&dead, &alive], &support::signer(), policy());
    let actor = actor();
    for _ in 0..4 {
        let v: Value = c
            .get(&actor, "/who")
            .await
            .expect("the other replica answers");
        assert_eq!(v["replica"], "alive");
    }
    assert_eq!(hits.load(Ordering::SeqCst), 4);
    let dead_view = c
        .upstream()
        .replicas()
        .into_iter()
        .find(|r| r.url == dead)
        .unwrap();
    assert!(!dead_view.healthy, "passive failures took it out");
}

#[tokio::test]
async fn a_breaker_starts_afresh_when_a_health_check_sees_the_replica_come_back() {
    use crm_http::client::FreshBreaker;
    use failsafe::{Config, StateMachine, backoff, failure_policy};
    type B = StateMachine<failure_policy::ConsecutiveFailures<backoff::Constant>, ()>;
    fn breaker() -> B {
        // Open for an hour: only a fresh breaker lets calls through again within the test.
        let open = backoff::constant(Duration::from_secs(3600));
        Config::new()
            .failure_policy(failure_policy::consecutive_failures(2, open))
            .build()
    }
    let (a, _, ready) = replica("a").await;
    let up = Upstream::new("s", vec![a]);
    let fresh = FreshBreaker::new(up.clone(), breaker);
    let b = fresh.get();
    b.on_error();
    b.on_error();
    assert!(!fresh.get().is_call_permitted(), "open after the failures");
    ready.store(false, Ordering::SeqCst);
    up.check_once(Duration::from_millis(500)).await;
    up.check_once(Duration::from_millis(500)).await;
    assert!(!up.replicas()[0].healthy);
    assert!(
        !fresh.get().is_call_permitted(),
        "still open while it is down"
    );
    ready.store(true, Ordering::SeqCst);
    up.check_once(Duration::from_millis(500)).await;
    assert_eq!(up.recoveries(), 1);
    assert!(
        fresh.get().is_call_permitted(),
        "closed again once the check saw it back"
    );
}

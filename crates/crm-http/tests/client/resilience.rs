//! Retries only where repeating is safe, idempotent writes on a real database, the breaker,
//! timeouts, the concurrency limit, and problems passed through.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use crm_core::{Error, FieldError};
use crm_http::client::BreakerSettings;
use crm_http::{ApiError, Caller};
use crm_testkit::pg::PgCluster;

use crate::support::{self, actor, client, policy, serve};

type Hits = Arc<AtomicUsize>;

/// A route answering 503 (a problem) for the first `fail` calls, then `{"ok": true}`.
async fn flaky(fail: usize) -> (String, Hits) {
    let hits = Hits::default();
    let h = hits.clone();
    let app = Router::new().route(
        "/thing",
        get(move || {
            let n = h.fetch_add(1, Ordering::SeqCst);
            async move {
                if n < fail {
                    ApiError(Error::Unavailable("warming up".into())).into_response()
                } else {
                    Json(json!({"ok": true})).into_response()
                }
            }
        }),
    );
    (serve(app).await, hits)
}

#[tokio::test]
async fn a_get_is_retried_on_503_until_it_succeeds() {
    let (base, hits) = flaky(2).await;
    let c = client("things", &[&base], &support::signer(), policy());
    let v: Value = c.get(&actor(), "/thing").await.expect("third time lucky");
    assert_eq!(v, json!({"ok": true}));
    assert_eq!(hits.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_post_without_a_key_is_not_retried_and_one_with_a_key_is() {
    let posts = Hits::default();
    let p = posts.clone();
    let app = Router::new().route(
        "/thing",
        post(move || {
            p.fetch_add(1, Ordering::SeqCst);
            async { ApiError(Error::Unavailable("busy".into())) }
        }),
    );
    let base = serve(app).await;
    let c = client("things", &[&base], &support::signer(), policy());
    let e = c
        .post::<_, Value>(&actor(), "/thing", &json!({}), None)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::Remote(p) if p.status == 503 && p.code() == "unavailable"),
        "{e:?}"
    );
    assert_eq!(posts.load(Ordering::SeqCst), 1, "no key: sent once");
    c.post::<_, Value>(&actor(), "/thing", &json!({}), Some("k-1"))
        .await
        .unwrap_err();
    assert_eq!(
        posts.load(Ordering::SeqCst),
        1 + 3,
        "with a key: retried twice"
    );
}

#[tokio::test]
async fn client_errors_are_not_retried_and_pass_through_unchanged() {
    let hits = Hits::default();
    let h = hits.clone();
    let app = Router::new()
        .route(
            "/missing",
            get(move || {
                h.fetch_add(1, Ordering::SeqCst);
                async { ApiError(Error::not_found("company")) }
            }),
        )
        .route(
            "/invalid",
            get(|| async {
                ApiError(Error::Validation(vec![
                    FieldError::new("name", "is required"),
                    FieldError::new("emails[1]", "is not an e-mail address"),
                ]))
            }),
        );
    let base = serve(app).await;
    let c = client("customers", &[&base], &support::signer(), policy());
    let e = c.get::<Value>(&actor(), "/missing").await.unwrap_err();
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    assert_eq!(e.status().as_u16(), 404);
    assert_eq!(e.code(), "not-found");
    assert_eq!(
        e.problem(),
        Error::not_found("company").problem(),
        "the body, unchanged"
    );

    let e = c.get::<Value>(&actor(), "/invalid").await.unwrap_err();
    assert_eq!(e.status().as_u16(), 422);
    let fields: Vec<_> = e.problem().errors.into_iter().map(|f| f.field).collect();
    assert_eq!(fields, ["name", "emails[1]"]);
}

/// Lets the wrapped service finish (and the idempotency layer store its answer), then holds
/// the first answer back past the client's timeout: a response lost after the write.
async fn lose_first_answer(State(seen): State<Hits>, req: Request, next: Next) -> Response {
    let res = next.run(req).await;
    if seen.fetch_add(1, Ordering::SeqCst) == 0 {
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    res
}

/// How the first attempt of a keyed write goes wrong.
#[derive(Clone, Copy, PartialEq)]
enum Fault {
    /// Written and stored, but the answer never arrives in time.
    LostAnswer,
    /// Still being processed when the client gives up and repeats it.
    SlowWrite,
}

/// A service writing `things` behind the real edge stack (idempotency keys in its database),
/// whose first request goes wrong as `fault` says. Returns its client and database.
async fn things_service(fault: Fault) -> (crm_http::client::ServiceClient, sqlx::PgPool, Hits) {
    let pool = PgCluster::shared()
        .migrated_pool(&[])
        .await
        .expect("database");
    sqlx::query(
        "CREATE TABLE things (id uuid PRIMARY KEY, tenant_id uuid NOT NULL, name text NOT NULL)",
    )
    .execute(&pool)
    .await
    .unwrap();
    let signer = support::signer();
    let writes = Hits::default();
    let w = writes.clone();
    let routes = Router::new()
        .route(
            "/things",
            post(
                move |State(pool): State<sqlx::PgPool>,
                      Caller(actor): Caller,
                      Json(body): Json<Value>| async move {
                    let id = uuid::Uuid::now_v7();
                    sqlx::query("INSERT INTO things VALUES ($1, $2, $3)")
                        .bind(id)
                        .bind(actor.tenant_id)
                        .bind(body["name"].as_str().unwrap_or(""))
                        .execute(&pool)
                        .await
                        .map_err(|e| ApiError(e.into()))?;
                    if w.fetch_add(1, Ordering::SeqCst) == 0 && fault == Fault::SlowWrite {
                        tokio::time::sleep(Duration::from_millis(700)).await;
                    }
                    Ok::<_, ApiError>((axum::http::StatusCode::CREATED, Json(json!({"id": id}))))
                },
            ),
        )
        .with_state(pool.clone());
    let mut app = support::with_edge(routes, &signer, Some(pool.clone()));
    let attempts = Hits::default();
    if fault == Fault::LostAnswer {
        app = app.layer(from_fn_with_state(attempts.clone(), lose_first_answer));
    }
    let base = serve(app).await;
    let mut p = policy();
    p.retries = 6;
    p.backoff.first = Duration::from_millis(50);
    p.backoff.max = Duration::from_millis(200);
    (client("things", &[&base], &signer, p), pool, attempts)
}

async fn only_record(pool: &sqlx::PgPool, made: &Value) {
    let rows: Vec<(uuid::Uuid,)> = sqlx::query_as("SELECT id FROM things")
        .fetch_all(pool)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1, "exactly one record");
    assert_eq!(made["id"], json!(rows[0].0));
}

#[tokio::test]
async fn idempotency_across_a_retried_cross_service_write_exactly_one_record() {
    let (c, pool, attempts) = things_service(Fault::LostAnswer).await;
    let body = json!({"name": "one"});
    let made: Value = c
        .post(&actor(), "/api/v1/things", &body, Some("create-thing-1"))
        .await
        .expect("the retry gets the stored answer");
    assert!(
        attempts.load(Ordering::SeqCst) >= 2,
        "the first answer was lost"
    );
    only_record(&pool, &made).await;
}

#[tokio::test]
async fn a_keyed_write_still_in_flight_is_waited_for_not_repeated() {
    let (c, pool, _) = things_service(Fault::SlowWrite).await;
    let body = json!({"name": "slow"});
    let made: Value = c
        .post(&actor(), "/api/v1/things", &body, Some("create-thing-2"))
        .await
        .expect("409 in-flight is retried until the first answer is stored");
    only_record(&pool, &made).await;
}

#[tokio::test]
async fn the_breaker_opens_after_failures_fails_fast_and_half_opens_later() {
    let stall = Arc::new(AtomicBool::new(true));
    let hits = Hits::default();
    let (s, h) = (stall.clone(), hits.clone());
    let app = Router::new().route(
        "/slow",
        get(move || {
            h.fetch_add(1, Ordering::SeqCst);
            let stalled = s.load(Ordering::SeqCst);
            async move {
                if stalled {
                    tokio::time::sleep(Duration::from_secs(10)).await;
                }
                Json(json!({"ok": true}))
            }
        }),
    );
    let base = serve(app).await;
    let mut p = policy();
    p.timeout = Duration::from_millis(300);
    p.retries = 0;
    p.breaker = BreakerSettings {
        consecutive_failures: 3,
        open_for: Duration::from_millis(500),
        max_open_for: Duration::from_secs(5),
    };
    let c = client("sales", &[&base], &support::signer(), p);
    let actor = actor();
    for _ in 0..3 {
        let e = c.get::<Value>(&actor, "/slow").await.unwrap_err();
        assert!(matches!(e, Error::Timeout(_)), "{e:?}");
    }
    let start = Instant::now();
    let e = c.get::<Value>(&actor, "/slow").await.unwrap_err();
    let took = start.elapsed();
    assert!(
        took < Duration::from_millis(100),
        "failed fast: {took:?} against a 300 ms timeout"
    );
    assert!(
        matches!(&e, Error::Unavailable(m) if m == "sales is unavailable (circuit open)"),
        "{e:?}"
    );
    assert_eq!(hits.load(Ordering::SeqCst), 3, "nothing sent while open");

    stall.store(false, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(550)).await;
    let v: Value = c
        .get(&actor, "/slow")
        .await
        .expect("half-open lets a call through");
    assert_eq!(v["ok"], true);
    c.get::<Value>(&actor, "/slow").await.expect("closed again");
}

#[tokio::test]
async fn a_stalled_server_times_out_on_every_attempt() {
    let app = Router::new().route(
        "/stall",
        get(|| async {
            tokio::time::sleep(Duration::from_secs(10)).await;
            "late"
        }),
    );
    let base = serve(app).await;
    let mut p = policy();
    p.timeout = Duration::from_millis(200);
    p.retries = 1;
    let c = client("leads", &[&base], &support::signer(), p);
    let start = Instant::now();
    let e = c.get::<Value>(&actor(), "/stall").await.unwrap_err();
    let took = start.elapsed();
    assert!(
        matches!(&e, Error::Timeout(m) if m.contains("leads did not answer within 200 ms")),
        "{e:?}"
    );
    assert_eq!(e.status().as_u16(), 504);
    assert!(
        took >= Duration::from_millis(400) && took < Duration::from_secs(2),
        "{took:?}"
    );
}

#[tokio::test]
async fn the_concurrency_limit_holds_calls_back() {
    let (now, max) = (Hits::default(), Hits::default());
    let (n, m) = (now.clone(), max.clone());
    let app = Router::new().route(
        "/work",
        get(move || {
            let level = n.fetch_add(1, Ordering::SeqCst) + 1;
            m.fetch_max(level, Ordering::SeqCst);
            let n = n.clone();
            async move {
                tokio::time::sleep(Duration::from_millis(50)).await;
                n.fetch_sub(1, Ordering::SeqCst);
                Json(json!({}))
            }
        }),
    );
    let base = serve(app).await;
    let mut p = policy();
    p.concurrency = 2;
    p.timeout = Duration::from_secs(5);
    let c = client("work", &[&base], &support::signer(), p);
    let actor = actor();
    let calls = (0..8).map(|_| c.get::<Value>(&actor, "/work"));
    for r in futures::future::join_all(calls).await {
        r.expect("each call gets a slot in time");
    }
    assert_eq!(max.load(Ordering::SeqCst), 2);
}

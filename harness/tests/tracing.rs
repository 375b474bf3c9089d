//! Tracing end to end in one process, against real parts: the CRM's own exporter sends to
//! crm-bench's OTLP receiver, and one trace spans an HTTP hop (through crm-http's edge and
//! service client) and a NATS hop (the micro build's dispatcher and durable consumer on a
//! real nats-server), with a SQL statement as a span; a request its caller did not sample
//! exports nothing; bad OTLP input is refused with a clear 400 and the receiver goes on.
//!
//! Its own test binary: the span exporter is this process's global subscriber.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::get;
use axum::{Json, Router};
use ed25519_dalek::SigningKey;
use serde_json::{Value, json};
use sqlx::PgConnection;

use crm_bench::trace::tree::Trace;
use crm_bench::trace::{Collector, Kind, SpanRecord};
use crm_core::event::EventEnvelope;
use crm_core::outbox::{Dispatcher, EventHandler};
use crm_core::{Actor, Role};
use crm_http::Caller;
use crm_http::auth::{Authenticator, StaticKeys};
use crm_http::client::{CallPolicy, ServiceClient, SignerTokens, Upstream};
use crm_http::jwt::{Claims, Signer};
use crm_http::metrics::Metrics;
use crm_http::server::{self, Edge};
use crm_runtime::events::{Consumer, NatsDispatcher};
use crm_telemetry::Traceparent;
use crm_testkit::nats::NatsServer;
use crm_testkit::pg::PgCluster;

async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

fn with_edge(routes: Router, signer: &Signer) -> Router {
    let keys = StaticKeys(HashMap::from([(
        signer.kid.clone(),
        signer.jwk().verifying_key().unwrap(),
    )]));
    let edge = Edge {
        auth: Authenticator::new(Arc::new(keys), None),
        metrics: Metrics::new(),
        limiter: None,
        idempotency: None,
        timeout: Duration::from_secs(30),
    };
    server::fallbacks(server::with_edge(
        Router::new().nest(crm_http::API, routes),
        &edge,
    ))
}

/// Remembers the trace context each event was handled in.
struct Seen(Arc<Mutex<Vec<Option<Traceparent>>>>);

#[async_trait]
impl EventHandler for Seen {
    fn name(&self) -> &'static str {
        "tracing-test"
    }
    fn wants(&self, _: &EventEnvelope) -> bool {
        true
    }
    async fn handle(&self, _: &mut PgConnection, _: &EventEnvelope) -> crm_core::Result<()> {
        self.0
            .lock()
            .unwrap()
            .push(crm_telemetry::propagate::current());
        Ok(())
    }
}

#[derive(Clone)]
struct A {
    b: ServiceClient,
    pool: sqlx::PgPool,
    nats: Arc<NatsDispatcher>,
}

/// A calls B, runs a statement, and publishes an event — all within its request.
async fn relay(State(a): State<A>, Caller(actor): Caller) -> Json<Value> {
    let seen: Value = a.b.get(&actor, "/api/v1/echo").await.unwrap();
    sqlx::query("SELECT 1").execute(&a.pool).await.unwrap();
    let mut e = EventEnvelope::new(&actor, "lead", "converted", uuid::Uuid::now_v7(), json!({}));
    e.trace = crm_telemetry::propagate::current();
    a.nats.dispatch(&[e]).await.unwrap();
    Json(seen)
}

fn by_name<'a>(spans: &'a [SpanRecord], name: &str) -> &'a SpanRecord {
    spans.iter().find(|s| s.name == name).unwrap_or_else(|| {
        panic!(
            "no span {name:?} in {:#?}",
            spans.iter().map(|s| &s.name).collect::<Vec<_>>()
        )
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_trace_crosses_an_http_hop_and_a_nats_hop_and_reaches_the_receiver() {
    let collector = Collector::start().await.unwrap();
    let config = crm_telemetry::Config {
        endpoint: Some(format!("{}/v1/traces", collector.endpoint())),
        sample_ratio: 1.0,
    };
    let telemetry = crm_telemetry::init::init_with("a", "text", "warn", &config).unwrap();
    assert!(telemetry.enabled());

    let pool = PgCluster::shared().migrated_pool(&[]).await.unwrap();
    let nats = NatsServer::start().await.unwrap();
    let js = crm_runtime::events::connect(&nats.url(), "tracing-test")
        .await
        .unwrap();
    crm_runtime::events::ensure_stream(&js).await.unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let consumer = Consumer::new(
        "tracing-test",
        pool.clone(),
        vec![Arc::new(Seen(seen.clone()))],
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let consuming = tokio::spawn(consumer.run(js.clone(), async move {
        let _ = stopped.await;
    }));

    let signer = Signer::new("k1", SigningKey::generate(&mut rand::rngs::OsRng));
    let b_routes = Router::new().route(
        "/echo",
        get(|headers: HeaderMap| async move {
            Json(json!({"traceparent": headers.get("traceparent").and_then(|v| v.to_str().ok())}))
        }),
    );
    let b = serve(with_edge(b_routes, &signer)).await;
    let client = ServiceClient::new(
        Upstream::new("b", vec![b]),
        Arc::new(SignerTokens::new(signer.clone())),
        CallPolicy::default(),
    );
    let a_state = A {
        b: client,
        pool: pool.clone(),
        nats: Arc::new(NatsDispatcher::new(js.clone())),
    };
    let a = serve(with_edge(
        Router::new()
            .route("/relay", get(relay))
            .with_state(a_state),
        &signer,
    ))
    .await;

    let actor = Actor::new(uuid::Uuid::now_v7(), uuid::Uuid::now_v7(), Role::Rep);
    let token = signer.sign(&Claims::new(&actor, 60));
    let http = reqwest::Client::new();
    let sampled = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let unsampled = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00";
    for tp in [sampled, unsampled] {
        let res = http
            .get(format!("{a}/api/v1/relay"))
            .bearer_auth(&token)
            .header("traceparent", tp)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let v: Value = res.json().await.unwrap();
        let at_b = Traceparent::parse(v["traceparent"].as_str().unwrap()).unwrap();
        let sent = Traceparent::parse(tp).unwrap();
        assert_eq!((at_b.trace_id, at_b.sampled), (sent.trace_id, sent.sampled));
        assert_ne!(at_b.span_id, sent.span_id, "B's parent is A's client span");
    }
    // Both events consumed: the sampled one in its trace, the other untraced.
    for _ in 0..100 {
        if seen.lock().unwrap().len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let handled = seen.lock().unwrap().clone();
    assert_eq!(handled.len(), 2, "both events handled");
    let trace = Traceparent::parse(sampled).unwrap();
    assert!(
        handled
            .iter()
            .flatten()
            .any(|t| t.trace_id == trace.trace_id && t.sampled),
        "the consumer ran in the caller's trace: {handled:?}"
    );

    let _ = stop.send(());
    let _ = consuming.await;
    // Sends everything queued (blocking, and to a receiver on this runtime: off the
    // runtime's threads), then the receiver holds the whole trace.
    tokio::task::spawn_blocking(move || telemetry.shutdown())
        .await
        .unwrap();
    collector
        .settle(Duration::from_millis(300), Duration::from_secs(5))
        .await;
    let spans = collector.take();
    let hex = trace.trace_id_hex();
    assert!(
        spans.iter().all(|s| s.trace_id == hex),
        "only the sampled trace was exported: {:?}",
        spans
            .iter()
            .map(|s| (&s.trace_id, &s.name))
            .collect::<Vec<_>>()
    );
    let server_a = by_name(&spans, "GET /api/v1/relay");
    let call = by_name(&spans, "GET b");
    let server_b = by_name(&spans, "GET /api/v1/echo");
    let statement = by_name(&spans, "SELECT");
    let publish = by_name(&spans, "publish lead.converted");
    let consume = by_name(&spans, "consume tracing-test lead.converted");
    assert_eq!(
        server_a.parent_id, "00f067aa0ba902b7",
        "A's parent is the caller"
    );
    assert_eq!((server_a.kind, server_a.status), (Kind::Server, Some(200)));
    assert_eq!(
        (call.kind, call.parent_id.as_str()),
        (Kind::Client, server_a.span_id.as_str())
    );
    assert_eq!(server_b.parent_id, call.span_id);
    assert!(statement.db && statement.parent_id == server_a.span_id);
    assert_eq!(
        (publish.kind, publish.parent_id.as_str()),
        (Kind::Producer, server_a.span_id.as_str())
    );
    assert_eq!(
        (consume.kind, consume.parent_id.as_str()),
        (Kind::Consumer, publish.span_id.as_str())
    );
    assert!(consume.lag_us.is_some_and(|l| l >= 0));

    // Assembled: A's server span is the root, the consumer is off the response path, and
    // the parts add up to A's duration.
    let t = Trace::new(spans.iter().collect());
    let root = t.root.unwrap();
    assert_eq!(t.spans[root].span_id, server_a.span_id);
    let parts = t.attribute();
    let total: f64 = parts.values().sum();
    assert!((total - t.duration_us(root)).abs() < 1.0, "{parts:?}");
    assert!(
        parts.contains_key("wire") && parts.contains_key("postgres"),
        "{parts:?}"
    );
    assert_eq!(collector.rejected(), 0);

    // The simulator's calibration reads the same trace: the client span's time becomes the
    // wire of the server it called, the publish is the broker's cost per event, and the
    // consumer hangs, asynchronous, from the server whose commit started it.
    let traced = [crm_load::TracedRequest {
        trace_id: hex.clone(),
        op: "relay".into(),
        uncorrected_us: t.duration_us(root) as u64 + 100,
        corrected_us: t.duration_us(root) as u64 + 100,
        ok: true,
        sent_s: 0.0,
    }];
    let b = crm_bench::trace::summarize::breakdown(&crm_bench::trace::summarize::RunTrace {
        spans: &spans,
        traced: &traced,
        sample_ratio: 1.0,
        spans_file: String::new(),
        rejected_exports: 0,
        edge_us: None,
    });
    let op = &b.ops["relay"];
    let c = crm_bench::simulate::tree::convert(&op.shapes[0], op.parts.get("unaccounted"));
    let names: Vec<&str> = c.nodes.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "GET /api/v1/relay",
            "GET /api/v1/echo",
            "consume tracing-test lead.converted"
        ],
        "{c:?}"
    );
    assert_eq!(c.nodes[1].parent, Some(0));
    assert!(c.nodes[1].wire_us.is_some(), "the call's wire: {c:?}");
    assert!(c.nodes[0].db_us.is_some(), "A's statement");
    assert!(c.nodes[2].asynchronous && c.nodes[2].parent == Some(0));
    assert_eq!((c.broker.len(), c.relay.len()), (1, 0));

    // Bad input: a clear 400, counted, and the receiver goes on.
    let url = format!("{}/v1/traces", collector.endpoint());
    for (ct, body) in [
        ("application/x-protobuf", b"\xff\xff\xff\xff".to_vec()),
        ("application/json", b"{\"resourceSpans\": 7}".to_vec()),
        ("text/plain", b"hello".to_vec()),
    ] {
        let res = http
            .post(&url)
            .header("content-type", ct)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "{ct}");
        let text = res.text().await.unwrap();
        assert!(text.starts_with("bad OTLP export:"), "{text}");
    }
    assert_eq!(collector.rejected(), 3);
    let res = http
        .post(&url)
        .header("content-type", "application/json")
        .body(r#"{"resourceSpans":[]}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_http_edge_is_a_healthz_round_trip_and_nothing_answering_gives_no_figure() {
    let url = serve(Router::new().route("/healthz", get(|| async { "ok" }))).await;
    let edge = crm_bench::trace::edge::round_trip_us(&url, &[]).await;
    assert!(edge.is_some_and(|e| e > 0.0 && e < 1e6), "{edge:?}");
    // Nothing listens there: no figure rather than a made-up one.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let nobody = format!("http://127.0.0.1:{port}");
    assert_eq!(
        crm_bench::trace::edge::round_trip_us(&nobody, &[]).await,
        None
    );
}

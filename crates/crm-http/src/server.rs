//! The middleware stack, the ops endpoints, serving, and graceful shutdown.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::middleware::{Next, from_fn, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures::future::BoxFuture;
use http::HeaderValue;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};

use crm_core::Error;
use crm_telemetry::{Traceparent, propagate};

use crate::auth::{self, Authenticator};
use crate::context::{self, RequestContext};
use crate::error::ApiError;
use crate::metrics::{self, Metrics};
use crate::ratelimit::{self, RateLimiter};

/// Largest accepted request body (1 MiB); larger ones answer 413.
pub const BODY_LIMIT: usize = 1 << 20;
/// Longest accepted request target (path and query); longer ones answer 414.
pub const URI_LIMIT: usize = 8 * 1024;
/// Most header bytes accepted; more answer 431.
pub const HEADER_LIMIT: usize = 32 * 1024;

/// Everything the public edge needs around the routes.
#[derive(Clone)]
pub struct Edge {
    pub auth: Authenticator,
    pub metrics: Metrics,
    /// `None` disables rate limiting.
    pub limiter: Option<RateLimiter>,
    /// Idempotency keys are stored in this database; `None` disables them (e.g. a gateway
    /// that forwards the header to the service that owns the write).
    pub idempotency: Option<sqlx::PgPool>,
    /// Per-request time limit; past it the request answers 503.
    pub timeout: Duration,
}

/// A readiness probe: `Err(reason)` when a dependency is unreachable.
pub type ReadyCheck = Arc<dyn Fn() -> BoxFuture<'static, Result<(), String>> + Send + Sync>;

/// Wraps the API routes in the edge stack. The order is outermost first.
pub fn with_edge(routes: Router, edge: &Edge) -> Router {
    let mut router = routes;
    // Innermost: idempotency needs the caller, so it runs after authentication.
    if let Some(pool) = &edge.idempotency {
        let keys = crate::idempotency::Keys {
            pool: pool.clone(),
            lease: edge.timeout + Duration::from_secs(5),
        };
        router = router.layer(from_fn_with_state(keys, crate::idempotency::idempotency));
    }
    // Rate limits are per tenant and per API key, so they too need the caller.
    if let Some(rl) = &edge.limiter {
        router = router.layer(from_fn_with_state(rl.clone(), ratelimit::limit));
    }
    router.layer(
        ServiceBuilder::new()
            // Every request gets an id (or keeps the caller's) and echoes it back.
            .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
            .layer(PropagateRequestIdLayer::x_request_id())
            // One span per request, carrying the request id into every log line.
            .layer(from_fn(trace))
            // A panic becomes a logged 500 problem instead of a dropped connection.
            .layer(CatchPanicLayer::custom(panic_problem))
            // Counted and timed by route template.
            .layer(from_fn_with_state(edge.metrics.clone(), metrics::track))
            // Nothing may hang: past the limit the client gets a 503.
            .layer(from_fn_with_state(edge.timeout, timeout))
            // Oversized targets and headers are refused before any work (414, 431).
            .layer(from_fn(size_limits))
            // Query text PostgreSQL cannot store (NUL) is refused naming the parameter (400).
            .layer(from_fn(crate::storable::query))
            // Bodies over 1 MiB are refused while being read (413).
            .layer(DefaultBodyLimit::max(BODY_LIMIT))
            // Identify the caller (JWT or API key) when credentials are sent.
            .layer(from_fn_with_state(edge.auth.clone(), auth::authenticate)),
    )
}

/// The edge of a pure load balancer (the gateway in balancer mode): request ids, the
/// request's span (so a trace passes through it as one more hop), panics caught, metrics and
/// the time limit — but no authentication, limits or validation: the process behind it does
/// those, exactly as when it is reached directly.
pub fn with_passthrough_edge(routes: Router, metrics: Metrics, limit: Duration) -> Router {
    routes.layer(
        ServiceBuilder::new()
            .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
            .layer(PropagateRequestIdLayer::x_request_id())
            .layer(from_fn(trace))
            .layer(CatchPanicLayer::custom(panic_problem))
            .layer(from_fn_with_state(metrics, metrics::track))
            .layer(from_fn_with_state(limit, timeout)),
    )
}

/// Ops endpoints every process serves: `/healthz`, `/readyz`, `/metrics`, and the
/// OpenAPI document at `/api/v1/openapi.json`.
pub fn ops(metrics: Metrics, ready: ReadyCheck, openapi: Arc<Value>) -> Router {
    Router::new()
        .route(
            "/healthz",
            get(|| async { axum::Json(json!({"status": "alive"})) }),
        )
        .route("/readyz", get(readyz).with_state(ready))
        .route("/metrics", get(metrics::endpoint).with_state(metrics))
        .route(
            &format!("{}/openapi.json", crate::API),
            get(|State(doc): State<Arc<Value>>| async move { axum::Json((*doc).clone()) })
                .with_state(openapi),
        )
}

async fn readyz(State(check): State<ReadyCheck>) -> Response {
    match check().await {
        Ok(()) => axum::Json(json!({"status": "ready"})).into_response(),
        Err(why) => ApiError(Error::Unavailable(format!("not ready: {why}"))).into_response(),
    }
}

/// Problem answers for unknown routes and wrong methods.
pub fn fallbacks(router: Router) -> Router {
    router
        .fallback(|| async { ApiError(Error::not_found("route")) })
        .method_not_allowed_fallback(|| async {
            let p = crm_core::Problem::new(
                "method-not-allowed",
                405,
                "method not allowed on this route",
            );
            problem_json(405, &p)
        })
}

/// One span per request, and the request's [`RequestContext`] for the calls it makes to other
/// services (request id and trace id carried on). With tracing on, the span is the server
/// span of the trace: parented on the caller's `traceparent`, named by its route template,
/// with the response status.
async fn trace(req: Request, next: Next) -> Response {
    let (mut ctx, incoming) = {
        // Scoped: a borrow of the request may not live across the await below (not `Sync`).
        let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
        let traceparent = header(context::TRACEPARENT);
        (
            RequestContext::incoming(header(context::REQUEST_ID).unwrap_or(""), traceparent),
            traceparent.and_then(Traceparent::parse),
        )
    };
    let span = tracing::info_span!(
        "request",
        method = %req.method(),
        path = %req.uri().path(),
        request_id = %ctx.request_id,
        trace_id = %ctx.trace_id,
        tenant = tracing::field::Empty,
        otel.name = tracing::field::Empty,
        otel.kind = tracing::field::Empty,
        http.route = tracing::field::Empty,
        http.response.status_code = tracing::field::Empty,
    );
    let traced = crm_telemetry::enabled();
    if traced {
        propagate::set_parent(&span, incoming);
        let route = req
            .extensions()
            .get::<MatchedPath>()
            .map_or_else(|| req.uri().path().to_owned(), |m| m.as_str().to_owned());
        span.record("otel.name", format!("{} {route}", req.method()));
        span.record("otel.kind", "server");
        span.record("http.route", route);
        // A request without a caller's trace starts one here; logs name the same trace id.
        if let Some(tp) = propagate::of_span(&span) {
            ctx.trace_id = tp.trace_id_hex();
            span.record("trace_id", ctx.trace_id.as_str());
        }
    }
    let start = Instant::now();
    let run = tracing::Instrument::instrument(next.run(req), span.clone());
    let res = context::scope(ctx, run).await;
    if traced {
        span.record("http.response.status_code", res.status().as_u16());
    }
    let _enter = span.enter();
    tracing::debug!(
        status = res.status().as_u16(),
        micros = start.elapsed().as_micros() as u64,
        "served"
    );
    res
}

async fn size_limits(req: Request, next: Next) -> Response {
    let target = req.uri().path_and_query().map_or(0, |p| p.as_str().len());
    if target > URI_LIMIT {
        let p = crm_core::Problem::new(
            "uri-too-long",
            414,
            format!("the request target exceeds {URI_LIMIT} bytes"),
        );
        return problem_json(414, &p);
    }
    let headers: usize = req
        .headers()
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 4)
        .sum();
    if headers > HEADER_LIMIT {
        let p = crm_core::Problem::new(
            "headers-too-large",
            431,
            format!("the request headers exceed {HEADER_LIMIT} bytes"),
        );
        return problem_json(431, &p);
    }
    next.run(req).await
}

fn problem_json(status: u16, p: &crm_core::Problem) -> Response {
    let status = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::BAD_REQUEST);
    let mut res = crate::respond::json(status, p);
    res.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static(crm_core::Problem::CONTENT_TYPE),
    );
    res
}

async fn timeout(State(limit): State<Duration>, req: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(res) => res,
        Err(_) => ApiError(Error::Unavailable(format!(
            "the request did not finish within {} ms",
            limit.as_millis()
        )))
        .into_response(),
    }
}

fn panic_problem(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    ApiError(Error::internal("handler panicked")).into_response()
}

/// Serves until `shutdown` resolves, then stops accepting and drains in-flight requests for
/// at most `drain`.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    drain: Duration,
) -> std::io::Result<()> {
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
        shutdown.await;
        let _ = tx.send(());
    });
    let server = std::pin::pin!(server.into_future());
    tokio::select! {
        r = server => r,
        _ = async {
            let _ = rx.await;
            tokio::time::sleep(drain).await;
        } => {
            tracing::warn!("drain timeout reached; closing remaining connections");
            Ok(())
        }
    }
}

/// Resolves on ctrl-c or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutdown requested; draining");
}

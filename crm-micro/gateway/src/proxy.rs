//! Forwarding a public request to a replica of the service that owns it: least-outstanding
//! load balancing over healthy replicas (the shared `Upstream`), a circuit breaker per
//! service that answers 503 at once while open, one retry on another replica (never the one
//! that just failed) for idempotent requests that could not be delivered, a response timeout (not for event streams), and
//! the response passed through unchanged, streamed.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderName, Method, header};

use crm_core::Error;
use crm_http::ApiError;
use crm_http::client::{Breaker, BreakerSettings, FreshBreaker, Upstream};

use crate::routes::{self, Service};

/// The breaker of each service: opens after 5 consecutive failures; stays open 1 s, growing
/// to 10 s while failures go on. Built as the service client builds its own.
pub const BREAKER: BreakerSettings = BreakerSettings {
    consecutive_failures: 5,
    open_for: Duration::from_secs(1),
    max_open_for: Duration::from_secs(10),
};

/// Everything needed to forward to one service.
#[derive(Clone)]
pub struct Target {
    pub service: Service,
    pub upstream: Arc<Upstream>,
    /// Starts afresh when a health check sees a replica come back.
    pub breaker: Arc<FreshBreaker<Breaker>>,
    pub http: reqwest::Client,
    pub timeout: Duration,
}

const HOP_BY_HOP: [HeaderName; 6] = [
    header::CONNECTION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
    header::HOST,
];

fn copy_headers(from: &HeaderMap, to: &mut HeaderMap) {
    for (k, v) in from {
        if !HOP_BY_HOP.contains(k) && k.as_str() != "keep-alive" && k.as_str() != "proxy-connection"
        {
            to.append(k.clone(), v.clone());
        }
    }
}

fn unavailable(service: Service, why: &str) -> Response {
    ApiError(Error::Unavailable(format!(
        "the {} service is unavailable: {why}",
        service.name()
    )))
    .into_response()
}

/// A request may be sent twice when repeating it cannot write twice.
fn idempotent(method: &Method, headers: &HeaderMap) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::DELETE
    ) || headers.contains_key("idempotency-key")
}

fn client_span(t: &Target, method: &Method, number: u32) -> tracing::Span {
    if !crm_telemetry::enabled() {
        return tracing::Span::none();
    }
    tracing::info_span!(
        "forward",
        otel.name = %format!("{method} {}", t.service.name()),
        otel.kind = "client",
        peer.service = t.service.name(),
        crm.attempt = number,
    )
}

pub async fn forward(State(t): State<Target>, req: Request) -> Response {
    let breaker = t.breaker.get();
    if !breaker.is_call_permitted() {
        return unavailable(t.service, "circuit open");
    }
    let (parts, body) = req.into_parts();
    let body = match axum::body::to_bytes(body, crm_http::server::BODY_LIMIT).await {
        Ok(b) => b,
        Err(_) => {
            return ApiError(Error::PayloadTooLarge {
                limit: crm_http::server::BODY_LIMIT,
            })
            .into_response();
        }
    };
    let target = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let stream = routes::is_stream(parts.uri.path());
    let attempts = if idempotent(&parts.method, &parts.headers) {
        2
    } else {
        1
    };
    let mut last = String::from("no healthy replica");
    let mut failed: Option<String> = None;
    for number in 1..=attempts {
        // A retry goes to another replica, never back to the one that just failed.
        let picked = match &failed {
            None => t.upstream.pick(),
            Some(url) => t.upstream.pick_except(url),
        };
        let Some(replica) = picked else {
            break;
        };
        let mut headers = HeaderMap::new();
        copy_headers(&parts.headers, &mut headers);
        // With tracing on, each attempt is a client span and the service's server span its
        // child (the caller's traceparent is replaced by this span's); with tracing off the
        // caller's header passes through untouched.
        let span = client_span(&t, &parts.method, number);
        if let Some(tp) = crm_telemetry::propagate::of_span(&span)
            && let Ok(v) = http::HeaderValue::from_str(&tp.format())
        {
            headers.insert(crm_http::context::TRACEPARENT, v);
        }
        let mut rb = t
            .http
            .request(parts.method.clone(), format!("{}{target}", replica.url()))
            .headers(headers)
            .body(body.clone());
        if !stream {
            rb = rb.timeout(t.timeout);
        }
        match tracing::Instrument::instrument(rb.send(), span.clone()).await {
            Ok(res) => {
                let failed = res.status().is_server_error();
                replica.report(!failed);
                if failed {
                    breaker.on_error();
                } else {
                    breaker.on_success();
                }
                let mut out = Response::builder().status(res.status());
                if let Some(h) = out.headers_mut() {
                    copy_headers(res.headers(), h);
                }
                // Event streams flow through as they come; everything else is one small body,
                // cheaper to pass on whole than as a stream of chunks.
                let body = if stream {
                    Body::from_stream(res.bytes_stream())
                } else {
                    match tracing::Instrument::instrument(res.bytes(), span).await {
                        Ok(b) => Body::from(b),
                        Err(e) => return unavailable(t.service, &e.to_string()),
                    }
                };
                return out
                    .body(body)
                    .unwrap_or_else(|_| unavailable(t.service, "bad response"));
            }
            Err(e) if e.is_timeout() => {
                replica.report(false);
                breaker.on_error();
                // It may still be running there; repeating it would double the load on a
                // service that is already slow.
                return ApiError(Error::Timeout(format!(
                    "the {} service did not answer within {} ms",
                    t.service.name(),
                    t.timeout.as_millis()
                )))
                .into_response();
            }
            Err(e) => {
                replica.report(false);
                breaker.on_error();
                last = e.to_string();
                failed = Some(replica.url().to_owned());
            }
        }
    }
    unavailable(t.service, &last)
}

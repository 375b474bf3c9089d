//! `Idempotency-Key` on POST and PATCH: replay the stored response, refuse reuse with
//! another body (422) and concurrent duplicates (409).
//!
//! The handler runs in its own task, so a client that hangs up cannot cancel a write between
//! its commit and the storing of its response.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderName, HeaderValue, Method, header};
use sqlx::PgPool;

use crm_core::idempotency::{self, Begin, Stored};
use crm_core::{Actor, Error};

use crate::error::ApiError;

pub const HEADER: &str = "idempotency-key";
pub const REPLAYED: &str = "idempotent-replayed";

/// Headers worth keeping with a stored response.
const KEPT: [HeaderName; 3] = [header::CONTENT_TYPE, header::LOCATION, header::ETAG];

/// Where keys are kept, and how long one may stay in flight before it counts as abandoned
/// (longer than any request may run: the edge's request timeout plus a margin).
#[derive(Clone)]
pub struct Keys {
    pub pool: PgPool,
    pub lease: std::time::Duration,
}

pub async fn idempotency(
    State(Keys { pool, lease }): State<Keys>,
    req: Request,
    next: Next,
) -> Response {
    if !matches!(*req.method(), Method::POST | Method::PATCH) {
        return next.run(req).await;
    }
    let Some(key) = req.headers().get(HEADER) else {
        return next.run(req).await;
    };
    let key = key.to_str().unwrap_or("").to_owned();
    // Anonymous requests (login, refresh) are not keyed: the handler will authenticate.
    let Some(actor) = req.extensions().get::<Actor>().cloned() else {
        return next.run(req).await;
    };
    match run(pool, lease, actor, key, req, next).await {
        Ok(r) | Err(r) => r,
    }
}

async fn run(
    pool: PgPool,
    lease: std::time::Duration,
    actor: Actor,
    key: String,
    req: Request,
    next: Next,
) -> Result<Response, Response> {
    let err = |e: Error| ApiError(e).into_response();
    idempotency::check_key(&key).map_err(err)?;
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, crate::server::BODY_LIMIT)
        .await
        .map_err(|_| {
            err(Error::PayloadTooLarge {
                limit: crate::server::BODY_LIMIT,
            })
        })?;
    let target = parts.uri.path_and_query().map_or("", |p| p.as_str());
    let fp = idempotency::fingerprint(parts.method.as_str(), target, &bytes);
    let lookup = crm_telemetry::propagate::internal("idempotency begin");
    match tracing::Instrument::instrument(
        idempotency::begin(&pool, actor.tenant_id, &key, &fp, lease),
        lookup,
    )
    .await
    .map_err(err)?
    {
        Begin::Replay(stored) => Ok(replay(stored)),
        Begin::InFlight => Err(err(Error::conflict(
            "idempotency-key-in-flight",
            "a request with this Idempotency-Key is still being processed; retry later",
        ))),
        Begin::Mismatch => Err(err(Error::Unprocessable {
            code: "idempotency-key-reused",
            detail: "this Idempotency-Key was used with a different request".into(),
        })),
        Begin::Proceed => {
            let req = Request::from_parts(parts, Body::from(bytes));
            let work = async move {
                // Ids derived from the key: a re-run after a crash repeats them (crm_core::ids).
                let seed = format!("{}:{key}", actor.tenant_id);
                let res = crm_core::ids::keyed(&seed, next.run(req)).await;
                let (parts, body) = res.into_parts();
                let body = axum::body::to_bytes(body, usize::MAX)
                    .await
                    .unwrap_or_default();
                if parts.status.is_server_error() {
                    if let Err(e) = idempotency::release(&pool, actor.tenant_id, &key).await {
                        tracing::warn!(error = %e, "could not release idempotency key");
                    }
                } else {
                    let stored = Stored {
                        status: parts.status.as_u16(),
                        headers: KEPT
                            .iter()
                            .filter_map(|h| {
                                let v = parts.headers.get(h)?.to_str().ok()?;
                                Some((h.as_str().to_owned(), v.to_owned()))
                            })
                            .collect(),
                        body: body.to_vec(),
                    };
                    let store = crm_telemetry::propagate::internal("idempotency complete");
                    if let Err(e) = tracing::Instrument::instrument(
                        idempotency::complete(&pool, actor.tenant_id, &key, &stored),
                        store,
                    )
                    .await
                    {
                        tracing::error!(error = %e, "could not store idempotent response");
                    }
                }
                Response::from_parts(parts, Body::from(body))
            };
            // A spawned task does not inherit task-locals: carry the request context (and the
            // span) over, so calls the handler makes to other services keep the request id.
            let work = crate::context::inherit(tracing::Instrument::in_current_span(work));
            let task = tokio::spawn(work);
            task.await.map_err(|e| err(Error::internal(e)))
        }
    }
}

fn replay(stored: Stored) -> Response {
    let mut res = Response::new(Body::from(stored.body));
    *res.status_mut() = http::StatusCode::from_u16(stored.status).unwrap_or(http::StatusCode::OK);
    for (k, v) in stored.headers {
        if let (Ok(k), Ok(v)) = (HeaderName::try_from(k), HeaderValue::try_from(v)) {
            res.headers_mut().insert(k, v);
        }
    }
    res.headers_mut().insert(
        HeaderName::from_static(REPLAYED),
        HeaderValue::from_static("true"),
    );
    res
}

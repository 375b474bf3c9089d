//! The gateway in balancer mode: a load balancer in front of N replicas of the monolith,
//! so the monolith can be replicated, rolled and half-killed the way a service behind the
//! gateway is. Every request but the balancer's own ops endpoints (`/healthz`, `/readyz`,
//! `/metrics`) and its registry admin API goes, unchanged, to one monolith replica through
//! [`crate::proxy::forward`]: least outstanding requests over healthy replicas, active
//! health checks, one circuit breaker, one retry of an idempotent request on another
//! replica. Authentication, limits, validation and the OpenAPI document are the monolith's.

use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use serde_json::json;

use crm_core::Error;
use crm_http::ApiError;
use crm_http::metrics::{self, Metrics};
use crm_http::server::{self, ReadyCheck};

use crate::registry::{self, Registry};
use crate::routes::Service;
use crate::{Settings, forwarding_client, ready_check, target};

/// The balancer's router: its ops endpoints and admin API, and everything else forwarded.
pub fn router(settings: &Settings, registry: &Registry) -> anyhow::Result<Router> {
    let http = forwarding_client()?;
    let monolith = target(registry, Service::Monolith, &http, settings);
    let metrics = Metrics::new();
    let forwarded = server::with_passthrough_edge(
        Router::new().fallback(any(crate::proxy::forward).with_state(monolith)),
        metrics.clone(),
        Duration::from_millis(settings.upstream_timeout_ms + 1_000),
    );
    Ok(Router::new()
        .route(
            "/healthz",
            get(|| async { axum::Json(json!({"status": "alive"})) }),
        )
        .route("/readyz", get(readyz).with_state(ready_check(registry)))
        .route("/metrics", get(metrics::endpoint).with_state(metrics))
        .merge(registry::admin_router(
            registry.clone(),
            settings.internal_secret.clone(),
        ))
        .merge(forwarded))
}

/// Ready while at least one monolith replica is healthy.
async fn readyz(State(check): State<ReadyCheck>) -> Response {
    match check().await {
        Ok(()) => axum::Json(json!({"status": "ready"})).into_response(),
        Err(why) => ApiError(Error::Unavailable(format!("not ready: {why}"))).into_response(),
    }
}

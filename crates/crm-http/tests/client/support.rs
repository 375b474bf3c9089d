//! Servers on 127.0.0.1 and the pieces every test needs.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use ed25519_dalek::SigningKey;
use uuid::Uuid;

use crm_core::{Actor, Backoff, Role};
use crm_http::auth::{Authenticator, StaticKeys};
use crm_http::client::{BreakerSettings, CallPolicy, ServiceClient, SignerTokens, Upstream};
use crm_http::jwt::Signer;
use crm_http::metrics::Metrics;
use crm_http::server::{self, Edge};

/// Serves `app` on a free port; returns its base URL.
pub(crate) async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

pub(crate) fn signer() -> Signer {
    Signer::new("k1", SigningKey::generate(&mut rand::rngs::OsRng))
}

/// The real edge stack (auth with `signer`'s key, idempotency keys in `pool` if given)
/// around `routes` nested under `/api/v1`.
pub(crate) fn with_edge(routes: Router, signer: &Signer, pool: Option<sqlx::PgPool>) -> Router {
    let keys = StaticKeys(HashMap::from([(
        signer.kid.clone(),
        signer.jwk().verifying_key().expect("key"),
    )]));
    let edge = Edge {
        auth: Authenticator::new(Arc::new(keys), None),
        metrics: Metrics::new(),
        limiter: None,
        idempotency: pool,
        timeout: Duration::from_secs(30),
    };
    server::fallbacks(server::with_edge(
        Router::new().nest(crm_http::API, routes),
        &edge,
    ))
}

pub(crate) fn actor() -> Actor {
    Actor::new(Uuid::now_v7(), Uuid::now_v7(), Role::Rep)
}

/// Short timeouts and backoffs so failures show quickly.
pub(crate) fn policy() -> CallPolicy {
    CallPolicy {
        timeout: Duration::from_millis(400),
        retries: 2,
        backoff: Backoff {
            first: Duration::from_millis(10),
            max: Duration::from_millis(50),
            ..CallPolicy::default().backoff
        },
        concurrency: 16,
        breaker: BreakerSettings {
            consecutive_failures: 50,
            open_for: Duration::from_millis(300),
            max_open_for: Duration::from_secs(2),
        },
    }
}

/// A client of `service` at `replicas`, with tokens signed by `signer`.
pub(crate) fn client(
    service: &str,
    replicas: &[&str],
    signer: &Signer,
    policy: CallPolicy,
) -> ServiceClient {
    let upstream = Upstream::new(service, replicas.iter().map(|s| s.to_string()).collect());
    ServiceClient::new(
        upstream,
        Arc::new(SignerTokens::new(signer.clone())),
        policy,
    )
}

//! `JwksKeys` against a real JWKS endpoint: caching, refresh on a new key id (rate-limited),
//! and a cached key that keeps working while identity is down.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use ed25519_dalek::SigningKey;

use crm_http::auth::{Authenticator, JwksKeys, KeySource};
use crm_http::jwt::{Claims, Jwks, Signer};

use crate::support::{actor, serve};

struct Identity {
    jwks: RwLock<Jwks>,
    fetches: AtomicUsize,
    down: AtomicBool,
}

async fn identity() -> (String, Arc<Identity>) {
    let state = Arc::new(Identity {
        jwks: RwLock::default(),
        fetches: AtomicUsize::new(0),
        down: AtomicBool::new(false),
    });
    let s = state.clone();
    let app = Router::new().route(
        "/.well-known/jwks.json",
        get(move || {
            s.fetches.fetch_add(1, Ordering::SeqCst);
            let res = if s.down.load(Ordering::SeqCst) {
                StatusCode::SERVICE_UNAVAILABLE.into_response()
            } else {
                axum::Json(s.jwks.read().unwrap().clone()).into_response()
            };
            async move { res }
        }),
    );
    (serve(app).await, state)
}

fn signer(kid: &str) -> Signer {
    Signer::new(kid, SigningKey::generate(&mut rand::rngs::OsRng))
}

#[tokio::test]
async fn keys_are_cached_refreshed_on_a_new_kid_and_survive_identity_being_down() {
    let (base, id) = identity().await;
    let (k1, k2) = (signer("k1"), signer("k2"));
    id.jwks.write().unwrap().keys.push(k1.jwk());
    let keys = Arc::new(JwksKeys::from_url(&base));

    let auth = Authenticator::new(keys.clone(), None);
    let a = actor();
    let (who, _) = auth
        .identify(&format!("Bearer {}", k1.sign(&Claims::new(&a, 60))))
        .await
        .expect("a token signed with a published key");
    assert_eq!(who, a);
    assert!(keys.verifying_key("k1").await.unwrap().is_some());
    assert_eq!(id.fetches.load(Ordering::SeqCst), 1, "cached");

    // k2 is published after our fetch; asking at once is rate-limited.
    id.jwks.write().unwrap().keys.push(k2.jwk());
    assert!(keys.verifying_key("k2").await.unwrap().is_none());
    assert_eq!(id.fetches.load(Ordering::SeqCst), 1);
    tokio::time::sleep(JwksKeys::MIN_REFRESH + Duration::from_millis(100)).await;
    assert_eq!(
        keys.verifying_key("k2").await.unwrap(),
        Some(k2.jwk().verifying_key().unwrap())
    );
    assert_eq!(id.fetches.load(Ordering::SeqCst), 2, "one refresh");

    id.down.store(true, Ordering::SeqCst);
    let before = id.fetches.load(Ordering::SeqCst);
    assert!(
        keys.verifying_key("k1").await.unwrap().is_some(),
        "cached keys need no identity"
    );
    assert_eq!(id.fetches.load(Ordering::SeqCst), before);
    tokio::time::sleep(JwksKeys::MIN_REFRESH + Duration::from_millis(100)).await;
    let e = keys.verifying_key("k3").await.unwrap_err();
    assert_eq!(
        e.status().as_u16(),
        503,
        "an unknown key while identity is down: {e:?}"
    );
    let unknown = auth
        .identify(&format!(
            "Bearer {}",
            signer("k9").sign(&Claims::new(&a, 60))
        ))
        .await
        .unwrap_err();
    assert_eq!(
        unknown.status().as_u16(),
        401,
        "rate-limited: unknown, not unavailable"
    );
}

//! Authentication: bearer JWTs (verified against a key source) and API keys (`crm_...`).
//!
//! The middleware only identifies the caller; it puts the [`Actor`] into the request when
//! credentials are present and valid, answers 401 when they are present and invalid, and
//! lets anonymous requests through so that public routes (login, JWKS) work. Protected
//! handlers take [`crate::Caller`], which answers 401 when nobody was identified.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use ed25519_dalek::VerifyingKey;
use http::{Method, header};
use uuid::Uuid;

use crm_core::{Actor, Error, Result};

use crate::client::{Call, CallPolicy, ServiceClient, Upstream};
use crate::error::ApiError;
use crate::jwt;

/// Prefix of API keys; anything else after `Bearer ` is taken for a JWT.
pub const API_KEY_PREFIX: &str = "crm_";

/// Where verification keys come from: the identity context in-process, or a cached JWKS.
#[async_trait]
pub trait KeySource: Send + Sync {
    async fn verifying_key(&self, kid: &str) -> Result<Option<VerifyingKey>>;
}

/// Resolves an API key to the actor it acts as, and the key's id.
#[async_trait]
pub trait ApiKeyResolver: Send + Sync {
    async fn resolve(&self, key: &str) -> Result<Option<(Actor, Uuid)>>;
}

/// A fixed set of keys (tests, or a key file).
pub struct StaticKeys(pub HashMap<String, VerifyingKey>);

impl StaticKeys {
    /// The verifying keys of `signers`.
    pub fn of(signers: &[&jwt::Signer]) -> Self {
        StaticKeys(
            signers
                .iter()
                .filter_map(|s| Some((s.kid.clone(), s.jwk().verifying_key()?)))
                .collect(),
        )
    }
}

#[async_trait]
impl KeySource for StaticKeys {
    async fn verifying_key(&self, kid: &str) -> Result<Option<VerifyingKey>> {
        Ok(self.0.get(kid).copied())
    }
}

/// The id of the API key a request was made with, when it was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ApiKeyId(pub Uuid);

/// Tokens whose signature already verified, with their claims: a client sends the same
/// token with every request for its lifetime, and an Ed25519 verification costs more than the
/// rest of a simple read. Only the exact bytes that verified are accepted; expiry is still
/// checked on every use. A token signed by a key retired since stays valid until it expires.
#[derive(Default)]
struct Verified {
    tokens: std::sync::Mutex<HashMap<String, (Actor, i64)>>,
}

const VERIFIED_CAPACITY: usize = 50_000;

impl Verified {
    fn get(&self, token: &str) -> Option<Actor> {
        let now = chrono::Utc::now().timestamp();
        let map = self.tokens.lock().expect("token cache lock");
        map.get(token)
            .filter(|(_, exp)| *exp > now)
            .map(|(a, _)| a.clone())
    }

    fn put(&self, token: &str, actor: Actor, exp: i64) {
        let mut map = self.tokens.lock().expect("token cache lock");
        if map.len() >= VERIFIED_CAPACITY {
            let now = chrono::Utc::now().timestamp();
            map.retain(|_, (_, e)| *e > now);
            if map.len() >= VERIFIED_CAPACITY {
                map.clear();
            }
        }
        map.insert(token.to_owned(), (actor, exp));
    }
}

#[derive(Clone)]
pub struct Authenticator {
    keys: Arc<dyn KeySource>,
    api_keys: Option<Arc<dyn ApiKeyResolver>>,
    verified: Arc<Verified>,
}

impl Authenticator {
    pub fn new(keys: Arc<dyn KeySource>, api_keys: Option<Arc<dyn ApiKeyResolver>>) -> Self {
        Authenticator {
            keys,
            api_keys,
            verified: Arc::default(),
        }
    }

    /// Identifies the caller from an `Authorization` header value.
    pub async fn identify(&self, authorization: &str) -> Result<(Actor, Option<Uuid>)> {
        let token = authorization
            .strip_prefix("Bearer ")
            .or_else(|| authorization.strip_prefix("bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| Error::Unauthorized("expected Authorization: Bearer <token>".into()))?;
        if token.starts_with(API_KEY_PREFIX) {
            let resolver = self
                .api_keys
                .as_ref()
                .ok_or_else(|| Error::Unauthorized("API keys are not accepted here".into()))?;
            return match resolver.resolve(token).await? {
                Some((actor, id)) => Ok((actor, Some(id))),
                None => Err(Error::Unauthorized("unknown or revoked API key".into())),
            };
        }
        if let Some(actor) = self.verified.get(token) {
            return Ok((actor, None));
        }
        let kid = jwt::key_id(token)?;
        let key = self
            .keys
            .verifying_key(&kid)
            .await?
            .ok_or_else(|| Error::Unauthorized("invalid token: unknown key id".into()))?;
        let claims = jwt::verify(token, &key)?;
        self.verified.put(token, claims.actor(), claims.exp);
        Ok((claims.actor(), None))
    }
}

/// Middleware: identify the caller when credentials are sent.
pub async fn authenticate(
    State(auth): State<Authenticator>,
    mut req: Request,
    next: Next,
) -> Response {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return next.run(req).await;
    };
    let value = match value.to_str() {
        Ok(v) => v.to_owned(),
        Err(_) => {
            return ApiError(Error::Unauthorized(
                "unreadable Authorization header".into(),
            ))
            .into_response();
        }
    };
    match auth.identify(&value).await {
        Ok((actor, key)) => {
            let span = tracing::Span::current();
            span.record("tenant", tracing::field::display(actor.tenant_id));
            req.extensions_mut().insert(actor);
            if let Some(id) = key {
                req.extensions_mut().insert(ApiKeyId(id));
            }
            next.run(req).await
        }
        Err(e) => ApiError(e).into_response(),
    }
}

/// Keys from the identity service's `/.well-known/jwks.json`, cached. An unknown `kid` (a
/// key rotated in) triggers a refresh, at most once per [`JwksKeys::MIN_REFRESH`]; keys
/// older than [`JwksKeys::MAX_AGE`] are refreshed on use. A key already cached keeps
/// verifying while identity is down.
pub struct JwksKeys {
    client: ServiceClient,
    /// kid → key, and when they were fetched.
    cache: RwLock<(HashMap<String, VerifyingKey>, Option<Instant>)>,
    /// When a fetch was last tried; held across a fetch so concurrent misses make one request.
    attempt: tokio::sync::Mutex<Option<Instant>>,
}

impl JwksKeys {
    pub const MIN_REFRESH: Duration = Duration::from_secs(1);
    pub const MAX_AGE: Duration = Duration::from_secs(300);
    const PATH: &'static str = "/.well-known/jwks.json";

    /// Fetches through `identity`'s replicas.
    pub fn new(identity: Arc<Upstream>) -> Self {
        let policy = CallPolicy {
            timeout: Duration::from_secs(2),
            retries: 1,
            ..CallPolicy::default()
        };
        JwksKeys {
            client: ServiceClient::without_tokens(identity, policy),
            cache: RwLock::default(),
            attempt: tokio::sync::Mutex::new(None),
        }
    }

    /// Fetches from one base URL, e.g. `http://127.0.0.1:7000`.
    pub fn from_url(base_url: &str) -> Self {
        Self::new(Upstream::new("identity", vec![base_url.to_owned()]))
    }

    fn cached(&self, kid: &str) -> (Option<VerifyingKey>, bool) {
        let cache = self.cache.read().expect("jwks lock");
        let fresh = cache.1.is_some_and(|t| t.elapsed() < Self::MAX_AGE);
        (cache.0.get(kid).copied(), fresh)
    }

    async fn fetch(&self) -> Result<()> {
        let reply = self.client.send(Call::new(Method::GET, Self::PATH)).await?;
        let jwks: jwt::Jwks = reply.json(self.client.service())?;
        let keys = jwks
            .keys
            .iter()
            .filter_map(|k| Some((k.kid.clone(), k.verifying_key()?)))
            .collect();
        *self.cache.write().expect("jwks lock") = (keys, Some(Instant::now()));
        Ok(())
    }
}

#[async_trait]
impl KeySource for JwksKeys {
    async fn verifying_key(&self, kid: &str) -> Result<Option<VerifyingKey>> {
        if let (Some(key), true) = self.cached(kid) {
            return Ok(Some(key));
        }
        let mut attempt = self.attempt.lock().await;
        // Another request may have refreshed while this one waited.
        let (known, fresh) = self.cached(kid);
        if fresh && known.is_some() {
            return Ok(known);
        }
        if attempt.is_some_and(|t| t.elapsed() < Self::MIN_REFRESH) {
            return Ok(known);
        }
        *attempt = Some(Instant::now());
        match self.fetch().await {
            Ok(()) => Ok(self.cached(kid).0),
            Err(e) if known.is_some() => {
                tracing::warn!(error = %e, "JWKS refresh failed; verifying with the cached key");
                Ok(known)
            }
            Err(e) => Err(e),
        }
    }
}

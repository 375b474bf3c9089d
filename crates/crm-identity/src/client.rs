//! Identity over HTTP, for the other microservices:
//! - [`InternalTokens`]: the [`TokenSource`] every service's clients use, tokens issued by
//!   identity's internal route and cached per actor until shortly before they expire;
//! - [`RemoteApiKeys`]: the gateway's [`ApiKeyResolver`], cached briefly;
//! - [`IdentityClient`]: the [`IdentityApi`] over the public `/users` route.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use axum::http::Method;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crm_core::query::Page;
use crm_core::{Actor, Result, Role};
use crm_http::auth::ApiKeyResolver;
use crm_http::client::{Call, CallPolicy, ServiceClient, TokenSource, Upstream, with_query};

use crate::http::{
    INTERNAL_RESOLVE_KEY, INTERNAL_SECRET, INTERNAL_TOKENS, IssuedToken, ResolveKey, ResolvedKey,
    TokenRequest, UNKNOWN_KEY,
};
use crate::{IdentityApi, User, UserRef};

/// A token is fetched anew this long before it expires.
const TOKEN_MARGIN: Duration = Duration::from_secs(60);
/// How long a resolved API key is trusted (as in-process: a revocation takes this long).
const KEY_TTL: Duration = Duration::from_secs(30);
/// Entries kept before expired ones are dropped (and, if that is not enough, all).
const CACHE_CAPACITY: usize = 10_000;
/// As many users as the in-process query returns.
const MAX_USERS: usize = 1000;

/// A small expiring cache.
struct Cache<K, V>(Mutex<HashMap<K, (V, Instant)>>);

impl<K: std::hash::Hash + Eq, V: Clone> Cache<K, V> {
    fn new() -> Self {
        Cache(Mutex::new(HashMap::new()))
    }

    fn get(&self, k: &K) -> Option<V> {
        let map = self.0.lock().expect("cache lock");
        map.get(k)
            .filter(|(_, until)| Instant::now() < *until)
            .map(|(v, _)| v.clone())
    }

    fn put(&self, k: K, v: V, until: Instant) {
        let mut map = self.0.lock().expect("cache lock");
        if map.len() >= CACHE_CAPACITY {
            let now = Instant::now();
            map.retain(|_, (_, t)| *t > now);
            if map.len() >= CACHE_CAPACITY {
                map.clear();
            }
        }
        map.insert(k, (v, until));
    }
}

/// Calls to identity's internal routes: no bearer token, the shared secret instead.
/// Repeating them changes nothing, so they are retried.
async fn internal<B: serde::Serialize, T: serde::de::DeserializeOwned>(
    http: &ServiceClient,
    secret: &str,
    path: &str,
    body: &B,
) -> Result<T> {
    let call = Call::new(Method::POST, path)
        .json(body)?
        .header(INTERNAL_SECRET, secret)?
        .idempotent();
    http.send(call).await?.json(http.service())
}

/// Tokens for any actor, issued by identity (`POST /internal/v1/tokens`).
pub struct InternalTokens {
    http: ServiceClient,
    secret: String,
    cache: Cache<(Uuid, Uuid, Role), String>,
}

impl InternalTokens {
    pub fn new(identity: Arc<Upstream>, secret: String) -> Self {
        InternalTokens {
            http: ServiceClient::without_tokens(identity, CallPolicy::default()),
            secret,
            cache: Cache::new(),
        }
    }
}

#[async_trait]
impl TokenSource for InternalTokens {
    async fn token(&self, actor: &Actor) -> Result<String> {
        let key = (actor.tenant_id, actor.user_id, actor.role);
        if let Some(t) = self.cache.get(&key) {
            return Ok(t);
        }
        let req = TokenRequest {
            tenant_id: actor.tenant_id,
            user_id: actor.user_id,
            role: actor.role,
        };
        let issued: IssuedToken = internal(&self.http, &self.secret, INTERNAL_TOKENS, &req).await?;
        let life = Duration::from_secs(issued.expires_in.max(0) as u64);
        // Short-lived tokens are kept for half their life rather than not at all.
        let keep = life.checked_sub(TOKEN_MARGIN).unwrap_or(life / 2);
        self.cache
            .put(key, issued.access_token.clone(), Instant::now() + keep);
        Ok(issued.access_token)
    }
}

/// API keys resolved by identity (`POST /internal/v1/api-keys/resolve`); only their hashes
/// are kept.
pub struct RemoteApiKeys {
    http: ServiceClient,
    secret: String,
    cache: Cache<Vec<u8>, (Actor, Uuid)>,
    ttl: Duration,
}

impl RemoteApiKeys {
    pub fn new(identity: Arc<Upstream>, secret: String) -> Self {
        RemoteApiKeys {
            http: ServiceClient::without_tokens(identity, CallPolicy::default()),
            secret,
            cache: Cache::new(),
            ttl: KEY_TTL,
        }
    }

    /// How long a resolved key is trusted without asking identity again; zero asks every
    /// time, so a revocation takes effect at once (what the monolith does in-process).
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }
}

#[async_trait]
impl ApiKeyResolver for RemoteApiKeys {
    async fn resolve(&self, key: &str) -> Result<Option<(Actor, Uuid)>> {
        let hash = Sha256::digest(key.as_bytes()).to_vec();
        if let Some(hit) = self.cache.get(&hash) {
            return Ok(Some(hit));
        }
        let req = ResolveKey {
            key: key.to_owned(),
        };
        match internal::<_, ResolvedKey>(&self.http, &self.secret, INTERNAL_RESOLVE_KEY, &req).await
        {
            Ok(r) => {
                let hit = (Actor::new(r.tenant_id, r.user_id, r.role), r.api_key_id);
                if !self.ttl.is_zero() {
                    self.cache.put(hash, hit.clone(), Instant::now() + self.ttl);
                }
                Ok(Some(hit))
            }
            // Only an unknown key is "no one"; a refused secret (also 401) is a deployment
            // error and must not read as a bad key.
            Err(e)
                if e.status().as_u16() == 401
                    && e.problem().detail.as_deref() == Some(UNKNOWN_KEY) =>
            {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }
}

/// The [`IdentityApi`] through the identity service.
#[derive(Clone)]
pub struct IdentityClient {
    http: ServiceClient,
}

impl IdentityClient {
    pub fn new(http: ServiceClient) -> Self {
        IdentityClient { http }
    }
}

#[async_trait]
impl crm_core::refs::Lookup for IdentityClient {
    async fn live(&self, actor: &Actor, object: &str, ids: &[Uuid]) -> Result<Vec<Uuid>> {
        crm_http::refs::live(&self.http, crate::CONTEXT, actor, object, ids).await
    }
}

#[async_trait]
impl IdentityApi for IdentityClient {
    async fn users_with_role(&self, actor: &Actor, role: Role) -> Result<Vec<UserRef>> {
        let filter = format!("and(role[eq]:\"{role}\",active[eq]:true)");
        let mut users = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let path = with_query(
                "/api/v1/users",
                &[
                    ("filter", Some(filter.clone())),
                    ("order_by", Some("created_at[asc]".into())),
                    ("limit", Some(crm_core::query::MAX_LIMIT.to_string())),
                    ("starting_after", after.take()),
                ],
            );
            let page: Page<User> = self.http.get(actor, &path).await?;
            users.extend(page.data.into_iter().map(|u| UserRef {
                id: u.meta.id,
                name: u.name,
                email: u.email,
                role: u.role,
            }));
            match page.page.next_cursor {
                Some(c) if page.page.has_more && users.len() < MAX_USERS => after = Some(c),
                _ => break,
            }
        }
        users.truncate(MAX_USERS);
        Ok(users)
    }
}

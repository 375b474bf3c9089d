//! Service-to-service HTTP: the microservices' implementations of the context traits call
//! each other through a [`ServiceClient`].
//!
//! On every call edge: a per-attempt timeout, retries with jittered exponential backoff for
//! idempotent calls only (GET, DELETE, and writes carrying an `Idempotency-Key`), a circuit
//! breaker, and a concurrency limit. Each hop carries the caller's identity (a bearer token
//! from a [`TokenSource`]), the request id and a W3C `traceparent` (see [`crate::context`]).
//! Problem answers come back as [`crm_core::Error::Remote`], status and body unchanged, so a
//! caller can pass them on.
//!
//! # Layout
//! - [`upstream`]: [`Upstream`], a named service's replicas: least-outstanding balancing,
//!   health checks; shared with the gateway's raw proxy.
//! - [`call`]: [`Call`], one request to send, and [`Reply`], a successful answer.
//! - [`service`]: [`ServiceClient`] and its [`CallPolicy`].
//! - [`breaker`]: [`BreakerSettings`] and the [`FreshBreaker`] built from them, shared with
//!   the gateway's raw proxy.

pub mod breaker;
pub mod call;
pub mod service;
pub mod upstream;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crm_core::{Actor, Result};

use crate::jwt::{Claims, Signer};

pub use breaker::{Breaker, BreakerSettings, FreshBreaker};
pub use call::{Call, Reply};
pub use service::{CallPolicy, ServiceClient};
pub use upstream::{ReplicaGuard, ReplicaStatus, Upstream};

/// The bearer token a client sends on behalf of an actor.
#[async_trait]
pub trait TokenSource: Send + Sync {
    async fn token(&self, actor: &Actor) -> Result<String>;
}

/// Signs tokens itself: for a process that holds a signing key (identity, tests).
pub struct SignerTokens {
    signer: Signer,
    ttl_secs: i64,
}

impl SignerTokens {
    /// Tokens valid for five minutes.
    pub fn new(signer: Signer) -> Self {
        SignerTokens {
            signer,
            ttl_secs: 300,
        }
    }
}

#[async_trait]
impl TokenSource for SignerTokens {
    async fn token(&self, actor: &Actor) -> Result<String> {
        Ok(self.signer.sign(&Claims::new(actor, self.ttl_secs)))
    }
}

/// A `{data: [...]}` body (internal routes answer lists this way).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DataList<T> {
    pub data: Vec<T>,
}

/// The query of the internal search routes, `GET /internal/v1/search/{context}`: the
/// contexts serve it, their clients send it.
#[derive(Clone, Debug, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchParams {
    pub q: Option<String>,
    /// Comma-separated record types; none means all.
    pub types: Option<String>,
    pub limit: Option<i64>,
}

impl SearchParams {
    /// Results per context when the caller names no limit.
    pub const DEFAULT_LIMIT: i64 = 20;

    /// The path and query asking `context` for `q`.
    pub fn path(context: &str, q: &str, types: &[String], limit: i64) -> String {
        with_query(
            &format!("/internal/v1/search/{context}"),
            &[
                ("q", Some(q.to_owned())),
                ("types", (!types.is_empty()).then(|| types.join(","))),
                ("limit", Some(limit.to_string())),
            ],
        )
    }

    pub fn q(&self) -> &str {
        self.q.as_deref().unwrap_or("")
    }

    pub fn types(&self) -> Vec<String> {
        self.types
            .as_deref()
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect()
    }

    pub fn limit(&self) -> i64 {
        self.limit.unwrap_or(Self::DEFAULT_LIMIT)
    }
}

/// An Idempotency-Key for one step of an operation keyed `key`, e.g. the PATCH at version 3
/// of a fill: `derive_key(key, "v3")`. Stable across retries of the whole operation, distinct
/// per step, and within the server's 255 visible ASCII characters.
pub fn derive_key(key: &str, step: &str) -> String {
    let derived = format!("{key}.{step}");
    if derived.len() <= crm_core::idempotency::MAX_KEY_LEN
        && derived.bytes().all(|b| b.is_ascii_graphic())
    {
        derived
    } else {
        format!("{}.{step}", hex::encode(Sha256::digest(key.as_bytes())))
    }
}

/// `path?query` with the pairs form-encoded (`None` values left out).
pub fn with_query(path: &str, pairs: &[(&str, Option<String>)]) -> String {
    let present: Vec<(&str, &str)> = pairs
        .iter()
        .filter_map(|(k, v)| v.as_deref().map(|v| (*k, v)))
        .collect();
    if present.is_empty() {
        return path.to_owned();
    }
    let query = serde_urlencoded::to_string(present).expect("string pairs always encode");
    format!("{path}?{query}")
}

/// Whether `e` says "no such record" (in-process or answered by another service).
pub fn is_not_found(e: &crm_core::Error) -> bool {
    e.status() == http::StatusCode::NOT_FOUND
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_keys_are_stable_distinct_and_bounded() {
        assert_eq!(derive_key("k1", "v3"), "k1.v3");
        assert_ne!(derive_key("k1", "v3"), derive_key("k1", "v4"));
        let long = "x".repeat(300);
        let d = derive_key(&long, "v1");
        assert!(d.len() <= 255 && d.ends_with(".v1"));
        assert_eq!(d, derive_key(&long, "v1"));
    }

    #[test]
    fn queries_are_encoded() {
        assert_eq!(
            with_query(
                "/x",
                &[("filter", Some("a[eq]:\"b c\"".into())), ("n", None)]
            ),
            "/x?filter=a%5Beq%5D%3A%22b+c%22"
        );
        assert_eq!(with_query("/x", &[("n", None)]), "/x");
    }
}

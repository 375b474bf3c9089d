//! Per-tenant and per-API-key rate limits (token buckets) with `RateLimit-*` headers.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::HeaderValue;
use uuid::Uuid;

use crm_core::{Actor, Error};

use crate::auth::ApiKeyId;
use crate::error::ApiError;

/// A sustained rate with a burst allowance.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Quota {
    pub per_second: f64,
    pub burst: f64,
}

#[derive(Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

#[derive(Clone, Copy, Hash, PartialEq, Eq)]
enum Key {
    Tenant(Uuid),
    ApiKey(Uuid),
}

/// The limiter: `None` quotas disable that limit.
#[derive(Clone)]
pub struct RateLimiter {
    tenant: Option<Quota>,
    api_key: Option<Quota>,
    buckets: Arc<Mutex<HashMap<Key, Bucket>>>,
}

struct Verdict {
    allowed: bool,
    limit: f64,
    remaining: f64,
    reset_secs: u64,
    retry_after_secs: u64,
}

impl RateLimiter {
    pub fn new(tenant: Option<Quota>, api_key: Option<Quota>) -> Self {
        RateLimiter {
            tenant,
            api_key,
            buckets: Arc::default(),
        }
    }

    fn take(&self, key: Key, q: Quota, now: Instant) -> Verdict {
        let mut map = self.buckets.lock().expect("rate limiter lock");
        if map.len() > 100_000 {
            map.retain(|_, b| now.duration_since(b.at).as_secs() < 60);
        }
        let b = map.entry(key).or_insert(Bucket {
            tokens: q.burst,
            at: now,
        });
        b.tokens = (b.tokens + now.duration_since(b.at).as_secs_f64() * q.per_second).min(q.burst);
        b.at = now;
        let allowed = b.tokens >= 1.0;
        if allowed {
            b.tokens -= 1.0;
        }
        Verdict {
            allowed,
            limit: q.burst,
            remaining: b.tokens.floor().max(0.0),
            reset_secs: ((q.burst - b.tokens) / q.per_second).ceil().max(0.0) as u64,
            retry_after_secs: ((1.0 - b.tokens) / q.per_second).ceil().max(1.0) as u64,
        }
    }
}

/// Middleware: runs after authentication; anonymous requests are not limited here.
pub async fn limit(State(rl): State<RateLimiter>, req: Request, next: Next) -> Response {
    let Some(actor) = req.extensions().get::<Actor>() else {
        return next.run(req).await;
    };
    let now = Instant::now();
    let mut verdicts = Vec::new();
    if let Some(q) = rl.tenant {
        verdicts.push(rl.take(Key::Tenant(actor.tenant_id), q, now));
    }
    if let (Some(q), Some(ApiKeyId(id))) = (rl.api_key, req.extensions().get::<ApiKeyId>()) {
        verdicts.push(rl.take(Key::ApiKey(*id), q, now));
    }
    // The tightest limit is the one to report.
    let Some(tightest) = verdicts.into_iter().min_by(|a, b| {
        (a.allowed, a.remaining)
            .partial_cmp(&(b.allowed, b.remaining))
            .unwrap_or(std::cmp::Ordering::Equal)
    }) else {
        return next.run(req).await;
    };
    let mut res = if tightest.allowed {
        next.run(req).await
    } else {
        ApiError(Error::RateLimited {
            retry_after_secs: tightest.retry_after_secs,
        })
        .into_response()
    };
    let h = res.headers_mut();
    h.insert("ratelimit-limit", HeaderValue::from(tightest.limit as u64));
    h.insert(
        "ratelimit-remaining",
        HeaderValue::from(tightest.remaining as u64),
    );
    h.insert("ratelimit-reset", HeaderValue::from(tightest.reset_secs));
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_allows_its_burst_then_refills() {
        let rl = RateLimiter::new(
            Some(Quota {
                per_second: 10.0,
                burst: 3.0,
            }),
            None,
        );
        let k = Key::Tenant(Uuid::nil());
        let q = rl.tenant.unwrap();
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(rl.take(k, q, t0).allowed);
        }
        let denied = rl.take(k, q, t0);
        assert!(!denied.allowed);
        assert_eq!(denied.retry_after_secs, 1);
        assert!(
            rl.take(k, q, t0 + std::time::Duration::from_millis(150))
                .allowed
        );
    }
}

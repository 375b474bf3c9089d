//! [`ServiceClient`]: calls to one service with timeout, retries, breaker and a concurrency
//! limit.

use std::sync::Arc;
use std::time::Duration;

use backon::Retryable;
use http::{HeaderValue, Method, StatusCode, header};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::Semaphore;
use tokio::time::{Instant, timeout_at};

use crm_core::{Actor, Backoff, Error, Result};

use super::call::{self, Call, Reply};
use super::{Breaker, BreakerSettings, FreshBreaker, TokenSource, Upstream};
use crate::context::{self, RequestContext};
use crm_telemetry::names;
use tracing::Instrument;

/// A span covering nothing but waiting (`what`: a backoff, a queue) when tracing is on.
fn wait_span(what: &'static str) -> tracing::Span {
    if crm_telemetry::enabled() {
        let name = if what == names::WAIT_BACKOFF {
            names::SPAN_BACKOFF
        } else {
            names::SPAN_QUEUE
        };
        tracing::info_span!("wait", otel.name = name, crm.wait = what)
    } else {
        tracing::Span::none()
    }
}

/// How calls to one service behave.
#[derive(Clone, Debug)]
pub struct CallPolicy {
    /// Per attempt, waiting for a concurrency slot included.
    pub timeout: Duration,
    /// Extra attempts for idempotent calls.
    pub retries: usize,
    /// The pauses before retries: doubling per retry, jittered.
    pub backoff: Backoff,
    /// Calls in flight at once from this client.
    pub concurrency: usize,
    pub breaker: BreakerSettings,
}

impl Default for CallPolicy {
    fn default() -> Self {
        CallPolicy {
            timeout: Duration::from_secs(5),
            retries: 2,
            // Each pause up to twice its base, as backon's jitter had it.
            backoff: Backoff::new(Duration::from_millis(25), Duration::from_millis(500))
                .with_jitter(1.0, 2.0),
            concurrency: 256,
            breaker: BreakerSettings {
                consecutive_failures: 5,
                open_for: Duration::from_secs(1),
                max_open_for: Duration::from_secs(30),
            },
        }
    }
}

/// Why one attempt failed; decides whether another may follow.
#[derive(Debug)]
enum Failure {
    Open,
    Saturated,
    NoReplica,
    Connect(String),
    Transport(String),
    Timeout,
    Status(StatusCode, http::HeaderMap, bytes::Bytes),
}

impl Failure {
    /// Only failures that say nothing was (or could have been) done twice: no connection,
    /// no answer in time, a gateway-ish status from a replica that is going away, or the
    /// server still working on an earlier attempt with the same Idempotency-Key (after a
    /// timeout, the repeat arrives while the first is in flight).
    fn retryable(&self) -> bool {
        match self {
            Failure::Connect(_) | Failure::Timeout => true,
            Failure::Status(s, _, body) => {
                matches!(s.as_u16(), 502..=504)
                    || (*s == StatusCode::CONFLICT
                        && serde_json::from_slice::<crm_core::Problem>(body)
                            .is_ok_and(|p| p.code() == "idempotency-key-in-flight"))
            }
            _ => false,
        }
    }
}

struct Inner {
    upstream: Arc<Upstream>,
    tokens: Option<Arc<dyn TokenSource>>,
    policy: CallPolicy,
    http: reqwest::Client,
    breaker: FreshBreaker<Breaker>,
    slots: Semaphore,
}

/// Calls to one service; clones share the breaker and the concurrency limit.
#[derive(Clone)]
pub struct ServiceClient {
    inner: Arc<Inner>,
}

impl ServiceClient {
    pub fn new(upstream: Arc<Upstream>, tokens: Arc<dyn TokenSource>, policy: CallPolicy) -> Self {
        Self::build(upstream, Some(tokens), policy)
    }

    /// A client that sends no credentials (JWKS, the identity service's internal routes).
    pub fn without_tokens(upstream: Arc<Upstream>, policy: CallPolicy) -> Self {
        Self::build(upstream, None, policy)
    }

    fn build(
        upstream: Arc<Upstream>,
        tokens: Option<Arc<dyn TokenSource>>,
        policy: CallPolicy,
    ) -> Self {
        let breaker = policy.breaker.fresh(upstream.clone());
        let http = reqwest::Client::builder()
            .pool_idle_timeout(Duration::from_secs(30))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("an HTTP client without TLS always builds");
        ServiceClient {
            inner: Arc::new(Inner {
                slots: Semaphore::new(policy.concurrency.max(1)),
                upstream,
                tokens,
                policy,
                http,
                breaker,
            }),
        }
    }

    /// The service's name, as used in errors.
    pub fn service(&self) -> &str {
        self.inner.upstream.name()
    }

    pub fn upstream(&self) -> &Arc<Upstream> {
        &self.inner.upstream
    }

    pub fn policy(&self) -> &CallPolicy {
        &self.inner.policy
    }

    pub async fn get<T: DeserializeOwned>(&self, actor: &Actor, path_and_query: &str) -> Result<T> {
        let reply = self
            .send(Call::new(Method::GET, path_and_query).actor(actor))
            .await?;
        reply.json(self.service())
    }

    /// A POST; retried only when it carries an idempotency key.
    pub async fn post<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        actor: &Actor,
        path: &str,
        body: &B,
        idempotency_key: Option<&str>,
    ) -> Result<T> {
        let call = Call::new(Method::POST, path)
            .actor(actor)
            .json(body)?
            .idempotency_key(idempotency_key)?;
        self.send(call).await?.json(self.service())
    }

    /// A POST whose repeat is harmless (it only reads, like a duplicate check, or a repeat
    /// writes nothing new): retried without a key.
    pub async fn post_idempotent<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        actor: &Actor,
        path: &str,
        body: &B,
    ) -> Result<T> {
        let call = Call::new(Method::POST, path)
            .actor(actor)
            .json(body)?
            .idempotent();
        self.send(call).await?.json(self.service())
    }

    /// A PATCH with `If-Match: "<version>"`.
    pub async fn patch<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        actor: &Actor,
        path: &str,
        body: &B,
        if_match_version: i64,
        idempotency_key: Option<&str>,
    ) -> Result<T> {
        let call = Call::new(Method::PATCH, path)
            .actor(actor)
            .json(body)?
            .if_match(if_match_version)?
            .idempotency_key(idempotency_key)?;
        self.send(call).await?.json(self.service())
    }

    /// A DELETE; the answer's body is not needed.
    pub async fn delete(
        &self,
        actor: &Actor,
        path: &str,
        idempotency_key: Option<&str>,
    ) -> Result<()> {
        let call = Call::new(Method::DELETE, path)
            .actor(actor)
            .idempotency_key(idempotency_key)?;
        self.send(call).await.map(drop)
    }

    /// Sends `call`: a 2xx reply, or the error its answer (or its absence) stands for.
    pub async fn send(&self, call: Call<'_>) -> Result<Reply> {
        let inner = &self.inner;
        let token = match (call.actor, &inner.tokens) {
            (Some(actor), Some(tokens)) => Some(tokens.token(actor).await?),
            (Some(_), None) => {
                return Err(Error::internal(format!(
                    "the client of {} has no token source",
                    self.service()
                )));
            }
            (None, _) => None,
        };
        // Work that no request started (a resumed saga) still gets ids, so its hops correlate.
        let ctx = context::current().unwrap_or_else(RequestContext::fresh);
        let p = &inner.policy;
        let retries = if call.idempotent { p.retries } else { 0 };
        let backoff = p.backoff.delays().take(retries);
        let attempts = std::sync::atomic::AtomicU32::new(0);
        let attempt = || {
            let n = attempts.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            self.attempt(&call, token.as_deref(), &ctx, n)
        };
        let outcome = attempt
            .retry(backoff)
            .sleep(|d| {
                Instrument::instrument(tokio::time::sleep(d), wait_span(names::WAIT_BACKOFF))
            })
            .when(|f: &Failure| call.idempotent && f.retryable())
            .notify(|f: &Failure, after: Duration| {
                tracing::debug!(service = self.service(), failure = ?f, ?after, "retrying");
            })
            .await;
        outcome.map_err(|f| self.error(f))
    }

    async fn attempt(
        &self,
        call: &Call<'_>,
        token: Option<&str>,
        ctx: &RequestContext,
        number: u32,
    ) -> Result<Reply, Failure> {
        let inner = &self.inner;
        let breaker = inner.breaker.get();
        let permitted = breaker.is_call_permitted();
        // With tracing on, each attempt is a client span: the callee's server span is its
        // child, and the difference between the two is the wire.
        let span = if crm_telemetry::enabled() {
            tracing::info_span!(
                "call",
                otel.name = %format!("{} {}", call.method, self.service()),
                otel.kind = "client",
                peer.service = self.service(),
                crm.attempt = number,
                crm.breaker = if permitted { "closed" } else { "open" },
            )
        } else {
            tracing::Span::none()
        };
        if !permitted {
            return Err(Failure::Open);
        }
        let deadline = Instant::now() + inner.policy.timeout;
        // Waiting for a slot counts against the attempt's time: a saturated client answers
        // within its timeout like a slow service does.
        let slot = match inner.slots.try_acquire() {
            Ok(permit) => Ok(permit),
            Err(_) => Instrument::instrument(
                timeout_at(deadline, inner.slots.acquire()),
                wait_span(names::WAIT_QUEUE),
            )
            .await
            .map_err(|_| ())
            .and_then(|r| r.map_err(|_| ())),
        };
        let Ok(_slot) = slot else {
            return Err(Failure::Saturated);
        };
        Instrument::instrument(self.exchange(call, token, ctx, deadline, breaker), span).await
    }

    async fn exchange(
        &self,
        call: &Call<'_>,
        token: Option<&str>,
        ctx: &RequestContext,
        deadline: Instant,
        breaker: Breaker,
    ) -> Result<Reply, Failure> {
        let inner = &self.inner;
        let replica = inner.upstream.pick().ok_or(Failure::NoReplica)?;
        let mut headers = call.headers.clone();
        if let Some(t) = token
            && let Ok(v) = HeaderValue::from_str(&format!("Bearer {t}"))
        {
            headers.insert(header::AUTHORIZATION, v);
        }
        if let Ok(v) = HeaderValue::from_str(&ctx.request_id) {
            headers.insert(context::REQUEST_ID, v);
        }
        if let Ok(v) = HeaderValue::from_str(&ctx.traceparent()) {
            headers.insert(context::TRACEPARENT, v);
        }
        let mut req = inner
            .http
            .request(
                call.method.clone(),
                format!("{}{}", replica.url(), call.path),
            )
            .headers(headers);
        if let Some(body) = &call.body {
            req = req.body(body.clone());
        }
        let exchange = async {
            let res = req.send().await?;
            let (status, headers) = (res.status(), res.headers().clone());
            Ok::<_, reqwest::Error>((status, headers, res.bytes().await?))
        };
        let failure = match timeout_at(deadline, exchange).await {
            Ok(Ok((status, headers, body))) => {
                // 4xx are the caller's business; they say nothing about the service's health.
                if status.is_server_error() {
                    breaker.on_error();
                } else {
                    breaker.on_success();
                }
                replica.report(!matches!(status.as_u16(), 502..=504));
                if status.is_success() {
                    return Ok(Reply {
                        status,
                        headers,
                        body,
                    });
                }
                return Err(Failure::Status(status, headers, body));
            }
            Err(_) => Failure::Timeout,
            Ok(Err(e)) if e.is_timeout() => Failure::Timeout,
            Ok(Err(e)) if e.is_connect() => Failure::Connect(e.to_string()),
            Ok(Err(e)) => Failure::Transport(e.to_string()),
        };
        breaker.on_error();
        replica.report(false);
        Err(failure)
    }

    fn error(&self, f: Failure) -> Error {
        let s = self.service();
        let ms = self.inner.policy.timeout.as_millis();
        match f {
            Failure::Open => Error::Unavailable(format!("{s} is unavailable (circuit open)")),
            Failure::Saturated => Error::Unavailable(format!(
                "{s} is unavailable: all {} call slots stayed busy for {ms} ms",
                self.inner.policy.concurrency
            )),
            Failure::NoReplica => Error::Unavailable(format!("{s} is unavailable: no replicas")),
            Failure::Connect(e) | Failure::Transport(e) => {
                Error::Unavailable(format!("{s} is unavailable: {e}"))
            }
            Failure::Timeout => Error::Timeout(format!("{s} did not answer within {ms} ms")),
            Failure::Status(status, headers, body) => call::error_from(s, status, &headers, &body),
        }
    }
}

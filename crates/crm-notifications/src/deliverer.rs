//! The worker that sends due deliveries: signed POSTs, retries with exponential backoff,
//! and a lease so that a crashed worker's deliveries are sent again.
//!
//! A delivery is claimed by moving its `next_attempt_at` past the end of the request
//! (timeout + margin) in one committed statement; no row lock is held while the receiver is
//! called. The outcome is then recorded only if the delivery is still the one claimed (same
//! status and attempt count), so a worker that outlived its lease cannot overwrite a newer
//! result. A worker that dies mid-request leaves the delivery `pending`, due when the lease
//! ends: at-least-once, as receivers are told (deduplicate on `X-Crm-Delivery`).

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use sqlx::PgPool;
use tokio::sync::Notify;
use uuid::Uuid;

use crm_core::{Backoff, Error, Result};

use crate::delivery::{DEAD, FAILED, PENDING, SUCCEEDED};
use crate::signing;

/// `User-Agent` of every delivery.
pub const USER_AGENT: &str = "crm-bench-webhooks/1";
/// How much of an error message is kept in the log.
const MAX_ERROR_LEN: usize = 500;

/// How the deliverer paces itself.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The delays between attempts: doubling from the first to a cap, ±20% so that
    /// receivers that failed together are not retried together.
    pub backoff: Backoff,
    /// Attempts before a delivery is `dead` (the first send counts).
    pub max_attempts: u32,
    /// Per-request timeout, from connecting to the end of the response.
    pub timeout: Duration,
    /// Deliveries claimed (and sent concurrently) per round.
    pub batch: i64,
    /// How often to look for due retries when nothing wakes the worker.
    pub poll: Duration,
    /// Added to `timeout` for the claim's lease, so a slow round does not lose its claim.
    pub lease_margin: Duration,
}

impl Default for Settings {
    /// 8 attempts 30 s, 1 min, 2 min, ... apart (at most 1 h): about 1 h 4 min in all.
    fn default() -> Self {
        Settings {
            backoff: Backoff::new(Duration::from_secs(30), Duration::from_secs(3600))
                .with_jitter(0.8, 1.2),
            max_attempts: 8,
            timeout: Duration::from_secs(10),
            batch: 32,
            poll: Duration::from_millis(500),
            lease_margin: Duration::from_secs(30),
        }
    }
}

impl Settings {
    /// Millisecond delays and a short lease, for tests.
    pub fn for_tests() -> Self {
        Settings {
            backoff: Backoff {
                first: Duration::from_millis(10),
                max: Duration::from_millis(80),
                ..Settings::default().backoff
            },
            max_attempts: 8,
            timeout: Duration::from_secs(2),
            batch: 32,
            poll: Duration::from_millis(20),
            lease_margin: Duration::from_millis(300),
        }
    }

    /// How long a claim lasts.
    pub fn lease(&self) -> Duration {
        self.timeout + self.lease_margin
    }
}

/// A delivery claimed for one attempt.
#[derive(sqlx::FromRow)]
struct Claimed {
    id: Uuid,
    event: String,
    payload: serde_json::Value,
    attempts: i32,
    url: String,
    secret: String,
    live: bool,
    traceparent: Option<String>,
}

/// What one attempt came to.
struct Outcome {
    /// When the request started.
    at: chrono::DateTime<Utc>,
    status_code: Option<u16>,
    error: Option<String>,
    duration: Duration,
}

/// Sends due deliveries; run one per process (several are safe, they share the work).
pub struct Deliverer {
    pool: PgPool,
    settings: Settings,
    client: reqwest::Client,
    wake: Arc<Notify>,
}

impl Deliverer {
    /// `wake` is notified by the handler and the endpoints when deliveries are queued.
    pub fn new(pool: PgPool, settings: Settings, wake: Arc<Notify>) -> Result<Deliverer> {
        let client = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout)
            // A redirect would turn the signed POST into something else; a 3xx is a failure.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Error::internal(format!("webhook HTTP client: {e}")))?;
        Ok(Deliverer {
            pool,
            settings,
            client,
            wake,
        })
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Claims up to `batch` due deliveries, sends them concurrently and records each outcome.
    /// Returns how many were claimed.
    pub async fn run_once(&self) -> Result<usize> {
        let claimed: Vec<Claimed> = sqlx::query_as(
            "WITH due AS (
                 SELECT id FROM crm_notifications.deliveries
                 WHERE status = 'pending' AND next_attempt_at <= now()
                 ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED
             )
             UPDATE crm_notifications.deliveries d
             SET next_attempt_at = now() + make_interval(secs => $2)
             FROM due, crm_notifications.webhooks w
             WHERE d.id = due.id AND w.id = d.webhook_id
             RETURNING d.id, d.event, d.payload, d.attempts, w.url, w.secret,
                       w.active AND w.deleted_at IS NULL AS live, d.traceparent",
        )
        .bind(self.settings.batch)
        .bind(self.settings.lease().as_secs_f64())
        .fetch_all(&self.pool)
        .await?;
        let n = claimed.len();
        let results = futures::future::join_all(claimed.into_iter().map(|c| self.deliver(c))).await;
        results.into_iter().collect::<Result<Vec<()>>>()?;
        Ok(n)
    }

    async fn deliver(&self, c: Claimed) -> Result<()> {
        if !c.live {
            // Deactivated or deleted since the event was queued: give up; it can be redelivered
            // once the webhook is active again.
            sqlx::query(
                "UPDATE crm_notifications.deliveries
                 SET status = $3, next_attempt_at = NULL, last_error = 'the webhook is inactive or deleted'
                 WHERE id = $1 AND status = $4 AND attempts = $2",
            )
            .bind(c.id)
            .bind(c.attempts)
            .bind(FAILED)
            .bind(PENDING)
            .execute(&self.pool)
            .await?;
            return Ok(());
        }
        // A traced delivery is a client span in its event's trace; its traceparent goes to
        // the receiver.
        let parent = c
            .traceparent
            .as_deref()
            .and_then(crm_telemetry::Traceparent::parse)
            .filter(|t| t.sampled && crm_telemetry::enabled());
        let span = match parent {
            Some(parent) => {
                let span = tracing::info_span!(
                    "deliver",
                    otel.name = %format!("deliver {}", c.event),
                    otel.kind = "client",
                    peer.service = "webhook",
                    crm.attempt = c.attempts + 1,
                );
                crm_telemetry::propagate::set_parent(&span, Some(parent));
                span
            }
            None => tracing::Span::none(),
        };
        let traceparent = crm_telemetry::propagate::of_span(&span);
        let outcome = tracing::Instrument::instrument(self.send(&c, traceparent), span).await;
        self.record(&c, outcome).await
    }

    async fn send(&self, c: &Claimed, traceparent: Option<crm_telemetry::Traceparent>) -> Outcome {
        let started = Instant::now();
        let at = Utc::now();
        let body = match serde_json::to_vec(&c.payload) {
            Ok(b) => b,
            Err(e) => {
                return Outcome {
                    at,
                    status_code: None,
                    error: Some(format!("payload: {e}")),
                    duration: started.elapsed(),
                };
            }
        };
        let timestamp = at.timestamp().to_string();
        let signature = signing::sign(&c.secret, &timestamp, &body);
        let mut post = self.client.post(&c.url);
        if let Some(tp) = traceparent {
            post = post.header(crm_telemetry::propagate::TRACEPARENT, tp.format());
        }
        let sent = post
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("X-Crm-Event", &c.event)
            .header("X-Crm-Delivery", c.id.to_string())
            .header("X-Crm-Timestamp", &timestamp)
            .header("X-Crm-Signature", signature)
            .body(body)
            .send()
            .await;
        let (status_code, error) = match sent {
            Ok(res) if res.status().is_success() => (Some(res.status().as_u16()), None),
            Ok(res) => (
                Some(res.status().as_u16()),
                Some(format!("the receiver answered {}", res.status())),
            ),
            Err(e) if e.is_timeout() => (
                None,
                Some(format!("no answer within {:?}", self.settings.timeout)),
            ),
            Err(e) => (None, Some(error_chain(&e))),
        };
        Outcome {
            at,
            status_code,
            error,
            duration: started.elapsed(),
        }
    }

    /// Writes the attempt and the delivery's next state, if the claim is still ours.
    async fn record(&self, c: &Claimed, o: Outcome) -> Result<()> {
        let attempt = c.attempts + 1;
        let (status, retry_in) = if o.error.is_none() {
            (SUCCEEDED, None)
        } else if attempt as u32 >= self.settings.max_attempts {
            (DEAD, None)
        } else {
            let delay = self.settings.backoff.delay(attempt as u32);
            (PENDING, Some(delay.as_secs_f64()))
        };
        let status_code = o.status_code.map(i32::from);
        let mut tx = self.pool.begin().await?;
        let updated = sqlx::query(
            "UPDATE crm_notifications.deliveries
             SET status = $3, attempts = $2 + 1, last_status_code = $4, last_error = $5,
                 next_attempt_at = now() + make_interval(secs => $6),
                 delivered_at = CASE WHEN $3 = 'succeeded' THEN now() ELSE delivered_at END
             WHERE id = $1 AND status = 'pending' AND attempts = $2",
        )
        .bind(c.id)
        .bind(c.attempts)
        .bind(status)
        .bind(status_code)
        .bind(&o.error)
        .bind(retry_in)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if updated == 0 {
            tracing::warn!(delivery_id = %c.id, "delivery changed while it was being sent (lease expired?); outcome dropped");
            return Ok(());
        }
        sqlx::query(
            "INSERT INTO crm_notifications.delivery_attempts (delivery_id, attempt, at, status_code, error, duration_ms)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(c.id)
        .bind(attempt)
        .bind(o.at)
        .bind(status_code)
        .bind(&o.error)
        .bind(i32::try_from(o.duration.as_millis()).unwrap_or(i32::MAX))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        if status != SUCCEEDED {
            tracing::info!(delivery_id = %c.id, attempt, status, error = o.error.as_deref().unwrap_or(""), "webhook delivery failed");
        }
        Ok(())
    }

    /// Runs until `shutdown` resolves: wakes when deliveries are queued or every `poll`,
    /// drains full batches without waiting, and backs off while the database fails. A round
    /// in progress is finished (it is bounded by the request timeout).
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut failures = 0u32;
        loop {
            let wait = match self.run_once().await {
                Ok(n) if n as i64 >= self.settings.batch => Duration::ZERO,
                Ok(_) => {
                    failures = 0;
                    self.settings.poll
                }
                Err(e) => {
                    tracing::warn!(error = %e, "webhook deliverer failed; retrying");
                    failures = failures.saturating_add(1);
                    Backoff::WORKER.delay(failures)
                }
            };
            if wait.is_zero() {
                continue;
            }
            tokio::select! {
                _ = &mut shutdown => return,
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }
}

/// An error with its causes ("error sending request: connection refused"), shortened.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        s.push_str(": ");
        s.push_str(&cause.to_string());
        source = cause.source();
    }
    if s.len() > MAX_ERROR_LEN {
        let mut end = MAX_ERROR_LEN;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_the_base_up_to_the_cap() {
        let b = Settings::default().backoff;
        let secs: Vec<u64> = (1..=9).map(|a| b.base(a).as_secs()).collect();
        assert_eq!(secs, [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]);
        assert_eq!(b.base(u32::MAX), b.max);
    }

    #[test]
    fn jitter_stays_within_twenty_percent() {
        let b = Settings::for_tests().backoff;
        for attempts in 1..=6 {
            let base = b.base(attempts).as_secs_f64();
            for _ in 0..200 {
                let d = b.delay(attempts).as_secs_f64();
                assert!(
                    d >= base * 0.8 - 1e-9 && d <= base * 1.2 + 1e-9,
                    "{d} vs {base}"
                );
            }
        }
    }

    #[test]
    fn error_chains_are_cut_at_a_char_boundary() {
        let e = std::io::Error::other("é".repeat(400));
        let s = error_chain(&e);
        assert!(s.len() <= MAX_ERROR_LEN);
    }
}

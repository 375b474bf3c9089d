//! The transactional outbox, its relay, and idempotent event handling.
//!
//! A change and its event commit together ([`append`] in the writer's transaction). The
//! [`Relay`] claims pending rows with `FOR UPDATE SKIP LOCKED`, hands them to a
//! [`Dispatcher`] (in-process handlers in the monolith, NATS JetStream in the microservices)
//! and marks them published in the same transaction, so a crash before the mark means a
//! redelivery, never a loss. Handlers record each event id in `processed_events` inside
//! their own transaction ([`apply`]), so a redelivery changes nothing.

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use async_trait::async_trait;
use crm_telemetry::Traceparent;
use sqlx::{PgConnection, PgPool};
use tokio::sync::Notify;
use tracing::{Instrument, Span};

use crate::backoff::Backoff;
use crate::error::{Error, Result};
use crate::event::EventEnvelope;

static SIGNAL: LazyLock<Notify> = LazyLock::new(Notify::new);

/// Wakes the relay of this process (called after a commit that may have written events).
pub fn signal() {
    SIGNAL.notify_one();
}

/// Writes an event to the outbox in the caller's transaction, with the `traceparent` of the
/// current span when tracing is on and the request is sampled.
pub async fn append(conn: &mut PgConnection, e: &EventEnvelope) -> Result<()> {
    debug_assert!(
        crate::event::is_emitted(&e.event),
        "{} is missing from crm_core::event's catalogue (webhooks could not subscribe to it)",
        e.event
    );
    let traceparent = crm_telemetry::propagate::current()
        .filter(|t| t.sampled)
        .map(|t| t.format());
    sqlx::query(
        // A keyed request run again repeats its event ids; the first copy stands.
        "INSERT INTO crm_core.outbox (event_id, tenant_id, event, payload, traceparent)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (event_id) DO NOTHING",
    )
    .bind(e.event_id)
    .bind(e.tenant_id)
    .bind(&e.event)
    .bind(sqlx::types::Json(e))
    .bind(traceparent)
    .execute(conn)
    .await?;
    Ok(())
}

/// Number of events not yet published (a metric: the relay's backlog).
pub async fn pending(pool: &PgPool) -> Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT count(*) FROM crm_core.outbox WHERE published_at IS NULL")
            .fetch_one(pool)
            .await?,
    )
}

/// Delivers a batch of events onward; returns only once they are safely handed over.
#[async_trait]
pub trait Dispatcher: Send + Sync {
    async fn dispatch(&self, events: &[EventEnvelope]) -> Result<()>;
}

type OutboxRow = (
    i64,
    sqlx::types::Json<EventEnvelope>,
    Option<String>,
    chrono::DateTime<chrono::Utc>,
);

fn micros_since(t: chrono::DateTime<chrono::Utc>) -> i64 {
    (chrono::Utc::now() - t)
        .num_microseconds()
        .unwrap_or(i64::MAX)
        .max(0)
}

/// The relay's span for one event of a sampled trace (tracing on), with how long the event
/// waited in the outbox.
fn relay_span(e: &EventEnvelope, created_at: chrono::DateTime<chrono::Utc>) -> Option<Span> {
    let parent = e.trace.filter(|t| t.sampled && crm_telemetry::enabled())?;
    let span = tracing::info_span!(
        "relay",
        otel.name = %format!("relay {}", e.event),
        // It hands the event on after the writer's response: off the response path.
        otel.kind = "producer",
        crm.outbox_wait_us = micros_since(created_at),
    );
    crm_telemetry::propagate::set_parent(&span, Some(parent));
    Some(span)
}

/// The span of `consumer` applying `event`, continuing the event's trace (tracing on, sampled
/// writer), with the consumer's lag: from the event's commit to the start of its handling.
pub fn consume_span(consumer: &str, event: &EventEnvelope) -> Span {
    match event.trace {
        Some(parent) if parent.sampled && crm_telemetry::enabled() => {
            let span = tracing::info_span!(
                "consume",
                otel.name = %format!("consume {consumer} {}", event.event),
                otel.kind = "consumer",
                crm.lag_us = micros_since(event.occurred_at),
                event_id = %event.event_id,
            );
            crm_telemetry::propagate::set_parent(&span, Some(parent));
            span
        }
        _ => Span::none(),
    }
}

/// Moves events from the outbox to a [`Dispatcher`].
pub struct Relay {
    pool: PgPool,
    dispatcher: Arc<dyn Dispatcher>,
    batch: i64,
    poll: Duration,
    /// Published rows older than this are deleted.
    retention: Duration,
}

impl Relay {
    pub fn new(pool: PgPool, dispatcher: Arc<dyn Dispatcher>) -> Self {
        Relay {
            pool,
            dispatcher,
            batch: 200,
            poll: Duration::from_millis(250),
            retention: Duration::from_secs(3600),
        }
    }

    /// Publishes one batch; returns how many events it moved.
    pub async fn run_once(&self) -> Result<usize> {
        let mut tx = self.pool.begin().await?;
        let rows: Vec<OutboxRow> = sqlx::query_as(
            "SELECT seq, payload, traceparent, created_at FROM crm_core.outbox
             WHERE published_at IS NULL ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED",
        )
        .bind(self.batch)
        .fetch_all(&mut *tx)
        .await?;
        if rows.is_empty() {
            tx.commit().await?;
            return Ok(0);
        }
        let seqs: Vec<i64> = rows.iter().map(|r| r.0).collect();
        // Each traced event gets a relay span in its writer's trace, open until the batch is
        // marked published; what the dispatcher does with the event continues from it.
        let mut spans = Vec::new();
        let events: Vec<EventEnvelope> = rows
            .into_iter()
            .map(|(_, e, traceparent, created_at)| {
                let mut e = e.0;
                e.trace = traceparent.as_deref().and_then(Traceparent::parse);
                if let Some(span) = relay_span(&e, created_at) {
                    e.trace = crm_telemetry::propagate::of_span(&span);
                    spans.push(span);
                }
                e
            })
            .collect();
        self.dispatcher.dispatch(&events).await?;
        sqlx::query("UPDATE crm_core.outbox SET published_at = now() WHERE seq = ANY($1)")
            .bind(&seqs)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        drop(spans);
        Ok(seqs.len())
    }

    async fn purge(&self) -> Result<()> {
        sqlx::query(
            "DELETE FROM crm_core.outbox WHERE published_at < now() - make_interval(secs => $1)",
        )
        .bind(self.retention.as_secs_f64())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Runs until `shutdown` resolves: wakes on [`signal`] or every poll interval, backs off
    /// on errors, and drains full batches without waiting.
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut failures = 0u32;
        let mut last_purge = tokio::time::Instant::now();
        loop {
            let wait = match self.run_once().await {
                Ok(n) if n as i64 == self.batch => Duration::ZERO,
                Ok(_) => {
                    failures = 0;
                    self.poll
                }
                Err(e) => {
                    tracing::warn!(error = %e, "outbox relay failed; retrying");
                    failures = failures.saturating_add(1);
                    Backoff::WORKER.delay(failures)
                }
            };
            if last_purge.elapsed() > Duration::from_secs(60) {
                last_purge = tokio::time::Instant::now();
                if let Err(e) = self.purge().await {
                    tracing::warn!(error = %e, "outbox purge failed");
                }
            }
            if wait.is_zero() {
                continue;
            }
            tokio::select! {
                _ = &mut shutdown => return,
                _ = SIGNAL.notified() => {}
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }
}

/// Something that reacts to events (a projection, the timeline, webhooks).
#[async_trait]
pub trait EventHandler: Send + Sync {
    /// The consumer name under which processed event ids are recorded.
    fn name(&self) -> &'static str;

    fn wants(&self, event: &EventEnvelope) -> bool;

    /// Applies the event inside the handler's transaction.
    async fn handle(&self, conn: &mut PgConnection, event: &EventEnvelope) -> Result<()>;

    /// Runs after the handling transaction committed (e.g. to push to a live feed).
    fn after_commit(&self, _event: &EventEnvelope) {}
}

/// Applies `event` with `handler` exactly once: the processed id and the handler's writes
/// commit together. Returns `false` when the event had already been applied.
pub async fn apply(
    pool: &PgPool,
    handler: &dyn EventHandler,
    event: &EventEnvelope,
) -> Result<bool> {
    let mut tx = pool.begin().await?;
    let fresh = sqlx::query(
        "INSERT INTO crm_core.processed_events (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    )
    .bind(handler.name())
    .bind(event.event_id)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    if !fresh {
        return Ok(false);
    }
    handler
        .handle(&mut tx, event)
        .instrument(consume_span(handler.name(), event))
        .await?;
    crate::db::commit(tx).await?;
    handler.after_commit(event);
    Ok(true)
}

/// Applies `events` with `handler` in one transaction (one commit for the whole batch, which
/// is what keeps a busy relay ahead of the writers). Events already applied are skipped. If
/// anything fails the batch rolls back and each event is applied on its own instead, so one
/// bad event cannot hold the others back.
pub async fn apply_batch(
    pool: &PgPool,
    handler: &dyn EventHandler,
    events: &[&EventEnvelope],
) -> Result<()> {
    if events.is_empty() {
        return Ok(());
    }
    let attempt: Result<Vec<&EventEnvelope>> = async {
        let mut tx = pool.begin().await?;
        let ids: Vec<uuid::Uuid> = events.iter().map(|e| e.event_id).collect();
        let fresh: Vec<uuid::Uuid> = sqlx::query_scalar(
            "INSERT INTO crm_core.processed_events (consumer, event_id)
             SELECT $1, unnest($2::uuid[]) ON CONFLICT DO NOTHING RETURNING event_id",
        )
        .bind(handler.name())
        .bind(&ids)
        .fetch_all(&mut *tx)
        .await?;
        let mut applied = Vec::with_capacity(fresh.len());
        for e in events.iter().filter(|e| fresh.contains(&e.event_id)) {
            handler
                .handle(&mut tx, e)
                .instrument(consume_span(handler.name(), e))
                .await?;
            applied.push(*e);
        }
        crate::db::commit(tx).await?;
        Ok(applied)
    }
    .await;
    match attempt {
        Ok(applied) => {
            for e in applied {
                handler.after_commit(e);
            }
            Ok(())
        }
        Err(e @ Error::Unavailable(_)) => Err(e),
        Err(e) => {
            tracing::debug!(consumer = handler.name(), error = %e, "batch failed; applying one by one");
            for e in events {
                apply_or_park(pool, handler, e).await?;
            }
            Ok(())
        }
    }
}

/// Attempts at applying one event before it is parked, and the pauses after each failure.
const APPLY_ATTEMPTS: u32 = 3;
const APPLY_BACKOFF: Backoff = Backoff::new(Duration::from_millis(20), Duration::from_millis(80));

/// Applies with retries; an event that still fails for a reason other than an unavailable
/// database is parked in `dead_letters` so one bad event cannot stall every later one.
pub async fn apply_or_park(
    pool: &PgPool,
    handler: &dyn EventHandler,
    event: &EventEnvelope,
) -> Result<()> {
    let mut last = None;
    for attempt in 1..=APPLY_ATTEMPTS {
        match apply(pool, handler, event).await {
            Ok(_) => return Ok(()),
            Err(e @ Error::Unavailable(_)) => return Err(e),
            Err(e) => {
                tracing::warn!(consumer = handler.name(), event_id = %event.event_id, attempt, error = %e, "event handler failed");
                last = Some(e);
                tokio::time::sleep(APPLY_BACKOFF.delay(attempt)).await;
            }
        }
    }
    let error = last.map(|e| format!("{e:?}")).unwrap_or_default();
    tracing::error!(consumer = handler.name(), event_id = %event.event_id, %error, "event parked in dead_letters");
    sqlx::query(
        "INSERT INTO crm_core.dead_letters (consumer, event_id, payload, error) VALUES ($1, $2, $3, $4)
         ON CONFLICT (consumer, event_id) DO UPDATE SET error = EXCLUDED.error, failed_at = now()",
    )
    .bind(handler.name())
    .bind(event.event_id)
    .bind(sqlx::types::Json(event))
    .bind(error)
    .execute(pool)
    .await?;
    Ok(())
}

/// The monolith's dispatcher: runs in-process handlers, in order, on the same database.
pub struct LocalDispatcher {
    pool: PgPool,
    handlers: Vec<Arc<dyn EventHandler>>,
}

impl LocalDispatcher {
    pub fn new(pool: PgPool, handlers: Vec<Arc<dyn EventHandler>>) -> Self {
        LocalDispatcher { pool, handlers }
    }
}

#[async_trait]
impl Dispatcher for LocalDispatcher {
    /// Each handler takes the batch's events it wants, in outbox order, in one transaction.
    async fn dispatch(&self, events: &[EventEnvelope]) -> Result<()> {
        for h in &self.handlers {
            let wanted: Vec<&EventEnvelope> = events.iter().filter(|e| h.wants(e)).collect();
            apply_batch(&self.pool, h.as_ref(), &wanted).await?;
        }
        Ok(())
    }
}

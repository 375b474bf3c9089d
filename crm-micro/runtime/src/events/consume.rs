//! The subscribing side: a durable pull consumer that applies events exactly once.

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, AckKind, Message, consumer};
use crm_core::Backoff;
use crm_core::error::Result;
use crm_core::event::EventEnvelope;
use crm_core::outbox::{EventHandler, apply_batch};
use crm_http::metrics::Metrics;
use futures::TryStreamExt;
use sqlx::PgPool;

use super::{STREAM, SUBJECTS, ensure_stream, lag, unavailable};

/// Most messages applied in one transaction.
const BATCH: usize = 200;
/// How long a pull waits for the first message when the stream is idle. Short, so a lost
/// connection shows up quickly; an idle poll a second costs nothing.
const WAIT: Duration = Duration::from_secs(1);
/// Bound on a whole pull, in case the server's end-of-batch status never arrives.
const PULL_TIMEOUT: Duration = Duration::from_secs(15);
/// Redelivery of unacknowledged messages (a consumer that died mid-batch).
const ACK_WAIT: Duration = Duration::from_secs(30);
/// Messages delivered but not acknowledged, at most: a few batches.
const MAX_ACK_PENDING: i64 = 1_000;

/// Applies the events of the stream with a service's handlers, through a durable pull
/// consumer named after the service.
///
/// Each batch (up to 200 messages, in stream order) is decoded; every handler applies the
/// events it wants with [`apply_batch`] (exactly once through `crm_core.processed_events`);
/// then every message is acknowledged. A message that is not an envelope is logged and
/// terminated so it never blocks the stream. If applying fails (the database is down) the
/// batch is negatively acknowledged with a delay and the consumer pauses a little longer, so
/// the batch normally comes back before later events (projections still compare record
/// versions, as redelivery order is not a promise).
pub struct Consumer {
    name: String,
    handlers: Vec<Arc<dyn EventHandler>>,
    pool: PgPool,
    retry_delay: Duration,
}

enum Outcome {
    Applied,
    Retry,
}

impl Consumer {
    /// A consumer named `name` (the durable consumer's name: letters, digits, `-`, `_`).
    pub fn new(
        name: impl Into<String>,
        pool: PgPool,
        handlers: Vec<Arc<dyn EventHandler>>,
    ) -> Self {
        Consumer {
            name: name.into(),
            handlers,
            pool,
            retry_delay: Duration::from_secs(2),
        }
    }

    /// How long a batch that could not be applied waits before its redelivery (default 2 s).
    pub fn with_retry_delay(mut self, delay: Duration) -> Self {
        self.retry_delay = delay;
        self
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Registers a gauge `crm_consumer_lag_{name}` (`-` becomes `_`) refreshed at each scrape
    /// with [`lag`]. While NATS does not answer, the gauge keeps its last value.
    pub fn track_lag(&self, js: &jetstream::Context, metrics: &Metrics) {
        let metric = format!("consumer_lag_{}", self.name.replace('-', "_"));
        let help = format!("Events not yet acknowledged by consumer {}", self.name);
        let gauge = metrics.gauge(&metric, &help);
        let (js, name) = (js.clone(), self.name.clone());
        metrics.on_scrape(move || {
            let (js, name, gauge) = (js.clone(), name.clone(), gauge.clone());
            Box::pin(async move {
                match tokio::time::timeout(Duration::from_secs(1), lag(&js, &name)).await {
                    Ok(Ok(n)) => {
                        gauge.set(i64::try_from(n).unwrap_or(i64::MAX));
                    }
                    Ok(Err(e)) => tracing::debug!(consumer = %name, error = %e, "lag unknown"),
                    Err(_) => tracing::debug!(consumer = %name, "lag query timed out"),
                }
            })
        });
    }

    /// Creates (or finds) the stream and this durable consumer.
    async fn bind(&self, js: &jetstream::Context) -> Result<consumer::PullConsumer> {
        ensure_stream(js).await?;
        js.create_consumer_on_stream(
            consumer::pull::Config {
                durable_name: Some(self.name.clone()),
                description: Some(format!("{} applies CRM events", self.name)),
                filter_subject: SUBJECTS.to_owned(),
                deliver_policy: consumer::DeliverPolicy::All,
                ack_policy: consumer::AckPolicy::Explicit,
                ack_wait: ACK_WAIT,
                max_ack_pending: MAX_ACK_PENDING,
                ..Default::default()
            },
            STREAM,
        )
        .await
        .map_err(|e| unavailable("create consumer", e))
    }

    /// Runs until `shutdown` resolves. NATS errors (connection lost, server restarted) are
    /// logged and retried with a backoff; the durable consumer resumes where it was acked.
    pub async fn run(self, js: jetstream::Context, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        // Failures in a row, reset by every successful pull.
        let mut failures = 0u32;
        loop {
            let bound = tokio::select! {
                _ = shutdown.as_mut() => return,
                bound = self.bind(&js) => bound,
            };
            let failed = match bound {
                Ok(c) => match self.pump(&c, shutdown.as_mut(), &mut failures).await {
                    Ok(()) => return,
                    Err(e) => e,
                },
                Err(e) => e,
            };
            failures = failures.saturating_add(1);
            let backoff = Backoff::WORKER.delay(failures);
            tracing::warn!(consumer = %self.name, error = %failed, ?backoff, "event consumer failed; retrying");
            tokio::select! {
                _ = shutdown.as_mut() => return,
                _ = tokio::time::sleep(backoff) => {}
            }
        }
    }

    /// Pulls and applies batches until `shutdown` (→ `Ok`) or a NATS error (→ `Err`).
    async fn pump<F: Future<Output = ()>>(
        &self,
        c: &consumer::PullConsumer,
        mut shutdown: Pin<&mut F>,
        failures: &mut u32,
    ) -> Result<()> {
        loop {
            let msgs = tokio::select! {
                _ = shutdown.as_mut() => return Ok(()),
                msgs = next_batch(c) => msgs?,
            };
            *failures = 0;
            if msgs.is_empty() {
                continue;
            }
            // A started batch finishes even if shutdown comes meanwhile: its transaction
            // and acks are short, and an interrupted one would only be redelivered.
            if let Outcome::Retry = self.process(msgs).await {
                tokio::select! {
                    _ = shutdown.as_mut() => return Ok(()),
                    _ = tokio::time::sleep(self.retry_delay + self.retry_delay / 4) => {}
                }
            }
        }
    }

    async fn process(&self, msgs: Vec<Message>) -> Outcome {
        let mut events = Vec::with_capacity(msgs.len());
        let mut decoded = Vec::with_capacity(msgs.len());
        for m in msgs {
            match serde_json::from_slice::<EventEnvelope>(&m.payload) {
                Ok(mut e) => {
                    e.trace = m
                        .headers
                        .as_ref()
                        .and_then(|h| h.get(crm_telemetry::propagate::TRACEPARENT))
                        .and_then(|v| crm_telemetry::Traceparent::parse(v.as_str()));
                    events.push(e);
                    decoded.push(m);
                }
                Err(e) => {
                    tracing::warn!(consumer = %self.name, subject = %m.subject, error = %e, "not an event envelope; dropping it");
                    self.ack(&m, AckKind::Term).await;
                }
            }
        }
        for h in &self.handlers {
            let wanted: Vec<&EventEnvelope> = events.iter().filter(|e| h.wants(e)).collect();
            if let Err(e) = apply_batch(&self.pool, h.as_ref(), &wanted).await {
                tracing::warn!(consumer = %self.name, handler = h.name(), error = %e, events = events.len(), "applying events failed; redelivering later");
                for m in &decoded {
                    self.ack(m, AckKind::Nak(Some(self.retry_delay))).await;
                }
                return Outcome::Retry;
            }
        }
        for m in &decoded {
            self.ack(m, AckKind::Ack).await;
        }
        Outcome::Applied
    }

    /// A lost ack only means a redelivery, which the processed ids make harmless.
    async fn ack(&self, m: &Message, kind: AckKind) {
        if let Err(e) = m.ack_with(kind).await {
            tracing::debug!(consumer = %self.name, error = %e, "ack failed; the message will be redelivered");
        }
    }
}

/// The next batch in stream order: a pull that waits up to [`WAIT`] for the first message
/// (so an idle consumer reacts at once), then a no-wait fetch of whatever else is there.
async fn next_batch(c: &consumer::PullConsumer) -> Result<Vec<Message>> {
    let pull = async {
        let mut msgs: Vec<Message> = c
            .batch()
            .max_messages(1)
            .expires(WAIT)
            .messages()
            .await?
            .try_collect()
            .await?;
        if !msgs.is_empty() {
            let more: Vec<Message> = c
                .fetch()
                .max_messages(BATCH - 1)
                .expires(WAIT)
                .messages()
                .await?
                .try_collect()
                .await?;
            msgs.extend(more);
        }
        Ok::<_, async_nats::Error>(msgs)
    };
    match tokio::time::timeout(PULL_TIMEOUT, pull).await {
        Ok(Ok(msgs)) => Ok(msgs),
        Ok(Err(e)) => Err(unavailable("pull", e)),
        Err(_) => Err(unavailable("pull", "timed out")),
    }
}

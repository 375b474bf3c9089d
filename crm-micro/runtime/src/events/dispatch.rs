//! The relay's side: publishing outbox batches to JetStream.

use async_nats::jetstream::{self, message::PublishMessage};
use async_trait::async_trait;
use crm_core::error::Result;
use crm_core::event::EventEnvelope;
use crm_core::outbox::Dispatcher;
use futures::future::join_all;
use tracing::{Instrument, Span};

use super::{subject, unavailable};

/// A [`Dispatcher`] that publishes to the [`STREAM`](super::STREAM).
///
/// Each event goes out with `Nats-Msg-Id: <event_id>` and the JSON envelope as payload. The
/// whole batch is sent before any acknowledgement is awaited (one round trip's latency per
/// batch, not per event), and `dispatch` returns `Ok` only when JetStream has acknowledged
/// every event, so the relay marks rows published only once they are stored. Any failure
/// (no connection, no stream, an ack timeout) is [`Unavailable`](crm_core::Error::Unavailable):
/// the relay keeps the rows and retries, and JetStream drops what it already has.
/// The span of publishing one event of a sampled trace; none otherwise.
fn publish_span(event: &EventEnvelope) -> Span {
    match event.trace {
        Some(parent) if parent.sampled && crm_telemetry::enabled() => {
            let span = tracing::info_span!(
                "publish",
                otel.name = %format!("publish {}", event.event),
                otel.kind = "producer",
                peer.service = "nats",
            );
            crm_telemetry::propagate::set_parent(&span, Some(parent));
            span
        }
        _ => Span::none(),
    }
}

#[derive(Clone)]
pub struct NatsDispatcher {
    js: jetstream::Context,
}

impl NatsDispatcher {
    /// Publishes through `js`; its timeout bounds the wait for acknowledgements.
    pub fn new(js: jetstream::Context) -> Self {
        NatsDispatcher { js }
    }
}

#[async_trait]
impl Dispatcher for NatsDispatcher {
    async fn dispatch(&self, events: &[EventEnvelope]) -> Result<()> {
        let mut acks = Vec::with_capacity(events.len());
        for event in events {
            let payload = serde_json::to_vec(event)?;
            let mut publish = PublishMessage::build()
                .payload(payload.into())
                .message_id(event.event_id.to_string());
            // A traced event is published in a producer span whose traceparent travels in
            // the message's headers to every consumer; untraced ones carry no extra header.
            let span = publish_span(event);
            if let Some(tp) = crm_telemetry::propagate::of_span(&span) {
                publish = publish.header(crm_telemetry::propagate::TRACEPARENT, tp.format());
            }
            let ack = self
                .js
                .send_publish(subject(event), publish)
                .instrument(span.clone())
                .await
                .map_err(|e| unavailable("publish", e))?;
            acks.push(ack.into_future().instrument(span));
        }
        let mut duplicates = 0usize;
        for ack in join_all(acks).await {
            let ack = ack.map_err(|e| unavailable("publish ack", e))?;
            duplicates += usize::from(ack.duplicate);
        }
        if duplicates > 0 {
            tracing::debug!(
                duplicates,
                "JetStream dropped events it already had (a re-publish)"
            );
        }
        Ok(())
    }
}

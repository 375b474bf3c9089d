//! Domain events over NATS JetStream.
//!
//! A service's outbox [`Relay`](crm_core::outbox::Relay) hands batches to a
//! [`NatsDispatcher`], which publishes each event to the [`STREAM`] under
//! `crm.events.{object}.{action}` with `Nats-Msg-Id` = event id and returns only once
//! JetStream acknowledged all of them; the relay then marks the rows published. A relay that
//! dies between the publish and the mark publishes again, and JetStream drops the copies
//! (duplicate window, [`DUPLICATE_WINDOW`]).
//!
//! Each service that reacts to events runs a [`Consumer`]: a durable pull consumer named after
//! the service that applies batches with [`apply_batch`](crm_core::outbox::apply_batch) (the
//! handler's writes and the processed event ids commit together) and acknowledges only after
//! the commit. Delivery is at-least-once; a redelivery finds its id in
//! `crm_core.processed_events` and changes nothing.
//!
//! # Layout
//! - this file: the stream, subjects, connecting, consumer lag.
//! - `dispatch`: [`NatsDispatcher`], the relay's side.
//! - `consume`: [`Consumer`], the subscribing side, and its lag gauge.

use std::time::Duration;

use async_nats::jetstream::{self, consumer::PullConsumer, stream};
use crm_core::error::{Error, Result};
use crm_core::event::EventEnvelope;

mod consume;
mod dispatch;

pub use consume::Consumer;
pub use dispatch::NatsDispatcher;

/// The one stream that holds every domain event.
pub const STREAM: &str = "CRM_EVENTS";

/// The stream's subjects; an event travels under `crm.events.{object}.{action}`.
pub const SUBJECTS: &str = "crm.events.>";

/// How long JetStream remembers a `Nats-Msg-Id`: a republished event within this window is
/// dropped. It bounds how long a relay may be down between publishing and marking.
pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(10 * 60);

/// How long events stay in the stream (consumers that were down longer lose them; a
/// benchmark run is far shorter).
pub const MAX_AGE: Duration = Duration::from_secs(24 * 3600);

/// Bound on every JetStream request and publish acknowledgement made through [`connect`].
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// The subject of an event: `crm.events.` + `EventEnvelope.event` (`{object}.{action}`).
/// Characters a subject cannot carry (whitespace, wildcards) become `_`.
pub fn subject(event: &EventEnvelope) -> String {
    let name: String = event
        .event
        .chars()
        .map(|c| match c {
            '*' | '>' => '_',
            c if c.is_whitespace() => '_',
            c => c,
        })
        .collect();
    format!("crm.events.{name}")
}

/// A NATS error as a domain error: the event bus is a dependency that can be unavailable.
pub(crate) fn unavailable(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Unavailable(format!("nats {what}: {e}"))
}

/// Connects to NATS as `name` (shown in the server's connection list) and returns a
/// JetStream context whose requests and publish acks time out after [`REQUEST_TIMEOUT`].
/// The client reconnects on its own when the connection drops.
pub async fn connect(url: &str, name: &str) -> Result<jetstream::Context> {
    let client = async_nats::ConnectOptions::new()
        .name(name)
        .connect(url)
        .await
        .map_err(|e| unavailable("connect", e))?;
    Ok(jetstream::ContextBuilder::new()
        .timeout(REQUEST_TIMEOUT)
        .build(client))
}

/// Creates the [`STREAM`] if it does not exist, and keeps it as it is if it does. File
/// storage, limits retention (every consumer reads every event), a [`DUPLICATE_WINDOW`] for
/// `Nats-Msg-Id` and a [`MAX_AGE`].
pub async fn ensure_stream(js: &jetstream::Context) -> Result<()> {
    js.get_or_create_stream(stream::Config {
        name: STREAM.to_owned(),
        description: Some("CRM domain events, published from the services' outboxes".into()),
        subjects: vec![SUBJECTS.to_owned()],
        storage: stream::StorageType::File,
        retention: stream::RetentionPolicy::Limits,
        discard: stream::DiscardPolicy::Old,
        max_age: MAX_AGE,
        duplicate_window: DUPLICATE_WINDOW,
        ..Default::default()
    })
    .await
    .map_err(|e| unavailable("ensure stream", e))?;
    Ok(())
}

/// Events the durable consumer `consumer` has not yet acknowledged: those not yet delivered
/// (`num_pending`) plus those delivered and awaiting their ack (`num_ack_pending`).
pub async fn lag(js: &jetstream::Context, consumer: &str) -> Result<u64> {
    let c: PullConsumer = js
        .get_consumer_from_stream(consumer, STREAM)
        .await
        .map_err(|e| unavailable("consumer info", e))?;
    let info = c.cached_info();
    Ok(info.num_pending + info.num_ack_pending as u64)
}

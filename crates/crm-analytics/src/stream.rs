//! The live feed: `GET /analytics/stream`, server-sent events of the caller's tenant's events
//! as they are projected.
//!
//! The handler pushes every applied event into one process-wide broadcast channel after its
//! transaction committed, so a client that reacts to an event and then reads a figure sees
//! the figure already updated. Each subscriber filters its tenant out of that channel. A
//! subscriber that falls more than the channel's capacity behind is told how many events it
//! missed (`event: lagged`, counting every tenant's events, since the channel is shared)
//! rather than being disconnected, and should re-read the figures.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use chrono::{DateTime, Utc};
use futures::Stream;
use serde::Serialize;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;
use uuid::Uuid;

use crm_core::{Action, EventEnvelope, Object};
use crm_http::{ApiResult, Caller};

use crate::Analytics;

/// Events buffered per subscriber before it is told it lagged.
pub const FEED_CAPACITY: usize = 1024;

/// Comment lines keep proxies and load balancers from closing an idle stream.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// One projected event, as the feed carries it: enough to say what changed, never the
/// record itself (subscribers re-read the figures they show).
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct FeedEvent {
    #[serde(skip)]
    pub tenant_id: Uuid,
    pub event_id: Uuid,
    pub event: String,
    pub record_id: Uuid,
    pub occurred_at: DateTime<Utc>,
}

impl FeedEvent {
    pub fn of(e: &EventEnvelope) -> Self {
        FeedEvent {
            tenant_id: e.tenant_id,
            event_id: e.event_id,
            event: e.event.clone(),
            record_id: e.record_id,
            occurred_at: e.occurred_at,
        }
    }
}

fn sse_event(e: &FeedEvent) -> Event {
    Event::default()
        .event(&e.event)
        .json_data(e)
        // Serialising four plain fields cannot fail; a comment beats a dropped stream.
        .unwrap_or_else(|_| Event::default().comment("unserialisable event"))
}

/// `GET /analytics/stream`.
pub(crate) async fn stream(
    State(svc): State<Arc<Analytics>>,
    Caller(actor): Caller,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    actor.require(Action::Read, Object::Analytics)?;
    let tenant = actor.tenant_id;
    // Subscribed before the response leaves, so nothing applied after the client saw the
    // 200 can be missed.
    let events = BroadcastStream::new(svc.feed.subscribe()).filter_map(move |item| match item {
        Ok(e) if e.tenant_id == tenant => Some(Ok(sse_event(&e))),
        Ok(_) => None,
        Err(BroadcastStreamRecvError::Lagged(missed)) => Some(Ok(Event::default()
            .event("lagged")
            .data(format!("{{\"missed\":{missed}}}")))),
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)))
}

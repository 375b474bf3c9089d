//! The event handler that turns domain events into deliveries.

use std::sync::Arc;

use async_trait::async_trait;
use sqlx::PgConnection;
use tokio::sync::Notify;

use crm_core::outbox::EventHandler;
use crm_core::{EventEnvelope, Result};

use crate::delivery;

/// Queues a delivery of each event for every matching webhook of the event's tenant.
///
/// Run through [`crm_core::outbox::apply`] (the monolith's dispatcher, or a NATS consumer),
/// so an event is handled once; the unique `(webhook_id, event_id)` makes a repeated
/// handling harmless as well.
pub struct WebhookHandler {
    wake: Arc<Notify>,
}

impl WebhookHandler {
    /// `wake` is shared with the [`crate::Deliverer`], which sends new deliveries at once.
    pub fn new(wake: Arc<Notify>) -> Self {
        WebhookHandler { wake }
    }
}

#[async_trait]
impl EventHandler for WebhookHandler {
    fn name(&self) -> &'static str {
        "notifications.webhooks"
    }

    /// Any event may have subscribers (`*`); which ones is a database question.
    fn wants(&self, _event: &EventEnvelope) -> bool {
        true
    }

    async fn handle(&self, conn: &mut PgConnection, event: &EventEnvelope) -> Result<()> {
        delivery::enqueue_event(conn, event).await?;
        Ok(())
    }

    /// Only now are the new deliveries visible to the deliverer's connection.
    fn after_commit(&self, _event: &EventEnvelope) {
        self.wake.notify_one();
    }
}

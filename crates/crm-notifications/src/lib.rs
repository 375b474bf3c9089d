//! The notifications context: webhook subscriptions, HMAC-signed deliveries with retries
//! and exponential backoff, a delivery log and redelivery, in schema `crm_notifications`.
//!
//! Events reach webhooks in two steps. The [`WebhookHandler`] runs on every domain event (in
//! the monolith through the outbox relay, in the microservices through NATS) and queues one
//! `pending` delivery per matching webhook, in its own transaction. The [`Deliverer`] worker
//! then claims due deliveries, POSTs them signed, and records every attempt; failures are
//! retried with exponential backoff until they succeed or run out of attempts.
//!
//! # Layout
//! - [`webhook`]: the subscription record, its create/patch bodies and rules ([`Writer`]),
//!   secret rotation.
//! - [`matching`]: event patterns (`company.created`, `company.*`, `*`).
//! - [`signing`]: secrets, `X-Crm-Signature`, and [`verify_signature`] for receivers.
//! - [`delivery`]: deliveries and attempts, queueing, the log, redelivery.
//! - [`handler`]: the event handler that queues deliveries.
//! - [`deliverer`]: the sending worker, its [`Settings`] and backoff.
//! - [`http`]: the REST routes and their OpenAPI operations.
//!
//! [`Writer`]: crm_core::record::Writer

pub mod deliverer;
pub mod delivery;
pub mod handler;
pub mod http;
pub mod matching;
pub mod signing;
pub mod webhook;

use std::sync::Arc;

use sqlx::PgPool;
use tokio::sync::Notify;

use crm_core::Result;
use crm_core::migrate::Migration;

pub use deliverer::{Deliverer, Settings};
pub use delivery::{Attempt, Delivery, DeliveryDetail, WebhookPayload};
pub use handler::WebhookHandler;
pub use signing::verify_signature;
pub use webhook::{NewWebhook, Webhook, WebhookPatch};

pub const CONTEXT: &str = "notifications";

pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "webhooks and deliveries",
        sql: include_str!("../migrations/0001_notifications.sql"),
    },
    Migration {
        version: 2,
        name: "delivery traceparent",
        sql: include_str!("../migrations/0002_delivery_traceparent.sql"),
    },
];

/// The context over its PostgreSQL schema. The handler, the deliverer and the endpoints it
/// hands out share one wake-up signal, so a queued delivery is sent without waiting for a poll.
pub struct Notifications {
    pool: PgPool,
    wake: Arc<Notify>,
}

impl Notifications {
    pub fn new(pool: PgPool) -> Self {
        Notifications {
            pool,
            wake: Arc::new(Notify::new()),
        }
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    pub async fn migrate(pool: &PgPool) -> Result<()> {
        crm_core::migrate::run(pool, CONTEXT, MIGRATIONS).await
    }

    /// The event handler to register with the relay or the event consumer.
    pub fn handler(&self) -> WebhookHandler {
        WebhookHandler::new(self.wake.clone())
    }

    /// A deliverer over this context's pool; start it with [`Deliverer::run`].
    pub fn deliverer(&self, settings: Settings) -> Result<Deliverer> {
        Deliverer::new(self.pool.clone(), settings, self.wake.clone())
    }

    /// Wakes this process's deliverer (after a commit that queued deliveries).
    pub fn wake(&self) {
        self.wake.notify_one();
    }
}

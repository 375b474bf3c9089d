//! The analytics context: dashboards' figures from projections that are fed only by other
//! contexts' domain events, never by reading their tables, in schema `crm_analytics`.
//!
//! Because the projections see nothing but events, they work the same in the monolith (the
//! outbox relay calls [`AnalyticsHandler`] in-process) and in the microservices (a JetStream
//! consumer calls it), and the benchmark's consistency experiment can compare
//! [`Analytics::totals`] with direct counts of the source tables.
//!
//! # Layout
//! - [`projection`]: [`AnalyticsHandler`], the version-guarded upserts of event snapshots.
//! - [`queries`]: pipeline, forecast, win rate and funnel.
//! - [`reconcile`]: exact totals to compare with the source tables.
//! - [`report`]: the figures those queries answer with.
//! - [`params`]: query parameter validation (400 naming each bad parameter).
//! - [`stream`]: the server-sent-events live feed.
//! - [`lag`]: the event → projection lag histogram.
//! - [`http`]: the REST routes and their OpenAPI operations.

pub mod http;
pub mod lag;
pub mod params;
pub mod projection;
pub mod queries;
pub mod reconcile;
pub mod report;
pub mod stream;

use std::sync::Arc;

use sqlx::PgPool;
use tokio::sync::broadcast;

use crm_core::Result;
use crm_core::migrate::Migration;
use crm_http::metrics::Metrics;

pub use lag::{LagHistogram, LagReport};
pub use projection::AnalyticsHandler;
pub use stream::FeedEvent;

pub const CONTEXT: &str = "analytics";

pub const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    name: "projections",
    sql: include_str!("../migrations/0001_analytics.sql"),
}];

/// The context: its pool, the live feed's channel and the lag histogram. The
/// [`AnalyticsHandler`] from [`Analytics::handler`] shares the last two, so what it applies
/// shows up in this service's stream and lag figures.
pub struct Analytics {
    pool: PgPool,
    feed: broadcast::Sender<Arc<FeedEvent>>,
    lag: Arc<LagHistogram>,
}

impl Analytics {
    pub fn new(pool: PgPool) -> Self {
        let (feed, _) = broadcast::channel(stream::FEED_CAPACITY);
        Analytics {
            pool,
            feed,
            lag: Arc::new(LagHistogram::new()),
        }
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    pub async fn migrate(pool: &PgPool) -> Result<()> {
        crm_core::migrate::run(pool, CONTEXT, MIGRATIONS).await
    }

    /// The event handler to register with the outbox dispatcher or the JetStream consumer.
    pub fn handler(&self) -> AnalyticsHandler {
        AnalyticsHandler {
            feed: self.feed.clone(),
            lag: self.lag.clone(),
        }
    }

    /// Every projected event of every tenant, as the live feed sees them.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<FeedEvent>> {
        self.feed.subscribe()
    }

    /// `(count, p50_ms, p99_ms)` of the event → projection lag in this process.
    pub fn lag_snapshot(&self) -> (u64, f64, f64) {
        let r = self.lag.report();
        (r.count, r.p50_ms, r.p99_ms)
    }

    /// The lag figures with the maximum, as `GET /analytics/lag` answers.
    pub fn lag_report(&self) -> LagReport {
        self.lag.report()
    }

    /// Forgets the lag recorded so far (between benchmark runs).
    pub fn reset_lag(&self) {
        self.lag.reset();
    }

    /// Registers Prometheus gauges refreshed at every scrape: events projected, lag
    /// p50/p99/max in microseconds (gauges are integers), and live-feed subscribers.
    pub fn track_metrics(&self, metrics: &Metrics) {
        let applied = metrics.gauge(
            "analytics_events_projected",
            "Events applied to the analytics projections since start or the last lag reset",
        );
        let p50 = metrics.gauge(
            "analytics_projection_lag_p50_microseconds",
            "Median time from an event's occurrence to its projection",
        );
        let p99 = metrics.gauge(
            "analytics_projection_lag_p99_microseconds",
            "99th percentile of the time from an event's occurrence to its projection",
        );
        let max = metrics.gauge(
            "analytics_projection_lag_max_microseconds",
            "Longest time from an event's occurrence to its projection",
        );
        let subscribers = metrics.gauge(
            "analytics_stream_subscribers",
            "Clients connected to the analytics live feed",
        );
        let (lag, feed) = (self.lag.clone(), self.feed.clone());
        metrics.on_scrape(move || {
            let r = lag.report();
            let micros = |ms: f64| (ms * 1000.0).round() as i64;
            applied.set(i64::try_from(r.count).unwrap_or(i64::MAX));
            p50.set(micros(r.p50_ms));
            p99.set(micros(r.p99_ms));
            max.set(micros(r.max_ms));
            subscribers.set(feed.receiver_count() as i64);
            Box::pin(async {})
        });
    }
}

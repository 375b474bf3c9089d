//! A private nats-server and a fresh database per test, a handler that records what it
//! applies, and waiting.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_nats::jetstream;
use async_trait::async_trait;
use crm_core::outbox::{self, EventHandler, Relay};
use crm_core::{Actor, EventEnvelope, Role};
use crm_runtime::events::{self, Consumer, NatsDispatcher};
use crm_testkit::nats::NatsServer;
use crm_testkit::pg::PgCluster;
use sqlx::{PgConnection, PgPool};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use uuid::Uuid;

/// A nats-server of its own (tests halt it, and the stream would mix tests' events) and a
/// fresh database with the core migrations and the recorder's table.
pub(crate) struct Env {
    pub(crate) nats: NatsServer,
    pub(crate) pool: PgPool,
    pub(crate) js: jetstream::Context,
}

pub(crate) async fn env() -> Env {
    let nats = NatsServer::start().await.expect("start nats-server");
    let pool = PgCluster::shared()
        .migrated_pool(&[])
        .await
        .expect("migrated database");
    sqlx::query(
        "CREATE TABLE seen (n bigserial PRIMARY KEY, event_id uuid NOT NULL, event text NOT NULL)",
    )
    .execute(&pool)
    .await
    .unwrap();
    let js = events::connect(&nats.url(), "test").await.expect("connect");
    // As a publishing service does at start-up.
    events::ensure_stream(&js).await.expect("stream");
    Env { nats, pool, js }
}

impl Env {
    /// Writes `n` events to the outbox, as a context's writes would.
    pub(crate) async fn append(&self, n: usize) -> Vec<EventEnvelope> {
        let actor = Actor::new(Uuid::new_v4(), Uuid::new_v4(), Role::Admin);
        let mut tx = self.pool.begin().await.unwrap();
        let mut written = Vec::with_capacity(n);
        for i in 0..n {
            let action = if i % 2 == 0 { "created" } else { "updated" };
            let e = EventEnvelope::new(
                &actor,
                "activity",
                action,
                Uuid::new_v4(),
                serde_json::json!({ "i": i, "version": 1 }),
            );
            outbox::append(&mut tx, &e).await.unwrap();
            written.push(e);
        }
        tx.commit().await.unwrap();
        written
    }

    pub(crate) fn relay(&self) -> Relay {
        Relay::new(
            self.pool.clone(),
            Arc::new(NatsDispatcher::new(self.js.clone())),
        )
    }

    /// Relays until the outbox is empty.
    pub(crate) async fn relay_all(&self) {
        let relay = self.relay();
        while relay.run_once().await.expect("relay") > 0 {}
    }

    pub(crate) async fn pending(&self) -> i64 {
        outbox::pending(&self.pool).await.unwrap()
    }

    /// Event ids the recorder applied, in the order it applied them.
    pub(crate) async fn seen(&self) -> Vec<Uuid> {
        sqlx::query_scalar("SELECT event_id FROM seen ORDER BY n")
            .fetch_all(&self.pool)
            .await
            .unwrap()
    }

    /// Messages in the stream.
    pub(crate) async fn stream_messages(&self) -> u64 {
        let mut stream = self.js.get_stream(events::STREAM).await.unwrap();
        stream.info().await.unwrap().state.messages
    }

    pub(crate) async fn consumer_info(&self, name: &str) -> jetstream::consumer::Info {
        let c: jetstream::consumer::PullConsumer = self
            .js
            .get_consumer_from_stream(name, events::STREAM)
            .await
            .unwrap();
        c.cached_info().clone()
    }

    pub(crate) fn consumer(&self, name: &str, handler: Arc<Recorder>) -> Consumer {
        Consumer::new(
            name,
            self.pool.clone(),
            vec![handler as Arc<dyn EventHandler>],
        )
    }

    /// Runs `consumer` in the background until [`Running::stop`].
    pub(crate) fn spawn(&self, consumer: Consumer) -> Running {
        let (tx, rx) = oneshot::channel::<()>();
        let handle = tokio::spawn(consumer.run(self.js.clone(), async move {
            let _ = rx.await;
        }));
        Running { stop: tx, handle }
    }

    /// Waits until the recorder applied `n` events and `consumer` acknowledged everything.
    pub(crate) async fn caught_up(&self, consumer: &str, n: usize) {
        self.caught_up_within(consumer, n, Duration::from_secs(20))
            .await;
    }

    pub(crate) async fn caught_up_within(&self, consumer: &str, n: usize, timeout: Duration) {
        let ok = wait_until(timeout, || async {
            self.seen().await.len() >= n && events::lag(&self.js, consumer).await.ok() == Some(0)
        })
        .await;
        if !ok {
            let info = self.consumer_info(consumer).await;
            panic!(
                "consumer {consumer} did not catch up: {} of {n} applied, lag {:?}, {info:#?}\n{}",
                self.seen().await.len(),
                events::lag(&self.js, consumer).await,
                self.nats.log()
            );
        }
    }
}

pub(crate) struct Running {
    stop: oneshot::Sender<()>,
    handle: JoinHandle<()>,
}

impl Running {
    pub(crate) async fn stop(self) {
        let _ = self.stop.send(());
        tokio::time::timeout(Duration::from_secs(15), self.handle)
            .await
            .expect("consumer stops on shutdown")
            .expect("consumer task");
    }
}

/// Records each event it applies into `seen`, in the handling transaction. Its first
/// `failures` calls fail with `Unavailable`, as they would while its database is down.
#[derive(Default)]
pub(crate) struct Recorder {
    failures: AtomicUsize,
}

impl Recorder {
    pub(crate) fn failing(failures: usize) -> Arc<Self> {
        Arc::new(Recorder {
            failures: AtomicUsize::new(failures),
        })
    }
}

#[async_trait]
impl EventHandler for Recorder {
    fn name(&self) -> &'static str {
        "recorder"
    }

    fn wants(&self, event: &EventEnvelope) -> bool {
        event.object == "activity"
    }

    async fn handle(&self, conn: &mut PgConnection, e: &EventEnvelope) -> crm_core::Result<()> {
        let failing = self
            .failures
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if failing {
            return Err(crm_core::Error::Unavailable(
                "the database is unavailable".into(),
            ));
        }
        sqlx::query("INSERT INTO seen (event_id, event) VALUES ($1, $2)")
            .bind(e.event_id)
            .bind(&e.event)
            .execute(conn)
            .await?;
        Ok(())
    }
}

/// Polls `cond` until it holds or `timeout` passes; returns whether it held.
pub(crate) async fn wait_until<F, Fut>(timeout: Duration, mut cond: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if cond().await {
            return true;
        }
        if tokio::time::Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub(crate) fn ids(events: &[EventEnvelope]) -> Vec<Uuid> {
    events.iter().map(|e| e.event_id).collect()
}

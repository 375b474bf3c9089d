//! Delivery: relay to consumer, exactly once and in order; dedupe; durable resumption; lag.

use std::sync::Arc;
use std::time::Duration;

use crm_core::outbox::Dispatcher;
use crm_http::metrics::Metrics;
use crm_runtime::events::{self, NatsDispatcher};

use super::helpers::{Recorder, env, ids};

#[tokio::test]
async fn relayed_events_reach_a_consumer_exactly_once_and_in_order() {
    let env = env().await;
    let running = env.spawn(env.consumer("activities", Arc::default()));
    let written = env.append(250).await;
    env.relay_all().await;
    assert_eq!(env.pending().await, 0, "every row marked published");

    env.caught_up("activities", 250).await;
    assert_eq!(
        env.seen().await,
        ids(&written),
        "each event once, in outbox order"
    );
    let subjects: Vec<String> = written.iter().take(2).map(events::subject).collect();
    assert_eq!(
        subjects,
        ["crm.events.activity.created", "crm.events.activity.updated"]
    );
    running.stop().await;
}

#[tokio::test]
async fn republishing_a_batch_after_a_relay_crash_adds_nothing() {
    let env = env().await;
    let written = env.append(20).await;
    // The relay published, then died before marking the rows: they are published again.
    NatsDispatcher::new(env.js.clone())
        .dispatch(&written)
        .await
        .expect("first publish");
    assert_eq!(env.pending().await, 20, "rows still unpublished");
    env.relay_all().await;
    assert_eq!(env.pending().await, 0);
    assert_eq!(
        env.stream_messages().await,
        20,
        "JetStream dropped the copies"
    );

    let running = env.spawn(env.consumer("activities", Arc::default()));
    env.caught_up("activities", 20).await;

    // A copy that gets through anyway (no Nats-Msg-Id) is delivered and changes nothing.
    let payload = serde_json::to_vec(&written[3]).unwrap();
    env.js
        .publish(events::subject(&written[3]), payload.into())
        .await
        .unwrap()
        .await
        .unwrap();
    assert_eq!(env.stream_messages().await, 21);
    env.caught_up("activities", 20).await;
    assert_eq!(
        env.consumer_info("activities")
            .await
            .delivered
            .stream_sequence,
        21
    );
    assert_eq!(env.seen().await, ids(&written));
    running.stop().await;
}

#[tokio::test]
async fn a_restarted_consumer_resumes_where_it_left_off_and_reports_its_lag() {
    let env = env().await;
    let metrics = Metrics::new();
    let consumer = env.consumer("activities", Arc::default());
    consumer.track_lag(&env.js, &metrics);
    let running = env.spawn(consumer);
    let first = env.append(30).await;
    env.relay_all().await;
    env.caught_up("activities", 30).await;
    running.stop().await;

    // Down: events pile up and show as lag.
    let second = env.append(40).await;
    env.relay_all().await;
    assert_eq!(events::lag(&env.js, "activities").await.unwrap(), 40);
    assert!(
        metrics
            .render()
            .await
            .contains("\ncrm_consumer_lag_activities 40\n"),
        "{}",
        metrics.render().await
    );

    // Back: it catches up with only the new events, each delivered once.
    let running = env.spawn(env.consumer("activities", Arc::default()));
    env.caught_up("activities", 70).await;
    let all: Vec<_> = ids(&first).into_iter().chain(ids(&second)).collect();
    assert_eq!(env.seen().await, all);
    let info = env.consumer_info("activities").await;
    assert_eq!(
        info.delivered.consumer_sequence, 70,
        "no message delivered twice"
    );
    assert_eq!(info.num_redelivered, 0);
    assert!(
        metrics
            .render()
            .await
            .contains("\ncrm_consumer_lag_activities 0\n")
    );
    running.stop().await;
}

#[tokio::test]
async fn a_consumer_created_after_the_events_reads_them_from_the_start() {
    let env = env().await;
    let written = env.append(25).await;
    env.relay_all().await;
    let running = env.spawn(env.consumer("late-comer", Arc::default()));
    env.caught_up("late-comer", 25).await;
    assert_eq!(env.seen().await, ids(&written));
    running.stop().await;
}

#[tokio::test]
async fn a_batch_that_cannot_be_applied_is_redelivered_and_applied_once() {
    let env = env().await;
    let consumer = env
        .consumer("activities", Recorder::failing(2))
        .with_retry_delay(Duration::from_millis(200));
    let running = env.spawn(consumer);
    let written = env.append(10).await;
    env.relay_all().await;
    env.caught_up("activities", 10).await;
    assert_eq!(
        env.seen().await,
        ids(&written),
        "in order despite the retries"
    );
    let deliveries = env
        .consumer_info("activities")
        .await
        .delivered
        .consumer_sequence;
    assert!(
        deliveries > 10,
        "redelivered after the failures: {deliveries}"
    );
    running.stop().await;
}

#[tokio::test]
async fn a_message_that_is_not_an_event_is_dropped_without_blocking_the_stream() {
    let env = env().await;
    env.js
        .publish("crm.events.activity.created", "not json".into())
        .await
        .unwrap()
        .await
        .unwrap();
    let written = env.append(5).await;
    env.relay_all().await;
    let running = env.spawn(env.consumer("activities", Arc::default()));
    env.caught_up("activities", 5).await;
    assert_eq!(env.seen().await, ids(&written));
    running.stop().await;
}

#[tokio::test]
async fn ensuring_the_stream_twice_keeps_it_and_its_events() {
    let env = env().await;
    env.append(3).await;
    env.relay_all().await;
    events::ensure_stream(&env.js).await.unwrap();
    assert_eq!(env.stream_messages().await, 3);
    let info = env.js.get_stream(events::STREAM).await.unwrap();
    let config = &info.cached_info().config;
    assert_eq!(config.duplicate_window, events::DUPLICATE_WINDOW);
    assert_eq!(config.max_age, events::MAX_AGE);
    assert_eq!(config.subjects, [events::SUBJECTS]);
}

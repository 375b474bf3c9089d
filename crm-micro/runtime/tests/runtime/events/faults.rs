//! Faults: nats-server stopped or killed while events flow.

use std::sync::Arc;
use std::time::Duration;

use crm_core::Error;

use super::helpers::{env, ids, wait_until};

#[tokio::test]
async fn while_nats_is_down_the_relay_keeps_its_rows_and_nothing_is_lost() {
    let env = env().await;
    let running = env.spawn(env.consumer("activities", Arc::default()));
    let before = env.append(10).await;
    env.relay_all().await;
    env.caught_up("activities", 10).await;

    env.nats.halt().await.expect("halt nats-server");
    let during = env.append(10).await;
    let relay = env.relay();
    match relay.run_once().await {
        Err(Error::Unavailable(_)) => {}
        other => panic!("publishing to a stopped server: {other:?}"),
    }
    assert_eq!(env.pending().await, 10, "rows stay unpublished");

    env.nats.restart().await.expect("restart nats-server");
    // The client reconnects on its own; the relay succeeds once it has.
    let published = wait_until(Duration::from_secs(30), || async {
        matches!(relay.run_once().await, Ok(n) if n > 0) || env.pending().await == 0
    })
    .await;
    assert!(published, "relay publishes after the restart");
    assert_eq!(env.pending().await, 0);
    assert_eq!(
        env.stream_messages().await,
        20,
        "stream kept across the restart"
    );

    // The consumer reconnected too and applied each event once.
    env.caught_up("activities", 20).await;
    let all: Vec<_> = ids(&before).into_iter().chain(ids(&during)).collect();
    assert_eq!(env.seen().await, all);
    running.stop().await;
}

#[tokio::test]
async fn a_killed_nats_server_comes_back_with_its_stream_and_consumer() {
    let env = env().await;
    let running = env.spawn(env.consumer("activities", Arc::default()));
    let before = env.append(15).await;
    env.relay_all().await;
    env.caught_up("activities", 15).await;

    let pid = env.nats.pid().expect("server pid");
    std::process::Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .unwrap();
    env.nats.restart().await.expect("restart nats-server");

    let after = env.append(15).await;
    let relay = env.relay();
    let published = wait_until(Duration::from_secs(30), || async {
        let _ = relay.run_once().await;
        env.pending().await == 0
    })
    .await;
    assert!(published, "relay publishes after the restart");
    // nats-server 2.9 writes consumer state lazily, so a SIGKILL can lose acks: the restarted
    // server redelivers those events (at once, or after the 30 s ack wait when it restored
    // them as delivered), and the processed ids make the redelivery change nothing.
    env.caught_up_within("activities", 30, Duration::from_secs(50))
        .await;
    let all: Vec<_> = ids(&before).into_iter().chain(ids(&after)).collect();
    assert_eq!(env.seen().await, all);
    running.stop().await;
}

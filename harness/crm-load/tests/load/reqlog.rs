//! The per-request log: it holds what the results count, rebuilds them with another
//! warm-up, and times a server's recovery to the millisecond.

use std::sync::Arc;
use std::time::Instant;

use crm_load::{Op, OpenLoopConfig, Schedule, Target, WorkloadRng, start_open_loop};

use crate::server::TestServer;
use crate::{read_or_write, secs};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_request_log_holds_every_request_the_results_count() {
    let server = TestServer::start().await;
    let target = Target::parse(&server.url()).unwrap();
    let mut config = OpenLoopConfig::new(Schedule::poisson(300.0, secs(2.0), 3));
    config.connections = 4;
    config.workers = 2;
    config.warmup = secs(0.5);
    config.request_log = 100_000;
    config.trace_ratio = Some(0.5);
    let mut run = start_open_loop(&target, config, Arc::new(read_or_write))
        .await
        .unwrap();
    let reader = run.take_log().expect("a log was asked for");
    assert!(run.take_log().is_none());
    let r = run.wait().await.unwrap();
    let log = reader.finish();
    assert_eq!(log.dropped, 0);
    assert_eq!(
        log.records.len() as u64,
        r.totals.requests + r.warmup_requests + r.totals.errors.not_sent
    );
    assert!(
        log.records
            .windows(2)
            .all(|w| w[0].intended_us <= w[1].intended_us)
    );
    let mut ops = log.ops.clone();
    ops.sort();
    assert_eq!(ops, ["read", "write"]);

    // Rebuilt with the same warm-up, the figures are the engine's own.
    let same = r.with_warmup(&log, secs(0.5)).unwrap();
    assert_eq!(same.totals.requests, r.totals.requests);
    assert_eq!(same.totals.corrected, r.totals.corrected);
    assert_eq!(
        same.op("write").unwrap().requests,
        r.op("write").unwrap().requests
    );
    // The traced requests (which the log does not hold) come along, chosen alike.
    assert!(!r.traced.is_empty());
    assert_eq!(same.traced.len(), r.traced.len());
    // A longer warm-up leaves fewer requests measured, and fewer traced.
    let later = r.with_warmup(&log, secs(1.5)).unwrap();
    assert!(later.totals.requests < r.totals.requests / 2);
    assert!(!later.traced.is_empty() && later.traced.len() < r.traced.len() / 2);
    assert!((later.warmup_s - 1.5).abs() < 1e-9);
    assert!(r.with_warmup(&log, secs(5.0)).is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovery_is_timed_to_the_millisecond_of_a_restart() {
    let server = TestServer::start().await;
    let port = server.addr.port();
    let target = Target::parse(&server.url()).unwrap();
    let mut config = OpenLoopConfig::new(Schedule::constant(400.0, secs(3.0)));
    config.connections = 8;
    config.timeout = secs(1.0);
    config.request_log = 100_000;
    let mut run = start_open_loop(
        &target,
        config,
        Arc::new(|_: u64, _: &mut WorkloadRng| Op::get("read", "/ok").unwrap()),
    )
    .await
    .unwrap();
    let start = run.started().instant;
    let reader = run.take_log().unwrap();
    tokio::time::sleep_until((start + secs(1.0)).into()).await;
    let killed = Instant::now();
    server.kill();
    tokio::time::sleep_until((start + secs(1.6)).into()).await;
    let again = TestServer::start_on(port).await.expect("the port again");
    let restarted = Instant::now();
    let r = run.wait().await.unwrap();
    drop(again);
    let log = reader.finish();
    assert!(r.totals.errors.total() > 0, "the kill failed some requests");
    let us = |t: Instant| t.duration_since(start).as_micros() as u64;
    let all = log.select(|_| true);
    let at = log
        .recovered_at(&all, us(killed), 3_000_000)
        .expect("served again after the restart");
    let off = at as i64 - us(restarted) as i64;
    // 400 req/s: a request every 2.5 ms. Buckets of 0.5 s would read 0 or 0.5 s here.
    assert!(
        (-5_000..=50_000).contains(&off),
        "recovered {off} µs after the restart"
    );
}

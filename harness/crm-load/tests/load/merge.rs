//! Engines on a common clock, their results sent as JSON (as a load worker does) and added:
//! the counts are the server's, and every percentile is that of one histogram of all the
//! samples (read from the engines' request logs), not an average of the engines'.

use std::sync::Arc;

use chrono::Utc;
use crm_load::{LatencyHistogram, OpenLoopConfig, RunResults, Schedule, Target, start_open_loop};

use crate::server::{Counts, TestServer};
use crate::{read_or_write, secs};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engines_on_a_common_clock_merge_into_the_servers_counts_and_one_histogram() {
    let server = TestServer::start().await;
    let target = Target::parse(&server.url()).unwrap();
    let start_at = Utc::now() + chrono::Duration::milliseconds(500);
    let mut runs = Vec::new();
    for (i, rate) in [150.0, 100.0, 50.0].into_iter().enumerate() {
        let mut c = OpenLoopConfig::new(Schedule::poisson(rate, secs(1.5), 20 + i as u64));
        c.connections = 4;
        c.bucket = secs(0.25);
        c.request_log = 10_000;
        c.start_at = Some(start_at);
        let mut run = start_open_loop(&target, c, Arc::new(read_or_write))
            .await
            .unwrap();
        let log = run.take_log().unwrap();
        runs.push((run, log));
    }
    let mut parts = Vec::new();
    let mut all = LatencyHistogram::new();
    for (run, log) in runs {
        assert_eq!(run.started().wall, start_at, "t = 0 is the common start");
        let r = run.wait().await.unwrap();
        for rec in log.finish().records {
            all.record_us(u64::from(rec.latency_us));
        }
        let json = serde_json::to_string(&r).unwrap();
        parts.push(serde_json::from_str::<RunResults>(&json).unwrap());
    }
    let mut merged = parts[0].clone();
    for p in &parts[1..] {
        merged.add(p).unwrap();
    }

    let sum = |f: fn(&RunResults) -> u64| parts.iter().map(f).sum::<u64>();
    assert_eq!(merged.totals.requests, sum(|r| r.totals.requests));
    assert_eq!(merged.totals.requests, Counts::get(&server.counts().total));
    assert_eq!(
        merged.op("write").unwrap().requests,
        Counts::get(&server.counts().echo)
    );
    assert_eq!(merged.totals.errors.total(), 0);
    let offered: f64 = parts.iter().filter_map(|r| r.offered_rate).sum();
    assert_eq!(merged.offered_rate, Some(offered));
    // The merge property: the merged histogram is the histogram of every sample.
    let h = &merged.totals.corrected_histogram;
    assert_eq!(h.count(), all.count());
    for q in [0.5, 0.9, 0.99, 0.999, 1.0] {
        assert_eq!(h.quantile_us(q), all.quantile_us(q), "quantile {q}");
    }
    assert_eq!(merged.totals.corrected, all.summary());
    // The timeline adds up bucket by bucket.
    let in_buckets: u64 = merged.timeline.buckets.iter().map(|b| b.requests).sum();
    let per_part: u64 = parts
        .iter()
        .flat_map(|r| r.timeline.buckets.iter().map(|b| b.requests))
        .sum();
    assert_eq!(in_buckets, per_part);
}

#[tokio::test]
async fn a_common_start_already_past_is_refused() {
    let server = TestServer::start().await;
    let target = Target::parse(&server.url()).unwrap();
    let mut c = OpenLoopConfig::new(Schedule::constant(10.0, secs(1.0)));
    c.connections = 1;
    c.start_at = Some(Utc::now() - chrono::Duration::seconds(1));
    let err = start_open_loop(&target, c, Arc::new(read_or_write))
        .await
        .err()
        .expect("a past start is refused");
    assert!(err.to_string().contains("had passed"), "{err}");
}

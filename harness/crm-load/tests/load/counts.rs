//! The engine's counts equal the server's, per operation, in every mode.

use std::sync::{Arc, Mutex};

use crm_load::{
    Op, OpenLoopConfig, Outcome, RunResults, SaturationConfig, Schedule, Target, Workload,
    WorkloadRng, run_open_loop, run_saturation,
};

use crate::server::{Counts, TestServer};
use crate::{read_or_write, secs};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_open_loop_engine_counts_each_operation_as_the_server_does() {
    let server = TestServer::start().await;
    let target = Target::parse(&server.url()).unwrap();
    let mut config = OpenLoopConfig::new(Schedule::poisson(400.0, secs(2.0), 11));
    config.connections = 4;
    config.bucket = secs(0.25);
    let r = run_open_loop(&target, config, Arc::new(read_or_write))
        .await
        .unwrap();

    let (reads, writes) = (r.op("read").unwrap(), r.op("write").unwrap());
    assert!(reads.requests > 0 && writes.requests > 0);
    assert_eq!(reads.requests, Counts::get(&server.counts().ok));
    assert_eq!(writes.requests, Counts::get(&server.counts().echo));
    assert_eq!(r.totals.requests, Counts::get(&server.counts().total));
    assert_eq!(r.totals.errors.total(), 0, "{:?}", r.totals.errors);
    assert_eq!(r.totals.ok, r.totals.requests);
    for op in [reads, writes] {
        assert_eq!(op.corrected_histogram.count(), op.requests);
        assert_eq!(op.uncorrected_histogram.count(), op.requests);
        assert!(op.corrected.p50_us >= op.uncorrected.p50_us);
    }
    // Every intended arrival was sent: offered × window = requests.
    let offered = r.offered_rate.unwrap() * r.measured_s;
    assert!(
        (offered - r.totals.requests as f64).abs() < 0.5,
        "{offered}"
    );
    let in_timeline: u64 = r.timeline.buckets.iter().map(|b| b.requests).sum();
    assert_eq!(in_timeline, r.totals.requests);
    assert_eq!(r.timeline.buckets.len(), 8);

    // The results survive results.json, histograms included.
    let back: RunResults = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
    let read_back = back.op("read").unwrap();
    assert_eq!(read_back.corrected, reads.corrected);
    assert_eq!(read_back.corrected_histogram.summary(), reads.corrected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saturation_mode_counts_like_the_server_and_leaves_out_the_warm_up() {
    let server = TestServer::start().await;
    let target = Target::parse(&server.url()).unwrap();
    let mut config = SaturationConfig::new(4, secs(1.0));
    config.warmup = secs(0.3);
    let workload = Arc::new(|_: u64, _: &mut WorkloadRng| Op::get("read", "/ok").unwrap());
    let r = run_saturation(&target, config, workload).await.unwrap();

    let served = Counts::get(&server.counts().ok);
    assert!(r.warmup_requests > 0 && r.totals.requests > 0);
    assert_eq!(r.totals.requests + r.warmup_requests, served);
    assert_eq!(r.totals.errors.total(), 0);
    assert!(r.offered_rate.is_none());
    assert!(r.achieved_rate > 0.0);
    // Closed loop: corrected and uncorrected are the same measurements.
    let read = r.op("read").unwrap();
    assert_eq!(read.corrected, read.uncorrected);
}

/// Remembers the sequence number of every outcome.
struct Seen(Mutex<Vec<u64>>);

impl Workload for Seen {
    fn next(&self, _seq: u64, _rng: &mut WorkloadRng) -> Op {
        Op::get("read", "/ok").unwrap()
    }

    fn on_response(&self, _op: &Op, outcome: &Outcome) {
        assert!(outcome.is_success());
        self.0.lock().unwrap().push(outcome.seq);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_share_the_schedule_without_losing_or_repeating_an_arrival() {
    let server = TestServer::start().await;
    let target = Target::parse(&server.url()).unwrap();
    let mut config = OpenLoopConfig::new(Schedule::constant(500.0, secs(1.0)));
    config.workers = 2;
    config.connections = 4;
    let seen = Arc::new(Seen(Mutex::new(Vec::new())));
    let r = run_open_loop(&target, config, seen.clone()).await.unwrap();

    let mut seqs = seen.0.lock().unwrap().clone();
    seqs.sort_unstable();
    assert_eq!(seqs, (0..500).collect::<Vec<u64>>());
    assert_eq!(r.totals.requests, 500);
    assert_eq!(Counts::get(&server.counts().ok), 500);
}

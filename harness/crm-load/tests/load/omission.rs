//! Coordinated omission: a server stall must show in the corrected percentiles, not only in
//! the uncorrected ones. Assertions are on structure (which is larger, by how much, where in
//! the timeline), not on absolute times: the machine is noisy.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crm_load::{Op, OpenLoopConfig, Schedule, Target, WorkloadRng, start_open_loop};

use crate::secs;
use crate::server::{Counts, TestServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_50_ms_stall_shows_in_corrected_percentiles_and_not_only_in_uncorrected_ones() {
    let server = TestServer::start().await;
    let target = Target::parse(&server.url()).unwrap();
    // 1000 requests/s over one connection for 4 s; from 1.5 s to 2.5 s every request is held
    // 50 ms, so only ~20 requests (0.5%) see the stall themselves, while the ~1000 scheduled
    // during it queue up behind them.
    let stall_from = Instant::now() + secs(1.5);
    server.stall(stall_from, secs(1.0), Duration::from_millis(50));
    let mut config = OpenLoopConfig::new(Schedule::constant(1000.0, secs(4.0)));
    config.connections = 1;
    config.bucket = secs(0.25);
    let workload = Arc::new(|_: u64, _: &mut WorkloadRng| Op::get("read", "/ok").unwrap());
    let run = start_open_loop(&target, config, workload).await.unwrap();
    let t0 = run.started().instant;
    let r = run.wait().await.unwrap();

    let read = r.op("read").unwrap();
    assert_eq!(read.requests, Counts::get(&server.counts().ok));
    assert_eq!(read.errors.total(), 0);
    let (c, u) = (read.corrected, read.uncorrected);
    eprintln!("corrected {c:?}\nuncorrected {u:?}");
    // The requests that were stalled saw ≥ 50 ms themselves ...
    assert!(u.max_us >= 45_000, "uncorrected max {}", u.max_us);
    // ... but they are too few to move the uncorrected p99,
    assert!(u.p99_us < 50_000, "uncorrected p99 {}", u.p99_us);
    // while every request scheduled during the stall waited: the corrected p99 shows it.
    assert!(c.p99_us >= 50_000, "corrected p99 {}", c.p99_us);
    assert!(c.p99_us >= 5 * u.p99_us.max(1));
    assert!(c.p90_us >= u.p90_us);

    // The worst timeline bucket is in (or just after) the stall window.
    let from = stall_from.saturating_duration_since(t0).as_secs_f64();
    let worst = r
        .timeline
        .buckets
        .iter()
        .max_by_key(|b| b.ops.get("read").map_or(0, |o| o.p99_us))
        .unwrap();
    assert!(
        worst.t_s >= from - 0.25 && worst.t_s < from + 2.0,
        "worst bucket at {} s, stall from {from} s",
        worst.t_s
    );
    // The window of the stall holds the slow requests; every request in it succeeded.
    let during = &r.window(from - 0.25, from + 1.0)["read"];
    assert!(during.requests >= 900, "{}", during.requests);
    assert_eq!(during.success_rate(), 1.0);
    assert!(during.corrected.summary().p50_us >= 50_000);
}

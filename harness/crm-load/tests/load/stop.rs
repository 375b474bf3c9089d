//! The run handle: live progress, marks relative to the start, and stopping early.

use std::sync::Arc;
use std::time::Duration;

use crm_load::{Op, OpenLoopConfig, Schedule, Target, WorkloadRng, start_open_loop};

use crate::secs;
use crate::server::{Counts, TestServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_a_run_ends_it_early_and_keeps_its_marks() {
    let server = TestServer::start().await;
    let target = Target::parse(&server.url()).unwrap();
    let config = OpenLoopConfig::new(Schedule::constant(200.0, secs(60.0)));
    let workload = Arc::new(|_: u64, _: &mut WorkloadRng| Op::get("read", "/ok").unwrap());
    let run = start_open_loop(&target, config, workload).await.unwrap();
    let handle = run.handle();

    tokio::time::sleep(Duration::from_millis(500)).await;
    handle.mark("fault injected");
    let progress = handle.progress();
    assert!(progress.sent > 0 && progress.completed > 0, "{progress:?}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    handle.stop();
    let r = tokio::time::timeout(Duration::from_secs(20), run.wait())
        .await
        .expect("a stopped run ends")
        .unwrap();

    assert!(r.stopped_early);
    assert!(r.measured_s < 30.0, "{}", r.measured_s);
    assert_eq!(r.totals.requests, Counts::get(&server.counts().ok));
    assert_eq!(r.totals.errors.total(), 0, "{:?}", r.totals.errors);
    assert_eq!(r.marks.len(), 1);
    assert_eq!(r.marks[0].label, "fault injected");
    assert!(r.marks[0].t_s > 0.0 && r.marks[0].t_s < r.measured_s);
    assert_eq!(handle.progress().completed, r.totals.requests);
}

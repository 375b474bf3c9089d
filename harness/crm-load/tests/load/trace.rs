//! Trace sampling by the generator: off sends no header at all; on sends a `traceparent` on
//! every request, sampled on the chosen share, and remembers exactly the sampled ones.

use std::sync::Arc;

use crm_load::{Op, OpenLoopConfig, Schedule, Target, WorkloadRng, run_open_loop};

use crate::secs;
use crate::server::{Counts, TestServer};

fn read(_: u64, _: &mut WorkloadRng) -> Op {
    Op::get("read", "/ok").unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_ratio_no_traceparent_is_sent_and_with_one_the_sampled_share_is_remembered() {
    let server = TestServer::start().await;
    let target = Target::parse(&server.url()).unwrap();
    let config = |ratio: Option<f64>| {
        let mut c = OpenLoopConfig::new(Schedule::poisson(400.0, secs(1.5), 3));
        c.connections = 4;
        c.trace_ratio = ratio;
        c
    };

    let off = run_open_loop(&target, config(None), Arc::new(read))
        .await
        .unwrap();
    assert!(off.traced.is_empty());
    assert_eq!(Counts::get(&server.counts().traceparents), 0);
    assert!(!serde_json::to_string(&off).unwrap().contains("traced"));

    let on = run_open_loop(&target, config(Some(0.25)), Arc::new(read))
        .await
        .unwrap();
    let sent = Counts::get(&server.counts().total) - off.totals.requests;
    assert_eq!(Counts::get(&server.counts().traceparents), sent);
    let sampled = Counts::get(&server.counts().sampled);
    // Every sampled request was answered inside the run (no warm-up): all remembered.
    assert_eq!(on.traced.len() as u64, sampled);
    let share = sampled as f64 / sent as f64;
    assert!(
        (0.15..0.35).contains(&share),
        "{sampled} of {sent} sampled at 25%"
    );
    let t = &on.traced[0];
    assert_eq!((t.op.as_str(), t.trace_id.len(), t.ok), ("read", 32, true));
    assert!(t.uncorrected_us > 0 && t.corrected_us >= t.uncorrected_us);
}

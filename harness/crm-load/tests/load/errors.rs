//! Failed requests are counted by class: 5xx and 4xx by status, 429 apart, a hang-up as I/O,
//! a slow answer as a timeout, a closed port as a connect error.

use std::sync::Arc;
use std::time::Duration;

use crm_load::{Op, OpenLoopConfig, Schedule, Target, WorkloadRng, run_open_loop};

use crate::secs;
use crate::server::{Counts, TestServer};

const ROUTES: [(&str, &str); 7] = [
    ("ok", "/ok"),
    ("e500", "/status/500"),
    ("e503", "/status/503"),
    ("e429", "/status/429"),
    ("e404", "/status/404"),
    ("hangup", "/close"),
    ("slow", "/sleep/2000"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_are_counted_by_class() {
    let server = TestServer::start().await;
    let target = Target::parse(&server.url()).unwrap();
    let mut config = OpenLoopConfig::new(Schedule::constant(140.0, secs(1.5)));
    config.connections = 8;
    config.timeout = Duration::from_millis(200);
    let workload = Arc::new(|seq: u64, _: &mut WorkloadRng| {
        let (name, path) = ROUTES[(seq % ROUTES.len() as u64) as usize];
        Op::get(name, path).unwrap()
    });
    let r = run_open_loop(&target, config, workload).await.unwrap();

    let op = |name| r.op(name).unwrap_or_else(|| panic!("no {name}"));
    for (name, _) in ROUTES {
        assert_eq!(op(name).requests, 30, "{name}");
    }
    assert_eq!(op("ok").ok, 30);
    assert_eq!(op("e500").errors.server[&500], 30);
    assert_eq!(op("e503").errors.server[&503], 30);
    assert_eq!(op("e429").errors.rate_limited, 30);
    assert_eq!(op("e404").errors.client[&404], 30);
    assert_eq!(op("hangup").errors.io, 30);
    assert_eq!(op("slow").errors.timeout, 30);
    assert_eq!(r.totals.errors.total(), 6 * 30);
    assert_eq!(r.totals.ok, 30);
    // Error responses have a latency; requests without a response do not.
    assert_eq!(op("e500").corrected_histogram.count(), 30);
    assert_eq!(op("hangup").corrected_histogram.count(), 0);
    assert_eq!(op("slow").corrected_histogram.count(), 0);
    // The server saw every one of them.
    let c = server.counts();
    assert_eq!(Counts::get(&c.status), 4 * 30);
    assert_eq!(Counts::get(&c.close), 30);
    assert_eq!(Counts::get(&c.sleep), 30);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_port_nobody_listens_on_gives_connect_errors() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let target = Target::parse(&format!("http://127.0.0.1:{port}")).unwrap();
    let mut config = OpenLoopConfig::new(Schedule::constant(50.0, secs(0.5)));
    config.connections = 2;
    let workload = Arc::new(|_: u64, _: &mut WorkloadRng| Op::get("read", "/ok").unwrap());
    let r = run_open_loop(&target, config, workload).await.unwrap();
    let read = r.op("read").unwrap();
    assert_eq!(read.requests, 25);
    assert_eq!(read.errors.connect, 25);
    assert_eq!(r.totals.ok, 0);
    assert_eq!(r.ok_rate, 0.0);
}

//! The engine's HTTP/1.1 client reads every framing a server uses: a length, chunks, no
//! body (204, HEAD), a body larger than its read buffer; and keeps the connection alive.

use std::sync::{Arc, Mutex};

use crm_load::{
    Op, OpenLoopConfig, Outcome, Schedule, Target, Workload, WorkloadRng, run_open_loop,
};
use http::Method;

use crate::secs;
use crate::server::{Counts, TestServer};

/// Cycles through the framings and keeps every answer.
struct Framings {
    big: String,
    answers: Mutex<Vec<(String, u16, Vec<u8>)>>,
}

impl Workload for Framings {
    fn next(&self, seq: u64, _rng: &mut WorkloadRng) -> Op {
        match seq % 5 {
            0 => Op::get("chunked", "/chunked").unwrap(),
            1 => Op::post_json("big", "/echo", self.big.clone()).unwrap(),
            2 => Op::get("no_content", "/status/204").unwrap(),
            3 => Op::new("head", Method::HEAD, "/ok").unwrap(),
            _ => Op::get("plain", "/ok").unwrap(),
        }
    }

    fn on_response(&self, op: &Op, outcome: &Outcome) {
        let (status, body) = match &outcome.result {
            Ok(r) => (r.status.as_u16(), r.body.to_vec()),
            Err(e) => panic!("{} failed: {e:?}", op.name),
        };
        self.answers
            .lock()
            .unwrap()
            .push((op.name.to_string(), status, body));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_body_framing_is_read_whole_over_kept_alive_connections() {
    let server = TestServer::start().await;
    let target = Target::parse(&server.url()).unwrap();
    let mut config = OpenLoopConfig::new(Schedule::constant(100.0, secs(1.0)));
    config.connections = 2;
    let workload = Arc::new(Framings {
        big: format!("{{\"pad\":\"{}\"}}", "x".repeat(100_000)),
        answers: Mutex::new(Vec::new()),
    });
    let r = run_open_loop(&target, config, workload.clone())
        .await
        .unwrap();
    assert_eq!(r.totals.requests, 100);
    assert_eq!(r.totals.errors.total(), 0, "{:?}", r.totals.errors);
    assert_eq!(Counts::get(&server.counts().total), 100);
    // Kept alive: the two connections made before the start carried everything.
    assert_eq!(Counts::get(&server.counts().connections), 2);

    let answers = workload.answers.lock().unwrap();
    assert_eq!(answers.len(), 100);
    for (name, status, body) in answers.iter() {
        match name.as_str() {
            "chunked" => assert_eq!((*status, body.as_slice()), (200, &b"hello, world"[..])),
            "big" => assert_eq!((*status, body.as_slice()), (200, workload.big.as_bytes())),
            "no_content" => assert_eq!((*status, body.len()), (204, 0)),
            "head" => assert_eq!((*status, body.len()), (200, 0)),
            "plain" => assert_eq!((*status, body.as_slice()), (200, &b"ok"[..])),
            other => panic!("unexpected {other}"),
        }
    }
}

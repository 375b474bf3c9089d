//! The load engine against a real local HTTP server (tests/load/server.rs): counts, the
//! coordinated-omission correction, error classes, the run handle, goose journeys, and engines on a common clock merged.

#[allow(dead_code)]
mod server;

mod counts;
mod errors;
mod framing;
mod journeys;
mod merge;
mod omission;
mod reqlog;
mod stop;
mod trace;

use std::time::Duration;

use crm_load::{Op, WorkloadRng};
use rand::Rng as _;

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

/// A 70/30 mix of reads (`GET /ok`) and writes (`POST /echo` carrying the sequence number).
fn read_or_write(seq: u64, rng: &mut WorkloadRng) -> Op {
    if rng.gen_bool(0.3) {
        Op::post_json("write", "/echo", format!("{{\"seq\":{seq}}}")).unwrap()
    } else {
        Op::get("read", "/ok").unwrap()
    }
}

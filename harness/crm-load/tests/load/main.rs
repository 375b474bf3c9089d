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

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

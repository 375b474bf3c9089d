//! How long one simulated minute at 100,000 requests per second takes, for both
//! architectures: a micro-style tree per request (the gateway, then two services in
//! parallel, each with a statement on its PostgreSQL), on a cluster of 16 nodes × 16 cores.
//!
//! `cargo run --release -p crm-sim --example speed [SECONDS] [RPS]`

use std::time::Instant;

use crm_sim::{Calibration, Scenario};

const CALIBRATION: &str = r#"schema = "crm-sim/calibration/v1"
source = "examples/speed.rs: round figures of the order measured on the 2-core machine"

[micro]
default_policy = "client"
[micro.policies.proxy]
timeout_ms = 10000
retries = 1
retry_on = ["refused"]
breaker = { failures = 5, open_ms = 1000, max_open_ms = 10000 }
[micro.policies.client]
timeout_ms = 5000
retries = 2
retry_on = ["refused", "timeout", "unavailable"]
backoff_ms = 25
max_backoff_ms = 500
jitter = true
concurrency = 256
breaker = { failures = 5, open_ms = 1000, max_open_ms = 30000 }
[micro.processes.gateway]
kind = "gateway"
[micro.processes.customers]
kind = "service"
pool = 16
database = "postgres"
[micro.processes.sales]
kind = "service"
pool = 16
database = "postgres"
[micro.processes.postgres]
kind = "database"
[[micro.ops.customer_360.shapes]]
probability = 1.0
[[micro.ops.customer_360.shapes.nodes]]
process = "gateway"
self_us = { mean = 160.0, q = [[0.0, 90.0], [0.5, 140.0], [0.9, 220.0], [0.99, 450.0], [1.0, 1200.0]] }
wire_us = { q = [[0.0, 30.0], [0.5, 45.0], [1.0, 200.0]] }
[[micro.ops.customer_360.shapes.nodes]]
process = "customers"
parent = 0
self_us = { q = [[0.0, 120.0], [0.5, 200.0], [0.99, 700.0], [1.0, 1500.0]] }
db_us = { q = [[0.0, 60.0], [0.5, 110.0], [0.99, 400.0], [1.0, 900.0]] }
db_statements = 1
wire_us = { q = [[0.0, 30.0], [0.5, 45.0], [1.0, 200.0]] }
[[micro.ops.customer_360.shapes.nodes]]
process = "sales"
parent = 0
concurrent = true
self_us = { q = [[0.0, 100.0], [0.5, 180.0], [0.99, 600.0], [1.0, 1400.0]] }
db_us = { q = [[0.0, 50.0], [0.5, 90.0], [0.99, 350.0], [1.0, 800.0]] }
db_statements = 1
wire_us = { q = [[0.0, 30.0], [0.5, 45.0], [1.0, 200.0]] }

[monolith.processes.monolith]
kind = "monolith"
pool = 16
database = "postgres"
[monolith.processes.postgres]
kind = "database"
[[monolith.ops.customer_360.shapes]]
probability = 1.0
[[monolith.ops.customer_360.shapes.nodes]]
process = "monolith"
self_us = { q = [[0.0, 20.0], [0.5, 40.0], [0.99, 150.0], [1.0, 400.0]] }
wire_us = { q = [[0.0, 30.0], [0.5, 45.0], [1.0, 200.0]] }
[[monolith.ops.customer_360.shapes.nodes]]
process = "monolith"
parent = 0
kind = "internal"
self_us = { q = [[0.0, 80.0], [0.5, 140.0], [0.99, 450.0], [1.0, 1000.0]] }
db_us = { q = [[0.0, 60.0], [0.5, 110.0], [0.99, 400.0], [1.0, 900.0]] }
[[monolith.ops.customer_360.shapes.nodes]]
process = "monolith"
parent = 0
kind = "internal"
concurrent = true
self_us = { q = [[0.0, 70.0], [0.5, 120.0], [0.99, 400.0], [1.0, 900.0]] }
db_us = { q = [[0.0, 50.0], [0.5, 90.0], [0.99, 350.0], [1.0, 800.0]] }
"#;

fn scenario(arch: &str, seconds: f64, rps: f64) -> String {
    let processes = if arch == "micro" {
        "processes.gateway = { replicas = 8, cpus = 4, nodes = [\"node\"] }
processes.customers = { replicas = 8, cpus = 6, nodes = [\"node\"] }
processes.sales = { replicas = 8, cpus = 6, nodes = [\"node\"] }
processes.postgres = { replicas = 8, cpus = 6, nodes = [\"node\"] }"
    } else {
        "processes.monolith = { replicas = 16, cpus = 5, nodes = [\"node\"] }
processes.postgres = { replicas = 8, cpus = 6, nodes = [\"node\"] }"
    };
    format!(
        r#"schema = "crm-sim/scenario/v1"
name = "speed"
architecture = "{arch}"
duration_s = {seconds}
warmup_s = 5
nodes = [{{ name = "node", cores = 16, count = 16 }}]
{processes}
[open]
arrival = "poisson"
rate = {rps}
mix = {{ customer_360 = 1.0 }}
"#
    )
}

fn main() -> Result<(), crm_sim::Error> {
    let mut args = std::env::args().skip(1);
    let seconds: f64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(60.0);
    let rps: f64 = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000.0);
    let cal = Calibration::parse(CALIBRATION, "speed calibration")?;
    for arch in ["monolith", "micro"] {
        let sc = Scenario::parse(&scenario(arch, seconds, rps), "speed scenario", &cal)?;
        let started = Instant::now();
        let out = crm_sim::simulate(&cal, &sc)?;
        let wall = started.elapsed().as_secs_f64();
        let t = &out.total;
        println!(
            "{arch:>8}: {seconds} s at {rps} req/s simulated in {wall:.1} s wall: {} events ({:.2} M/s), \
             {:.1} events/request; achieved {:.0} req/s, p50 {} µs, p99 {} µs, failed {}",
            out.events,
            out.events as f64 / wall / 1e6,
            out.events as f64 / (rps * seconds),
            t.achieved_rps,
            t.latency_us.value_at_quantile(0.5),
            t.latency_us.value_at_quantile(0.99),
            t.failed(),
        );
        for (name, p) in &out.processes {
            println!(
                "          {name:<10} {:.1} cores used, utilisation {:.2}",
                p.cores_used, p.utilisation
            );
        }
    }
    Ok(())
}

//! Capacity: CPU quotas, the autoscaler, the load's shapes and pools.

use crate::{rel, run};

/// One process, 1 ms of CPU per request, loaded by users who never think.
const BUSY: &str = r#"schema = "crm-sim/calibration/v1"
[monolith.processes.app]
kind = "monolith"
[[monolith.ops.op.shapes]]
probability = 1.0
nodes = [{ process = "app", self_us = { exp = 1000.0 } }]
"#;

fn saturated(cpus: &str) -> String {
    format!(
        r#"schema = "crm-sim/scenario/v1"
architecture = "monolith"
duration_s = 60.0
warmup_s = 5.0
nodes = [{{ name = "n", cores = 1 }}]
processes.app = {{ {cpus} }}
[closed]
users = 16
think_us = {{ fixed = 0.0 }}
timeout_ms = 600000
journeys = [{{ ops = ["op"] }}]
"#
    )
}

#[test]
fn a_cfs_quota_of_half_a_core_halves_a_saturated_processs_throughput() {
    let full = run(BUSY, &saturated("replicas = 1"));
    let half = run(BUSY, &saturated("cpus = 0.5"));
    assert!(
        rel(full.total.achieved_rps, 1000.0) < 0.02,
        "{}",
        full.total.achieved_rps
    );
    let ratio = half.total.achieved_rps / full.total.achieved_rps;
    assert!(rel(ratio, 0.5) < 0.02, "ratio {ratio}");
    assert!(rel(half.processes["app"].utilisation, 1.0) < 0.02);
    assert!(rel(half.processes["app"].cores_used, 0.5) < 0.02);
    assert!(
        rel(full.nodes[0].utilisation, 1.0) < 0.01,
        "{:?}",
        full.nodes
    );
    assert!(
        rel(half.nodes[0].utilisation, 0.5) < 0.02,
        "{:?}",
        half.nodes
    );
}

#[test]
fn background_cpu_is_charged_to_the_quota_and_leaves_requests_the_rest() {
    // Quota 0.5 core, background 0.2: requests get 0.3 core, 300 of 1 ms per second.
    let cal = BUSY.replace(
        "kind = \"monolith\"\n",
        "kind = \"monolith\"\nbackground = 0.2\n",
    );
    let out = run(&cal, &saturated("cpus = 0.5"));
    let rps = out.total.achieved_rps;
    assert!(rel(rps, 300.0) < 0.02, "{rps} req/s");
    let cores = out.processes["app"].cores_used;
    assert!(rel(cores, 0.5) < 0.02, "{cores} cores used");
    // Without a quota the background leaves 0.8 of the core: 800 per second.
    let free = run(&cal, &saturated("replicas = 1"));
    let rps = free.total.achieved_rps;
    assert!(rel(rps, 800.0) < 0.02, "{rps} req/s");
}

#[test]
fn the_autoscaler_reaches_the_replicas_a_step_in_load_needs() {
    // 1 ms per request under a 1-core quota; 200/s, then 1200/s from 30 s: 1.2 cores of
    // demand at a 50% target → ceil(1.2 / 0.5) = 3 replicas (and at 2 or 4 replicas the
    // utilisation is 20% or 40% off target, beyond the 10% tolerance, so 3 is where it
    // settles).
    let sc = r#"schema = "crm-sim/scenario/v1"
architecture = "monolith"
duration_s = 300.0
nodes = [{ name = "n", cores = 16 }]
processes.app = { cpus = 1.0 }
[autoscale.app]
target = 0.5
max = 10
sync_s = 15
stabilisation_s = 60
startup_s = 2
[open]
profile = [{ at_s = 0, rps = 200 }, { at_s = 30, rps = 1200 }]
timeout_ms = 5000
mix = { op = 1.0 }
"#;
    let out = run(BUSY, sc);
    assert_eq!(out.timeline[25].replicas["app"], 1, "before the step");
    assert_eq!(out.processes["app"].replicas_at_end, 3);
    assert!(out.processes["app"].replicas_max >= 3);
    let last = &out.timeline[250..];
    assert!(last.iter().all(|b| b.failures == 0), "settled: {last:?}");
}

#[test]
fn a_ramped_profile_sends_the_integral_of_its_rate() {
    // 0 → 1000/s over the first 10 s (5,000 requests), 1000/s for 10 s (10,000), then none.
    let sc = r#"schema = "crm-sim/scenario/v1"
architecture = "monolith"
duration_s = 30.0
nodes = [{ name = "n", cores = 4 }]
[open]
arrival = "constant"
profile = [{ at_s = 0, rps = 0 }, { at_s = 10, rps = 1000, ramp = true }, { at_s = 20, rps = 0 }]
mix = { op = 1.0 }
"#;
    let out = run(BUSY, sc);
    let sent = out.total.requests();
    assert!(sent.abs_diff(15_000) <= 2, "{sent} requests");
    let t = &out.timeline;
    // A ramp reaches its rate from the previous step's: 0 at 0 s, 1000/s at 10 s.
    assert!(
        (t[2].requests..t[8].requests).contains(&t[5].requests),
        "the ramp climbs"
    );
    assert!(
        t[12..20].iter().all(|b| b.requests.abs_diff(1000) <= 2),
        "{t:?}"
    );
    assert!(
        t[22..].iter().all(|b| b.requests == 0),
        "nothing after the last step"
    );
}

#[test]
fn closed_loop_users_run_their_journeys_in_order_with_think_time() {
    let cal = BUSY.replace("{ exp = 1000.0 }", "{ fixed = 100.0 }")
        + "[[monolith.ops.other.shapes]]\nprobability = 1.0\nnodes = [{ process = \"app\", self_us = { fixed = 300.0 } }]\n";
    let sc = r#"schema = "crm-sim/scenario/v1"
architecture = "monolith"
duration_s = 37.0
nodes = [{ name = "n", cores = 1 }]
[closed]
users = 1
think_us = { fixed = 1000.0 }
journeys = [{ ops = ["op", "other", "other"] }]
"#;
    let out = run(&cal, sc);
    // One journey: 0.1 + 0.3 + 0.3 ms of work and 3 thinks of 1 ms = 3.7 ms; 37 s hold
    // 10,000 journeys, the first starting after one think.
    let (a, b) = (out.ops["op"].ok, out.ops["other"].ok);
    assert!(
        a.abs_diff(10_000) <= 1 && b.abs_diff(20_000) <= 2,
        "op {a}, other {b}"
    );
    assert!(rel(out.ops["other"].mean_us, 300.0) < 1e-6);
}

#[test]
fn a_request_that_waits_longer_than_the_pool_timeout_fails() {
    // One connection held 1 s per request, 100 ms of patience, a request every 250 ms: of
    // every four, the one that finds the connection free succeeds and three give up.
    let cal = r#"schema = "crm-sim/calibration/v1"
[monolith.processes.app]
kind = "monolith"
pool = 1
database = "pg"
pool_timeout_ms = 100
[monolith.processes.pg]
kind = "database"
[[monolith.ops.op.shapes]]
probability = 1.0
nodes = [{ process = "app", db_us = { fixed = 1000000.0 } }]
"#;
    let sc = r#"schema = "crm-sim/scenario/v1"
architecture = "monolith"
duration_s = 50.0
nodes = [{ name = "n", cores = 2 }]
[open]
arrival = "constant"
rate = 4.0
mix = { op = 1.0 }
"#;
    let out = run(cal, sc);
    let t = &out.total;
    assert!(
        t.ok >= 45 && t.error.abs_diff(3 * t.ok) <= 3,
        "ok {} error {}",
        t.ok,
        t.error
    );
    assert!(out.processes["app"].pool_wait_us.max() < 100_000);
}

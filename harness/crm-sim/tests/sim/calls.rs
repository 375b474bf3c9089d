//! Calls, faults, fan-out, events and determinism, on a small microservice system.

use crate::{rel, run};

/// A gateway calling `customers`, which runs one statement on `postgres`, and writes an
/// event that `analytics` consumes.
const MICRO: &str = r#"schema = "crm-sim/calibration/v1"
[micro]
default_policy = "client"
[micro.events]
relay_us = { fixed = 20.0 }
broker = "nats"
broker_us = { fixed = 10.0 }
redeliver_ms = 1000
[micro.policies.client]
timeout_ms = 500
retries = 2
retry_on = ["refused", "timeout", "unavailable"]
backoff_ms = 25
max_backoff_ms = 500
jitter = true
breaker = { failures = 5, open_ms = 1000, max_open_ms = 30000 }
[micro.processes.gateway]
kind = "gateway"
[micro.processes.customers]
kind = "service"
pool = 4
database = "postgres"
[micro.processes.analytics]
kind = "service"
[micro.processes.postgres]
kind = "database"
[micro.processes.nats]
kind = "broker"
[[micro.ops.get.shapes]]
probability = 1.0
[[micro.ops.get.shapes.nodes]]
process = "gateway"
self_us = { fixed = 100.0 }
[[micro.ops.get.shapes.nodes]]
process = "customers"
parent = 0
self_us = { fixed = 200.0 }
db_us = { fixed = 100.0 }
wire_us = { fixed = 50.0 }
[[micro.ops.get.shapes.nodes]]
process = "analytics"
parent = 1
async = true
self_us = { fixed = 30.0 }
wire_us = { fixed = 40.0 }
"#;

fn micro_scenario(extra: &str) -> String {
    format!(
        r#"schema = "crm-sim/scenario/v1"
architecture = "micro"
duration_s = 30.0
seed = 11
nodes = [{{ name = "n", cores = 8 }}]
[open]
arrival = "constant"
rate = 100.0
timeout_ms = 5000
mix = {{ get = 1.0 }}
{extra}
"#
    )
}

#[test]
fn an_unloaded_request_costs_the_sum_of_its_path_and_events_lag_behind_it() {
    let out = run(MICRO, &micro_scenario(""));
    // 100 (gateway) + 50 (wire) + 200 (customers) + 100 (statement) µs.
    assert!(
        rel(out.total.mean_us, 450.0) < 1e-6,
        "{}",
        out.total.mean_us
    );
    assert_eq!(out.total.failed(), 0);
    // relay 20 + broker 10 + wire 40 + consumer 30 µs after the commit.
    let lag = &out.lag_us;
    assert_eq!(
        lag.len(),
        out.total.ok,
        "one event per request (all within the run)"
    );
    assert!(
        (99..=101).contains(&lag.value_at_quantile(0.5)),
        "lag p50 {}",
        lag.value_at_quantile(0.5)
    );
}

#[test]
fn a_relay_off_core_delays_the_event_by_its_time_and_burns_no_cpu() {
    let on_core = run(MICRO, &micro_scenario(""));
    let waiting = MICRO.replace(
        "relay_us = { fixed = 20.0 }",
        "relay_us = { fixed = 2000.0 }\nrelay_cpu = 0.0",
    );
    let out = run(&waiting, &micro_scenario(""));
    // The lag grows by the relay's extra 1,980 µs; the response and the CPU do not move.
    let p50 = out.lag_us.value_at_quantile(0.5);
    assert!((2079..=2081).contains(&p50), "lag p50 {p50}");
    assert!(
        rel(out.total.mean_us, 450.0) < 1e-6,
        "{}",
        out.total.mean_us
    );
    let cpu = |o: &crm_sim::Outputs| o.processes["customers"].cpu_seconds;
    let per_request = (cpu(&on_core) - cpu(&out)) / on_core.total.ok as f64;
    assert!(
        (per_request * 1e6 - 20.0).abs() < 0.5,
        "the on-core relay's 20 µs per event gone: {per_request}"
    );
}

#[test]
fn a_fixed_seed_gives_identical_outputs_and_another_seed_does_not() {
    let sc = micro_scenario(
        "[[faults]]\nkind = \"kill\"\nprocess = \"customers\"\nat_s = 10\nfor_s = 3\nrestart_s = 1",
    )
    .replace("\"constant\"", "\"poisson\"");
    let a = run(MICRO, &sc);
    let b = run(MICRO, &sc);
    assert_eq!(a, b);
    assert_eq!(a.events, b.events);
    let c = run(MICRO, &sc.replace("seed = 11", "seed = 12"));
    assert!(
        a.total.latency_us != c.total.latency_us,
        "another seed, the same latencies"
    );
}

#[test]
fn a_killed_service_fails_calls_during_its_window_and_recovers_after() {
    let out = run(
        MICRO,
        &micro_scenario(
            "[[faults]]\nkind = \"kill\"\nprocess = \"customers\"\nat_s = 10\nfor_s = 5\nrestart_s = 1",
        ),
    );
    let t = &out.timeline;
    assert_eq!(t.len(), 30);
    for b in &t[1..10] {
        assert_eq!(b.failures, 0, "before the kill: {b:?}");
    }
    // Down from 10 s to 16 s: every request in between fails, fast (refused or breaker).
    for b in &t[11..15] {
        assert!(
            b.requests > 0 && b.failures == b.requests,
            "during the kill: {b:?}"
        );
        assert_eq!(b.replicas["customers"], 0);
    }
    // Back at 16 s; the next health check resets the breakers.
    for b in &t[18..] {
        assert!(b.requests > 0 && b.failures == 0, "after recovery: {b:?}");
        assert_eq!(b.replicas["customers"], 1);
    }
    assert!(out.total.unavailable > 400, "{:?}", out.total);
}

#[test]
fn a_paused_service_makes_its_callers_time_out() {
    // Without retries and breaker every call into the pause waits for its timeout (with
    // them, the breaker soon opens and calls fail fast instead).
    let cal = MICRO.replace("retries = 2", "retries = 0").replace(
        "breaker = { failures = 5, open_ms = 1000, max_open_ms = 30000 }",
        "",
    );
    let out = run(
        &cal,
        &micro_scenario(
            "[[faults]]\nkind = \"pause\"\nprocess = \"customers\"\nat_s = 10\nfor_s = 5",
        ),
    );
    let t = &out.total;
    let counts = format!(
        "ok {} timeout {} unavailable {} error {}",
        t.ok, t.timeout, t.unavailable, t.error
    );
    // 100/s for 5 s, each waiting 500 ms; those parked when the pause ends are served.
    assert!(
        t.timeout >= 400 && t.unavailable == 0 && t.error == 0,
        "{counts}"
    );
    let after = &out.timeline[20..];
    assert!(after.iter().all(|b| b.failures == 0), "{after:?}");
}

#[test]
fn a_slow_service_adds_its_delay_to_every_call() {
    let out = run(
        MICRO,
        &micro_scenario(
            "[[faults]]\nkind = \"slow\"\nprocess = \"customers\"\nat_s = 0\nfor_s = 100\ndelay_ms = 20",
        ),
    );
    assert!(
        rel(out.total.mean_us, 20_450.0) < 1e-6,
        "{}",
        out.total.mean_us
    );
}

/// A root calling `a`, `b` and `c`, 1, 2 and 3 ms each, in parallel or in sequence.
fn fan_out(parallel: bool) -> String {
    let mut cal = String::from(
        r#"schema = "crm-sim/calibration/v1"
[micro]
default_policy = "p"
[micro.policies.p]
timeout_ms = 1000
[micro.processes.gateway]
kind = "gateway"
[micro.processes.a]
kind = "service"
[micro.processes.b]
kind = "service"
[micro.processes.c]
kind = "service"
[[micro.ops.get.shapes]]
probability = 1.0
[[micro.ops.get.shapes.nodes]]
process = "gateway"
"#,
    );
    for (i, p) in ["a", "b", "c"].iter().enumerate() {
        cal.push_str(&format!(
            "[[micro.ops.get.shapes.nodes]]\nprocess = \"{p}\"\nparent = 0\nconcurrent = {}\nself_us = {{ fixed = {}.0 }}\n",
            parallel && i > 0,
            (i + 1) * 1000
        ));
    }
    cal
}

#[test]
fn parallel_children_take_the_longest_and_sequential_ones_the_sum() {
    let sc = micro_scenario("").replace("rate = 100.0", "rate = 10.0");
    let par = run(&fan_out(true), &sc);
    let seq = run(&fan_out(false), &sc);
    assert!(
        rel(par.total.mean_us, 3000.0) < 1e-6,
        "parallel {}",
        par.total.mean_us
    );
    assert!(
        rel(seq.total.mean_us, 6000.0) < 1e-6,
        "sequential {}",
        seq.total.mean_us
    );
}

#[test]
fn a_rolling_redeploy_of_two_replicas_fails_nothing_and_of_one_fails_during_its_restart() {
    let fault =
        "[[faults]]\nkind = \"redeploy\"\nprocess = \"customers\"\nat_s = 10\nrestart_s = 2";
    let two = micro_scenario(fault).replace(
        "cores = 8 }]",
        "cores = 8 }]\nprocesses.customers = { replicas = 2 }",
    );
    let two = run(MICRO, &two);
    assert_eq!(two.total.failed(), 0, "{:?}", two.timeline);
    assert!(
        two.timeline[10..14]
            .iter()
            .any(|b| b.replicas["customers"] == 1)
    );
    let one = run(MICRO, &micro_scenario(fault));
    // No replica in the registry for 2 s: every request then fails at once (no replicas).
    let failed = one.total.unavailable;
    assert!((195..=205).contains(&failed), "{failed} failed");
    assert!(one.timeline[13..].iter().all(|b| b.failures == 0));
}

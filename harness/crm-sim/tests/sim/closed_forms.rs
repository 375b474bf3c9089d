//! Queueing theory's closed forms, each within 2% over 10⁶ requests.

use crate::{rel, run};

/// One process doing `work` of CPU per request, in the monolith.
fn station(work: &str) -> String {
    format!(
        r#"schema = "crm-sim/calibration/v1"
[monolith.processes.app]
kind = "monolith"
[[monolith.ops.op.shapes]]
probability = 1.0
nodes = [{{ process = "app", self_us = {work} }}]
"#
    )
}

/// `app` holding one of `pool` connections while its statement runs on `pg`.
fn pool_station(pool: u32, db: &str) -> String {
    format!(
        r#"schema = "crm-sim/calibration/v1"
[monolith.processes.app]
kind = "monolith"
pool = {pool}
database = "pg"
[monolith.processes.pg]
kind = "database"
[[monolith.ops.op.shapes]]
probability = 1.0
nodes = [{{ process = "app", db_us = {db}, db_statements = 1 }}]
"#
    )
}

fn open(cores: u32, rate: f64, requests: f64, extra: &str) -> String {
    format!(
        r#"schema = "crm-sim/scenario/v1"
architecture = "monolith"
duration_s = {duration}
warmup_s = 10.0
seed = 7
nodes = [{{ name = "n", cores = {cores} }}, {{ name = "db", cores = 64 }}]
{extra}
[open]
arrival = "poisson"
rate = {rate}
timeout_ms = 3600000
mix = {{ op = 1.0 }}
"#,
        duration = 10.0 + requests / rate
    )
}

/// Erlang C: the probability that an arrival waits at an M/M/c station with offered load
/// `a = λ/μ`.
fn erlang_c(c: u32, a: f64) -> f64 {
    let mut term = 1.0;
    let mut sum = 1.0;
    for k in 1..c {
        term *= a / k as f64;
        sum += term;
    }
    let last = term * a / c as f64 * c as f64 / (c as f64 - a);
    last / (sum + last)
}

#[test]
fn an_mm1_station_has_the_mean_response_time_of_the_closed_form() {
    // μ = 1000/s, λ = 600/s: W = 1 / (μ − λ) = 2.5 ms.
    let out = run(&station("{ exp = 1000.0 }"), &open(1, 600.0, 1e6, ""));
    assert!(out.total.ok >= 990_000, "{} requests", out.total.ok);
    let w = out.total.mean_us;
    assert!(rel(w, 2500.0) < 0.02, "W = {w} µs, expected 2500");
}

#[test]
fn an_mmc_station_matches_erlang_c_and_littles_law() {
    // c = 4 cores, μ = 1000/s each, λ = 3000/s (ρ = 0.75).
    let (c, mu, lambda) = (4, 1000.0, 3000.0);
    let out = run(&station("{ exp = 1000.0 }"), &open(c, lambda, 1e6, ""));
    let expected = erlang_c(c, lambda / mu) / (c as f64 * mu - lambda) + 1.0 / mu;
    let w = out.total.mean_us / 1e6;
    assert!(rel(w, expected) < 0.02, "W = {w} s, Erlang C {expected} s");
    // Little: L = λW, with L measured as the time-averaged population.
    let little = out.offered_rps * w;
    assert!(
        rel(out.mean_in_system, little) < 0.02,
        "L = {}, λW = {little}",
        out.mean_in_system
    );
}

#[test]
fn a_pool_of_k_connections_is_an_mmk_station() {
    // 3 connections, 1 ms statements (exponential), λ = 2400/s (ρ = 0.8).
    let (k, mu, lambda) = (3, 1000.0, 2400.0);
    let extra = "[processes.pg]\nnodes = [\"db\"]";
    let out = run(
        &pool_station(k, "{ exp = 1000.0 }"),
        &open(1, lambda, 1e6, extra),
    );
    let wait = erlang_c(k, lambda / mu) / (k as f64 * mu - lambda);
    let expected = wait + 1.0 / mu;
    let w = out.total.mean_us / 1e6;
    assert!(rel(w, expected) < 0.02, "W = {w} s, Erlang C {expected} s");
    let pool_wait = out.processes["app"].pool_wait_us.mean() / 1e6;
    assert!(
        rel(pool_wait, wait) < 0.03,
        "pool wait {pool_wait} s, expected {wait} s"
    );
}

#[test]
fn one_connection_with_fixed_statements_is_md1_pollaczek_khinchine() {
    // S = 1 ms, λ = 500/s (ρ = 0.5): W = S + ρS / (2(1 − ρ)) = 1.5 ms.
    let extra = "[processes.pg]\nnodes = [\"db\"]";
    let out = run(
        &pool_station(1, "{ fixed = 1000.0 }"),
        &open(1, 500.0, 1e6, extra),
    );
    let w = out.total.mean_us;
    assert!(rel(w, 1500.0) < 0.02, "W = {w} µs, expected 1500");
}

#[test]
fn background_cpu_leaves_an_mm1_station_of_the_remaining_capacity() {
    // Background b = 0.2 of the core, d = 1 ms, λ = 500/s: processor sharing at capacity
    // 1 − b, so W = d / (1 − b − λd) = 1 ms / 0.3 = 3.333 ms.
    let (b, d, lambda) = (0.2, 1e-3, 500.0);
    let cal = station("{ exp = 1000.0 }").replace(
        "kind = \"monolith\"\n",
        &format!("kind = \"monolith\"\nbackground = {b}\n"),
    );
    let out = run(&cal, &open(1, lambda, 1e6, ""));
    assert!(out.total.ok >= 990_000, "{} requests", out.total.ok);
    let expected = d / (1.0 - b - lambda * d);
    let w = out.total.mean_us / 1e6;
    assert!(rel(w, expected) < 0.02, "W = {w} s, expected {expected} s");
    // The process's CPU: its background plus the requests' work, b + λd cores.
    let cores = out.processes["app"].cores_used;
    assert!(rel(cores, b + lambda * d) < 0.02, "{cores} cores used");
}

#[test]
fn the_off_core_share_of_a_self_time_is_a_wait_that_queues_on_nothing() {
    // Self time exp(4 ms), a quarter of it on the core: the CPU is an M/M/1 station of
    // d = 1 ms at λ = 600/s (W = d / (1 − λd) = 2.5 ms) and the other 3 ms a pure delay,
    // so W = 5.5 ms, where charging all of it as CPU would overload the core (ρ = 2.4).
    let cal = station("{ exp = 4000.0 }").replace(
        "self_us = { exp = 4000.0 }",
        "self_us = { exp = 4000.0 }, self_cpu = 0.25",
    );
    let out = run(&cal, &open(1, 600.0, 1e6, ""));
    assert!(out.total.ok >= 990_000, "{} requests", out.total.ok);
    let w = out.total.mean_us;
    assert!(rel(w, 5500.0) < 0.02, "W = {w} µs, expected 5500");
    let cores = out.processes["app"].cores_used;
    assert!(rel(cores, 0.6) < 0.02, "{cores} cores used, expected 0.6");
}

#[test]
fn a_statements_off_core_share_holds_the_connection_but_not_the_database() {
    // One connection, 2 ms statements of which half on the database (64 cores, no queue):
    // the connection is an M/D/1 station of S = 2 ms at λ = 250/s (ρ = 0.5), W = S +
    // ρS / (2(1 − ρ)) = 3 ms, while the database burns only 1 ms per request (0.25 cores).
    let extra = "[processes.pg]\nnodes = [\"db\"]";
    let cal = pool_station(1, "{ fixed = 2000.0 }")
        .replace("db_statements = 1", "db_statements = 1, db_cpu = 0.5");
    let out = run(&cal, &open(1, 250.0, 1e6, extra));
    let w = out.total.mean_us;
    assert!(rel(w, 3000.0) < 0.02, "W = {w} µs, expected 3000");
    let cores = out.processes["pg"].cores_used;
    assert!(rel(cores, 0.25) < 0.02, "{cores} cores used, expected 0.25");
}

#[test]
fn cpu_outside_the_spans_loads_the_core_but_is_waited_for_by_no_one() {
    // Self time exp(1 ms) plus u = 0.5 ms per visit burnt beside it, λ = 400/s: the core
    // does λ(d + u) = 0.6 of its time. The request waits for its own work only, sharing the
    // core with its companion: slower than processor sharing with independent arrivals,
    // d / (1 − ρ) = 2.5 ms, faster than waiting for both in turn, (d + u) / (1 − ρ) = 3.75 ms.
    let cal = station("{ exp = 1000.0 }").replace(
        "kind = \"monolith\"\n",
        "kind = \"monolith\"\nunspanned_us = 500.0\n",
    );
    let out = run(&cal, &open(1, 400.0, 1e6, ""));
    assert!(out.total.ok >= 990_000, "{} requests", out.total.ok);
    let cores = out.processes["app"].cores_used;
    assert!(rel(cores, 0.6) < 0.02, "{cores} cores used, expected 0.6");
    let w = out.total.mean_us;
    assert!(w > 2500.0 * 1.02 && w < 3750.0, "W = {w} µs");
}

#[test]
fn a_replica_found_idle_wakes_slower_the_longer_it_idled() {
    // 1 µs of CPU per request, so a replica is idle at every Poisson arrival for τ ~ Exp(λ)
    // and waits W·(1 − e^(−τ/T)) more: on average W / (1 + λT). W = 1 ms, T = 10 ms: 0.5 ms
    // at λ = 100/s, 0.2 ms at 400/s — faster under load, as the real system is.
    let cal = station("{ fixed = 1.0 }").replace(
        "kind = \"monolith\"\n",
        "kind = \"monolith\"\nidle_wake = { us = 1000.0, tau_ms = 10.0 }\n",
    );
    for (rate, want) in [(100.0, 501.0), (400.0, 201.0)] {
        let out = run(&cal, &open(1, rate, 2e5, ""));
        let w = out.total.mean_us;
        assert!(
            rel(w, want) < 0.02,
            "λ = {rate}: W = {w} µs, expected {want}"
        );
    }
    // Without it, the same requests take their CPU alone.
    let out = run(&station("{ fixed = 1.0 }"), &open(1, 100.0, 2e5, ""));
    assert!(out.total.mean_us < 2.0, "W = {} µs", out.total.mean_us);
}

#[test]
fn a_wake_on_a_core_is_cpu_that_falls_per_request_as_the_rate_rises() {
    // The same wake, all of it on the core (`cpu = 1`): W = 1 ms, T = 10 ms at 100/s, when
    // the replica is busy only briefly, costs ~0.5 ms of CPU per request and ~0.5 ms of
    // response; at 400/s less per request (the replica is found idle less long), though
    // the core is then busier.
    let cal = station("{ fixed = 1.0 }").replace(
        "kind = \"monolith\"\n",
        "kind = \"monolith\"\nidle_wake = { us = 1000.0, tau_ms = 10.0, cpu = 1.0 }\n",
    );
    let cpu_per_request = |rate: f64| {
        let out = run(&cal, &open(1, rate, 2e5, ""));
        let cpu_ms = out.processes["app"].cores_used / out.total.achieved_rps * 1e3;
        (cpu_ms, out.total.mean_us)
    };
    let (low, w_low) = cpu_per_request(100.0);
    let (high, _) = cpu_per_request(400.0);
    // At 100/s: idle with probability 1 − u and cooling as 1/(1 + λT), u ≈ 0.05.
    assert!(
        rel(low, 0.95 * 0.5) < 0.06,
        "{low} CPU-ms per request at 100/s"
    );
    assert!(
        rel(w_low, low * 1e3) < 0.10,
        "W = {w_low} µs is the CPU, queueing aside"
    );
    assert!(
        high < 0.6 * low,
        "{high} CPU-ms per request at 400/s, {low} at 100/s"
    );
    // Off the core (the default) the same wake burns no CPU.
    let off = station("{ fixed = 1.0 }").replace(
        "kind = \"monolith\"\n",
        "kind = \"monolith\"\nidle_wake = { us = 1000.0, tau_ms = 10.0 }\n",
    );
    let out = run(&off, &open(1, 100.0, 2e5, ""));
    let cpu_ms = out.processes["app"].cores_used / out.total.achieved_rps * 1e3;
    assert!(
        cpu_ms < 0.01,
        "{cpu_ms} CPU-ms per request with the wake off core"
    );
}

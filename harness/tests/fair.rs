//! A fair fight: the monolith as replicas behind the balancer (the gateway in balancer
//! mode), with real processes and a real PostgreSQL. One tiny monolith-only scenario (one
//! bring-up, one seed) holds the three checks, run one after the other so they do not
//! compete for the machine's two cores:
//!
//! - the kill of one replica of two fails no idempotent request (a read-only mix: every
//!   request may be retried, and the retry goes to the other replica);
//! - a rolling restart of two replicas under light load fails no request at all;
//! - a scale run gives non-zero throughput for one and two replicas.

use crm_bench::experiment::{self, RunOptions};
use crm_bench::results::Experiment;
use crm_bench::scenario::Scenario;

const FAIR: &str = r#"
name = "fair"
description = "the monolith's replicas behind the balancer: a kill, a rolling restart, scaling"
architectures = ["monolith"]
[data]
size = "small"
[load]
connections = 16
warmup_s = 1
duration_s = 4
[[experiment]]
kind = "fault"
name = "kill-one-replica"
target = "customers"
action = "kill"
replicas = 2
rate = 30
at_s = 1
for_s = 1.5
duration_s = 5
mix = { list_companies = 1, get_company = 2, get_contact = 2, list_opportunities = 1 }
[[experiment]]
kind = "deploy"
name = "rolling"
service = "customers"
mode = "rolling"
replicas = 2
rate = 15
at_s = 0.5
duration_s = 8
[[experiment]]
kind = "scale"
name = "scale-customers"
service = "customers"
replicas = [1, 2]
cpus_per_replica = 0.5
connections = 8
warmup_s = 1
duration_s = 3
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn monolith_replicas_survive_a_kill_roll_without_failures_and_scale() {
    let env = crm_bench::testing::env(env!("CARGO_BIN_EXE_crm-bench"));
    let scenario = Scenario::parse(FAIR, "fair.toml").unwrap();
    let opts = RunOptions {
        reports: env.settings.work_root.with_file_name("reports"),
        file: "fair.toml".into(),
        sut_cpus: None,
        load_cpus: None,
        workers: Vec::new(),
    };
    let (_, results) = experiment::run(&env, &scenario, &opts)
        .await
        .expect("the run");
    assert!(env.state.load().unwrap().is_none(), "torn down");
    let run = &results.runs[0];
    assert!(run.failures.is_empty(), "{:#?}", run.failures);

    let fault = run
        .experiments
        .iter()
        .find_map(|e| match e {
            Experiment::Fault(f) => Some(f),
            _ => None,
        })
        .expect("the kill");
    assert_eq!(fault.action, "kill", "a process kill, not a module fault");
    assert!(
        fault.method.contains("one replica of 2"),
        "{}",
        fault.method
    );
    let path = fault.path.as_deref().unwrap_or_default();
    assert!(path.contains("balancer"), "{path}");
    assert!(fault.run.requests > 50, "load ran: {}", fault.run.requests);
    assert_eq!(
        fault.run.failed, 0,
        "no idempotent request failed: {:?}",
        fault.run.total.errors
    );
    assert!(
        fault.affected_during.requests > 0,
        "the kill was under load"
    );

    let deploy = run
        .experiments
        .iter()
        .find_map(|e| match e {
            Experiment::Deploy(d) => Some(d),
            _ => None,
        })
        .expect("the rolling restart");
    assert_eq!((deploy.mode.as_str(), deploy.replicas), ("rolling", 2));
    assert_eq!(deploy.service, "monolith");
    assert!(deploy.requests_during > 0, "load during the roll");
    assert!(deploy.time_to_healthy_s > 0.0);
    assert_eq!(deploy.failed_during, 0, "{:?}", deploy.run.total.errors);
    assert_eq!(deploy.run.failed, 0, "{:?}", deploy.run.total.errors);

    let scale = run
        .experiments
        .iter()
        .find_map(|e| match e {
            Experiment::Scale(s) => Some(s),
            _ => None,
        })
        .expect("the scale run");
    assert_eq!(scale.service, "monolith");
    let replicas: Vec<u32> = scale.points.iter().map(|p| p.replicas).collect();
    assert_eq!(replicas, [1, 2]);
    for p in &scale.points {
        assert!(
            p.throughput_rps > 0.0,
            "x{}: {}",
            p.replicas,
            p.throughput_rps
        );
        assert!(p.efficiency > 0.0, "x{}: {}", p.replicas, p.efficiency);
    }
    assert!(
        results
            .verdicts
            .iter()
            .any(|v| v.metric == "scalability" && v.monolith.is_some_and(|e| e > 0.0)),
        "the scalability row has a monolith figure"
    );
}

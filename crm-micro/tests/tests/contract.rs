//! The same API contract suite as the monolith's, against the gateway of the microservices.

use crm_micro_tests::Cluster;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_contract_suite_passes_against_the_gateway() {
    let cluster = Cluster::start(env!("CARGO_BIN_EXE_crm-micro-node"))
        .await
        .expect("cluster");
    let report = crm_testkit::contract::run(
        &cluster.root(),
        std::env::var("CONTRACT_FILTER").ok().as_deref(),
    )
    .await;
    for name in &report.passed {
        eprintln!("passed {name}");
    }
    for (name, why) in &report.failed {
        eprintln!("FAILED {name}: {why}");
    }
    assert!(
        report.failed.is_empty(),
        "{} of {} contract checks failed",
        report.failed.len(),
        report.failed.len() + report.passed.len()
    );
}

//! The API contract suite against the monolith: a real server on a free port over a fresh
//! database in a private PostgreSQL cluster.

use crm_monolith::{Application, Settings};
use crm_testkit::pg::PgCluster;

async fn spawn_app() -> String {
    let url = PgCluster::shared()
        .fresh_database("mono")
        .await
        .expect("database");
    let app = Application::build(Settings::for_tests(url))
        .await
        .expect("build");
    let root = format!("http://{}", app.local_addr());
    tokio::spawn(app.run(std::future::pending()));
    root
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_contract_suite_passes_against_the_monolith() {
    let root = spawn_app().await;
    let report =
        crm_testkit::contract::run(&root, std::env::var("CONTRACT_FILTER").ok().as_deref()).await;
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

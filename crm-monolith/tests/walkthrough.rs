//! The README's walkthrough (scripts/walkthrough.sh: curl + jq) against a monolith started
//! with --seed-demo, so the README's promise is tested, not just written.

use std::time::Duration;

use crm_monolith::{Application, Settings};
use crm_testkit::pg::PgCluster;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_walkthrough_takes_a_demo_lead_to_a_won_opportunity() {
    let url = PgCluster::shared()
        .fresh_database("walk")
        .await
        .expect("database");
    let mut settings = Settings::for_tests(url);
    settings.seed_demo = true;
    let app = Application::build(settings).await.expect("build");
    let api = format!("http://{}/api/v1", app.local_addr());
    tokio::spawn(app.run(std::future::pending()));
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/walkthrough.sh");
    let out = tokio::time::timeout(
        Duration::from_secs(120),
        tokio::process::Command::new("bash")
            .arg(script)
            .env("API", &api)
            .output(),
    )
    .await
    .expect("walkthrough finished in time")
    .expect("bash runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    eprintln!("{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "walkthrough failed");
    assert!(
        stdout.contains("\"status\":\"won\""),
        "the opportunity was won"
    );
    assert!(stdout.ends_with("walkthrough complete\n"));
}

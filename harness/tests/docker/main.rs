//! The Docker runtime against the real engine: both architectures come up in containers built
//! locally, answer through the public API and leave nothing behind; faults act on containers;
//! images follow their binaries; our postgres image runs under testcontainers.
//!
//! The first run builds the images (about three minutes, debootstrap included); later runs
//! reuse them.

mod api_proxy;
mod external;
mod faults;
mod images;
mod lifecycle;
mod under_testcontainers;

use crm_bench::lifecycle::{Env, Up};
use crm_bench::runtime::Deployment;
use crm_bench::runtime::docker::client::Engine;
use crm_bench::runtime::docker::containers::{deployment_filter, deployment_id};
use crm_bench::topology::{Arch, RuntimeKind};

/// A private environment (state file, work root) for one test.
fn env() -> Env {
    crm_bench::testing::env(env!("CARGO_BIN_EXE_crm-bench"))
}

/// Brings `arch` up in containers and prints how long it took to be ready.
async fn up(env: &Env, arch: Arch) -> Up {
    let up = crm_bench::lifecycle::up(
        env,
        &crm_bench::testing::topology(arch, RuntimeKind::Docker),
    )
    .await
    .expect("up");
    println!(
        "docker runtime, {arch}: up to ready in {:.1} s",
        up.ready_after.as_secs_f64()
    );
    up
}

/// Ids of the containers carrying the deployment's label, whatever their state.
async fn labelled(engine: &Engine, d: &Deployment) -> Vec<String> {
    engine
        .list_labelled(&deployment_filter(&deployment_id(d)))
        .await
        .expect("list containers")
        .into_iter()
        .filter_map(|c| c.id)
        .collect()
}

/// Removes the test's private directory (the state file's parent).
fn remove_env(env: &Env) {
    if let Some(dir) = env.state.path().parent() {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// Logs in as the admin and creates a company through the public API; the status.
async fn create_company(d: &Deployment, name: &str) -> reqwest::StatusCode {
    let token = crm_bench::lifecycle::admin_token(d)
        .await
        .expect("log in as the admin");
    let domain = format!("{}.example", name.to_lowercase().replace(' ', "-"));
    let r = reqwest::Client::new()
        .post(format!("{}/api/v1/companies", d.public_url))
        .bearer_auth(&token)
        .json(&serde_json::json!({"name": name, "domain": domain}))
        .send()
        .await
        .expect("create a company");
    r.status()
}

//! Kill, pause and restart act on one instance's container; replicas come and go.

use std::time::Duration;

use crm_bench::lifecycle;
use crm_bench::runtime::{Deployment, Runtime, docker::DockerRuntime};
use crm_bench::topology::Arch;

async fn readyz(d: &Deployment, instance: &str) -> bool {
    let url = d.instance(instance).unwrap().url.clone().unwrap();
    reqwest::Client::new()
        .get(format!("{url}/readyz"))
        .timeout(Duration::from_secs(2))
        .send()
        .await
        .is_ok_and(|r| r.status() == 200)
}

async fn until(what: &str, mut check: impl AsyncFnMut() -> bool) {
    for _ in 0..100 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{what} did not happen within 10 s");
}

#[tokio::test]
async fn a_paused_service_stops_answering_and_a_killed_one_comes_back_on_restart() {
    let env = super::env();
    let mut d = super::up(&env, Arch::Micro).await.deployment;
    let rt = DockerRuntime::new(env.settings.clone());

    rt.pause(&d, "customers", true).await.expect("pause");
    assert!(
        !readyz(&d, "customers").await,
        "a paused service does not answer"
    );
    assert!(rt.alive(&d, "customers").await, "paused counts as running");
    rt.pause(&d, "customers", false).await.expect("unpause");
    assert!(
        readyz(&d, "customers").await,
        "it answers again once unpaused"
    );

    let before = d.instance("customers").unwrap().container.clone();
    rt.kill(&d, "customers").await.expect("kill");
    until("the killed container stopping", async || {
        !rt.alive(&d, "customers").await
    })
    .await;
    assert!(!readyz(&d, "customers").await);

    rt.restart(&mut d, "customers").await.expect("restart");
    let after = d.instance("customers").unwrap().container.clone();
    assert_ne!(before, after, "restart recreates the container");
    assert!(rt.alive(&d, "customers").await);
    assert!(readyz(&d, "customers").await);
    env.state.save(&d).unwrap();
    // The gateway finds the restarted service (same port) again.
    let mut status = reqwest::StatusCode::SERVICE_UNAVAILABLE;
    for _ in 0..50 {
        status = super::create_company(&d, "After Restart Ltd").await;
        if status == 201 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(status, 201, "a request reaches the restarted service");

    let logs = rt.logs(&d, "postgres", 50).await.expect("logs");
    assert!(logs.contains("ready to accept connections"), "{logs}");

    lifecycle::down(&env).await.expect("down");
    super::remove_env(&env);
}

#[tokio::test]
async fn scaling_a_service_adds_and_removes_its_containers() {
    let env = super::env();
    let mut d = super::up(&env, Arch::Micro).await.deployment;
    let rt = DockerRuntime::new(env.settings.clone());
    let engine = rt.engine().await.expect("engine").clone();
    let containers_before = super::labelled(&engine, &d).await.len();

    rt.scale(&mut d, "sales", 2).await.expect("scale out");
    env.state.save(&d).unwrap();
    assert_eq!(d.replicas("sales").len(), 2);
    assert!(readyz(&d, "sales#2").await);
    let registry: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.work_dir.join("registry.json")).unwrap()).unwrap();
    assert_eq!(registry["sales"].as_array().unwrap().len(), 2, "{registry}");
    assert_eq!(
        super::labelled(&engine, &d).await.len(),
        containers_before + 1
    );

    rt.scale(&mut d, "sales", 1).await.expect("scale in");
    env.state.save(&d).unwrap();
    assert_eq!(d.replicas("sales").len(), 1);
    assert_eq!(super::labelled(&engine, &d).await.len(), containers_before);

    lifecycle::down(&env).await.expect("down");
    super::remove_env(&env);
}

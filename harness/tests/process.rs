//! The process runtime brings each architecture up and down: a request through the public
//! API in between, and nothing left running afterwards.

use std::time::Duration;

use crm_bench::lifecycle;
use crm_bench::runtime::procfs;
use crm_bench::topology::{Arch, RuntimeKind};

async fn up_answer_and_down(arch: Arch) {
    let env = crm_bench::testing::env(env!("CARGO_BIN_EXE_crm-bench"));
    let up = lifecycle::up(
        &env,
        &crm_bench::testing::topology(arch, RuntimeKind::Process),
    )
    .await
    .expect("up");
    let d = up.deployment;
    assert_eq!(
        env.state.load().unwrap().as_ref(),
        Some(&d),
        "the state file records it"
    );

    let token = lifecycle::admin_token(&d)
        .await
        .expect("log in as the admin");
    let r = reqwest::Client::new()
        .post(format!("{}/api/v1/companies", d.public_url))
        .bearer_auth(&token)
        .json(&serde_json::json!({"name": "Runtime Test Ltd", "domain": "runtime-test.example"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());

    let pids: Vec<u32> = d.instances.iter().filter_map(|i| i.pid).collect();
    assert!(pids.len() >= 2, "postgres and the CRM at least: {pids:?}");
    assert!(pids.iter().all(|p| procfs::alive(*p)));

    lifecycle::down(&env).await.expect("down");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let left: Vec<u32> = pids.into_iter().filter(|p| procfs::alive(*p)).collect();
    assert!(left.is_empty(), "still running after down: {left:?}");
    assert!(
        env.state.load().unwrap().is_none(),
        "the state file is cleared"
    );
    assert!(!d.work_dir.exists(), "the work dir is removed");
}

#[tokio::test]
async fn the_monolith_comes_up_answers_and_leaves_nothing_behind() {
    up_answer_and_down(Arch::Monolith).await;
}

#[tokio::test]
async fn the_microservices_come_up_answer_and_leave_nothing_behind() {
    up_answer_and_down(Arch::Micro).await;
}

#[tokio::test]
async fn a_second_up_is_refused_while_one_is_recorded() {
    let env = crm_bench::testing::env(env!("CARGO_BIN_EXE_crm-bench"));
    let t = crm_bench::testing::topology(Arch::Monolith, RuntimeKind::Process);
    lifecycle::up(&env, &t).await.expect("up");
    let err = lifecycle::up(&env, &t).await.expect_err("a second up");
    assert!(err.to_string().contains("crm-bench down"), "{err}");
    assert!(
        env.state.load().unwrap().is_some(),
        "the first stays recorded"
    );
    lifecycle::down(&env).await.expect("down");
}

#[tokio::test]
async fn down_with_keep_stops_everything_but_keeps_the_logs() {
    let env = crm_bench::testing::env(env!("CARGO_BIN_EXE_crm-bench"));
    let t = crm_bench::testing::topology(Arch::Monolith, RuntimeKind::Process);
    let d = lifecycle::up(&env, &t).await.expect("up").deployment;
    let pids: Vec<u32> = d.instances.iter().filter_map(|i| i.pid).collect();
    lifecycle::down_keeping(&env, true)
        .await
        .expect("down --keep");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(pids.iter().all(|p| !procfs::alive(*p)), "nothing runs");
    assert!(env.state.load().unwrap().is_none(), "the state is cleared");
    let logs: Vec<_> = d
        .instances
        .iter()
        .filter_map(|i| i.log.clone())
        .filter(|l| l.exists())
        .collect();
    assert!(
        !logs.is_empty(),
        "the logs are kept in {}",
        d.work_dir.display()
    );
    assert!(lifecycle::log_hint(&d).contains(&d.work_dir.display().to_string()));
    std::fs::remove_dir_all(&d.work_dir).expect("remove the kept work dir");
}

#[tokio::test]
async fn monolith_replicas_come_up_behind_the_balancer() {
    let env = crm_bench::testing::env(env!("CARGO_BIN_EXE_crm-bench"));
    let mut t = crm_bench::testing::topology(Arch::Monolith, RuntimeKind::Process);
    t.apply_flags(&["monolith=2".into()], &[], &[]).unwrap();
    let d = lifecycle::up(&env, &t).await.expect("up").deployment;
    let balancer = d.instance("balancer").expect("a balancer");
    assert_eq!(
        d.public_url,
        balancer.url.clone().unwrap(),
        "reached through it"
    );
    assert_eq!(d.replicas("monolith").len(), 2);
    assert!(
        d.request_path().contains("one of 2 monolith replicas"),
        "{}",
        d.request_path()
    );
    let registry = std::fs::read_to_string(d.work_dir.join("registry.json")).unwrap();
    for r in d.replicas("monolith") {
        assert!(registry.contains(r.url.as_deref().unwrap()), "{registry}");
    }
    // Through the balancer, writes and reads land on either replica of the one database.
    let token = lifecycle::admin_token(&d).await.expect("log in");
    let http = reqwest::Client::new();
    for i in 0..4 {
        let r = http
            .post(format!("{}/api/v1/companies", d.public_url))
            .bearer_auth(&token)
            .json(&serde_json::json!({"name": format!("Balanced {i}")}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
    }
    for r in d.replicas("monolith") {
        let listed: serde_json::Value = http
            .get(format!(
                "{}/api/v1/companies?limit=50",
                r.url.as_deref().unwrap()
            ))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let text = listed.to_string();
        assert!(
            (0..4).all(|i| text.contains(&format!("Balanced {i}"))),
            "{text}"
        );
    }
    let pids: Vec<u32> = d.instances.iter().filter_map(|i| i.pid).collect();
    lifecycle::down(&env).await.expect("down");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        pids.iter().all(|p| !procfs::alive(*p)),
        "nothing left running"
    );
}

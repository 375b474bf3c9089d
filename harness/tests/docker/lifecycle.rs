//! Up, a request through the public API, down, and nothing left in the engine.

use crm_bench::lifecycle;
use crm_bench::runtime::{Runtime, docker::DockerRuntime};
use crm_bench::topology::Arch;

async fn up_answer_and_down(arch: Arch) {
    let env = super::env();
    let up = super::up(&env, arch).await;
    let d = up.deployment;
    assert_eq!(
        env.state.load().unwrap().as_ref(),
        Some(&d),
        "the state file records it"
    );
    let rt = DockerRuntime::new(env.settings.clone());
    let engine = rt.engine().await.expect("engine").clone();

    let status = super::create_company(&d, "Container Test Ltd").await;
    assert_eq!(status, 201, "a company is created through the public API");

    assert!(d.instances.iter().all(|i| i.container.is_some()));
    for i in &d.instances {
        assert!(rt.alive(&d, &i.name).await, "{} runs", i.name);
    }
    let labelled = super::labelled(&engine, &d).await;
    assert_eq!(
        labelled.len(),
        d.instances.len(),
        "one labelled container per instance"
    );

    let samples = rt.sample(&d).await.expect("sample");
    assert_eq!(samples.len(), d.instances.len(), "{samples:?}");
    let pg = samples.iter().find(|s| s.instance == "postgres").unwrap();
    assert!(pg.cpu_seconds > 0.0 && pg.rss_bytes > 0, "{pg:?}");

    lifecycle::down(&env).await.expect("down");
    assert!(
        super::labelled(&engine, &d).await.is_empty(),
        "no container of the deployment is left"
    );
    assert!(
        env.state.load().unwrap().is_none(),
        "the state file is cleared"
    );
    assert!(!d.work_dir.exists(), "the work dir is removed");
    rt.down(&d)
        .await
        .expect("a second down finds nothing to do");
    super::remove_env(&env);
}

#[tokio::test]
async fn the_monolith_comes_up_in_containers_answers_and_leaves_nothing_behind() {
    up_answer_and_down(Arch::Monolith).await;
}

#[tokio::test]
async fn the_microservices_come_up_in_containers_answer_and_leave_nothing_behind() {
    up_answer_and_down(Arch::Micro).await;
}

#[tokio::test]
async fn down_removes_a_labelled_container_the_state_file_does_not_record() {
    // A container started just before a crash is in the engine but not yet in the state
    // file: `down` finds it by the deployment's label.
    let env = super::env();
    let up = super::up(&env, Arch::Monolith).await;
    let mut recorded = up.deployment.clone();
    recorded.instances.retain(|i| i.service != "monolith");
    let rt = DockerRuntime::new(env.settings.clone());
    let engine = rt.engine().await.expect("engine").clone();
    rt.down(&recorded).await.expect("down");
    assert!(super::labelled(&engine, &up.deployment).await.is_empty());
    env.state.clear().unwrap();
    super::remove_env(&env);
}

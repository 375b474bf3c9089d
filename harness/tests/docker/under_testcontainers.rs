//! Our postgres image under testcontainers: it starts from the local image (never pulled),
//! creates the databases named in CRM_DATABASES (the path docker-compose.yml relies on) and
//! accepts connections.
//!
//! testcontainers takes its engine from `DOCKER_HOST` and speaks API 1.53, so the test runs
//! itself again as a child process with `DOCKER_HOST` pointing at an [`ApiVersionProxy`]
//! (setting the variable in this process would need `unsafe`, which the workspace forbids).

use std::path::PathBuf;

use sqlx::Connection;
use testcontainers::core::WaitFor;
use testcontainers::runners::AsyncRunner;
use testcontainers::{GenericImage, ImageExt};

use super::api_proxy::ApiVersionProxy;
use crm_bench::runtime::docker::client::Engine;
use crm_bench::runtime::docker::images::{self, Images};

const LABEL: &str = "crm-bench.test=testcontainers";

#[tokio::test]
async fn our_postgres_image_serves_the_crm_databases_under_testcontainers() {
    let engine = Engine::connect().await.expect("engine");
    let built = Images::new(engine.clone(), false);
    let base = built.base().await.expect("base image");
    built.postgres(&base).await.expect("postgres image");

    let socket = engine
        .host()
        .strip_prefix("unix://")
        .map(PathBuf::from)
        .expect("the engine on a unix socket");
    let version = engine.api_version();
    let (major, minor) = version.split_once('.').unwrap();
    let proxy = ApiVersionProxy::start(&socket, (major.parse().unwrap(), minor.parse().unwrap()));

    let out = tokio::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "under_testcontainers::postgres_under_testcontainers",
            "--ignored",
            "--nocapture",
        ])
        .env("DOCKER_HOST", proxy.docker_host())
        .output()
        .await
        .expect("run the testcontainers part");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "the testcontainers part failed:\n{stdout}\n{stderr}"
    );
    assert!(
        engine.list_labelled(LABEL).await.unwrap().is_empty(),
        "testcontainers removed its container"
    );
}

#[tokio::test]
#[ignore = "run by our_postgres_image_serves_the_crm_databases_under_testcontainers, through the API-version proxy"]
async fn postgres_under_testcontainers() {
    let port = crm_testkit::net::free_port();
    let (repo, tag) = images::POSTGRES.split_once(':').unwrap();
    let container = GenericImage::new(repo, tag)
        .with_wait_for(WaitFor::message_on_stderr(
            "database system is ready to accept connections",
        ))
        .with_network("host")
        .with_env_var("PGPORT", port.to_string())
        .with_env_var("CRM_DATABASES", "crm,identity customers")
        .with_cmd(["-c", "listen_addresses=127.0.0.1"])
        .with_label("crm-bench.test", "testcontainers")
        .start()
        .await
        .expect("start the postgres image under testcontainers");

    let mut conn =
        sqlx::PgConnection::connect(&format!("postgres://postgres@127.0.0.1:{port}/postgres"))
            .await
            .expect("connect");
    let version: String = sqlx::query_scalar("SELECT version()")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert!(version.starts_with("PostgreSQL 15"), "{version}");
    let dbs: Vec<String> = sqlx::query_scalar("SELECT datname::text FROM pg_database")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    for db in ["crm", "identity", "customers"] {
        assert!(dbs.iter().any(|d| d == db), "{db} missing from {dbs:?}");
    }
    conn.close().await.unwrap();
    container.rm().await.expect("remove the container");
}

//! The gateway in balancer mode in front of two replicas, each a small HTTP server in its
//! own runtime on its own thread, so "killing" one really closes its listener and every
//! connection at once, as a SIGKILL does: requests spread over both, idempotent requests
//! survive the kill (the retry goes to the other replica), the balancer's readiness follows
//! its replicas.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use clap::Parser;

/// A replica that answers `/readyz` and `/api/v1/who` with its name until it is killed.
struct Replica {
    url: String,
    kill: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Replica {
    fn start(name: &'static str) -> Replica {
        let (addr_tx, addr_rx) = std::sync::mpsc::channel::<SocketAddr>();
        let (kill, killed) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                addr_tx.send(listener.local_addr().unwrap()).unwrap();
                let app = Router::new()
                    .route("/readyz", get(|| async { "ready" }))
                    .route(
                        "/api/v1/who",
                        get(move || async move { name }).post(move || async move { name }),
                    );
                tokio::spawn(async move { axum::serve(listener, app).await });
                tokio::task::spawn_blocking(move || killed.recv())
                    .await
                    .ok();
            });
            // Dropping the runtime drops every task: listener and connections close.
            rt.shutdown_timeout(Duration::ZERO);
        });
        let addr = addr_rx.recv().expect("replica address");
        Replica {
            url: format!("http://{addr}"),
            kill: Some(kill),
            thread: Some(thread),
        }
    }

    fn kill(&mut self) {
        if let Some(k) = self.kill.take() {
            let _ = k.send(());
        }
        if let Some(t) = self.thread.take() {
            t.join().expect("replica thread");
        }
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        self.kill();
    }
}

async fn balancer(replicas: &[&Replica]) -> String {
    let urls = replicas
        .iter()
        .map(|r| r.url.clone())
        .collect::<Vec<_>>()
        .join(",");
    let settings = gateway::Settings::parse_from([
        "gateway",
        "--mode",
        "balancer",
        "--listen",
        "127.0.0.1:0",
        "--monolith",
        &urls,
        "--internal-secret",
        "s3cret",
        "--health-check-ms",
        "100",
    ]);
    let gw = gateway::Gateway::build(settings).await.expect("balancer");
    let url = format!("http://{}", gw.local_addr());
    tokio::spawn(gw.run(std::future::pending()));
    url
}

#[tokio::test]
async fn idempotent_requests_survive_the_kill_of_one_replica_of_two() {
    let a = Replica::start("a");
    let mut b = Replica::start("b");
    let url = balancer(&[&a, &b]).await;
    let http = reqwest::Client::new();
    let mut seen = Vec::new();
    for _ in 0..10 {
        let r = http.get(format!("{url}/api/v1/who")).send().await.unwrap();
        assert_eq!(r.status(), 200);
        seen.push(r.text().await.unwrap());
    }
    assert!(
        seen.contains(&"a".to_owned()) && seen.contains(&"b".to_owned()),
        "{seen:?}"
    );
    assert_eq!(
        http.get(format!("{url}/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    b.kill();
    // Straight after the kill, before any health check can notice: every GET, and every
    // POST that carries an idempotency key, is answered by the live replica.
    for i in 0..40 {
        let r = if i % 2 == 0 {
            http.get(format!("{url}/api/v1/who")).send().await.unwrap()
        } else {
            http.post(format!("{url}/api/v1/who"))
                .header("idempotency-key", format!("k{i}"))
                .send()
                .await
                .unwrap()
        };
        assert_eq!(r.status(), 200, "request {i}");
        assert_eq!(r.text().await.unwrap(), "a");
    }
    // The balancer's registry shows the dead replica as unhealthy once checks ran.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let view: serde_json::Value = http
        .get(format!("{url}/admin/registry"))
        .header("x-internal-secret", "s3cret")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let replicas = view["monolith"].as_array().expect("monolith replicas");
    assert_eq!(replicas.len(), 2);
    assert!(replicas.iter().any(|r| r["healthy"] == false), "{view}");
    assert_eq!(
        http.get(format!("{url}/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn with_no_live_replica_it_is_not_ready_and_answers_503() {
    let mut a = Replica::start("a");
    let url = balancer(&[&a]).await;
    let http = reqwest::Client::new();
    assert_eq!(
        http.get(format!("{url}/api/v1/who"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    a.kill();
    let r = http.get(format!("{url}/api/v1/who")).send().await.unwrap();
    assert_eq!(r.status(), 503, "one replica: no other to retry on");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        http.get(format!("{url}/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        503
    );
}

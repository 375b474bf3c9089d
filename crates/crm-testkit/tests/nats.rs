use std::path::Path;

use crm_testkit::nats::NatsServer;
use tokio::io::{AsyncBufReadExt, BufReader};

/// The server's greeting: `INFO {...}` with its settings as JSON.
async fn info(server: &NatsServer) -> serde_json::Value {
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", server.port()))
        .await
        .expect("connect");
    let mut line = String::new();
    BufReader::new(stream)
        .read_line(&mut line)
        .await
        .expect("read INFO");
    let json = line.strip_prefix("INFO ").expect("INFO line");
    serde_json::from_str(json).expect("INFO json")
}

fn running(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

#[tokio::test]
async fn a_private_server_runs_jetstream_survives_a_restart_and_leaves_nothing_behind() {
    let nats = NatsServer::start().await.expect("start nats-server");
    assert_eq!(nats.url(), format!("nats://127.0.0.1:{}", nats.port()));
    let greeting = info(&nats).await;
    assert_eq!(greeting["jetstream"], true, "JetStream enabled: {greeting}");
    assert_eq!(greeting["port"], nats.port());
    let pid = nats.pid().expect("pid while running");
    let dir = nats.dir().to_owned();
    assert!(
        dir.join("store").exists(),
        "JetStream store in the temp dir"
    );

    nats.halt().await.expect("halt");
    assert!(!running(pid), "halted server is gone");
    assert_eq!(nats.pid(), None);
    assert!(dir.join("store").exists(), "store kept while halted");

    nats.restart().await.expect("restart");
    let again = nats.pid().expect("pid after restart");
    assert_ne!(again, pid);
    assert_eq!(info(&nats).await["jetstream"], true);

    // A killed server comes back too.
    std::process::Command::new("kill")
        .args(["-KILL", &again.to_string()])
        .status()
        .unwrap();
    nats.restart().await.expect("restart after SIGKILL");
    let third = nats.pid().expect("pid after second restart");

    nats.stop().await;
    assert!(!dir.exists(), "server dir removed");
    assert!(!running(third), "server stopped");
}

#[tokio::test]
async fn the_shared_server_is_started_once() {
    let a = NatsServer::shared();
    let b = NatsServer::shared();
    assert_eq!(a.port(), b.port());
    assert_eq!(info(a).await["jetstream"], true);
}

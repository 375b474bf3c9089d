//! Ctrl-c with goose in the process: goose installs a SIGINT handler over whatever is there
//! when an attack starts, which would silence tokio's (and so the harness's cleanup on
//! ctrl-c). With `install_interrupt_handler` called first, both still hear it. Its own test
//! binary: signal handlers are process-wide.

#[allow(dead_code)]
#[path = "load/server.rs"]
mod server;

use std::time::Duration;

use crm_load::Target;
use crm_load::goose::prelude::*;
use crm_load::journeys::{JourneyConfig, Journeys, install_interrupt_handler, send};
use tokio::signal::unix::{SignalKind, signal};

async fn browse(user: &mut GooseUser) -> TransactionResult {
    send(user, "browse", GooseRequest::builder().path("/ok").build()).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_reaches_tokio_and_goose_after_a_goose_run() {
    install_interrupt_handler();
    // What the harness does: listen for ctrl-c through tokio, before any load runs.
    let mut interrupts = signal(SignalKind::interrupt()).unwrap();

    let server = server::TestServer::start().await;
    let target = Target::parse(&server.url()).unwrap();
    let mut config = JourneyConfig::new(1, Duration::from_secs(1));
    config.think_max = Duration::from_millis(10);
    let scenario = scenario!("browse").register_transaction(transaction!(browse));
    let r = Journeys::new(&target, config)
        .scenario(scenario)
        .unwrap()
        .run()
        .await
        .unwrap();
    assert!(r.totals.requests > 0);
    assert!(!crm_load::goose::is_killswitch_triggered());

    let kill = std::process::Command::new("kill")
        .args(["-INT", &std::process::id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    tokio::time::timeout(Duration::from_secs(10), interrupts.recv())
        .await
        .expect("tokio heard ctrl-c")
        .unwrap();
    // The ctrl-c thread of the handler trips goose's kill switch shortly after.
    let mut tripped = false;
    for _ in 0..100 {
        if crm_load::goose::is_killswitch_triggered() {
            tripped = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(tripped, "goose heard ctrl-c");
    crm_load::goose::reset_killswitch();
}

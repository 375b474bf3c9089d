//! Goose journeys: a small closed-loop run records every request in the histograms, with
//! counts equal to the server's.

use std::path::Path;
use std::time::Duration;

use crm_load::Target;
use crm_load::goose::prelude::*;
use crm_load::journeys::{JourneyConfig, Journeys, send};

use crate::secs;
use crate::server::{Counts, TestServer};

async fn log_in(user: &mut GooseUser) -> TransactionResult {
    let builder = user
        .get_request_builder(&GooseMethod::Post, "/echo")?
        .body(r#"{"user":"bench"}"#);
    let request = GooseRequest::builder().set_request_builder(builder).build();
    let response = send(user, "login", request).await?;
    assert_eq!(response.body, r#"{"user":"bench"}"#);
    Ok(())
}

async fn browse(user: &mut GooseUser) -> TransactionResult {
    send(user, "browse", GooseRequest::builder().path("/ok").build()).await?;
    Ok(())
}

async fn break_something(user: &mut GooseUser) -> TransactionResult {
    let request = GooseRequest::builder().path("/status/500").build();
    let response = send(user, "break", request).await?;
    assert_eq!(response.status, 500);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn goose_journeys_record_every_request_with_the_servers_counts() {
    let server = TestServer::start().await;
    let target = Target::parse(&server.url()).unwrap();
    let runs_folder_before = Path::new("goose-runs").exists();
    let mut config = JourneyConfig::new(3, secs(2.0));
    config.hatch_rate = 10.0;
    config.think_min = Duration::from_millis(5);
    config.think_max = Duration::from_millis(15);
    config.bucket = secs(0.5);
    let scenario = scenario!("sales rep")
        .register_transaction(transaction!(log_in).set_on_start())
        .register_transaction(transaction!(browse))
        .register_transaction(transaction!(break_something));
    let r = Journeys::new(&target, config)
        .scenario(scenario)
        .unwrap()
        .run()
        .await
        .unwrap();

    let c = server.counts();
    let (login, browse, broken) = (
        r.op("login").unwrap(),
        r.op("browse").unwrap(),
        r.op("break").unwrap(),
    );
    assert_eq!(login.requests, 3, "one log-in per user");
    assert_eq!(login.requests, Counts::get(&c.echo));
    assert!(browse.requests > 10, "{}", browse.requests);
    assert_eq!(browse.requests, Counts::get(&c.ok));
    assert_eq!(browse.ok, browse.requests);
    assert_eq!(broken.requests, Counts::get(&c.status));
    assert_eq!(broken.errors.server[&500], broken.requests);
    for op in [login, browse, broken] {
        assert_eq!(op.corrected_histogram.count(), op.requests);
        assert_eq!(op.corrected, op.uncorrected);
        assert!(op.corrected.min_us > 0);
    }
    assert_eq!(r.totals.requests, Counts::get(&c.total));
    assert!(r.achieved_rate > 0.0);
    assert_eq!(
        Path::new("goose-runs").exists(),
        runs_folder_before,
        "goose wrote a run folder"
    );
}

//! Kill the monolith (SIGKILL) while writes and event dispatch are in flight, restart it on
//! the same database, and check that nothing acknowledged was lost and every event was
//! applied exactly once by every handler.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crm_testkit::net::{free_port, wait_for_port};
use crm_testkit::pg::PgCluster;
use serde_json::{Value, json};

fn start(db: &str, port: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_crm-monolith"))
        .env("CRM_DATABASE_URL", db)
        .env("CRM_LISTEN", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start crm-monolith")
}

async fn ready(port: u16) {
    wait_for_port(port, Duration::from_secs(60))
        .await
        .expect("listening");
    let http = reqwest::Client::new();
    for _ in 0..600 {
        let r = http
            .get(format!("http://127.0.0.1:{port}/readyz"))
            .send()
            .await;
        if r.is_ok_and(|r| r.status() == 200) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("not ready");
}

/// Fires `n` concurrent creates and kills the server once `kill_after` were acknowledged;
/// returns the ids of the acknowledged ones.
async fn write_and_kill(
    base: &str,
    token: &str,
    child: &mut Child,
    n: usize,
    kill_after: usize,
) -> Vec<String> {
    let http = reqwest::Client::new();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(String, String)>();
    for i in 0..n {
        let (http, tx, base, token) = (http.clone(), tx.clone(), base.to_owned(), token.to_owned());
        tokio::spawn(async move {
            let (path, body) = if i % 2 == 0 {
                ("companies", json!({"name": format!("Crash {i}")}))
            } else {
                (
                    "leads",
                    json!({"name": format!("Lead {i}"), "source": "web"}),
                )
            };
            let r = http
                .post(format!("{base}/{path}"))
                .bearer_auth(&token)
                .json(&body)
                .send()
                .await;
            if let Ok(r) = r
                && r.status() == 201
                && let Ok(v) = r.json::<Value>().await
            {
                let _ = tx.send((
                    path.to_owned(),
                    v["id"].as_str().unwrap_or_default().to_owned(),
                ));
            }
        });
    }
    drop(tx);
    let mut acked = Vec::new();
    while let Some((_, id)) = rx.recv().await {
        acked.push(id);
        if acked.len() == kill_after {
            child.kill().expect("SIGKILL");
        }
    }
    let _ = child.wait();
    acked
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_monolith_loses_no_acknowledged_write_and_applies_every_event_once() {
    let db = PgCluster::shared()
        .fresh_database("crash")
        .await
        .expect("database");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}/api/v1");
    let mut child = start(&db, port);
    ready(port).await;
    let signup: Value = reqwest::Client::new()
        .post(format!("{base}/auth/signup"))
        .json(&json!({"tenant_name": "Crash Co", "name": "A", "email": "crash@test.io", "password": "long enough pw"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = signup["access_token"].as_str().unwrap().to_owned();

    let pool = sqlx::PgPool::connect(&db).await.unwrap();
    let pending = |pool: sqlx::PgPool| async move {
        sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM crm_core.outbox WHERE published_at IS NULL",
        )
        .fetch_one(&pool)
        .await
        .unwrap()
    };
    let mut acked = write_and_kill(&base, &token, &mut child, 400, 150).await;
    let pending_at_first_kill = pending(pool.clone()).await;
    // A second crash, right after restart, while the relay catches up with the backlog.
    let mut child = start(&db, port);
    ready(port).await;
    acked.extend(write_and_kill(&base, &token, &mut child, 200, 50).await);
    let pending_at_second_kill = pending(pool.clone()).await;
    assert!(
        pending_at_first_kill + pending_at_second_kill > 0,
        "the kills must catch events still in the outbox, or this test proves nothing"
    );

    let mut child = start(&db, port);
    ready(port).await;
    let mut backlog = i64::MAX;
    for _ in 0..600 {
        backlog =
            sqlx::query_scalar("SELECT count(*) FROM crm_core.outbox WHERE published_at IS NULL")
                .fetch_one(&pool)
                .await
                .unwrap();
        if backlog == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(backlog, 0, "the relay drained the outbox after restart");

    // Nothing acknowledged is lost, and nothing is there twice.
    let stored: Vec<String> = sqlx::query_scalar(
        "SELECT id::text FROM crm_customers.companies UNION ALL SELECT id::text FROM crm_leads.leads",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    for id in &acked {
        assert_eq!(
            stored.iter().filter(|s| *s == id).count(),
            1,
            "acknowledged record {id} stored exactly once"
        );
    }
    // Every record written has its created event, and every event was applied once by each
    // handler that wants it: one timeline entry per event, leads projected once each.
    let (records, created_events): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM crm_customers.companies) + (SELECT count(*) FROM crm_leads.leads),
                (SELECT count(*) FROM crm_core.outbox WHERE event IN ('company.created', 'lead.created'))",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(records, created_events, "one event per committed write");
    let (entries, distinct): (i64, i64) = sqlx::query_as(
        "SELECT count(*), count(DISTINCT event_id) FROM crm_activities.timeline_entries",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        (entries, distinct),
        (created_events, created_events),
        "each event on the timeline exactly once"
    );
    let projected: i64 = sqlx::query_scalar("SELECT count(*) FROM crm_analytics.leads")
        .fetch_one(&pool)
        .await
        .unwrap();
    let leads: i64 = sqlx::query_scalar("SELECT count(*) FROM crm_leads.leads")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(projected, leads, "every lead projected");
    let parked: i64 = sqlx::query_scalar("SELECT count(*) FROM crm_core.dead_letters")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(parked, 0, "no event parked");
    eprintln!(
        "acknowledged {} writes across two crashes ({pending_at_first_kill} and {pending_at_second_kill} events pending at the kills); {records} records, {created_events} events",
        acked.len()
    );
    child.kill().ok();
    let _ = child.wait();
}

use std::time::Duration;

use chrono::{DateTime, Utc};
use crm_core::outbox;
use crm_core::{Backoff, EventEnvelope, Role};
use serde_json::{Value, json};
use uuid::Uuid;

use crm_notifications::Settings;

use crate::receiver::{Behaviour, Receiver};
use crate::{create_webhook, deliveries_of, delivery_in_status, id, spawn};

const SECRET: &str = "test-secret-0123456789";

fn at(v: &Value) -> DateTime<Utc> {
    v.as_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn a_delivery_is_signed_and_the_receiver_verifies_it() {
    let app = spawn().await;
    let admin = app.server.new_tenant(Role::Admin);
    let receiver = Receiver::start(Behaviour::Succeed, SECRET).await;
    let w = create_webhook(
        &admin,
        &receiver.url,
        &["company.*"],
        json!({"secret": SECRET}),
    )
    .await;
    let record_id = Uuid::now_v7();
    let event = EventEnvelope::new(
        &admin.actor,
        "company",
        "updated",
        record_id,
        json!({"id": record_id, "name": "Acme Ltd"}),
    )
    .with_changes(json!({"name": {"from": "Acme", "to": "Acme Ltd"}}));
    outbox::apply(&app.pool, &app.svc.handler(), &event)
        .await
        .unwrap();

    let deliverer = app.deliverer(Settings::for_tests());
    assert_eq!(deliverer.run_once().await.unwrap(), 1);
    let hits = receiver.wait_for(1).await;
    let hit = &hits[0];
    assert!(hit.signature_ok, "the receiver verified the signature");
    let delivery_id = id(&deliveries_of(&admin, &id(&w)).await[0]);
    assert_eq!(hit.header("content-type"), "application/json");
    assert_eq!(hit.header("user-agent"), "crm-bench-webhooks/1");
    assert_eq!(hit.header("x-crm-event"), "company.updated");
    assert_eq!(hit.header("x-crm-delivery"), delivery_id);
    let ts: i64 = hit.header("x-crm-timestamp").parse().unwrap();
    assert!((Utc::now().timestamp() - ts).abs() < 60);
    let mut keys: Vec<&str> = hit
        .body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "changes",
            "data",
            "event",
            "event_id",
            "object",
            "occurred_at",
            "record_id",
            "tenant_id"
        ]
    );
    assert_eq!(hit.body["event_id"], event.event_id.to_string());
    assert_eq!(hit.body["changes"]["name"]["to"], "Acme Ltd");

    let d = admin
        .get(&format!("/webhook-deliveries/{delivery_id}"))
        .await
        .expect(200);
    assert_eq!(d["status"], "succeeded");
    assert_eq!(d["attempts"], 1);
    assert_eq!(d["last_status_code"], 204);
    assert!(d["delivered_at"].is_string());
    assert!(d["next_attempt_at"].is_null());
    assert_eq!(d["attempt_log"].as_array().unwrap().len(), 1);
    assert_eq!(d["attempt_log"][0]["status_code"], 204);
    // Nothing is left to send.
    assert_eq!(deliverer.run_once().await.unwrap(), 0);
}

#[tokio::test]
async fn a_rotated_secret_signs_later_deliveries() {
    let app = spawn().await;
    let admin = app.server.new_tenant(Role::Admin);
    let receiver = Receiver::start(Behaviour::Succeed, "").await;
    let w = create_webhook(&admin, &receiver.url, &["opportunity.won"], json!({})).await;
    let wid = id(&w);
    receiver.set_secret(w["secret"].as_str().unwrap());
    let deliverer = app.deliverer(Settings::for_tests());
    admin
        .post(&format!("/webhooks/{wid}/ping"), &json!({}))
        .await
        .expect(202);
    deliverer.run_once().await.unwrap();
    let hit = receiver.wait_for(1).await.remove(0);
    assert!(hit.signature_ok, "signed with the generated secret");
    assert_eq!(hit.body["event"], "webhook.ping");

    let rotated = admin
        .post(&format!("/webhooks/{wid}/rotate-secret"), &json!({}))
        .await
        .expect(200);
    admin
        .post(&format!("/webhooks/{wid}/ping"), &json!({}))
        .await
        .expect(202);
    deliverer.run_once().await.unwrap();
    assert!(
        !receiver.wait_for(2).await[1].signature_ok,
        "the old secret no longer verifies"
    );
    receiver.set_secret(rotated["secret"].as_str().unwrap());
    admin
        .post(&format!("/webhooks/{wid}/ping"), &json!({}))
        .await
        .expect(202);
    deliverer.run_once().await.unwrap();
    assert!(
        receiver.wait_for(3).await[2].signature_ok,
        "the new secret verifies"
    );
}

#[tokio::test]
async fn a_failing_receiver_is_retried_with_backoff_until_it_succeeds() {
    let app = spawn().await;
    let admin = app.server.new_tenant(Role::Admin);
    let receiver = Receiver::start(Behaviour::FailFirst(2), SECRET).await;
    let w = create_webhook(&admin, &receiver.url, &["*"], json!({"secret": SECRET})).await;
    let settings = Settings {
        backoff: Backoff {
            first: Duration::from_millis(100),
            max: Duration::from_secs(1),
            ..Settings::default().backoff
        },
        ..Settings::for_tests()
    };
    app.start_deliverer(settings);
    let ping = admin
        .post(&format!("/webhooks/{}/ping", id(&w)), &json!({}))
        .await
        .expect(202);
    let d = delivery_in_status(&admin, &id(&ping), "succeeded").await;
    assert_eq!(d["attempts"], 3);
    assert_eq!(d["last_status_code"], 204);
    assert!(d["last_error"].is_null());
    let log = d["attempt_log"].as_array().unwrap();
    let codes: Vec<i64> = log
        .iter()
        .map(|a| a["status_code"].as_i64().unwrap())
        .collect();
    assert_eq!(codes, [500, 500, 204]);
    assert!(log[0]["error"].as_str().unwrap().contains("500"));
    assert_eq!(
        log.iter()
            .map(|a| a["attempt"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        [1, 2, 3]
    );
    // Exponential backoff with ±20% jitter: ≥ 80 ms, then ≥ 160 ms between attempts.
    let gap = |i: usize| (at(&log[i + 1]["at"]) - at(&log[i]["at"])).num_milliseconds();
    assert!(gap(0) >= 80, "first retry after {} ms", gap(0));
    assert!(gap(1) >= 160, "second retry after {} ms", gap(1));
    let hits = receiver.hits();
    let answered: Vec<u16> = hits.iter().map(|h| h.answered).collect();
    assert_eq!(answered, [500, 500, 204]);
    assert!(hits.iter().all(|h| h.signature_ok));
    assert!(hits.iter().all(|h| h.header("x-crm-delivery") == id(&ping)));
}

#[tokio::test]
async fn a_receiver_that_always_fails_leaves_the_delivery_dead_after_max_attempts() {
    let app = spawn().await;
    let admin = app.server.new_tenant(Role::Admin);
    let receiver = Receiver::start(Behaviour::AlwaysFail, SECRET).await;
    let w = create_webhook(&admin, &receiver.url, &["*"], json!({"secret": SECRET})).await;
    app.start_deliverer(Settings {
        max_attempts: 4,
        ..Settings::for_tests()
    });
    let ping = admin
        .post(&format!("/webhooks/{}/ping", id(&w)), &json!({}))
        .await
        .expect(202);
    let d = delivery_in_status(&admin, &id(&ping), "dead").await;
    assert_eq!(d["attempts"], 4);
    assert_eq!(d["last_status_code"], 503);
    assert!(d["last_error"].as_str().unwrap().contains("503"));
    assert!(d["next_attempt_at"].is_null());
    assert!(d["delivered_at"].is_null());
    assert_eq!(d["attempt_log"].as_array().unwrap().len(), 4);
    // A dead delivery is left alone.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.hits().len(), 4);
}

#[tokio::test]
async fn redelivering_sends_a_finished_delivery_again_and_keeps_its_attempts() {
    let app = spawn().await;
    let admin = app.server.new_tenant(Role::Admin);
    let receiver = Receiver::start(Behaviour::FailFirst(2), SECRET).await;
    let w = create_webhook(&admin, &receiver.url, &["*"], json!({"secret": SECRET})).await;
    let ping = admin
        .post(&format!("/webhooks/{}/ping", id(&w)), &json!({}))
        .await
        .expect(202);
    let did = id(&ping);
    // Still pending (nothing sends yet): redelivering it is not a transition.
    let r = admin
        .post(&format!("/webhook-deliveries/{did}/redeliver"), &json!({}))
        .await;
    assert_eq!(
        (r.status.as_u16(), r.problem()),
        (409, "invalid-transition")
    );
    let manager = admin.with_role(&app.server, Role::Manager);
    let r = manager
        .post(&format!("/webhook-deliveries/{did}/redeliver"), &json!({}))
        .await;
    assert_eq!(r.status, 403);

    app.start_deliverer(Settings {
        max_attempts: 2,
        ..Settings::for_tests()
    });
    delivery_in_status(&admin, &did, "dead").await;
    let again = admin
        .post(&format!("/webhook-deliveries/{did}/redeliver"), &json!({}))
        .await
        .expect(202);
    assert_eq!(
        (again["status"].as_str(), again["attempts"].as_i64()),
        (Some("pending"), Some(2))
    );
    let d = delivery_in_status(&admin, &did, "succeeded").await;
    assert_eq!(d["attempts"], 3);
    assert_eq!(d["attempt_log"].as_array().unwrap().len(), 3);

    // A succeeded delivery can be sent again too.
    admin
        .post(&format!("/webhook-deliveries/{did}/redeliver"), &json!({}))
        .await
        .expect(202);
    receiver.wait_for(4).await;
    let d = delivery_in_status(&admin, &did, "succeeded").await;
    assert_eq!(d["attempts"], 4);
}

#[tokio::test]
async fn a_delivery_whose_worker_died_mid_request_is_retried_after_its_lease() {
    let app = spawn().await;
    let admin = app.server.new_tenant(Role::Admin);
    let receiver = Receiver::start(Behaviour::HangFirst(1), SECRET).await;
    let w = create_webhook(&admin, &receiver.url, &["*"], json!({"secret": SECRET})).await;
    let settings = Settings {
        timeout: Duration::from_secs(1),
        lease_margin: Duration::from_millis(500),
        ..Settings::for_tests()
    };
    let ping = admin
        .post(&format!("/webhooks/{}/ping", id(&w)), &json!({}))
        .await
        .expect(202);
    let did = id(&ping);

    // The first worker claims the delivery and "crashes" while the receiver hangs.
    let crashed = app.deliverer(settings.clone());
    let worker = tokio::spawn(async move { crashed.run_once().await });
    receiver.wait_for(1).await;
    worker.abort();
    let _ = worker.await;
    let d = admin
        .get(&format!("/webhook-deliveries/{did}"))
        .await
        .expect(200);
    assert_eq!(
        (d["status"].as_str(), d["attempts"].as_i64()),
        (Some("pending"), Some(0))
    );
    assert!(at(&d["next_attempt_at"]) > Utc::now(), "leased: {d}");

    // Another worker leaves it alone while the lease lasts, and takes it over afterwards.
    let survivor = app.deliverer(settings.clone());
    assert_eq!(survivor.run_once().await.unwrap(), 0);
    tokio::time::sleep(settings.lease() + Duration::from_millis(200)).await;
    assert_eq!(survivor.run_once().await.unwrap(), 1);
    let d = delivery_in_status(&admin, &did, "succeeded").await;
    assert_eq!(d["attempts"], 1);
    assert_eq!(d["attempt_log"].as_array().unwrap().len(), 1);
    let hits = receiver.hits();
    assert_eq!(hits.len(), 2);
    assert_eq!(
        hits[0].header("x-crm-delivery"),
        hits[1].header("x-crm-delivery")
    );
}

#[tokio::test]
async fn queued_deliveries_of_a_deactivated_webhook_fail_and_cannot_be_redelivered() {
    let app = spawn().await;
    let admin = app.server.new_tenant(Role::Admin);
    let receiver = Receiver::start(Behaviour::Succeed, SECRET).await;
    let w = create_webhook(&admin, &receiver.url, &["*"], json!({"secret": SECRET})).await;
    let wid = id(&w);
    let ping = admin
        .post(&format!("/webhooks/{wid}/ping"), &json!({}))
        .await
        .expect(202);
    admin
        .patch(&format!("/webhooks/{wid}"), 1, &json!({"active": false}))
        .await
        .expect(200);
    let deliverer = app.deliverer(Settings::for_tests());
    assert_eq!(deliverer.run_once().await.unwrap(), 1);
    let d = delivery_in_status(&admin, &id(&ping), "failed").await;
    assert_eq!(d["attempts"], 0);
    assert!(d["last_error"].as_str().unwrap().contains("inactive"));
    assert!(receiver.hits().is_empty());
    let r = admin
        .post(
            &format!("/webhook-deliveries/{}/redeliver", id(&ping)),
            &json!({}),
        )
        .await;
    assert_eq!((r.status.as_u16(), r.problem()), (409, "webhook-inactive"));
    let r = admin
        .post(&format!("/webhooks/{wid}/ping"), &json!({}))
        .await;
    assert_eq!((r.status.as_u16(), r.problem()), (409, "webhook-inactive"));
}

use std::sync::Arc;
use std::time::Duration;

use crm_core::outbox::{self, EventHandler, LocalDispatcher, Relay};
use crm_core::{EventEnvelope, Role};
use serde_json::json;
use uuid::Uuid;

use crm_notifications::Settings;

use crate::receiver::{Behaviour, Receiver};
use crate::{create_webhook, deliveries_of, id, spawn};

#[tokio::test]
async fn the_handler_queues_an_event_once_for_each_matching_active_webhook_of_its_tenant() {
    let app = spawn().await;
    let a = app.server.new_tenant(Role::Admin);
    let b = app.server.new_tenant(Role::Admin);
    let url = "https://example.com/in";
    let exact = id(&create_webhook(&a, url, &["company.created"], json!({})).await);
    let object = id(&create_webhook(&a, url, &["contact.created", "company.*"], json!({})).await);
    let all = id(&create_webhook(&a, url, &["*"], json!({})).await);
    let other_event =
        id(&create_webhook(&a, url, &["company.updated", "contact.*"], json!({})).await);
    let inactive = id(&create_webhook(&a, url, &["*"], json!({"active": false})).await);
    let deleted = id(&create_webhook(&a, url, &["*"], json!({})).await);
    a.delete(&format!("/webhooks/{deleted}")).await.expect(200);
    let foreign = id(&create_webhook(&b, url, &["*"], json!({})).await);

    let record_id = Uuid::now_v7();
    let event = EventEnvelope::new(
        &a.actor,
        "company",
        "created",
        record_id,
        json!({"id": record_id, "name": "Acme"}),
    );
    let handler = app.svc.handler();
    assert!(outbox::apply(&app.pool, &handler, &event).await.unwrap());
    // The same event again: already processed.
    assert!(!outbox::apply(&app.pool, &handler, &event).await.unwrap());
    // Even handled again behind the processed-events guard, it queues nothing new.
    let mut tx = app.pool.begin().await.unwrap();
    handler.handle(&mut tx, &event).await.unwrap();
    tx.commit().await.unwrap();

    for wid in [&exact, &object, &all] {
        let ds = deliveries_of(&a, wid).await;
        assert_eq!(ds.len(), 1, "webhook {wid}");
        let d = &ds[0];
        assert_eq!(d["status"], "pending");
        assert_eq!(d["attempts"], 0);
        assert_eq!(d["event_id"], event.event_id.to_string());
        assert_eq!(d["payload"]["event"], "company.created");
        assert_eq!(d["payload"]["object"], "company");
        assert_eq!(d["payload"]["record_id"], record_id.to_string());
        assert_eq!(d["payload"]["tenant_id"], a.actor.tenant_id.to_string());
        assert_eq!(d["payload"]["data"]["name"], "Acme");
    }
    for wid in [&other_event, &inactive, &deleted] {
        assert!(deliveries_of(&a, wid).await.is_empty(), "webhook {wid}");
    }
    assert!(deliveries_of(&b, &foreign).await.is_empty());
}

#[tokio::test]
async fn an_event_from_the_outbox_reaches_a_subscribed_receiver_without_waiting_for_a_poll() {
    let app = spawn().await;
    let admin = app.server.new_tenant(Role::Admin);
    let receiver = Receiver::start(Behaviour::Succeed, "receiver-secret-0001").await;
    create_webhook(
        &admin,
        &receiver.url,
        &["webhook.created"],
        json!({"secret": "receiver-secret-0001"}),
    )
    .await;
    // Creating a second webhook writes `webhook.created` to the outbox.
    let second = create_webhook(&admin, "https://example.com/other", &["lead.*"], json!({})).await;

    // Only the handler's wake-up can make this deliverer send within the test's patience.
    app.start_deliverer(Settings {
        poll: Duration::from_secs(3600),
        ..Settings::for_tests()
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let handlers: Vec<Arc<dyn EventHandler>> = vec![Arc::new(app.svc.handler())];
    let relay = Relay::new(
        app.pool.clone(),
        Arc::new(LocalDispatcher::new(app.pool.clone(), handlers)),
    );
    assert!(relay.run_once().await.unwrap() >= 2);

    // The subscribed webhook hears of its own creation too: fan-out happens when the event
    // is handled, against the webhooks that exist then.
    let hits = receiver.wait_for(2).await;
    let hit = hits
        .iter()
        .find(|h| h.body["record_id"] == second["id"])
        .expect("the second webhook's creation was delivered");
    assert!(hit.signature_ok);
    assert_eq!(hit.header("x-crm-event"), "webhook.created");
    assert_eq!(hit.body["data"]["url"], "https://example.com/other");
    assert!(
        hit.body["data"].get("secret").is_none(),
        "events never carry the secret"
    );
    assert_eq!(hit.body["data"]["secret_prefix"], second["secret_prefix"]);
}

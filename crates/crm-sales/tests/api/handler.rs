use crm_core::outbox::{self, EventHandler};
use crm_core::{EventEnvelope, Role};
use crm_sales::SalesEvents;
use serde_json::json;

use crate::{events_of, id, spawn};

async fn merged_event(pool: &sqlx::PgPool, name: &str) -> EventEnvelope {
    let payload: serde_json::Value = sqlx::query_scalar(
        "SELECT payload FROM crm_core.outbox WHERE event = $1 ORDER BY seq DESC LIMIT 1",
    )
    .bind(name)
    .fetch_one(pool)
    .await
    .expect("merged event");
    serde_json::from_value(payload).expect("envelope")
}

#[tokio::test]
async fn merging_companies_repoints_their_opportunities_once() {
    let (server, pool, _) = spawn().await;
    let m = server.new_tenant(Role::Manager);
    let keep = m
        .post("/companies", &json!({"name": "Acme"}))
        .await
        .expect(201);
    let dup = m
        .post("/companies", &json!({"name": "Acme Inc"}))
        .await
        .expect(201);
    let on_dup = m
        .post(
            "/opportunities",
            &json!({"name": "Deal", "company_id": id(&dup)}),
        )
        .await
        .expect(201);
    let elsewhere = m
        .post(
            "/opportunities",
            &json!({"name": "Other", "company_id": id(&keep)}),
        )
        .await
        .expect(201);
    m.post(
        "/companies/merge",
        &json!({"primary_id": id(&keep), "duplicate_ids": [id(&dup)]}),
    )
    .await
    .expect(200);
    let event = merged_event(&pool, "company.merged").await;
    let handler = SalesEvents::new();
    assert_eq!(handler.name(), "sales.references");
    assert!(handler.wants(&event));

    assert!(outbox::apply(&pool, &handler, &event).await.unwrap());
    let moved = m
        .get(&format!("/opportunities/{}", id(&on_dup)))
        .await
        .expect(200);
    assert_eq!(
        (moved["company_id"].clone(), moved["version"].clone()),
        (keep["id"].clone(), json!(2))
    );
    assert_eq!(
        m.get(&format!("/opportunities/{}", id(&elsewhere)))
            .await
            .expect(200)["version"],
        1
    );
    assert_eq!(
        events_of(&pool, &id(&on_dup)).await,
        ["opportunity.created", "opportunity.updated"]
    );
    let updated: serde_json::Value = sqlx::query_scalar(
        "SELECT payload FROM crm_core.outbox WHERE event = 'opportunity.updated' ORDER BY seq DESC LIMIT 1",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        updated["changes"]["company_id"],
        json!({"from": dup["id"], "to": keep["id"]})
    );

    // A redelivery is recognised by its id; a look-alike event finds nothing left to move.
    assert!(!outbox::apply(&pool, &handler, &event).await.unwrap());
    let mut twin = event.clone();
    twin.event_id = crm_core::new_id();
    assert!(outbox::apply(&pool, &handler, &twin).await.unwrap());
    let after = m
        .get(&format!("/opportunities/{}", id(&on_dup)))
        .await
        .expect(200);
    assert_eq!(after, moved);
    assert_eq!(events_of(&pool, &id(&on_dup)).await.len(), 2);
}

#[tokio::test]
async fn merging_contacts_repoints_primary_contacts() {
    let (server, pool, _) = spawn().await;
    let m = server.new_tenant(Role::Manager);
    let keep = m
        .post(
            "/contacts",
            &json!({"first_name": "Ann", "emails": ["ann@x.com"]}),
        )
        .await
        .expect(201);
    let dup = m
        .post(
            "/contacts",
            &json!({"first_name": "Ann", "emails": ["ann@y.com"]}),
        )
        .await
        .expect(201);
    let opp = m
        .post(
            "/opportunities",
            &json!({"name": "Deal", "primary_contact_id": id(&dup)}),
        )
        .await
        .expect(201);
    m.post(
        "/contacts/merge",
        &json!({"primary_id": id(&keep), "duplicate_ids": [id(&dup)]}),
    )
    .await
    .expect(200);
    let event = merged_event(&pool, "contact.merged").await;
    assert!(
        outbox::apply(&pool, &SalesEvents::new(), &event)
            .await
            .unwrap()
    );
    let moved = m
        .get(&format!("/opportunities/{}", id(&opp)))
        .await
        .expect(200);
    assert_eq!(moved["primary_contact_id"], keep["id"]);

    // Events of other kinds are not this handler's.
    let other = EventEnvelope::new(
        &m.actor,
        "company",
        "updated",
        crm_core::new_id(),
        json!({}),
    );
    assert!(!SalesEvents::new().wants(&other));
}
